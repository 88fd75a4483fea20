// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleVerifier} from "../contracts/MerkleVerifier.sol";
import {Merkle} from "../contracts/libraries/Merkle.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";
import {Test} from "./utils/Test.sol";

/// @notice Differential and fuzz tests of contracts/libraries/Merkle.sol against the golden
/// fixtures written by `merkle-fixtures` (crates/merkle) and against MerkleBuilder.
contract MerkleTest is Test {
    MerkleVerifier internal verifier;

    function setUp() public {
        verifier = new MerkleVerifier();
    }

    // ---------------------------------------------------------------------------------------
    // Golden fixtures from the Rust crate
    // ---------------------------------------------------------------------------------------

    function test_verify_goldenFixturesSmallTreesEveryIndex() public view {
        for (uint256 n = 1; n <= 70; ++n) {
            _checkFixture(n);
        }
    }

    function test_verify_goldenFixturesLargeTrees() public view {
        uint256[7] memory sizes = [uint256(127), 128, 129, 1000, 4095, 4097, 65537];
        for (uint256 k; k < sizes.length; ++k) {
            _checkFixture(sizes[k]);
        }
    }

    struct Fixture {
        uint256 n;
        bytes32 root;
        uint256[] indices;
        bytes[] data;
        bytes32[] leaves;
        bytes32[] siblings;
        uint256[] offsets;
    }

    function _checkFixture(uint256 n) internal view {
        string memory json =
            vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/merkle/n", vm.toString(n), ".json"));
        vm.assertEq(vm.parseJsonUint(json, ".n"), n, "fixture size");
        Fixture memory f;
        f.n = n;
        f.root = vm.parseJsonBytes32(json, ".root");
        vm.assertEq(Merkle.treeId(f.root, n), vm.parseJsonBytes32(json, ".treeId"), "treeId");
        f.indices = vm.parseJsonUintArray(json, ".indices");
        f.data = vm.parseJsonBytesArray(json, ".leafData");
        f.leaves = vm.parseJsonBytes32Array(json, ".leaves");
        f.siblings = vm.parseJsonBytes32Array(json, ".siblings");
        f.offsets = vm.parseJsonUintArray(json, ".offsets");
        for (uint256 j; j < f.indices.length; ++j) {
            _checkProof(f, j);
        }
    }

    function _checkProof(Fixture memory f, uint256 j) internal view {
        uint256 i = f.indices[j];
        bytes32 leaf = f.leaves[j];
        vm.assertEq(Merkle.hashLeaf(f.data[j]), leaf, "leaf hash");
        bytes32[] memory proof = new bytes32[](f.offsets[j + 1] - f.offsets[j]);
        for (uint256 s; s < proof.length; ++s) {
            proof[s] = f.siblings[f.offsets[j] + s];
        }
        vm.assertEq(proof.length, Merkle.proofLength(i, f.n), "proof length");
        vm.assertTrue(verifier.verify(proof, f.root, f.n, i, leaf), "calldata verify");
        vm.assertTrue(verifier.verifyLeafData(proof, f.root, f.n, i, f.data[j]), "leaf data verify");
        vm.assertTrue(Merkle.verify(proof, f.root, f.n, i, leaf), "memory verify");
        vm.assertFalse(verifier.verify(proof, f.root, f.n, f.n + i, leaf), "index >= n");
        if (f.n > 1) {
            vm.assertFalse(verifier.verify(proof, f.root, f.n, (i + 1) % f.n, leaf), "wrong index");
        }
        if (Merkle.proofLength(i, f.n + 1) != proof.length) {
            vm.assertFalse(verifier.verify(proof, f.root, f.n + 1, i, leaf), "count changes length");
        }
    }

    // ---------------------------------------------------------------------------------------
    // Unit tests
    // ---------------------------------------------------------------------------------------

    function test_hashLeaf_isPrefixedKeccak() public view {
        vm.assertEq(verifier.hashLeaf(hex"abcd"), keccak256(hex"00abcd"), "leaf encoding");
        vm.assertEq(Merkle.hashLeaf(hex"abcd"), keccak256(hex"00abcd"), "memory leaf encoding");
    }

    function test_hashNode_isPrefixedKeccakInPositionOrder() public pure {
        bytes32 a = keccak256("a");
        bytes32 b = keccak256("b");
        vm.assertEq(Merkle.hashNode(a, b), keccak256(abi.encodePacked(bytes1(0x01), a, b)), "node encoding");
        vm.assertTrue(Merkle.hashNode(a, b) != Merkle.hashNode(b, a), "order matters");
    }

    function test_verify_oneLeafTreeNeedsEmptyProof() public view {
        bytes32 leaf = Merkle.hashLeaf("only");
        bytes32[] memory empty = new bytes32[](0);
        vm.assertTrue(verifier.verify(empty, leaf, 1, 0, leaf), "one leaf");
        bytes32[] memory one = new bytes32[](1);
        vm.assertFalse(verifier.verify(one, leaf, 1, 0, leaf), "extra sibling");
    }

    function test_verify_emptyTreeIsFalse() public view {
        bytes32[] memory empty = new bytes32[](0);
        vm.assertFalse(verifier.verify(empty, bytes32(0), 0, 0, bytes32(0)), "n = 0");
        vm.assertEq(Merkle.proofLength(0, 0), 0, "no proof for n = 0");
    }

    function test_verify_internalNodeIsNotALeaf() public view {
        bytes32[] memory leaves = _leaves(4, 9);
        bytes32 left = Merkle.hashNode(leaves[0], leaves[1]);
        bytes32 root = MerkleBuilder.root(leaves);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = Merkle.hashNode(leaves[2], leaves[3]);
        // As a 2-leaf tree, the left node would verify; as the committed 4-leaf tree it cannot.
        vm.assertTrue(verifier.verify(proof, root, 2, 0, left), "2-leaf reading");
        vm.assertFalse(verifier.verify(proof, root, 4, 0, left), "node as leaf of the 4-leaf tree");
        vm.assertFalse(
            verifier.verifyLeafData(proof, root, 2, 0, abi.encodePacked(leaves[0], leaves[1])), "preimage"
        );
    }

    function test_verify_hugeLeafCountDoesNotOverflow() public view {
        bytes32[] memory proof = new bytes32[](256);
        vm.assertFalse(verifier.verify(proof, bytes32(0), type(uint256).max, 0, bytes32(0)), "max count");
    }

    // ---------------------------------------------------------------------------------------
    // Fuzz tests: tampered proofs never verify
    // ---------------------------------------------------------------------------------------

    function testFuzz_verify_builtProofVerifiesAndTampersFail(
        uint256 n,
        uint256 index,
        uint256 salt,
        uint256 pick
    ) public view {
        n = bound(n, 1, 300);
        index = bound(index, 0, n - 1);
        bytes32[] memory leaves = _leaves(n, salt);
        bytes32 root = MerkleBuilder.root(leaves);
        bytes32[] memory proof = MerkleBuilder.prove(leaves, index);
        vm.assertTrue(verifier.verify(proof, root, n, index, leaves[index]), "honest proof");

        // Wrong leaf, wrong index, index out of range.
        vm.assertFalse(verifier.verify(proof, root, n, index, keccak256(abi.encode(salt))), "wrong leaf");
        if (n > 1) {
            uint256 other = (index + 1 + pick % (n - 1)) % n;
            vm.assertFalse(verifier.verify(proof, root, n, other, leaves[index]), "wrong index");
        }
        vm.assertFalse(verifier.verify(proof, root, n, n + pick % 1000, leaves[index]), "index >= n");

        if (proof.length > 0) {
            // One flipped bit in one sibling.
            bytes32[] memory flipped = _copy(proof, proof.length);
            flipped[pick % proof.length] ^= bytes32(uint256(1) << (pick >> 128) % 256);
            vm.assertFalse(verifier.verify(flipped, root, n, index, leaves[index]), "flipped bit");
            // Truncated.
            vm.assertFalse(
                verifier.verify(_copy(proof, proof.length - 1), root, n, index, leaves[index]), "truncated"
            );
        }
        // Extended (a zero word, and a copy of the root).
        bytes32[] memory extended = _copy(proof, proof.length + 1);
        vm.assertFalse(verifier.verify(extended, root, n, index, leaves[index]), "extended by zero");
        extended[proof.length] = root;
        vm.assertFalse(verifier.verify(extended, root, n, index, leaves[index]), "extended by root");
    }

    function testFuzz_verify_randomProofNeverVerifies(
        bytes32[] calldata proof,
        bytes32 root,
        uint256 n,
        uint256 index,
        bytes32 leaf
    ) public view {
        vm.assume(leaf != root);
        vm.assertFalse(verifier.verify(proof, root, n, index, leaf), "random proof");
    }

    function testFuzz_verify_calldataAndMemoryPathsAgree(uint256 n, uint256 index, uint256 salt, uint256 pick)
        public
        view
    {
        n = bound(n, 1, 64);
        index = bound(index, 0, 2 * n);
        bytes32[] memory leaves = _leaves(n, salt);
        bytes32 root = MerkleBuilder.root(leaves);
        bytes32[] memory proof = MerkleBuilder.prove(leaves, index < n ? index : 0);
        if (pick % 3 == 0 && proof.length > 0) proof[pick % proof.length] = bytes32(pick);
        bytes32 leaf = leaves[index < n ? index : 0];
        vm.assertEq(
            verifier.verify(proof, root, n, index, leaf),
            Merkle.verify(proof, root, n, index, leaf),
            "paths agree"
        );
    }

    function _leaves(uint256 n, uint256 salt) internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            leaves[i] = Merkle.hashLeaf(abi.encode(salt, i));
        }
    }

    function _copy(bytes32[] memory src, uint256 length) internal pure returns (bytes32[] memory dst) {
        dst = new bytes32[](length);
        for (uint256 i; i < length && i < src.length; ++i) {
            dst[i] = src[i];
        }
    }
}

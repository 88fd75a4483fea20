// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Merkle
/// @notice Verifies verbench's positional keccak-256 Merkle proofs (specification: docs/merkle.md;
/// Rust twin: crates/merkle).
///
/// Encoding:
/// - leaf = keccak256(0x00 || data): a leaf preimage is the record's canonical bytes;
/// - node = keccak256(0x01 || left || right): children in position order, never sorted;
/// - an odd last node of a level is promoted unchanged to the next level (rs_merkle's rule);
/// - a proof is the list of siblings bottom-up, skipping levels where the node is promoted.
///
/// What a proof binds: the leaf, its index and the leaf count n. The verifier derives from
/// (index, n) at every level whether the sibling is on the left, on the right or absent, and
/// requires the proof to have exactly the implied number of siblings. A proof for index i does
/// not verify for another index j (the hashing order differs, or the length does), and no
/// index >= n verifies. The root alone does not fix n (leaf 0's proof is identical for n = 3 and
/// n = 4): a tree is always named by the pair (root, n), stored together on chain, or by
/// `treeId(root, n)` where one word is needed.
///
/// Bad input never reverts here: every malformed proof (wrong length, index out of range, empty
/// tree) makes `verify*` return false.
library Merkle {
    /// @notice Hash of a leaf preimage held in calldata: keccak256(0x00 || data).
    function hashLeafCalldata(bytes calldata data) internal pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x00)
            calldatacopy(add(ptr, 1), data.offset, data.length)
            leaf := keccak256(ptr, add(data.length, 1))
        }
    }

    /// @notice Hash of a leaf preimage held in memory: keccak256(0x00 || data).
    function hashLeaf(bytes memory data) internal pure returns (bytes32 leaf) {
        leaf = keccak256(abi.encodePacked(bytes1(0x00), data));
    }

    /// @notice Hash of two children in position order: keccak256(0x01 || left || right).
    function hashNode(bytes32 left, bytes32 right) internal pure returns (bytes32 node) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            mstore(add(ptr, 0x01), left)
            mstore(add(ptr, 0x21), right)
            node := keccak256(ptr, 0x41)
        }
    }

    /// @notice One word naming a tree with its size: keccak256(root || uint256(leafCount)).
    function treeId(bytes32 root, uint256 leafCount) internal pure returns (bytes32 id) {
        assembly ("memory-safe") {
            mstore(0x00, root)
            mstore(0x20, leafCount)
            id := keccak256(0x00, 0x40)
        }
    }

    /// @notice Number of siblings in the proof of leaf `index` of a tree of `leafCount` leaves
    /// (0 when the position does not exist).
    function proofLength(uint256 index, uint256 leafCount) internal pure returns (uint256 length) {
        if (index >= leafCount) return 0;
        // Loop bound: width halves every iteration, at most 256 iterations.
        while (leafCount > 1) {
            if (index & 1 == 1 || index + 1 < leafCount) ++length;
            index >>= 1;
            leafCount = (leafCount >> 1) + (leafCount & 1);
        }
    }

    /// @notice True iff `leaf` is leaf number `index` of the tree committed as (`root`, `leafCount`).
    /// @param proof Siblings bottom-up, as `verbench_merkle::Proof::siblings`.
    function verifyCalldata(
        bytes32[] calldata proof,
        bytes32 root,
        uint256 leafCount,
        uint256 index,
        bytes32 leaf
    ) internal pure returns (bool valid) {
        if (index >= leafCount) return false;
        assembly ("memory-safe") {
            // Scratch at the free-memory pointer, not allocated: 0x01 || a || b (65 bytes).
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            let p := proof.offset
            let end := add(proof.offset, shl(5, proof.length))
            // width > 1 halves (rounding up) each step, so the loop runs at most 256 times; reads
            // past `end` only happen for malformed proofs and are rejected by the final `eq(p, end)`.
            for {} gt(leafCount, 1) {} {
                switch and(index, 1)
                case 1 {
                    mstore(add(ptr, 0x01), calldataload(p))
                    mstore(add(ptr, 0x21), leaf)
                    leaf := keccak256(ptr, 0x41)
                    p := add(p, 0x20)
                }
                default {
                    if lt(add(index, 1), leafCount) {
                        mstore(add(ptr, 0x01), leaf)
                        mstore(add(ptr, 0x21), calldataload(p))
                        leaf := keccak256(ptr, 0x41)
                        p := add(p, 0x20)
                    }
                }
                index := shr(1, index)
                leafCount := add(shr(1, leafCount), and(leafCount, 1))
            }
            valid := and(eq(p, end), eq(leaf, root))
        }
    }

    /// @notice Memory twin of `verifyCalldata`, for proofs built or decoded in memory.
    function verify(bytes32[] memory proof, bytes32 root, uint256 leafCount, uint256 index, bytes32 leaf)
        internal
        pure
        returns (bool)
    {
        if (index >= leafCount) return false;
        uint256 p;
        // Loop bound as in verifyCalldata; `p` is checked against the length before every read.
        while (leafCount > 1) {
            if (index & 1 == 1) {
                if (p >= proof.length) return false;
                leaf = hashNode(proof[p++], leaf);
            } else if (index + 1 < leafCount) {
                if (p >= proof.length) return false;
                leaf = hashNode(leaf, proof[p++]);
            }
            index >>= 1;
            leafCount = (leafCount >> 1) + (leafCount & 1);
        }
        return p == proof.length && leaf == root;
    }
}

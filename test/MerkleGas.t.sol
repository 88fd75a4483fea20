// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Merkle} from "../contracts/libraries/Merkle.sol";
import {Test} from "./utils/Test.sol";
import {console} from "./utils/console.sol";

/// @notice Measures the execution gas of `Merkle.verifyCalldata` alone, inside the callee.
contract MerkleGasProbe {
    function measure(bytes32[] calldata proof, bytes32 root, uint256 n, uint256 index, bytes32 leaf)
        external
        view
        returns (bool valid, uint256 gasUsed)
    {
        uint256 before = gasleft();
        valid = Merkle.verifyCalldata(proof, root, n, index, leaf);
        gasUsed = before - gasleft();
    }
}

/// @notice Benchmark, not a test of behaviour: prints verification gas per proof depth.
/// Run with `forge test --match-contract MerkleGasBench -vv` (or tools/bench-merkle.sh).
contract MerkleGasBench is Test {
    function test_gas_verifyCalldataByDepth() public {
        MerkleGasProbe probe = new MerkleGasProbe();
        uint8[4] memory depths = [1, 10, 20, 30];
        for (uint256 k; k < depths.length; ++k) {
            uint256 depth = depths[k];
            uint256 n = uint256(1) << depth;
            uint256 index = uint256(keccak256(abi.encode("index", depth))) % n;
            bytes32 leaf = keccak256(abi.encode("leaf", depth));
            bytes32[] memory proof = new bytes32[](depth);
            bytes32 node = leaf;
            uint256 i = index;
            for (uint256 d; d < depth; ++d) {
                proof[d] = keccak256(abi.encode("sibling", depth, d));
                node = i & 1 == 1 ? Merkle.hashNode(proof[d], node) : Merkle.hashNode(node, proof[d]);
                i >>= 1;
            }
            (bool valid, uint256 gasUsed) = probe.measure(proof, node, n, index, leaf);
            vm.assertTrue(valid, "probe proof verifies");
            console.log(string.concat("Merkle.verifyCalldata gas, depth ", vm.toString(depth), ":"), gasUsed);
        }
    }
}

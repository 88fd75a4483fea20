// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Merkle} from "../../contracts/libraries/Merkle.sol";

/// @notice A plain Solidity model of the tree from docs/merkle.md, used by the fuzz tests to build
/// trees and proofs independently of the Rust crate.
library MerkleBuilder {
    /// @notice Root of `leaves` (length >= 1), promoting odd last nodes.
    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        bytes32[] memory level = leaves;
        while (level.length > 1) {
            level = _up(level);
        }
        return level[0];
    }

    /// @notice Proof of leaf `index`: siblings bottom-up, skipping promoted levels.
    function prove(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory proof) {
        proof = new bytes32[](Merkle.proofLength(index, leaves.length));
        uint256 p;
        bytes32[] memory level = leaves;
        while (level.length > 1) {
            if (index & 1 == 1) {
                proof[p++] = level[index - 1];
            } else if (index + 1 < level.length) {
                proof[p++] = level[index + 1];
            }
            level = _up(level);
            index >>= 1;
        }
    }

    function _up(bytes32[] memory level) private pure returns (bytes32[] memory next) {
        next = new bytes32[]((level.length + 1) / 2);
        for (uint256 i; i < next.length; ++i) {
            uint256 l = 2 * i;
            next[i] = l + 1 < level.length ? Merkle.hashNode(level[l], level[l + 1]) : level[l];
        }
    }
}

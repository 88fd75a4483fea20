// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMerkleVerifier} from "./interfaces/IMerkleVerifier.sol";
import {Merkle} from "./libraries/Merkle.sol";

/// @title MerkleVerifier
/// @notice Exposes the `Merkle` library as external pure functions (see IMerkleVerifier).
contract MerkleVerifier is IMerkleVerifier {
    /// @inheritdoc IMerkleVerifier
    function hashLeaf(bytes calldata data) external pure returns (bytes32) {
        return Merkle.hashLeafCalldata(data);
    }

    /// @inheritdoc IMerkleVerifier
    function treeId(bytes32 root, uint256 leafCount) external pure returns (bytes32) {
        return Merkle.treeId(root, leafCount);
    }

    /// @inheritdoc IMerkleVerifier
    function verify(bytes32[] calldata proof, bytes32 root, uint256 leafCount, uint256 index, bytes32 leaf)
        external
        pure
        returns (bool)
    {
        return Merkle.verifyCalldata(proof, root, leafCount, index, leaf);
    }

    /// @inheritdoc IMerkleVerifier
    function verifyLeafData(
        bytes32[] calldata proof,
        bytes32 root,
        uint256 leafCount,
        uint256 index,
        bytes calldata data
    ) external pure returns (bool) {
        return Merkle.verifyCalldata(proof, root, leafCount, index, Merkle.hashLeafCalldata(data));
    }
}

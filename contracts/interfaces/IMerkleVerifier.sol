// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IMerkleVerifier
/// @notice A stateless view over the `Merkle` library, so off-chain tools and the demo can check
/// proofs through the exact on-chain code path. Self-contained: read by Rust's `sol!`.
interface IMerkleVerifier {
    /// @notice keccak256(0x00 || data).
    function hashLeaf(bytes calldata data) external pure returns (bytes32 leaf);

    /// @notice keccak256(root || uint256(leafCount)).
    function treeId(bytes32 root, uint256 leafCount) external pure returns (bytes32 id);

    /// @notice Whether `leaf` is leaf `index` of the tree (`root`, `leafCount`); false for every
    /// malformed input.
    function verify(bytes32[] calldata proof, bytes32 root, uint256 leafCount, uint256 index, bytes32 leaf)
        external
        pure
        returns (bool valid);

    /// @notice Hashes `data` as a leaf and verifies it.
    function verifyLeafData(
        bytes32[] calldata proof,
        bytes32 root,
        uint256 leafCount,
        uint256 index,
        bytes calldata data
    ) external pure returns (bool valid);
}

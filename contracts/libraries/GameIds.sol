// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDisputeGame} from "../interfaces/IDisputeGame.sol";

/// @title GameIds
/// @notice The dispute game's identifiers and stored hashes, in one place (docs/protocol.md,
/// "Identifiers"). Internal functions run in the calling game's context, so `address(this)` is the
/// game. Rust twin: `verbench_chain::rules` (checked against the game's views on anvil).
library GameIds {
    /// @notice `keccak256(abi.encode(chainid, game, spec))`: a task is its spec on one game.
    function taskId(IDisputeGame.TaskSpec calldata spec) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), spec));
    }

    /// @notice `keccak256(abi.encode(chainid, game, taskId, provider, root, leafCount))`.
    function commitmentId(bytes32 taskId_, address provider, bytes32 root, uint32 leafCount)
        internal
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, address(this), taskId_, provider, root, leafCount));
    }

    /// @notice `keccak256(abi.encode(commitmentId, leafIndex))`: one dispute per leaf.
    function disputeId(bytes32 commitmentId_, uint32 leafIndex) internal pure returns (bytes32) {
        return keccak256(abi.encode(commitmentId_, leafIndex));
    }

    /// @notice What the game stores for a commitment: `keccak256(abi.encode(c))`.
    function hash(IDisputeGame.Commitment memory c) internal pure returns (bytes32) {
        return keccak256(abi.encode(c));
    }

    /// @notice `hash` of a commitment passed in calldata (no copy to memory).
    function hashCalldata(IDisputeGame.Commitment calldata c) internal pure returns (bytes32) {
        return keccak256(abi.encode(c));
    }

    /// @notice What the game stores for a dispute: `keccak256(abi.encode(d))`.
    function hash(IDisputeGame.Dispute memory d) internal pure returns (bytes32) {
        return keccak256(abi.encode(d));
    }

    /// @notice `hash` of a dispute passed in calldata (no copy to memory).
    function hashCalldata(IDisputeGame.Dispute calldata d) internal pure returns (bytes32) {
        return keccak256(abi.encode(d));
    }
}

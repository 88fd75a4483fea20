// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOperatorSet} from "../interfaces/IOperatorSet.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

/// @title StakeHistory
/// @notice Operator stakes and their sum, checkpointed by timestamp, as both ServiceManager back
/// ends keep them: a dispute weighs votes by the stake held at the end of the second before it
/// opened, and only the past is final (a lookup of the present or future reverts).
library StakeHistory {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Per-operator histories and the history of their sum.
    struct Book {
        mapping(address operator => Checkpoints.Trace208) byOperator;
        Checkpoints.Trace208 total;
    }

    /// @notice Records `operator`'s stake going from `before` (its latest value) to `stake` now.
    function write(Book storage book, address operator, uint256 before, uint256 stake) internal {
        uint48 key = SafeCast.toUint48(block.timestamp);
        // push returns the previous and new values, which are already known here.
        // slither-disable-next-line unused-return
        book.byOperator[operator].push(key, SafeCast.toUint208(stake));
        // The total is the sum of all latest stakes, so it includes `before`.
        // slither-disable-next-line unused-return
        book.total.push(key, SafeCast.toUint208(book.total.latest() - before + stake));
    }

    /// @notice `operator`'s latest recorded stake.
    function latest(Book storage book, address operator) internal view returns (uint256) {
        return book.byOperator[operator].latest();
    }

    /// @notice `operator`'s stake at the end of second `timestamp` (strictly in the past).
    function at(Book storage book, address operator, uint48 timestamp) internal view returns (uint256) {
        if (timestamp >= block.timestamp) revert IOperatorSet.FutureLookup(timestamp);
        return book.byOperator[operator].upperLookupRecent(timestamp);
    }

    /// @notice `operator`'s stake at the end of second `timestamp` (strictly in the past), and
    /// whether it has been checkpointed since. Reads the latest checkpoint first: when it is not
    /// after `timestamp` (the common case) it is the answer, and no search runs.
    function atAndSince(Book storage book, address operator, uint48 timestamp)
        internal
        view
        returns (uint256 stake, bool changed)
    {
        if (timestamp >= block.timestamp) revert IOperatorSet.FutureLookup(timestamp);
        Checkpoints.Trace208 storage trace = book.byOperator[operator];
        // An empty history answers key 0 and value 0: stake 0, unchanged.
        (, uint48 key, uint208 value) = trace.latestCheckpoint();
        if (key <= timestamp) return (value, false);
        return (trace.upperLookupRecent(timestamp), true);
    }

    /// @notice The sum of all stakes at the end of second `timestamp` (strictly in the past).
    function totalAt(Book storage book, uint48 timestamp) internal view returns (uint256) {
        if (timestamp >= block.timestamp) revert IOperatorSet.FutureLookup(timestamp);
        return book.total.upperLookupRecent(timestamp);
    }
}

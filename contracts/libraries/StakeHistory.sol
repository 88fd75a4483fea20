// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOperatorSet} from "../interfaces/IOperatorSet.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

/// @title StakeHistory
/// @notice Operator stakes and their sum, checkpointed by timestamp, as both ServiceManager back
/// ends keep them: a dispute weighs votes by the stake held at the end of the second before it
/// opened, and only the past is final (a lookup of the present or future reverts).
/// @dev Each history keeps its latest checkpoint in a slot of its own (`head`) and the earlier ones
/// in a `Checkpoints.Trace208`. A lookup at or after the latest checkpoint, the common case for a
/// dispute (no stake moved since it opened), reads that one slot; a trace keeps its length and its
/// entries in separate slots, so it needs two cold reads for the same answer (`resolve` reads one
/// history per signer plus the total: 2.1k gas saved on each). The price is paid by writes in a new
/// second, which rewrite the head as well as append to the trace (about 2.4k more per history, so
/// 4.8k per stake change with the total), while a first checkpoint is one slot instead of two
/// (docs/protocol.md, "Gas").
library StakeHistory {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice One stake history. `head` packs the latest checkpoint as `key << 208 | value`; 0 means
    /// no checkpoint yet (keys are timestamps). `past` holds every earlier checkpoint, keys ascending
    /// and all below the head's.
    struct History {
        uint256 head;
        Checkpoints.Trace208 past;
    }

    /// @notice Per-operator histories and the history of their sum.
    struct Book {
        mapping(address operator => History) byOperator;
        History total;
    }

    /// @notice Records `operator`'s stake going from `before` (its latest value) to `stake` now.
    function write(Book storage book, address operator, uint256 before, uint256 stake) internal {
        uint48 key = SafeCast.toUint48(block.timestamp);
        _push(book.byOperator[operator], key, SafeCast.toUint208(stake));
        // The total is the sum of all latest stakes, so it includes `before`.
        _push(book.total, key, SafeCast.toUint208(_value(book.total.head) - before + stake));
    }

    /// @notice `operator`'s latest recorded stake.
    function latest(Book storage book, address operator) internal view returns (uint256) {
        return _value(book.byOperator[operator].head);
    }

    /// @notice `operator`'s stake at the end of second `timestamp` (strictly in the past).
    function at(Book storage book, address operator, uint48 timestamp) internal view returns (uint256 stake) {
        (stake,) = atAndSince(book, operator, timestamp);
    }

    /// @notice `operator`'s stake at the end of second `timestamp` (strictly in the past), and
    /// whether it has been checkpointed since. Reads the latest checkpoint first: when it is not
    /// after `timestamp` (the common case) it is the answer, and nothing else is read.
    function atAndSince(Book storage book, address operator, uint48 timestamp)
        internal
        view
        returns (uint256 stake, bool changed)
    {
        return _lookup(book.byOperator[operator], timestamp);
    }

    /// @notice The sum of all stakes at the end of second `timestamp` (strictly in the past).
    function totalAt(Book storage book, uint48 timestamp) internal view returns (uint256 stake) {
        (stake,) = _lookup(book.total, timestamp);
    }

    /// @dev Sets the value at `key` (the current second, never below the head's key): overwrites the
    /// head when it has the same key, else moves the head into `past` first.
    function _push(History storage h, uint48 key, uint208 value) private {
        uint256 head = h.head;
        uint48 headKey = _key(head);
        if (head != 0 && headKey != key) {
            // Keys only grow (block timestamps) and every key in `past` is below the head's, so the
            // old head is appended as it is: `Trace208.push` would read the last entry again to
            // check the order, which holds by construction.
            h.past._checkpoints.push(Checkpoints.Checkpoint208({_key: headKey, _value: _value(head)}));
        }
        h.head = (uint256(key) << 208) | value;
    }

    /// @dev The value at the end of second `timestamp` (strictly in the past) and whether a
    /// checkpoint was written after it. An empty history answers 0, unchanged.
    function _lookup(History storage h, uint48 timestamp) private view returns (uint256, bool) {
        if (timestamp >= block.timestamp) revert IOperatorSet.FutureLookup(timestamp);
        uint256 head = h.head;
        if (_key(head) <= timestamp) return (_value(head), false);
        return (h.past.upperLookupRecent(timestamp), true);
    }

    function _key(uint256 head) private pure returns (uint48) {
        // The top 48 bits: exactly what a uint48 holds.
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint48(head >> 208);
    }

    function _value(uint256 head) private pure returns (uint208) {
        // The low 208 bits by design (the packing of `head`).
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint208(head);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOperatorSet} from "../contracts/interfaces/IOperatorSet.sol";
import {StakeHistory} from "../contracts/libraries/StakeHistory.sol";
import {Test} from "./utils/Test.sol";

/// @notice Exposes the library on one book.
contract StakeHistoryHarness {
    using StakeHistory for StakeHistory.Book;

    StakeHistory.Book internal _book;

    function write(address operator, uint256 stake) external {
        _book.write(operator, _book.latest(operator), stake);
    }

    function latest(address operator) external view returns (uint256) {
        return _book.latest(operator);
    }

    function at(address operator, uint48 timestamp) external view returns (uint256) {
        return _book.at(operator, timestamp);
    }

    function atAndSince(address operator, uint48 timestamp) external view returns (uint256, bool) {
        return _book.atAndSince(operator, timestamp);
    }

    function totalAt(uint48 timestamp) external view returns (uint256) {
        return _book.totalAt(timestamp);
    }
}

/// @notice StakeHistory keeps the latest checkpoint in a slot of its own and the earlier ones in a
/// trace; these tests hold its answers to those of a plain list of every checkpoint.
contract StakeHistoryTest is Test {
    uint48 internal constant START = 1_700_000_000;
    uint256 internal constant OPS = 3;

    StakeHistoryHarness internal h;
    address[OPS] internal ops;

    /// @dev The reference: every (key, value) written per operator and for the total, a write in
    /// the same second replacing the last entry.
    mapping(uint256 op => uint48[]) internal keys;
    mapping(uint256 op => uint256[]) internal values;
    uint48[] internal totalKeys;
    uint256[] internal totalValues;

    function setUp() public {
        vm.warp(START);
        h = new StakeHistoryHarness();
        for (uint256 i; i < OPS; ++i) {
            ops[i] = address(uint160(0x1000 + i));
        }
    }

    function _record(uint48[] storage ks, uint256[] storage vs, uint48 key, uint256 value) internal {
        if (ks.length != 0 && ks[ks.length - 1] == key) {
            vs[vs.length - 1] = value;
        } else {
            ks.push(key);
            vs.push(value);
        }
    }

    /// @dev The value at the end of second `t` and whether an entry came after it.
    function _refAt(uint48[] storage ks, uint256[] storage vs, uint48 t)
        internal
        view
        returns (uint256 value, bool changed)
    {
        for (uint256 i; i < ks.length; ++i) {
            if (ks[i] > t) return (value, true);
            value = vs[i];
        }
    }

    function _sumLatest() internal view returns (uint256 sum) {
        for (uint256 i; i < OPS; ++i) {
            sum += h.latest(ops[i]);
        }
    }

    /// @dev Random writes (several in one second at times, zero stakes included) and then every
    /// lookup from before the first write to the last second: the same answers as the full list.
    function testFuzz_lookupsMatchEveryCheckpointKept(uint256 seed) public {
        for (uint256 step; step < 24; ++step) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            // 0 to 3 seconds on: a quarter of the writes share a second with the one before.
            vm.warp(block.timestamp + (r & 3));
            uint256 op = (r >> 8) % OPS;
            // Zero about one write in eight (a deregistration or a full slash).
            uint256 stake = (r >> 16) & 7 == 0 ? 0 : (r >> 32) % 1e24;
            h.write(ops[op], stake);
            uint48 key = uint48(block.timestamp);
            _record(keys[op], values[op], key, stake);
            _record(totalKeys, totalValues, key, _sumLatest());
        }
        vm.warp(block.timestamp + 1);
        for (uint48 t = START - 1; t < block.timestamp; ++t) {
            for (uint256 i; i < OPS; ++i) {
                (uint256 want, bool wantChanged) = _refAt(keys[i], values[i], t);
                (uint256 got, bool gotChanged) = h.atAndSince(ops[i], t);
                vm.assertEq(got, want, "stake at t");
                vm.assertEq(gotChanged, wantChanged, "changed since t");
                vm.assertEq(h.at(ops[i], t), want, "at");
            }
            (uint256 wantTotal,) = _refAt(totalKeys, totalValues, t);
            vm.assertEq(h.totalAt(t), wantTotal, "total at t");
        }
    }

    function test_emptyHistoryIsZeroAndUnchanged() public {
        vm.warp(START + 10);
        (uint256 stake, bool changed) = h.atAndSince(ops[0], START);
        vm.assertEq(stake, 0, "stake");
        vm.assertFalse(changed, "changed");
        vm.assertEq(h.totalAt(START), 0, "total");
        vm.assertEq(h.latest(ops[0]), 0, "latest");
    }

    function test_lookupOfThePresentReverts() public {
        h.write(ops[0], 1 ether);
        vm.expectRevert(abi.encodeWithSelector(IOperatorSet.FutureLookup.selector, uint256(START)));
        h.at(ops[0], START);
        vm.expectRevert(abi.encodeWithSelector(IOperatorSet.FutureLookup.selector, uint256(START)));
        h.totalAt(START);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "./Vm.sol";

/// @notice Minimal base for verbench's forge tests: the cheatcode handle and the hooks forge reads
/// to pick invariant targets. Assertions are Foundry's `vm.assert*` cheatcodes, which revert with a
/// formatted message, so a failing assertion fails its test.
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev Marks this contract as a test contract (DSTest convention, still honoured by forge).
    bool public IS_TEST = true;

    /// @dev forge-std's FuzzSelector: which functions of `addr` the invariant fuzzer may call.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetContracts;
    FuzzSelector[] private _targetSelectors;
    address[] private _excludeSenders;

    /// @dev Registers a handler whose functions the invariant fuzzer calls.
    function targetContract(address target) internal {
        _targetContracts.push(target);
    }

    /// @dev Keeps an address from being used as a random sender in invariant runs.
    function excludeSender(address sender) internal {
        _excludeSenders.push(sender);
    }

    /// @dev Restricts the invariant fuzzer to `selector.selectors` of `selector.addr`.
    function targetSelector(FuzzSelector memory selector) internal {
        _targetSelectors.push(selector);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function excludeSenders() public view returns (address[] memory) {
        return _excludeSenders;
    }

    /// @dev Maps a fuzzed value into [min, max] without discarding runs.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1;
        if (size == 0) return x; // full range
        return min + (x % size);
    }

    function makeAddr(string memory name) internal returns (address account) {
        account = vm.addr(uint256(keccak256(bytes(name))));
        vm.label(account, name);
    }
}

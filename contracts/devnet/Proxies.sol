// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// FOR LOCAL TEST NETWORKS ONLY. Makes forge compile OpenZeppelin's transparent proxy (its
// ProxyAdmin is created by the proxy's constructor), which the EigenLayer devnet puts in front
// of every core implementation, and the empty contract each proxy points at before its upgrade.
import {ProxyAdmin} from "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol";
import {
    TransparentUpgradeableProxy
} from "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol";

/// @title EmptyContract
/// @notice The first implementation of every core proxy (the core implementations take the
/// proxies' addresses as constructor arguments, so proxies come first).
contract EmptyContract {
    /// @notice Anything, so that the proxy's constructor sees code here.
    function foo() external pure returns (uint256) {
        return 0;
    }
}

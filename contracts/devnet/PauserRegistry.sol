// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPauserRegistry} from "../interfaces/IEigenLayerCore.sol";

/// @title PauserRegistry
/// @notice FOR LOCAL TEST NETWORKS ONLY: the pauser registry the EigenLayer core contracts take in
/// their constructors, fixed at deployment.
contract PauserRegistry is IPauserRegistry {
    mapping(address account => bool) private _pausers;
    address private immutable _unpauser;

    constructor(address[] memory pausers, address unpauser_) {
        for (uint256 i; i < pausers.length; ++i) {
            _pausers[pausers[i]] = true;
        }
        _unpauser = unpauser_;
    }

    /// @inheritdoc IPauserRegistry
    function isPauser(address pauser) external view returns (bool) {
        return _pausers[pauser];
    }

    /// @inheritdoc IPauserRegistry
    function unpauser() external view returns (address) {
        return _unpauser;
    }
}

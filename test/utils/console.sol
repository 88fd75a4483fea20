// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Forge's console logger (decoded by forge with -vv): only the overloads verbench uses.
library console {
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    function _send(bytes memory payload) private view {
        // The console address has no code; forge intercepts the staticcall.
        (bool ok,) = CONSOLE.staticcall(payload);
        ok;
    }

    function log(string memory message) internal view {
        _send(abi.encodeWithSignature("log(string)", message));
    }

    function log(string memory message, uint256 value) internal view {
        _send(abi.encodeWithSignature("log(string,uint256)", message, value));
    }
}

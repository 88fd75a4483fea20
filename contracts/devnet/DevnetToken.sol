// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DevnetToken
/// @notice FOR LOCAL TEST NETWORKS ONLY: an ERC-20 anyone can mint, the asset operators restake
/// into the DevnetStrategy.
contract DevnetToken is ERC20 {
    constructor() ERC20("verbench devnet stake", "vSTAKE") {}

    /// @notice Mints `amount` to `to` (anyone, any amount: test networks only).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IStrategy} from "../interfaces/IEigenLayerCore.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title DevnetStrategy
/// @notice FOR LOCAL TEST NETWORKS ONLY. The smallest strategy the EigenLayer StrategyManager
/// accepts: one share per token unit, deposits and withdrawals only through the StrategyManager
/// (which moves the tokens in before `deposit` and asks for them back with `withdraw`).
contract DevnetStrategy is IStrategy {
    using SafeERC20 for IERC20;

    /// @notice Thrown when anyone but the StrategyManager moves shares.
    error OnlyStrategyManager();
    /// @notice Thrown for a token other than the underlying one.
    error WrongToken(address token);
    /// @notice Thrown when withdrawing more shares than exist.
    error InsufficientShares(uint256 requested, uint256 available);

    address public immutable strategyManager;
    IERC20 private immutable _token;
    uint256 public totalShares;

    constructor(address strategyManager_, IERC20 token_) {
        strategyManager = strategyManager_;
        _token = token_;
    }

    /// @inheritdoc IStrategy
    function deposit(address token, uint256 amount) external returns (uint256 newShares) {
        if (msg.sender != strategyManager) revert OnlyStrategyManager();
        if (token != address(_token)) revert WrongToken(token);
        totalShares += amount;
        return amount;
    }

    /// @inheritdoc IStrategy
    function withdraw(address recipient, address token, uint256 amountShares) external {
        if (msg.sender != strategyManager) revert OnlyStrategyManager();
        if (token != address(_token)) revert WrongToken(token);
        if (amountShares > totalShares) revert InsufficientShares(amountShares, totalShares);
        totalShares -= amountShares;
        _token.safeTransfer(recipient, amountShares);
    }

    /// @inheritdoc IStrategy
    function underlyingToken() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IStrategy
    function sharesToUnderlyingView(uint256 amountShares) external pure returns (uint256) {
        return amountShares;
    }

    /// @inheritdoc IStrategy
    function underlyingToSharesView(uint256 amountUnderlying) external pure returns (uint256) {
        return amountUnderlying;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOperatorSet} from "./interfaces/IOperatorSet.sol";
import {IServiceManager} from "./interfaces/IServiceManager.sol";
import {StakeHistory} from "./libraries/StakeHistory.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title ServiceManager
/// @notice Native back end of IOperatorSet (with the IServiceManager extension): operators post native ETH as stake here.
/// Stake is checkpointed by timestamp (StakeHistory), so a dispute can weigh votes by the stake
/// held at the second before it opened (none for an operator slashed since: `voteWeightAt`).
/// Nothing is configurable after deployment.
contract ServiceManager is IOperatorSet, IServiceManager, ReentrancyGuardTransient {
    using StakeHistory for StakeHistory.Book;

    uint256 private constant WAD = 1e18;

    address private immutable _disputeGame;
    address private immutable _slashReceiver;
    uint48 private immutable _unbondingDelay;
    uint256 private immutable _minStake;

    mapping(address operator => Operator) private _operators;
    /// @dev When the dispute game last took something from the operator (0: never). The operator
    /// has no vote on disputes whose snapshot is before it (`voteWeightAt`).
    mapping(address operator => uint48) private _slashedAt;
    StakeHistory.Book private _history;
    uint256 private _slashedPending;

    /// @param disputeGame_ The only caller of `slash` (deployed next; its address is precomputed).
    /// @param slashReceiver_ Receives slashed stake.
    /// @param unbondingDelay_ Seconds a leaving operator stays slashable (> 0).
    /// @param minStake_ Smallest first stake (> 0).
    constructor(address disputeGame_, address slashReceiver_, uint48 unbondingDelay_, uint256 minStake_) {
        if (
            disputeGame_ == address(0) || slashReceiver_ == address(0) || unbondingDelay_ == 0
                || minStake_ == 0 || minStake_ > type(uint96).max
        ) revert InvalidParameter();
        _disputeGame = disputeGame_;
        _slashReceiver = slashReceiver_;
        _unbondingDelay = unbondingDelay_;
        _minStake = minStake_;
    }

    // ---------------------------------------------------------------------------------------
    // Operators
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IServiceManager
    function registerOperator() external payable {
        Operator storage op = _operators[msg.sender];
        if (op.registered || op.unbonding != 0) revert AlreadyRegistered(msg.sender);
        if (msg.value < _minStake) revert StakeTooLow(msg.value, _minStake);
        uint96 stake = _toUint96(msg.value);
        op.registered = true;
        op.stake = stake;
        op.unbondingEndsAt = 0;
        _writeStake(msg.sender, 0, stake);
        emit OperatorRegistered(msg.sender, msg.value);
    }

    /// @inheritdoc IServiceManager
    function depositStake() external payable {
        Operator storage op = _operators[msg.sender];
        if (!op.registered) revert NotRegistered(msg.sender);
        if (msg.value == 0) revert StakeTooLow(0, 1);
        uint96 before = op.stake;
        uint96 stake = _toUint96(uint256(before) + msg.value);
        op.stake = stake;
        _writeStake(msg.sender, before, stake);
        emit StakeDeposited(msg.sender, msg.value, stake);
    }

    /// @inheritdoc IServiceManager
    function deregisterOperator() external {
        Operator storage op = _operators[msg.sender];
        if (!op.registered) revert NotRegistered(msg.sender);
        uint96 stake = op.stake;
        uint48 endsAt = _now() + _unbondingDelay;
        op.registered = false;
        op.stake = 0;
        op.unbonding = stake;
        op.unbondingEndsAt = endsAt;
        _writeStake(msg.sender, stake, 0);
        emit OperatorDeregistered(msg.sender, stake, endsAt);
    }

    /// @inheritdoc IServiceManager
    function withdrawStake() external nonReentrant {
        Operator storage op = _operators[msg.sender];
        uint256 amount = op.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp <= op.unbondingEndsAt) revert StillUnbonding(op.unbondingEndsAt);
        op.unbonding = 0;
        op.unbondingEndsAt = 0;
        emit StakeWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------------------------------
    // Slashing
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IOperatorSet
    function slash(address operator, uint256 wad, string calldata reason) external returns (uint256 amount) {
        if (msg.sender != _disputeGame) revert NotDisputeGame();
        if (wad == 0 || wad > WAD) revert InvalidWad(wad);
        Operator storage op = _operators[operator];
        // Nothing to take (for example a provider that never staked as an operator).
        if (op.stake == 0 && op.unbonding == 0) return 0;
        uint256 fromStake = uint256(op.stake) * wad / WAD;
        uint256 fromUnbonding = uint256(op.unbonding) * wad / WAD;
        // Both are at most the uint96 values they are taken from (wad <= WAD): the casts and
        // subtractions cannot truncate or underflow, and their sum fits in 97 bits.
        unchecked {
            if (fromStake != 0) {
                uint96 before = op.stake;
                // forge-lint: disable-next-line(unsafe-typecast)
                uint96 stake = before - uint96(fromStake);
                op.stake = stake;
                _writeStake(operator, before, stake);
            }
            // forge-lint: disable-next-line(unsafe-typecast)
            op.unbonding -= uint96(fromUnbonding);
            amount = fromStake + fromUnbonding;
        }
        // Only a slash that took something takes the vote: then a checkpoint was written after
        // any snapshot the operator has a weight at (see `voteWeightAt`).
        if (amount != 0) _slashedAt[operator] = _now();
        _slashedPending += amount;
        emit OperatorSlashed(operator, wad, amount, reason);
    }

    /// @inheritdoc IServiceManager
    function claimSlashed() external nonReentrant {
        uint256 amount = _slashedPending;
        if (amount == 0) revert NothingToWithdraw();
        _slashedPending = 0;
        emit SlashedFundsClaimed(_slashReceiver, amount);
        Address.sendValue(payable(_slashReceiver), amount);
    }

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IOperatorSet
    function isOperator(address operator) external view returns (bool) {
        return _operators[operator].registered;
    }

    /// @inheritdoc IOperatorSet
    function stakeAt(address operator, uint48 timestamp) external view returns (uint256) {
        return _history.at(operator, timestamp);
    }

    /// @inheritdoc IOperatorSet
    function totalStakeAt(uint48 timestamp) external view returns (uint256) {
        return _history.totalAt(timestamp);
    }

    /// @inheritdoc IOperatorSet
    /// @dev What a slash could take now is active plus unbonding stake. Every change that can lower
    /// it writes a checkpoint: a slash of active stake, a deregistration (an operator with unbonding
    /// stake and a weight at the snapshot deregistered after it), a withdrawal (after one). So with
    /// no checkpoint since the snapshot (the common case) the snapshot's stake is the answer and
    /// neither the slash record nor the operator's position is read.
    function voteWeightAt(address operator, uint48 timestamp) external view returns (uint256 weight) {
        bool changed;
        (weight, changed) = _history.atAndSince(operator, timestamp);
        if (!changed) return weight;
        if (_slashedAt[operator] > timestamp) return 0;
        Operator storage op = _operators[operator];
        uint256 slashable = uint256(op.stake) + op.unbonding;
        if (slashable < weight) weight = slashable;
    }

    /// @inheritdoc IOperatorSet
    /// @dev A registered operator has nothing unbonding; a deregistered one stays slashable
    /// through `unbondingEndsAt` (`withdrawStake` needs a later second).
    function slashableUntil(address operator) external view returns (uint48) {
        Operator storage op = _operators[operator];
        return op.unbonding == 0 ? type(uint48).max : op.unbondingEndsAt;
    }

    /// @inheritdoc IServiceManager
    function operatorInfo(address operator) external view returns (Operator memory) {
        return _operators[operator];
    }

    /// @inheritdoc IOperatorSet
    function unbondingDelay() external view returns (uint48) {
        return _unbondingDelay;
    }

    /// @inheritdoc IServiceManager
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @inheritdoc IOperatorSet
    function disputeGame() external view returns (address) {
        return _disputeGame;
    }

    /// @inheritdoc IServiceManager
    function slashReceiver() external view returns (address) {
        return _slashReceiver;
    }

    /// @inheritdoc IOperatorSet
    function backend() external pure returns (Backend) {
        return Backend.Native;
    }

    /// @inheritdoc IServiceManager
    function slashedPending() external view returns (uint256) {
        return _slashedPending;
    }

    // ---------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------

    /// @dev Checkpoints an operator's active stake going from `before` to `stake`, and the total.
    function _writeStake(address operator, uint96 before, uint96 stake) private {
        _history.write(operator, before, stake);
    }

    function _toUint96(uint256 value) private pure returns (uint96) {
        if (value > type(uint96).max) revert StakeOverflow();
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint96(value);
    }

    /// @dev The current timestamp; timestamps fit in 48 bits for millions of years.
    function _now() private view returns (uint48) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint48(block.timestamp);
    }
}

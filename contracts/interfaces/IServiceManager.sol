// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IServiceManager
/// @notice The native-stake extension of `IOperatorSet` (`ServiceManager`): operators join,
/// top up, leave and withdraw ETH stake here, and slashed ETH waits for the slash receiver. The
/// game-facing part (`stakeAt`, `totalStakeAt`, `isOperator`, `slash`, `unbondingDelay`) is
/// `IOperatorSet`, shaped after EigenLayer's AllocationManager view of an operator set so that
/// the EigenLayer back end replaces this one without touching the dispute game.
/// All times are unix timestamps (seconds). Self-contained: read by Rust's `sol!`.
interface IServiceManager {
    /// @notice An operator's current position.
    /// @param stake Active stake (counted in checkpoints from now on).
    /// @param unbonding Stake of a deregistered operator waiting for `unbondingEndsAt`; still slashable.
    /// @param unbondingEndsAt When `unbonding` can be withdrawn (0 while registered).
    /// @param registered Whether the operator is in the set now.
    struct Operator {
        uint96 stake;
        uint96 unbonding;
        uint48 unbondingEndsAt;
        bool registered;
    }

    /// @notice Emitted when an operator joins the set with its first stake.
    event OperatorRegistered(address indexed operator, uint256 stake);
    /// @notice Emitted when a registered operator adds stake.
    event StakeDeposited(address indexed operator, uint256 amount, uint256 newStake);
    /// @notice Emitted when an operator leaves the set; its stake unbonds until `unbondingEndsAt`.
    event OperatorDeregistered(address indexed operator, uint256 unbonding, uint48 unbondingEndsAt);
    /// @notice Emitted when an operator took back its unbonded stake.
    event StakeWithdrawn(address indexed operator, uint256 amount);
    /// @notice Emitted when the slash receiver collected slashed stake.
    event SlashedFundsClaimed(address indexed receiver, uint256 amount);

    /// @notice Thrown when registering an address that is registered or still unbonding.
    error AlreadyRegistered(address operator);
    /// @notice Thrown when the caller is not a registered operator.
    error NotRegistered(address operator);
    /// @notice Thrown when the first stake is below `minStake`, or a deposit is zero.
    error StakeTooLow(uint256 amount, uint256 minimum);
    /// @notice Thrown when a stake would not fit in 96 bits.
    error StakeOverflow();
    /// @notice Thrown when withdrawing before the unbonding delay has passed.
    error StillUnbonding(uint48 unbondingEndsAt);
    /// @notice Thrown when there is nothing to withdraw or claim.
    error NothingToWithdraw();

    /// @notice Joins the operator set with `msg.value` as stake (at least `minStake`).
    function registerOperator() external payable;

    /// @notice Adds `msg.value` to the caller's active stake.
    function depositStake() external payable;

    /// @notice Leaves the set: active stake stops counting from now and unbonds for `unbondingDelay`,
    /// during which it stays slashable and keeps counting in checkpoints taken before.
    function deregisterOperator() external;

    /// @notice Sends the caller its unbonded stake once `unbondingEndsAt` has passed.
    function withdrawStake() external;

    /// @notice Sends the slashed funds owed to the slash receiver (callable by anyone).
    function claimSlashed() external;

    /// @notice `operator`'s current position.
    function operatorInfo(address operator) external view returns (Operator memory);

    /// @notice The smallest first stake.
    function minStake() external view returns (uint256);

    /// @notice Who receives slashed stake.
    function slashReceiver() external view returns (address);

    /// @notice Slashed wei not yet claimed by the slash receiver.
    function slashedPending() external view returns (uint256);
}

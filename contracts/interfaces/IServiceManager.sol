// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IServiceManager
/// @notice The AVS's on-chain identity: its operator set, their stake, and the slashing entry point.
/// Shaped after EigenLayer's AllocationManager view of an operator set (`stakeAt`, `totalStakeAt`,
/// `isOperator`, `slash(operator, wad, reason)`, deregistration followed by a slashable unbonding
/// delay), so that a back end built on EigenLayer's core contracts can replace the self-contained
/// one (`ServiceManager`, native ETH stake) without touching the dispute game.
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
    /// @notice Emitted when the dispute game slashed `amount` wei (`wad` of the operator's stake).
    event OperatorSlashed(address indexed operator, uint256 wad, uint256 amount, string reason);
    /// @notice Emitted when the slash receiver collected slashed stake.
    event SlashedFundsClaimed(address indexed receiver, uint256 amount);

    /// @notice Thrown when a constructor argument is the zero address or out of range.
    error InvalidParameter();
    /// @notice Thrown when anyone but the dispute game calls `slash`.
    error NotDisputeGame();
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
    /// @notice Thrown when a slash fraction is not in (0, 1e18].
    error InvalidWad(uint256 wad);
    /// @notice Thrown when a stake lookup asks about the present or the future (only the past is final).
    error FutureLookup(uint256 timestamp);

    /// @notice Joins the operator set with `msg.value` as stake (at least `minStake`).
    function registerOperator() external payable;

    /// @notice Adds `msg.value` to the caller's active stake.
    function depositStake() external payable;

    /// @notice Leaves the set: active stake stops counting from now and unbonds for `unbondingDelay`,
    /// during which it stays slashable and keeps counting in checkpoints taken before.
    function deregisterOperator() external;

    /// @notice Sends the caller its unbonded stake once `unbondingEndsAt` has passed.
    function withdrawStake() external;

    /// @notice Slashes `wad`/1e18 of `operator`'s active plus unbonding stake. Only the dispute game.
    /// Takes nothing and returns 0 when the operator has nothing slashable (never reverts for that).
    /// @return amount Stake taken, in the back end's unit (wei here, credited to the slash receiver;
    /// strategy shares on the EigenLayer back end, burned by the core).
    function slash(address operator, uint256 wad, string calldata reason) external returns (uint256 amount);

    /// @notice Sends the slashed funds owed to the slash receiver (callable by anyone).
    function claimSlashed() external;

    /// @notice Whether `operator` is registered now.
    function isOperator(address operator) external view returns (bool);

    /// @notice `operator`'s active stake at the end of second `timestamp` (strictly in the past).
    function stakeAt(address operator, uint48 timestamp) external view returns (uint256);

    /// @notice The sum of all active stake at the end of second `timestamp` (strictly in the past).
    function totalStakeAt(uint48 timestamp) external view returns (uint256);

    /// @notice `operator`'s current position.
    function operatorInfo(address operator) external view returns (Operator memory);

    /// @notice How long a deregistered operator's stake stays slashable before it can be withdrawn.
    function unbondingDelay() external view returns (uint48);

    /// @notice The smallest first stake.
    function minStake() external view returns (uint256);

    /// @notice The only address allowed to call `slash`.
    function disputeGame() external view returns (address);

    /// @notice Who receives slashed stake.
    function slashReceiver() external view returns (address);

    /// @notice Slashed wei not yet claimed by the slash receiver.
    function slashedPending() external view returns (uint256);
}

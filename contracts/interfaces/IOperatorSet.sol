// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IOperatorSet
/// @notice What the dispute game needs from the operators that vote on its disputes, whatever
/// holds their stake: voting weight at a past timestamp (`stakeAt`, `totalStakeAt`), the slashing
/// entry point, and the delay that keeps a leaving operator slashable. Two back ends implement it:
/// `ServiceManager` (native ETH stake, plus the `IServiceManager` extension) and
/// `EigenServiceManager` (EigenLayer allocations, plus `IEigenServiceManager`); `backend()` says
/// which, so clients need not probe.
/// All times are unix timestamps (seconds). Self-contained: read by Rust's `sol!`.
interface IOperatorSet {
    /// @notice The implementations.
    enum Backend {
        Native,
        EigenLayer
    }

    /// @notice Emitted when the dispute game slashed `amount` (`wad` of the operator's stake).
    event OperatorSlashed(address indexed operator, uint256 wad, uint256 amount, string reason);

    /// @notice Thrown when a constructor argument is the zero address or out of range.
    error InvalidParameter();
    /// @notice Thrown when anyone but the dispute game calls `slash`.
    error NotDisputeGame();
    /// @notice Thrown when a slash fraction is not in (0, 1e18].
    error InvalidWad(uint256 wad);
    /// @notice Thrown when a stake lookup asks about the present or the future (only the past is final).
    error FutureLookup(uint256 timestamp);

    /// @notice Slashes `wad`/1e18 of `operator`'s active plus unbonding stake. Only the dispute game.
    /// Takes nothing and returns 0 when the operator has nothing slashable (never reverts for that).
    /// @return amount Stake taken, in the back end's unit (wei for the native back end, credited to
    /// its slash receiver; on the EigenLayer back end, weight units, i.e. strategy shares times
    /// their multipliers, measured as the drop in the operator's slashable stake across the core's
    /// slash, whose shares the core burns).
    function slash(address operator, uint256 wad, string calldata reason) external returns (uint256 amount);

    /// @notice Whether `operator` is in the set now.
    function isOperator(address operator) external view returns (bool);

    /// @notice `operator`'s voting stake at the end of second `timestamp` (strictly in the past).
    function stakeAt(address operator, uint48 timestamp) external view returns (uint256);

    /// @notice The sum of all voting stake at the end of second `timestamp` (strictly in the past).
    function totalStakeAt(uint48 timestamp) external view returns (uint256);

    /// @notice What `operator`'s verdict weighs on a dispute whose snapshot is `timestamp` (strictly
    /// in the past): 0 if `slash` took stake from it after `timestamp` (a proven equivocator or
    /// faulty provider has no vote on disputes opened before its slash); otherwise
    /// `stakeAt(operator, timestamp)`, never more than what a slash could take from it now (on the
    /// EigenLayer back end, its weighted slashable stake at the current block, read when its
    /// checkpoint has moved since the snapshot, e.g. `updateStakes` after another AVS slashed it).
    /// Stake added after the snapshot never counts.
    function voteWeightAt(address operator, uint48 timestamp) external view returns (uint256);

    /// @notice The last second through which all of `operator`'s stake that is slashable now is
    /// certain to stay slashable: `type(uint48).max` when none of it is leaving (an operator in the
    /// set with no pending deallocation, or one with nothing slashable). The dispute game refuses a
    /// commitment whose provider's stake leaves before the last moment a verdict could slash it.
    function slashableUntil(address operator) external view returns (uint48);

    /// @notice How long a leaving operator's stake stays slashable.
    function unbondingDelay() external view returns (uint48);

    /// @notice The only address allowed to call `slash`.
    function disputeGame() external view returns (address);

    /// @notice Which back end this is.
    function backend() external pure returns (Backend);
}

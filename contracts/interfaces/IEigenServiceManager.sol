// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IEigenServiceManager
/// @notice What the EigenLayer back end adds to IOperatorSet: it is the AVS (the identity that
/// owns verbench's operator set in the AllocationManager) and the set's registrar. Operators
/// join through `AllocationManager.registerForOperatorSets`, which calls `registerOperator` here;
/// their weight is the stake they allocated to the set that stays slashable for a full
/// deallocation delay, each strategy's shares times its multiplier (`multipliers()`, WAD units),
/// checkpointed by timestamp whenever it is read (`updateStakes`). Slashing
/// goes through `AllocationManager.slashOperator` with this contract as the AVS.
/// Self-contained: read by Rust's `sol!`.
interface IEigenServiceManager {
    /// @notice Emitted when an operator's checkpointed weight changed.
    event StakeUpdated(address indexed operator, uint256 previous, uint256 current);
    /// @notice Emitted when the AllocationManager reverted a slash; the dispute still resolves.
    event SlashFailed(address indexed operator, uint256 wad, bytes reason);

    /// @notice Thrown when anyone but the AllocationManager calls a registrar callback.
    error NotAllocationManager();
    /// @notice Thrown when a registrar callback names another AVS or another operator set.
    error WrongOperatorSet(address avs, uint32[] operatorSetIds);
    /// @notice Thrown when `slash` has less gas left, with the call to the core built, than
    /// `slashGas()` plus what the 63/64 rule withholds and a small reserve: a caller cannot
    /// starve the inner call so that it fails while the dispute resolves.
    error InsufficientGas(uint256 left, uint256 needed);
    /// @notice Thrown when the set's strategies are empty, more than `MAX_STRATEGIES` (16), or not
    /// strictly ascending.
    error InvalidStrategies();
    /// @notice Thrown when the multipliers are not one per strategy, each in (0, 1e36].
    error InvalidMultipliers();

    /// @notice Registrar callback of `AllocationManager.registerForOperatorSets`.
    function registerOperator(
        address operator,
        address avs,
        uint32[] calldata operatorSetIds,
        bytes calldata data
    ) external;

    /// @notice Registrar callback of `AllocationManager.deregisterFromOperatorSets`. The operator's
    /// weight drops to 0 from now on; it stays slashable in the core for the deallocation delay.
    function deregisterOperator(address operator, address avs, uint32[] calldata operatorSetIds) external;

    /// @notice Whether this registrar serves `avs` (only itself).
    function supportsAVS(address avs) external view returns (bool);

    /// @notice Re-reads the weight of each operator from the AllocationManager and checkpoints it
    /// (anyone may call; 0 for an address that is not in the set).
    function updateStakes(address[] calldata operators) external;

    /// @notice The weight `updateStakes` would record for `operator` now.
    function currentWeight(address operator) external view returns (uint256);

    /// @notice The AllocationManager this AVS uses.
    function allocationManager() external view returns (address);

    /// @notice verbench's operator set id.
    function operatorSetId() external view returns (uint32);

    /// @notice The set's strategies (ascending); weights sum their shares times `multipliers()`.
    function strategies() external view returns (address[] memory);

    /// @notice One multiplier per strategy, in the order of `strategies()`, in WAD units: an
    /// operator's weight is the sum of `shares_i * multipliers_i / 1e18`. Fixed at deployment.
    function multipliers() external view returns (uint256[] memory);

    /// @notice The gas `slash` forwards to `AllocationManager.slashOperator`: 350,000 plus 250,000
    /// per strategy, fixed at deployment. A slash needs about 1/63 more than this, plus a small
    /// reserve, still unspent when it calls the core, or it reverts with `InsufficientGas`.
    function slashGas() external view returns (uint256);

    /// @notice The lower bound on seconds per block that converts the core's block-based
    /// deallocation delay into `unbondingDelay()` seconds.
    function minSecondsPerBlock() external view returns (uint32);
}

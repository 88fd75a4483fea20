// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Minimal interfaces of the EigenLayer core contracts that verbench calls
/// @notice Written by verbench, pinned to the core release whose bytecode the Rust crate
/// `eigen-utils` 2.0.0 ships (module `slashing::core`: the slashing release, in which
/// `AllocationManager.slashOperator` returns nothing and the AVS registrar callbacks take the AVS
/// address). Only the calls verbench makes are declared. `docs/protocol.md` ("EigenLayer back
/// end") lists which contract makes which call, so a later core release can be checked against
/// this file. Self-contained: read by Rust's `sol!`.

/// @notice Structs shared by the interfaces below (field order and types as in the core).
library EigenTypes {
    /// @notice An AVS's operator set.
    struct OperatorSet {
        address avs;
        uint32 id;
    }

    /// @notice `AllocationManager.createOperatorSets` argument.
    struct CreateSetParams {
        uint32 operatorSetId;
        address[] strategies;
    }

    /// @notice `AllocationManager.registerForOperatorSets` argument.
    struct RegisterParams {
        address avs;
        uint32[] operatorSetIds;
        bytes data;
    }

    /// @notice `AllocationManager.deregisterFromOperatorSets` argument.
    struct DeregisterParams {
        address operator;
        address avs;
        uint32[] operatorSetIds;
    }

    /// @notice `AllocationManager.modifyAllocations` argument: new magnitudes (WAD = all).
    struct AllocateParams {
        OperatorSet operatorSet;
        address[] strategies;
        uint64[] newMagnitudes;
    }

    /// @notice `AllocationManager.slashOperator` argument. Strategies strictly ascending, each
    /// wad in (0, 1e18].
    struct SlashingParams {
        address operator;
        uint32 operatorSetId;
        address[] strategies;
        uint256[] wadsToSlash;
        string description;
    }

    /// @notice An operator's allocation to one operator set and strategy.
    struct Allocation {
        uint64 currentMagnitude;
        int128 pendingDiff;
        uint32 effectBlock;
    }

    /// @notice `DelegationManager.delegateTo` approver signature (empty when no approver).
    struct SignatureWithExpiry {
        bytes signature;
        uint256 expiry;
    }
}

/// @notice The AllocationManager: operator sets, allocations and slashing.
interface IAllocationManager {
    function updateAVSMetadataURI(address avs, string calldata metadataURI) external;
    function createOperatorSets(address avs, EigenTypes.CreateSetParams[] calldata params) external;
    function registerForOperatorSets(address operator, EigenTypes.RegisterParams calldata params) external;
    function deregisterFromOperatorSets(EigenTypes.DeregisterParams calldata params) external;
    function modifyAllocations(address operator, EigenTypes.AllocateParams[] calldata params) external;
    function slashOperator(address avs, EigenTypes.SlashingParams calldata params) external;
    function getMinimumSlashableStake(
        EigenTypes.OperatorSet calldata operatorSet,
        address[] calldata operators,
        address[] calldata strategies,
        uint32 futureBlock
    ) external view returns (uint256[][] memory slashableStake);
    function getAllocation(address operator, EigenTypes.OperatorSet calldata operatorSet, address strategy)
        external
        view
        returns (EigenTypes.Allocation memory);
    function getMaxMagnitude(address operator, address strategy) external view returns (uint64);
    function getAllocationDelay(address operator) external view returns (bool isSet, uint32 delay);
    function isMemberOfOperatorSet(address operator, EigenTypes.OperatorSet calldata operatorSet)
        external
        view
        returns (bool);
    function isOperatorSlashable(address operator, EigenTypes.OperatorSet calldata operatorSet)
        external
        view
        returns (bool);
    function getMembers(EigenTypes.OperatorSet calldata operatorSet) external view returns (address[] memory);
    // forge-lint: disable-next-line(mixed-case-function)
    function DEALLOCATION_DELAY() external view returns (uint32);
    // forge-lint: disable-next-line(mixed-case-function)
    function ALLOCATION_CONFIGURATION_DELAY() external view returns (uint32);
}

/// @notice The DelegationManager: operators and delegation.
interface IDelegationManager {
    function registerAsOperator(
        address initDelegationApprover,
        uint32 allocationDelay,
        string calldata metadataURI
    ) external;
    function delegateTo(
        address operator,
        EigenTypes.SignatureWithExpiry calldata approverSignatureAndExpiry,
        bytes32 approverSalt
    ) external;
    function isOperator(address operator) external view returns (bool);
    function delegatedTo(address staker) external view returns (address);
    function getOperatorShares(address operator, address[] calldata strategies)
        external
        view
        returns (uint256[] memory);
}

/// @notice The StrategyManager: deposits into strategies.
interface IStrategyManager {
    function depositIntoStrategy(address strategy, address token, uint256 amount)
        external
        returns (uint256 depositShares);
    function addStrategiesToDepositWhitelist(address[] calldata strategiesToWhitelist) external;
    function stakerDepositShares(address staker, address strategy) external view returns (uint256);
}

/// @notice The PermissionController: who may call an AVS's or operator's functions.
interface IPermissionController {
    function setAppointee(address account, address appointee, address target, bytes4 selector) external;
    function canCall(address account, address caller, address target, bytes4 selector)
        external
        view
        returns (bool);
}

/// @notice What the StrategyManager calls on a strategy (`deposit`, `withdraw`,
/// `underlyingToken`), plus the share views the core exposes to users.
interface IStrategy {
    function deposit(address token, uint256 amount) external returns (uint256 newShares);
    function withdraw(address recipient, address token, uint256 amountShares) external;
    function underlyingToken() external view returns (address);
    function totalShares() external view returns (uint256);
    function sharesToUnderlyingView(uint256 amountShares) external view returns (uint256);
    function underlyingToSharesView(uint256 amountUnderlying) external view returns (uint256);
}

/// @notice What the AllocationManager calls on an AVS's registrar (the AVS itself by default).
interface IAVSRegistrar {
    function registerOperator(
        address operator,
        address avs,
        uint32[] calldata operatorSetIds,
        bytes calldata data
    ) external;
    function deregisterOperator(address operator, address avs, uint32[] calldata operatorSetIds) external;
    function supportsAVS(address avs) external view returns (bool);
}

/// @notice What the core contracts call on their pauser registry.
interface IPauserRegistry {
    function isPauser(address pauser) external view returns (bool);
    function unpauser() external view returns (address);
}

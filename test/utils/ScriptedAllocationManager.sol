// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EigenTypes, IAVSRegistrar} from "../../contracts/interfaces/IEigenLayerCore.sol";

/// @notice A stand-in for EigenLayer's AllocationManager with scripted answers, for unit tests of
/// EigenServiceManager's own logic (guards, checkpoints, failure handling). The behaviour against
/// the real core is tested end to end in crates/devnet (real core bytecode on anvil).
/// Stake: by default all of an operator's stake (`setStake`) sits in the first strategy, with 1 wei
/// in each other one; `setStakeIn` switches that operator to explicit per-strategy stakes.
/// Slashing: `setSlashGasPerStrategy` makes `slashOperator` burn that much gas per strategy before
/// it takes anything (running out of gas like a real core that was sent too little), and
/// `setTakenWad` makes it take a smaller fraction than asked.
/// Allocations (`getAllocation`, read by `slashableUntil`) are scripted per strategy with
/// `setAllocation`; none by default. Like the core, `getMinimumSlashableStake` answers 0 for an
/// operator that is not slashable.
contract ScriptedAllocationManager {
    uint32 public constant DEALLOCATION_DELAY = 100;

    mapping(address operator => uint256) public stakeOf;
    mapping(address operator => bool) public slashable;
    bool public slashReverts;
    bool public slashBurnsGas;
    string public metadataURI;
    uint32 public createdSetId;
    address[] public createdStrategies;
    uint256 public slashCalls;
    uint256 public lastWad;
    uint256 public slashGasPerStrategy;
    uint256 public takenWad;
    uint256 public lastGasReceived;
    mapping(address operator => bool) public explicitStakes;
    mapping(address operator => mapping(address strategy => uint256)) public stakeIn;
    mapping(address operator => mapping(address strategy => EigenTypes.Allocation)) internal _allocations;

    error Refused();

    function setStake(address operator, uint256 stake) external {
        stakeOf[operator] = stake;
    }

    function setSlashable(address operator, bool value) external {
        slashable[operator] = value;
    }

    function setSlashReverts(bool value) external {
        slashReverts = value;
    }

    function setSlashBurnsGas(bool value) external {
        slashBurnsGas = value;
    }

    /// @dev Gas `slashOperator` burns per strategy before it slashes (0: none).
    function setSlashGasPerStrategy(uint256 gas) external {
        slashGasPerStrategy = gas;
    }

    /// @dev The fraction `slashOperator` actually takes (0: the fraction asked for).
    function setTakenWad(uint256 wad) external {
        takenWad = wad;
    }

    /// @dev Gives `operator` explicit stakes per strategy (from now on `setStake` is ignored for it).
    function setStakeIn(address operator, address strategy, uint256 stake) external {
        explicitStakes[operator] = true;
        stakeIn[operator][strategy] = stake;
    }

    /// @dev Scripts `getAllocation(operator, *, strategy)`.
    function setAllocation(
        address operator,
        address strategy,
        uint64 currentMagnitude,
        int128 pendingDiff,
        uint32 effectBlock
    ) external {
        _allocations[operator][strategy] = EigenTypes.Allocation(currentMagnitude, pendingDiff, effectBlock);
    }

    function getAllocation(address operator, EigenTypes.OperatorSet calldata, address strategy)
        external
        view
        returns (EigenTypes.Allocation memory)
    {
        return _allocations[operator][strategy];
    }

    function updateAVSMetadataURI(address, string calldata uri) external {
        metadataURI = uri;
    }

    function createOperatorSets(address, EigenTypes.CreateSetParams[] calldata params) external {
        createdSetId = params[0].operatorSetId;
        createdStrategies = params[0].strategies;
    }

    /// @dev Plays the core's part of `registerForOperatorSets`: calls the AVS's registrar.
    function register(address avs, address operator, uint32 setId) external {
        uint32[] memory ids = new uint32[](1);
        ids[0] = setId;
        slashable[operator] = true;
        IAVSRegistrar(avs).registerOperator(operator, avs, ids, "");
    }

    /// @dev Plays the core's part of `deregisterFromOperatorSets` (stays slashable).
    function deregister(address avs, address operator, uint32 setId) external {
        uint32[] memory ids = new uint32[](1);
        ids[0] = setId;
        IAVSRegistrar(avs).deregisterOperator(operator, avs, ids);
    }

    function getMinimumSlashableStake(
        EigenTypes.OperatorSet calldata,
        address[] calldata operators,
        address[] calldata strategies,
        uint32
    ) external view returns (uint256[][] memory stake) {
        stake = new uint256[][](operators.length);
        for (uint256 i; i < operators.length; ++i) {
            stake[i] = new uint256[](strategies.length);
            address operator = operators[i];
            if (!slashable[operator]) continue;
            for (uint256 j; j < strategies.length; ++j) {
                if (explicitStakes[operator]) {
                    stake[i][j] = stakeIn[operator][strategies[j]];
                } else {
                    // All stake in the first strategy, 1 wei in each other one.
                    stake[i][j] = j == 0 ? stakeOf[operator] : 1;
                }
            }
        }
    }

    function isOperatorSlashable(address operator, EigenTypes.OperatorSet calldata)
        external
        view
        returns (bool)
    {
        return slashable[operator];
    }

    function slashOperator(address, EigenTypes.SlashingParams calldata params) external {
        uint256 received = gasleft();
        if (slashReverts) revert Refused();
        if (slashBurnsGas) {
            while (gasleft() > 1000) {}
        }
        uint256 burn = slashGasPerStrategy * params.strategies.length;
        if (burn != 0) {
            // With less gas than the burn, the loop runs out of gas (a starved core).
            uint256 stop = gasleft() > burn ? gasleft() - burn : 0;
            while (gasleft() > stop) {}
        }
        lastGasReceived = received;
        slashCalls += 1;
        uint256 wad = takenWad == 0 ? params.wadsToSlash[0] : takenWad;
        lastWad = params.wadsToSlash[0];
        address operator = params.operator;
        stakeOf[operator] -= stakeOf[operator] * wad / 1e18;
        if (explicitStakes[operator]) {
            for (uint256 j; j < params.strategies.length; ++j) {
                address strategy = params.strategies[j];
                stakeIn[operator][strategy] -= stakeIn[operator][strategy] * wad / 1e18;
            }
        }
    }
}

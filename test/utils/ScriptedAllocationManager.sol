// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EigenTypes, IAVSRegistrar} from "../../contracts/interfaces/IEigenLayerCore.sol";

/// @notice A stand-in for EigenLayer's AllocationManager with scripted answers, for unit tests of
/// EigenServiceManager's own logic (guards, checkpoints, failure handling). The behaviour against
/// the real core is tested end to end in crates/devnet (real core bytecode on anvil).
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
            // All stake in the first strategy, 1 wei in each other one.
            for (uint256 j; j < strategies.length; ++j) {
                stake[i][j] = j == 0 ? stakeOf[operators[i]] : 1;
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
        if (slashReverts) revert Refused();
        if (slashBurnsGas) {
            while (gasleft() > 1000) {}
        }
        slashCalls += 1;
        lastWad = params.wadsToSlash[0];
        stakeOf[params.operator] -= stakeOf[params.operator] * params.wadsToSlash[0] / 1e18;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EigenTypes, IAllocationManager} from "./interfaces/IEigenLayerCore.sol";
import {IEigenServiceManager} from "./interfaces/IEigenServiceManager.sol";
import {IOperatorSet} from "./interfaces/IOperatorSet.sol";
import {StakeHistory} from "./libraries/StakeHistory.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title EigenServiceManager
/// @notice EigenLayer back end of IOperatorSet. This contract is the AVS: it owns verbench's
/// operator set in the AllocationManager and is that set's registrar. An operator's weight is
/// the stake it allocated to the set that stays slashable through a full deallocation delay
/// (`getMinimumSlashableStake` at `block.number + DEALLOCATION_DELAY`, summed over the set's
/// strategies), checkpointed by timestamp at registration, deregistration, after a slash, and
/// whenever anyone calls `updateStakes`. The dispute game weighs votes by these checkpoints and
/// slashes through `slash`, which calls `AllocationManager.slashOperator` with this contract as
/// the AVS. Slashed shares are burned by the core (nothing is paid out here); challengers are
/// paid from the provider's ETH bond, which the dispute game keeps. Nothing is configurable
/// after deployment.
contract EigenServiceManager is IOperatorSet, IEigenServiceManager {
    using StakeHistory for StakeHistory.Book;

    uint256 private constant WAD = 1e18;
    /// @dev Gas forwarded to `AllocationManager.slashOperator` at least (one slash of one
    /// strategy measured ~260k on anvil; docs/protocol.md, "EigenLayer back end").
    uint256 private constant SLASH_GAS = 600_000;

    IAllocationManager private immutable _allocationManager;
    address private immutable _disputeGame;
    uint32 private immutable _operatorSetId;
    uint32 private immutable _deallocationDelay;
    uint32 private immutable _minSecondsPerBlock;

    address[] private _strategies;
    mapping(address operator => bool) private _registered;
    StakeHistory.Book private _history;

    /// @param allocationManager_ The core's AllocationManager.
    /// @param disputeGame_ The only caller of `slash` (deployed next; its address is precomputed).
    /// @param strategies_ The set's strategies, strictly ascending, at least one.
    /// @param operatorSetId_ The id of verbench's operator set (created here).
    /// @param minSecondsPerBlock_ A lower bound on the chain's seconds per block (12 on Ethereum),
    /// converting the block-based deallocation delay into `unbondingDelay()` seconds.
    /// @param metadataURI The AVS metadata URI the core requires before creating sets.
    constructor(
        IAllocationManager allocationManager_,
        address disputeGame_,
        address[] memory strategies_,
        uint32 operatorSetId_,
        uint32 minSecondsPerBlock_,
        string memory metadataURI
    ) {
        if (
            address(allocationManager_) == address(0) || disputeGame_ == address(0)
                || minSecondsPerBlock_ == 0
        ) {
            revert InvalidParameter();
        }
        uint256 n = strategies_.length;
        if (n == 0) revert InvalidStrategies();
        for (uint256 i = 1; i < n; ++i) {
            if (strategies_[i] <= strategies_[i - 1]) revert InvalidStrategies();
        }
        _allocationManager = allocationManager_;
        _disputeGame = disputeGame_;
        _operatorSetId = operatorSetId_;
        _minSecondsPerBlock = minSecondsPerBlock_;
        _strategies = strategies_;
        uint32 delay = allocationManager_.DEALLOCATION_DELAY();
        if (delay == 0) revert InvalidParameter();
        _deallocationDelay = delay;

        // The core requires the AVS's metadata before its first operator set; this contract is
        // the AVS, so it makes both calls itself (no appointee needed).
        allocationManager_.updateAVSMetadataURI(address(this), metadataURI);
        EigenTypes.CreateSetParams[] memory sets = new EigenTypes.CreateSetParams[](1);
        sets[0] = EigenTypes.CreateSetParams({operatorSetId: operatorSetId_, strategies: strategies_});
        allocationManager_.createOperatorSets(address(this), sets);
    }

    // ---------------------------------------------------------------------------------------
    // Registrar (called by the AllocationManager)
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IEigenServiceManager
    function registerOperator(address operator, address avs, uint32[] calldata operatorSetIds, bytes calldata)
        external
    {
        _checkCallback(avs, operatorSetIds);
        _registered[operator] = true;
        _record(operator, _weight(operator));
    }

    /// @inheritdoc IEigenServiceManager
    function deregisterOperator(address operator, address avs, uint32[] calldata operatorSetIds) external {
        _checkCallback(avs, operatorSetIds);
        _registered[operator] = false;
        _record(operator, 0);
    }

    /// @inheritdoc IEigenServiceManager
    function supportsAVS(address avs) external view returns (bool) {
        return avs == address(this);
    }

    /// @inheritdoc IEigenServiceManager
    function updateStakes(address[] calldata operators) external {
        // Bounded by the caller's own calldata.
        for (uint256 i; i < operators.length; ++i) {
            address operator = operators[i];
            _record(operator, _registered[operator] ? _weight(operator) : 0);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Slashing
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IOperatorSet
    /// @dev Never reverts because the core refuses: the dispute game must always be able to
    /// resolve. A failed slash is logged (`SlashFailed`) and counts as 0.
    function slash(address operator, uint256 wad, string calldata reason) external returns (uint256 amount) {
        if (msg.sender != _disputeGame) revert NotDisputeGame();
        if (wad == 0 || wad > WAD) revert InvalidWad(wad);
        EigenTypes.OperatorSet memory set = _set();
        if (!_allocationManager.isOperatorSlashable(operator, set)) return 0;
        uint256 n = _strategies.length;
        uint256[] memory wads = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            wads[i] = wad;
        }
        uint256 before = _history.latest(operator);
        // A failed inner call must mean the core refused, never that the caller sent too little
        // gas (the 63/64 rule would let a starved slash fail while the dispute still resolves,
        // and gas estimation finds exactly that point).
        if (gasleft() < SLASH_GAS + SLASH_GAS / 63 + 10_000) {
            revert InsufficientGas(gasleft(), SLASH_GAS + SLASH_GAS / 63 + 10_000);
        }
        // The AllocationManager is the trusted core: it calls back only into other core contracts.
        // slither-disable-next-line reentrancy-no-eth,reentrancy-events
        try _allocationManager.slashOperator{gas: SLASH_GAS}(
            address(this),
            EigenTypes.SlashingParams({
                operator: operator,
                operatorSetId: _operatorSetId,
                strategies: _strategies,
                wadsToSlash: wads,
                description: reason
            })
        ) {
            amount = before * wad / WAD;
            emit OperatorSlashed(operator, wad, amount, reason);
            _record(operator, _registered[operator] ? _weight(operator) : 0);
        } catch (bytes memory err) {
            emit SlashFailed(operator, wad, err);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IOperatorSet
    function isOperator(address operator) external view returns (bool) {
        return _registered[operator];
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
    /// @dev The core's deallocation delay (blocks) times the lower bound on seconds per block: a
    /// deregistered or deallocating operator stays slashable at least this long.
    function unbondingDelay() external view returns (uint48) {
        uint256 secs = uint256(_deallocationDelay) * _minSecondsPerBlock;
        return secs > type(uint48).max ? type(uint48).max : SafeCast.toUint48(secs);
    }

    /// @inheritdoc IOperatorSet
    function disputeGame() external view returns (address) {
        return _disputeGame;
    }

    /// @inheritdoc IOperatorSet
    function backend() external pure returns (Backend) {
        return Backend.EigenLayer;
    }

    /// @inheritdoc IEigenServiceManager
    function currentWeight(address operator) external view returns (uint256) {
        return _registered[operator] ? _weight(operator) : 0;
    }

    /// @inheritdoc IEigenServiceManager
    function allocationManager() external view returns (address) {
        return address(_allocationManager);
    }

    /// @inheritdoc IEigenServiceManager
    function operatorSetId() external view returns (uint32) {
        return _operatorSetId;
    }

    /// @inheritdoc IEigenServiceManager
    function strategies() external view returns (address[] memory) {
        return _strategies;
    }

    /// @inheritdoc IEigenServiceManager
    function minSecondsPerBlock() external view returns (uint32) {
        return _minSecondsPerBlock;
    }

    // ---------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------

    function _checkCallback(address avs, uint32[] calldata operatorSetIds) private view {
        if (msg.sender != address(_allocationManager)) revert NotAllocationManager();
        if (avs != address(this) || operatorSetIds.length != 1 || operatorSetIds[0] != _operatorSetId) {
            revert WrongOperatorSet(avs, operatorSetIds);
        }
    }

    function _set() private view returns (EigenTypes.OperatorSet memory) {
        return EigenTypes.OperatorSet({avs: address(this), id: _operatorSetId});
    }

    /// @dev Allocated stake that stays slashable through a full deallocation delay, summed over
    /// the set's strategies (pending deallocations already excluded).
    function _weight(address operator) private view returns (uint256 total) {
        address[] memory one = new address[](1);
        one[0] = operator;
        uint256 future = block.number + _deallocationDelay;
        uint256[][] memory stake = _allocationManager.getMinimumSlashableStake(
            _set(), one, _strategies, future > type(uint32).max ? type(uint32).max : SafeCast.toUint32(future)
        );
        uint256 n = stake[0].length;
        for (uint256 i; i < n; ++i) {
            total += stake[0][i];
        }
    }

    function _record(address operator, uint256 weight) private {
        uint256 before = _history.latest(operator);
        // Skipping an unchanged weight saves a checkpoint; it guards nothing.
        // slither-disable-next-line incorrect-equality
        if (before == weight) return;
        _history.write(operator, before, weight);
        emit StakeUpdated(operator, before, weight);
    }
}

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
/// (`getMinimumSlashableStake` at `block.number + DEALLOCATION_DELAY`), each strategy's shares
/// times that strategy's multiplier (WAD units, fixed at deployment: shares of different assets
/// are not worth the same), summed over the set's strategies; checkpointed by timestamp at
/// registration, deregistration, after a slash, and whenever anyone calls `updateStakes`. The
/// dispute game weighs votes by these checkpoints (none for an operator slashed since, and never
/// above its slashable stake now: `voteWeightAt`), refuses commits by providers whose stake leaves
/// before the commitment's last verdict (`slashableUntil`), and slashes through `slash`, which calls
/// `AllocationManager.slashOperator` with this contract as the AVS, forwarding gas that grows
/// with the number of strategies (at most 16). Slashed shares are burned by the core (nothing is
/// paid out here); challengers are paid from the provider's ETH bond, which the dispute game
/// keeps. Nothing is configurable after deployment.
contract EigenServiceManager is IOperatorSet, IEigenServiceManager {
    using StakeHistory for StakeHistory.Book;

    uint256 private constant WAD = 1e18;

    /// @dev An operator's standing with this registrar, in one slot.
    /// @param registered Whether it is in the set now.
    /// @param deregisteredAt The block of its last deregistration: the core keeps it slashable
    /// through `deregisteredAt + DEALLOCATION_DELAY` (`slashableUntil`).
    /// @param slashedAt When `slash` last took something from it (0: never; `voteWeightAt`).
    struct Member {
        bool registered;
        uint32 deregisteredAt;
        uint48 slashedAt;
    }

    /// @notice The most strategies the set may have. Bounds the gas `slash` forwards to the core
    /// (`slashGas()`: 4.35M at 16) and therefore the gas limit a resolving transaction must carry,
    /// as well as every weight read.
    uint256 public constant MAX_STRATEGIES = 16;
    /// @notice The largest strategy multiplier (WAD units: 1e18 counts one share as one unit of
    /// weight). 1e36 lets a share be worth up to 1e18 units, enough to put an 8-decimal token on a
    /// wei scale; with the core's cap of 1e38 - 1 shares per strategy, each term stays below 1e56
    /// and a weight over 16 strategies fits the 208-bit checkpoints.
    uint256 public constant MAX_MULTIPLIER = 1e36;
    /// @dev Gas forwarded to `AllocationManager.slashOperator`: a base plus a per-strategy amount.
    /// One slash of one strategy, DelegationManager share accounting included, measured 228,611
    /// gas on anvil against the real core (docs/protocol.md, "EigenLayer back end"). Almost all of
    /// that is per strategy (the allocation and magnitude updates, the operator's shares, the
    /// burnable shares and their events); the per-strategy figure is above the whole one-strategy
    /// slash, and the base keeps the 600k a one-strategy set always had (headroom for a core
    /// release that does more per slash).
    uint256 private constant SLASH_GAS_BASE = 350_000;
    uint256 private constant SLASH_GAS_PER_STRATEGY = 250_000;
    /// @dev Gas `slash` keeps on top of what the 63/64 rule withholds: it covers the few hundred
    /// gas between the gas check and the call, and a `SlashFailed` log.
    uint256 private constant SLASH_GAS_RESERVE = 10_000;

    IAllocationManager private immutable _allocationManager;
    address private immutable _disputeGame;
    uint32 private immutable _operatorSetId;
    uint32 private immutable _deallocationDelay;
    uint32 private immutable _minSecondsPerBlock;
    uint256 private immutable _slashGas;

    address[] private _strategies;
    uint256[] private _multipliers;
    mapping(address operator => Member) private _members;
    StakeHistory.Book private _history;

    /// @param allocationManager_ The core's AllocationManager.
    /// @param disputeGame_ The only caller of `slash` (deployed next; its address is precomputed).
    /// @param strategies_ The set's strategies, strictly ascending, 1 to `MAX_STRATEGIES`.
    /// @param multipliers_ One per strategy, in (0, `MAX_MULTIPLIER`]: the weight of one share of
    /// that strategy, in WAD units (1e18 = one unit of weight per share). Set them so that equal
    /// weights are worth the same (e.g. each strategy's share value in the reference asset).
    /// @param operatorSetId_ The id of verbench's operator set (created here).
    /// @param minSecondsPerBlock_ A lower bound on the chain's seconds per block (12 on Ethereum),
    /// converting the block-based deallocation delay into `unbondingDelay()` seconds.
    /// @param metadataURI The AVS metadata URI the core requires before creating sets.
    constructor(
        IAllocationManager allocationManager_,
        address disputeGame_,
        address[] memory strategies_,
        uint256[] memory multipliers_,
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
        if (n == 0 || n > MAX_STRATEGIES) revert InvalidStrategies();
        for (uint256 i = 1; i < n; ++i) {
            if (strategies_[i] <= strategies_[i - 1]) revert InvalidStrategies();
        }
        if (multipliers_.length != n) revert InvalidMultipliers();
        for (uint256 i; i < n; ++i) {
            if (multipliers_[i] == 0 || multipliers_[i] > MAX_MULTIPLIER) revert InvalidMultipliers();
        }
        _allocationManager = allocationManager_;
        _disputeGame = disputeGame_;
        _operatorSetId = operatorSetId_;
        _minSecondsPerBlock = minSecondsPerBlock_;
        _strategies = strategies_;
        _multipliers = multipliers_;
        _slashGas = SLASH_GAS_BASE + SLASH_GAS_PER_STRATEGY * n;
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
        _members[operator].registered = true;
        _record(operator, _weight(operator));
    }

    /// @inheritdoc IEigenServiceManager
    function deregisterOperator(address operator, address avs, uint32[] calldata operatorSetIds) external {
        _checkCallback(avs, operatorSetIds);
        Member storage m = _members[operator];
        m.registered = false;
        m.deregisteredAt = SafeCast.toUint32(block.number);
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
            _record(operator, _members[operator].registered ? _weight(operator) : 0);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Slashing
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IOperatorSet
    /// @dev Never reverts because the core refuses: the dispute game must always be able to
    /// resolve. A failed slash is logged (`SlashFailed`) and counts as 0. The amount is measured,
    /// not assumed: the operator's slashable stake now (pending deallocations included, as the
    /// core slashes them too), weighted like its weight, before the core's slash minus after it.
    function slash(address operator, uint256 wad, string calldata reason) external returns (uint256 amount) {
        if (msg.sender != _disputeGame) revert NotDisputeGame();
        if (wad == 0 || wad > WAD) revert InvalidWad(wad);
        if (!_allocationManager.isOperatorSlashable(operator, _set())) return 0;
        uint256 before = _stake(operator, block.number);
        // Everything the call needs is built before gas is measured: the strategies copied from
        // storage, the wads, and the ABI-encoded calldata (all of which grow with the strategies).
        bytes memory data = _slashCall(operator, wad, reason);
        uint256 gas = _slashGas;
        uint256 needed = gas + gas / 63 + SLASH_GAS_RESERVE;
        // A failed inner call must mean the core refused, never that the caller sent too little
        // gas (the 63/64 rule would let a starved slash fail while the dispute still resolves,
        // and gas estimation finds exactly that point). Only a fixed few hundred gas separate
        // this check from the call, so the core always receives `gas` in full.
        if (gasleft() < needed) revert InsufficientGas(gasleft(), needed);
        // The AllocationManager is the trusted core (it has code: the constructor called it) and
        // calls back only into other core contracts.
        // slither-disable-next-line reentrancy-no-eth,reentrancy-events,low-level-calls
        (bool ok, bytes memory err) = address(_allocationManager).call{gas: gas}(data);
        if (!ok) {
            emit SlashFailed(operator, wad, err);
            return 0;
        }
        uint256 remaining = _stake(operator, block.number);
        amount = before > remaining ? before - remaining : 0;
        emit OperatorSlashed(operator, wad, amount, reason);
        Member storage m = _members[operator];
        // A slash that took something takes the operator's vote on disputes opened before it.
        if (amount != 0) m.slashedAt = _now();
        _record(operator, m.registered ? _weight(operator) : 0);
    }

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IOperatorSet
    function isOperator(address operator) external view returns (bool) {
        return _members[operator].registered;
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
    /// @dev The slash record is read on every call (a slash need not move the checkpoint, e.g. when
    /// the latest one was stale). The core is asked for the slashable stake only when the
    /// checkpoint moved since the snapshot: deregistration, `updateStakes`, a slash.
    function voteWeightAt(address operator, uint48 timestamp) external view returns (uint256 weight) {
        bool changed;
        (weight, changed) = _history.atAndSince(operator, timestamp);
        if (_members[operator].slashedAt > timestamp) return 0;
        if (!changed || weight == 0) return weight;
        uint256 slashable = _stake(operator, block.number);
        if (slashable < weight) weight = slashable;
    }

    /// @inheritdoc IOperatorSet
    /// @dev In blocks, the stake stays slashable through the block before the earliest pending
    /// deallocation's effect block and, for an operator that left the set, through its
    /// deregistration block plus `DEALLOCATION_DELAY` (the core's rule). Blocks come at most one
    /// per `minSecondsPerBlock`, so block `b` is not reached before `now + (b - block.number) x
    /// minSecondsPerBlock`, and every slash up to that second lands in a block at most `b`.
    function slashableUntil(address operator) external view returns (uint48) {
        EigenTypes.OperatorSet memory set = _set();
        if (!_allocationManager.isOperatorSlashable(operator, set)) return type(uint48).max;
        Member memory m = _members[operator];
        // `last`: the last block through which all of the stake stays slashable, if `leaving`.
        bool leaving = !m.registered;
        uint256 last = leaving ? uint256(m.deregisteredAt) + _deallocationDelay : 0;
        bool allocated = false;
        uint256 n = _strategies.length;
        for (uint256 i; i < n; ++i) {
            EigenTypes.Allocation memory a = _allocationManager.getAllocation(operator, set, _strategies[i]);
            if (a.currentMagnitude == 0) continue;
            allocated = true;
            if (a.pendingDiff >= 0) continue;
            // Slashable before its effect block (the core applies a deallocation whose effect
            // block has come, so a pending one has effectBlock > block.number).
            uint256 through = a.effectBlock == 0 ? 0 : uint256(a.effectBlock) - 1;
            if (!leaving || through < last) last = through;
            leaving = true;
        }
        // Nothing allocated, nothing to keep; nothing leaving, nothing to wait for.
        if (!allocated || !leaving) return type(uint48).max;
        if (last <= block.number) return _now();
        uint256 until = block.timestamp + (last - block.number) * _minSecondsPerBlock;
        return until > type(uint48).max ? type(uint48).max : SafeCast.toUint48(until);
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
        return _members[operator].registered ? _weight(operator) : 0;
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
    function multipliers() external view returns (uint256[] memory) {
        return _multipliers;
    }

    /// @inheritdoc IEigenServiceManager
    function slashGas() external view returns (uint256) {
        return _slashGas;
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

    /// @dev `AllocationManager.slashOperator` calldata: `wad` of every strategy of the set.
    function _slashCall(address operator, uint256 wad, string calldata reason)
        private
        view
        returns (bytes memory)
    {
        address[] memory strategies_ = _strategies;
        uint256 n = strategies_.length;
        uint256[] memory wads = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            wads[i] = wad;
        }
        return abi.encodeCall(
            IAllocationManager.slashOperator,
            (
                address(this),
                EigenTypes.SlashingParams({
                    operator: operator,
                    operatorSetId: _operatorSetId,
                    strategies: strategies_,
                    wadsToSlash: wads,
                    description: reason
                })
            )
        );
    }

    function _now() private view returns (uint48) {
        return SafeCast.toUint48(block.timestamp);
    }

    function _set() private view returns (EigenTypes.OperatorSet memory) {
        return EigenTypes.OperatorSet({avs: address(this), id: _operatorSetId});
    }

    /// @dev Allocated stake that stays slashable through a full deallocation delay (pending
    /// deallocations already excluded), weighted and summed over the set's strategies.
    function _weight(address operator) private view returns (uint256) {
        return _stake(operator, block.number + _deallocationDelay);
    }

    /// @dev The operator's stake that is still slashable at block `atBlock`, each strategy's
    /// shares times its multiplier (WAD), summed over the set's strategies.
    function _stake(address operator, uint256 atBlock) private view returns (uint256 total) {
        address[] memory one = new address[](1);
        one[0] = operator;
        uint256[][] memory stake = _allocationManager.getMinimumSlashableStake(
            _set(),
            one,
            _strategies,
            atBlock > type(uint32).max ? type(uint32).max : SafeCast.toUint32(atBlock)
        );
        uint256[] memory shares = stake[0];
        // One entry per strategy (the core answers in the order asked).
        uint256 n = _multipliers.length;
        for (uint256 i; i < n; ++i) {
            total += shares[i] * _multipliers[i] / WAD;
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

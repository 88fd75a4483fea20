// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DisputeGame} from "../contracts/DisputeGame.sol";
import {EigenServiceManager} from "../contracts/EigenServiceManager.sol";
import {IDisputeGame} from "../contracts/interfaces/IDisputeGame.sol";
import {EigenTypes, IAllocationManager} from "../contracts/interfaces/IEigenLayerCore.sol";
import {IEigenServiceManager} from "../contracts/interfaces/IEigenServiceManager.sol";
import {IOperatorSet} from "../contracts/interfaces/IOperatorSet.sol";
import {IServiceManager} from "../contracts/interfaces/IServiceManager.sol";
import {Deployers} from "./utils/Deployers.sol";
import {ScriptedAllocationManager} from "./utils/ScriptedAllocationManager.sol";
import {Test} from "./utils/Test.sol";
import {Vm} from "./utils/Vm.sol";
import {console} from "./utils/console.sol";

/// @notice EigenServiceManager's own logic against a scripted AllocationManager: registrar
/// guards, weight checkpoints, strategy multipliers, slashing that never blocks the dispute game
/// (nor fails for lack of gas), and the native-stake functions it does not have. crates/devnet
/// runs the same contract against the real core.
contract EigenServiceManagerTest is Test {
    uint32 internal constant SET = 7;
    uint48 internal constant START = 1_700_000_000;
    address internal constant VALUABLE = address(0x1000);
    address internal constant CHEAP = address(0x2000);
    string internal constant FAULT = "verbench: provider at fault";
    /// @dev What the scripted core's `slashOperator` costs besides its scripted burn (82,083 gas
    /// measured from cold storage): a core that burns `slashGas() - CORE_OVERHEAD` needs nearly
    /// all the gas it is forwarded.
    uint256 internal constant CORE_OVERHEAD = 85_000;

    /// @dev One call of `slash` with a given gas limit, and what it did.
    struct Attempt {
        bool ok;
        bytes ret;
        bool slashed;
        bool failedLogged;
        uint256 received;
    }

    ScriptedAllocationManager internal am;
    EigenServiceManager internal esm;
    address internal game;
    address internal alice;
    address internal bob;
    address[] internal strategies;

    function setUp() public {
        vm.warp(START);
        vm.roll(1000);
        am = new ScriptedAllocationManager();
        game = makeAddr("game");
        alice = makeAddr("alice");
        bob = makeAddr("bob");
        strategies.push(VALUABLE);
        strategies.push(CHEAP);
        esm = _deploy(strategies, _ones(2));
    }

    function _deploy(address[] memory strategies_, uint256[] memory multipliers_)
        internal
        returns (EigenServiceManager)
    {
        return new EigenServiceManager(
            IAllocationManager(address(am)), game, strategies_, multipliers_, SET, 12, "uri"
        );
    }

    /// @dev `n` strategies 0x1000, 0x2000, ... (ascending).
    function _strategies(uint256 n) internal pure returns (address[] memory s) {
        s = new address[](n);
        for (uint256 i; i < n; ++i) {
            s[i] = address(uint160(0x1000 * (i + 1)));
        }
    }

    /// @dev `n` multipliers of 1e18 (one unit of weight per share).
    function _ones(uint256 n) internal pure returns (uint256[] memory m) {
        m = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            m[i] = 1e18;
        }
    }

    function _join(address operator, uint256 stake) internal {
        am.setStake(operator, stake);
        am.register(address(esm), operator, SET);
    }

    function test_constructorCreatesTheSetAndDerivesTheUnbondingDelay() public view {
        vm.assertEq(uint256(am.createdSetId()), SET, "set id");
        vm.assertEq(am.createdStrategies(1), address(0x2000), "strategies");
        vm.assertEq(keccak256(bytes(am.metadataURI())), keccak256("uri"), "metadata first");
        vm.assertEq(uint256(esm.unbondingDelay()), 100 * 12, "delay = blocks x seconds per block");
        vm.assertEq(esm.disputeGame(), game, "game");
    }

    function test_constructorRejectsUnsortedOrEmptyStrategies() public {
        address[] memory bad = new address[](2);
        bad[0] = address(0x2000);
        bad[1] = address(0x1000);
        vm.expectRevert(IEigenServiceManager.InvalidStrategies.selector);
        _deploy(bad, _ones(2));
        vm.expectRevert(IEigenServiceManager.InvalidStrategies.selector);
        _deploy(new address[](0), new uint256[](0));
        vm.expectRevert(IOperatorSet.InvalidParameter.selector);
        new EigenServiceManager(IAllocationManager(address(am)), game, strategies, _ones(2), SET, 0, "uri");
    }

    function test_registrationCheckpointsTheWeightFromTheNextSecond() public {
        _join(alice, 10 ether);
        _join(bob, 5 ether);
        vm.assertTrue(esm.isOperator(alice), "registered");
        // Weight sums the strategies (1 wei in the second one here).
        vm.assertEq(esm.currentWeight(alice), 10 ether + 1, "weight");
        vm.expectRevert(abi.encodeWithSelector(IOperatorSet.FutureLookup.selector, START));
        esm.stakeAt(alice, START);
        vm.warp(START + 1);
        vm.assertEq(esm.stakeAt(alice, START), 10 ether + 1, "alice at START");
        vm.assertEq(esm.totalStakeAt(START), 15 ether + 2, "total");
        vm.assertEq(esm.stakeAt(alice, START - 1), 0, "nothing before");
    }

    function test_registrarCallbacksAnswerOnlyTheAllocationManagerForItsOwnSet() public {
        uint32[] memory ids = new uint32[](1);
        ids[0] = SET;
        vm.expectRevert(IEigenServiceManager.NotAllocationManager.selector);
        esm.registerOperator(alice, address(esm), ids, "");
        vm.expectRevert(IEigenServiceManager.NotAllocationManager.selector);
        esm.deregisterOperator(alice, address(esm), ids);
        vm.expectRevert(
            abi.encodeWithSelector(
                IEigenServiceManager.WrongOperatorSet.selector, address(esm), _ids(SET + 1)
            )
        );
        am.register(address(esm), alice, SET + 1);
        vm.assertTrue(esm.supportsAVS(address(esm)), "supports itself");
        vm.assertFalse(esm.supportsAVS(address(am)), "and nothing else");
    }

    function test_deregistrationZeroesTheWeightButKeepsThePast() public {
        _join(alice, 10 ether);
        vm.warp(START + 10);
        am.deregister(address(esm), alice, SET);
        vm.warp(START + 11);
        vm.assertFalse(esm.isOperator(alice), "left");
        vm.assertEq(esm.stakeAt(alice, START + 9), 10 ether + 1, "past weight stays");
        vm.assertEq(esm.stakeAt(alice, START + 10), 0, "zero from the deregistration on");
        vm.assertEq(esm.totalStakeAt(START + 10), 0, "total follows");
    }

    function test_updateStakesFollowsAllocationsAndIgnoresOutsiders() public {
        _join(alice, 10 ether);
        am.setStake(alice, 4 ether);
        am.setStake(bob, 99 ether); // not a member
        address[] memory who = new address[](2);
        who[0] = alice;
        who[1] = bob;
        esm.updateStakes(who);
        vm.warp(START + 1);
        vm.assertEq(esm.stakeAt(alice, START), 4 ether + 1, "lowered");
        vm.assertEq(esm.stakeAt(bob, START), 0, "outsider");
        vm.assertEq(esm.totalStakeAt(START), 4 ether + 1, "total");
    }

    function test_onlyTheGameSlashesWithAValidWad() public {
        _join(alice, 10 ether);
        vm.expectRevert(IOperatorSet.NotDisputeGame.selector);
        esm.slash(alice, 1e17, "x");
        vm.prank(game);
        vm.expectRevert(abi.encodeWithSelector(IOperatorSet.InvalidWad.selector, 0));
        esm.slash(alice, 0, "x");
        vm.prank(game);
        vm.expectRevert(abi.encodeWithSelector(IOperatorSet.InvalidWad.selector, 1e18 + 1));
        esm.slash(alice, 1e18 + 1, "x");
    }

    function test_slashGoesThroughTheCoreAndRefreshesTheWeight() public {
        _join(alice, 10 ether);
        vm.prank(game);
        uint256 amount = esm.slash(alice, 1e17, "fault");
        vm.assertEq(amount, 1 ether, "a tenth of the slashable stake");
        vm.assertEq(am.slashCalls(), 1, "one core slash");
        vm.assertEq(am.lastWad(), 1e17, "wad passed on");
        vm.assertEq(esm.currentWeight(alice), 9 ether + 1, "core stake lowered");
        vm.warp(START + 1);
        vm.assertEq(esm.stakeAt(alice, START), 9 ether + 1, "checkpoint refreshed");
    }

    function test_slashOfAnUnslashableOperatorTakesNothing() public {
        vm.prank(game);
        vm.assertEq(esm.slash(bob, 1e17, "never joined"), 0, "nothing");
        vm.assertEq(am.slashCalls(), 0, "core not called");
    }

    function test_aRefusedSlashIsLoggedAndNeverBlocksTheGame() public {
        _join(alice, 10 ether);
        am.setSlashReverts(true);
        vm.expectEmit(address(esm));
        emit IEigenServiceManager.SlashFailed(
            alice, 1e17, abi.encodeWithSelector(ScriptedAllocationManager.Refused.selector)
        );
        vm.prank(game);
        vm.assertEq(esm.slash(alice, 1e17, "fault"), 0, "nothing taken");
    }

    function test_aStarvedSlashRevertsInsteadOfFailingQuietly() public {
        _join(alice, 10 ether);
        vm.prank(game);
        (bool ok, bytes memory ret) =
            address(esm).call{gas: 300_000}(abi.encodeCall(IOperatorSet.slash, (alice, 1e17, "fault")));
        vm.assertFalse(ok, "reverted");
        vm.assertEq(bytes4(ret), IEigenServiceManager.InsufficientGas.selector, "InsufficientGas");
        vm.assertEq(am.slashCalls(), 0, "core not called");
    }

    function test_isTheEigenLayerBackEndWithoutNativeStakeFunctions() public {
        vm.assertEq(uint256(esm.backend()), uint256(IOperatorSet.Backend.EigenLayer), "backend");
        vm.deal(alice, 1 ether);
        vm.startPrank(alice);
        // The native extension's functions are not part of this contract, and no ether is taken.
        bytes[3] memory calls = [
            abi.encodeCall(IServiceManager.registerOperator, ()),
            abi.encodeCall(IServiceManager.depositStake, ()),
            abi.encodeCall(IServiceManager.claimSlashed, ())
        ];
        for (uint256 i; i < calls.length; ++i) {
            (bool ok,) = address(esm).call{value: 1}(calls[i]);
            vm.assertFalse(ok, "native-stake call accepted");
        }
        vm.stopPrank();
        vm.assertEq(address(esm).balance, 0, "no ether kept");
    }

    // ---------------------------------------------------------------------------------------
    // Review findings. Each test says what the code before the fix did in the same scenario
    // (measured by running the scenario against that code).
    // ---------------------------------------------------------------------------------------

    /// Finding 1 (medium), the bound. Before the fix any number of strategies was accepted and
    /// `slash` forwarded 600k gas whatever their number. Now at most MAX_STRATEGIES (16), and the
    /// forwarded gas is 350k plus 250k per strategy (600k for one, as before).
    function test_constructorBoundsTheStrategiesAndScalesTheSlashGas() public {
        uint256 max = esm.MAX_STRATEGIES();
        vm.assertEq(max, 16, "bound");
        vm.expectRevert(IEigenServiceManager.InvalidStrategies.selector);
        _deploy(_strategies(max + 1), _ones(max + 1));
        vm.assertEq(_deploy(_strategies(max), _ones(max)).slashGas(), 4_350_000, "16 strategies");
        vm.assertEq(_deploy(_strategies(12), _ones(12)).slashGas(), 3_350_000, "12 strategies");
        vm.assertEq(esm.slashGas(), 850_000, "2 strategies");
        vm.assertEq(_deploy(_strategies(1), _ones(1)).slashGas(), 600_000, "1 strategy: as before");
    }

    /// Finding 1 (medium), the starvation window. Before the fix `slash` checked
    /// `gasleft() >= 619,523` (600k + 600k/63 + 10k) and only then copied the 12 strategies from
    /// cold storage and encoded the call, which sent the core 63/64 of what was left instead of
    /// 600k. Against this core (42k gas per strategy: ~586k in all), outer gas limits of 632,250
    /// to 637,500 made `slash` succeed, log `SlashFailed` (the core ran out of gas) and return 0:
    /// the dispute resolved without the slash. Now every limit in that range reverts with
    /// InsufficientGas, and with enough gas the core receives all of `slashGas()` and slashes.
    function test_slashGas_theOldStarvationWindowNowReverts() public {
        EigenServiceManager e = _deploy(_strategies(12), _ones(12));
        _joinSet(e, alice, 10 ether);
        am.setSlashGasPerStrategy(42_000);
        for (uint256 g = 620_000; g <= 700_000; g += 250) {
            Attempt memory a = _attempt(e, g);
            vm.assertFalse(a.ok, "too little gas must revert the whole call");
            vm.assertEq(bytes4(a.ret), IEigenServiceManager.InsufficientGas.selector, "InsufficientGas");
            vm.assertFalse(a.slashed || a.failedLogged, "nothing happened");
        }
        Attempt memory enough = _attempt(e, 4_000_000);
        vm.assertTrue(enough.ok && enough.slashed && !enough.failedLogged, "enough gas slashes");
        vm.assertGe(enough.received + 1_000, e.slashGas(), "the core received slashGas()");
    }

    /// Finding 1 (medium), the scaling, with 12 strategies. Before the fix the core never got more
    /// than 600k, so a core whose slash of 12 strategies needs more (this one needs ~3.35M) failed
    /// at every gas limit: `SlashFailed`, no slash could ever succeed. Now the forwarded gas
    /// follows the strategies, and around the guard every gas limit either reverts or slashes.
    function test_slashGas_twelveStrategies_scanAroundTheGuard() public {
        _scanAroundTheGuard(12);
    }

    /// Finding 1 (medium), the same at the bound (16 strategies, ~4.35M needed by the core).
    function test_slashGas_maxStrategies_scanAroundTheGuard() public {
        _scanAroundTheGuard(esm.MAX_STRATEGIES());
    }

    /// Finding 2 (low). Before the fix a weight added raw shares of every strategy 1:1: bob's 100
    /// shares of a token worth 1/100 of the other weighed 100 ether against alice's 10 shares of
    /// the valuable one, 10/11 of the set's weight, past any quorum, for the price of one valuable
    /// share. With the cheap strategy's multiplier at 1e16, bob weighs what his shares are worth.
    function test_aCheapStrategyNoLongerBuysTheQuorum() public {
        EigenServiceManager e = _deploy(strategies, _cheapAtOneHundredth());
        am.setStakeIn(alice, VALUABLE, 10 ether);
        am.setStakeIn(bob, CHEAP, 100 ether);
        am.register(address(e), alice, SET);
        am.register(address(e), bob, SET);
        vm.warp(START + 1);
        vm.assertEq(e.stakeAt(alice, START), 10 ether, "alice: 10 shares x 1");
        vm.assertEq(e.stakeAt(bob, START), 1 ether, "bob: 100 shares x 0.01");
        vm.assertEq(e.totalStakeAt(START), 11 ether, "total");
        vm.assertGt(e.stakeAt(alice, START) * 3, e.totalStakeAt(START) * 2, "alice alone holds 2/3");
        vm.assertLt(e.stakeAt(bob, START) * 10, e.totalStakeAt(START), "bob under a tenth");
        uint256[] memory m = e.multipliers();
        vm.assertEq(m.length, 2, "one multiplier per strategy");
        vm.assertEq(m[1], 1e16, "cheap");
    }

    /// Finding 2 (low), the parameter's bounds: one multiplier per strategy, each in (0, 1e36].
    function test_constructorChecksTheMultipliers() public {
        uint256 max = esm.MAX_MULTIPLIER();
        vm.assertEq(max, 1e36, "bound");
        uint256[] memory m = _ones(2);
        m[1] = 0;
        vm.expectRevert(IEigenServiceManager.InvalidMultipliers.selector);
        _deploy(strategies, m);
        m[1] = max + 1;
        vm.expectRevert(IEigenServiceManager.InvalidMultipliers.selector);
        _deploy(strategies, m);
        vm.expectRevert(IEigenServiceManager.InvalidMultipliers.selector);
        _deploy(strategies, _ones(1));
        vm.expectRevert(IEigenServiceManager.InvalidMultipliers.selector);
        _deploy(strategies, _ones(3));
        m[1] = max;
        vm.assertEq(_deploy(strategies, m).multipliers()[1], max, "the bound itself is allowed");
    }

    /// Finding 3 (info). Before the fix `slash` returned and logged the checkpointed weight times
    /// wad (1 ether for 10% of 10 ether) whatever the core took. A core that takes 5% when asked
    /// for 10% now makes `slash` return and log 0.5 ether, the drop it measured.
    function test_slashReturnsAndLogsWhatTheCoreTook() public {
        _join(alice, 10 ether);
        am.setTakenWad(5e16);
        vm.expectEmit(address(esm));
        emit IOperatorSet.OperatorSlashed(alice, 1e17, 0.5 ether, "fault");
        vm.prank(game);
        vm.assertEq(esm.slash(alice, 1e17, "fault"), 0.5 ether, "what the core took");
        vm.assertEq(esm.currentWeight(alice), 9.5 ether + 1, "weight follows");
    }

    /// Finding 3 (info), with multipliers: the amount is in weight units. Alice weighs 11 ether (10
    /// valuable shares plus 100 cheap ones at 1/100); the core takes 5% of each: 0.55 ether.
    /// Before the fix (without multipliers) the same slash reported 11 ether: a tenth of the 110
    /// raw shares.
    function test_slashAmountIsWeightedLikeTheWeights() public {
        EigenServiceManager e = _deploy(strategies, _cheapAtOneHundredth());
        am.setStakeIn(alice, VALUABLE, 10 ether);
        am.setStakeIn(alice, CHEAP, 100 ether);
        am.register(address(e), alice, SET);
        vm.assertEq(e.currentWeight(alice), 11 ether, "weight");
        am.setTakenWad(5e16);
        vm.prank(game);
        vm.assertEq(e.slash(alice, 1e17, "fault"), 0.55 ether, "5% of 11 ether");
        vm.assertEq(e.currentWeight(alice), 10.45 ether, "weight follows");
    }

    // ---------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------

    function _joinSet(EigenServiceManager e, address operator, uint256 stake) internal {
        am.setStake(operator, stake);
        am.register(address(e), operator, SET);
    }

    function _cheapAtOneHundredth() internal pure returns (uint256[] memory m) {
        m = new uint256[](2);
        m[0] = 1e18;
        m[1] = 1e16;
    }

    /// @dev Has `e`'s game slash 10% of alice with exactly `gas`, from cold storage as in a fresh
    /// transaction; records what happened and rolls it all back.
    function _attempt(EigenServiceManager e, uint256 gas) internal returns (Attempt memory a) {
        uint256 snapshot = vm.snapshotState();
        vm.cool(address(am));
        vm.cool(address(e));
        vm.recordLogs();
        vm.prank(game);
        (a.ok, a.ret) = address(e).call{gas: gas}(abi.encodeCall(IOperatorSet.slash, (alice, 1e17, FAULT)));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == IEigenServiceManager.SlashFailed.selector) a.failedLogged = true;
        }
        a.slashed = am.slashCalls() == 1;
        a.received = am.lastGasReceived();
        vm.revertToState(snapshot);
    }

    /// @dev Whether the scripted core's slash of alice in `n` strategies succeeds with `gas`
    /// (called directly, from cold storage; rolled back).
    function _coreSlashes(EigenServiceManager e, uint256 n, uint256 gas) internal returns (bool ok) {
        uint256[] memory wads = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            wads[i] = 1e17;
        }
        EigenTypes.SlashingParams memory params = EigenTypes.SlashingParams({
            operator: alice,
            operatorSetId: SET,
            strategies: _strategies(n),
            wadsToSlash: wads,
            description: FAULT
        });
        uint256 snapshot = vm.snapshotState();
        vm.cool(address(am));
        (ok,) = address(am).call{gas: gas}(
            abi.encodeCall(IAllocationManager.slashOperator, (address(e), params))
        );
        vm.revertToState(snapshot);
    }

    /// @dev `n` strategies and a core that needs nearly all of `slashGas()`: every gas limit from
    /// just under the guard to 40k over it either reverts (InsufficientGas below the guard; out of
    /// gas after a successful core slash just above it, which reverts the slash too) or slashes
    /// with the core having received `slashGas()` in full; `SlashFailed` never.
    function _scanAroundTheGuard(uint256 n) internal {
        EigenServiceManager e = _deploy(_strategies(n), _ones(n));
        _joinSet(e, alice, 10 ether);
        uint256 forwarded = e.slashGas();
        am.setSlashGasPerStrategy((forwarded - CORE_OVERHEAD) / n);
        vm.assertTrue(_coreSlashes(e, n, forwarded), "the core slashes with slashGas()");
        vm.assertFalse(_coreSlashes(e, n, forwarded - 5_000), "but not with 5k less");

        // A first try reports how much gas was missing at the guard: that locates it exactly.
        Attempt memory probe = _attempt(e, forwarded);
        vm.assertEq(bytes4(probe.ret), IEigenServiceManager.InsufficientGas.selector, "probe");
        (uint256 left, uint256 needed) = _gasArgs(probe.ret);
        uint256 guard = forwarded + needed - left;
        uint256 firstSlash;
        for (uint256 g = guard - 2_000; g <= guard + 40_000; g += 250) {
            Attempt memory a = _attempt(e, g);
            vm.assertFalse(a.failedLogged, "SlashFailed for lack of gas");
            if (a.ok) {
                vm.assertTrue(a.slashed, "an outer success without the core's slash");
                vm.assertGe(a.received + 1_000, forwarded, "the core received slashGas()");
                if (firstSlash == 0) firstSlash = g;
            } else if (g < guard) {
                vm.assertEq(bytes4(a.ret), IEigenServiceManager.InsufficientGas.selector, "guard");
            } else {
                vm.assertEq(a.ret.length, 0, "out of gas after the core's slash");
            }
        }
        vm.assertGt(firstSlash, 0, "the scan reaches successful slashes");
        console.log(string.concat(vm.toString(n), " strategies: slashGas"), forwarded);
        console.log("  outer gas at the guard", guard);
        console.log("  lowest outer gas that slashed (250 steps)", firstSlash);
    }

    // ---------------------------------------------------------------------------------------
    // Vote weight and slashable horizon (review issue 16)
    // ---------------------------------------------------------------------------------------

    function test_voteWeightAt_snapshotUntilSlashedAndNeverAboveTheSlashableStake() public {
        _join(alice, 10 ether);
        _join(bob, 10 ether);
        uint48 s = START + 5;
        vm.warp(START + 10);
        vm.assertEq(esm.voteWeightAt(alice, s), 10 ether + 1, "unchanged since the snapshot");
        // Another AVS's slash: invisible until someone records it with updateStakes.
        am.setStake(alice, 6 ether);
        vm.assertEq(esm.voteWeightAt(alice, s), 10 ether + 1, "as fresh as the checkpoint");
        address[] memory who = new address[](1);
        who[0] = alice;
        esm.updateStakes(who);
        vm.warp(START + 11);
        vm.assertEq(esm.voteWeightAt(alice, s), 6 ether + 1, "capped at the slashable stake now");
        // Leaving after the snapshot keeps the vote (still slashable) ...
        am.deregister(address(esm), alice, SET);
        vm.warp(START + 12);
        vm.assertEq(esm.voteWeightAt(alice, s), 6 ether + 1, "deregistered, still slashable");
        // ... until the core no longer considers it slashable.
        am.setSlashable(alice, false);
        vm.assertEq(esm.voteWeightAt(alice, s), 0, "nothing slashable");
        // verbench's own slash takes the whole vote.
        vm.prank(game);
        vm.assertEq(esm.slash(bob, 1e17, FAULT), 1 ether, "slashed");
        vm.assertEq(esm.stakeAt(bob, s), 10 ether + 1, "the checkpoint stays");
        vm.assertEq(esm.voteWeightAt(bob, s), 0, "slashed since the snapshot: no vote");
        vm.warp(START + 13);
        vm.assertEq(esm.voteWeightAt(bob, START + 12), 9 ether + 1, "a later snapshot has what it kept");
    }

    function test_slashableUntil_followsTheDeregistrationAndPendingDeallocations() public {
        uint256 max = type(uint48).max;
        vm.assertEq(uint256(esm.slashableUntil(alice)), max, "not slashable");
        _join(alice, 10 ether);
        vm.assertEq(uint256(esm.slashableUntil(alice)), max, "nothing allocated");
        am.setAllocation(alice, VALUABLE, 1e18, 0, 0);
        vm.assertEq(uint256(esm.slashableUntil(alice)), max, "member, nothing leaving");
        // Half deallocating, effective 101 blocks on (the core's DEALLOCATION_DELAY + 1): slashable
        // through block 1100, i.e. at least 100 blocks x 12 s from now.
        am.setAllocation(alice, VALUABLE, 1e18, -0.5e18, 1101);
        vm.assertEq(uint256(esm.slashableUntil(alice)), START + 1200, "pending deallocation");
        vm.roll(1050);
        vm.warp(START + 600);
        vm.assertEq(uint256(esm.slashableUntil(alice)), START + 1200, "the same block, later");
        // Deallocation done; the operator leaves at block 1050: slashable through block 1150.
        am.setAllocation(alice, VALUABLE, 0.5e18, 0, 0);
        am.deregister(address(esm), alice, SET);
        vm.assertEq(uint256(esm.slashableUntil(alice)), START + 600 + 1200, "deregistered");
        vm.roll(1100);
        vm.warp(START + 1200);
        vm.assertEq(uint256(esm.slashableUntil(alice)), START + 1200 + 600, "50 blocks left");
        // A deallocation that takes effect sooner sets the horizon.
        am.setAllocation(alice, CHEAP, 1, -1, 1110);
        vm.assertEq(uint256(esm.slashableUntil(alice)), START + 1200 + 9 * 12, "the sooner one");
        am.setAllocation(alice, CHEAP, 1, -1, 1100 + 1);
        vm.roll(1101);
        vm.assertEq(uint256(esm.slashableUntil(alice)), START + 1200, "leaving now");
        am.setSlashable(alice, false);
        vm.assertEq(uint256(esm.slashableUntil(alice)), max, "delay over: nothing slashable");
    }

    function _gasArgs(bytes memory ret) internal pure returns (uint256 left, uint256 needed) {
        assembly ("memory-safe") {
            left := mload(add(ret, 36))
            needed := mload(add(ret, 68))
        }
    }

    function _ids(uint32 id) internal pure returns (uint32[] memory ids) {
        ids = new uint32[](1);
        ids[0] = id;
    }
}

/// @notice The dispute game on the EigenLayer back end (scripted core): a provider's stake must
/// stay slashable until the last verdict on its commitment, whether it leaves the set or
/// deallocates (review issue 16, finding 1; the native back end is tested in DisputeGame.t.sol).
/// Here `unbondingDelay()` is 100 blocks x 12 s = 1200 s and the task's windows fill it exactly.
contract EigenCommitTimingTest is Deployers {
    uint32 internal constant SET = 7;
    address internal constant STRATEGY = address(0x1000);
    uint32 internal constant WINDOW = 1000;
    uint32 internal constant REVEAL = 100;
    uint32 internal constant VOTE = 100;

    ScriptedAllocationManager internal am;
    EigenServiceManager internal esm;
    bytes32 internal taskId;

    function setUp() public {
        vm.warp(START);
        vm.roll(1000);
        am = new ScriptedAllocationManager();
        treasury = makeAddr("treasury");
        provider = makeAddr("provider");
        vm.deal(provider, 100 ether);
        address[] memory strategies = new address[](1);
        strategies[0] = STRATEGY;
        uint256[] memory multipliers = new uint256[](1);
        multipliers[0] = 1e18;
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        esm = new EigenServiceManager(
            IAllocationManager(address(am)), predicted, strategies, multipliers, SET, 12, ""
        );
        game = new DisputeGame(
            IOperatorSet(address(esm)), treasury, CHALLENGER_SHARE_BPS, QUORUM_BPS, REVEAL, VOTE
        );
        IDisputeGame.TaskSpec memory spec = defaultSpec(DATASET_SIZE);
        spec.challengeWindow = WINDOW;
        taskId = game.registerTask(spec);
        // The provider is an operator with 20 shares allocated in full.
        am.setStake(provider, 20 ether);
        am.register(address(esm), provider, SET);
        am.setAllocation(provider, STRATEGY, 1e18, 0, 0);
    }

    function _commit(uint256 salt) internal {
        commitAs(provider, taskId, buildTree(taskId, provider, DATASET_SIZE, salt), DATASET_SIZE);
    }

    function _refused(uint256 salt, uint256 until) internal {
        bytes32 root = buildTree(taskId, provider, DATASET_SIZE, salt);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.StakeUnbondsTooSoon.selector, until, block.timestamp + WINDOW + REVEAL + VOTE
            )
        );
        vm.prank(provider);
        game.commit{value: PROVIDER_BOND}(taskId, root, DATASET_SIZE, keccak256("bundle"), 1, 0.75e18, "");
    }

    function test_commit_refusedOnceTheDeregisteredProviderLeavesBeforeTheLastVerdict() public {
        _commit(1);
        am.deregister(address(esm), provider, SET);
        // Slashable through block 1100, at least 1200 s from now: exactly the last verdict.
        _commit(2);
        // One block later, 1188 s are certain against 1200 needed.
        vm.roll(1001);
        vm.warp(START + 12);
        _refused(3, START + 12 + 99 * 12);
        // Once the core's delay is over nothing is slashable, and nothing backs the commitment.
        vm.roll(1101);
        vm.warp(START + 1212);
        am.setSlashable(provider, false);
        _commit(4);
    }

    function test_commit_refusedWhileADeallocationLeavesBeforeTheLastVerdict() public {
        // Deallocating everything, effective at block 1101: slashable through block 1100.
        am.setAllocation(provider, STRATEGY, 1e18, -1e18, 1101);
        _commit(1);
        vm.roll(1001);
        vm.warp(START + 12);
        _refused(2, START + 1200);
        // Done: the allocation is 0 and nothing is slashable any more.
        am.setAllocation(provider, STRATEGY, 0, 0, 0);
        _commit(3);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EigenServiceManager} from "../contracts/EigenServiceManager.sol";
import {IAllocationManager} from "../contracts/interfaces/IEigenLayerCore.sol";
import {IEigenServiceManager} from "../contracts/interfaces/IEigenServiceManager.sol";
import {IOperatorSet} from "../contracts/interfaces/IOperatorSet.sol";
import {IServiceManager} from "../contracts/interfaces/IServiceManager.sol";
import {ScriptedAllocationManager} from "./utils/ScriptedAllocationManager.sol";
import {Test} from "./utils/Test.sol";

/// @notice EigenServiceManager's own logic against a scripted AllocationManager: registrar
/// guards, weight checkpoints, slashing that never blocks the dispute game, and the native-stake
/// functions it does not have. crates/devnet runs the same contract against the real core.
contract EigenServiceManagerTest is Test {
    uint32 internal constant SET = 7;
    uint48 internal constant START = 1_700_000_000;

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
        strategies.push(address(0x1000));
        strategies.push(address(0x2000));
        esm = new EigenServiceManager(IAllocationManager(address(am)), game, strategies, SET, 12, "uri");
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
        new EigenServiceManager(IAllocationManager(address(am)), game, bad, SET, 12, "uri");
        vm.expectRevert(IEigenServiceManager.InvalidStrategies.selector);
        new EigenServiceManager(IAllocationManager(address(am)), game, new address[](0), SET, 12, "uri");
        vm.expectRevert(IOperatorSet.InvalidParameter.selector);
        new EigenServiceManager(IAllocationManager(address(am)), game, strategies, SET, 0, "uri");
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
        vm.assertEq(amount, 1 ether, "a tenth of the checkpointed weight, rounded down");
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

    function _ids(uint32 id) internal pure returns (uint32[] memory ids) {
        ids = new uint32[](1);
        ids[0] = id;
    }
}

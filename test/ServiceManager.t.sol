// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ServiceManager} from "../contracts/ServiceManager.sol";
import {IOperatorSet} from "../contracts/interfaces/IOperatorSet.sol";
import {IServiceManager} from "../contracts/interfaces/IServiceManager.sol";
import {Deployers} from "./utils/Deployers.sol";

/// @notice Unit and fuzz tests of the self-contained ServiceManager.
contract ServiceManagerTest is Deployers {
    address internal op;

    function setUp() public {
        deployGame();
        op = makeAddr("operator");
        vm.deal(op, 1000 ether);
    }

    function test_isTheNativeBackEnd() public view {
        vm.assertEq(uint256(sm.backend()), uint256(IOperatorSet.Backend.Native), "backend");
    }

    function test_constructor_revertsOnInvalidParameters() public {
        vm.expectRevert(IOperatorSet.InvalidParameter.selector);
        new ServiceManager(address(0), treasury, 1, 1);
        vm.expectRevert(IOperatorSet.InvalidParameter.selector);
        new ServiceManager(address(game), address(0), 1, 1);
        vm.expectRevert(IOperatorSet.InvalidParameter.selector);
        new ServiceManager(address(game), treasury, 0, 1);
        vm.expectRevert(IOperatorSet.InvalidParameter.selector);
        new ServiceManager(address(game), treasury, 1, 0);
        vm.expectRevert(IOperatorSet.InvalidParameter.selector);
        new ServiceManager(address(game), treasury, 1, uint256(type(uint96).max) + 1);
    }

    function test_constructor_setsParameters() public view {
        vm.assertEq(sm.disputeGame(), address(game), "game");
        vm.assertEq(sm.slashReceiver(), treasury, "receiver");
        vm.assertEq(uint256(sm.unbondingDelay()), UNBONDING_DELAY, "delay");
        vm.assertEq(sm.minStake(), MIN_STAKE, "min stake");
    }

    function test_registerOperator_checkpointsStake() public {
        vm.expectEmit(address(sm));
        emit IServiceManager.OperatorRegistered(op, 2 ether);
        vm.prank(op);
        sm.registerOperator{value: 2 ether}();
        vm.assertTrue(sm.isOperator(op), "registered");
        uint48 t = uint48(block.timestamp);
        vm.warp(t + 1);
        vm.assertEq(sm.stakeAt(op, t), 2 ether, "stake at t");
        vm.assertEq(sm.stakeAt(op, t - 1), 0, "stake before");
        vm.assertEq(sm.totalStakeAt(t), 2 ether, "total");
    }

    function test_registerOperator_revertsBelowMinStake() public {
        vm.prank(op);
        vm.expectRevert(
            abi.encodeWithSelector(IServiceManager.StakeTooLow.selector, MIN_STAKE - 1, MIN_STAKE)
        );
        sm.registerOperator{value: MIN_STAKE - 1}();
    }

    function test_registerOperator_revertsWhenRegisteredOrUnbonding() public {
        vm.startPrank(op);
        sm.registerOperator{value: 1 ether}();
        vm.expectRevert(abi.encodeWithSelector(IServiceManager.AlreadyRegistered.selector, op));
        sm.registerOperator{value: 1 ether}();
        sm.deregisterOperator();
        vm.expectRevert(abi.encodeWithSelector(IServiceManager.AlreadyRegistered.selector, op));
        sm.registerOperator{value: 1 ether}();
        vm.stopPrank();
    }

    function test_registerOperator_revertsOnOverflow() public {
        vm.deal(op, uint256(type(uint96).max) + 1);
        vm.prank(op);
        vm.expectRevert(IServiceManager.StakeOverflow.selector);
        sm.registerOperator{value: uint256(type(uint96).max) + 1}();
    }

    function test_depositStake_addsStake() public {
        vm.startPrank(op);
        sm.registerOperator{value: 1 ether}();
        vm.expectEmit(address(sm));
        emit IServiceManager.StakeDeposited(op, 2 ether, 3 ether);
        sm.depositStake{value: 2 ether}();
        vm.stopPrank();
        vm.assertEq(uint256(sm.operatorInfo(op).stake), 3 ether, "stake");
    }

    function test_depositStake_revertsWhenNotRegistered() public {
        vm.prank(op);
        vm.expectRevert(abi.encodeWithSelector(IServiceManager.NotRegistered.selector, op));
        sm.depositStake{value: 1 ether}();
    }

    function test_depositStake_revertsOnZero() public {
        vm.startPrank(op);
        sm.registerOperator{value: 1 ether}();
        vm.expectRevert(abi.encodeWithSelector(IServiceManager.StakeTooLow.selector, 0, 1));
        sm.depositStake();
        vm.stopPrank();
    }

    function test_deregisterOperator_keepsPastCheckpoints() public {
        vm.prank(op);
        sm.registerOperator{value: 5 ether}();
        uint48 t = uint48(block.timestamp);
        vm.warp(t + 10);
        vm.expectEmit(address(sm));
        emit IServiceManager.OperatorDeregistered(op, 5 ether, t + 10 + UNBONDING_DELAY);
        vm.prank(op);
        sm.deregisterOperator();
        vm.warp(t + 11);
        vm.assertEq(sm.stakeAt(op, t + 9), 5 ether, "before");
        vm.assertEq(sm.stakeAt(op, t + 10), 0, "after");
        vm.assertEq(sm.totalStakeAt(t + 10), 0, "total after");
        vm.assertFalse(sm.isOperator(op), "left");
    }

    function test_deregisterOperator_revertsWhenNotRegistered() public {
        vm.prank(op);
        vm.expectRevert(abi.encodeWithSelector(IServiceManager.NotRegistered.selector, op));
        sm.deregisterOperator();
    }

    function test_withdrawStake_afterUnbonding() public {
        vm.startPrank(op);
        sm.registerOperator{value: 5 ether}();
        sm.deregisterOperator();
        uint48 endsAt = sm.operatorInfo(op).unbondingEndsAt;
        vm.warp(endsAt);
        vm.expectRevert(abi.encodeWithSelector(IServiceManager.StillUnbonding.selector, endsAt));
        sm.withdrawStake();
        vm.warp(endsAt + 1);
        uint256 before = op.balance;
        sm.withdrawStake();
        vm.assertEq(op.balance, before + 5 ether, "paid");
        vm.expectRevert(IServiceManager.NothingToWithdraw.selector);
        sm.withdrawStake();
        // Can join again.
        sm.registerOperator{value: 1 ether}();
        vm.stopPrank();
    }

    function test_slash_onlyDisputeGame() public {
        vm.expectRevert(IOperatorSet.NotDisputeGame.selector);
        sm.slash(op, 1e18, "no");
    }

    function test_slash_revertsOnInvalidWad() public {
        vm.startPrank(address(game));
        vm.expectRevert(abi.encodeWithSelector(IOperatorSet.InvalidWad.selector, 0));
        sm.slash(op, 0, "zero");
        vm.expectRevert(abi.encodeWithSelector(IOperatorSet.InvalidWad.selector, 1e18 + 1));
        sm.slash(op, 1e18 + 1, "too much");
        vm.stopPrank();
    }

    function test_slash_takesActiveAndUnbondingStake() public {
        vm.prank(op);
        sm.registerOperator{value: 4 ether}();
        vm.prank(address(game));
        vm.expectEmit(address(sm));
        emit IOperatorSet.OperatorSlashed(op, 0.5e18, 2 ether, "half");
        uint256 amount = sm.slash(op, 0.5e18, "half");
        vm.assertEq(amount, 2 ether, "half of active");
        vm.prank(op);
        sm.deregisterOperator();
        vm.prank(address(game));
        vm.assertEq(sm.slash(op, 1e18, "rest"), 2 ether, "all of unbonding");
        vm.assertEq(sm.slashedPending(), 4 ether, "pending");
        vm.warp(block.timestamp + UNBONDING_DELAY + 1);
        vm.prank(op);
        vm.expectRevert(IServiceManager.NothingToWithdraw.selector);
        sm.withdrawStake();
        sm.claimSlashed();
        vm.assertEq(treasury.balance, 4 ether, "receiver paid");
        vm.expectRevert(IServiceManager.NothingToWithdraw.selector);
        sm.claimSlashed();
    }

    function test_stakeAt_revertsOnFutureLookup() public {
        uint48 t = uint48(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(IOperatorSet.FutureLookup.selector, t));
        sm.stakeAt(op, t);
        vm.expectRevert(abi.encodeWithSelector(IOperatorSet.FutureLookup.selector, t));
        sm.totalStakeAt(t);
    }

    function test_voteWeightAt_isTheSnapshotStakeUntilASlashTakesIt() public {
        vm.prank(op);
        sm.registerOperator{value: 10 ether}();
        uint48 s = uint48(block.timestamp) + 5;
        vm.warp(s + 5);
        vm.assertEq(sm.voteWeightAt(op, s), 10 ether, "unchanged since the snapshot");
        vm.prank(op);
        sm.depositStake{value: 5 ether}();
        vm.warp(block.timestamp + 1);
        vm.assertEq(sm.voteWeightAt(op, s), 10 ether, "a deposit since does not count");
        vm.prank(op);
        sm.deregisterOperator();
        vm.warp(block.timestamp + 1);
        vm.assertEq(sm.voteWeightAt(op, s), 10 ether, "unbonding still votes");
        vm.prank(address(game));
        sm.slash(op, 0.1e18, "fault");
        vm.assertEq(uint256(sm.operatorInfo(op).unbonding), 13.5 ether, "slashed while unbonding");
        vm.assertEq(sm.stakeAt(op, s), 10 ether, "the checkpoint stays");
        vm.assertEq(sm.voteWeightAt(op, s), 0, "a slash since takes the vote");
        vm.expectRevert(abi.encodeWithSelector(IOperatorSet.FutureLookup.selector, uint48(block.timestamp)));
        sm.voteWeightAt(op, uint48(block.timestamp));
    }

    function test_voteWeightAt_aSlashBeforeTheSnapshotIsInIt() public {
        vm.prank(op);
        sm.registerOperator{value: 10 ether}();
        vm.warp(block.timestamp + 1);
        vm.prank(address(game));
        sm.slash(op, 0.5e18, "fault");
        uint48 s = uint48(block.timestamp);
        vm.warp(s + 1);
        vm.assertEq(sm.voteWeightAt(op, s), 5 ether, "what it kept");
        vm.assertEq(sm.voteWeightAt(op, s - 1), 0, "slashed after that snapshot");
        vm.assertEq(sm.stakeAt(op, s - 1), 10 ether, "whose checkpoint stays");
    }

    function test_slashableUntil_isTheEndOfTheUnbonding() public {
        vm.assertEq(uint256(sm.slashableUntil(op)), type(uint48).max, "no stake");
        vm.prank(op);
        sm.registerOperator{value: 10 ether}();
        vm.assertEq(uint256(sm.slashableUntil(op)), type(uint48).max, "active: nothing leaving");
        vm.prank(op);
        sm.deregisterOperator();
        uint48 endsAt = uint48(block.timestamp) + UNBONDING_DELAY;
        vm.assertEq(uint256(sm.slashableUntil(op)), uint256(endsAt), "unbonding");
        // Slashable through endsAt: the stake cannot leave in that second.
        vm.warp(endsAt);
        vm.prank(op);
        vm.expectRevert(abi.encodeWithSelector(IServiceManager.StillUnbonding.selector, endsAt));
        sm.withdrawStake();
        vm.prank(address(game));
        sm.slash(op, 1e18, "all");
        vm.assertEq(uint256(sm.slashableUntil(op)), type(uint48).max, "nothing left to leave");
    }

    function testFuzz_slash_neverTakesMoreThanStake(uint96 stake, uint256 wad) public {
        stake = uint96(bound(stake, MIN_STAKE, 1e30));
        wad = bound(wad, 1, 1e18);
        vm.deal(op, stake);
        vm.prank(op);
        sm.registerOperator{value: stake}();
        vm.prank(address(game));
        uint256 amount = sm.slash(op, wad, "fuzz");
        vm.assertLe(amount, stake, "bounded");
        vm.assertEq(uint256(sm.operatorInfo(op).stake) + amount, stake, "conserved");
        vm.warp(block.timestamp + 1);
        vm.assertEq(sm.totalStakeAt(uint48(block.timestamp - 1)), stake - amount, "total checkpoint");
        vm.assertGe(address(sm).balance, uint256(sm.operatorInfo(op).stake) + sm.slashedPending(), "solvent");
    }
}

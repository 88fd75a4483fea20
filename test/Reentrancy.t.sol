// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DisputeGame} from "../contracts/DisputeGame.sol";
import {ServiceManager} from "../contracts/ServiceManager.sol";
import {IDisputeGame} from "../contracts/interfaces/IDisputeGame.sol";
import {Deployers} from "./utils/Deployers.sol";

/// @notice A receiver that re-enters the contract paying it, to drain or withdraw twice.
contract MaliciousReceiver {
    DisputeGame internal immutable _game;
    ServiceManager internal immutable _sm;
    uint256 public reentries;
    uint256 public reentrySuccesses;
    bool public swallow;

    error ReentryBlocked();

    constructor(DisputeGame game_, ServiceManager sm_) {
        _game = game_;
        _sm = sm_;
    }

    function setSwallow(bool on) external {
        swallow = on;
    }

    function openDispute(IDisputeGame.Commitment calldata c, uint32 index) external payable {
        _game.openDispute{value: msg.value}(c, index);
    }

    function withdraw() external {
        _game.withdraw();
    }

    function registerTask(IDisputeGame.TaskSpec calldata spec) external payable returns (bytes32) {
        return _game.registerTask{value: msg.value}(spec);
    }

    function cancelFee(bytes32 taskId) external {
        _game.cancelFee(taskId);
    }

    function commit(bytes32 taskId, bytes32 root, uint32 n) external payable {
        _game.commit{value: msg.value}(taskId, root, n, keccak256("bundle"), 1, type(uint256).max, "");
    }

    function register() external payable {
        _sm.registerOperator{value: msg.value}();
    }

    function leave() external {
        _sm.deregisterOperator();
    }

    function withdrawStake() external {
        _sm.withdrawStake();
    }

    receive() external payable {
        if (reentries >= 3) return;
        ++reentries;
        (bool a,) = address(_game).call(abi.encodeCall(DisputeGame.withdraw, ()));
        (bool b,) = address(_sm).call(abi.encodeCall(ServiceManager.withdrawStake, ()));
        if (a) ++reentrySuccesses;
        if (b) ++reentrySuccesses;
        // Not swallowing: bubble the blocked re-entry up as a revert of the payment itself.
        if (!swallow && !a) revert ReentryBlocked();
    }
}

/// @notice Re-entrancy: a malicious receiver can neither drain the contracts nor withdraw twice.
contract ReentrancyTest is Deployers {
    MaliciousReceiver internal attacker;
    bytes32 internal cid;
    IDisputeGame.Commitment internal c;

    function setUp() public {
        deployGame();
        registerOperators(4, 10 ether);
        (, cid, c) = setUpCommitment();
        attacker = new MaliciousReceiver(game, sm);
        vm.deal(address(attacker), 100 ether);
        // An honest party's credit also sits in the game: the attacker must not reach it.
        openAwaiting(c, cid, challenger, 0);
    }

    function test_withdraw_reentrantReceiverIsPaidOnce() public {
        vm.prank(address(attacker));
        game.openDispute{value: CHALLENGER_BOND}(c, 3);
        IDisputeGame.Dispute memory d = expectedDispute(c, cid, address(attacker), 3);
        d.revealDeadline = uint48(block.timestamp) + REVEAL_WINDOW;
        d.status = IDisputeGame.DisputeStatus.AwaitingReveal;
        vm.warp(d.revealDeadline + 1);
        game.claimWithheld(d);
        uint256 owed = game.credit(address(attacker));
        vm.assertGt(owed, 0, "attacker is owed");
        uint256 gameBefore = address(game).balance;
        uint256 attackerBefore = address(attacker).balance;

        // Swallowing the failed re-entry: the outer withdraw succeeds, paid exactly once.
        attacker.setSwallow(true);
        attacker.withdraw();
        vm.assertEq(attacker.reentrySuccesses(), 0, "no re-entry succeeded");
        vm.assertEq(address(attacker).balance, attackerBefore + owed, "paid once");
        vm.assertEq(address(game).balance, gameBefore - owed, "nothing else left the game");
        vm.assertEq(game.credit(address(attacker)), 0, "credit cleared");
        vm.expectRevert(IDisputeGame.NothingToWithdraw.selector);
        attacker.withdraw();
    }

    function test_withdraw_revertingReceiverKeepsCredit() public {
        vm.prank(address(attacker));
        game.openDispute{value: CHALLENGER_BOND}(c, 3);
        IDisputeGame.Dispute memory d = expectedDispute(c, cid, address(attacker), 3);
        d.revealDeadline = uint48(block.timestamp) + REVEAL_WINDOW;
        d.status = IDisputeGame.DisputeStatus.AwaitingReveal;
        vm.warp(d.revealDeadline + 1);
        game.claimWithheld(d);
        uint256 owed = game.credit(address(attacker));
        // Not swallowing: the receiver reverts, so the whole withdrawal reverts and the credit stays.
        vm.expectRevert();
        attacker.withdraw();
        vm.assertEq(game.credit(address(attacker)), owed, "credit kept");
    }

    /// @dev A requester that re-enters on its fee refund is refunded once.
    function test_withdraw_reentrantRequesterIsRefundedOnce() public {
        IDisputeGame.TaskSpec memory spec = defaultSpec(DATASET_SIZE);
        spec.fee = 3 ether;
        bytes32 taskId = attacker.registerTask{value: 3 ether}(spec);
        attacker.cancelFee(taskId);
        vm.warp(block.timestamp + CHALLENGE_WINDOW + 2 * REVEAL_WINDOW + VOTING_PERIOD + 1);
        game.refundFee(taskId);
        vm.assertEq(game.credit(address(attacker)), 3 ether, "refund credited");
        uint256 gameBefore = address(game).balance;
        uint256 before = address(attacker).balance;
        attacker.setSwallow(true);
        attacker.withdraw();
        vm.assertEq(attacker.reentrySuccesses(), 0, "no re-entry succeeded");
        vm.assertEq(address(attacker).balance, before + 3 ether, "refunded once");
        vm.assertEq(address(game).balance, gameBefore - 3 ether, "nothing else left the game");
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NoFee.selector, taskId));
        game.refundFee(taskId);
    }

    /// @dev A provider that re-enters when it withdraws its bond and fee is paid once.
    function test_withdraw_reentrantProviderIsPaidItsFeeOnce() public {
        IDisputeGame.TaskSpec memory spec = defaultSpec(DATASET_SIZE);
        spec.fee = 3 ether;
        vm.deal(address(this), 3 ether + PROVIDER_BOND);
        bytes32 taskId = game.registerTask{value: 3 ether}(spec);
        bytes32 root = buildTree(taskId, address(attacker), DATASET_SIZE, 5);
        attacker.commit{value: PROVIDER_BOND}(taskId, root, DATASET_SIZE);
        IDisputeGame.Commitment memory ac = IDisputeGame.Commitment({
            taskId: taskId,
            provider: address(attacker),
            root: root,
            leafCount: DATASET_SIZE,
            bond: PROVIDER_BOND,
            challengeDeadline: uint48(block.timestamp) + CHALLENGE_WINDOW,
            bundleHash: keccak256("bundle"),
            bundleSize: 1,
            claimedScore: type(uint256).max
        });
        vm.warp(ac.challengeDeadline + 1);
        game.finalize(ac);
        uint256 owed = game.credit(address(attacker));
        vm.assertEq(owed, PROVIDER_BOND + 3 ether, "bond + fee");
        uint256 gameBefore = address(game).balance;
        uint256 before = address(attacker).balance;
        attacker.setSwallow(true);
        attacker.withdraw();
        vm.assertEq(attacker.reentrySuccesses(), 0, "no re-entry succeeded");
        vm.assertEq(address(attacker).balance, before + owed, "paid once");
        vm.assertEq(address(game).balance, gameBefore - owed, "nothing else left the game");
        // Finalizing again pays nothing.
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.CommitmentNotActive.selector, IDisputeGame.CommitmentStatus.Finalized
            )
        );
        game.finalize(ac);
    }

    function test_withdrawStake_reentrantOperatorIsPaidOnce() public {
        attacker.register{value: 5 ether}();
        attacker.leave();
        vm.warp(block.timestamp + UNBONDING_DELAY + 1);
        uint256 smBefore = address(sm).balance;
        uint256 before = address(attacker).balance;
        attacker.setSwallow(true);
        attacker.withdrawStake();
        vm.assertEq(attacker.reentrySuccesses(), 0, "no re-entry succeeded");
        vm.assertEq(address(attacker).balance, before + 5 ether, "paid once");
        vm.assertEq(address(sm).balance, smBefore - 5 ether, "nothing else left");
    }
}

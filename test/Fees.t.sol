// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDisputeGame} from "../contracts/interfaces/IDisputeGame.sol";
import {Merkle} from "../contracts/libraries/Merkle.sol";
import {Deployers} from "./utils/Deployers.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice Task fees (docs/protocol.md, "Fees and operator pay"): escrowed at registration, earned by
/// the first commitment on the task that finalizes while the offer holds, refundable to the requester
/// after a cancellation once no commitment made before it can still earn it.
contract FeeTest is Deployers {
    uint96 internal constant FEE = 2 ether;

    address internal requester;
    address internal provider2;

    function setUp() public {
        deployGame();
        registerOperators(4, 10 ether);
        requester = makeAddr("requester");
        provider2 = makeAddr("provider2");
        vm.deal(requester, 100 ether);
        vm.deal(provider2, 100 ether);
    }

    function feeSpec(uint96 fee) internal pure returns (IDisputeGame.TaskSpec memory spec) {
        spec = defaultSpec(DATASET_SIZE);
        spec.fee = fee;
    }

    function registerFeeTask() internal returns (bytes32 taskId) {
        vm.prank(requester);
        taskId = game.registerTask{value: FEE}(feeSpec(FEE));
    }

    function commitTree(address who, bytes32 taskId, uint256 salt)
        internal
        returns (bytes32 id, IDisputeGame.Commitment memory cc)
    {
        bytes32 root = buildTree(taskId, who, DATASET_SIZE, salt);
        (id, cc) = commitAs(who, taskId, root, DATASET_SIZE);
    }

    function _feeOf(bytes32 taskId) internal view returns (IDisputeGame.TaskFee memory) {
        return game.taskFee(taskId);
    }

    /// @dev The second after the last one at which a commitment made at `cancelledAt` can earn the fee.
    function refundableAfter(uint48 cancelledAt) internal pure returns (uint48) {
        return cancelledAt + CHALLENGE_WINDOW + REVEAL_WINDOW + VOTING_PERIOD + REVEAL_WINDOW;
    }

    // ---------------------------------------------------------------------------------------
    // registerTask
    // ---------------------------------------------------------------------------------------

    function test_registerTask_escrowsTheFee() public {
        IDisputeGame.TaskSpec memory spec = feeSpec(FEE);
        bytes32 expected = game.taskIdOf(spec);
        uint256 before = address(game).balance;
        vm.expectEmit(address(game));
        emit IDisputeGame.FeeEscrowed(expected, requester, FEE);
        vm.prank(requester);
        bytes32 taskId = game.registerTask{value: FEE}(spec);
        vm.assertEq(taskId, expected, "task id");
        vm.assertEq(address(game).balance, before + FEE, "escrowed");
        IDisputeGame.TaskFee memory f = _feeOf(taskId);
        vm.assertEq(f.requester, requester, "requester");
        vm.assertEq(uint256(f.amount), FEE, "amount");
        vm.assertEq(uint256(f.cancelledAt), 0, "offer holds");
        vm.assertEq(game.credit(requester), 0, "nothing credited");
    }

    function test_registerTask_revertsOnWrongFee() public {
        IDisputeGame.TaskSpec memory spec = feeSpec(FEE);
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongFee.selector, 0, FEE));
        game.registerTask(spec);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongFee.selector, FEE - 1, FEE));
        game.registerTask{value: FEE - 1}(spec);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongFee.selector, FEE + 1, FEE));
        game.registerTask{value: FEE + 1}(spec);
        // A task without a fee takes no ether.
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongFee.selector, 1, 0));
        game.registerTask{value: 1}(feeSpec(0));
        vm.stopPrank();
    }

    /// @dev A zero-fee task behaves as before: nothing escrowed, nothing stored, finalize pays the bond.
    function test_zeroFeeTask_unchanged() public {
        (bytes32 taskId, bytes32 id, IDisputeGame.Commitment memory cc) = setUpCommitment();
        IDisputeGame.TaskFee memory f = _feeOf(taskId);
        vm.assertEq(f.requester, address(0), "no requester");
        vm.assertEq(uint256(f.amount), 0, "no fee");
        vm.warp(cc.challengeDeadline + 1);
        vm.recordLogs();
        game.finalize(cc);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            vm.assertTrue(logs[i].topics[0] != IDisputeGame.FeePaid.selector, "no FeePaid");
        }
        vm.assertEq(game.credit(provider), PROVIDER_BOND, "bond only");
        vm.assertEq(address(game).balance, PROVIDER_BOND, "nothing else held");
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NoFee.selector, taskId));
        game.cancelFee(taskId);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NoFee.selector, taskId));
        game.refundFee(taskId);
        id;
    }

    // ---------------------------------------------------------------------------------------
    // Earning the fee
    // ---------------------------------------------------------------------------------------

    function test_finalize_paysTheFeeToTheProvider() public {
        bytes32 taskId = registerFeeTask();
        (bytes32 id, IDisputeGame.Commitment memory cc) = commitTree(provider, taskId, 0);
        vm.warp(cc.challengeDeadline + 1);
        vm.expectEmit(address(game));
        emit IDisputeGame.FeePaid(taskId, id, provider, FEE);
        vm.expectEmit(address(game));
        emit IDisputeGame.Credited(provider, id, PROVIDER_BOND + FEE);
        game.finalize(cc);
        vm.assertEq(game.credit(provider), PROVIDER_BOND + FEE, "bond + fee");
        vm.assertEq(uint256(_feeOf(taskId).amount), 0, "fee left escrow");
        vm.assertEq(_feeOf(taskId).requester, requester, "requester kept");
        uint256 before = provider.balance;
        vm.prank(provider);
        game.withdraw();
        vm.assertEq(provider.balance, before + PROVIDER_BOND + FEE, "withdrawn");
        vm.assertEq(address(game).balance, 0, "nothing left");
        // Paid: nothing left to cancel or refund.
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NoFee.selector, taskId));
        game.cancelFee(taskId);
    }

    /// @dev Several providers on one task: the first accepted result earns the fee, later ones their
    /// bonds only.
    function test_finalize_onlyTheFirstAcceptedCommitmentEarnsTheFee() public {
        bytes32 taskId = registerFeeTask();
        (, IDisputeGame.Commitment memory a) = commitTree(provider, taskId, 0);
        vm.warp(block.timestamp + 1 hours);
        (, IDisputeGame.Commitment memory b) = commitTree(provider2, taskId, 1);
        vm.warp(b.challengeDeadline + 1);
        // The later commitment finalizes first: it is the first accepted result.
        game.finalize(b);
        game.finalize(a);
        vm.assertEq(game.credit(provider2), PROVIDER_BOND + FEE, "first accepted");
        vm.assertEq(game.credit(provider), PROVIDER_BOND, "bond only");
    }

    /// @dev A rejected provider loses the fee with its bond; the fee stays in escrow for the next
    /// provider.
    function test_rejection_leavesTheFeeForTheNextProvider() public {
        bytes32 taskId = registerFeeTask();
        (bytes32 id, IDisputeGame.Commitment memory a) = commitTree(provider, taskId, 0);
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(a, id, challenger, 1);
        resolveWith(d, did, IDisputeGame.Outcome.ProviderAtFault, 3);
        vm.assertEq(uint256(_feeOf(taskId).amount), FEE, "still escrowed");
        vm.warp(a.challengeDeadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.CommitmentNotActive.selector, IDisputeGame.CommitmentStatus.Rejected
            )
        );
        game.finalize(a);
        (, IDisputeGame.Commitment memory b) = commitTree(provider2, taskId, 1);
        vm.warp(b.challengeDeadline + 1);
        game.finalize(b);
        vm.assertEq(game.credit(provider2), PROVIDER_BOND + FEE, "the next provider earns it");
        vm.assertEq(game.credit(provider), 0, "the rejected one nothing");
    }

    /// @dev A score proof rejects without a vote; the fee stays too.
    function test_scoreFault_leavesTheFeeInEscrow() public {
        bytes32 taskId = registerFeeTask();
        (, IDisputeGame.Commitment memory a) = commitTree(provider, taskId, 0);
        // provider2's leaf 0 says scoreSum 0.4e18 after a 0.5e18 score: a FirstSum fault.
        buildTree(taskId, provider2, DATASET_SIZE, 1);
        leafData[0] = makeScoredLeaf(taskId, provider2, 0, DATASET_SIZE, 1, 0.5e18, 0.4e18);
        leaves[0] = Merkle.hashLeaf(leafData[0]);
        (bytes32 id2, IDisputeGame.Commitment memory bc) =
            commitAs(provider2, taskId, MerkleBuilder.root(leaves), DATASET_SIZE);
        vm.prank(challenger);
        game.proveScoreFault(bc, 0, leafData[0], proofOf(0), "", new bytes32[](0));
        vm.assertEq(
            uint256(game.commitmentState(id2).status),
            uint256(IDisputeGame.CommitmentStatus.Rejected),
            "rejected"
        );
        vm.assertEq(uint256(_feeOf(taskId).amount), FEE, "still escrowed");
        vm.warp(a.challengeDeadline + 1);
        game.finalize(a);
        vm.assertEq(game.credit(provider), PROVIDER_BOND + FEE, "the honest one earns it");
        vm.assertEq(game.credit(provider2), 0, "the rejected one nothing");
    }

    /// @dev A Frozen commitment (a dispute reached no verdict) is never accepted: its bond is released,
    /// the fee is not paid.
    function test_frozenCommitment_earnsNoFee() public {
        bytes32 taskId = registerFeeTask();
        (bytes32 id, IDisputeGame.Commitment memory a) = commitTree(provider, taskId, 0);
        (, IDisputeGame.Dispute memory d) = openWithLeaf(a, id, challenger, 1);
        vm.warp(d.voteDeadline + 1);
        game.expire(d);
        vm.warp(a.challengeDeadline + 1);
        game.finalize(a);
        vm.assertEq(game.credit(provider), PROVIDER_BOND, "bond only");
        vm.assertEq(uint256(_feeOf(taskId).amount), FEE, "still escrowed");
    }

    // ---------------------------------------------------------------------------------------
    // cancelFee / refundFee
    // ---------------------------------------------------------------------------------------

    function test_cancelFee_onlyTheRequesterOnce() public {
        bytes32 taskId = registerFeeTask();
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NotRequester.selector, provider, requester));
        game.cancelFee(taskId);
        uint48 now_ = uint48(block.timestamp);
        vm.expectEmit(address(game));
        emit IDisputeGame.FeeCancelled(taskId, now_, refundableAfter(now_));
        vm.prank(requester);
        uint48 at = game.cancelFee(taskId);
        vm.assertEq(uint256(at), refundableAfter(now_), "refundable after");
        vm.assertEq(uint256(_feeOf(taskId).cancelledAt), now_, "cancelled at");
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.FeeAlreadyCancelled.selector, now_));
        game.cancelFee(taskId);
    }

    function test_refundFee_revertsWhileTheOfferHolds() public {
        bytes32 taskId = registerFeeTask();
        vm.warp(block.timestamp + 365 days);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.FeeNotRefundable.selector, 0));
        game.refundFee(taskId);
    }

    /// @dev After a cancellation nobody earned the fee: the requester gets it back, once, only after
    /// the last second a commitment made before the cancellation could earn it.
    function test_refundFee_afterTheLastSecondAnEarlierCommitmentCouldEarnIt() public {
        bytes32 taskId = registerFeeTask();
        vm.prank(requester);
        uint48 at = game.cancelFee(taskId);
        vm.warp(at);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.FeeNotRefundable.selector, at));
        game.refundFee(taskId);
        vm.warp(uint256(at) + 1);
        vm.expectEmit(address(game));
        emit IDisputeGame.FeeRefunded(taskId, requester, FEE);
        // Anyone may send it; the requester is credited.
        vm.prank(provider);
        game.refundFee(taskId);
        vm.assertEq(game.credit(requester), FEE, "refunded");
        vm.assertEq(game.credit(provider), 0, "not to the caller");
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NoFee.selector, taskId));
        game.refundFee(taskId);
        uint256 before = requester.balance;
        vm.prank(requester);
        game.withdraw();
        vm.assertEq(requester.balance, before + FEE, "withdrawn");
    }

    /// @dev A commitment made in the second of the cancellation still earns the fee; one made after it
    /// does not, and the requester is refunded.
    function test_cancelFee_commitmentsMadeAfterItDoNotEarnTheFee() public {
        bytes32 taskId = registerFeeTask();
        vm.prank(requester);
        uint48 at = game.cancelFee(taskId);
        vm.warp(block.timestamp + 1);
        (, IDisputeGame.Commitment memory late) = commitTree(provider2, taskId, 1);
        vm.warp(late.challengeDeadline + 1);
        game.finalize(late);
        vm.assertEq(game.credit(provider2), PROVIDER_BOND, "made after the cancellation: bond only");
        vm.warp(uint256(at) + 1);
        game.refundFee(taskId);
        vm.assertEq(game.credit(requester), FEE, "refunded");
    }

    /// @dev The refund deadline covers the slowest honest path: committed in the second of the
    /// cancellation, disputed at its challenge deadline, revealed at the reveal deadline, cleared by a
    /// LeafValid verdict at the vote deadline, finalized a reveal window later.
    function test_cancelFee_slowestHonestCommitmentStillEarnsTheFee() public {
        bytes32 taskId = registerFeeTask();
        (bytes32 id, IDisputeGame.Commitment memory a) = commitTree(provider, taskId, 0);
        vm.prank(requester);
        uint48 at = game.cancelFee(taskId);
        vm.warp(a.challengeDeadline);
        (bytes32 did, IDisputeGame.Dispute memory d) = openAwaiting(a, id, challenger, 2);
        vm.warp(d.revealDeadline);
        d = reveal(d, provider);
        vm.warp(d.voteDeadline);
        resolveWith(d, did, IDisputeGame.Outcome.LeafValid, 3);
        vm.warp(at);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.FeeNotRefundable.selector, at));
        game.refundFee(taskId);
        game.finalize(a);
        vm.assertEq(game.credit(provider), PROVIDER_BOND + CHALLENGER_BOND - VERDICT_PAY + FEE, "fee earned");
        vm.warp(uint256(at) + 1);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NoFee.selector, taskId));
        game.refundFee(taskId);
    }

    /// @dev An accepted commitment made before the cancellation that is finalized too late loses the
    /// fee to the refund (the provider's bot finalizes right after the window).
    function test_cancelFee_finalizedTooLateEarnsNoFee() public {
        bytes32 taskId = registerFeeTask();
        (, IDisputeGame.Commitment memory a) = commitTree(provider, taskId, 0);
        vm.prank(requester);
        uint48 at = game.cancelFee(taskId);
        vm.warp(uint256(at) + 1);
        game.finalize(a);
        vm.assertEq(game.credit(provider), PROVIDER_BOND, "bond only");
        game.refundFee(taskId);
        vm.assertEq(game.credit(requester), FEE, "refunded");
    }

    /// @dev Every escrowed wei leaves exactly once, whatever the fee and whoever ends up with it.
    function testFuzz_fee_paidOrRefundedExactlyOnce(uint96 fee, bool accepted, bool cancel) public {
        fee = uint96(bound(fee, 1, 1e24));
        vm.deal(requester, fee);
        vm.prank(requester);
        bytes32 taskId = game.registerTask{value: fee}(feeSpec(fee));
        (bytes32 id, IDisputeGame.Commitment memory a) = commitTree(provider, taskId, 0);
        uint48 at;
        if (cancel) {
            vm.prank(requester);
            at = game.cancelFee(taskId);
        }
        if (!accepted) {
            (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(a, id, challenger, 1);
            resolveWith(d, did, IDisputeGame.Outcome.ProviderAtFault, 3);
        } else {
            vm.warp(a.challengeDeadline + 1);
            game.finalize(a);
        }
        if (cancel) {
            vm.warp(uint256(at) + 1);
            try game.refundFee(taskId) {} catch {}
        }
        uint256 earned = game.credit(provider) >= PROVIDER_BOND ? game.credit(provider) - PROVIDER_BOND : 0;
        uint256 refunded = game.credit(requester);
        uint256 held = _feeOf(taskId).amount;
        vm.assertEq(earned + refunded + held, fee, "the fee is in exactly one place");
        vm.assertTrue(earned == 0 || refunded == 0, "never both");
        if (accepted) vm.assertEq(earned, fee, "accepted: earned");
        if (!accepted && cancel) vm.assertEq(refunded, fee, "rejected, cancelled: refunded");
    }
}

/// @notice Operator pay (docs/protocol.md, "Fees and operator pay"): every verdict sets aside
/// OPERATOR_PAY_BPS of its challenger bond, paid by the loser; `claimVerdictPay` pays the signers
/// `resolve` counted, pro rata to their stake over the eligible stake, and the treasury the rest.
contract OperatorPayTest is Deployers {
    bytes32 internal taskId;
    bytes32 internal cid;
    IDisputeGame.Commitment internal c;

    /// @dev Four operators of 10 ether each, none the provider or the challenger.
    uint256 internal constant ELIGIBLE = 40 ether;

    function setUp() public {
        deployGame();
        registerOperators(4, 10 ether);
        (taskId, cid, c) = setUpCommitment();
    }

    function _one(IDisputeGame.VerdictPay memory v)
        internal
        pure
        returns (IDisputeGame.VerdictPay[] memory vs)
    {
        vs = new IDisputeGame.VerdictPay[](1);
        vs[0] = v;
    }

    function _resolved(uint32 index, IDisputeGame.Outcome outcome, uint256 count)
        internal
        returns (bytes32 did, IDisputeGame.Dispute memory d)
    {
        (did, d) = openWithLeaf(c, cid, challenger, index);
        resolveWith(d, did, outcome, count);
    }

    function test_claimVerdictPay_paysTheCountedSignersProRataToEligibleStake() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = _resolved(0, IDisputeGame.Outcome.ProviderAtFault, 3);
        vm.assertTrue(game.unpaidVerdicts(cid) != bytes32(0), "chained");
        uint256 treasuryBefore = game.credit(treasury);
        uint256 each = VERDICT_PAY * 10 ether / ELIGIBLE;
        vm.expectEmit(address(game));
        emit IDisputeGame.VerdictPayClaimed(did, 3 * each, VERDICT_PAY - 3 * each);
        // Anyone may send it.
        vm.prank(makeAddr("anyone"));
        claimOne(cid, verdictPayOf(d, did, 3, ELIGIBLE));
        for (uint256 i; i < 3; ++i) {
            vm.assertEq(game.credit(operators[i]), each, "signer paid by its stake");
        }
        vm.assertEq(game.credit(operators[3]), 0, "did not sign: nothing");
        vm.assertEq(game.credit(treasury), treasuryBefore + VERDICT_PAY - 3 * each, "the rest");
        vm.assertEq(game.unpaidVerdicts(cid), bytes32(0), "chain cleared");
        // Paid once.
        IDisputeGame.VerdictPay[] memory vs = _one(verdictPayOf(d, did, 3, ELIGIBLE));
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VerdictPayMismatch.selector, cid));
        game.claimVerdictPay(cid, vs);
        uint256 before = operators[0].balance;
        vm.prank(operators[0]);
        game.withdraw();
        vm.assertEq(operators[0].balance, before + each, "withdrawn");
    }

    /// @dev Operators are paid the same whichever way they vote: the pay does not bias the verdict.
    function test_claimVerdictPay_sameForEitherOutcome() public {
        (bytes32 did0, IDisputeGame.Dispute memory d0) = _resolved(0, IDisputeGame.Outcome.LeafValid, 4);
        claimOne(cid, verdictPayOf(d0, did0, 4, ELIGIBLE));
        uint256 afterValid = game.credit(operators[0]);
        (bytes32 did1, IDisputeGame.Dispute memory d1) = _resolved(1, IDisputeGame.Outcome.ProviderAtFault, 4);
        claimOne(cid, verdictPayOf(d1, did1, 4, ELIGIBLE));
        vm.assertEq(afterValid, VERDICT_PAY / 4, "leaf valid");
        vm.assertEq(game.credit(operators[0]), 2 * afterValid, "provider at fault: the same");
    }

    /// @dev Only the signers `resolve` counted, with its figures: an operator that signs afterwards, a
    /// dropped signer, another pay, eligible stake or snapshot are all refused.
    function test_claimVerdictPay_revertsOnAnythingResolveDidNotCount() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = _resolved(0, IDisputeGame.Outcome.ProviderAtFault, 3);
        IDisputeGame.VerdictPay[] memory vs = _one(verdictPayOf(d, did, 4, ELIGIBLE));
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VerdictPayMismatch.selector, cid));
        game.claimVerdictPay(cid, vs);
        vs = _one(verdictPayOf(d, did, 2, ELIGIBLE));
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VerdictPayMismatch.selector, cid));
        game.claimVerdictPay(cid, vs);
        vs = _one(verdictPayOf(d, did, 3, ELIGIBLE));
        vs[0].pay += 1;
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VerdictPayMismatch.selector, cid));
        game.claimVerdictPay(cid, vs);
        vs = _one(verdictPayOf(d, did, 3, ELIGIBLE / 2));
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VerdictPayMismatch.selector, cid));
        game.claimVerdictPay(cid, vs);
        vs = _one(verdictPayOf(d, did, 3, ELIGIBLE));
        vs[0].snapshot -= 1;
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VerdictPayMismatch.selector, cid));
        game.claimVerdictPay(cid, vs);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VerdictPayMismatch.selector, cid));
        game.claimVerdictPay(cid, new IDisputeGame.VerdictPay[](0));
        // The right one still pays.
        claimOne(cid, verdictPayOf(d, did, 3, ELIGIBLE));
        vm.assertEq(game.credit(operators[2]), VERDICT_PAY / 4, "paid");
    }

    /// @dev Two verdicts on one commitment are paid together, oldest first; then a third starts a new chain.
    function test_claimVerdictPay_allUnpaidVerdictsOfACommitmentAtOnce() public {
        (bytes32 did0, IDisputeGame.Dispute memory d0) = _resolved(0, IDisputeGame.Outcome.LeafValid, 3);
        (bytes32 did1, IDisputeGame.Dispute memory d1) = _resolved(1, IDisputeGame.Outcome.LeafValid, 4);
        IDisputeGame.VerdictPay[] memory vs = _one(verdictPayOf(d0, did0, 3, ELIGIBLE));
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VerdictPayMismatch.selector, cid));
        game.claimVerdictPay(cid, vs);
        vs = new IDisputeGame.VerdictPay[](2);
        vs[0] = verdictPayOf(d1, did1, 4, ELIGIBLE);
        vs[1] = verdictPayOf(d0, did0, 3, ELIGIBLE);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VerdictPayMismatch.selector, cid));
        game.claimVerdictPay(cid, vs);
        vs[0] = verdictPayOf(d0, did0, 3, ELIGIBLE);
        vs[1] = verdictPayOf(d1, did1, 4, ELIGIBLE);
        game.claimVerdictPay(cid, vs);
        vm.assertEq(game.credit(operators[0]), 2 * (VERDICT_PAY / 4), "paid for both");
        vm.assertEq(game.credit(operators[3]), VERDICT_PAY / 4, "paid for the one it signed");
        (bytes32 did2, IDisputeGame.Dispute memory d2) = _resolved(2, IDisputeGame.Outcome.ProviderAtFault, 3);
        claimOne(cid, verdictPayOf(d2, did2, 3, ELIGIBLE));
        vm.assertEq(game.credit(operators[0]), 3 * (VERDICT_PAY / 4), "a new chain");
    }

    /// @dev No vote, no pay: a withheld leaf, a malformed leaf and an expired dispute set nothing aside.
    function test_claimVerdictPay_onlyVerdictsPay() public {
        (, IDisputeGame.Dispute memory w) = openAwaiting(c, cid, challenger, 0);
        (, IDisputeGame.Dispute memory e) = openWithLeaf(c, cid, challenger, 1);
        vm.warp(w.revealDeadline + 1);
        game.claimWithheld(w);
        vm.warp(e.voteDeadline + 1);
        game.expire(e);
        vm.assertEq(game.unpaidVerdicts(cid), bytes32(0), "nothing chained");
        uint256 share = uint256(PROVIDER_BOND) * CHALLENGER_SHARE_BPS / 10_000;
        // The withheld leaf's payout is whole; the expired bond goes to the treasury whole.
        vm.assertEq(game.credit(challenger), CHALLENGER_BOND + share, "challenger");
        vm.assertEq(game.credit(treasury), PROVIDER_BOND - share + CHALLENGER_BOND, "treasury");
        vm.assertEq(address(game).balance, game.credit(challenger) + game.credit(treasury), "all credited");
    }

    /// @dev A signer slashed after the verdict (here, for equivocating on it) forfeits its share to the
    /// treasury.
    function test_claimVerdictPay_aSignerSlashedSinceForfeitsItsShare() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = _resolved(0, IDisputeGame.Outcome.ProviderAtFault, 3);
        IDisputeGame.Verdict memory a = IDisputeGame.Verdict({
            disputeId: did, leafHash: d.leafHash, outcome: IDisputeGame.Outcome.ProviderAtFault
        });
        IDisputeGame.Verdict memory b = IDisputeGame.Verdict({
            disputeId: did, leafHash: d.leafHash, outcome: IDisputeGame.Outcome.LeafValid
        });
        game.reportEquivocation(
            operators[1],
            a,
            signVerdict(operatorKeys[1], did, d.leafHash, a.outcome),
            b,
            signVerdict(operatorKeys[1], did, d.leafHash, b.outcome)
        );
        uint256 treasuryBefore = game.credit(treasury);
        claimOne(cid, verdictPayOf(d, did, 3, ELIGIBLE));
        vm.assertEq(game.credit(operators[1]), 0, "slashed: nothing");
        vm.assertEq(game.credit(operators[0]), VERDICT_PAY / 4, "the others are paid");
        vm.assertEq(game.credit(treasury), treasuryBefore + VERDICT_PAY / 2, "its share to the treasury");
    }

    /// @dev A provider bond whose treasury part is smaller than the pay: the rest of the pay comes out of
    /// the challenger's reward, and everything still adds up.
    function test_resolve_smallProviderBondPaysWhatItCanAndTheRewardTheRest() public {
        IDisputeGame.TaskSpec memory spec = defaultSpec(DATASET_SIZE);
        spec.providerBond = 0.01 ether;
        bytes32 t = game.registerTask(spec);
        bytes32 root = buildTree(t, provider, DATASET_SIZE, 3);
        (bytes32 id, IDisputeGame.Commitment memory cc) = commitAs(provider, t, root, DATASET_SIZE);
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(cc, id, challenger, 0);
        resolveWith(d, did, IDisputeGame.Outcome.ProviderAtFault, 3);
        // Treasury part 0.005 ether < pay 0.02 ether: the challenger gets 0.1 + 0.005 - 0.015.
        vm.assertEq(game.credit(treasury), 0, "treasury part all paid to the verdict");
        vm.assertEq(game.credit(challenger), 0.09 ether, "challenger");
        claimOne(id, verdictPayOf(d, did, 3, ELIGIBLE));
        uint256 total = game.credit(treasury) + game.credit(challenger);
        for (uint256 i; i < 4; ++i) {
            total += game.credit(operators[i]);
        }
        vm.assertEq(total, 0.11 ether, "both bonds, every wei once");
    }

    /// @dev The pay outlives the commitment: claimable after it finalized.
    function test_claimVerdictPay_afterFinalization() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = _resolved(0, IDisputeGame.Outcome.LeafValid, 3);
        vm.warp(c.challengeDeadline + 1);
        game.finalize(c);
        vm.warp(block.timestamp + 365 days);
        claimOne(cid, verdictPayOf(d, did, 3, ELIGIBLE));
        vm.assertEq(game.credit(operators[0]), VERDICT_PAY / 4, "paid");
    }
}

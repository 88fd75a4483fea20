// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDisputeGame} from "../contracts/interfaces/IDisputeGame.sol";
import {Deployers} from "./utils/Deployers.sol";

/// @notice Sealed verdicts against lazy operators (docs/protocol.md, "Lazy operators"): an operator
/// seals the hash of its verdict signature before the seal deadline, while the verdicts are private;
/// `claimVerdictPay` pays only signers whose seal is the signature `resolve` counted.
contract SealTest is Deployers {
    bytes32 internal taskId;
    bytes32 internal cid;
    IDisputeGame.Commitment internal c;

    uint256 internal constant ELIGIBLE = 40 ether;
    IDisputeGame.Outcome internal constant FAULT = IDisputeGame.Outcome.ProviderAtFault;
    IDisputeGame.Outcome internal constant VALID = IDisputeGame.Outcome.LeafValid;

    function setUp() public {
        deployGame();
        registerOperators(4, 10 ether);
        (taskId, cid, c) = setUpCommitment();
    }

    function _seal(IDisputeGame.Dispute memory d, bytes32 did, uint256 i, IDisputeGame.Outcome outcome)
        internal
    {
        bytes32 s = sealOf(signVerdict(operatorKeys[i], did, d.leafHash, outcome));
        vm.prank(operators[i]);
        game.sealVerdict(d, s);
    }

    /// @dev The old exploit (issue 16, the verifier's dilemma): operator 2 never recomputes; once the
    /// others' signatures are public (after the seal deadline) it signs the same and is counted by
    /// `resolve`. Before seals it was paid like the others; now its share goes to the treasury.
    function test_lazy_copierThatSignsOnceVerdictsArePublicIsNotPaid() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        _seal(d, did, 0, FAULT);
        _seal(d, did, 1, FAULT);
        // Past the seal deadline the honest operators publish their signatures; the copier can no
        // longer seal.
        uint48 sealDeadline = sealDeadlineOf(d);
        vm.warp(sealDeadline + 1);
        bytes32 late = sealOf(signVerdict(operatorKeys[2], did, d.leafHash, FAULT));
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.SealingClosed.selector, sealDeadline));
        vm.prank(operators[2]);
        game.sealVerdict(d, late);
        // Its signature still counts for the quorum (liveness does not depend on seals).
        resolveUnsealed(d, did, FAULT, 3);
        uint256 treasuryBefore = game.credit(treasury);
        claimOne(cid, verdictPayOf(d, did, 3, ELIGIBLE));
        vm.assertEq(game.credit(operators[0]), VERDICT_PAY / 4, "sealed in time: paid");
        vm.assertEq(game.credit(operators[1]), VERDICT_PAY / 4, "sealed in time: paid");
        vm.assertEq(game.credit(operators[2]), 0, "the copier: nothing");
        vm.assertEq(game.credit(treasury), treasuryBefore + VERDICT_PAY / 2, "its share and the non-signer's");
    }

    /// @dev A lazy operator guesses "provider at fault" (most disputes are on faulty leaves) and seals
    /// it; the leaf was valid. Signing the winning verdict afterwards does not match its seal.
    function test_lazy_wrongGuessSealedForfeitsEvenIfItSignsTheOutcome() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        _seal(d, did, 0, VALID);
        _seal(d, did, 1, VALID);
        _seal(d, did, 2, FAULT);
        resolveUnsealed(d, did, VALID, 3);
        claimOne(cid, verdictPayOf(d, did, 3, ELIGIBLE));
        vm.assertEq(game.credit(operators[0]), VERDICT_PAY / 4, "recomputed: paid");
        vm.assertEq(game.credit(operators[2]), 0, "guessed wrong: nothing");
    }

    /// @dev A seal is not an arbitrary commitment that a later claim can open: `claimVerdictPay` checks it
    /// against the signature `resolve` counted, which the verdict's entry binds. A lazy operator that
    /// sealed the hash of random bytes cannot claim with those bytes as its "signature".
    function test_lazy_sealOfOtherBytesCannotBeOpenedAtClaim() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        IDisputeGame.Sig memory fake = IDisputeGame.Sig({r: keccak256("r"), vs: keccak256("vs")});
        vm.prank(operators[2]);
        game.sealVerdict(d, sealOf(fake));
        _seal(d, did, 0, FAULT);
        _seal(d, did, 1, FAULT);
        resolveUnsealed(d, did, FAULT, 3);
        IDisputeGame.VerdictPay memory v = verdictPayOf(d, did, 3, ELIGIBLE);
        v.signatures[2] = fake;
        IDisputeGame.VerdictPay[] memory vs = new IDisputeGame.VerdictPay[](1);
        vs[0] = v;
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VerdictPayMismatch.selector, cid));
        game.claimVerdictPay(cid, vs);
        claimOne(cid, verdictPayOf(d, did, 3, ELIGIBLE));
        vm.assertEq(game.credit(operators[2]), 0, "unopened seal: nothing");
        vm.assertEq(game.credit(operators[1]), VERDICT_PAY / 4, "paid");
    }

    /// @dev Sealing in the seal deadline's own second is in time; a seal is final and nonzero; only voting
    /// disputes, as stored, can be sealed.
    function test_sealVerdict_rules() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        vm.warp(sealDeadlineOf(d));
        bytes32 s = sealOf(signVerdict(operatorKeys[0], did, d.leafHash, FAULT));
        vm.expectEmit(address(game));
        emit IDisputeGame.VerdictSealed(did, operators[0], s);
        vm.prank(operators[0]);
        game.sealVerdict(d, s);
        vm.assertEq(game.verdictSeal(did, operators[0]), s, "stored");
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.AlreadySealed.selector, did, operators[0]));
        vm.prank(operators[0]);
        game.sealVerdict(d, keccak256("another"));
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.AlreadySealed.selector, did, operators[1]));
        vm.prank(operators[1]);
        game.sealVerdict(d, bytes32(0));
        IDisputeGame.Dispute memory wrong = copyOf(d);
        wrong.voteDeadline += 1;
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.DisputeMismatch.selector, did));
        vm.prank(operators[1]);
        game.sealVerdict(wrong, s);

        (, IDisputeGame.Dispute memory a) = openAwaiting(c, cid, challenger, 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.WrongDisputeStatus.selector, IDisputeGame.DisputeStatus.AwaitingReveal
            )
        );
        vm.prank(operators[1]);
        game.sealVerdict(a, s);

        d = resolveUnsealed(d, did, FAULT, 3);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.WrongDisputeStatus.selector, IDisputeGame.DisputeStatus.ProviderAtFault
            )
        );
        vm.prank(operators[1]);
        game.sealVerdict(d, s);
    }

    /// @dev The seal deadline follows the leaf: a dispute revealed late seals until three quarters of
    /// its own voting period.
    function testFuzz_sealVerdict_deadlineIsThreeQuartersOfTheVote(uint32 revealAfter, uint32 sealAfter)
        public
    {
        revealAfter = uint32(bound(revealAfter, 0, REVEAL_WINDOW));
        sealAfter = uint32(bound(sealAfter, 0, VOTING_PERIOD));
        (bytes32 did, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 0);
        vm.warp(block.timestamp + revealAfter);
        d = reveal(d, provider);
        vm.warp(block.timestamp + sealAfter);
        bytes32 s = sealOf(signVerdict(operatorKeys[0], did, d.leafHash, FAULT));
        if (sealAfter > VOTING_PERIOD - VOTING_PERIOD / 4) {
            vm.expectRevert(abi.encodeWithSelector(IDisputeGame.SealingClosed.selector, sealDeadlineOf(d)));
        }
        vm.prank(operators[0]);
        game.sealVerdict(d, s);
    }
}

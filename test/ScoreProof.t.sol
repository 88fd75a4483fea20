// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDisputeGame} from "../contracts/interfaces/IDisputeGame.sol";
import {Merkle} from "../contracts/libraries/Merkle.sol";
import {Deployers} from "./utils/Deployers.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";

/// @notice Unit tests of `proveScoreFault`: the claimed aggregate and the leaves' running score sums
/// are checked by the contract alone (docs/protocol.md, "Score proofs").
contract ScoreProofTest is Deployers {
    uint32 internal constant N = 4;

    bytes32 internal taskId;
    bytes[] internal data;
    bytes32[] internal hashes;
    /// @dev Changes every tree's outputs, so that each test's commitments have distinct roots.
    uint256 internal salt;

    function setUp() public {
        deployGame();
        registerOperators(4, 10 ether);
        taskId = registerTask(N);
    }

    /// @dev Commits a tree of `scores` with running sums `sums` and the claim `claimed`.
    function _commit(uint256[] memory scores, uint256[] memory sums, uint256 claimed)
        internal
        returns (bytes32 cid, IDisputeGame.Commitment memory c)
    {
        delete data;
        delete hashes;
        for (uint256 i; i < scores.length; ++i) {
            data.push(makeScoredLeaf(taskId, provider, i, N, salt, scores[i], sums[i]));
            hashes.push(Merkle.hashLeaf(data[i]));
        }
        ++salt;
        bytes32 root = MerkleBuilder.root(hashes);
        vm.prank(provider);
        cid = game.commit{value: PROVIDER_BOND}(taskId, root, N, keccak256("bundle"), 1, claimed, "uri");
        c = IDisputeGame.Commitment({
            taskId: taskId,
            provider: provider,
            root: root,
            leafCount: N,
            bond: PROVIDER_BOND,
            challengeDeadline: uint48(block.timestamp) + CHALLENGE_WINDOW,
            bundleHash: keccak256("bundle"),
            bundleSize: 1,
            claimedScore: claimed
        });
    }

    function _honest() internal pure returns (uint256[] memory scores, uint256[] memory sums) {
        scores = new uint256[](N);
        sums = new uint256[](N);
        scores[0] = 1e18;
        scores[1] = 0;
        scores[2] = 1e18;
        scores[3] = 0.5e18;
        uint256 sum;
        for (uint256 i; i < N; ++i) {
            sum += scores[i];
            sums[i] = sum;
        }
    }

    function _prove(IDisputeGame.Commitment memory c, uint32 i) internal {
        vm.prank(challenger);
        game.proveScoreFault(c, i, data[i], MerkleBuilder.prove(hashes, i), "", new bytes32[](0));
    }

    function _provePair(IDisputeGame.Commitment memory c, uint32 i) internal {
        vm.prank(challenger);
        game.proveScoreFault(
            c, i, data[i], MerkleBuilder.prove(hashes, i), data[i + 1], MerkleBuilder.prove(hashes, i + 1)
        );
    }

    function _assertRejectedAndPaid(bytes32 cid) internal view {
        vm.assertEq(
            uint8(game.commitmentState(cid).status), uint8(IDisputeGame.CommitmentStatus.Rejected), "rejected"
        );
        vm.assertTrue(game.commitmentState(cid).bondReleased, "bond released");
        uint256 share = uint256(PROVIDER_BOND) * CHALLENGER_SHARE_BPS / 10_000;
        vm.assertEq(game.credit(challenger), share, "prover paid the challenger share");
        vm.assertEq(game.credit(treasury), PROVIDER_BOND - share, "treasury paid the rest");
        vm.assertEq(game.credit(provider), 0, "provider gets nothing back");
    }

    /// @dev The exploit of issue 12: every leaf scores 0 (correctly), the claim says 100%. The last
    /// leaf's running sum shows it, with no vote; the provider is slashed and can never finalize.
    function test_proveScoreFault_inflatedClaim_rejectsAndPays() public {
        uint256[] memory zeros = new uint256[](N);
        (bytes32 cid, IDisputeGame.Commitment memory c) = _commit(zeros, zeros, 1e18);
        vm.expectEmit(address(game));
        emit IDisputeGame.ScoreFaultProven(cid, challenger, IDisputeGame.ScoreFault.Aggregate, N - 1);
        vm.expectEmit(address(game));
        emit IDisputeGame.CommitmentRejected(cid, bytes32(0));
        _prove(c, N - 1);
        _assertRejectedAndPaid(cid);
        vm.warp(c.challengeDeadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.CommitmentNotActive.selector, IDisputeGame.CommitmentStatus.Rejected
            )
        );
        game.finalize(c);
    }

    /// @dev Hiding the inflation in the running sums instead moves the break to a step the
    /// challenger can show: the sums must climb from leaf 0's score to N x claim.
    function test_proveScoreFault_inflatedSums_stepBreaks() public {
        uint256[] memory zeros = new uint256[](N);
        uint256[] memory sums = new uint256[](N);
        // Sums that end at N x 1e18 while every score is 0: leaf 0 must say 0, so some step jumps.
        sums[0] = 0;
        sums[1] = 1e18;
        sums[2] = 2e18;
        sums[3] = 4e18;
        (bytes32 cid, IDisputeGame.Commitment memory c) = _commit(zeros, sums, 1e18);
        // The last leaf's aggregate is consistent with its sum, so that leaf alone shows nothing.
        vm.expectRevert(IDisputeGame.NoScoreFault.selector);
        _prove(c, N - 1);
        vm.expectEmit(address(game));
        emit IDisputeGame.ScoreFaultProven(cid, challenger, IDisputeGame.ScoreFault.Step, 0);
        _provePair(c, 0);
        _assertRejectedAndPaid(cid);
    }

    function test_proveScoreFault_firstSum() public {
        (uint256[] memory scores, uint256[] memory sums) = _honest();
        for (uint256 i; i < N; ++i) {
            sums[i] += 1;
        }
        (bytes32 cid, IDisputeGame.Commitment memory c) = _commit(scores, sums, 2.5e18 / 4);
        vm.expectEmit(address(game));
        emit IDisputeGame.ScoreFaultProven(cid, challenger, IDisputeGame.ScoreFault.FirstSum, 0);
        _prove(c, 0);
        _assertRejectedAndPaid(cid);
    }

    function test_proveScoreFault_scoreAboveOne_onTheNextLeaf() public {
        (uint256[] memory scores, uint256[] memory sums) = _honest();
        scores[2] = 1e18 + 1;
        sums[2] += 1;
        sums[3] += 1;
        (bytes32 cid, IDisputeGame.Commitment memory c) = _commit(scores, sums, uint256(2.5e18 + 1) / 4);
        vm.expectEmit(address(game));
        emit IDisputeGame.ScoreFaultProven(cid, challenger, IDisputeGame.ScoreFault.ScoreAboveOne, 2);
        _provePair(c, 1);
        _assertRejectedAndPaid(cid);
    }

    function test_proveScoreFault_malformedLeaf() public {
        (uint256[] memory scores, uint256[] memory sums) = _honest();
        delete data;
        delete hashes;
        for (uint256 i; i < N; ++i) {
            // Leaf 1 names the wrong index.
            data.push(makeScoredLeaf(taskId, provider, i == 1 ? 3 : i, N, 0, scores[i], sums[i]));
            hashes.push(Merkle.hashLeaf(data[i]));
        }
        bytes32 root = MerkleBuilder.root(hashes);
        vm.prank(provider);
        bytes32 cid = game.commit{value: PROVIDER_BOND}(taskId, root, N, bytes32(0), 1, 2.5e18 / 4, "");
        IDisputeGame.Commitment memory c = IDisputeGame.Commitment({
            taskId: taskId,
            provider: provider,
            root: root,
            leafCount: N,
            bond: PROVIDER_BOND,
            challengeDeadline: uint48(block.timestamp) + CHALLENGE_WINDOW,
            bundleHash: bytes32(0),
            bundleSize: 1,
            claimedScore: 2.5e18 / 4
        });
        vm.expectEmit(address(game));
        emit IDisputeGame.ScoreFaultProven(cid, challenger, IDisputeGame.ScoreFault.MalformedLeaf, 1);
        _prove(c, 1);
        _assertRejectedAndPaid(cid);
    }

    /// @dev Consistent scores resist every leaf and every adjacent pair.
    function test_proveScoreFault_honestResistsEveryLeafAndPair() public {
        (uint256[] memory scores, uint256[] memory sums) = _honest();
        // floor(2.5e18 / 4) = 0.625e18.
        (bytes32 cid, IDisputeGame.Commitment memory c) = _commit(scores, sums, 0.625e18);
        for (uint32 i; i < N; ++i) {
            vm.expectRevert(IDisputeGame.NoScoreFault.selector);
            _prove(c, i);
            if (i + 1 < N) {
                vm.expectRevert(IDisputeGame.NoScoreFault.selector);
                _provePair(c, i);
            }
        }
        vm.assertEq(
            uint8(game.commitmentState(cid).status),
            uint8(IDisputeGame.CommitmentStatus.Active),
            "still active"
        );
    }

    /// @dev The claim is the floor of the mean: one wei above it is a fault, the floor is not.
    function test_proveScoreFault_aggregateRoundsDown() public {
        uint256[] memory scores = new uint256[](N);
        uint256[] memory sums = new uint256[](N);
        scores[0] = 1;
        scores[1] = 1;
        scores[2] = 1;
        sums[0] = 1;
        sums[1] = 2;
        sums[2] = 3;
        sums[3] = 3;
        // 3 / 4 = 0 (floor).
        (, IDisputeGame.Commitment memory c) = _commit(scores, sums, 0);
        vm.expectRevert(IDisputeGame.NoScoreFault.selector);
        _prove(c, N - 1);
        vm.warp(block.timestamp + 1);
        (bytes32 cid2, IDisputeGame.Commitment memory c2) = _commit(scores, sums, 1);
        _prove(c2, N - 1);
        vm.assertEq(
            uint8(game.commitmentState(cid2).status),
            uint8(IDisputeGame.CommitmentStatus.Rejected),
            "rejected"
        );
    }

    /// @dev NO_SCORE claims no aggregate; the running sums must still be consistent.
    function test_proveScoreFault_noScoreClaim_onlySumsChecked() public {
        (uint256[] memory scores, uint256[] memory sums) = _honest();
        (, IDisputeGame.Commitment memory c) = _commit(scores, sums, NO_SCORE);
        vm.expectRevert(IDisputeGame.NoScoreFault.selector);
        _prove(c, N - 1);
    }

    function test_proveScoreFault_revertsOnBadProofOrIndex() public {
        uint256[] memory zeros = new uint256[](N);
        (, IDisputeGame.Commitment memory c) = _commit(zeros, zeros, 1e18);
        vm.expectRevert(IDisputeGame.InvalidProof.selector);
        game.proveScoreFault(c, N - 1, data[0], MerkleBuilder.prove(hashes, N - 1), "", new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.LeafIndexOutOfRange.selector, N, N));
        game.proveScoreFault(c, N, data[0], MerkleBuilder.prove(hashes, 0), "", new bytes32[](0));
        // The pair's second leaf would be leaf N: out of range (checked once the first shows nothing).
        (uint256[] memory scores, uint256[] memory sums) = _honest();
        (, IDisputeGame.Commitment memory h) = _commit(scores, sums, 0.625e18);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.LeafIndexOutOfRange.selector, N, N));
        game.proveScoreFault(
            h, N - 1, data[N - 1], MerkleBuilder.prove(hashes, N - 1), data[0], MerkleBuilder.prove(hashes, 0)
        );
        IDisputeGame.Commitment memory wrong = h;
        wrong.claimedScore = 0;
        bytes32 wrongId = game.commitmentIdOf(h.taskId, h.provider, h.root, h.leafCount);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.CommitmentMismatch.selector, wrongId));
        game.proveScoreFault(
            wrong, N - 1, data[N - 1], MerkleBuilder.prove(hashes, N - 1), "", new bytes32[](0)
        );
    }

    function test_proveScoreFault_revertsAfterWindowOrOnceRejected() public {
        uint256[] memory zeros = new uint256[](N);
        (, IDisputeGame.Commitment memory c) = _commit(zeros, zeros, 1e18);
        _prove(c, N - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.CommitmentNotActive.selector, IDisputeGame.CommitmentStatus.Rejected
            )
        );
        _prove(c, N - 1);
        vm.warp(block.timestamp + 1);
        (, IDisputeGame.Commitment memory c2) = _commit(zeros, zeros, 0.5e18);
        vm.warp(c2.challengeDeadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.ChallengeWindowClosed.selector, c2.challengeDeadline)
        );
        _prove(c2, N - 1);
    }

    /// @dev A provider that is also an operator loses 10% of its operator stake, as for a lost dispute.
    function test_proveScoreFault_slashesProviderOperatorStake() public {
        vm.prank(provider);
        sm.registerOperator{value: 10 ether}();
        vm.warp(block.timestamp + 1);
        uint256[] memory zeros = new uint256[](N);
        (, IDisputeGame.Commitment memory c) = _commit(zeros, zeros, 1e18);
        uint256 before = sm.operatorInfo(provider).stake;
        vm.expectEmit(address(game));
        emit IDisputeGame.ProviderStakeSlashed(bytes32(0), provider, before / 10);
        _prove(c, N - 1);
        vm.assertEq(sm.operatorInfo(provider).stake, before - before / 10, "10% slashed");
    }

    /// @dev Open disputes on a commitment rejected by a score proof still close, paying once.
    function test_proveScoreFault_thenOpenDisputeClosesWithoutSecondPayout() public {
        uint256[] memory zeros = new uint256[](N);
        (bytes32 cid, IDisputeGame.Commitment memory c) = _commit(zeros, zeros, 1e18);
        address other = makeAddr("other challenger");
        vm.deal(other, 1 ether);
        vm.prank(other);
        bytes32 did = game.openDispute{value: CHALLENGER_BOND}(c, 1);
        IDisputeGame.Dispute memory d = expectedDispute(c, cid, other, 1);
        d.revealDeadline = uint48(block.timestamp) + REVEAL_WINDOW;
        d.status = IDisputeGame.DisputeStatus.AwaitingReveal;
        _prove(c, N - 1);
        vm.warp(d.revealDeadline + 1);
        game.claimWithheld(d);
        vm.assertEq(game.credit(other), CHALLENGER_BOND, "only the bond back");
        vm.assertEq(game.disputeHash(did) != bytes32(0), true, "dispute closed");
        _assertRejectedAndPaid(cid);
    }
}

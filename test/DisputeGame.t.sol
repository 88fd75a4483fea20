// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DisputeGame} from "../contracts/DisputeGame.sol";
import {ServiceManager} from "../contracts/ServiceManager.sol";
import {IDisputeGame} from "../contracts/interfaces/IDisputeGame.sol";
import {IOperatorSet} from "../contracts/interfaces/IOperatorSet.sol";
import {IServiceManager} from "../contracts/interfaces/IServiceManager.sol";
import {Merkle} from "../contracts/libraries/Merkle.sol";
import {Deployers} from "./utils/Deployers.sol";

/// @notice Unit tests of DisputeGame: every path and every revert.
contract DisputeGameTest is Deployers {
    bytes32 internal taskId;
    bytes32 internal cid;
    IDisputeGame.Commitment internal c;

    function setUp() public {
        deployGame();
        registerOperators(4, 10 ether);
        (taskId, cid, c) = setUpCommitment();
    }

    // ---------------------------------------------------------------------------------------
    // constructor
    // ---------------------------------------------------------------------------------------

    function _deploy(
        address sm_,
        address treasury_,
        uint16 share,
        uint16 quorum,
        uint32 reveal_,
        uint32 voting
    ) internal returns (DisputeGame) {
        return new DisputeGame(IOperatorSet(sm_), treasury_, share, quorum, reveal_, voting);
    }

    function test_constructor_setsParameters() public view {
        vm.assertEq(game.serviceManager(), address(sm), "service manager");
        vm.assertEq(game.treasury(), treasury, "treasury");
        vm.assertEq(uint256(game.challengerShareBps()), CHALLENGER_SHARE_BPS, "share");
        vm.assertEq(uint256(game.quorumBps()), QUORUM_BPS, "quorum");
        vm.assertEq(uint256(game.revealWindow()), REVEAL_WINDOW, "reveal");
        vm.assertEq(uint256(game.votingPeriod()), VOTING_PERIOD, "voting");
    }

    function test_constructor_revertsOnInvalidParameters() public {
        address next = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        ServiceManager sm2 = new ServiceManager(next, treasury, UNBONDING_DELAY, MIN_STAKE);
        address s = address(sm2);
        vm.expectRevert(IDisputeGame.InvalidParameter.selector);
        _deploy(address(0), treasury, 5000, 6667, 1, 1);
        vm.expectRevert(IDisputeGame.InvalidParameter.selector);
        _deploy(s, address(0), 5000, 6667, 1, 1);
        vm.expectRevert(IDisputeGame.InvalidParameter.selector);
        _deploy(s, treasury, 0, 6667, 1, 1);
        vm.expectRevert(IDisputeGame.InvalidParameter.selector);
        _deploy(s, treasury, 10_000, 6667, 1, 1);
        vm.expectRevert(IDisputeGame.InvalidParameter.selector);
        _deploy(s, treasury, 5000, 4999, 1, 1);
        vm.expectRevert(IDisputeGame.InvalidParameter.selector);
        _deploy(s, treasury, 5000, 10_000, 1, 1);
        vm.expectRevert(IDisputeGame.InvalidParameter.selector);
        _deploy(s, treasury, 5000, 6667, 0, 1);
        vm.expectRevert(IDisputeGame.InvalidParameter.selector);
        _deploy(s, treasury, 5000, 6667, 1, 0);
        // A service manager that names another dispute game.
        vm.expectRevert(IDisputeGame.InvalidParameter.selector);
        _deploy(address(sm), treasury, 5000, 6667, 1, 1);
    }

    // ---------------------------------------------------------------------------------------
    // registerTask
    // ---------------------------------------------------------------------------------------

    function test_registerTask_storesTaskAndEmits() public {
        IDisputeGame.TaskSpec memory spec = defaultSpec(7);
        bytes32 expected = game.taskIdOf(spec);
        vm.assertEq(expected, keccak256(abi.encode(block.chainid, address(game), spec)), "task id derivation");
        vm.expectEmit(address(game));
        emit IDisputeGame.TaskRegistered(expected, address(this), spec);
        bytes32 id = game.registerTask(spec);
        vm.assertEq(id, expected, "id");
        IDisputeGame.Task memory t = game.task(id);
        vm.assertEq(uint256(t.providerBond), PROVIDER_BOND, "provider bond");
        vm.assertEq(uint256(t.challengerBond), CHALLENGER_BOND, "challenger bond");
        vm.assertEq(uint256(t.challengeWindow), CHALLENGE_WINDOW, "window");
        vm.assertEq(uint256(t.datasetSize), 7, "size");
    }

    function test_registerTask_revertsOnInvalidTask() public {
        IDisputeGame.TaskSpec memory spec = defaultSpec(0);
        vm.expectRevert(IDisputeGame.InvalidTask.selector);
        game.registerTask(spec);
        spec = defaultSpec(3);
        spec.providerBond = 0;
        vm.expectRevert(IDisputeGame.InvalidTask.selector);
        game.registerTask(spec);
        spec = defaultSpec(3);
        spec.challengerBond = 0;
        vm.expectRevert(IDisputeGame.InvalidTask.selector);
        game.registerTask(spec);
        spec = defaultSpec(3);
        spec.challengeWindow = 0;
        vm.expectRevert(IDisputeGame.InvalidTask.selector);
        game.registerTask(spec);
        spec = defaultSpec(3);
        spec.generation.maxNewTokens = 0;
        vm.expectRevert(IDisputeGame.InvalidTask.selector);
        game.registerTask(spec);
        spec = defaultSpec(3);
        spec.toploc.topk = 0;
        vm.expectRevert(IDisputeGame.InvalidTask.selector);
        game.registerTask(spec);
        spec = defaultSpec(3);
        spec.toploc.decodeBatchingSize = 0;
        vm.expectRevert(IDisputeGame.InvalidTask.selector);
        game.registerTask(spec);
    }

    /// @dev Every field of the task spec is bound by the task id.
    function test_taskIdOf_changesWithEveryField() public view {
        bytes32 base = game.taskIdOf(defaultSpec(3));
        IDisputeGame.TaskSpec memory spec = defaultSpec(3);
        spec.modelHash = bytes32(uint256(1));
        vm.assertTrue(game.taskIdOf(spec) != base, "modelHash");
        spec = defaultSpec(3);
        spec.manifestHash = bytes32(uint256(1));
        vm.assertTrue(game.taskIdOf(spec) != base, "manifestHash");
        spec = defaultSpec(3);
        spec.datasetRoot = bytes32(uint256(1));
        vm.assertTrue(game.taskIdOf(spec) != base, "datasetRoot");
        spec = defaultSpec(4);
        vm.assertTrue(game.taskIdOf(spec) != base, "datasetSize");
        spec = defaultSpec(3);
        spec.generation.seed += 1;
        vm.assertTrue(game.taskIdOf(spec) != base, "seed");
        spec = defaultSpec(3);
        spec.toploc.tokenMarginMilli = 1;
        vm.assertTrue(game.taskIdOf(spec) != base, "tokenMarginMilli");
        spec = defaultSpec(3);
        spec.calibrationHash = bytes32(uint256(1));
        vm.assertTrue(game.taskIdOf(spec) != base, "calibrationHash");
        spec = defaultSpec(3);
        spec.fee = 1;
        vm.assertTrue(game.taskIdOf(spec) != base, "fee");
    }

    function test_registerTask_revertsWhenWindowsExceedUnbonding() public {
        IDisputeGame.TaskSpec memory spec = defaultSpec(3);
        spec.challengeWindow = uint32(UNBONDING_DELAY - REVEAL_WINDOW - VOTING_PERIOD + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.WindowsExceedUnbonding.selector, uint256(UNBONDING_DELAY) + 1, UNBONDING_DELAY
            )
        );
        game.registerTask(spec);
        // Exactly fitting is fine.
        spec.challengeWindow -= 1;
        game.registerTask(spec);
    }

    function test_registerTask_revertsWhenTaskExists() public {
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.TaskExists.selector, taskId));
        game.registerTask(defaultSpec(DATASET_SIZE));
    }

    // ---------------------------------------------------------------------------------------
    // commit
    // ---------------------------------------------------------------------------------------

    function test_commit_storesHashAndEmits() public {
        bytes32 root = keccak256("another root");
        bytes32 id = game.commitmentIdOf(taskId, provider, root, DATASET_SIZE);
        vm.assertEq(
            id,
            keccak256(abi.encode(block.chainid, address(game), taskId, provider, root, DATASET_SIZE)),
            "id"
        );
        IDisputeGame.Commitment memory expected = IDisputeGame.Commitment({
            taskId: taskId,
            provider: provider,
            root: root,
            leafCount: DATASET_SIZE,
            bond: PROVIDER_BOND,
            challengeDeadline: uint48(block.timestamp) + CHALLENGE_WINDOW,
            bundleHash: keccak256("bundle"),
            bundleSize: 123_456,
            claimedScore: 0.75e18
        });
        vm.expectEmit(address(game));
        emit IDisputeGame.RootCommitted(id, taskId, provider, expected, "ipfs://bafy-verbench-bundle");
        (bytes32 got,) = commitAs(provider, taskId, root, DATASET_SIZE);
        vm.assertEq(got, id, "returned id");
        vm.assertEq(game.commitmentHash(id), keccak256(abi.encode(expected)), "stored hash");
        vm.assertEq(address(game).balance, 2 * uint256(PROVIDER_BOND), "bonds held");
    }

    function test_commit_sameRootByAnotherProviderIsAnotherCommitment() public {
        address copycat = makeAddr("copycat");
        vm.deal(copycat, 10 ether);
        (bytes32 id,) = commitAs(copycat, taskId, c.root, DATASET_SIZE);
        vm.assertTrue(id != cid, "distinct ids");
        // The copied root's leaves name the original provider: any disputed leaf is malformed.
        IDisputeGame.Commitment memory cc = c;
        cc.provider = copycat;
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(cc, id, challenger, 2);
        d.status = IDisputeGame.DisputeStatus.ProviderAtFault;
        vm.assertEq(game.disputeHash(did), keccak256(abi.encode(d)), "resolved at once");
        vm.assertEq(
            uint8(game.commitmentState(id).status), uint8(IDisputeGame.CommitmentStatus.Rejected), "rejected"
        );
    }

    function test_commit_revertsOnUnknownTask() public {
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.UnknownTask.selector, bytes32(uint256(1))));
        game.commit{value: PROVIDER_BOND}(bytes32(uint256(1)), c.root, DATASET_SIZE, 0, 0, NO_SCORE, "");
    }

    function test_commit_revertsOnWrongLeafCount() public {
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongLeafCount.selector, 4, DATASET_SIZE));
        game.commit{value: PROVIDER_BOND}(taskId, c.root, 4, 0, 0, NO_SCORE, "");
    }

    function test_commit_revertsOnZeroRoot() public {
        vm.prank(provider);
        vm.expectRevert(IDisputeGame.ZeroRoot.selector);
        game.commit{value: PROVIDER_BOND}(taskId, bytes32(0), DATASET_SIZE, 0, 0, NO_SCORE, "");
    }

    function test_commit_revertsOnWrongBond() public {
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.WrongBond.selector, PROVIDER_BOND - 1, PROVIDER_BOND)
        );
        game.commit{value: PROVIDER_BOND - 1}(taskId, keccak256("r"), DATASET_SIZE, 0, 0, NO_SCORE, "");
    }

    function test_commit_revertsWhenCommitmentExists() public {
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.CommitmentExists.selector, cid));
        game.commit{value: PROVIDER_BOND}(taskId, c.root, DATASET_SIZE, 0, 0, NO_SCORE, "");
    }

    // ---------------------------------------------------------------------------------------
    // commit: the provider's operator stake must outlast the commitment's last verdict
    // ---------------------------------------------------------------------------------------

    /// @dev Registers the provider as an operator with `stake`, deregisters it a second later and
    /// returns the end of its unbonding.
    function _providerUnbonding(uint256 stake) internal returns (uint48 endsAt) {
        vm.prank(provider);
        sm.registerOperator{value: stake}();
        vm.warp(block.timestamp + 1);
        vm.prank(provider);
        sm.deregisterOperator();
        endsAt = sm.operatorInfo(provider).unbondingEndsAt;
    }

    function _commitRaw(bytes32 root) internal {
        vm.prank(provider);
        game.commit{value: PROVIDER_BOND}(
            taskId, root, DATASET_SIZE, keccak256("bundle"), 123_456, 0.75e18, "ipfs://bafy-verbench-bundle"
        );
    }

    /// @dev Review issue 16, finding 1: a provider still unbonding commits 60 s before its
    /// unbonding ends. The previous contract accepted this commit; the provider then withdrew all
    /// of its 20 ether at `endsAt + 1` while a dispute on the commitment was still voting, and the
    /// ProviderAtFault verdict slashed 0 (no ProviderStakeSlashed, no OperatorSlashed,
    /// `slashedPending` 0). Measured by running this scenario to the end against that contract.
    /// Now the commit is refused.
    function test_commit_refusedWhenTheProviderStakeUnbondsBeforeTheLastVerdict() public {
        uint48 endsAt = _providerUnbonding(20 ether);
        vm.warp(endsAt - 60);
        bytes32 root = buildTree(taskId, provider, DATASET_SIZE, 7);
        uint256 lastVerdict = block.timestamp + CHALLENGE_WINDOW + REVEAL_WINDOW + VOTING_PERIOD;
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.StakeUnbondsTooSoon.selector, endsAt, lastVerdict)
        );
        _commitRaw(root);
    }

    /// @dev The boundary: the latest possible verdict (dispute opened at the challenge deadline,
    /// leaf revealed at the reveal deadline, resolved at the vote deadline) must fall within the
    /// unbonding. One second later the commit is refused; exactly in time, that verdict lands in
    /// the unbonding's last second, when the stake cannot be withdrawn yet, and takes 10% of it.
    function test_commit_unbondingStakeThatCoversTheLastVerdictIsSlashedByIt() public {
        uint48 endsAt = _providerUnbonding(20 ether);
        uint256 span = uint256(CHALLENGE_WINDOW) + REVEAL_WINDOW + VOTING_PERIOD;
        bytes32 root = buildTree(taskId, provider, DATASET_SIZE, 7);
        vm.warp(uint256(endsAt) - span + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.StakeUnbondsTooSoon.selector, endsAt, uint256(endsAt) + 1)
        );
        _commitRaw(root);

        vm.warp(uint256(endsAt) - span);
        (bytes32 cid2, IDisputeGame.Commitment memory c2) = commitAs(provider, taskId, root, DATASET_SIZE);
        vm.warp(c2.challengeDeadline);
        (bytes32 did, IDisputeGame.Dispute memory d) = openAwaiting(c2, cid2, challenger, 1);
        vm.warp(d.revealDeadline);
        d = reveal(d, provider);
        vm.assertEq(
            uint256(d.voteDeadline), uint256(endsAt), "the last verdict falls in the last unbonding second"
        );
        vm.warp(d.voteDeadline);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IServiceManager.StillUnbonding.selector, endsAt));
        sm.withdrawStake();
        vm.expectEmit(address(game));
        emit IDisputeGame.ProviderStakeSlashed(did, provider, 2 ether);
        resolveUnsealed(d, did, IDisputeGame.Outcome.ProviderAtFault, 3);
        vm.warp(uint256(endsAt) + 1);
        uint256 before = provider.balance;
        vm.prank(provider);
        sm.withdrawStake();
        vm.assertEq(provider.balance - before, 18 ether, "what the slash left");
        vm.assertEq(sm.slashedPending(), 2 ether, "slashed");
    }

    /// @dev Stake that is active at the commit is never a reason to refuse it (leaving afterwards
    /// unbonds for `unbondingDelay`, at least the windows by registerTask's rule), nor is having
    /// none: the setUp commitment has none, and neither has a provider that withdrew its stake.
    function test_commit_activeStakeOrNoneIsNeverRefused() public {
        vm.assertEq(uint256(sm.slashableUntil(provider)), type(uint48).max, "no stake");
        vm.prank(provider);
        sm.registerOperator{value: 20 ether}();
        vm.assertEq(uint256(sm.slashableUntil(provider)), type(uint48).max, "active");
        commitAs(provider, taskId, buildTree(taskId, provider, DATASET_SIZE, 8), DATASET_SIZE);
        vm.prank(provider);
        sm.deregisterOperator();
        uint48 endsAt = sm.operatorInfo(provider).unbondingEndsAt;
        vm.assertEq(uint256(sm.slashableUntil(provider)), uint256(endsAt), "unbonding");
        vm.warp(uint256(endsAt) + 1);
        vm.prank(provider);
        sm.withdrawStake();
        vm.assertEq(uint256(sm.slashableUntil(provider)), type(uint48).max, "withdrawn");
        commitAs(provider, taskId, buildTree(taskId, provider, DATASET_SIZE, 9), DATASET_SIZE);
    }

    // ---------------------------------------------------------------------------------------
    // finalize
    // ---------------------------------------------------------------------------------------

    function test_finalize_creditsBondAfterWindow() public {
        vm.warp(c.challengeDeadline + 1);
        vm.expectEmit(address(game));
        emit IDisputeGame.CommitmentFinalized(cid, provider);
        game.finalize(c);
        IDisputeGame.CommitmentState memory s = game.commitmentState(cid);
        vm.assertEq(uint8(s.status), uint8(IDisputeGame.CommitmentStatus.Finalized), "finalized");
        vm.assertTrue(s.bondReleased, "released");
        vm.assertEq(game.credit(provider), PROVIDER_BOND, "credit");
        uint256 before = provider.balance;
        vm.prank(provider);
        game.withdraw();
        vm.assertEq(provider.balance, before + PROVIDER_BOND, "withdrawn");
    }

    function test_finalize_revertsAtTheDeadline() public {
        vm.warp(c.challengeDeadline);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.ChallengeWindowOpen.selector, c.challengeDeadline)
        );
        game.finalize(c);
        // At the same instant a dispute is still allowed: never both.
        openAwaiting(c, cid, challenger, 0);
    }

    function test_finalize_revertsWhileDisputesOpen() public {
        openAwaiting(c, cid, challenger, 1);
        vm.warp(c.challengeDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.DisputesOpen.selector, uint32(1)));
        game.finalize(c);
    }

    function test_finalize_revertsWhenNotActive() public {
        vm.warp(c.challengeDeadline + 1);
        game.finalize(c);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.CommitmentNotActive.selector, IDisputeGame.CommitmentStatus.Finalized
            )
        );
        game.finalize(c);
    }

    function test_finalize_revertsOnMismatchedCommitment() public {
        IDisputeGame.Commitment memory wrong = c;
        wrong.bond = 0;
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.CommitmentMismatch.selector, cid));
        game.finalize(wrong);
    }

    function test_finalize_afterChallengerWrong() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 3);
        resolveWith(d, did, IDisputeGame.Outcome.LeafValid, 3);
        vm.warp(c.challengeDeadline + 1);
        game.finalize(c);
        vm.assertEq(
            game.credit(provider),
            PROVIDER_BOND + CHALLENGER_BOND - VERDICT_PAY,
            "bond + challenger bond - verdict pay"
        );
    }

    // ---------------------------------------------------------------------------------------
    // openDispute / openDisputeWithLeaf
    // ---------------------------------------------------------------------------------------

    function test_openDispute_storesAwaitingReveal() public {
        IDisputeGame.Dispute memory expected = expectedDispute(c, cid, challenger, 2);
        expected.revealDeadline = uint48(block.timestamp) + REVEAL_WINDOW;
        expected.status = IDisputeGame.DisputeStatus.AwaitingReveal;
        bytes32 did = game.disputeIdOf(cid, 2);
        vm.assertEq(did, keccak256(abi.encode(cid, uint32(2))), "dispute id");
        vm.expectEmit(address(game));
        emit IDisputeGame.DisputeOpened(did, cid, challenger, expected);
        openAwaiting(c, cid, challenger, 2);
        vm.assertEq(game.disputeHash(did), keccak256(abi.encode(expected)), "stored");
        vm.assertEq(uint256(game.commitmentState(cid).openDisputes), 1, "open");
    }

    function test_openDisputeWithLeaf_startsVoting() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 4);
        vm.assertEq(game.disputeHash(did), keccak256(abi.encode(d)), "stored");
        vm.assertEq(d.leafHash, leaves[4], "leaf");
    }

    function test_openDisputeWithLeaf_emitsLeafData() public {
        IDisputeGame.Dispute memory d = expectedDispute(c, cid, challenger, 1);
        d.leafHash = leaves[1];
        d.voteDeadline = uint48(block.timestamp) + VOTING_PERIOD;
        d.status = IDisputeGame.DisputeStatus.Voting;
        bytes32 did = game.disputeIdOf(cid, 1);
        vm.expectEmit(address(game));
        emit IDisputeGame.LeafRevealed(did, challenger, leafData[1], d);
        openWithLeaf(c, cid, challenger, 1);
    }

    function test_openDispute_revertsOnWrongRoot() public {
        IDisputeGame.Commitment memory wrong = c;
        wrong.root = keccak256("reorged root");
        bytes32 wrongId = game.commitmentIdOf(taskId, provider, wrong.root, DATASET_SIZE);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.CommitmentMismatch.selector, wrongId));
        game.openDispute{value: CHALLENGER_BOND}(wrong, 0);
    }

    function test_openDispute_revertsAfterWindow() public {
        vm.warp(c.challengeDeadline + 1);
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.ChallengeWindowClosed.selector, c.challengeDeadline)
        );
        game.openDispute{value: CHALLENGER_BOND}(c, 0);
    }

    function test_openDispute_revertsOnIndexOutOfRange() public {
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.LeafIndexOutOfRange.selector, DATASET_SIZE, DATASET_SIZE)
        );
        game.openDispute{value: CHALLENGER_BOND}(c, DATASET_SIZE);
    }

    function test_openDispute_revertsOnWrongBond() public {
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongBond.selector, 0, CHALLENGER_BOND));
        game.openDispute(c, 0);
    }

    function test_openDispute_revertsOnDuplicate() public {
        (bytes32 did,) = openAwaiting(c, cid, challenger, 0);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.DisputeExists.selector, did));
        game.openDisputeWithLeaf{value: CHALLENGER_BOND}(c, 0, leafData[0], proofOf(0));
    }

    function test_openDispute_revertsOnRejectedCommitment() public {
        (, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 0);
        vm.warp(d.revealDeadline + 1);
        game.claimWithheld(d);
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.CommitmentNotActive.selector, IDisputeGame.CommitmentStatus.Rejected
            )
        );
        game.openDispute{value: CHALLENGER_BOND}(c, 1);
    }

    function test_openDisputeWithLeaf_revertsOnTamperedProof() public {
        bytes32[] memory proof = proofOf(2);
        proof[0] ^= bytes32(uint256(1));
        vm.prank(challenger);
        vm.expectRevert(IDisputeGame.InvalidProof.selector);
        game.openDisputeWithLeaf{value: CHALLENGER_BOND}(c, 2, leafData[2], proof);
    }

    function test_openDisputeWithLeaf_revertsOnWrongIndex() public {
        vm.prank(challenger);
        vm.expectRevert(IDisputeGame.InvalidProof.selector);
        game.openDisputeWithLeaf{value: CHALLENGER_BOND}(c, 3, leafData[2], proofOf(2));
    }

    function test_openDisputeWithLeaf_malformedLeafRejectsAtOnce() public {
        // A provider that committed a leaf with the wrong index is at fault without a vote.
        bytes32 t2 = registerTask(2);
        delete leafData;
        delete leaves;
        leafData.push(makeLeaf(t2, provider, 1, 2, 0)); // wrong index in leaf 0
        leafData.push(makeLeaf(t2, provider, 1, 2, 0));
        leaves.push(Merkle.hashLeaf(leafData[0]));
        leaves.push(Merkle.hashLeaf(leafData[1]));
        bytes32 root = Merkle.hashNode(leaves[0], leaves[1]);
        (bytes32 id, IDisputeGame.Commitment memory c2) = commitAs(provider, t2, root, 2);
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c2, id, challenger, 0);
        d.status = IDisputeGame.DisputeStatus.ProviderAtFault;
        vm.assertEq(game.disputeHash(did), keccak256(abi.encode(d)), "resolved");
        uint256 share = uint256(PROVIDER_BOND) * CHALLENGER_SHARE_BPS / 10_000;
        vm.assertEq(game.credit(challenger), CHALLENGER_BOND + share, "challenger paid");
        vm.assertEq(game.credit(treasury), PROVIDER_BOND - share, "treasury paid");
    }

    // ---------------------------------------------------------------------------------------
    // revealLeaf / claimWithheld
    // ---------------------------------------------------------------------------------------

    function test_revealLeaf_startsVotingAtReveal() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 2);
        // A last-second reveal still gets the whole voting period.
        vm.warp(d.revealDeadline);
        d = reveal(d, provider);
        vm.assertEq(uint256(d.voteDeadline), uint256(d.revealDeadline) + VOTING_PERIOD, "vote deadline");
        vm.assertEq(game.disputeHash(did), keccak256(abi.encode(d)), "stored");
        resolveWith(d, did, IDisputeGame.Outcome.LeafValid, 3);
        vm.assertEq(
            game.credit(provider), CHALLENGER_BOND - VERDICT_PAY, "reveal paid by the challenger bond"
        );
    }

    function test_revealLeaf_revertsAfterDeadline() public {
        (, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 2);
        vm.warp(d.revealDeadline + 1);
        bytes memory data = leafData[2];
        bytes32[] memory proof = proofOf(2);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.RevealDeadlinePassed.selector, d.revealDeadline));
        game.revealLeaf(d, data, proof);
    }

    function test_revealLeaf_revertsOnInvalidProof() public {
        (, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 2);
        bytes memory data = leafData[1];
        bytes32[] memory proof = proofOf(2);
        vm.expectRevert(IDisputeGame.InvalidProof.selector);
        game.revealLeaf(d, data, proof);
    }

    function test_revealLeaf_revertsOnWrongStatus() public {
        (, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 2);
        bytes memory data = leafData[2];
        bytes32[] memory proof = proofOf(2);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.WrongDisputeStatus.selector, IDisputeGame.DisputeStatus.Voting
            )
        );
        game.revealLeaf(d, data, proof);
    }

    function test_revealLeaf_revertsOnMismatchedDispute() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 2);
        d.challengerBond = 0;
        bytes memory data = leafData[2];
        bytes32[] memory proof = proofOf(2);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.DisputeMismatch.selector, did));
        game.revealLeaf(d, data, proof);
    }

    function test_revealLeaf_malformedLeafRejectsAtOnce() public {
        bytes32 t2 = registerTask(1);
        delete leafData;
        delete leaves;
        leafData.push(hex"deadbeef");
        leaves.push(Merkle.hashLeaf(leafData[0]));
        (bytes32 id, IDisputeGame.Commitment memory c2) = commitAs(provider, t2, leaves[0], 1);
        (bytes32 did, IDisputeGame.Dispute memory d) = openAwaiting(c2, id, challenger, 0);
        d = reveal(d, provider);
        d.status = IDisputeGame.DisputeStatus.ProviderAtFault;
        vm.assertEq(game.disputeHash(did), keccak256(abi.encode(d)), "resolved");
    }

    // ---------------------------------------------------------------------------------------
    // publishItem (judging from chain data)
    // ---------------------------------------------------------------------------------------

    function _item(uint256 index) internal pure returns (bytes memory output, bytes memory toploc) {
        output = abi.encode("output", index, uint256(0));
        toploc = abi.encode("toploc", index, uint256(0));
    }

    function test_publishItem_emitsTheItemWhileVoting() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 2);
        d = reveal(d, provider);
        (bytes memory output, bytes memory toploc) = _item(2);
        bytes memory data = leafData[2];
        vm.expectEmit(address(game));
        emit IDisputeGame.ItemPublished(did, provider, output, toploc);
        vm.prank(provider);
        game.publishItem(d, data, output, toploc);
        // Anyone may publish it again; nothing is stored, the dispute is unchanged.
        vm.prank(challenger);
        game.publishItem(d, data, output, toploc);
        vm.assertEq(game.disputeHash(did), keccak256(abi.encode(d)), "dispute unchanged");
    }

    function test_publishItem_revertsOnAnotherItem() public {
        (, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 2);
        (bytes memory output, bytes memory toploc) = _item(3);
        (bytes memory ownOutput, bytes memory ownToploc) = _item(2);
        bytes memory data = leafData[2];
        vm.expectRevert(IDisputeGame.ItemMismatch.selector);
        game.publishItem(d, data, output, ownToploc);
        vm.expectRevert(IDisputeGame.ItemMismatch.selector);
        game.publishItem(d, data, ownOutput, toploc);
    }

    function test_publishItem_revertsOnAnotherLeaf() public {
        (, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 2);
        (bytes memory output, bytes memory toploc) = _item(3);
        bytes memory other = leafData[3];
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.LeafMismatch.selector, d.leafHash));
        game.publishItem(d, other, output, toploc);
    }

    function test_publishItem_revertsBeforeTheLeafIsKnownAndAfterVoting() public {
        (, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 2);
        (bytes memory output, bytes memory toploc) = _item(2);
        bytes memory data = leafData[2];
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.WrongDisputeStatus.selector, IDisputeGame.DisputeStatus.AwaitingReveal
            )
        );
        game.publishItem(d, data, output, toploc);
        d = reveal(d, provider);
        vm.warp(uint256(d.voteDeadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VotingClosed.selector, d.voteDeadline));
        game.publishItem(d, data, output, toploc);
    }

    function test_claimWithheld_paysChallenger() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 2);
        vm.warp(d.revealDeadline + 1);
        IDisputeGame.Dispute memory fin = copyOf(d);
        fin.status = IDisputeGame.DisputeStatus.ProviderAtFault;
        vm.expectEmit(address(game));
        emit IDisputeGame.DisputeResolved(did, cid, IDisputeGame.Cause.Withheld, 0, 0, fin);
        game.claimWithheld(d);
        uint256 share = uint256(PROVIDER_BOND) * CHALLENGER_SHARE_BPS / 10_000;
        vm.assertEq(game.credit(challenger), CHALLENGER_BOND + share, "challenger");
        vm.assertEq(game.credit(treasury), PROVIDER_BOND - share, "treasury");
        vm.assertEq(
            uint8(game.commitmentState(cid).status), uint8(IDisputeGame.CommitmentStatus.Rejected), "rej"
        );
        // A rejected commitment never finalizes.
        vm.warp(c.challengeDeadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.CommitmentNotActive.selector, IDisputeGame.CommitmentStatus.Rejected
            )
        );
        game.finalize(c);
    }

    function test_claimWithheld_revertsBeforeDeadline() public {
        (, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 2);
        vm.warp(d.revealDeadline);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.RevealDeadlineNotPassed.selector, d.revealDeadline)
        );
        game.claimWithheld(d);
    }

    function test_claimWithheld_revertsOnWrongStatus() public {
        (, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 2);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.WrongDisputeStatus.selector, IDisputeGame.DisputeStatus.Voting
            )
        );
        game.claimWithheld(d);
    }

    // ---------------------------------------------------------------------------------------
    // resolve
    // ---------------------------------------------------------------------------------------

    function test_resolve_providerAtFaultSlashesBond() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        IDisputeGame.Dispute memory fin = copyOf(d);
        fin.status = IDisputeGame.DisputeStatus.ProviderAtFault;
        vm.expectEmit(address(game));
        emit IDisputeGame.DisputeResolved(did, cid, IDisputeGame.Cause.Verdict, 30 ether, 40 ether, fin);
        resolveUnsealed(d, did, IDisputeGame.Outcome.ProviderAtFault, 3);
        vm.assertEq(game.disputeHash(did), keccak256(abi.encode(fin)), "final");
        uint256 share = uint256(PROVIDER_BOND) * CHALLENGER_SHARE_BPS / 10_000;
        vm.assertEq(game.credit(challenger), CHALLENGER_BOND + share, "challenger");
        // The verdict's pay comes out of the treasury's part of the provider bond.
        vm.assertEq(game.credit(treasury), PROVIDER_BOND - share - VERDICT_PAY, "treasury");
        vm.assertEq(game.credit(provider), 0, "provider");
    }

    function test_resolve_challengerWrongPaysProvider() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        resolveWith(d, did, IDisputeGame.Outcome.LeafValid, 3);
        // The challenger bond pays the verdict's signers, and the provider the rest.
        vm.assertEq(game.credit(provider), CHALLENGER_BOND - VERDICT_PAY, "provider");
        vm.assertEq(game.credit(challenger), 0, "challenger");
        vm.assertEq(uint256(game.commitmentState(cid).openDisputes), 0, "closed");
    }

    function test_resolve_secondFaultPaysOnlyOwnBond() public {
        (bytes32 did0, IDisputeGame.Dispute memory d0) = openWithLeaf(c, cid, challenger, 0);
        (bytes32 did1, IDisputeGame.Dispute memory d1) = openWithLeaf(c, cid, challenger, 1);
        resolveWith(d0, did0, IDisputeGame.Outcome.ProviderAtFault, 3);
        resolveWith(d1, did1, IDisputeGame.Outcome.ProviderAtFault, 3);
        uint256 share = uint256(PROVIDER_BOND) * CHALLENGER_SHARE_BPS / 10_000;
        // The provider bond was paid out by the first fault, so the second verdict's pay comes out of
        // the challenger's reward (its own bond back).
        vm.assertEq(
            game.credit(challenger), 2 * uint256(CHALLENGER_BOND) + share - VERDICT_PAY, "bond paid once"
        );
    }

    function test_resolve_providerAtFaultAlsoLosesATenthOfItsOperatorStakeOnce() public {
        vm.prank(provider);
        sm.registerOperator{value: 20 ether}();
        (bytes32 did0, IDisputeGame.Dispute memory d0) = openWithLeaf(c, cid, challenger, 0);
        (bytes32 did1, IDisputeGame.Dispute memory d1) = openWithLeaf(c, cid, challenger, 1);
        vm.expectEmit(address(game));
        emit IDisputeGame.ProviderStakeSlashed(did0, provider, 2 ether);
        resolveUnsealed(d0, did0, IDisputeGame.Outcome.ProviderAtFault, 3);
        resolveWith(d1, did1, IDisputeGame.Outcome.ProviderAtFault, 3);
        vm.assertEq(uint256(sm.operatorInfo(provider).stake), 18 ether, "slashed once per commitment");
    }

    function test_resolve_providerThatLeftTheOperatorSetIsStillSlashed() public {
        vm.prank(provider);
        sm.registerOperator{value: 20 ether}();
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        vm.prank(provider);
        sm.deregisterOperator();
        resolveWith(d, did, IDisputeGame.Outcome.ProviderAtFault, 3);
        vm.assertEq(uint256(sm.operatorInfo(provider).unbonding), 18 ether, "unbonding stake slashed");
    }

    function test_resolve_revertsWhenAlreadyResolved() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        IDisputeGame.Dispute memory fin = resolveWith(d, did, IDisputeGame.Outcome.ProviderAtFault, 3);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.LeafValid);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.DisputeMismatch.selector, did));
        game.resolve(d, IDisputeGame.Outcome.LeafValid, signers, sigs);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.WrongDisputeStatus.selector, IDisputeGame.DisputeStatus.ProviderAtFault
            )
        );
        game.resolve(fin, IDisputeGame.Outcome.LeafValid, signers, sigs);
    }

    function test_resolve_revertsWhileAwaitingReveal() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 0);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, bytes32(0), IDisputeGame.Outcome.ProviderAtFault);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.WrongDisputeStatus.selector, IDisputeGame.DisputeStatus.AwaitingReveal
            )
        );
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    function test_resolve_revertsAfterVotingDeadline() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        vm.warp(d.voteDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VotingClosed.selector, d.voteDeadline));
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    function test_resolve_revertsOnOutcomeNone() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.None);
        vm.expectRevert(IDisputeGame.InvalidOutcome.selector);
        game.resolve(d, IDisputeGame.Outcome.None, signers, sigs);
    }

    function test_resolve_revertsOnLengthMismatch() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.LeafValid);
        vm.expectRevert(IDisputeGame.LengthMismatch.selector);
        game.resolve(d, IDisputeGame.Outcome.LeafValid, signers, new IDisputeGame.Sig[](2));
        vm.expectRevert(IDisputeGame.LengthMismatch.selector);
        game.resolve(d, IDisputeGame.Outcome.LeafValid, new address[](0), new IDisputeGame.Sig[](0));
        sigs;
    }

    function test_resolve_revertsOnUnsortedSigners() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.LeafValid);
        (signers[0], signers[1]) = (signers[1], signers[0]);
        (sigs[0], sigs[1]) = (sigs[1], sigs[0]);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.SignersNotSorted.selector, 1));
        game.resolve(d, IDisputeGame.Outcome.LeafValid, signers, sigs);
    }

    function test_resolve_revertsOnDuplicatedSigner() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.LeafValid);
        signers[2] = signers[1];
        sigs[2] = sigs[1];
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.SignersNotSorted.selector, 2));
        game.resolve(d, IDisputeGame.Outcome.LeafValid, signers, sigs);
    }

    function test_resolve_revertsOnExcludedSigner() public {
        // The challenger is an operator: it may not vote on its own dispute.
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, operators[0], 0);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.ExcludedSigner.selector, operators[0]));
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    function test_resolve_excludesChallengerStakeFromQuorum() public {
        // Challenger operators[0] (10 of 40 ether): eligible 30, operators 1..3 hold all of it.
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, operators[0], 0);
        address[] memory signers = new address[](2);
        IDisputeGame.Sig[] memory sigs = new IDisputeGame.Sig[](2);
        for (uint256 i; i < 2; ++i) {
            signers[i] = operators[i + 1];
            sigs[i] = signVerdict(operatorKeys[i + 1], did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        }
        // 20 of 30 eligible = 66.66% <= 66.67%: not enough.
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.QuorumNotReached.selector, 20 ether, 30 ether));
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    function test_resolve_revertsOnSignatureForAnotherDispute() public {
        (bytes32 did0, IDisputeGame.Dispute memory d0) = openWithLeaf(c, cid, challenger, 0);
        (bytes32 did1,) = openWithLeaf(c, cid, challenger, 1);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did1, d0.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.InvalidSignature.selector, signers[0]));
        game.resolve(d0, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
        did0;
    }

    function test_resolve_revertsOnSignatureForAnotherOutcome() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.LeafValid);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.InvalidSignature.selector, signers[0]));
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    function test_resolve_revertsOnCrossChainSignature() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        uint256 chain = block.chainid;
        vm.chainId(chain + 1);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        vm.chainId(chain);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.InvalidSignature.selector, signers[0]));
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    function test_resolve_revertsOnNonOperator() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        uint256 key = uint256(keccak256("not an operator"));
        address outsider = vm.addr(key);
        address[] memory signers = new address[](1);
        IDisputeGame.Sig[] memory sigs = new IDisputeGame.Sig[](1);
        signers[0] = outsider;
        sigs[0] = signVerdict(key, did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NotOperator.selector, outsider));
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    function test_resolve_stakeBoughtAfterOpeningDoesNotCount() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        // A new operator joins in the same second the dispute opened, and a member tops up.
        uint256 key = uint256(keccak256("late operator"));
        address late = vm.addr(key);
        vm.deal(late, 100 ether);
        vm.prank(late);
        sm.registerOperator{value: 100 ether}();
        vm.deal(operators[0], 100 ether);
        vm.prank(operators[0]);
        sm.depositStake{value: 100 ether}();
        vm.warp(block.timestamp + 1);
        address[] memory signers = new address[](1);
        IDisputeGame.Sig[] memory sigs = new IDisputeGame.Sig[](1);
        signers[0] = late;
        sigs[0] = signVerdict(key, did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NotOperator.selector, late));
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
        (signers, sigs) = sigsOf(2, did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.QuorumNotReached.selector, 20 ether, 40 ether));
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    function test_resolve_deregisteredOperatorStillCounts() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        vm.warp(block.timestamp + 1);
        vm.prank(operators[0]);
        sm.deregisterOperator();
        resolveWith(d, did, IDisputeGame.Outcome.ProviderAtFault, 3);
        vm.assertEq(
            uint8(game.commitmentState(cid).status), uint8(IDisputeGame.CommitmentStatus.Rejected), "rej"
        );
    }

    /// @dev `operators[i]` signs both outcomes on `did`, and anyone reports it (100% slash).
    function _equivocate(uint256 i, bytes32 did, bytes32 leafHash) internal {
        IDisputeGame.Verdict memory a = _verdict(did, leafHash, IDisputeGame.Outcome.ProviderAtFault);
        IDisputeGame.Verdict memory b = _verdict(did, leafHash, IDisputeGame.Outcome.LeafValid);
        game.reportEquivocation(
            operators[i],
            a,
            signVerdict(operatorKeys[i], did, a.leafHash, a.outcome),
            b,
            signVerdict(operatorKeys[i], did, b.leafHash, b.outcome)
        );
    }

    /// @dev `operators[i]` commits a result of its own and loses a dispute on it (the other three
    /// operators sign): its operator stake is slashed 10%, 10 to 9 ether. Leaves the provider's
    /// tree rebuilt for the setUp commitment.
    function _loseAsProvider(uint256 i) internal {
        address op = operators[i];
        (bytes32 cidOp, IDisputeGame.Commitment memory cOp) =
            commitAs(op, taskId, buildTree(taskId, op, DATASET_SIZE, 3), DATASET_SIZE);
        (bytes32 didOp, IDisputeGame.Dispute memory dOp) = openWithLeaf(cOp, cidOp, challenger, 2);
        address[] memory signers = new address[](3);
        IDisputeGame.Sig[] memory sigs = new IDisputeGame.Sig[](3);
        uint256 k;
        for (uint256 j; j < 4; ++j) {
            if (j == i) continue;
            signers[k] = operators[j];
            sigs[k] = signVerdict(operatorKeys[j], didOp, dOp.leafHash, IDisputeGame.Outcome.ProviderAtFault);
            ++k;
        }
        game.resolve(dOp, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
        vm.assertEq(uint256(sm.operatorInfo(op).stake), 9 ether, "slashed as a provider");
        buildTree(taskId, provider, DATASET_SIZE, 0);
    }

    /// @dev Signatures of operators 1, 2 and 3 (not 0).
    function _sigsOfLastThree(bytes32 did, bytes32 leafHash)
        internal
        view
        returns (address[] memory signers, IDisputeGame.Sig[] memory sigs)
    {
        signers = new address[](3);
        sigs = new IDisputeGame.Sig[](3);
        for (uint256 j; j < 3; ++j) {
            signers[j] = operators[j + 1];
            sigs[j] = signVerdict(operatorKeys[j + 1], did, leafHash, IDisputeGame.Outcome.ProviderAtFault);
        }
    }

    /// @dev Review issue 16, finding 2 (equivocation): operators[0] signs both outcomes on the
    /// open dispute and is slashed to 0 for it. The previous contract still counted its 10 ether
    /// at the dispute's snapshot: this resolve succeeded with stakeFor 30 ether of 40 (measured
    /// against that contract). Now its signature is refused, and the other three decide.
    function test_resolve_operatorSlashedForEquivocationAfterOpeningHasNoVote() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        vm.warp(block.timestamp + 10);
        _equivocate(0, did, d.leafHash);
        vm.assertEq(sm.stakeAt(operators[0], d.snapshot), 10 ether, "the checkpoint is unchanged");
        vm.assertEq(sm.voteWeightAt(operators[0], d.snapshot), 0, "the vote is gone");
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NotOperator.selector, operators[0]));
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
        // The slashed stake still counts as eligible (not for): 30 of 40.
        (signers, sigs) = _sigsOfLastThree(did, d.leafHash);
        IDisputeGame.Dispute memory fin = copyOf(d);
        fin.status = IDisputeGame.DisputeStatus.ProviderAtFault;
        vm.expectEmit(address(game));
        emit IDisputeGame.DisputeResolved(did, cid, IDisputeGame.Cause.Verdict, 30 ether, 40 ether, fin);
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    /// @dev Review issue 16, finding 2 (provider fault): operators[1] loses a dispute as a
    /// provider after this dispute opened and is slashed 10 to 9 ether. The previous contract
    /// counted its full 10 ether here (stakeFor 30 ether with operators 0 to 2, measured against
    /// that contract). Now a proven-faulty operator has no vote on disputes opened before its
    /// slash.
    function test_resolve_operatorSlashedAsAFaultyProviderAfterOpeningHasNoVote() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        vm.warp(block.timestamp + 10);
        _loseAsProvider(1);
        vm.assertEq(sm.voteWeightAt(operators[1], d.snapshot), 0, "the vote is gone");
        vm.assertEq(sm.voteWeightAt(operators[0], d.snapshot), 10 ether, "the others keep theirs");
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NotOperator.selector, operators[1]));
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
        signers[1] = operators[3];
        sigs[1] = signVerdict(operatorKeys[3], did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        (signers[1], signers[2]) = (signers[2], signers[1]);
        (sigs[1], sigs[2]) = (sigs[2], sigs[1]);
        IDisputeGame.Dispute memory fin = copyOf(d);
        fin.status = IDisputeGame.DisputeStatus.ProviderAtFault;
        vm.expectEmit(address(game));
        emit IDisputeGame.DisputeResolved(did, cid, IDisputeGame.Cause.Verdict, 30 ether, 40 ether, fin);
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    /// @dev A slash before the dispute opened is in its snapshot already: the operator votes with
    /// what it kept (9 of 10 ether), and the eligible stake is 39.
    function test_resolve_operatorSlashedBeforeOpeningVotesWithWhatItKept() public {
        _loseAsProvider(1);
        vm.warp(block.timestamp + 1);
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        IDisputeGame.Dispute memory fin = copyOf(d);
        fin.status = IDisputeGame.DisputeStatus.ProviderAtFault;
        vm.expectEmit(address(game));
        emit IDisputeGame.DisputeResolved(did, cid, IDisputeGame.Cause.Verdict, 29 ether, 39 ether, fin);
        resolveUnsealed(d, did, IDisputeGame.Outcome.ProviderAtFault, 3);
    }

    // ---------------------------------------------------------------------------------------
    // expire
    // ---------------------------------------------------------------------------------------

    /// @dev Before issue 16's griefing fix `expire` refunded the challenger's bond; now the treasury
    /// gets it (see test_griefing_* for why).
    function test_expire_paysTheChallengerBondToTheTreasuryAndFreezes() public {
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        vm.warp(d.voteDeadline + 1);
        vm.expectEmit(address(game));
        emit IDisputeGame.Credited(treasury, did, CHALLENGER_BOND);
        vm.expectEmit(address(game));
        emit IDisputeGame.CommitmentFrozen(cid, did);
        game.expire(d);
        vm.assertEq(game.credit(challenger), 0, "no refund");
        vm.assertEq(game.credit(treasury), CHALLENGER_BOND, "the bond goes to the treasury");
        vm.assertEq(game.credit(provider), 0, "provider bond held until the window closes");
        IDisputeGame.CommitmentState memory s = game.commitmentState(cid);
        vm.assertEq(uint8(s.status), uint8(IDisputeGame.CommitmentStatus.Frozen), "frozen");
    }

    function test_expire_frozenCommitmentStaysDisputable() public {
        (, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        vm.warp(d.voteDeadline + 1);
        game.expire(d);
        // Another leaf can still be disputed within the window, and a fault still rejects it.
        (bytes32 did1, IDisputeGame.Dispute memory d1) = openWithLeaf(c, cid, challenger, 1);
        resolveWith(d1, did1, IDisputeGame.Outcome.ProviderAtFault, 3);
        vm.assertEq(
            uint8(game.commitmentState(cid).status), uint8(IDisputeGame.CommitmentStatus.Rejected), "rejected"
        );
        vm.warp(c.challengeDeadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.CommitmentNotActive.selector, IDisputeGame.CommitmentStatus.Rejected
            )
        );
        game.finalize(c);
    }

    function test_finalize_frozenReleasesBondAfterWindowButStaysFrozen() public {
        (, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        vm.warp(d.voteDeadline + 1);
        game.expire(d);
        if (block.timestamp <= c.challengeDeadline) {
            vm.expectRevert(
                abi.encodeWithSelector(IDisputeGame.ChallengeWindowOpen.selector, c.challengeDeadline)
            );
            game.finalize(c);
            vm.warp(c.challengeDeadline + 1);
        }
        game.finalize(c);
        vm.assertEq(game.credit(provider), PROVIDER_BOND, "bond released");
        vm.assertEq(
            uint8(game.commitmentState(cid).status),
            uint8(IDisputeGame.CommitmentStatus.Frozen),
            "still frozen"
        );
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.CommitmentNotActive.selector, IDisputeGame.CommitmentStatus.Frozen
            )
        );
        game.finalize(c);
    }

    function test_expire_bondWaitsForOtherDisputes() public {
        (bytes32 did0, IDisputeGame.Dispute memory d0) = openWithLeaf(c, cid, challenger, 0);
        vm.warp(block.timestamp + 1 days);
        (bytes32 did1, IDisputeGame.Dispute memory d1) = openWithLeaf(c, cid, challenger, 1);
        vm.warp(d0.voteDeadline + 1);
        game.expire(d0);
        vm.assertEq(game.credit(provider), 0, "bond held while a dispute is open");
        // The other dispute proves the provider at fault: it is rejected and its bond slashed.
        resolveWith(d1, did1, IDisputeGame.Outcome.ProviderAtFault, 3);
        vm.assertEq(game.credit(provider), 0, "no refund");
        vm.assertEq(
            uint8(game.commitmentState(cid).status), uint8(IDisputeGame.CommitmentStatus.Rejected), "rej"
        );
        did0;
    }

    /// @dev Issue 16's griefing finding, replayed. A griefer disputes an honest leaf without
    /// supplying it; the provider pays for the reveal; the operators would sign LeafValid, but nobody
    /// sends `resolve` before the vote deadline; the griefer expires its own dispute.
    /// OLD code: `expire` credited the griefer its whole bond back (credit(griefer) ==
    /// CHALLENGER_BOND) and froze the honest commitment for good, so the attack cost the griefer only
    /// the gas of `openDispute` and `expire`, while the provider paid the reveal and lost acceptance.
    /// NOW: the bond is forfeited to the treasury; the griefer has nothing to withdraw.
    function test_griefing_unresolvedDisputeOnAnHonestLeafNowCostsTheGriefer() public {
        address griefer = makeAddr("griefer");
        vm.deal(griefer, 1 ether);
        (bytes32 did, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, griefer, 2);
        vm.warp(block.timestamp + 1 hours);
        d = reveal(d, provider);
        vm.warp(d.voteDeadline + 1);
        vm.prank(griefer);
        game.expire(d);
        vm.assertEq(game.credit(griefer), 0, "old code: CHALLENGER_BOND refunded");
        vm.assertEq(game.credit(treasury), CHALLENGER_BOND, "forfeited to the treasury");
        vm.assertEq(griefer.balance, 1 ether - CHALLENGER_BOND, "the griefer is out of its bond");
        vm.prank(griefer);
        vm.expectRevert(IDisputeGame.NothingToWithdraw.selector);
        game.withdraw();
        // The commitment is still frozen (no verdict cleared the leaf), as before.
        vm.assertEq(
            uint8(game.commitmentState(cid).status), uint8(IDisputeGame.CommitmentStatus.Frozen), "frozen"
        );
        did;
    }

    /// @dev The provider's answer to the griefer above: submit the operators' LeafValid verdict itself
    /// before the deadline. It is paid the griefer's bond (which should cover the reveal and this
    /// resolve, docs/protocol.md "Griefing") and its commitment stays Active and finalizes.
    function test_griefing_providerThatResolvesIsPaidTheBondAndFinalizes() public {
        address griefer = makeAddr("griefer");
        vm.deal(griefer, 1 ether);
        (bytes32 did, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, griefer, 2);
        d = reveal(d, provider);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.LeafValid);
        vm.prank(provider);
        game.resolve(d, IDisputeGame.Outcome.LeafValid, signers, sigs);
        vm.assertEq(
            game.credit(provider), CHALLENGER_BOND - VERDICT_PAY, "the griefer's bond pays the provider"
        );
        vm.assertEq(game.credit(griefer), 0, "griefer");
        vm.warp(c.challengeDeadline + 1);
        game.finalize(c);
        vm.assertEq(
            uint8(game.commitmentState(cid).status),
            uint8(IDisputeGame.CommitmentStatus.Finalized),
            "accepted"
        );
        vm.assertEq(game.credit(provider), CHALLENGER_BOND - VERDICT_PAY + PROVIDER_BOND, "bond back too");
    }

    function test_expire_revertsWhileVoting() public {
        (, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        vm.warp(d.voteDeadline);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.VotingOpen.selector, d.voteDeadline));
        game.expire(d);
    }

    function test_expire_revertsOnWrongStatus() public {
        (, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.WrongDisputeStatus.selector, IDisputeGame.DisputeStatus.AwaitingReveal
            )
        );
        game.expire(d);
    }

    // ---------------------------------------------------------------------------------------
    // reportEquivocation
    // ---------------------------------------------------------------------------------------

    function _verdict(bytes32 did, bytes32 leaf, IDisputeGame.Outcome o)
        internal
        pure
        returns (IDisputeGame.Verdict memory)
    {
        return IDisputeGame.Verdict({disputeId: did, leafHash: leaf, outcome: o});
    }

    function test_reportEquivocation_slashesOperator() public {
        bytes32 did = keccak256("some dispute");
        IDisputeGame.Verdict memory a =
            _verdict(did, bytes32(uint256(1)), IDisputeGame.Outcome.ProviderAtFault);
        IDisputeGame.Verdict memory b = _verdict(did, bytes32(uint256(1)), IDisputeGame.Outcome.LeafValid);
        IDisputeGame.Sig memory sa = signVerdict(operatorKeys[1], did, a.leafHash, a.outcome);
        IDisputeGame.Sig memory sb = signVerdict(operatorKeys[1], did, b.leafHash, b.outcome);
        vm.expectEmit(address(game));
        emit IDisputeGame.EquivocationSlashed(operators[1], did, address(this), 10 ether);
        game.reportEquivocation(operators[1], a, sa, b, sb);
        vm.assertEq(sm.slashedPending(), 10 ether, "slashed");
        vm.assertEq(uint256(sm.operatorInfo(operators[1]).stake), 0, "stake gone");
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.EquivocationAlreadyReported.selector, operators[1], did)
        );
        game.reportEquivocation(operators[1], a, sa, b, sb);
    }

    function test_reportEquivocation_revertsOnConsistentVerdicts() public {
        bytes32 did = keccak256("some dispute");
        IDisputeGame.Verdict memory a = _verdict(did, bytes32(uint256(1)), IDisputeGame.Outcome.LeafValid);
        IDisputeGame.Sig memory sa = signVerdict(operatorKeys[1], did, a.leafHash, a.outcome);
        vm.expectRevert(IDisputeGame.NotEquivocation.selector);
        game.reportEquivocation(operators[1], a, sa, a, sa);
        IDisputeGame.Verdict memory b =
            _verdict(keccak256("other"), a.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        IDisputeGame.Sig memory sb = signVerdict(operatorKeys[1], b.disputeId, b.leafHash, b.outcome);
        vm.expectRevert(IDisputeGame.NotEquivocation.selector);
        game.reportEquivocation(operators[1], a, sa, b, sb);
        // Signed by someone else.
        b = _verdict(did, a.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        sb = signVerdict(operatorKeys[2], did, b.leafHash, b.outcome);
        vm.expectRevert(IDisputeGame.NotEquivocation.selector);
        game.reportEquivocation(operators[1], a, sa, b, sb);
    }

    // ---------------------------------------------------------------------------------------
    // withdraw and views
    // ---------------------------------------------------------------------------------------

    function test_withdraw_revertsWithoutCredit() public {
        vm.expectRevert(IDisputeGame.NothingToWithdraw.selector);
        game.withdraw();
    }

    /// @dev The raw credit slot (`_credits` is storage slot 6, `forge inspect DisputeGame storageLayout`).
    function _creditSlot(address account) internal view returns (uint256) {
        return uint256(vm.load(address(game), keccak256(abi.encode(account, uint256(6)))));
    }

    /// @dev Credit slots hold 1 + credit once open and never return to zero (issue 16's gas work):
    /// the treasury's is open from deployment, a challenger's from its first dispute; `credit` and
    /// `withdraw` see the credit alone, and each credit is paid exactly once.
    function test_credit_slotsStayOpenAndEachCreditIsPaidOnce() public {
        vm.assertEq(_creditSlot(treasury), 1, "treasury open at deployment");
        vm.assertEq(_creditSlot(challenger), 0, "challenger not yet");
        uint256 start = challenger.balance;
        (, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 2);
        vm.assertEq(_creditSlot(challenger), 1, "opened by the dispute");
        vm.assertEq(game.credit(challenger), 0, "no credit yet");
        vm.prank(challenger);
        vm.expectRevert(IDisputeGame.NothingToWithdraw.selector);
        game.withdraw();
        (, IDisputeGame.Dispute memory d2) = openAwaiting(c, cid, challenger, 3);
        vm.assertEq(_creditSlot(challenger), 1, "a second dispute leaves it as it is");
        vm.warp(d.revealDeadline + 1);
        game.claimWithheld(d);
        uint256 share = uint256(PROVIDER_BOND) * CHALLENGER_SHARE_BPS / 10_000;
        uint256 owed = CHALLENGER_BOND + share;
        vm.assertEq(game.credit(challenger), owed, "credit");
        vm.assertEq(_creditSlot(challenger), 1 + owed, "stored as 1 + credit");
        vm.prank(challenger);
        game.withdraw();
        vm.assertEq(_creditSlot(challenger), 1, "left open");
        vm.assertEq(game.credit(challenger), 0, "nothing left");
        // A later payout to the open slot is paid once too (the provider bond was paid already).
        game.claimWithheld(d2);
        vm.assertEq(game.credit(challenger), CHALLENGER_BOND, "bond back");
        vm.prank(challenger);
        game.withdraw();
        vm.assertEq(challenger.balance, start + share, "two bonds out, both back, one share");
        vm.assertEq(address(game).balance, game.credit(treasury), "only the treasury's part is left");
        vm.assertEq(game.credit(treasury), PROVIDER_BOND - share, "treasury");
    }

    function test_withdraw_paysOnce() public {
        (, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, 2);
        vm.warp(d.revealDeadline + 1);
        game.claimWithheld(d);
        uint256 owed = game.credit(challenger);
        uint256 before = challenger.balance;
        vm.expectEmit(address(game));
        emit IDisputeGame.Withdrawn(challenger, owed);
        vm.prank(challenger);
        game.withdraw();
        vm.assertEq(challenger.balance, before + owed, "paid");
        vm.prank(challenger);
        vm.expectRevert(IDisputeGame.NothingToWithdraw.selector);
        game.withdraw();
    }

    function test_leafHashOf_matchesMerkleHashLeaf() public view {
        IDisputeGame.LeafV2 memory leaf = abi.decode(leafData[3], (IDisputeGame.LeafV2));
        vm.assertEq(game.leafHashOf(leaf), leaves[3], "leaf hash");
    }

    function test_verdictDigest_isEip712() public view {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256("verbench"),
                keccak256("1"),
                block.chainid,
                address(game)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Verdict(bytes32 disputeId,bytes32 leafHash,uint8 outcome)"),
                bytes32(uint256(7)),
                bytes32(uint256(8)),
                uint8(1)
            )
        );
        vm.assertEq(
            game.verdictDigest(
                _verdict(bytes32(uint256(7)), bytes32(uint256(8)), IDisputeGame.Outcome.ProviderAtFault)
            ),
            keccak256(abi.encodePacked(hex"1901", domain, structHash)),
            "digest"
        );
    }
}

/// @notice Fuzz tests of DisputeGame: random trees, indices, proofs, bonds, timings and signatures.
contract DisputeGameFuzzTest is Deployers {
    bytes32 internal taskId;
    bytes32 internal cid;
    IDisputeGame.Commitment internal c;

    function setUp() public {
        deployGame();
        registerOperators(4, 10 ether);
        (taskId, cid, c) = setUpCommitment();
    }

    /// @dev A task and commitment over a fresh tree of `n` leaves.
    function _commitTree(uint256 n) internal returns (IDisputeGame.Commitment memory cc, bytes32 id) {
        IDisputeGame.TaskSpec memory spec = defaultSpec(uint32(n));
        spec.generation.seed = 7; // distinct from the fixture's task
        bytes32 t = game.registerTask(spec);
        bytes32 root = buildTree(t, provider, n, 1);
        (id, cc) = commitAs(provider, t, root, uint32(n));
    }

    function testFuzz_openDisputeWithLeaf_opensOnValidProof(uint256 n, uint256 index) public {
        n = bound(n, 1, 64);
        index = bound(index, 0, n - 1);
        (IDisputeGame.Commitment memory cc, bytes32 id) = _commitTree(n);
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(cc, id, challenger, uint32(index));
        vm.assertEq(game.disputeHash(did), keccak256(abi.encode(d)), "voting");
    }

    function testFuzz_openDisputeWithLeaf_revertsOnTamperedProof(
        uint256 n,
        uint256 index,
        uint256 pos,
        uint8 bit
    ) public {
        n = bound(n, 2, 64);
        index = bound(index, 0, n - 1);
        (IDisputeGame.Commitment memory cc,) = _commitTree(n);
        bytes32[] memory proof = proofOf(index);
        bytes memory data = leafData[index];
        if (proof.length == 0) return; // a promoted-only path (cannot happen for n >= 2)
        proof[bound(pos, 0, proof.length - 1)] ^= bytes32(uint256(1) << bit);
        vm.prank(challenger);
        vm.expectRevert(IDisputeGame.InvalidProof.selector);
        game.openDisputeWithLeaf{value: CHALLENGER_BOND}(cc, uint32(index), data, proof);
    }

    function testFuzz_openDisputeWithLeaf_revertsOnTamperedLeaf(uint256 index, uint256 pos, uint8 bit)
        public
    {
        index = bound(index, 0, DATASET_SIZE - 1);
        bytes memory data = leafData[index];
        pos = bound(pos, 0, data.length - 1);
        data[pos] = bytes1(uint8(data[pos]) ^ uint8(1 << (bit % 8)));
        bytes32[] memory proof = proofOf(index);
        vm.prank(challenger);
        vm.expectRevert(IDisputeGame.InvalidProof.selector);
        game.openDisputeWithLeaf{value: CHALLENGER_BOND}(c, uint32(index), data, proof);
    }

    function testFuzz_openDisputeWithLeaf_revertsOnWrongIndex(uint256 n, uint256 index, uint256 other)
        public
    {
        n = bound(n, 2, 64);
        index = bound(index, 0, n - 1);
        other = bound(other, 0, n - 2);
        if (other >= index) other += 1;
        (IDisputeGame.Commitment memory cc,) = _commitTree(n);
        bytes memory data = leafData[index];
        bytes32[] memory proof = proofOf(index);
        vm.prank(challenger);
        vm.expectRevert(IDisputeGame.InvalidProof.selector);
        game.openDisputeWithLeaf{value: CHALLENGER_BOND}(cc, uint32(other), data, proof);
    }

    function testFuzz_openDispute_revertsOnIndexOutOfRange(uint32 index) public {
        index = uint32(bound(index, DATASET_SIZE, type(uint32).max));
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.LeafIndexOutOfRange.selector, index, DATASET_SIZE)
        );
        game.openDispute{value: CHALLENGER_BOND}(c, index);
    }

    function testFuzz_openDispute_revertsOnDuplicate(uint32 index, bool withLeaf, address second) public {
        index = uint32(bound(index, 0, DATASET_SIZE - 1));
        vm.assume(second != address(0));
        (bytes32 did,) =
            withLeaf ? openWithLeaf(c, cid, challenger, index) : openAwaiting(c, cid, challenger, index);
        vm.deal(second, CHALLENGER_BOND);
        vm.prank(second);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.DisputeExists.selector, did));
        game.openDispute{value: CHALLENGER_BOND}(c, index);
    }

    function testFuzz_openDispute_revertsAfterWindow(uint256 dt) public {
        dt = bound(dt, 1, 365 days);
        vm.warp(uint256(c.challengeDeadline) + dt);
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.ChallengeWindowClosed.selector, c.challengeDeadline)
        );
        game.openDispute{value: CHALLENGER_BOND}(c, 0);
    }

    function testFuzz_openDispute_revertsOnWrongBond(uint256 value) public {
        vm.assume(value != CHALLENGER_BOND);
        value = bound(value, 0, 100 ether);
        vm.assume(value != CHALLENGER_BOND);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongBond.selector, value, CHALLENGER_BOND));
        game.openDispute{value: value}(c, 0);
    }

    function testFuzz_commit_revertsOnWrongBond(uint256 value) public {
        value = bound(value, 0, 100 ether);
        vm.assume(value != PROVIDER_BOND);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongBond.selector, value, PROVIDER_BOND));
        game.commit{value: value}(taskId, keccak256("r"), DATASET_SIZE, 0, 0, NO_SCORE, "");
    }

    /// @dev At every instant exactly one of "open a dispute" and "finalize" is allowed.
    function testFuzz_finalize_neverAtTheSameInstantAsDispute(uint256 t) public {
        t = bound(t, block.timestamp, uint256(c.challengeDeadline) + 10 days);
        vm.warp(t);
        uint256 snap = vm.snapshotState();
        vm.prank(challenger);
        (bool disputed,) =
            address(game).call{value: CHALLENGER_BOND}(abi.encodeCall(game.openDispute, (c, uint32(0))));
        vm.revertToState(snap);
        (bool finalized,) = address(game).call(abi.encodeCall(game.finalize, (c)));
        vm.assertTrue(disputed != finalized, "exactly one allowed");
    }

    function testFuzz_revealLeaf_revertsAfterDeadline(uint256 dt, uint32 index) public {
        index = uint32(bound(index, 0, DATASET_SIZE - 1));
        dt = bound(dt, 1, 365 days);
        (, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, index);
        vm.warp(uint256(d.revealDeadline) + dt);
        bytes memory data = leafData[index];
        bytes32[] memory proof = proofOf(index);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.RevealDeadlinePassed.selector, d.revealDeadline));
        game.revealLeaf(d, data, proof);
    }

    function testFuzz_revealLeaf_votingPeriodStartsAtReveal(uint256 dt, uint32 index) public {
        index = uint32(bound(index, 0, DATASET_SIZE - 1));
        dt = bound(dt, 0, REVEAL_WINDOW);
        (bytes32 did, IDisputeGame.Dispute memory d) = openAwaiting(c, cid, challenger, index);
        vm.warp(block.timestamp + dt);
        d = reveal(d, provider);
        vm.warp(d.voteDeadline);
        resolveWith(d, did, IDisputeGame.Outcome.LeafValid, 3);
    }

    function testFuzz_resolve_revertsOnReplayedSignature(uint32 i, uint32 j, bool otherOutcome) public {
        i = uint32(bound(i, 0, DATASET_SIZE - 1));
        j = uint32(bound(j, 0, DATASET_SIZE - 2));
        if (j >= i) j += 1;
        (bytes32 didI, IDisputeGame.Dispute memory dI) = openWithLeaf(c, cid, challenger, i);
        (bytes32 didJ, IDisputeGame.Dispute memory dJ) = openWithLeaf(c, cid, challenger, j);
        IDisputeGame.Outcome o =
            otherOutcome ? IDisputeGame.Outcome.LeafValid : IDisputeGame.Outcome.ProviderAtFault;
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) = sigsOf(3, didI, dI.leafHash, o);
        game.resolve(dI, o, signers, sigs);
        // The same signatures replayed on another dispute of the same commitment.
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.InvalidSignature.selector, signers[0]));
        game.resolve(dJ, o, signers, sigs);
        didJ;
    }

    function testFuzz_resolve_revertsOnReplayOnAnotherGame(uint32 index) public {
        index = uint32(bound(index, 0, DATASET_SIZE - 1));
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, index);
        // A second deployment (another contract address) with the same operators' signatures.
        DisputeGame first = game;
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        ServiceManager sm2 = new ServiceManager(predicted, treasury, UNBONDING_DELAY, MIN_STAKE);
        game = new DisputeGame(
            IOperatorSet(address(sm2)),
            treasury,
            CHALLENGER_SHARE_BPS,
            QUORUM_BPS,
            REVEAL_WINDOW,
            VOTING_PERIOD
        );
        vm.assertTrue(
            game.verdictDigest(
                IDisputeGame.Verdict({
                    disputeId: did, leafHash: d.leafHash, outcome: IDisputeGame.Outcome.ProviderAtFault
                })
            )
            != first.verdictDigest(
                IDisputeGame.Verdict({
                    disputeId: did, leafHash: d.leafHash, outcome: IDisputeGame.Outcome.ProviderAtFault
                })
            ),
            "digest bound to the contract"
        );
        // On the original game they still verify.
        game = first;
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    function testFuzz_resolve_revertsOnCrossChainSignature(uint64 otherChain, uint32 index) public {
        vm.assume(otherChain != block.chainid && otherChain != 0);
        index = uint32(bound(index, 0, DATASET_SIZE - 1));
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, index);
        uint256 chain = block.chainid;
        vm.chainId(otherChain);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        vm.chainId(chain);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.InvalidSignature.selector, signers[0]));
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    function testFuzz_resolve_revertsOnUnsortedOrDuplicatedSigners(uint256 a, uint256 b) public {
        a = bound(a, 0, 3);
        b = bound(b, 0, 3);
        vm.assume(a != b);
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(4, did, d.leafHash, IDisputeGame.Outcome.LeafValid);
        // Overwrite position max(a,b) with the signer at min(a,b): a duplicate or a descent.
        (uint256 lo, uint256 hi) = a < b ? (a, b) : (b, a);
        signers[hi] = signers[lo];
        sigs[hi] = sigs[lo];
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.SignersNotSorted.selector, hi));
        game.resolve(d, IDisputeGame.Outcome.LeafValid, signers, sigs);
    }

    function testFuzz_resolve_revertsOnNonOperatorSignature(uint256 key) public {
        key = bound(key, 1, 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140);
        address signer = vm.addr(key);
        for (uint256 i; i < operators.length; ++i) {
            vm.assume(signer != operators[i]);
        }
        vm.assume(signer != provider && signer != challenger);
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(c, cid, challenger, 0);
        address[] memory signers = new address[](1);
        IDisputeGame.Sig[] memory sigs = new IDisputeGame.Sig[](1);
        signers[0] = signer;
        sigs[0] = signVerdict(key, did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NotOperator.selector, signer));
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
    }

    function testFuzz_resolve_payoutsConserveBonds(uint96 providerBond, uint96 challengerBond, bool fault)
        public
    {
        providerBond = uint96(bound(providerBond, 1, 1e24));
        challengerBond = uint96(bound(challengerBond, 1, 1e24));
        IDisputeGame.TaskSpec memory spec = defaultSpec(DATASET_SIZE);
        spec.providerBond = providerBond;
        spec.challengerBond = challengerBond;
        bytes32 t = game.registerTask(spec);
        bytes32 root = buildTree(t, provider, DATASET_SIZE, 2);
        vm.deal(provider, providerBond);
        vm.deal(challenger, challengerBond);
        (bytes32 id, IDisputeGame.Commitment memory cc) = commitAs(provider, t, root, DATASET_SIZE);
        (bytes32 did, IDisputeGame.Dispute memory d) = openWithLeaf(cc, id, challenger, 1);
        resolveWith(d, did, fault ? IDisputeGame.Outcome.ProviderAtFault : IDisputeGame.Outcome.LeafValid, 3);
        if (!fault) {
            vm.warp(cc.challengeDeadline + 1);
            game.finalize(cc);
        }
        // The verdict's signers are paid their share of the set-aside pay, the treasury the rest.
        claimOne(id, verdictPayOf(d, did, 3, 40 ether));
        uint256 paid = game.credit(provider) + game.credit(challenger) + game.credit(treasury);
        for (uint256 i; i < operators.length; ++i) {
            paid += game.credit(operators[i]);
        }
        vm.assertEq(paid, uint256(providerBond) + challengerBond, "every bonded wei credited exactly once");
        if (fault) {
            vm.assertLt(game.credit(challenger), uint256(providerBond) + challengerBond, "self-dispute loses");
        }
    }
}

/// @notice Pins the worked example of the leaf layout in docs/protocol.md.
contract LeafLayoutTest is Deployers {
    function setUp() public {
        deployGame();
    }

    function test_leafHashOf_workedExample() public view {
        IDisputeGame.LeafV2 memory leaf = IDisputeGame.LeafV2({
            version: 2,
            taskId: bytes32(0x1111111111111111111111111111111111111111111111111111111111111111),
            provider: 0x2222222222222222222222222222222222222222,
            index: 3,
            leafCount: 10,
            inputHash: bytes32(0x3333333333333333333333333333333333333333333333333333333333333333),
            outputHash: bytes32(0x4444444444444444444444444444444444444444444444444444444444444444),
            toplocHash: bytes32(0x5555555555555555555555555555555555555555555555555555555555555555),
            score: 0.5e18,
            scoreSum: 2.5e18
        });
        vm.assertEq(abi.encode(leaf).length, 320, "ten words");
        vm.assertEq(
            game.leafHashOf(leaf),
            0x235d710414e1153a6460b3f460aecc9fc73f60485a24bc92f45d2b6302e5c4fe,
            "leaf hash"
        );
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DisputeGame} from "../../contracts/DisputeGame.sol";
import {ServiceManager} from "../../contracts/ServiceManager.sol";
import {IDisputeGame} from "../../contracts/interfaces/IDisputeGame.sol";
import {IOperatorSet} from "../../contracts/interfaces/IOperatorSet.sol";
import {IServiceManager} from "../../contracts/interfaces/IServiceManager.sol";
import {Merkle} from "../../contracts/libraries/Merkle.sol";
import {MerkleBuilder} from "./MerkleBuilder.sol";
import {Test} from "./Test.sol";

/// @notice Shared fixture for the contract tests (after Uniswap v4's Deployers.sol): deploys the
/// ServiceManager and the DisputeGame, registers operators, builds trees of well-formed leaves,
/// and mirrors the structs the contracts store as hashes.
abstract contract Deployers is Test {
    uint48 internal constant UNBONDING_DELAY = 14 days;
    uint256 internal constant MIN_STAKE = 1 ether;
    uint16 internal constant CHALLENGER_SHARE_BPS = 5000;
    uint16 internal constant QUORUM_BPS = 6667;
    uint32 internal constant REVEAL_WINDOW = 1 days;
    uint32 internal constant VOTING_PERIOD = 2 days;
    uint32 internal constant CHALLENGE_WINDOW = 3 days;
    uint96 internal constant PROVIDER_BOND = 1 ether;
    uint96 internal constant CHALLENGER_BOND = 0.1 ether;
    uint32 internal constant DATASET_SIZE = 5;
    uint256 internal constant NO_SCORE = type(uint256).max;
    uint48 internal constant START = 1_700_000_000;
    /// @dev The game's OPERATOR_PAY_BPS: a verdict's signers share this part of the challenger bond.
    uint16 internal constant OPERATOR_PAY_BPS = 2000;
    /// @dev What a verdict on a default task sets aside for its signers.
    uint256 internal constant VERDICT_PAY = uint256(CHALLENGER_BOND) * OPERATOR_PAY_BPS / 10_000;
    /// @dev The outcome each dispute was resolved with here (`verdictPayOf` rebuilds its signatures).
    mapping(bytes32 disputeId => IDisputeGame.Outcome) internal resolvedOutcome;

    ServiceManager internal sm;
    DisputeGame internal game;
    address internal treasury;
    address internal provider;
    address internal challenger;

    /// @dev Operators sorted by address, ascending, with their keys.
    address[] internal operators;
    uint256[] internal operatorKeys;

    /// @dev The tree of the last `buildTree` call.
    bytes[] internal leafData;
    bytes32[] internal leaves;

    function deployGame() internal {
        vm.warp(START);
        treasury = makeAddr("treasury");
        provider = makeAddr("provider");
        challenger = makeAddr("challenger");
        vm.deal(provider, 1000 ether);
        vm.deal(challenger, 1000 ether);
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        sm = new ServiceManager(predicted, treasury, UNBONDING_DELAY, MIN_STAKE);
        game = new DisputeGame(
            IOperatorSet(address(sm)),
            treasury,
            CHALLENGER_SHARE_BPS,
            QUORUM_BPS,
            REVEAL_WINDOW,
            VOTING_PERIOD
        );
        require(address(game) == predicted, "predicted game address");
    }

    /// @dev Registers `count` operators with `stakeEach` wei each and moves one second on, so
    /// their stake is in the past for disputes opened from now on.
    function registerOperators(uint256 count, uint256 stakeEach) internal {
        for (uint256 i; i < count; ++i) {
            uint256 key = uint256(keccak256(abi.encode("verbench operator", i)));
            address op = vm.addr(key);
            vm.deal(op, stakeEach + 10 ether);
            vm.prank(op);
            sm.registerOperator{value: stakeEach}();
            // Insertion sort by address.
            operators.push(op);
            operatorKeys.push(key);
            for (uint256 j = operators.length - 1; j > 0 && operators[j - 1] > operators[j]; --j) {
                (operators[j - 1], operators[j]) = (operators[j], operators[j - 1]);
                (operatorKeys[j - 1], operatorKeys[j]) = (operatorKeys[j], operatorKeys[j - 1]);
            }
        }
        vm.warp(block.timestamp + 1);
    }

    function defaultSpec(uint32 datasetSize) internal pure returns (IDisputeGame.TaskSpec memory spec) {
        spec.modelHash = keccak256("model: tinyllama-1.1b-chat.Q8_0.gguf");
        spec.manifestHash = keccak256("benchmark manifest");
        spec.datasetRoot = keccak256("dataset root");
        spec.datasetSize = datasetSize;
        spec.generation = IDisputeGame.GenerationParams({maxNewTokens: 256, temperatureMilli: 0, seed: 42});
        spec.toploc = IDisputeGame.ToplocParams({
            topk: 128,
            decodeBatchingSize: 32,
            maxMantErrMeanMilli: 10_000,
            maxMantErrMedianMilli: 8000,
            minExpMatches: 90,
            tokenMarginMilli: 0
        });
        spec.providerBond = PROVIDER_BOND;
        spec.challengerBond = CHALLENGER_BOND;
        spec.challengeWindow = CHALLENGE_WINDOW;
    }

    function registerTask(uint32 datasetSize) internal returns (bytes32 taskId) {
        taskId = game.registerTask(defaultSpec(datasetSize));
    }

    function inputHash(uint256 index) internal pure returns (bytes32) {
        return Merkle.hashLeaf(abi.encodePacked("input ", index));
    }

    /// @dev Every default leaf scores ITEM_SCORE, so a default tree's mean is the claimed 0.75e18.
    uint256 internal constant ITEM_SCORE = 0.75e18;

    function makeLeaf(bytes32 taskId, address who, uint256 index, uint256 n, uint256 salt)
        internal
        pure
        returns (bytes memory)
    {
        return makeScoredLeaf(taskId, who, index, n, salt, ITEM_SCORE, (index + 1) * ITEM_SCORE);
    }

    function makeScoredLeaf(
        bytes32 taskId,
        address who,
        uint256 index,
        uint256 n,
        uint256 salt,
        uint256 score,
        uint256 scoreSum
    ) internal pure returns (bytes memory) {
        return abi.encode(
            IDisputeGame.LeafV2({
                version: 2,
                taskId: taskId,
                provider: who,
                index: index,
                leafCount: n,
                inputHash: inputHash(index),
                outputHash: keccak256(abi.encode("output", index, salt)),
                toplocHash: keccak256(abi.encode("toploc", index, salt)),
                score: score,
                scoreSum: scoreSum
            })
        );
    }

    /// @dev Builds a tree of `n` well-formed leaves for (`taskId`, `who`) into leafData/leaves.
    function buildTree(bytes32 taskId, address who, uint256 n, uint256 salt) internal returns (bytes32 root) {
        delete leafData;
        delete leaves;
        for (uint256 i; i < n; ++i) {
            leafData.push(makeLeaf(taskId, who, i, n, salt));
            leaves.push(Merkle.hashLeaf(leafData[i]));
        }
        root = MerkleBuilder.root(leaves);
    }

    function proofOf(uint256 index) internal view returns (bytes32[] memory) {
        return MerkleBuilder.prove(leaves, index);
    }

    /// @dev Commits `root` for `taskId` as `who`, returning the id and the struct later calls need.
    function commitAs(address who, bytes32 taskId, bytes32 root, uint32 n)
        internal
        returns (bytes32 cid, IDisputeGame.Commitment memory c)
    {
        IDisputeGame.Task memory t = game.task(taskId);
        vm.prank(who);
        cid = game.commit{value: t.providerBond}(
            taskId, root, n, keccak256("bundle"), 123_456, 0.75e18, "ipfs://bafy-verbench-bundle"
        );
        c = IDisputeGame.Commitment({
            taskId: taskId,
            provider: who,
            root: root,
            leafCount: n,
            bond: t.providerBond,
            challengeDeadline: uint48(block.timestamp) + t.challengeWindow,
            bundleHash: keccak256("bundle"),
            bundleSize: 123_456,
            claimedScore: 0.75e18
        });
    }

    /// @dev Registers a task of DATASET_SIZE items, builds the provider's tree and commits it.
    function setUpCommitment()
        internal
        returns (bytes32 taskId, bytes32 cid, IDisputeGame.Commitment memory c)
    {
        taskId = registerTask(DATASET_SIZE);
        bytes32 root = buildTree(taskId, provider, DATASET_SIZE, 0);
        (cid, c) = commitAs(provider, taskId, root, DATASET_SIZE);
    }

    /// @dev The dispute struct the game stores right after `openDispute*` (leaf unknown or known).
    function expectedDispute(IDisputeGame.Commitment memory c, bytes32 cid, address who, uint32 index)
        internal
        view
        returns (IDisputeGame.Dispute memory d)
    {
        d.commitmentId = cid;
        d.taskId = c.taskId;
        d.provider = c.provider;
        d.challenger = who;
        d.root = c.root;
        d.leafCount = c.leafCount;
        d.leafIndex = index;
        d.providerBond = c.bond;
        d.challengerBond = game.task(c.taskId).challengerBond;
        d.snapshot = uint48(block.timestamp) - 1;
    }

    function openAwaiting(IDisputeGame.Commitment memory c, bytes32 cid, address who, uint32 index)
        internal
        returns (bytes32 did, IDisputeGame.Dispute memory d)
    {
        d = expectedDispute(c, cid, who, index);
        vm.prank(who);
        did = game.openDispute{value: d.challengerBond}(c, index);
        d.revealDeadline = uint48(block.timestamp) + REVEAL_WINDOW;
        d.status = IDisputeGame.DisputeStatus.AwaitingReveal;
    }

    function openWithLeaf(IDisputeGame.Commitment memory c, bytes32 cid, address who, uint32 index)
        internal
        returns (bytes32 did, IDisputeGame.Dispute memory d)
    {
        d = expectedDispute(c, cid, who, index);
        vm.prank(who);
        did = game.openDisputeWithLeaf{value: d.challengerBond}(c, index, leafData[index], proofOf(index));
        d.leafHash = leaves[index];
        d.voteDeadline = uint48(block.timestamp) + VOTING_PERIOD;
        d.status = IDisputeGame.DisputeStatus.Voting;
    }

    function reveal(IDisputeGame.Dispute memory d, address who)
        internal
        returns (IDisputeGame.Dispute memory)
    {
        vm.prank(who);
        game.revealLeaf(d, leafData[d.leafIndex], proofOf(d.leafIndex));
        d.leafHash = leaves[d.leafIndex];
        d.voteDeadline = uint48(block.timestamp) + VOTING_PERIOD;
        d.status = IDisputeGame.DisputeStatus.Voting;
        return d;
    }

    /// @dev A fresh copy (memory structs alias on assignment).
    function copyOf(IDisputeGame.Dispute memory d) internal pure returns (IDisputeGame.Dispute memory) {
        return abi.decode(abi.encode(d), (IDisputeGame.Dispute));
    }

    function signVerdict(uint256 key, bytes32 did, bytes32 leafHash, IDisputeGame.Outcome outcome)
        internal
        view
        returns (IDisputeGame.Sig memory sig)
    {
        bytes32 digest = game.verdictDigest(
            IDisputeGame.Verdict({disputeId: did, leafHash: leafHash, outcome: outcome})
        );
        (sig.r, sig.vs) = vm.signCompact(key, digest);
    }

    /// @dev Signatures of the first `count` operators (ascending) on a verdict.
    function sigsOf(uint256 count, bytes32 did, bytes32 leafHash, IDisputeGame.Outcome outcome)
        internal
        view
        returns (address[] memory signers, IDisputeGame.Sig[] memory sigs)
    {
        signers = new address[](count);
        sigs = new IDisputeGame.Sig[](count);
        for (uint256 i; i < count; ++i) {
            signers[i] = operators[i];
            sigs[i] = signVerdict(operatorKeys[i], did, leafHash, outcome);
        }
    }

    /// @dev What `claimVerdictPay` takes for a verdict the first `count` operators signed on `d`
    /// (with the outcome `resolveWith` gave it), whose eligible stake was `eligible`.
    function verdictPayOf(IDisputeGame.Dispute memory d, bytes32 did, uint256 count, uint256 eligible)
        internal
        view
        returns (IDisputeGame.VerdictPay memory v)
    {
        v.disputeId = did;
        v.snapshot = d.snapshot;
        v.pay = uint256(d.challengerBond) * OPERATOR_PAY_BPS / 10_000;
        v.stakeEligible = eligible;
        (v.signers, v.signatures) = sigsOf(count, did, d.leafHash, resolvedOutcome[did]);
    }

    /// @dev The last second `sealVerdict` accepts a seal on the voting dispute `d`.
    function sealDeadlineOf(IDisputeGame.Dispute memory d) internal pure returns (uint48) {
        return d.voteDeadline - VOTING_PERIOD / 4;
    }

    /// @dev The seal of a compact signature, as `sealVerdict` takes it.
    function sealOf(IDisputeGame.Sig memory sig) internal pure returns (bytes32) {
        return keccak256(abi.encode(sig.r, sig.vs));
    }

    /// @dev The first `count` operators seal their verdict `outcome` on the voting dispute `d`.
    function sealVerdicts(
        IDisputeGame.Dispute memory d,
        bytes32 did,
        IDisputeGame.Outcome outcome,
        uint256 count
    ) internal {
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) = sigsOf(count, did, d.leafHash, outcome);
        for (uint256 i; i < count; ++i) {
            vm.prank(signers[i]);
            game.sealVerdict(d, sealOf(sigs[i]));
        }
    }

    /// @dev Claims one verdict's pay on commitment `cid`.
    function claimOne(bytes32 cid, IDisputeGame.VerdictPay memory v) internal {
        IDisputeGame.VerdictPay[] memory vs = new IDisputeGame.VerdictPay[](1);
        vs[0] = v;
        game.claimVerdictPay(cid, vs);
    }

    /// @dev The first `count` operators seal (while sealing is open) and sign `outcome`; anyone resolves.
    function resolveWith(
        IDisputeGame.Dispute memory d,
        bytes32 did,
        IDisputeGame.Outcome outcome,
        uint256 count
    ) internal returns (IDisputeGame.Dispute memory) {
        if (block.timestamp <= sealDeadlineOf(d)) {
            sealVerdicts(d, did, outcome, count);
        }
        resolveUnsealed(d, did, outcome, count);
        d = copyOf(d);
        d.status = outcome == IDisputeGame.Outcome.ProviderAtFault
            ? IDisputeGame.DisputeStatus.ProviderAtFault
            : IDisputeGame.DisputeStatus.ChallengerWrong;
        return d;
    }

    /// @dev `resolveWith` without sealing first (whatever the operators sealed before stays).
    function resolveUnsealed(
        IDisputeGame.Dispute memory d,
        bytes32 did,
        IDisputeGame.Outcome outcome,
        uint256 count
    ) internal returns (IDisputeGame.Dispute memory) {
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) = sigsOf(count, did, d.leafHash, outcome);
        resolvedOutcome[did] = outcome;
        game.resolve(d, outcome, signers, sigs);
        d = copyOf(d);
        d.status = outcome == IDisputeGame.Outcome.ProviderAtFault
            ? IDisputeGame.DisputeStatus.ProviderAtFault
            : IDisputeGame.DisputeStatus.ChallengerWrong;
        return d;
    }
}

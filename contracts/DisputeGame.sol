// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDisputeGame} from "./interfaces/IDisputeGame.sol";
import {IOperatorSet} from "./interfaces/IOperatorSet.sol";
import {GameIds} from "./libraries/GameIds.sol";
import {Merkle} from "./libraries/Merkle.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title DisputeGame
/// @notice verbench's task registry, bonded result commitments and single-leaf dispute game
/// (docs/protocol.md). Tasks, commitments and disputes live in one contract because every
/// commitment reads its task and every dispute reads its commitment: one contract keeps those reads
/// warm and the commit path under its gas goal.
///
/// Storage is lean: a task is one slot; a commitment is one slot holding the hash of its struct
/// plus one slot of mutable state written only when it is disputed or finalized; a dispute is one
/// slot holding the hash of its struct. Callers pass the structs back in calldata (the events carry
/// them) and the contract checks them against the stored hash.
///
/// Nothing can be changed after deployment: no owner, no pause, no upgrade.
contract DisputeGame is IDisputeGame, EIP712, ReentrancyGuardTransient {
    /// @dev EIP-712 type of an operator's verdict.
    bytes32 private constant VERDICT_TYPEHASH =
        keccak256("Verdict(bytes32 disputeId,bytes32 leafHash,uint8 outcome)");
    /// @dev Leaf layout version and its exact byte length (abi.encode of 10 static words).
    uint256 private constant LEAF_VERSION = 2;
    uint256 private constant LEAF_LENGTH = 10 * 32;
    uint256 private constant BPS = 10_000;
    /// @dev A leaf's score is WAD fixed point in [0, 1e18]; a commitment without a claimed score says NO_SCORE.
    uint256 private constant WAD = 1e18;
    uint256 private constant NO_SCORE = type(uint256).max;
    /// @dev An equivocating operator loses all of its stake.
    uint256 private constant EQUIVOCATION_SLASH_WAD = 1e18;
    /// @dev A provider at fault that is also an operator loses this share of its operator stake
    /// (once per commitment), on top of its commitment bond.
    uint256 private constant PROVIDER_FAULT_SLASH_WAD = 0.1e18;
    /// @dev Share of a dispute's challenger bond paid to the operators whose verdict settled it,
    /// whichever way (docs/protocol.md, "Fees and operator pay").
    uint16 private constant OPERATOR_PAY_BPS = 2000;

    /// @dev `CommitmentState` as stored, in one slot: its fields, then the chain of the commitment's
    /// verdicts whose signers are not yet paid (`unpaidVerdicts`).
    struct StoredState {
        uint32 openDisputes;
        CommitmentStatus status;
        bool bondReleased;
        bytes26 unpaidVerdicts;
    }

    IOperatorSet private immutable _serviceManager;
    address private immutable _treasury;
    uint16 private immutable _challengerShareBps;
    uint16 private immutable _quorumBps;
    uint32 private immutable _revealWindow;
    uint32 private immutable _votingPeriod;

    mapping(bytes32 taskId => Task) private _tasks;
    mapping(bytes32 commitmentId => bytes32 structHash) private _commitments;
    mapping(bytes32 commitmentId => StoredState) private _commitmentStates;
    mapping(bytes32 disputeId => bytes32 structHash) private _disputes;
    /// @dev An account's credit slot holds 1 + its credit once opened, 0 before: `withdraw` leaves 1,
    /// so a slot written once is never zero again, and every later credit rewrites a non-zero slot
    /// (5k gas cold) instead of filling an empty one (22.1k). The treasury's slot is opened at
    /// deployment, a challenger's when it opens a dispute (docs/protocol.md, "Gas").
    mapping(address account => uint256 onePlusWei) private _credits;
    mapping(address operator => mapping(bytes32 disputeId => bool)) private _equivocations;
    /// @dev Written only for tasks with a fee: requester and amount in one slot (what `finalize`
    /// reads), `cancelledAt` in the next (written by `cancelFee`).
    mapping(bytes32 taskId => TaskFee) private _taskFees;
    /// @dev Operators' sealed verdicts (`sealVerdict`): keccak256 of the signature each will reveal.
    mapping(bytes32 disputeId => mapping(address operator => bytes32 seal)) private _seals;

    /// @param serviceManager_ The operator set; its `disputeGame()` must be this contract.
    /// @param treasury_ Receives the part of a faulty provider's bond not paid to the challenger.
    /// @param challengerShareBps_ Challenger's share of a faulty provider's bond, in (0, 10000).
    /// @param quorumBps_ Verdict threshold: strictly more than this share of eligible stake, in [5000, 10000).
    /// @param revealWindow_ Seconds a provider has to reveal a disputed leaf (> 0).
    /// @param votingPeriod_ Seconds operators have once the leaf is known (> 0).
    constructor(
        IOperatorSet serviceManager_,
        address treasury_,
        uint16 challengerShareBps_,
        uint16 quorumBps_,
        uint32 revealWindow_,
        uint32 votingPeriod_
    ) EIP712("verbench", "1") {
        if (
            address(serviceManager_) == address(0) || treasury_ == address(0) || challengerShareBps_ == 0
                || challengerShareBps_ >= BPS || quorumBps_ < BPS / 2 || quorumBps_ >= BPS
                || revealWindow_ == 0 || votingPeriod_ == 0 || serviceManager_.disputeGame() != address(this)
        ) revert InvalidParameter();
        _serviceManager = serviceManager_;
        _treasury = treasury_;
        _challengerShareBps = challengerShareBps_;
        _quorumBps = quorumBps_;
        _revealWindow = revealWindow_;
        _votingPeriod = votingPeriod_;
        _credits[treasury_] = 1;
    }

    // ---------------------------------------------------------------------------------------
    // Tasks and commitments
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IDisputeGame
    function registerTask(TaskSpec calldata spec) external payable returns (bytes32 taskId) {
        if (
            spec.datasetSize == 0 || spec.providerBond == 0 || spec.challengerBond == 0
                || spec.challengeWindow == 0 || spec.generation.maxNewTokens == 0 || spec.toploc.topk == 0
                || spec.toploc.decodeBatchingSize == 0
        ) revert InvalidTask();
        if (msg.value != spec.fee) revert WrongFee(msg.value, spec.fee);
        uint256 total = uint256(spec.challengeWindow) + _revealWindow + _votingPeriod;
        uint256 unbonding = _serviceManager.unbondingDelay();
        if (total > unbonding) revert WindowsExceedUnbonding(total, unbonding);
        taskId = GameIds.taskId(spec);
        if (_tasks[taskId].providerBond != 0) revert TaskExists(taskId);
        _tasks[taskId] = Task({
            providerBond: spec.providerBond,
            challengerBond: spec.challengerBond,
            challengeWindow: spec.challengeWindow,
            datasetSize: spec.datasetSize
        });
        emit TaskRegistered(taskId, msg.sender, spec);
        if (spec.fee != 0) {
            _taskFees[taskId] = TaskFee({requester: msg.sender, amount: spec.fee, cancelledAt: 0});
            emit FeeEscrowed(taskId, msg.sender, spec.fee);
        }
    }

    /// @inheritdoc IDisputeGame
    function cancelFee(bytes32 taskId) external returns (uint48 refundableAfter) {
        TaskFee storage f = _taskFees[taskId];
        if (f.amount == 0) revert NoFee(taskId);
        if (msg.sender != f.requester) revert NotRequester(msg.sender, f.requester);
        if (f.cancelledAt != 0) revert FeeAlreadyCancelled(f.cancelledAt);
        uint48 now_ = _now();
        f.cancelledAt = now_;
        refundableAfter = _refundableAfter(now_, _tasks[taskId].challengeWindow);
        emit FeeCancelled(taskId, now_, refundableAfter);
    }

    /// @inheritdoc IDisputeGame
    function refundFee(bytes32 taskId) external {
        TaskFee storage f = _taskFees[taskId];
        uint96 amount = f.amount;
        if (amount == 0) revert NoFee(taskId);
        uint48 cancelledAt = f.cancelledAt;
        uint48 refundableAfter =
            cancelledAt == 0 ? 0 : _refundableAfter(cancelledAt, _tasks[taskId].challengeWindow);
        if (cancelledAt == 0 || block.timestamp <= refundableAfter) revert FeeNotRefundable(refundableAfter);
        // The requester stays recorded, so the slot is rewritten, never cleared.
        f.amount = 0;
        address requester = f.requester;
        emit FeeRefunded(taskId, requester, amount);
        _credit(requester, taskId, amount);
    }

    /// @inheritdoc IDisputeGame
    function commit(
        bytes32 taskId,
        bytes32 root,
        uint32 leafCount,
        bytes32 bundleHash,
        uint64 bundleSize,
        uint256 claimedScore,
        string calldata uri
    ) external payable returns (bytes32 commitmentId) {
        Task memory t = _tasks[taskId];
        if (t.providerBond == 0) revert UnknownTask(taskId);
        if (leafCount != t.datasetSize) revert WrongLeafCount(leafCount, t.datasetSize);
        if (root == bytes32(0)) revert ZeroRoot();
        if (msg.value != t.providerBond) revert WrongBond(msg.value, t.providerBond);
        commitmentId = GameIds.commitmentId(taskId, msg.sender, root, leafCount);
        if (_commitments[commitmentId] != bytes32(0)) revert CommitmentExists(commitmentId);
        uint48 challengeDeadline = _now() + t.challengeWindow;
        // The provider's operator stake, if any, must still be slashable at the last second a
        // verdict on this commitment can slash it: a dispute opened at the challenge deadline,
        // revealed at its reveal deadline, resolved at its vote deadline (docs/protocol.md, "Timing
        // rule"). Stake that is active now satisfies this by the rule registerTask enforces; stake
        // already unbonding (or deallocating) may not.
        uint256 lastVerdict = uint256(challengeDeadline) + _revealWindow + _votingPeriod;
        uint48 slashableUntil = _serviceManager.slashableUntil(msg.sender);
        if (slashableUntil < lastVerdict) revert StakeUnbondsTooSoon(slashableUntil, lastVerdict);
        Commitment memory c = Commitment({
            taskId: taskId,
            provider: msg.sender,
            root: root,
            leafCount: leafCount,
            bond: t.providerBond,
            challengeDeadline: challengeDeadline,
            bundleHash: bundleHash,
            bundleSize: bundleSize,
            claimedScore: claimedScore
        });
        _commitments[commitmentId] = GameIds.hash(c);
        emit RootCommitted(commitmentId, taskId, msg.sender, c, uri);
    }

    /// @inheritdoc IDisputeGame
    function finalize(Commitment calldata commitment) external {
        bytes32 cid = _loadCommitment(commitment);
        StoredState memory s = _commitmentStates[cid];
        // A Frozen commitment (a dispute reached no quorum) is never accepted, but its bond is
        // released the same way once the window has closed with no dispute open.
        bool frozen = s.status == CommitmentStatus.Frozen && !s.bondReleased;
        if (s.status != CommitmentStatus.Active && !frozen) revert CommitmentNotActive(s.status);
        // Disputes are allowed while now <= challengeDeadline, finalizing only after it.
        if (block.timestamp <= commitment.challengeDeadline) {
            revert ChallengeWindowOpen(commitment.challengeDeadline);
        }
        if (s.openDisputes != 0) revert DisputesOpen(s.openDisputes);
        if (!frozen) s.status = CommitmentStatus.Finalized;
        s.bondReleased = true;
        _commitmentStates[cid] = s;
        uint256 amount = commitment.bond;
        if (!frozen) {
            emit CommitmentFinalized(cid, commitment.provider);
            amount += _takeFee(commitment, cid);
        }
        _credit(commitment.provider, cid, amount);
    }

    // ---------------------------------------------------------------------------------------
    // Disputes
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IDisputeGame
    function openDispute(Commitment calldata commitment, uint32 leafIndex)
        external
        payable
        returns (bytes32 disputeId)
    {
        Dispute memory d;
        (disputeId, d) = _open(commitment, leafIndex);
        d.revealDeadline = _now() + _revealWindow;
        d.status = DisputeStatus.AwaitingReveal;
        _disputes[disputeId] = GameIds.hash(d);
        emit DisputeOpened(disputeId, d.commitmentId, msg.sender, d);
    }

    /// @inheritdoc IDisputeGame
    function openDisputeWithLeaf(
        Commitment calldata commitment,
        uint32 leafIndex,
        bytes calldata leafData,
        bytes32[] calldata proof
    ) external payable returns (bytes32 disputeId) {
        Dispute memory d;
        (disputeId, d) = _open(commitment, leafIndex);
        bytes32 leaf = Merkle.hashLeafCalldata(leafData);
        if (!Merkle.verifyCalldata(proof, commitment.root, commitment.leafCount, leafIndex, leaf)) {
            revert InvalidProof();
        }
        d.leafHash = leaf;
        d.voteDeadline = _now() + _votingPeriod;
        d.status = DisputeStatus.Voting;
        emit DisputeOpened(disputeId, d.commitmentId, msg.sender, d);
        emit LeafRevealed(disputeId, msg.sender, leafData, d);
        if (_wellFormed(leafData, d.taskId, d.provider, leafIndex, d.leafCount)) {
            _disputes[disputeId] = GameIds.hash(d);
        } else {
            _close(disputeId, d, DisputeStatus.ProviderAtFault, Cause.MalformedLeaf, 0, 0, 0);
        }
    }

    /// @inheritdoc IDisputeGame
    function revealLeaf(Dispute calldata dispute, bytes calldata leafData, bytes32[] calldata proof)
        external
    {
        bytes32 did = _loadDispute(dispute);
        if (dispute.status != DisputeStatus.AwaitingReveal) revert WrongDisputeStatus(dispute.status);
        if (block.timestamp > dispute.revealDeadline) revert RevealDeadlinePassed(dispute.revealDeadline);
        bytes32 leaf = Merkle.hashLeafCalldata(leafData);
        if (!Merkle.verifyCalldata(proof, dispute.root, dispute.leafCount, dispute.leafIndex, leaf)) {
            revert InvalidProof();
        }
        Dispute memory d = dispute;
        d.leafHash = leaf;
        // The voting period starts when the leaf is known, so a last-second reveal cannot eat it.
        d.voteDeadline = _now() + _votingPeriod;
        d.status = DisputeStatus.Voting;
        emit LeafRevealed(did, msg.sender, leafData, d);
        if (_wellFormed(leafData, d.taskId, d.provider, d.leafIndex, d.leafCount)) {
            _disputes[did] = GameIds.hash(d);
        } else {
            _close(did, d, DisputeStatus.ProviderAtFault, Cause.MalformedLeaf, 0, 0, 0);
        }
    }

    /// @inheritdoc IDisputeGame
    function publishItem(
        Dispute calldata dispute,
        bytes calldata leafData,
        bytes calldata output,
        bytes calldata toploc
    ) external {
        bytes32 did = _loadDispute(dispute);
        if (dispute.status != DisputeStatus.Voting) revert WrongDisputeStatus(dispute.status);
        if (block.timestamp > dispute.voteDeadline) revert VotingClosed(dispute.voteDeadline);
        if (Merkle.hashLeafCalldata(leafData) != dispute.leafHash) revert LeafMismatch(dispute.leafHash);
        // A Voting dispute's leaf passed _wellFormed: 10 words; outputHash and toplocHash are words 6
        // and 7 (docs/protocol.md, "Leaf layout").
        (bytes32 outputHash, bytes32 toplocHash) = abi.decode(leafData[192:256], (bytes32, bytes32));
        if (keccak256(output) != outputHash || keccak256(toploc) != toplocHash) revert ItemMismatch();
        emit ItemPublished(did, msg.sender, output, toploc);
    }

    /// @inheritdoc IDisputeGame
    function claimWithheld(Dispute calldata dispute) external {
        bytes32 did = _loadDispute(dispute);
        if (dispute.status != DisputeStatus.AwaitingReveal) revert WrongDisputeStatus(dispute.status);
        if (block.timestamp <= dispute.revealDeadline) {
            revert RevealDeadlineNotPassed(dispute.revealDeadline);
        }
        _close(did, dispute, DisputeStatus.ProviderAtFault, Cause.Withheld, 0, 0, 0);
    }

    /// @inheritdoc IDisputeGame
    function resolve(
        Dispute calldata dispute,
        Outcome outcome,
        address[] calldata signers,
        Sig[] calldata signatures
    ) external {
        bytes32 did = _loadDispute(dispute);
        if (dispute.status != DisputeStatus.Voting) revert WrongDisputeStatus(dispute.status);
        if (block.timestamp > dispute.voteDeadline) revert VotingClosed(dispute.voteDeadline);
        if (outcome == Outcome.None) revert InvalidOutcome();
        uint256 stakeFor = 0;
        // A scope of its own keeps the loop's locals off the stack for the payout below.
        {
            uint256 n = signers.length;
            if (n == 0 || n != signatures.length) revert LengthMismatch();

            bytes32 digest = _verdictDigest(did, dispute.leafHash, outcome);
            uint48 snapshot = dispute.snapshot;
            address previous = address(0);
            // Bounded by the caller's own calldata; signers are distinct operators (strictly ascending).
            for (uint256 i; i < n; ++i) {
                address signer = signers[i];
                if (signer <= previous) revert SignersNotSorted(i);
                previous = signer;
                if (signer == dispute.provider || signer == dispute.challenger) {
                    revert ExcludedSigner(signer);
                }
                // slither-disable-next-line unused-return (the third value only details `err`)
                (address recovered, ECDSA.RecoverError err,) =
                    ECDSA.tryRecover(digest, signatures[i].r, signatures[i].vs);
                if (err != ECDSA.RecoverError.NoError || recovered != signer) {
                    revert InvalidSignature(signer);
                }
                // Stake at the snapshot, none if slashed since (IOperatorSet.voteWeightAt).
                uint256 weight = _serviceManager.voteWeightAt(signer, snapshot);
                if (weight == 0) revert NotOperator(signer);
                stakeFor += weight;
            }
        }
        uint256 eligible = _eligibleStake(dispute);
        if (stakeFor * BPS <= eligible * _quorumBps) revert QuorumNotReached(stakeFor, eligible);

        // What `claimVerdictPay` will need to pay these signers, chained into the commitment's state
        // by `_close` (no slot of its own: resolve stays under its gas goal).
        bytes32 entry = _verdictEntry(
            did, dispute.snapshot, _verdictPay(dispute.challengerBond), eligible, signers, signatures
        );
        DisputeStatus status = outcome == Outcome.ProviderAtFault
            ? DisputeStatus.ProviderAtFault
            : DisputeStatus.ChallengerWrong;
        _close(did, dispute, status, Cause.Verdict, stakeFor, eligible, entry);
    }

    /// @inheritdoc IDisputeGame
    function expire(Dispute calldata dispute) external {
        bytes32 did = _loadDispute(dispute);
        if (dispute.status != DisputeStatus.Voting) revert WrongDisputeStatus(dispute.status);
        if (block.timestamp <= dispute.voteDeadline) revert VotingOpen(dispute.voteDeadline);
        _close(did, dispute, DisputeStatus.Expired, Cause.NoQuorum, 0, 0, 0);
    }

    /// @inheritdoc IDisputeGame
    function sealVerdict(Dispute calldata dispute, bytes32 seal) external {
        bytes32 did = _loadDispute(dispute);
        if (dispute.status != DisputeStatus.Voting) revert WrongDisputeStatus(dispute.status);
        // voteDeadline = leaf known + votingPeriod, so this does not underflow.
        uint48 sealDeadline = dispute.voteDeadline - _votingPeriod / 4;
        if (block.timestamp > sealDeadline) revert SealingClosed(sealDeadline);
        if (seal == 0 || _seals[did][msg.sender] != 0) revert AlreadySealed(did, msg.sender);
        _seals[did][msg.sender] = seal;
        emit VerdictSealed(did, msg.sender, seal);
    }

    /// @inheritdoc IDisputeGame
    function claimVerdictPay(bytes32 commitmentId, VerdictPay[] calldata verdicts) external {
        StoredState storage s = _commitmentStates[commitmentId];
        bytes26 unpaid = s.unpaidVerdicts;
        // Bounded by the caller's own calldata; the chain check below makes it exactly the unpaid set.
        uint256 n = verdicts.length;
        bytes26 chain = 0;
        for (uint256 i; i < n; ++i) {
            VerdictPay calldata v = verdicts[i];
            chain = _chain(
                chain, _verdictEntry(v.disputeId, v.snapshot, v.pay, v.stakeEligible, v.signers, v.signatures)
            );
        }
        if (unpaid == bytes26(0) || chain != unpaid) revert VerdictPayMismatch(commitmentId);
        // Paid once: the chain restarts empty before anything is credited.
        s.unpaidVerdicts = bytes26(0);
        for (uint256 i; i < n; ++i) {
            _payVerdict(verdicts[i]);
        }
    }

    /// @inheritdoc IDisputeGame
    function reportEquivocation(
        address operator,
        Verdict calldata a,
        Sig calldata sigA,
        Verdict calldata b,
        Sig calldata sigB
    ) external {
        if (a.disputeId != b.disputeId || (a.leafHash == b.leafHash && a.outcome == b.outcome)) {
            revert NotEquivocation();
        }
        if (
            _recover(_verdictDigest(a.disputeId, a.leafHash, a.outcome), sigA) != operator
                || _recover(_verdictDigest(b.disputeId, b.leafHash, b.outcome), sigB) != operator
                || operator == address(0)
        ) revert NotEquivocation();
        if (_equivocations[operator][a.disputeId]) revert EquivocationAlreadyReported(operator, a.disputeId);
        _equivocations[operator][a.disputeId] = true;
        uint256 amount =
            _serviceManager.slash(operator, EQUIVOCATION_SLASH_WAD, "verbench: equivocating verdicts");
        emit EquivocationSlashed(operator, a.disputeId, msg.sender, amount);
    }

    /// @inheritdoc IDisputeGame
    function proveScoreFault(
        Commitment calldata commitment,
        uint32 leafIndex,
        bytes calldata leafData,
        bytes32[] calldata proof,
        bytes calldata nextLeafData,
        bytes32[] calldata nextProof
    ) external {
        bytes32 cid = _loadProvable(commitment);
        (ScoreFault fault, uint32 at) =
            _scoreFault(commitment, leafIndex, leafData, proof, nextLeafData, nextProof);
        if (fault == ScoreFault.None) revert NoScoreFault();
        _rejectForScore(commitment, cid, fault, at);
    }

    /// @inheritdoc IDisputeGame
    function withdraw() external nonReentrant {
        uint256 stored = _credits[msg.sender];
        if (stored <= 1) revert NothingToWithdraw();
        // The slot stays open (1 = no credit): the next credit to this account is a cheap rewrite.
        _credits[msg.sender] = 1;
        uint256 amount;
        unchecked {
            amount = stored - 1;
        }
        emit Withdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IDisputeGame
    function task(bytes32 taskId) external view returns (Task memory) {
        return _tasks[taskId];
    }

    /// @inheritdoc IDisputeGame
    function taskIdOf(TaskSpec calldata spec) external view returns (bytes32) {
        return GameIds.taskId(spec);
    }

    /// @inheritdoc IDisputeGame
    function commitmentIdOf(bytes32 taskId, address provider, bytes32 root, uint32 leafCount)
        external
        view
        returns (bytes32)
    {
        return GameIds.commitmentId(taskId, provider, root, leafCount);
    }

    /// @inheritdoc IDisputeGame
    function disputeIdOf(bytes32 commitmentId, uint32 leafIndex) external pure returns (bytes32) {
        return GameIds.disputeId(commitmentId, leafIndex);
    }

    /// @inheritdoc IDisputeGame
    function commitmentHash(bytes32 commitmentId) external view returns (bytes32) {
        return _commitments[commitmentId];
    }

    /// @inheritdoc IDisputeGame
    function commitmentState(bytes32 commitmentId) external view returns (CommitmentState memory) {
        StoredState storage s = _commitmentStates[commitmentId];
        return CommitmentState({openDisputes: s.openDisputes, status: s.status, bondReleased: s.bondReleased});
    }

    /// @inheritdoc IDisputeGame
    function unpaidVerdicts(bytes32 commitmentId) external view returns (bytes32) {
        return bytes32(_commitmentStates[commitmentId].unpaidVerdicts);
    }

    /// @inheritdoc IDisputeGame
    function taskFee(bytes32 taskId) external view returns (TaskFee memory) {
        return _taskFees[taskId];
    }

    /// @inheritdoc IDisputeGame
    function operatorPayBps() external pure returns (uint16) {
        return OPERATOR_PAY_BPS;
    }

    /// @inheritdoc IDisputeGame
    function disputeHash(bytes32 disputeId) external view returns (bytes32) {
        return _disputes[disputeId];
    }

    /// @inheritdoc IDisputeGame
    function verdictSeal(bytes32 disputeId, address operator) external view returns (bytes32) {
        return _seals[disputeId][operator];
    }

    /// @inheritdoc IDisputeGame
    function verdictDigest(Verdict calldata verdict) external view returns (bytes32) {
        return _verdictDigest(verdict.disputeId, verdict.leafHash, verdict.outcome);
    }

    /// @inheritdoc IDisputeGame
    function leafHashOf(LeafV2 calldata leaf) external pure returns (bytes32) {
        return Merkle.hashLeaf(abi.encode(leaf));
    }

    /// @inheritdoc IDisputeGame
    function credit(address account) external view returns (uint256) {
        uint256 stored = _credits[account];
        // An open slot holds 1 + the credit (see `_credits`).
        unchecked {
            return stored == 0 ? 0 : stored - 1;
        }
    }

    /// @inheritdoc IDisputeGame
    function serviceManager() external view returns (address) {
        return address(_serviceManager);
    }

    /// @inheritdoc IDisputeGame
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IDisputeGame
    function challengerShareBps() external view returns (uint16) {
        return _challengerShareBps;
    }

    /// @inheritdoc IDisputeGame
    function quorumBps() external view returns (uint16) {
        return _quorumBps;
    }

    /// @inheritdoc IDisputeGame
    function revealWindow() external view returns (uint32) {
        return _revealWindow;
    }

    /// @inheritdoc IDisputeGame
    function votingPeriod() external view returns (uint32) {
        return _votingPeriod;
    }

    // ---------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------

    /// @dev Checks and records a new dispute on `commitment`'s leaf `leafIndex` (not yet stored).
    function _open(Commitment calldata commitment, uint32 leafIndex)
        private
        returns (bytes32 disputeId, Dispute memory d)
    {
        bytes32 cid = _loadCommitment(commitment);
        StoredState storage s = _commitmentStates[cid];
        // A Frozen commitment stays disputable for the rest of its window: an expired dispute
        // (no quorum) must not shield the other leaves from challengers.
        if (s.status != CommitmentStatus.Active && s.status != CommitmentStatus.Frozen) {
            revert CommitmentNotActive(s.status);
        }
        if (block.timestamp > commitment.challengeDeadline) {
            revert ChallengeWindowClosed(commitment.challengeDeadline);
        }
        if (leafIndex >= commitment.leafCount) revert LeafIndexOutOfRange(leafIndex, commitment.leafCount);
        uint96 challengerBond = _tasks[commitment.taskId].challengerBond;
        if (msg.value != challengerBond) revert WrongBond(msg.value, challengerBond);
        disputeId = GameIds.disputeId(cid, leafIndex);
        if (_disputes[disputeId] != bytes32(0)) revert DisputeExists(disputeId);
        // At most one dispute per leaf and leafCount < 2^32, so the counter cannot overflow.
        unchecked {
            s.openDisputes += 1;
        }
        // The challenger is paid by credit whenever its dispute ends in its favour: opening its slot
        // now (once per account, ever) keeps the 20k of a fresh slot off the transaction that
        // settles the dispute, which someone else may send.
        _openCredit(msg.sender);
        d.commitmentId = cid;
        d.taskId = commitment.taskId;
        d.provider = commitment.provider;
        d.challenger = msg.sender;
        d.root = commitment.root;
        d.leafCount = commitment.leafCount;
        d.leafIndex = leafIndex;
        d.providerBond = commitment.bond;
        d.challengerBond = challengerBond;
        // Stake is weighed at the second before the dispute opened: nothing bought in this block counts.
        d.snapshot = _now() - 1;
    }

    /// @dev Ends a dispute: pays by credit, updates the commitment, stores the final dispute hash.
    /// A verdict (`cause == Verdict`) sets its signers' pay aside and chains `entry` (what
    /// `claimVerdictPay` needs to pay them) into the commitment's unpaid verdicts.
    function _close(
        bytes32 did,
        Dispute memory d,
        DisputeStatus status,
        Cause cause,
        uint256 stakeFor,
        uint256 eligible,
        bytes32 entry
    ) private {
        bytes32 cid = d.commitmentId;
        StoredState memory s = _commitmentStates[cid];
        // This dispute was counted when it opened and is closed exactly once.
        unchecked {
            s.openDisputes -= 1;
        }
        // Only a verdict pays operators: no vote was needed for a withheld or malformed leaf.
        uint256 pay = 0;
        if (cause == Cause.Verdict) {
            pay = _verdictPay(d.challengerBond);
            s.unpaidVerdicts = _chain(s.unpaidVerdicts, entry);
        }
        bool slashProvider = false;
        if (status == DisputeStatus.ProviderAtFault) {
            uint256 reward = d.challengerBond;
            uint256 toTreasury = 0;
            if (!s.bondReleased) {
                s.bondReleased = true;
                slashProvider = true;
                uint256 share = uint256(d.providerBond) * _challengerShareBps / BPS;
                reward += share;
                // share <= providerBond because _challengerShareBps < BPS.
                unchecked {
                    toTreasury = d.providerBond - share;
                }
            }
            // The loser pays the verdict: out of the provider bond's treasury part, and out of the
            // challenger's reward only for what that part lacks (a bond already paid out by an earlier
            // fault, or a provider bond too small). pay <= challengerBond <= reward, so nothing wraps.
            unchecked {
                if (toTreasury >= pay) {
                    toTreasury -= pay;
                } else {
                    reward -= pay - toTreasury;
                    toTreasury = 0;
                }
            }
            _credit(_treasury, did, toTreasury);
            _credit(d.challenger, did, reward);
            if (s.status != CommitmentStatus.Rejected) {
                s.status = CommitmentStatus.Rejected;
                emit CommitmentRejected(cid, did);
            }
        } else if (status == DisputeStatus.ChallengerWrong) {
            // The challenger bond pays the verdict and, for the rest, the provider back for revealing;
            // pay < challengerBond (OPERATOR_PAY_BPS < BPS).
            unchecked {
                _credit(d.provider, did, d.challengerBond - pay);
            }
        } else {
            // No verdict was submitted in time. The challenger bond is not refunded: it goes to the
            // treasury. A refund let a griefer dispute an honest leaf for free whenever nobody sent
            // `resolve`, freezing the commitment; now whoever is right submits the verdict (it pays
            // them), and an unresolved dispute costs the party that opened it (docs/protocol.md,
            // "Griefing").
            _credit(_treasury, did, d.challengerBond);
            if (s.status == CommitmentStatus.Active) {
                s.status = CommitmentStatus.Frozen;
                emit CommitmentFrozen(cid, did);
            }
        }
        _commitmentStates[cid] = s;
        d.status = status;
        _disputes[did] = GameIds.hash(d);
        emit DisputeResolved(did, cid, cause, stakeFor, eligible, d);
        if (slashProvider) {
            // Last, after every state write: the service manager is trusted (immutable, set at
            // deployment) and returns 0 when the provider has no operator stake.
            uint256 amount =
                _serviceManager.slash(d.provider, PROVIDER_FAULT_SLASH_WAD, "verbench: provider at fault");
            if (amount != 0) emit ProviderStakeSlashed(did, d.provider, amount);
        }
    }

    /// @dev Credits each of one verdict's signers that sealed the signature `resolve` counted
    /// `pay * weight / stakeEligible` (its vote weight now, at most what it was when it voted: none if
    /// slashed since) and the treasury the rest.
    function _payVerdict(VerdictPay calldata v) private {
        uint256 pay = v.pay;
        uint256 paid = 0;
        uint256 m = v.signers.length;
        // Bounded by the signers `resolve` counted (the caller's calldata there); the entry binds one
        // signature to each.
        for (uint256 j; j < m; ++j) {
            address signer = v.signers[j];
            // An unsealed (or late, or other) verdict forfeits its share: it may have been copied.
            if (_seals[v.disputeId][signer] != keccak256(abi.encode(v.signatures[j]))) continue;
            uint256 amount = pay * _serviceManager.voteWeightAt(signer, v.snapshot) / v.stakeEligible;
            // Distinct signers' weights sum to at most the eligible stake, so this never binds; it
            // keeps the pay within what was set aside whatever the operator set answers.
            if (amount > pay - paid) amount = pay - paid;
            paid += amount;
            _credit(signer, v.disputeId, amount);
        }
        emit VerdictPayClaimed(v.disputeId, paid, pay - paid);
        _credit(_treasury, v.disputeId, pay - paid);
    }

    /// @dev The fee `commitment` earns now that it is accepted (0 if none), taken out of escrow.
    function _takeFee(Commitment calldata commitment, bytes32 cid) private returns (uint256 fee) {
        bytes32 taskId = commitment.taskId;
        TaskFee storage f = _taskFees[taskId];
        fee = f.amount;
        if (fee == 0) return 0;
        uint48 cancelledAt = f.cancelledAt;
        if (cancelledAt != 0) {
            uint32 window = _tasks[taskId].challengeWindow;
            // challengeDeadline = commit time + window (set by `commit`), so this cannot underflow.
            uint256 committedAt;
            unchecked {
                committedAt = commitment.challengeDeadline - window;
            }
            if (committedAt > cancelledAt || block.timestamp > _refundableAfter(cancelledAt, window)) {
                return 0;
            }
        }
        // The requester stays recorded, so the slot is rewritten, never cleared.
        f.amount = 0;
        emit FeePaid(taskId, cid, commitment.provider, fee);
    }

    /// @dev The last second a commitment made at `cancelledAt` can still earn its task's fee: its last
    /// verdict (challenge window + reveal window + voting period) plus one reveal window to finalize.
    function _refundableAfter(uint48 cancelledAt, uint32 challengeWindow) private view returns (uint48) {
        return cancelledAt + challengeWindow + _revealWindow + _votingPeriod + _revealWindow;
    }

    /// @dev A verdict's entry in its commitment's unpaid-verdict chain (`unpaidVerdicts`):
    /// keccak256(abi.encode(did, snapshot, pay, eligible, keccak256(abi.encodePacked(signers)),
    /// keccak256(abi.encode(signatures)[64:]))), the last being the signatures' (r, vs) words in order,
    /// in assembly because the compiler's copy of a calldata array costs ~1.5k gas in `resolve`. The
    /// signers' words are hashed as they are in calldata, which is their abi.encodePacked form once
    /// clean; a dirty one makes `resolve` and `_payVerdict` revert when they read it.
    function _verdictEntry(
        bytes32 did,
        uint48 snapshot,
        uint256 pay,
        uint256 eligible,
        address[] calldata signers,
        Sig[] calldata signatures
    ) private pure returns (bytes32 entry) {
        assembly ("memory-safe") {
            // Scratch memory past the free memory pointer, not allocated: nothing is kept there.
            let m := mload(0x40)
            let len := shl(5, signers.length)
            calldatacopy(m, signers.offset, len)
            let signersHash := keccak256(m, len)
            len := shl(6, signatures.length)
            calldatacopy(m, signatures.offset, len)
            let signaturesHash := keccak256(m, len)
            mstore(m, did)
            mstore(add(m, 0x20), and(snapshot, 0xffffffffffff))
            mstore(add(m, 0x40), pay)
            mstore(add(m, 0x60), eligible)
            mstore(add(m, 0x80), signersHash)
            mstore(add(m, 0xa0), signaturesHash)
            entry := keccak256(m, 0xc0)
        }
    }

    /// @dev The unpaid-verdict chain after `entry`: the first 26 bytes of keccak256(abi.encode(previous,
    /// entry)), `previous` left-aligned in 32 bytes.
    function _chain(bytes26 previous, bytes32 entry) private pure returns (bytes26 next) {
        bytes32 h;
        assembly ("memory-safe") {
            // The scratch space (0x00-0x3f) holds the two words being hashed. A bytes26 is left-aligned
            // and its low 6 bytes need not be clean in assembly: clear them.
            mstore(0x00, and(previous, not(0xffffffffffff)))
            mstore(0x20, entry)
            h := keccak256(0x00, 0x40)
        }
        // The truncation is the chain's definition: its first 26 bytes share the slot with the state.
        // forge-lint: disable-next-line(unsafe-typecast)
        next = bytes26(h);
    }

    /// @dev What a verdict's signers are paid: OPERATOR_PAY_BPS of the challenger bond.
    function _verdictPay(uint96 challengerBond) private pure returns (uint256) {
        return uint256(challengerBond) * OPERATOR_PAY_BPS / BPS;
    }

    function _credit(address account, bytes32 ref, uint256 amount) private {
        if (amount == 0) return;
        uint256 stored = _credits[account];
        // An unopened slot (0) is opened here: 1 + amount.
        _credits[account] = (stored == 0 ? 1 : stored) + amount;
        emit Credited(account, ref, amount);
    }

    /// @dev Opens `account`'s credit slot (1 = no credit) if it never held credit, so that paying it
    /// later rewrites a non-zero slot.
    function _openCredit(address account) private {
        if (_credits[account] == 0) _credits[account] = 1;
    }

    /// @dev Checkpointed stake that may vote: everyone's but the provider's and the challenger's.
    function _eligibleStake(Dispute calldata d) private view returns (uint256 eligible) {
        uint48 snapshot = d.snapshot;
        eligible = _serviceManager.totalStakeAt(snapshot) - _serviceManager.stakeAt(d.provider, snapshot);
        if (d.challenger != d.provider) eligible -= _serviceManager.stakeAt(d.challenger, snapshot);
    }

    /// @dev Whether a leaf's header matches the position it was proven at (docs/protocol.md, "Leaf
    /// layout"). A leaf that is in the provider's tree but malformed proves the provider at fault
    /// without a vote.
    function _wellFormed(
        bytes calldata leafData,
        bytes32 taskId,
        address provider,
        uint256 index,
        uint256 leafCount
    ) private pure returns (bool) {
        if (leafData.length != LEAF_LENGTH) return false;
        (uint256 version, bytes32 leafTask, uint256 leafProvider, uint256 leafIndex, uint256 leafLeafCount) =
            abi.decode(leafData[:160], (uint256, bytes32, uint256, uint256, uint256));
        return version == LEAF_VERSION && leafTask == taskId && leafProvider == uint256(uint160(provider))
            && leafIndex == index && leafLeafCount == leafCount;
    }

    /// @dev Loads a commitment that a score proof may still reject: Active or Frozen (Frozen ones stay
    /// provable, as they stay disputable), within its challenge window.
    function _loadProvable(Commitment calldata c) private view returns (bytes32 cid) {
        cid = _loadCommitment(c);
        CommitmentStatus status = _commitmentStates[cid].status;
        if (status != CommitmentStatus.Active && status != CommitmentStatus.Frozen) {
            revert CommitmentNotActive(status);
        }
        if (block.timestamp > c.challengeDeadline) revert ChallengeWindowClosed(c.challengeDeadline);
    }

    /// @dev The first score fault the given leaf (and its successor, when given) show, and where.
    function _scoreFault(
        Commitment calldata c,
        uint32 leafIndex,
        bytes calldata leafData,
        bytes32[] calldata proof,
        bytes calldata nextLeafData,
        bytes32[] calldata nextProof
    ) private pure returns (ScoreFault fault, uint32 at) {
        fault = _leafScoreFault(c, leafIndex, leafData, proof);
        at = leafIndex;
        if (fault != ScoreFault.None || nextLeafData.length == 0) return (fault, at);
        // leafIndex < leafCount <= type(uint32).max was checked above, so this cannot overflow.
        uint32 next;
        unchecked {
            next = leafIndex + 1;
        }
        fault = _leafScoreFault(c, next, nextLeafData, nextProof);
        if (fault != ScoreFault.None) return (fault, next);
        if (!_stepHolds(leafData, nextLeafData)) fault = ScoreFault.Step;
    }

    /// @dev Rejects a commitment whose scores were shown wrong: the prover gets the challenger's
    /// share of the bond, the treasury the rest, and the provider's operator stake (if any) is slashed.
    function _rejectForScore(Commitment calldata c, bytes32 cid, ScoreFault fault, uint32 at) private {
        address provider = c.provider;
        uint96 bond = c.bond;
        StoredState memory s = _commitmentStates[cid];
        s.status = CommitmentStatus.Rejected;
        // Within the window an Active or Frozen commitment still holds its bond; the check keeps the
        // payout exactly-once even so.
        bool pay = !s.bondReleased;
        s.bondReleased = true;
        _commitmentStates[cid] = s;
        emit ScoreFaultProven(cid, msg.sender, fault, at);
        emit CommitmentRejected(cid, bytes32(0));
        if (!pay) return;
        uint256 share = uint256(bond) * _challengerShareBps / BPS;
        _credit(msg.sender, cid, share);
        // share <= bond because _challengerShareBps < BPS.
        unchecked {
            _credit(_treasury, cid, bond - share);
        }
        // Last, after every state write (as in _close); the service manager is trusted.
        uint256 amount =
            _serviceManager.slash(provider, PROVIDER_FAULT_SLASH_WAD, "verbench: provider score fault");
        if (amount != 0) emit ProviderStakeSlashed(bytes32(0), provider, amount);
    }

    /// @dev The score fault that leaf `index` of `c` shows on its own (None if none), after checking
    /// that `leafData` is that leaf. Reverts if the index is out of range or the proof fails.
    function _leafScoreFault(
        Commitment calldata c,
        uint32 index,
        bytes calldata leafData,
        bytes32[] calldata proof
    ) private pure returns (ScoreFault) {
        if (index >= c.leafCount) revert LeafIndexOutOfRange(index, c.leafCount);
        if (!Merkle.verifyCalldata(proof, c.root, c.leafCount, index, Merkle.hashLeafCalldata(leafData))) {
            revert InvalidProof();
        }
        if (!_wellFormed(leafData, c.taskId, c.provider, index, c.leafCount)) {
            return ScoreFault.MalformedLeaf;
        }
        (uint256 score, uint256 sum) = _scores(leafData);
        if (score > WAD) return ScoreFault.ScoreAboveOne;
        if (index == 0 && sum != score) return ScoreFault.FirstSum;
        // The claimed aggregate is the floor of the mean: floor(sum of all scores / leafCount).
        if (index == c.leafCount - 1 && c.claimedScore != NO_SCORE && sum / c.leafCount != c.claimedScore) {
            return ScoreFault.Aggregate;
        }
        return ScoreFault.None;
    }

    /// @dev Whether next.scoreSum == prev.scoreSum + next.score, without overflow (both well-formed).
    function _stepHolds(bytes calldata prevData, bytes calldata nextData) private pure returns (bool) {
        (, uint256 prevSum) = _scores(prevData);
        (uint256 score, uint256 sum) = _scores(nextData);
        return sum >= prevSum && sum - prevSum == score;
    }

    /// @dev Words 8 and 9 of a well-formed leaf: score and scoreSum.
    function _scores(bytes calldata leafData) private pure returns (uint256 score, uint256 sum) {
        (score, sum) = abi.decode(leafData[256:320], (uint256, uint256));
    }

    function _loadCommitment(Commitment calldata c) private view returns (bytes32 cid) {
        cid = GameIds.commitmentId(c.taskId, c.provider, c.root, c.leafCount);
        if (_commitments[cid] != GameIds.hashCalldata(c)) revert CommitmentMismatch(cid);
    }

    function _loadDispute(Dispute calldata d) private view returns (bytes32 did) {
        did = GameIds.disputeId(d.commitmentId, d.leafIndex);
        if (_disputes[did] != GameIds.hashCalldata(d)) revert DisputeMismatch(did);
    }

    function _verdictDigest(bytes32 disputeId, bytes32 leafHash, Outcome outcome)
        private
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(VERDICT_TYPEHASH, disputeId, leafHash, outcome)));
    }

    function _recover(bytes32 digest, Sig calldata sig) private pure returns (address signer) {
        // A failed recovery yields address(0), which callers reject (slither: the error detail is unused).
        // slither-disable-next-line unused-return
        (signer,,) = ECDSA.tryRecover(digest, sig.r, sig.vs);
    }

    /// @dev The current timestamp; timestamps fit in 48 bits for millions of years.
    function _now() private view returns (uint48) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint48(block.timestamp);
    }
}

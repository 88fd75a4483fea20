// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IDisputeGame
/// @notice verbench's task registry, result commitments and single-leaf dispute game (specification:
/// docs/protocol.md). A task fixes what is computed and how it is judged; a provider commits the
/// Merkle root over one leaf per dataset item with a bond; during the challenge window anyone may
/// dispute ONE leaf with a challenger bond; the AVS's operators recompute that leaf off chain and
/// sign an EIP-712 verdict, which anyone submits; the loser's bond is paid out by pull. A task may
/// carry a fee, escrowed by its requester, that the first accepted result earns; the operators
/// whose signatures settled a dispute are paid from the loser's bond ("Fees and operator pay").
/// All times are unix timestamps (seconds). Self-contained: read by Rust's `sol!`.
interface IDisputeGame {
    // ---------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------

    /// @notice Sampling parameters. `temperatureMilli == 0` means greedy decoding (seed unused).
    struct GenerationParams {
        uint32 maxNewTokens;
        uint32 temperatureMilli;
        uint64 seed;
    }

    /// @notice TOPLOC proof and validation parameters (crates/toploc `ProofParams`, `Thresholds`);
    /// the mantissa limits are fixed point with three decimals (10.0 = 10000).
    /// `tokenMarginMilli` is the token check's margin in thousandths of a logit. Every judge uses the
    /// task's limits as they are and no setting of its own (0: the claimed token must be the exact
    /// recomputed argmax); calibrated limits come from the calibration file whose keccak256 is the
    /// task's `calibrationHash` (docs/calibration.md).
    struct ToplocParams {
        uint32 topk;
        uint32 decodeBatchingSize;
        uint32 maxMantErrMeanMilli;
        uint32 maxMantErrMedianMilli;
        uint32 minExpMatches;
        uint32 tokenMarginMilli;
    }

    /// @notice Everything a task fixes (layout version 2). The task id is
    /// keccak256(abi.encode(chainid, game, spec)), so it changes when any field changes.
    /// @param modelHash Content hash of the model weights file.
    /// @param manifestHash Hash of the benchmark manifest (docs/manifest.md): what the dataset items and
    /// their reference answers are, how prompts are formatted and how outputs are scored.
    /// @param datasetRoot Merkle root (docs/merkle.md) over the dataset's inputs: leaf i = hashLeaf(input i).
    /// @param datasetSize Number of dataset items, which is also every commitment's leaf count.
    /// @param calibrationHash keccak256 of the calibration file (docs/calibration.md) the TOPLOC limits
    /// and token margin were taken from: the measurements and false-positive targets behind them;
    /// 0 when the limits were not calibrated.
    /// @param providerBond Exact bond a provider posts with each commitment (wei, > 0).
    /// @param challengerBond Exact bond a challenger posts with each dispute (wei, > 0); it must cover
    /// a provider's cost of revealing a leaf.
    /// @param challengeWindow Seconds after a commitment during which its leaves can be disputed.
    /// @param fee Wei the requester escrows with `registerTask` (`msg.value == fee`); paid to the provider
    /// of the first commitment on the task that finalizes while the offer holds (0: no fee).
    struct TaskSpec {
        bytes32 modelHash;
        bytes32 manifestHash;
        bytes32 datasetRoot;
        uint32 datasetSize;
        GenerationParams generation;
        ToplocParams toploc;
        bytes32 calibrationHash;
        uint96 providerBond;
        uint96 challengerBond;
        uint32 challengeWindow;
        uint96 fee;
    }

    /// @notice The part of a task the contract stores (one slot). A task exists iff providerBond > 0.
    struct Task {
        uint96 providerBond;
        uint96 challengerBond;
        uint32 challengeWindow;
        uint32 datasetSize;
    }

    /// @notice A provider's result. Stored as keccak256(abi.encode(commitment)) and passed back in
    /// calldata by later calls. `claimedScore` is the WAD fixed-point mean item score,
    /// floor(sum of leaf scores / leafCount), or NO_SCORE (type(uint256).max) when the provider claims
    /// none; a wrong claim is provable with `proveScoreFault`.
    struct Commitment {
        bytes32 taskId;
        address provider;
        bytes32 root;
        uint32 leafCount;
        uint96 bond;
        uint48 challengeDeadline;
        bytes32 bundleHash;
        uint64 bundleSize;
        uint256 claimedScore;
    }

    /// @notice Where a commitment stands.
    /// Active: disputable until challengeDeadline, finalizable after it once no dispute is open.
    /// Finalized: accepted, bond returned. Rejected: a leaf was shown faulty, never finalizes.
    /// Frozen: a dispute reached no verdict; never finalizes, provider bond released after the window.
    enum CommitmentStatus {
        Active,
        Finalized,
        Rejected,
        Frozen
    }

    /// @notice A commitment's mutable state (one slot, written on disputes and finalization; the slot
    /// also holds the commitment's unpaid-verdict chain, read with `unpaidVerdicts`).
    struct CommitmentState {
        uint32 openDisputes;
        CommitmentStatus status;
        bool bondReleased;
    }

    /// @notice Where a dispute stands. AwaitingReveal: the provider must reveal the leaf by
    /// revealDeadline. Voting: operators vote until voteDeadline. The rest are final.
    enum DisputeStatus {
        None,
        AwaitingReveal,
        Voting,
        ProviderAtFault,
        ChallengerWrong,
        Expired
    }

    /// @notice Why a dispute ended.
    enum Cause {
        Verdict,
        Withheld,
        MalformedLeaf,
        NoQuorum
    }

    /// @notice What `proveScoreFault` found in a commitment's leaves (docs/protocol.md, "Score proofs").
    /// MalformedLeaf: a supplied leaf in the tree is not a well-formed LeafV2 of this commitment.
    /// ScoreAboveOne: a leaf's score exceeds 1e18. FirstSum: leaf 0's scoreSum differs from its score.
    /// Step: leaf i+1's scoreSum differs from leaf i's scoreSum plus leaf i+1's score.
    /// Aggregate: the last leaf's floor(scoreSum / leafCount) differs from the claimed score.
    enum ScoreFault {
        None,
        MalformedLeaf,
        ScoreAboveOne,
        FirstSum,
        Step,
        Aggregate
    }

    /// @notice A verdict's outcome: the leaf is wrong (the provider is at fault) or right.
    enum Outcome {
        None,
        ProviderAtFault,
        LeafValid
    }

    /// @notice A dispute on one leaf. Stored as keccak256(abi.encode(dispute)); passed back in calldata.
    /// @param snapshot Stake checkpoint: the second before the dispute opened.
    /// @param revealDeadline Last second for revealing the leaf (0 when the challenger supplied it).
    /// @param voteDeadline Last second for a verdict (0 until the leaf is known).
    /// @param leafHash Merkle leaf hash of the disputed leaf (0 until known).
    struct Dispute {
        bytes32 commitmentId;
        bytes32 taskId;
        address provider;
        address challenger;
        bytes32 root;
        uint32 leafCount;
        uint32 leafIndex;
        uint96 providerBond;
        uint96 challengerBond;
        uint48 snapshot;
        uint48 revealDeadline;
        uint48 voteDeadline;
        bytes32 leafHash;
        DisputeStatus status;
    }

    /// @notice What an operator signs (EIP-712 `Verdict(bytes32 disputeId,bytes32 leafHash,uint8 outcome)`,
    /// domain name "verbench", version "1", this chain id and this contract).
    struct Verdict {
        bytes32 disputeId;
        bytes32 leafHash;
        Outcome outcome;
    }

    /// @notice A task's fee escrow. `amount` is what is still owed (0 once paid to a provider or refunded
    /// to `requester`); `cancelledAt` is 0 while the offer holds, else the second the requester
    /// withdrew it: commitments made after it no longer earn the fee. All zero for a task without one.
    struct TaskFee {
        address requester;
        uint96 amount;
        uint48 cancelledAt;
    }

    /// @notice A settled verdict whose signers are owed their pay, as `claimVerdictPay` takes it
    /// (docs/protocol.md, "Fees and operator pay"). Every field is what `resolve` had: the dispute's
    /// id and snapshot, the wei set aside (`challengerBond * operatorPayBps / 10000`), the eligible
    /// stake of its quorum check, the signers it counted and their signatures, in the order given.
    struct VerdictPay {
        bytes32 disputeId;
        uint48 snapshot;
        uint256 pay;
        uint256 stakeEligible;
        address[] signers;
        Sig[] signatures;
    }

    /// @notice A compact ECDSA signature (EIP-2098): r and (s | yParity << 255).
    struct Sig {
        bytes32 r;
        bytes32 vs;
    }

    /// @notice The leaf layout, version 2: leaf data = abi.encode(LeafV2) (10 words, 320 bytes), leaf
    /// hash = keccak256(0x00 || leaf data) (Merkle.hashLeaf). See docs/protocol.md.
    /// @param inputHash hashLeaf(input bytes of item `index`): leaf `index` of the task's dataset tree.
    /// @param outputHash keccak256 of the item's generated output record in the bundle.
    /// @param toplocHash keccak256 of the item's TOPLOC proof bytes in the bundle.
    /// @param score The item's score, WAD fixed point, at most 1e18.
    /// @param scoreSum The sum of the scores of leaves 0..index (this one included), WAD.
    struct LeafV2 {
        uint256 version;
        bytes32 taskId;
        address provider;
        uint256 index;
        uint256 leafCount;
        bytes32 inputHash;
        bytes32 outputHash;
        bytes32 toplocHash;
        uint256 score;
        uint256 scoreSum;
    }

    // ---------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------

    /// @notice Emitted when a task was registered.
    event TaskRegistered(bytes32 indexed taskId, address indexed registrant, TaskSpec spec);
    /// @notice Emitted when a provider committed a result; `commitment` is what later calls pass back.
    event RootCommitted(
        bytes32 indexed commitmentId,
        bytes32 indexed taskId,
        address indexed provider,
        Commitment commitment,
        string uri
    );
    /// @notice Emitted when a dispute was opened; `dispute` is its state after the call.
    event DisputeOpened(
        bytes32 indexed disputeId, bytes32 indexed commitmentId, address indexed challenger, Dispute dispute
    );
    /// @notice Emitted when the disputed leaf became known on chain (supplied or revealed).
    event LeafRevealed(bytes32 indexed disputeId, address indexed revealer, bytes leafData, Dispute dispute);
    /// @notice Emitted when the disputed leaf's item became known on chain: `output` and `toploc`
    /// are the preimages of the leaf's outputHash and toplocHash (docs/protocol.md, "Judging from
    /// chain data"). Operators judge from this event, the leaf and the task, never from a bundle.
    event ItemPublished(bytes32 indexed disputeId, address indexed publisher, bytes output, bytes toploc);
    /// @notice Emitted when a dispute ended; `dispute` is its final state.
    event DisputeResolved(
        bytes32 indexed disputeId,
        bytes32 indexed commitmentId,
        Cause cause,
        uint256 stakeFor,
        uint256 stakeEligible,
        Dispute dispute
    );
    /// @notice Emitted when `prover` showed, with no vote, that a commitment's scores are wrong:
    /// `fault` at leaf `leafIndex` (for Step, the pair leafIndex, leafIndex + 1).
    event ScoreFaultProven(
        bytes32 indexed commitmentId, address indexed prover, ScoreFault fault, uint32 leafIndex
    );
    /// @notice Emitted when a commitment was accepted after its window.
    event CommitmentFinalized(bytes32 indexed commitmentId, address indexed provider);
    /// @notice Emitted when a commitment was shown faulty; `disputeId` is 0 when a score proof showed it.
    event CommitmentRejected(bytes32 indexed commitmentId, bytes32 indexed disputeId);
    /// @notice Emitted when a dispute on a commitment reached no quorum.
    event CommitmentFrozen(bytes32 indexed commitmentId, bytes32 indexed disputeId);
    /// @notice Emitted when `account` was credited `amount` wei, withdrawable with `withdraw`.
    event Credited(address indexed account, bytes32 indexed ref, uint256 amount);
    /// @notice Emitted when `account` withdrew its credit.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when a provider at fault was also an operator and lost `amount` of its
    /// operator stake (in the service manager's unit) on top of its commitment bond.
    event ProviderStakeSlashed(bytes32 indexed disputeId, address indexed provider, uint256 amount);
    /// @notice Emitted when a task's requester escrowed its fee at registration.
    event FeeEscrowed(bytes32 indexed taskId, address indexed requester, uint256 amount);
    /// @notice Emitted when the requester withdrew its fee offer: commitments made after `cancelledAt`
    /// do not earn it, and it is refundable after `refundableAfter`.
    event FeeCancelled(bytes32 indexed taskId, uint48 cancelledAt, uint48 refundableAfter);
    /// @notice Emitted when a finalized commitment earned its task's fee (credited with its bond).
    event FeePaid(
        bytes32 indexed taskId, bytes32 indexed commitmentId, address indexed provider, uint256 amount
    );
    /// @notice Emitted when an unearned fee was credited back to its requester.
    event FeeRefunded(bytes32 indexed taskId, address indexed requester, uint256 amount);
    /// @notice Emitted when a verdict's pay was distributed: `toSigners` to the signers it counted (one
    /// `Credited` each), the rest (stake that did not sign, rounding) to the treasury.
    /// @notice `operator` sealed its verdict on a voting dispute: `seal` = keccak256(abi.encode(r, vs)) of
    /// its verdict signature, revealed later by `resolve`.
    event VerdictSealed(bytes32 indexed disputeId, address indexed operator, bytes32 seal);
    event VerdictPayClaimed(bytes32 indexed disputeId, uint256 toSigners, uint256 toTreasury);
    /// @notice Emitted when an operator was slashed for signing two verdicts on one dispute.
    event EquivocationSlashed(
        address indexed operator, bytes32 indexed disputeId, address indexed reporter, uint256 amount
    );

    // ---------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------

    /// @notice Thrown when a constructor argument is out of range.
    error InvalidParameter();
    /// @notice Thrown when a task spec has a zero size, bond or window, or invalid TOPLOC parameters.
    error InvalidTask();
    /// @notice Thrown when a task's challenge window plus the reveal and voting periods exceed the
    /// operators' unbonding delay (operators could leave before a dispute ends).
    error WindowsExceedUnbonding(uint256 total, uint256 unbondingDelay);
    /// @notice Thrown when registering a task that exists.
    error TaskExists(bytes32 taskId);
    /// @notice Thrown when a task id is unknown.
    error UnknownTask(bytes32 taskId);
    /// @notice Thrown when a commitment's leaf count is not the task's dataset size.
    error WrongLeafCount(uint256 leafCount, uint256 datasetSize);
    /// @notice Thrown when committing the zero root.
    error ZeroRoot();
    /// @notice Thrown when msg.value is not the exact bond.
    error WrongBond(uint256 sent, uint256 required);
    /// @notice Thrown when a provider commits the same (task, root, leaf count) twice.
    error CommitmentExists(bytes32 commitmentId);
    /// @notice Thrown when the committing provider's operator stake (still unbonding, or pending a
    /// deallocation) stops being slashable at `slashableUntil`, before `lastVerdict`, the last second
    /// at which a verdict on the new commitment could slash it (challenge deadline + reveal window +
    /// voting period).
    error StakeUnbondsTooSoon(uint48 slashableUntil, uint256 lastVerdict);
    /// @notice Thrown when a commitment passed in calldata is not the stored one (unknown, replaced,
    /// or another root than the one expected).
    error CommitmentMismatch(bytes32 commitmentId);
    /// @notice Thrown when the commitment is not in the status the call needs.
    error CommitmentNotActive(CommitmentStatus status);
    /// @notice Thrown when disputing after the challenge window.
    error ChallengeWindowClosed(uint48 challengeDeadline);
    /// @notice Thrown when finalizing during the challenge window.
    error ChallengeWindowOpen(uint48 challengeDeadline);
    /// @notice Thrown when finalizing while disputes are open.
    error DisputesOpen(uint32 openDisputes);
    /// @notice Thrown when a leaf index is not below the leaf count.
    error LeafIndexOutOfRange(uint256 leafIndex, uint256 leafCount);
    /// @notice Thrown when the leaf was already disputed on this commitment.
    error DisputeExists(bytes32 disputeId);
    /// @notice Thrown when a leaf's inclusion proof does not verify against (root, leaf count, index).
    error InvalidProof();
    /// @notice Thrown when a dispute passed in calldata is not the stored one.
    error DisputeMismatch(bytes32 disputeId);
    /// @notice Thrown when the dispute is not in the status the call needs.
    error WrongDisputeStatus(DisputeStatus status);
    /// @notice Thrown when revealing after the reveal deadline.
    error RevealDeadlinePassed(uint48 revealDeadline);
    /// @notice Thrown when claiming withholding before the reveal deadline.
    error RevealDeadlineNotPassed(uint48 revealDeadline);
    /// @notice Thrown when the leaf data passed to `publishItem` is not the disputed leaf.
    error LeafMismatch(bytes32 leafHash);
    /// @notice Thrown when a published item does not hash to the leaf's outputHash or toplocHash.
    error ItemMismatch();
    /// @notice Thrown when submitting a verdict after the voting deadline.
    error VotingClosed(uint48 voteDeadline);
    /// @notice Thrown when expiring a dispute before the voting deadline.
    error VotingOpen(uint48 voteDeadline);
    /// @notice Thrown when a verdict's outcome is None.
    error InvalidOutcome();
    /// @notice Thrown when the signer and signature arrays differ in length or are empty.
    error LengthMismatch();
    /// @notice Thrown when signers are not strictly ascending (also rejects duplicates).
    error SignersNotSorted(uint256 position);
    /// @notice Thrown when the provider or the challenger signs its own dispute.
    error ExcludedSigner(address signer);
    /// @notice Thrown when a signature does not recover to its listed signer.
    error InvalidSignature(address signer);
    /// @notice Thrown when a signer has no vote weight on the dispute (`IOperatorSet.voteWeightAt`):
    /// no stake at the dispute's checkpoint, or slashed since.
    error NotOperator(address signer);
    /// @notice Thrown when the signers' stake is not strictly above the quorum share of eligible stake.
    error QuorumNotReached(uint256 stakeFor, uint256 stakeEligible);
    /// @notice Thrown when the leaves given to `proveScoreFault` show no fault.
    error NoScoreFault();
    /// @notice Thrown when the caller has no credit.
    error NothingToWithdraw();
    /// @notice Thrown when two verdicts do not prove equivocation (other dispute, same content, or
    /// not both signed by the operator).
    error NotEquivocation();
    /// @notice Thrown when an operator's equivocation on a dispute was already punished.
    error EquivocationAlreadyReported(address operator, bytes32 disputeId);
    /// @notice Thrown when `registerTask`'s msg.value is not the spec's fee.
    error WrongFee(uint256 sent, uint256 required);
    /// @notice Thrown when anyone but the task's requester cancels its fee offer.
    error NotRequester(address caller, address requester);
    /// @notice Thrown when a task has no fee left in escrow (none, paid, or refunded).
    error NoFee(bytes32 taskId);
    /// @notice Thrown when cancelling a fee offer that was already cancelled.
    error FeeAlreadyCancelled(uint48 cancelledAt);
    /// @notice Thrown when refunding a fee whose offer still holds (`refundableAfter == 0`) or before
    /// `refundableAfter`, while a commitment made before the cancellation may still earn it.
    error FeeNotRefundable(uint48 refundableAfter);
    /// @notice Thrown by `sealVerdict` after the dispute's seal deadline (`voteDeadline - votingPeriod / 4`).
    error SealingClosed(uint48 sealDeadline);
    /// @notice Thrown by `sealVerdict` for a zero seal or an operator that sealed this dispute already.
    error AlreadySealed(bytes32 disputeId, address operator);
    /// @notice Thrown when the verdicts given to `claimVerdictPay` are not the commitment's unpaid ones.
    error VerdictPayMismatch(bytes32 commitmentId);

    // ---------------------------------------------------------------------------------------
    // Tasks and commitments
    // ---------------------------------------------------------------------------------------

    /// @notice Registers a task (permissionless) with `msg.value == spec.fee`, escrowed with the caller
    /// as the requester. Reverts if its windows do not fit in the operators' unbonding delay.
    function registerTask(TaskSpec calldata spec) external payable returns (bytes32 taskId);

    /// @notice Withdraws the caller's fee offer on `taskId` (requester only): commitments made after this
    /// second do not earn it; the fee is refundable once those made before it can no longer finalize.
    /// @return refundableAfter The last second a commitment made before now can still earn the fee:
    /// now + challengeWindow + revealWindow + votingPeriod + revealWindow.
    function cancelFee(bytes32 taskId) external returns (uint48 refundableAfter);

    /// @notice Credits a cancelled, unearned fee back to its requester after `refundableAfter`
    /// (anyone may call).
    function refundFee(bytes32 taskId) external;

    /// @notice Commits a result for `taskId` with `msg.value == providerBond`. A provider with
    /// operator stake must keep all of it slashable until the last second a verdict on this
    /// commitment could slash it (`StakeUnbondsTooSoon` otherwise; docs/protocol.md, "Timing rule").
    /// @param leafCount Must equal the task's dataset size.
    /// @param bundleHash keccak256 of the published bundle's bytes; `bundleSize` its byte size; `uri`
    /// where it is published (only emitted).
    /// @param claimedScore WAD aggregate score, or type(uint256).max for none.
    function commit(
        bytes32 taskId,
        bytes32 root,
        uint32 leafCount,
        bytes32 bundleHash,
        uint64 bundleSize,
        uint256 claimedScore,
        string calldata uri
    ) external payable returns (bytes32 commitmentId);

    /// @notice Accepts an undisputed commitment after its challenge window (anyone may call); the
    /// provider's bond becomes withdrawable, with the task's fee if it is still in escrow and this
    /// commitment may earn it (made while the offer held, finalized by its `refundableAfter`). On a
    /// Frozen commitment it only releases the bond (once, after the window, with no dispute open);
    /// the commitment stays Frozen and earns no fee.
    function finalize(Commitment calldata commitment) external;

    // ---------------------------------------------------------------------------------------
    // Disputes
    // ---------------------------------------------------------------------------------------

    /// @notice Disputes leaf `leafIndex` without its preimage (`msg.value == challengerBond`): the
    /// provider must reveal it by the reveal deadline or lose. `commitment` names the expected root.
    function openDispute(Commitment calldata commitment, uint32 leafIndex)
        external
        payable
        returns (bytes32 disputeId);

    /// @notice Disputes leaf `leafIndex`, supplying its preimage and inclusion proof; voting starts now.
    function openDisputeWithLeaf(
        Commitment calldata commitment,
        uint32 leafIndex,
        bytes calldata leafData,
        bytes32[] calldata proof
    ) external payable returns (bytes32 disputeId);

    /// @notice Reveals the disputed leaf (anyone holding it may call; the provider must); voting starts now.
    function revealLeaf(Dispute calldata dispute, bytes calldata leafData, bytes32[] calldata proof) external;

    /// @notice Puts the disputed leaf's item on chain while the dispute is voting: `output` must hash
    /// (keccak256) to the leaf's outputHash (the output token ids, 4 bytes big-endian each, then any
    /// multiple-choice logits as f32 bits) and `toploc` to its toplocHash (the proofs' bytes,
    /// concatenated). Anyone holding the item may call, any number of times (only the event
    /// matters); the provider must, or the operators find it at fault once half the voting period
    /// has passed without it (docs/protocol.md, "Judging from chain data").
    /// @param leafData The disputed leaf's data (its hash must be `dispute.leafHash`).
    function publishItem(
        Dispute calldata dispute,
        bytes calldata leafData,
        bytes calldata output,
        bytes calldata toploc
    ) external;

    /// @notice After the reveal deadline, an unrevealed leaf counts as faulty (withholding).
    function claimWithheld(Dispute calldata dispute) external;

    /// @notice Settles a dispute with operators' EIP-712 verdict signatures (anyone may submit).
    /// @param signers Strictly ascending operator addresses, none the provider or the challenger.
    /// @param signatures One compact signature per signer over Verdict(disputeId, leafHash, outcome).
    function resolve(
        Dispute calldata dispute,
        Outcome outcome,
        address[] calldata signers,
        Sig[] calldata signatures
    ) external;

    /// @notice After the voting deadline without a verdict: credits the challenger's bond to the
    /// treasury (it is not refunded: an unresolved dispute costs the party that opened it) and freezes
    /// the commitment (never accepted; still disputable until its window closes; its bond is released
    /// by `finalize` after the window).
    function expire(Dispute calldata dispute) external;

    /// @notice Seals the caller's verdict on a voting dispute before the seal deadline
    /// (`voteDeadline - votingPeriod / 4`), once: `seal` = keccak256(abi.encode(r, vs)) of the compact
    /// signature the caller will give for its verdict. Only sealed verdicts are paid (`claimVerdictPay`);
    /// operators keep their signatures private until the deadline (docs/protocol.md, "Lazy operators").
    function sealVerdict(Dispute calldata dispute, bytes32 seal) external;

    /// @notice The seal `operator` made on dispute `disputeId` (0 if none).
    function verdictSeal(bytes32 disputeId, address operator) external view returns (bytes32);

    /// @notice Pays the signers of every verdict on `commitmentId` not yet paid (anyone may call), all at
    /// once: `verdicts` must be exactly those, oldest first, as `unpaidVerdicts` chains them. Each
    /// signer whose seal on the dispute is the hash of the signature `resolve` counted is credited
    /// `pay * voteWeightAt(signer, snapshot) / stakeEligible`; the rest of each `pay` (unsealed
    /// signers' shares included) goes to the treasury.
    function claimVerdictPay(bytes32 commitmentId, VerdictPay[] calldata verdicts) external;

    /// @notice Slashes an operator that signed two different verdicts on one dispute (anyone may call).
    function reportEquivocation(
        address operator,
        Verdict calldata a,
        Sig calldata sigA,
        Verdict calldata b,
        Sig calldata sigB
    ) external;

    /// @notice Proves, with no vote, that a commitment's scores contradict its leaves or its claimed
    /// aggregate (anyone may call during the challenge window, without a bond). Checks leaf
    /// `leafIndex` and, when `nextLeafData` is not empty, leaf `leafIndex + 1` (both against the root
    /// with their inclusion proofs) for every ScoreFault that applies to them; on the first one found
    /// the commitment is Rejected and the caller is paid the challenger's share of the provider bond,
    /// as for a dispute lost by the provider. Reverts NoScoreFault when the leaves are consistent.
    function proveScoreFault(
        Commitment calldata commitment,
        uint32 leafIndex,
        bytes calldata leafData,
        bytes32[] calldata proof,
        bytes calldata nextLeafData,
        bytes32[] calldata nextProof
    ) external;

    /// @notice Sends the caller all of its credit.
    function withdraw() external;

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /// @notice The stored part of a task (all zero if unknown).
    function task(bytes32 taskId) external view returns (Task memory);

    /// @notice keccak256(abi.encode(chainid, this, spec)).
    function taskIdOf(TaskSpec calldata spec) external view returns (bytes32);

    /// @notice keccak256(abi.encode(chainid, this, taskId, provider, root, leafCount)).
    function commitmentIdOf(bytes32 taskId, address provider, bytes32 root, uint32 leafCount)
        external
        view
        returns (bytes32);

    /// @notice keccak256(abi.encode(commitmentId, leafIndex)): one dispute per leaf of a commitment.
    function disputeIdOf(bytes32 commitmentId, uint32 leafIndex) external pure returns (bytes32);

    /// @notice The stored hash of a commitment (0 if unknown).
    function commitmentHash(bytes32 commitmentId) external view returns (bytes32);

    /// @notice A commitment's mutable state.
    function commitmentState(bytes32 commitmentId) external view returns (CommitmentState memory);

    /// @notice The stored hash of a dispute (0 if unknown).
    function disputeHash(bytes32 disputeId) external view returns (bytes32);

    /// @notice The EIP-712 digest an operator signs for `verdict`.
    function verdictDigest(Verdict calldata verdict) external view returns (bytes32);

    /// @notice Merkle leaf hash of abi.encode(leaf).
    function leafHashOf(LeafV2 calldata leaf) external pure returns (bytes32);

    /// @notice A task's fee escrow (all zero for a task without a fee).
    function taskFee(bytes32 taskId) external view returns (TaskFee memory);

    /// @notice The chain of a commitment's verdicts whose signers are not yet paid (0 when none):
    /// after each verdict, the first 26 bytes of keccak256(abi.encode(previous, entry)), where
    /// previous is this value and entry = keccak256(abi.encode(disputeId, snapshot, pay,
    /// stakeEligible, keccak256(abi.encodePacked(signers)))); returned left-aligned.
    function unpaidVerdicts(bytes32 commitmentId) external view returns (bytes32);

    /// @notice Share of a settled dispute's challenger bond paid to the verdict's signers, in basis points.
    function operatorPayBps() external pure returns (uint16);

    /// @notice Withdrawable wei of `account`.
    function credit(address account) external view returns (uint256);

    /// @notice The operator set and its stake.
    function serviceManager() external view returns (address);

    /// @notice Receives the provider-bond share that does not go to the challenger.
    function treasury() external view returns (address);

    /// @notice Share of a faulty provider's bond paid to the challenger, in basis points (< 10000).
    function challengerShareBps() external view returns (uint16);

    /// @notice A verdict needs strictly more than this share (bps) of the eligible checkpointed stake.
    function quorumBps() external view returns (uint16);

    /// @notice Seconds a provider has to reveal a disputed leaf.
    function revealWindow() external view returns (uint32);

    /// @notice Seconds operators have to reach a verdict once the leaf is known.
    function votingPeriod() external view returns (uint32);
}

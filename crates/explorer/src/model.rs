//! The explorer's view of a deployment, derived from the stored logs in chain order: tasks,
//! commitments and their status, disputes with their timelines, and the money each moved.
//! Pure: no I/O; [`View::build`] is rebuilt after every indexing pass.

use crate::store::StoredLog;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::sol_types::SolEventInterface;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use verbench_chain::bindings::IDisputeGame::{
    Cause, Commitment, CommitmentStatus, Dispute, DisputeStatus, IDisputeGameEvents, ScoreFault,
    TaskSpec,
};

/// Where something happened on chain.
#[derive(Debug, Clone, Serialize)]
pub struct At {
    /// Block number.
    pub block: u64,
    /// Block timestamp, when known.
    pub time: Option<u64>,
    /// Transaction hash, when known.
    pub tx: Option<B256>,
}

/// A registered task.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    /// Task id.
    pub id: B256,
    /// Who registered it.
    pub registrant: Address,
    /// Its spec.
    #[serde(serialize_with = "json::task_spec")]
    pub spec: TaskSpec,
    /// Registration.
    pub at: At,
    /// The fee escrowed with it, if any, and what became of it.
    pub fee: Option<FeeView>,
}

/// A task's fee: escrowed by its requester, paid to the first finalized commitment, or refunded.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeView {
    /// Who escrowed it.
    pub requester: Address,
    /// Wei.
    pub amount: U256,
    /// When the requester cancelled the offer, if it did.
    pub cancelled_at: Option<u64>,
    /// The commitment that earned it, if one did.
    pub paid_to: Option<B256>,
    /// Whether it went back to the requester.
    pub refunded: bool,
}

/// How a commitment ended, as the chain says.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Ending {
    /// `CommitmentFinalized`.
    Finalized {
        /// When.
        at: At,
    },
    /// `CommitmentRejected` after a dispute (`dispute` set) or a score proof.
    Rejected {
        /// The dispute that showed the fault, if one did.
        dispute: Option<B256>,
        /// When.
        at: At,
    },
    /// `CommitmentFrozen`: a dispute reached no quorum.
    Frozen {
        /// The dispute.
        dispute: B256,
        /// When.
        at: At,
    },
}

/// A score proof that rejected a commitment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreFaultView {
    /// Who proved it.
    pub prover: Address,
    /// What broke (the `ScoreFault` enum's name).
    pub fault: String,
    /// At which leaf.
    pub leaf_index: u32,
    /// When.
    pub at: At,
}

/// A provider's commitment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitmentView {
    /// Commitment id.
    pub id: B256,
    /// The committed struct.
    #[serde(serialize_with = "json::commitment")]
    pub commitment: Commitment,
    /// Where the bundle is published (as committed; only the hash and size bind it).
    pub uri: String,
    /// The commit.
    pub at: At,
    /// How it ended, if it did.
    pub ending: Option<Ending>,
    /// A score proof against it.
    pub score_fault: Option<ScoreFaultView>,
    /// Disputes on its leaves, in the order opened.
    pub disputes: Vec<B256>,
    /// Money credited with this commitment as the reference (bond refunds, score-proof shares).
    pub credits: Vec<Credit>,
}

impl CommitmentView {
    /// The status the chain gives it (no event: still active).
    pub fn status(&self) -> CommitmentStatus {
        match self.ending {
            None => CommitmentStatus::Active,
            Some(Ending::Finalized { .. }) => CommitmentStatus::Finalized,
            Some(Ending::Rejected { .. }) => CommitmentStatus::Rejected,
            Some(Ending::Frozen { .. }) => CommitmentStatus::Frozen,
        }
    }

    /// The claimed aggregate score as a fraction, `None` when the provider claims none.
    pub fn claimed_score(&self) -> Option<f64> {
        (self.commitment.claimedScore != U256::MAX).then(|| wad_f64(self.commitment.claimedScore))
    }
}

/// A credit to an account (withdrawable with `withdraw`).
#[derive(Debug, Clone, Serialize)]
pub struct Credit {
    /// Who.
    pub account: Address,
    /// Wei.
    pub amount: U256,
    /// When.
    pub at: At,
}

/// One step of a dispute.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// What happened.
    pub what: String,
    /// When.
    pub at: At,
}

/// How a dispute was resolved.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    /// Why it ended (the `Cause` enum's name).
    pub cause: String,
    /// Stake that signed the winning verdict.
    pub stake_for: U256,
    /// Stake eligible to vote.
    pub stake_eligible: U256,
    /// When.
    pub at: At,
}

/// A dispute on one leaf.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisputeView {
    /// Dispute id.
    pub id: B256,
    /// Its latest state.
    #[serde(serialize_with = "json::dispute")]
    pub dispute: Dispute,
    /// The leaf data, once on chain.
    pub leaf_data: Option<Bytes>,
    /// Everything that happened to it.
    pub timeline: Vec<Step>,
    /// How it ended.
    pub resolution: Option<Resolution>,
    /// Money credited with this dispute as the reference.
    pub credits: Vec<Credit>,
    /// Operator stake slashed because of it (provider stake, equivocation), by account.
    pub stake_slashed: Vec<(Address, U256, String)>,
    /// The verdict's operator pay once claimed: (to the signers, to the treasury).
    pub pay_claimed: Option<(U256, U256)>,
}

/// The whole view.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    /// Tasks by id.
    pub tasks: BTreeMap<B256, TaskView>,
    /// Commitments in the order committed.
    pub commitments: Vec<CommitmentView>,
    /// Disputes by id.
    pub disputes: BTreeMap<B256, DisputeView>,
    /// Logs of the game that this explorer's bindings could not decode.
    pub undecodable_logs: usize,
}

/// A WAD value as a float.
pub fn wad_f64(v: U256) -> f64 {
    let v: u128 = v.try_into().unwrap_or(u128::MAX);
    v as f64 / 1e18
}

/// The name of a dispute status.
pub fn dispute_status_name(s: DisputeStatus) -> &'static str {
    match s {
        DisputeStatus::None => "none",
        DisputeStatus::AwaitingReveal => "awaiting reveal",
        DisputeStatus::Voting => "voting",
        DisputeStatus::ProviderAtFault => "provider at fault",
        DisputeStatus::ChallengerWrong => "challenger wrong (leaf valid)",
        DisputeStatus::Expired => "expired (no verdict)",
        _ => "unknown",
    }
}

fn cause_name(c: Cause) -> &'static str {
    match c {
        Cause::Verdict => "verdict",
        Cause::Withheld => "leaf withheld",
        Cause::MalformedLeaf => "malformed leaf",
        Cause::NoQuorum => "no quorum",
        _ => "unknown",
    }
}

fn fault_name(f: ScoreFault) -> &'static str {
    match f {
        ScoreFault::MalformedLeaf => "malformed leaf",
        ScoreFault::ScoreAboveOne => "score above one",
        ScoreFault::FirstSum => "first running sum wrong",
        ScoreFault::Step => "running sum step wrong",
        ScoreFault::Aggregate => "claimed aggregate wrong",
        _ => "unknown",
    }
}

impl View {
    /// Builds the view from `logs` (chain order) and the block times known.
    pub fn build(logs: &[StoredLog], times: &HashMap<u64, u64>) -> Self {
        let mut v = View::default();
        let mut index: HashMap<B256, usize> = HashMap::new();
        for log in logs {
            let at = At {
                block: log.block,
                time: times.get(&log.block).copied(),
                tx: log.tx,
            };
            let Ok(ev) = IDisputeGameEvents::decode_raw_log(log.data.topics(), &log.data.data)
            else {
                v.undecodable_logs += 1;
                continue;
            };
            v.apply(ev, at, &mut index);
        }
        v
    }

    fn commitment_mut(
        &mut self,
        index: &HashMap<B256, usize>,
        id: B256,
    ) -> Option<&mut CommitmentView> {
        index.get(&id).map(|&i| &mut self.commitments[i])
    }

    fn apply(&mut self, ev: IDisputeGameEvents, at: At, index: &mut HashMap<B256, usize>) {
        use IDisputeGameEvents as E;
        match ev {
            E::TaskRegistered(e) => {
                self.tasks.entry(e.taskId).or_insert(TaskView {
                    id: e.taskId,
                    registrant: e.registrant,
                    spec: e.spec,
                    at,
                    fee: None,
                });
            }
            E::FeeEscrowed(e) => {
                if let Some(t) = self.tasks.get_mut(&e.taskId) {
                    t.fee = Some(FeeView {
                        requester: e.requester,
                        amount: e.amount,
                        cancelled_at: None,
                        paid_to: None,
                        refunded: false,
                    });
                }
            }
            E::FeeCancelled(e) => {
                if let Some(f) = self.tasks.get_mut(&e.taskId).and_then(|t| t.fee.as_mut()) {
                    f.cancelled_at = Some(e.cancelledAt.to());
                }
            }
            E::FeePaid(e) => {
                if let Some(f) = self.tasks.get_mut(&e.taskId).and_then(|t| t.fee.as_mut()) {
                    f.paid_to = Some(e.commitmentId);
                }
            }
            E::FeeRefunded(e) => {
                if let Some(f) = self.tasks.get_mut(&e.taskId).and_then(|t| t.fee.as_mut()) {
                    f.refunded = true;
                }
            }
            E::VerdictPayClaimed(e) => {
                if let Some(d) = self.disputes.get_mut(&e.disputeId) {
                    d.pay_claimed = Some((e.toSigners, e.toTreasury));
                }
            }
            E::RootCommitted(e) => {
                if index.contains_key(&e.commitmentId) {
                    return;
                }
                index.insert(e.commitmentId, self.commitments.len());
                self.commitments.push(CommitmentView {
                    id: e.commitmentId,
                    commitment: e.commitment,
                    uri: e.uri,
                    at,
                    ending: None,
                    score_fault: None,
                    disputes: Vec::new(),
                    credits: Vec::new(),
                });
            }
            E::DisputeOpened(e) => {
                if let Some(c) = self.commitment_mut(index, e.commitmentId) {
                    if !c.disputes.contains(&e.disputeId) {
                        c.disputes.push(e.disputeId);
                    }
                }
                let what = format!(
                    "opened by {} on leaf {} (challenger bond {} wei)",
                    e.challenger, e.dispute.leafIndex, e.dispute.challengerBond
                );
                let d = self.disputes.entry(e.disputeId).or_insert(DisputeView {
                    id: e.disputeId,
                    dispute: e.dispute.clone(),
                    leaf_data: None,
                    timeline: Vec::new(),
                    resolution: None,
                    credits: Vec::new(),
                    stake_slashed: Vec::new(),
                    pay_claimed: None,
                });
                d.dispute = e.dispute;
                d.timeline.push(Step { what, at });
            }
            E::LeafRevealed(e) => {
                if let Some(d) = self.disputes.get_mut(&e.disputeId) {
                    let who = if e.revealer == d.dispute.challenger {
                        "supplied by the challenger"
                    } else {
                        "revealed"
                    };
                    d.timeline.push(Step {
                        what: format!(
                            "leaf {who} ({}); voting until {}",
                            e.revealer, e.dispute.voteDeadline
                        ),
                        at,
                    });
                    d.leaf_data = Some(e.leafData);
                    d.dispute = e.dispute;
                }
            }
            E::VerdictSealed(e) => {
                if let Some(d) = self.disputes.get_mut(&e.disputeId) {
                    d.timeline.push(Step {
                        what: format!(
                            "verdict sealed by operator {} (its signature stays private until the seal deadline; only sealed verdicts are paid)",
                            e.operator
                        ),
                        at,
                    });
                }
            }
            E::ItemPublished(e) => {
                if let Some(d) = self.disputes.get_mut(&e.disputeId) {
                    d.timeline.push(Step {
                        what: format!(
                            "item published on chain by {} ({} output bytes, {} proof bytes): operators judge from it",
                            e.publisher,
                            e.output.len(),
                            e.toploc.len()
                        ),
                        at,
                    });
                }
            }
            E::DisputeResolved(e) => {
                if let Some(d) = self.disputes.get_mut(&e.disputeId) {
                    d.timeline.push(Step {
                        what: format!(
                            "resolved: {} ({}), stake for {} of {} eligible",
                            dispute_status_name(e.dispute.status),
                            cause_name(e.cause),
                            e.stakeFor,
                            e.stakeEligible
                        ),
                        at: at.clone(),
                    });
                    d.resolution = Some(Resolution {
                        cause: cause_name(e.cause).into(),
                        stake_for: e.stakeFor,
                        stake_eligible: e.stakeEligible,
                        at,
                    });
                    d.dispute = e.dispute;
                }
            }
            E::ScoreFaultProven(e) => {
                if let Some(c) = self.commitment_mut(index, e.commitmentId) {
                    c.score_fault = Some(ScoreFaultView {
                        prover: e.prover,
                        fault: fault_name(e.fault).into(),
                        leaf_index: e.leafIndex,
                        at,
                    });
                }
            }
            E::CommitmentFinalized(e) => {
                if let Some(c) = self.commitment_mut(index, e.commitmentId) {
                    c.ending = Some(Ending::Finalized { at });
                }
            }
            E::CommitmentRejected(e) => {
                if let Some(c) = self.commitment_mut(index, e.commitmentId) {
                    c.ending = Some(Ending::Rejected {
                        dispute: (e.disputeId != B256::ZERO).then_some(e.disputeId),
                        at,
                    });
                }
            }
            E::CommitmentFrozen(e) => {
                if let Some(c) = self.commitment_mut(index, e.commitmentId) {
                    c.ending = Some(Ending::Frozen {
                        dispute: e.disputeId,
                        at,
                    });
                }
            }
            E::Credited(e) => {
                let credit = Credit {
                    account: e.account,
                    amount: e.amount,
                    at,
                };
                if let Some(d) = self.disputes.get_mut(&e.r#ref) {
                    d.credits.push(credit);
                } else if let Some(c) = self.commitment_mut(index, e.r#ref) {
                    c.credits.push(credit);
                }
            }
            E::ProviderStakeSlashed(e) => {
                if let Some(d) = self.disputes.get_mut(&e.disputeId) {
                    d.stake_slashed
                        .push((e.provider, e.amount, "provider at fault".into()));
                }
            }
            E::EquivocationSlashed(e) => {
                if let Some(d) = self.disputes.get_mut(&e.disputeId) {
                    d.stake_slashed
                        .push((e.operator, e.amount, "signed two verdicts".into()));
                }
            }
            _ => {}
        }
    }

    /// Commitment `id`.
    pub fn commitment(&self, id: B256) -> Option<&CommitmentView> {
        self.commitments.iter().find(|c| c.id == id)
    }
}

/// JSON forms of the `sol!` structs (the bindings carry no serde derives).
mod json {
    use super::*;
    use serde::Serializer;
    use serde_json::json;

    pub(super) fn task_spec<S: Serializer>(s: &TaskSpec, ser: S) -> Result<S::Ok, S::Error> {
        json!({
            "modelHash": s.modelHash,
            "manifestHash": s.manifestHash,
            "datasetRoot": s.datasetRoot,
            "datasetSize": s.datasetSize,
            "generation": {
                "maxNewTokens": s.generation.maxNewTokens,
                "temperatureMilli": s.generation.temperatureMilli,
                "seed": s.generation.seed,
            },
            "toploc": {
                "topk": s.toploc.topk,
                "decodeBatchingSize": s.toploc.decodeBatchingSize,
                "maxMantErrMeanMilli": s.toploc.maxMantErrMeanMilli,
                "maxMantErrMedianMilli": s.toploc.maxMantErrMedianMilli,
                "minExpMatches": s.toploc.minExpMatches,
                "tokenMarginMilli": s.toploc.tokenMarginMilli,
            },
            "calibrationHash": s.calibrationHash,
            "providerBond": s.providerBond.to_string(),
            "challengerBond": s.challengerBond.to_string(),
            "challengeWindow": s.challengeWindow,
            "fee": s.fee.to_string(),
        })
        .serialize(ser)
    }

    pub(super) fn commitment<S: Serializer>(c: &Commitment, ser: S) -> Result<S::Ok, S::Error> {
        json!({
            "taskId": c.taskId,
            "provider": c.provider,
            "root": c.root,
            "leafCount": c.leafCount,
            "bundleHash": c.bundleHash,
            "bundleSize": c.bundleSize,
            "claimedScore": c.claimedScore.to_string(),
            "bond": c.bond.to_string(),
            "challengeDeadline": c.challengeDeadline.to::<u64>(),
        })
        .serialize(ser)
    }

    pub(super) fn dispute<S: Serializer>(d: &Dispute, ser: S) -> Result<S::Ok, S::Error> {
        json!({
            "commitmentId": d.commitmentId,
            "taskId": d.taskId,
            "provider": d.provider,
            "challenger": d.challenger,
            "root": d.root,
            "leafCount": d.leafCount,
            "leafIndex": d.leafIndex,
            "providerBond": d.providerBond.to_string(),
            "challengerBond": d.challengerBond.to_string(),
            "snapshot": d.snapshot.to::<u64>(),
            "revealDeadline": d.revealDeadline.to::<u64>(),
            "voteDeadline": d.voteDeadline.to::<u64>(),
            "leafHash": d.leafHash,
            "status": dispute_status_name(d.status),
        })
        .serialize(ser)
    }
}

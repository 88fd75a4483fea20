#![doc = include_str!("../README.md")]

mod bot;
pub mod check;
pub mod config;
pub mod judge;
pub mod metrics;
mod server;
pub mod state;

pub use bot::{sampled, Bot, Shared, StepReport};
pub use config::Config;
pub use server::serve;

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};
pub use verbench_chain::verdict::{Attestation, VerdictOutcome};

/// What a challenger found about one commitment, as served at `GET /checks/<commitmentId>`: the
/// leaves it recomputed with the model under the task's limits, and its note on the whole
/// commitment (data availability, header, scores). Self-reported: a reader trusts it as much as
/// it trusts the challenger (the explorer names the challengers it reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitmentCheck {
    /// The commitment.
    pub commitment_id: B256,
    /// The challenger's address.
    pub checker: Address,
    /// What checking found.
    pub note: String,
    /// The leaves recomputed.
    pub leaves: Vec<check::LeafCheck>,
}

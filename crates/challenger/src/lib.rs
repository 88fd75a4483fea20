#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

mod bot;
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

/// An operator's signed verdict on one dispute, as served at `GET /attestations/<disputeId>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attestation {
    /// The dispute.
    pub dispute_id: B256,
    /// The operator that signed.
    pub signer: Address,
    /// 1 = provider at fault, 2 = leaf valid.
    pub outcome: u8,
    /// The disputed leaf's hash.
    pub leaf_hash: B256,
    /// Compact signature, r.
    pub r: B256,
    /// Compact signature, s | yParity << 255.
    pub vs: B256,
}

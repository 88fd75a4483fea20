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

/// A verdict's outcome, as `IDisputeGame.Outcome` without `None`. Serialized as its byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum VerdictOutcome {
    /// The leaf is wrong.
    ProviderAtFault,
    /// The leaf is right.
    LeafValid,
}

impl TryFrom<u8> for VerdictOutcome {
    type Error = String;

    fn try_from(b: u8) -> Result<Self, String> {
        match b {
            1 => Ok(Self::ProviderAtFault),
            2 => Ok(Self::LeafValid),
            other => Err(format!(
                "verdict outcome {other} is neither 1 (provider at fault) nor 2 (leaf valid)"
            )),
        }
    }
}

impl From<VerdictOutcome> for u8 {
    fn from(o: VerdictOutcome) -> u8 {
        match o {
            VerdictOutcome::ProviderAtFault => 1,
            VerdictOutcome::LeafValid => 2,
        }
    }
}

impl From<VerdictOutcome> for verbench_chain::bindings::IDisputeGame::Outcome {
    fn from(o: VerdictOutcome) -> Self {
        match o {
            VerdictOutcome::ProviderAtFault => Self::ProviderAtFault,
            VerdictOutcome::LeafValid => Self::LeafValid,
        }
    }
}

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

/// An operator's signed verdict on one dispute, as served at `GET /attestations/<disputeId>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attestation {
    /// The dispute.
    pub dispute_id: B256,
    /// The operator that signed.
    pub signer: Address,
    /// The verdict (`1` = provider at fault, `2` = leaf valid on the wire; any other byte is a
    /// parse error, never a verdict).
    pub outcome: VerdictOutcome,
    /// The disputed leaf's hash.
    pub leaf_hash: B256,
    /// Compact signature, r.
    pub r: B256,
    /// Compact signature, s | yParity << 255.
    pub vs: B256,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attestation_outcomes_are_typed_and_unknown_bytes_refused() {
        let a = Attestation {
            dispute_id: B256::repeat_byte(1),
            signer: Address::repeat_byte(2),
            outcome: VerdictOutcome::LeafValid,
            leaf_hash: B256::repeat_byte(3),
            r: B256::repeat_byte(4),
            vs: B256::repeat_byte(5),
        };
        let text = serde_json::to_string(&a).unwrap();
        assert!(text.contains("\"outcome\":2"), "{text}");
        assert_eq!(serde_json::from_str::<Attestation>(&text).unwrap(), a);
        let bad = text.replace("\"outcome\":2", "\"outcome\":7");
        let e = serde_json::from_str::<Attestation>(&bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("neither 1"), "{e}");
    }
}

//! The bot's persisted state: the block cursor, recent block hashes (reorg detection), what it
//! learned from events, and its pending actions. One JSON file, replaced atomically (write a
//! temporary file, fsync, rename), so a crash leaves either the old or the new state.

use alloy::primitives::{Bytes, B256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use verbench_chain::follow::Cursor;

/// A commitment seen in a `RootCommitted` event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommitmentEntry {
    /// `abi.encode(Commitment)`.
    pub commitment: Bytes,
    /// The bundle's URI.
    pub uri: String,
    /// Block of the event.
    pub block: u64,
    /// Whether the challenger side is done with it (checked, disputed, or out of its window).
    pub checked: bool,
    /// What checking found (for operators and logs).
    pub note: Option<String>,
    /// The leaves this bot recomputed, with what it measured (published at `/checks/<id>`).
    #[serde(default)]
    pub leaves: Vec<crate::check::LeafCheck>,
}

/// A dispute seen in events (latest struct wins).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DisputeEntry {
    /// `abi.encode(Dispute)`, its latest state.
    pub dispute: Bytes,
    /// The leaf data, once known on chain.
    pub leaf: Option<Bytes>,
    /// Whether this bot is done with it (final status seen, or nothing left to do).
    pub done: bool,
    /// This bot's own signed attestation, when operating.
    pub attestation: Option<crate::Attestation>,
    /// The item published on chain for the leaf (`ItemPublished`: output bytes, TOPLOC bytes).
    #[serde(default)]
    pub item: Option<(Bytes, Bytes)>,
    /// Whether this bot's verdict seal is on chain (`sealVerdict`), or sealing closed before it was.
    #[serde(default)]
    pub sealed: bool,
}

/// How far a dispute the bot decided to open has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntentStatus {
    /// Decided and persisted; not known to be on chain yet.
    Pending,
    /// On chain (ours or someone's: the leaf is disputed).
    Done,
    /// Abandoned (the chain refused for good: window closed, commitment gone).
    Failed(String),
}

/// What an intent sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntentKind {
    /// `openDispute` / `openDisputeWithLeaf` on `index` (voted on by the operators).
    #[default]
    Dispute,
    /// `proveScoreFault` with leaf `index` (the intent's `leaf`) and, for a broken step, leaf
    /// `index + 1` with its proof: decided by the contract alone.
    ScoreProof {
        /// Leaf `index + 1`'s data and proof, when the break is a step.
        next: Option<(Bytes, Vec<B256>)>,
    },
}

/// A dispute or score proof the bot decided to send (persisted BEFORE sending: exactly once across
/// restarts). Disputes are keyed by their dispute id, score proofs by [`score_proof_key`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Intent {
    /// The commitment.
    pub commitment_id: B256,
    /// The leaf.
    pub index: u32,
    /// Leaf data and proof when opening with the leaf; `None` to force a reveal.
    pub leaf: Option<(Bytes, Vec<B256>)>,
    /// Why.
    pub reason: String,
    /// Progress.
    pub status: IntentStatus,
    /// What is sent (absent in state files written before score proofs: a dispute).
    #[serde(default)]
    pub kind: IntentKind,
}

/// The key of a commitment's score-proof intent: `keccak256(commitmentId || "score")` (at most one
/// per commitment; it cannot collide with a dispute id, which hashes 64 bytes).
pub fn score_proof_key(commitment_id: B256) -> B256 {
    let mut pre = commitment_id.to_vec();
    pre.extend_from_slice(b"score");
    alloy::primitives::keccak256(pre)
}

/// The whole persisted state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Next block to scan and recently scanned range ends (reorg detection); stored as the
    /// top-level `cursor` and `recent` fields.
    #[serde(flatten)]
    pub follow: Cursor,
    /// Task specs (`abi.encode(TaskSpec)`) by task id.
    pub tasks: BTreeMap<B256, Bytes>,
    /// Commitments by id.
    pub commitments: BTreeMap<B256, CommitmentEntry>,
    /// Disputes by id.
    pub disputes: BTreeMap<B256, DisputeEntry>,
    /// Disputes this bot opens, by dispute id.
    pub intents: BTreeMap<B256, Intent>,
}

impl State {
    /// The state file in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("state.json")
    }

    /// Loads the state, or a fresh one starting at `start_block` when there is no file.
    pub fn load(dir: &Path, start_block: u64) -> anyhow::Result<Self> {
        let path = Self::path(dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                follow: Cursor::at(start_block),
                ..Self::default()
            }),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
        }
    }

    /// Writes the state atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(dir)?;
        let path = Self::path(dir);
        let tmp = dir.join(".state.json.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

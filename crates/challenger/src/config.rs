//! Bot configuration: a TOML file and/or command-line flags (flags win).

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything the bot needs. Field names are the TOML keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP JSON-RPC endpoint (the source of truth).
    pub rpc_url: String,
    /// Optional WebSocket endpoint: new heads wake the bot up early.
    pub ws_url: Option<String>,
    /// The DisputeGame.
    pub game: Address,
    /// First block to scan (the deployment block).
    pub start_block: u64,
    /// Environment variable holding the 0x-hex signing key.
    pub key_env: Option<String>,
    /// Ethereum V3 keystore file (password in `keystore_password_env`).
    pub keystore: Option<PathBuf>,
    /// Environment variable holding the keystore password.
    pub keystore_password_env: Option<String>,
    /// Plain 0x-hex key, accepted on development chains only.
    pub dev_key: Option<String>,
    /// Where the state file and fetched bundles live.
    pub state_dir: PathBuf,
    /// Blocks an event must be buried under before the bot acts on it.
    pub confirmations: u64,
    /// Fraction of each commitment's leaves to recompute, in [0, 1].
    pub sample_rate: f64,
    /// Seed of the per-commitment leaf sample.
    pub seed: u64,
    /// Act as an operator: sign verdicts, serve and collect them, resolve.
    pub operator: bool,
    /// Other operators' bots (`http://host:port`), polled for attestations.
    pub peers: Vec<String>,
    /// Address of the HTTP server (health, metrics, attestations); none when unset.
    pub listen: Option<SocketAddr>,
    /// The task's model (GGUF file or safetensors directory); without it only data availability
    /// and structure are checked.
    pub model: Option<PathBuf>,
    /// Benchmark manifests (docs/manifest.md), matched to tasks by their hash. A task whose
    /// manifest is not here is not judged (logged, counted in `tasks_unjudged`).
    pub manifests: Vec<PathBuf>,
    /// Local dataset files (JSONL): copies of manifests' datasets (matched by sha256; otherwise the
    /// bot fetches them from the manifest's URI), and the datasets of legacy tasks (manifest hash
    /// 0, matched by their root).
    pub datasets: Vec<PathBuf>,
    /// The ServiceManager back end the bot expects (`native` or `eigenlayer`); checked against
    /// the DisputeGame's service manager at start. Unset: accept either.
    pub backend: Option<verbench_chain::deploy::Backend>,
    /// Sleep between polls, milliseconds.
    pub poll_interval_ms: u64,
    /// Most blocks per `eth_getLogs` request.
    pub max_block_range: u64,
    /// Recent block hashes remembered for reorg detection.
    pub reorg_depth: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rpc_url: "http://127.0.0.1:8545".into(),
            ws_url: None,
            game: Address::ZERO,
            start_block: 0,
            key_env: None,
            keystore: None,
            keystore_password_env: None,
            dev_key: None,
            state_dir: PathBuf::from("challenger-state"),
            confirmations: 0,
            sample_rate: 0.1,
            seed: 0,
            operator: false,
            peers: Vec::new(),
            listen: None,
            model: None,
            manifests: Vec::new(),
            datasets: Vec::new(),
            backend: None,
            poll_interval_ms: 2000,
            max_block_range: 2000,
            reorg_depth: 64,
        }
    }
}

impl Config {
    /// Reads a TOML file.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Ok(toml::from_str(&text)?)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.sample_rate),
            "sample_rate {} is not in [0, 1]",
            self.sample_rate
        );
        Ok(())
    }

    /// Where the signing key comes from.
    pub fn key_source(&self) -> anyhow::Result<verbench_chain::keys::KeySource> {
        use verbench_chain::keys::KeySource;
        if let Some(path) = &self.keystore {
            return Ok(KeySource::Keystore {
                path: path.clone(),
                password_env: self
                    .keystore_password_env
                    .clone()
                    .unwrap_or_else(|| "VERBENCH_KEYSTORE_PASSWORD".into()),
            });
        }
        if let Some(var) = &self.key_env {
            return Ok(KeySource::Env(var.clone()));
        }
        if let Some(key) = &self.dev_key {
            return Ok(KeySource::DevPlain(key.clone()));
        }
        anyhow::bail!("no signing key: set keystore, key_env or (development chains) dev_key")
    }
}

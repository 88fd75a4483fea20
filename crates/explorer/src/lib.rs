//! verbench's explorer: follows a deployment's DisputeGame events (with the challenger bot's
//! [`Follower`](verbench_chain::follow::Follower) and its reorg handling), fetches each
//! commitment's bundle (size-capped, hash-checked, checked against the committed root and the
//! task), reads what the configured challengers published about the leaves they recomputed, keeps
//! it all in SQLite, and serves server-rendered pages and JSON:
//!
//! - `/`: the leaderboard, one table per benchmark;
//! - `/commitment/<id>`: header, per-item table, TOPLOC and score plots, dispute timeline;
//! - `/dispute/<id>`: the leaf, its inclusion proof, the verdict and its signers, the money moved;
//! - `/api/leaderboard`, `/api/commitments/<id>`, `/api/disputes/<id>`, `/api/status`: the same as
//!   JSON;
//! - `/health`.
//!
//! "Verified" means one thing: finalized, and challengers this explorer reads recomputed k of n
//! leaves and found every one valid (see [`pages`]).

pub mod index;
pub mod model;
pub mod pages;
pub mod plot;
mod server;
pub mod store;

pub use index::{Indexer, Snapshot};
pub use server::router;

use alloy::primitives::{Address, B256};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tracing::{info, warn};

/// The explorer's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The DisputeGame.
    pub game: Address,
    /// First block to read (the deployment's block).
    pub start_block: u64,
    /// Blocks behind the head before a block is read.
    pub confirmations: u64,
    /// Most blocks per `eth_getLogs`.
    pub max_block_range: u64,
    /// Range ends remembered for reorg detection.
    pub reorg_depth: usize,
    /// Where the SQLite store and fetched bundles live.
    pub data_dir: PathBuf,
    /// Base URLs of challenger bots whose `/checks/<id>` this explorer reads.
    pub challengers: Vec<String>,
    /// Benchmark manifests (names and reference answers).
    pub manifests: Vec<PathBuf>,
    /// Dataset files (reference answers of legacy tasks; copies of manifests' datasets).
    pub datasets: Vec<PathBuf>,
    /// Display names of model hashes.
    pub model_names: Vec<(B256, String)>,
    /// Largest bundle fetched, in bytes.
    pub max_bundle_bytes: u64,
    /// Time between indexing passes.
    pub poll_interval: Duration,
    /// Where to serve HTTP.
    pub listen: SocketAddr,
}

impl Config {
    /// A configuration with the defaults for everything but the chain and the game.
    pub fn new(rpc_url: String, game: Address) -> Self {
        Self {
            rpc_url,
            game,
            start_block: 0,
            confirmations: 0,
            max_block_range: 2000,
            reorg_depth: 64,
            data_dir: index::default_data_dir(),
            challengers: Vec::new(),
            manifests: Vec::new(),
            datasets: Vec::new(),
            model_names: Vec::new(),
            max_bundle_bytes: 256 << 20,
            poll_interval: Duration::from_secs(2),
            listen: SocketAddr::from(([127, 0, 0, 1], 8090)),
        }
    }
}

/// What the pages read, swapped after every indexing pass.
pub type Shared = Arc<RwLock<Arc<Snapshot>>>;

/// A running explorer: its address and how to stop it.
#[derive(Debug)]
pub struct Running {
    /// Where it serves.
    pub addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// The current snapshot.
    pub shared: Shared,
}

impl Running {
    /// The base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until an indexing pass has read up to block `block` (or `timeout` passes).
    pub async fn wait_indexed(&self, block: u64, timeout: Duration) -> anyhow::Result<()> {
        let t0 = std::time::Instant::now();
        loop {
            let cursor = self.shared.read().map(|s| s.cursor).unwrap_or(0);
            if cursor > block {
                return Ok(());
            }
            anyhow::ensure!(
                t0.elapsed() < timeout,
                "explorer did not index block {block} within {timeout:?} (at {cursor})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops indexing and serving.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await?
    }
}

/// Starts the explorer: connects, runs one indexing pass, binds `cfg.listen` and serves while
/// indexing every `poll_interval`, until [`Running::stop`].
pub async fn start(cfg: Config) -> anyhow::Result<Running> {
    let mut indexer = Indexer::new(cfg.clone()).await?;
    let first = indexer.step().await?;
    let shared: Shared = Arc::new(RwLock::new(Arc::new(first)));
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    info!(%addr, "explorer serving");
    let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
    let app = router(shared.clone());
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await
    });
    let loop_shared = shared.clone();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop_rx.wait_for(|s| *s) => break,
                _ = tokio::time::sleep(cfg.poll_interval) => {}
            }
            let next = match indexer.step().await {
                Ok(s) => s,
                Err(e) => {
                    let e = format!("{e:#}");
                    warn!(error = %e, "indexing pass failed");
                    let old = loop_shared
                        .read()
                        .map(|s| (**s).clone())
                        .unwrap_or_default();
                    Snapshot {
                        last_error: Some(e),
                        ..old
                    }
                }
            };
            if let Ok(mut s) = loop_shared.write() {
                *s = Arc::new(next);
            }
        }
        server.await??;
        Ok(())
    });
    Ok(Running {
        addr,
        stop,
        task,
        shared,
    })
}

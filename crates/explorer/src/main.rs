//! `verbench-explorer`: index a deployment and serve its pages until Ctrl-C.
#![allow(clippy::print_stdout, reason = "a binary prints where it serves")]

use alloy::primitives::{Address, B256};
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    about = "verbench explorer: leaderboards, commitments and disputes of a deployment, read from the chain and the bundles"
)]
struct Args {
    /// JSON-RPC endpoint.
    #[arg(
        long,
        env = "VERBENCH_RPC_URL",
        default_value = "http://127.0.0.1:8545"
    )]
    rpc_url: String,
    /// The DisputeGame's address.
    #[arg(long, env = "VERBENCH_GAME")]
    game: Address,
    /// First block to read (the deployment's block).
    #[arg(long, default_value_t = 0)]
    start_block: u64,
    /// Blocks behind the head before a block is read.
    #[arg(long, default_value_t = 0)]
    confirmations: u64,
    /// Where the SQLite store and fetched bundles live.
    #[arg(long, default_value = "explorer-data")]
    data_dir: PathBuf,
    /// Base URL of a challenger bot whose published checks are read (repeatable).
    #[arg(long = "challenger")]
    challengers: Vec<String>,
    /// Benchmark manifest (names, reference answers; repeatable).
    #[arg(long = "manifest")]
    manifests: Vec<PathBuf>,
    /// Dataset file (repeatable).
    #[arg(long = "dataset")]
    datasets: Vec<PathBuf>,
    /// A model's display name: `0x<model hash>=<name>` (repeatable).
    #[arg(long = "model-name", value_parser = parse_model_name)]
    model_names: Vec<(B256, String)>,
    /// Largest bundle fetched, in bytes.
    #[arg(long, default_value_t = 256 << 20)]
    max_bundle_bytes: u64,
    /// Milliseconds between indexing passes.
    #[arg(long, default_value_t = 2000)]
    poll_interval_ms: u64,
    /// Where to serve HTTP.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
}

fn parse_model_name(s: &str) -> Result<(B256, String), String> {
    let (hash, name) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected 0x<model hash>=<name>"))?;
    let hash: B256 = hash
        .parse()
        .map_err(|e| format!("`{hash}` is not a 32-byte hex hash: {e}"))?;
    Ok((hash, name.to_string()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let a = Args::parse();
    let cfg = verbench_explorer::Config {
        start_block: a.start_block,
        confirmations: a.confirmations,
        data_dir: a.data_dir,
        challengers: a.challengers,
        manifests: a.manifests,
        datasets: a.datasets,
        model_names: a.model_names,
        max_bundle_bytes: a.max_bundle_bytes,
        poll_interval: Duration::from_millis(a.poll_interval_ms.max(100)),
        listen: a.listen,
        ..verbench_explorer::Config::new(a.rpc_url, a.game)
    };
    let running = verbench_explorer::start(cfg).await?;
    println!("verbench explorer at {}/ (Ctrl-C stops it)", running.url());
    tokio::signal::ctrl_c().await?;
    running.stop().await
}

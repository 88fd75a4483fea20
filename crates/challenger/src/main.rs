//! `verbench-challenger`: parse, set up logging, call the library.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use verbench_challenger::{Bot, Config};

#[derive(Parser)]
#[command(version, about = "verbench challenger and operator bot")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Watch the DisputeGame, check commitments, dispute bad leaves, operate.
    Run(RunArgs),
}

/// Flags override the TOML file's keys of the same name (crates/challenger/README.md); a flag left
/// out keeps the file's value, or the default shown.
#[derive(clap::Args)]
struct RunArgs {
    /// TOML configuration file (flags override it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// HTTP JSON-RPC endpoint, the source of truth [default: http://127.0.0.1:8545].
    #[arg(long)]
    rpc_url: Option<String>,
    /// WebSocket endpoint whose new heads wake the bot early (optional) [default: none].
    #[arg(long)]
    ws_url: Option<String>,
    /// DisputeGame address (required, here or in the file).
    #[arg(long)]
    game: Option<alloy::primitives::Address>,
    /// First block to scan: the deployment block [default: 0].
    #[arg(long)]
    start_block: Option<u64>,
    /// Environment variable holding the 0x-hex signing key.
    #[arg(long)]
    key_env: Option<String>,
    /// Ethereum V3 keystore holding the signing key (password in --keystore-password-env).
    #[arg(long)]
    keystore: Option<PathBuf>,
    /// Environment variable holding the keystore password [default: VERBENCH_KEYSTORE_PASSWORD].
    #[arg(long)]
    keystore_password_env: Option<String>,
    /// Plain key (development chains only).
    #[arg(long)]
    dev_key: Option<String>,
    /// Where the state file, fetched bundles and datasets live [default: challenger-state].
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Blocks an event must be buried under before the bot acts on it [default: 0].
    #[arg(long)]
    confirmations: Option<u64>,
    /// Fraction of each commitment's leaves recomputed by the model, in [0, 1] [default: 0.1].
    /// Every leaf's score and running sum are checked whatever the rate.
    #[arg(long)]
    sample_rate: Option<f64>,
    /// Seed of the per-commitment leaf sample [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Act as an operator (sign, serve and collect verdicts).
    #[arg(long)]
    operator: bool,
    /// Another operator's bot, `http://host:port` (repeatable).
    #[arg(long = "peer")]
    peers: Vec<String>,
    /// Address of the HTTP server (health, metrics, attestations) [default: not served].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// The task's model (GGUF or safetensors directory); without it no leaf is rescored or
    /// recomputed [default: none].
    #[arg(long)]
    model: Option<PathBuf>,
    /// Benchmark manifest (repeatable); tasks are matched by manifest hash.
    #[arg(long = "manifest")]
    manifests: Vec<PathBuf>,
    /// Dataset JSONL (repeatable): local copies of manifests' datasets, or legacy datasets.
    #[arg(long = "dataset")]
    datasets: Vec<PathBuf>,
    /// Sleep between polls, milliseconds [default: 2000].
    #[arg(long)]
    poll_interval_ms: Option<u64>,
    /// ServiceManager back end expected (checked at start): native or eigenlayer [default: either].
    #[arg(long, value_enum)]
    backend: Option<verbench_chain::deploy::Backend>,
    /// Process everything up to the current head, then exit.
    #[arg(long)]
    once: bool,
}

impl RunArgs {
    fn config(self) -> anyhow::Result<(Config, bool)> {
        let mut c = match &self.config {
            Some(p) => Config::load(p)?,
            None => Config::default(),
        };
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { c.$f = v; } )* };
        }
        set!(
            rpc_url,
            game,
            start_block,
            state_dir,
            confirmations,
            sample_rate,
            seed,
            poll_interval_ms
        );
        macro_rules! set_opt {
            ($($f:ident),*) => { $( if self.$f.is_some() { c.$f = self.$f; } )* };
        }
        set_opt!(
            ws_url,
            key_env,
            keystore,
            keystore_password_env,
            dev_key,
            listen,
            model,
            backend
        );
        c.operator |= self.operator;
        c.peers.extend(self.peers);
        c.manifests.extend(self.manifests);
        c.datasets.extend(self.datasets);
        Ok((c, self.once))
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let Command::Run(args) = Cli::parse().command;
    let (config, once) = args.config()?;
    let mut bot = Bot::new(config).await?;
    if once {
        let report = bot.run_once().await?;
        tracing::info!(?report, "done (--once)");
        return Ok(());
    }
    bot.run(shutdown_signal()).await
}

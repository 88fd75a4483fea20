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

#[derive(clap::Args)]
struct RunArgs {
    /// TOML configuration file (flags override it).
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long)]
    rpc_url: Option<String>,
    #[arg(long)]
    ws_url: Option<String>,
    /// DisputeGame address.
    #[arg(long)]
    game: Option<alloy::primitives::Address>,
    #[arg(long)]
    start_block: Option<u64>,
    /// Environment variable holding the 0x-hex key.
    #[arg(long)]
    key_env: Option<String>,
    #[arg(long)]
    keystore: Option<PathBuf>,
    #[arg(long)]
    keystore_password_env: Option<String>,
    /// Plain key (development chains only).
    #[arg(long)]
    dev_key: Option<String>,
    #[arg(long)]
    state_dir: Option<PathBuf>,
    #[arg(long)]
    confirmations: Option<u64>,
    #[arg(long)]
    sample_rate: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Act as an operator (sign, serve and collect verdicts).
    #[arg(long)]
    operator: bool,
    /// Another operator's bot, `http://host:port` (repeatable).
    #[arg(long = "peer")]
    peers: Vec<String>,
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// The task's model (GGUF or safetensors directory).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Dataset JSONL (repeatable).
    #[arg(long = "dataset")]
    datasets: Vec<PathBuf>,
    #[arg(long)]
    poll_interval_ms: Option<u64>,
    /// ServiceManager back end expected (checked at start): native or eigenlayer.
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

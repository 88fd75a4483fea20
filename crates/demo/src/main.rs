//! The README's demo: a local chain, an honest and a cheating provider on the real SmolLM2 model,
//! a challenger that catches the cheat, operators that resolve the dispute, and the balances.
//! Native back end (operators stake ETH in verbench's ServiceManager); the EigenLayer variant is
//! `verbench-devnet demo` (see the README).
#![allow(clippy::print_stdout)]

use clap::Parser;
use verbench_chain::deploy::Backend;
use verbench_demo::{ether, flow::run_demo, role, Devnet};

#[derive(Parser)]
#[command(about = "verbench end to end on a local anvil chain")]
struct Args {
    /// The ServiceManager back end. `eigenlayer` runs from `verbench-devnet demo` instead, which
    /// deploys the EigenLayer core (its bytecode is BUSL-1.1 and stays out of this binary).
    #[arg(long, value_enum, default_value_t = Backend::Native)]
    backend: Backend,
    /// Exit when the demo is done instead of serving the explorer until Ctrl-C (CI).
    #[arg(long)]
    exit: bool,
    /// Where the explorer serves its pages.
    #[arg(long, default_value = "127.0.0.1:8090")]
    explorer_listen: std::net::SocketAddr,
    /// Write screenshots of the explorer's pages (leaderboard, commitments, a dispute) into this
    /// folder, then exit (`tools/explorer-screenshots.sh`).
    #[arg(long)]
    screenshots: Option<std::path::PathBuf>,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    anyhow::ensure!(
        args.backend == Backend::Native,
        "the EigenLayer demo is `cargo run --release -p verbench-devnet -- demo` (or `tools/demo.sh --eigenlayer`): \
         it deploys the EigenLayer core, which this binary does not carry"
    );
    let net = Devnet::start().await?;
    println!(
        "anvil at {}; DisputeGame {}, ServiceManager {}",
        net.anvil.endpoint(),
        net.deployment.dispute_game,
        net.deployment.service_manager
    );
    net.register_operators(&role::OPERATORS, ether(10)).await?;
    println!(
        "operators {:?} registered with 10 ETH stake each",
        role::OPERATORS.map(|i| net.address(i))
    );
    let outcome = run_demo(&net).await?;
    let explorer = verbench_demo::explore::start_explorer(
        &net,
        verbench_demo::explore::Sources {
            challengers: &outcome.challengers,
            manifests: &outcome.manifests,
            datasets: &outcome.datasets,
            model_names: vec![outcome.model.clone()],
        },
        &outcome.dir.join("explorer"),
        args.explorer_listen,
    )
    .await?;
    let url = explorer.url();
    println!("\n== explorer: {url}/ (leaderboard, commitments, disputes; JSON under {url}/api/)");
    if let Some(dir) = &args.screenshots {
        screenshots(&explorer, dir)?;
        return explorer.stop().await;
    }
    if args.exit {
        return explorer.stop().await;
    }
    println!("serving until Ctrl-C (anvil keeps running with it)");
    tokio::signal::ctrl_c().await?;
    explorer.stop().await
}

/// The README's screenshots: the leaderboard, the first finalized and the first rejected
/// commitment, and the first dispute.
fn screenshots(
    explorer: &verbench_demo::explore::Explorer,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    use verbench_chain::bindings::IDisputeGame::CommitmentStatus;
    let snap = explorer
        .running
        .shared
        .read()
        .map_err(|_| anyhow::anyhow!("explorer state poisoned"))?
        .clone();
    let url = explorer.url();
    let shoot = |name: &str, path: &str, h: u32| -> anyhow::Result<()> {
        let file = dir.join(name);
        verbench_demo::explore::screenshot(&format!("{url}{path}"), &file, 1280, h)?;
        println!("wrote {}", file.display());
        Ok(())
    };
    shoot("leaderboard.png", "/", 1100)?;
    let first = |s: CommitmentStatus| snap.view.commitments.iter().find(|c| c.status() == s);
    if let Some(c) = first(CommitmentStatus::Finalized) {
        shoot(
            "commitment-verified.png",
            &format!("/commitment/{}", c.id),
            1800,
        )?;
    }
    if let Some(c) = first(CommitmentStatus::Rejected) {
        shoot(
            "commitment-caught.png",
            &format!("/commitment/{}", c.id),
            1800,
        )?;
    }
    if let Some(d) = snap.view.disputes.keys().next() {
        shoot("dispute.png", &format!("/dispute/{d}"), 1400)?;
    }
    Ok(())
}

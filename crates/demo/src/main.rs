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
    run_demo(&net).await
}

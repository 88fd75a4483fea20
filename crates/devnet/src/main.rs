//! `verbench-devnet`: the EigenLayer back end on a local chain.
//!
//! - `up`: deploys the EigenLayer core and verbench's EigenLayer back end on a running dev chain
//!   (anvil) and writes `deployments/<chainId>.json`;
//! - `onboard`: takes an operator from nothing to allocated, weighted stake in verbench's set;
//! - `demo`: the README's demo on the EigenLayer back end (own anvil, operators restaked through
//!   the core, the cheating provider registered as an operator and slashed through the core).
#![allow(clippy::print_stdout)]

use alloy::{
    network::EthereumWallet,
    primitives::{utils::parse_ether, Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use verbench_chain::{
    deploy::{DeployParams, Deployment},
    eigen,
    keys::{load_signer, KeySource},
    local,
};
use verbench_demo::{flow::run_demo, role, Devnet};
use verbench_devnet::{deploy, onboard, CoreParams};

#[derive(Parser)]
#[command(about = "verbench's EigenLayer back end on a local chain")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Chain {
    /// JSON-RPC endpoint of a development chain (anvil).
    #[arg(
        long,
        env = "VERBENCH_RPC_URL",
        default_value = "http://127.0.0.1:8545"
    )]
    rpc_url: String,
    /// 0x-hex private key (development chains only); default: anvil's account 0.
    #[arg(
        long,
        default_value = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    )]
    dev_private_key: String,
}

#[derive(Subcommand)]
enum Command {
    /// Deploy the EigenLayer core and verbench on a running dev chain.
    Up {
        #[command(flatten)]
        chain: Chain,
        /// Where to write the deployment (default: deployments/<chainId>.json).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Blocks a leaving operator stays slashable (12-second blocks assumed for the unbonding delay).
        #[arg(long, default_value_t = CoreParams::default().deallocation_delay)]
        deallocation_delay: u32,
    },
    /// Restake, register and allocate an operator (the key's account) on a local deployment.
    Onboard {
        #[command(flatten)]
        chain: Chain,
        /// The deployment (default: deployments/<chainId>.json).
        #[arg(long)]
        deployment: Option<PathBuf>,
        /// Devnet stake tokens to mint and restake, in whole tokens (18 decimals).
        #[arg(long, default_value = "10")]
        amount: String,
    },
    /// The README's demo on the EigenLayer back end (starts its own anvil).
    Demo,
}

async fn connect(chain: &Chain) -> anyhow::Result<(DynProvider, Address, u64)> {
    let probe = ProviderBuilder::new()
        .connect(&chain.rpc_url)
        .await
        .with_context(|| format!("connecting to {}", chain.rpc_url))?;
    let chain_id = probe.get_chain_id().await.context("eth_chainId")?;
    let signer = load_signer(
        &KeySource::DevPlain(chain.dev_private_key.clone()),
        chain_id,
    )?;
    let me = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect(&chain.rpc_url)
        .await?
        .erased();
    Ok((provider, me, chain_id))
}

fn dev_params() -> DeployParams {
    DeployParams {
        reveal_window: 600,
        voting_period: 600,
        ..DeployParams::default()
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Args::parse().command {
        Command::Up {
            chain,
            out,
            deallocation_delay,
        } => {
            let (provider, me, chain_id) = connect(&chain).await?;
            let core = CoreParams {
                deallocation_delay,
                min_withdrawal_delay: deallocation_delay.saturating_add(1),
                ..CoreParams::default()
            };
            let d = deploy(&provider, me, &core, &dev_params()).await?;
            let path = out.unwrap_or_else(|| Deployment::default_path(chain_id));
            d.save(&path)?;
            println!("{}", serde_json::to_string_pretty(&d)?);
            println!("written to {}", path.display());
        }
        Command::Onboard {
            chain,
            deployment,
            amount,
        } => {
            let (provider, me, chain_id) = connect(&chain).await?;
            let path = deployment.unwrap_or_else(|| Deployment::default_path(chain_id));
            let d = Deployment::load(&path)?;
            let amount: U256 =
                parse_ether(&amount).with_context(|| format!("--amount {amount}"))?;
            let gas = onboard(&provider, &provider, me, &d, amount).await?;
            println!("operator {me} onboarded: {gas:?}");
        }
        Command::Demo => demo().await?,
    }
    Ok(())
}

async fn demo() -> anyhow::Result<()> {
    let anvil = local::spawn_anvil()?;
    let admin_key = PrivateKeySigner::from(anvil.keys()[role::ADMIN].clone());
    let admin = ProviderBuilder::new()
        .wallet(admin_key.clone())
        .connect_http(anvil.endpoint_url())
        .erased();
    let deployment = deploy(
        &admin,
        admin_key.address(),
        &CoreParams::default(),
        &DeployParams {
            unbonding_delay: 86_400,
            ..dev_params()
        },
    )
    .await?;
    let net = Devnet::with_deployment(anvil, deployment);
    let el = net
        .deployment
        .eigenlayer
        .clone()
        .context("EigenLayer deployment")?;
    println!(
        "anvil at {}; EigenLayer core: AllocationManager {}, DelegationManager {}, StrategyManager {}, strategy {}",
        net.anvil.endpoint(),
        el.allocation_manager,
        el.delegation_manager,
        el.strategy_manager,
        el.strategy
    );
    println!(
        "DisputeGame {}, EigenServiceManager (the AVS, operator set {}) {}",
        net.deployment.dispute_game, el.operator_set_id, net.deployment.service_manager
    );
    // The cheating provider restakes too: its commitments are backed by its allocated stake.
    for i in role::OPERATORS.into_iter().chain([role::CHEAT]) {
        let gas = onboard(
            &net.admin,
            &net.provider(i),
            net.address(i),
            &net.deployment,
            verbench_demo::ether(10),
        )
        .await?;
        println!(
            "operator {} restaked 10 vSTAKE and allocated it all to verbench's set ({gas:?})",
            net.address(i)
        );
    }
    net.advance(1).await?;
    let cheat = net.address(role::CHEAT);
    let before = eigen::magnitudes(&net.admin, &el, net.deployment.service_manager, cheat).await?;
    run_demo(&net).await?;
    let after = eigen::magnitudes(&net.admin, &el, net.deployment.service_manager, cheat).await?;
    println!(
        "\ncheating provider {cheat} in the EigenLayer core: allocated magnitude {} -> {}, max magnitude {} -> {} (1e18 = all)",
        before.0, after.0, before.1, after.1
    );
    anyhow::ensure!(
        after.1 < before.1,
        "the cheating provider was not slashed in the core"
    );
    Ok(())
}

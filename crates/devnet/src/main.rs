//! `verbench-devnet`: the EigenLayer back end on a local chain.
//!
//! - `deploy`: deploys verbench (either back end) on a running chain and writes the deployment
//!   file where the user says;
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
    deploy::{Backend, DeployParams, Deployment},
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
    /// Sign with this encrypted keystore instead (any chain); its password is read from
    /// VERBENCH_KEYSTORE_PASSWORD.
    #[arg(long)]
    keystore: Option<PathBuf>,
}

/// The contracts' parameters (defaults as in `script/Deploy.s.sol`).
#[derive(clap::Args)]
struct Params {
    /// Seconds a provider has to reveal a disputed leaf.
    #[arg(long, default_value_t = DeployParams::default().reveal_window)]
    reveal_window: u32,
    /// Seconds operators have to reach a verdict once the leaf is known.
    #[arg(long, default_value_t = DeployParams::default().voting_period)]
    voting_period: u32,
    /// Native back end: seconds a leaving operator stays slashable.
    #[arg(long, default_value_t = DeployParams::default().unbonding_delay)]
    unbonding_delay: u64,
    /// Native back end: minimum operator stake, in whole ether (18 decimals).
    #[arg(long, default_value = "1")]
    min_stake: String,
    /// Share of a slashed provider bond paid to the challenger, basis points (below 10000).
    #[arg(long, default_value_t = DeployParams::default().challenger_share_bps)]
    challenger_share_bps: u16,
    /// Stake share a verdict needs, basis points.
    #[arg(long, default_value_t = DeployParams::default().quorum_bps)]
    quorum_bps: u16,
    /// Receiver of confiscated shares (default: the deployer).
    #[arg(long)]
    treasury: Option<Address>,
}

impl Params {
    fn deploy_params(&self) -> anyhow::Result<DeployParams> {
        Ok(DeployParams {
            treasury: self.treasury,
            unbonding_delay: self.unbonding_delay,
            min_stake: parse_ether(&self.min_stake)
                .with_context(|| format!("--min-stake {}", self.min_stake))?,
            challenger_share_bps: self.challenger_share_bps,
            quorum_bps: self.quorum_bps,
            reveal_window: self.reveal_window,
            voting_period: self.voting_period,
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Deploy verbench on a running chain (native: ServiceManager + DisputeGame; eigenlayer: the
    /// EigenLayer core too, development chains only) and write the deployment file to --out.
    Deploy {
        #[command(flatten)]
        chain: Chain,
        /// Which operator set backs the game.
        #[arg(long, value_enum, default_value_t = Backend::Native)]
        backend: Backend,
        /// Where to write the deployment file (`--deployment` of verbench-submit, `deployment`
        /// of the challenger's config).
        #[arg(long)]
        out: PathBuf,
        /// Overwrite --out if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        params: Params,
    },
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
    let source = match &chain.keystore {
        Some(path) => KeySource::Keystore {
            path: path.clone(),
            password_env: "VERBENCH_KEYSTORE_PASSWORD".into(),
        },
        None => KeySource::DevPlain(chain.dev_private_key.clone()),
    };
    let signer = load_signer(&source, chain_id)?;
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
        Command::Deploy {
            chain,
            backend,
            out,
            force,
            params,
        } => {
            anyhow::ensure!(
                force || !out.exists(),
                "{} exists: pass --force to overwrite it",
                out.display()
            );
            let params = params.deploy_params()?;
            let (provider, me, chain_id) = connect(&chain).await?;
            // The EigenLayer back end deploys its own core here, with a mintable stake token: a
            // development chain's setup, never a real network's.
            anyhow::ensure!(
                backend == Backend::Native
                    || verbench_chain::keys::DEV_CHAIN_IDS.contains(&chain_id),
                "--backend eigenlayer deploys a development EigenLayer core (mintable stake token): \
                 only on development chains {:?}, not chain {chain_id}",
                verbench_chain::keys::DEV_CHAIN_IDS
            );
            let d = match backend {
                Backend::Native => verbench_chain::deploy::deploy(&provider, me, &params).await?,
                Backend::EigenLayer => {
                    deploy(&provider, me, &CoreParams::default(), &params).await?
                }
            };
            d.save(&out)?;
            println!("{}", serde_json::to_string_pretty(&d)?);
            println!("{backend} deployment written to {}", out.display());
        }
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

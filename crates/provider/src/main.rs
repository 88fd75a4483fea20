//! `verbench-submit`: the provider CLI (see the crate README).
#![allow(clippy::print_stdout)]

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256},
    providers::{DynProvider, Provider, ProviderBuilder},
};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use verbench_bundle::{dataset::Dataset, read_bundle, store::DirStore, BundleWriter};
use verbench_chain::{
    bindings::IDisputeGame::{self, GenerationParams, TaskSpec, ToplocParams},
    deploy::Deployment,
    keys::{load_signer, KeySource},
};
use verbench_inference::{load, WeightFormat};
use verbench_provider::{
    cheat::Cheat, commit::publish_and_commit, run, task::load_task, watch::Watcher,
};

#[derive(Parser)]
#[command(
    name = "verbench-submit",
    about = "verbench provider: generate, publish, commit and defend benchmark results"
)]
struct Cli {
    #[command(flatten)]
    chain: ChainArgs,
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct ChainArgs {
    /// JSON-RPC endpoint.
    #[arg(
        long,
        global = true,
        env = "VERBENCH_RPC_URL",
        default_value = "http://127.0.0.1:8545"
    )]
    rpc_url: String,
    /// Deployment file (default: deployments/<chainId>.json).
    #[arg(long, global = true)]
    deployment: Option<PathBuf>,
    /// Encrypted Ethereum V3 keystore holding the provider key.
    #[arg(long, global = true)]
    keystore: Option<PathBuf>,
    /// Environment variable with the keystore password.
    #[arg(long, global = true, default_value = "VERBENCH_KEYSTORE_PASSWORD")]
    password_env: String,
    /// Environment variable holding a 0x-hex private key (used when no keystore is given).
    #[arg(long, global = true, default_value = "VERBENCH_PRIVATE_KEY")]
    private_key_env: String,
    /// A plain 0x-hex private key: development chains (anvil) only.
    #[arg(long, global = true)]
    dev_private_key: Option<String>,
    /// The ServiceManager back end expected (native or eigenlayer); checked against the
    /// deployment file. Unset: accept the file's.
    #[arg(long, global = true, value_enum)]
    backend: Option<verbench_chain::deploy::Backend>,
}

#[derive(Subcommand)]
enum Command {
    /// Register a task (dataset, model, parameters, bonds).
    RegisterTask(RegisterTask),
    /// Generate the bundle for a task, publish it and commit it (resumable, idempotent).
    Run(RunArgs),
    /// Publish and commit an existing bundle.
    Commit(CommitArgs),
    /// Serve bundles, answer reveal requests, finalize and withdraw (long-running).
    Watch(WatchArgs),
}

#[derive(Args)]
struct RegisterTask {
    /// Dataset (JSON Lines of {id, input, answer}).
    #[arg(long)]
    dataset: PathBuf,
    /// Model weights whose content hash the task fixes (default: the cached SmolLM2-135M).
    #[arg(long)]
    model: Option<PathBuf>,
    #[arg(long, default_value_t = 64)]
    max_new_tokens: u32,
    /// Temperature x 1000; 0 = greedy.
    #[arg(long, default_value_t = 0)]
    temperature_milli: u32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value_t = 128)]
    topk: u32,
    #[arg(long, default_value_t = 32)]
    decode_batching_size: u32,
    /// Mantissa error mean limit x 1000.
    #[arg(long, default_value_t = 10_000)]
    max_mant_err_mean_milli: u32,
    /// Mantissa error median limit x 1000.
    #[arg(long, default_value_t = 8_000)]
    max_mant_err_median_milli: u32,
    #[arg(long, default_value_t = 90)]
    min_exp_matches: u32,
    /// Provider bond, wei.
    #[arg(long, default_value = "1000000000000000000")]
    provider_bond_wei: u128,
    /// Challenger bond, wei.
    #[arg(long, default_value = "100000000000000000")]
    challenger_bond_wei: u128,
    /// Challenge window, seconds.
    #[arg(long, default_value_t = 86_400)]
    challenge_window: u32,
}

#[derive(Args)]
struct Publish {
    /// Directory bundles are published to (served by `watch`).
    #[arg(long, default_value = "bundles")]
    publish_dir: PathBuf,
    /// Public base URL of the publish directory; `file://` URIs when absent.
    #[arg(long)]
    public_url: Option<String>,
}

#[derive(Args)]
struct RunArgs {
    /// The task id (0x...).
    #[arg(long)]
    task_id: B256,
    /// The task's dataset.
    #[arg(long)]
    dataset: PathBuf,
    /// Model weights (default: the cached SmolLM2-135M).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Where bundles in progress are written (`<dir>/<taskId>-<provider>.jsonl`).
    #[arg(long, default_value = "work")]
    work_dir: PathBuf,
    #[command(flatten)]
    publish: Publish,
    /// Generate and publish but do not commit.
    #[arg(long)]
    no_commit: bool,
    /// Development only: behave dishonestly (model-swap | system-prompt:<every>).
    #[arg(long, hide = true)]
    dev_cheat: Option<Cheat>,
}

#[derive(Args)]
struct CommitArgs {
    /// The task id (0x...).
    #[arg(long)]
    task_id: B256,
    /// The finished bundle.
    #[arg(long)]
    bundle: PathBuf,
    #[command(flatten)]
    publish: Publish,
}

#[derive(Args)]
struct WatchArgs {
    #[command(flatten)]
    publish: Publish,
    /// Address to serve the publish directory on (e.g. 127.0.0.1:8700); not served when absent.
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Seconds between passes.
    #[arg(long, default_value_t = 5)]
    interval: u64,
    /// One pass, then exit.
    #[arg(long)]
    once: bool,
}

struct Chain {
    provider: DynProvider,
    me: Address,
    deployment: Deployment,
}

async fn connect(args: &ChainArgs) -> anyhow::Result<Chain> {
    let probe = ProviderBuilder::new()
        .connect(&args.rpc_url)
        .await
        .with_context(|| format!("connecting to {}", args.rpc_url))?;
    let chain_id = probe.get_chain_id().await.context("eth_chainId")?;
    let source = match (&args.keystore, &args.dev_private_key) {
        (Some(path), _) => KeySource::Keystore {
            path: path.clone(),
            password_env: args.password_env.clone(),
        },
        (None, Some(key)) => KeySource::DevPlain(key.clone()),
        (None, None) => KeySource::Env(args.private_key_env.clone()),
    };
    let signer = load_signer(&source, chain_id)?;
    let me = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect(&args.rpc_url)
        .await?
        .erased();
    let path = args
        .deployment
        .clone()
        .unwrap_or_else(|| Deployment::default_path(chain_id));
    let deployment = Deployment::load(&path)?;
    verbench_chain::deploy::Backend::check(args.backend, &deployment)?;
    anyhow::ensure!(
        deployment.chain_id == chain_id,
        "{} is for chain {}, the RPC serves chain {chain_id}",
        path.display(),
        deployment.chain_id
    );
    Ok(Chain {
        provider,
        me,
        deployment,
    })
}

fn print(json: bool, value: &impl serde::Serialize, text: String) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{text}");
    }
    Ok(())
}

fn model_path(p: &Option<PathBuf>) -> PathBuf {
    p.clone().unwrap_or_else(verbench_inference::smollm2_path)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let chain = connect(&cli.chain).await?;
    let game = IDisputeGame::new(chain.deployment.dispute_game, &chain.provider);
    match cli.command {
        Command::RegisterTask(a) => {
            let dataset = Dataset::load(&a.dataset)?;
            let model_hash = verbench_inference::ModelHash::of_files(&[model_path(&a.model)])?;
            let spec = TaskSpec {
                modelHash: B256::from(model_hash.0),
                // No benchmark manifest yet for these datasets (docs/protocol.md, "Task"): 0.
                manifestHash: B256::ZERO,
                datasetRoot: B256::from(dataset.root()?),
                datasetSize: u32::try_from(dataset.items.len()).context("dataset too large")?,
                generation: GenerationParams {
                    maxNewTokens: a.max_new_tokens,
                    temperatureMilli: a.temperature_milli,
                    seed: a.seed,
                },
                toploc: ToplocParams {
                    topk: a.topk,
                    decodeBatchingSize: a.decode_batching_size,
                    maxMantErrMeanMilli: a.max_mant_err_mean_milli,
                    maxMantErrMedianMilli: a.max_mant_err_median_milli,
                    minExpMatches: a.min_exp_matches,
                    tokenMarginMilli: 0,
                },
                calibrationHash: B256::ZERO,
                providerBond: alloy::primitives::Uint::<96, 2>::from(a.provider_bond_wei),
                challengerBond: alloy::primitives::Uint::<96, 2>::from(a.challenger_bond_wei),
                challengeWindow: a.challenge_window,
                fee: alloy::primitives::Uint::<96, 2>::ZERO,
            };
            let task_id = game
                .taskIdOf(spec.clone())
                .call()
                .await
                .map_err(verbench_chain::Error::rpc("taskIdOf"))?;
            let exists = game
                .task(task_id)
                .call()
                .await
                .map_err(verbench_chain::Error::rpc("task"))?;
            if exists.providerBond.is_zero() {
                game.registerTask(spec)
                    .from(chain.me)
                    .send()
                    .await
                    .map_err(verbench_chain::Error::rpc("registerTask"))?
                    .get_receipt()
                    .await?;
            }
            let out = serde_json::json!({ "task_id": task_id.to_string(), "already_registered": !exists.providerBond.is_zero() });
            print(
                cli.json,
                &out,
                format!(
                    "task {task_id}{}",
                    if exists.providerBond.is_zero() {
                        " registered"
                    } else {
                        " already registered"
                    }
                ),
            )?;
        }
        Command::Run(a) => {
            let task = load_task(
                &chain.provider,
                chain.deployment.dispute_game,
                chain.deployment.block_number,
                a.task_id,
            )
            .await?;
            let header = task.header(
                chain.deployment.chain_id,
                chain.deployment.dispute_game,
                chain.me,
            );
            let dataset = Dataset::load(&a.dataset)?;
            let path = model_path(&a.model);
            eprintln!("loading {}", path.display());
            let model = load(
                &path,
                WeightFormat::Quantized,
                &verbench_inference::device(),
            )?;
            std::fs::create_dir_all(&a.work_dir)
                .with_context(|| format!("creating {}", a.work_dir.display()))?;
            let bundle = a
                .work_dir
                .join(format!("{}-{:#x}.jsonl", a.task_id, chain.me));
            let cheat = a.dev_cheat.clone();
            let opts = run::RunOptions {
                sampling: task.sampling(),
                progress: !cli.json,
                cheat: a.dev_cheat,
            };
            let finished = tokio::task::block_in_place(|| {
                run::generate_bundle(&header, &dataset, &model, &bundle, &opts)
            })?;
            let store = DirStore {
                dir: a.publish.publish_dir,
                base_url: a.publish.public_url,
            };
            if a.no_commit {
                let uri = verbench_bundle::store::BundleStore::publish(
                    &store,
                    &finished.path,
                    &finished.bundle_hash,
                )
                .await?;
                print(
                    cli.json,
                    &serde_json::json!({ "uri": uri }),
                    format!("published {uri} (not committed)"),
                )?;
            } else {
                let claim = cheat.map(|c| c.claimed_score(finished.score_wad));
                let c = publish_and_commit(
                    &chain.provider,
                    chain.deployment.dispute_game,
                    chain.me,
                    &task,
                    &finished,
                    &store,
                    claim,
                )
                .await?;
                let text = if c.already_committed {
                    format!(
                        "already committed: {} (root {}), nothing sent",
                        c.commitment_id, c.root
                    )
                } else {
                    format!(
                        "committed {} (root {}, {} leaves, claimed score {} WAD; mean ± stderr {}) in {}",
                        c.commitment_id,
                        c.root,
                        c.leaf_count,
                        c.claimed_score_wad,
                        c.score,
                        c.tx_hash.clone().unwrap_or_default()
                    )
                };
                print(cli.json, &c, text)?;
            }
        }
        Command::Commit(a) => {
            let task = load_task(
                &chain.provider,
                chain.deployment.dispute_game,
                chain.deployment.block_number,
                a.task_id,
            )
            .await?;
            let summary = read_bundle(&a.bundle, None)?;
            let expected = task.header(
                chain.deployment.chain_id,
                chain.deployment.dispute_game,
                chain.me,
            );
            anyhow::ensure!(
                summary.header == expected,
                "{} answers another task, provider or parameters",
                a.bundle.display()
            );
            let finished = BundleWriter::create_or_resume(&a.bundle, expected)?.finish()?;
            let store = DirStore {
                dir: a.publish.publish_dir,
                base_url: a.publish.public_url,
            };
            let c = publish_and_commit(
                &chain.provider,
                chain.deployment.dispute_game,
                chain.me,
                &task,
                &finished,
                &store,
                None,
            )
            .await?;
            let text = if c.already_committed {
                format!("already committed: {}", c.commitment_id)
            } else {
                format!("committed {}", c.commitment_id)
            };
            print(cli.json, &c, text)?;
        }
        Command::Watch(a) => {
            let watcher = Watcher {
                provider: chain.provider.clone(),
                game: chain.deployment.dispute_game,
                me: chain.me,
                from_block: chain.deployment.block_number,
                bundle_dir: a.publish.publish_dir.clone(),
            };
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let server = match a.listen {
                Some(addr) => {
                    let listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding {addr}"))?;
                    eprintln!(
                        "serving {} at http://{addr}/",
                        a.publish.publish_dir.display()
                    );
                    let mut rx = stop_rx.clone();
                    Some(tokio::spawn(verbench_bundle::store::serve_dir(
                        listener,
                        a.publish.publish_dir.clone(),
                        async move {
                            let _ = rx.changed().await;
                        },
                    )))
                }
                None => None,
            };
            loop {
                match watcher.pass().await {
                    Ok(pass) => print(
                        cli.json,
                        &pass,
                        format!(
                            "{} commitments: {} revealed, {} finalized, {} wei withdrawn{}",
                            pass.commitments,
                            pass.revealed,
                            pass.finalized,
                            pass.withdrawn_wei,
                            if pass.problems.is_empty() {
                                String::new()
                            } else {
                                format!("; problems: {:?}", pass.problems)
                            }
                        ),
                    )?,
                    Err(e) => tracing::error!(error = %e, "watch pass failed; retrying"),
                }
                if a.once {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(a.interval)) => {}
                    _ = tokio::signal::ctrl_c() => { eprintln!("shutting down"); break; }
                }
            }
            let _ = stop_tx.send(true);
            if let Some(server) = server {
                server.await??;
            }
        }
    }
    Ok(())
}

//! `verbench-submit`: the provider CLI (see the crate README).
#![allow(clippy::print_stdout)]

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use verbench_bundle::{read_bundle, store::DirStore, BundleWriter};
use verbench_chain::{
    bindings::IDisputeGame::{self, GenerationParams, TaskSpec},
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
    /// Convert a registry benchmark (GSM8K, MMLU) into a dataset file and its manifest; needs no
    /// chain (the sources come from tools/fetch-benchmarks.sh).
    Prepare(PrepareArgs),
    /// Run the model over a manifest's items into a bundle with no chain and no task (resumable;
    /// for measurements: the bundle's header names no task and cannot be committed).
    Evaluate(EvaluateArgs),
    /// Write a bundle as lm-evaluation-harness per-sample JSONL plus a results JSON.
    Export(ExportArgs),
    /// Stop offering a task's fee (the requester only): commitments made from now on cannot earn
    /// it; `refund-fee` returns it once the earlier ones can no longer finalize.
    CancelFee(FeeArgs),
    /// Credit a cancelled, unearned fee back to its requester (anyone may send it); the requester
    /// withdraws it like any credit (`watch` does).
    RefundFee(FeeArgs),
}

#[derive(Args)]
struct FeeArgs {
    /// The task id (0x + 64 hex digits).
    #[arg(long)]
    task: B256,
}

#[derive(Args)]
struct EvaluateArgs {
    #[command(flatten)]
    benchmark: BenchmarkArgs,
    /// Model weights (default: the cached SmolLM2-135M).
    #[arg(long)]
    model: Option<PathBuf>,
    /// The bundle to create or resume.
    #[arg(long)]
    out: PathBuf,
    /// Hold the weights dequantized to f32 (the same model, faster prefill: what validators
    /// use; honest arithmetic noise that TOPLOC tolerates). Default: quantized, as `run`.
    #[arg(long)]
    dense: bool,
    /// The generation engine: `llamacpp` (llama.cpp, about 3.6x faster on CPU; the default in
    /// builds with the `llamacpp` feature, which the default build has) or `candle` (the default
    /// without it). Recorded in the bundle header; the judge validates either the same way.
    #[arg(long, value_enum)]
    engine: Option<EngineArg>,
    /// CPU threads of the llama.cpp engine (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args)]
struct ExportArgs {
    #[command(flatten)]
    benchmark: BenchmarkArgs,
    /// Model whose tokenizer renders the prompts (default: the cached SmolLM2-135M).
    #[arg(long)]
    model: Option<PathBuf>,
    /// The bundle.
    #[arg(long)]
    bundle: PathBuf,
    /// Where samples_<name>.jsonl and results_<name>.json go.
    #[arg(long, default_value = "export")]
    out_dir: PathBuf,
}

/// `--engine`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum EngineArg {
    Candle,
    Llamacpp,
}

impl EngineArg {
    /// Without `--engine`: the fastest engine this build has.
    const DEFAULT: Self = if cfg!(feature = "llamacpp") {
        Self::Llamacpp
    } else {
        Self::Candle
    };
}

/// The engine `--engine` names (or the default), loaded from `path` (the model file the run
/// uses). `dense` (evaluate's `--dense`) holds f32 weights on candle.
fn engine(
    arg: Option<EngineArg>,
    dense: bool,
    path: &std::path::Path,
    threads: Option<usize>,
) -> anyhow::Result<run::Engine> {
    let arg = match (arg, dense) {
        (Some(EngineArg::Llamacpp), true) => anyhow::bail!(
            "--dense holds dense f32 weights on candle; the llama.cpp engine runs the file's \
             quantized weights: drop --dense, or use --engine candle"
        ),
        (None, true) => EngineArg::Candle,
        (arg, _) => arg.unwrap_or(EngineArg::DEFAULT),
    };
    if arg == EngineArg::Candle {
        return Ok(run::Engine::Candle);
    }
    #[cfg(feature = "llamacpp")]
    {
        let threads = threads
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1);
        eprintln!(
            "loading {} into llama.cpp ({threads} threads)",
            path.display()
        );
        Ok(run::Engine::LlamaCpp(std::sync::Arc::new(
            verbench_inference::llamacpp::LlamaCpp::load(path, threads)?,
        )))
    }
    #[cfg(not(feature = "llamacpp"))]
    {
        let _ = (path, threads);
        anyhow::bail!(
            "this verbench-submit was built without the llama.cpp engine: build it with \
             tools/build-llamacpp.sh (cargo feature `llamacpp`), or use --engine candle"
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BenchName {
    /// GSM8K test, scored by the last number of the output.
    Gsm8k,
    /// MMLU test, 0-shot, scored by the letter ranked first among A-D.
    Mmlu,
}

#[derive(Args)]
struct PrepareArgs {
    /// The benchmark.
    #[arg(value_enum)]
    name: BenchName,
    /// GSM8K: few-shot exemplars, the first k test items (excluded from the scored items).
    #[arg(long, default_value_t = 0)]
    shots: u32,
    /// Keep the first N items (after the exemplars).
    #[arg(long, conflicts_with_all = ["size", "per_topic"])]
    first: Option<u32>,
    /// Keep a seeded random subset of SIZE items (after the exemplars), in source order.
    #[arg(long, conflicts_with = "per_topic")]
    size: Option<u32>,
    /// MMLU: keep N seeded random items per subject.
    #[arg(long)]
    per_topic: Option<u32>,
    /// Seed of --size and --per-topic.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// GSM8K: tokens generated per item.
    #[arg(long, default_value_t = 256)]
    max_new_tokens: u32,
    /// Where the sources are (tools/fetch-benchmarks.sh) and the prepared files go
    /// (`<cache-dir>/prepared`).
    #[arg(long, default_value_os_t = verbench_bundle::benchmark::default_cache_dir())]
    cache_dir: PathBuf,
    /// Where the dataset will be published (the manifest binds it); default: the written file's
    /// file:// URI.
    #[arg(long)]
    uri: Option<String>,
}

#[derive(Args)]
struct BenchmarkArgs {
    /// Benchmark manifest (docs/manifest.md): fixes the items, answers, prompt format, scorer and
    /// generation parameters. Without it the task is a legacy one over `--dataset` (word-run
    /// scorer, default chat format, manifest hash 0).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Dataset file (JSON Lines of {id, input, answer}). With a manifest: a local copy of its
    /// dataset (verified); when absent the dataset is fetched from the manifest's URI.
    #[arg(long)]
    dataset: Option<PathBuf>,
    /// Where fetched datasets are cached.
    #[arg(long, default_value_os_t = verbench_bundle::benchmark::default_cache_dir())]
    cache_dir: PathBuf,
}

#[derive(Args)]
struct RegisterTask {
    #[command(flatten)]
    benchmark: BenchmarkArgs,
    /// Model weights whose content hash the task fixes (default: the cached SmolLM2-135M).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Tokens generated per item (legacy tasks; a manifest fixes its own).
    #[arg(long, default_value_t = 64)]
    max_new_tokens: u32,
    /// Temperature x 1000; 0 = greedy (legacy tasks; a manifest fixes its own).
    #[arg(long, default_value_t = 0)]
    temperature_milli: u32,
    /// Sampling seed (legacy tasks; a manifest fixes its own).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Calibration file (`verbench-calibrate fit`) for this model and sampling mode: the task
    /// carries its TOPLOC limits and token margin, and its keccak256 as `calibrationHash`
    /// (SmolLM2-135M greedy: crates/inference/calibrations/, docs/calibration.md).
    #[arg(long)]
    calibration: PathBuf,
    /// Provider bond, wei.
    #[arg(long, default_value = "1000000000000000000")]
    provider_bond_wei: u128,
    /// Challenger bond, wei.
    #[arg(long, default_value = "100000000000000000")]
    challenger_bond_wei: u128,
    /// Challenge window, seconds.
    #[arg(long, default_value_t = 86_400)]
    challenge_window: u32,
    /// Fee escrowed with the task, wei: paid to the first commitment that finalizes
    /// (docs/protocol.md, "Fees"); the registering account is the requester.
    #[arg(long, default_value = "0")]
    fee_wei: u128,
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
    #[command(flatten)]
    benchmark: BenchmarkArgs,
    /// Model weights (default: the cached SmolLM2-135M).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Where bundles in progress are written (`<dir>/<taskId>-<provider>.jsonl`).
    #[arg(long, default_value = "work")]
    work_dir: PathBuf,
    /// The generation engine: `llamacpp` (llama.cpp, about 3.6x faster on CPU; the default in
    /// builds with the `llamacpp` feature, which the default build has) or `candle` (the default
    /// without it). Recorded in the bundle header; the judge validates either the same way.
    #[arg(long, value_enum)]
    engine: Option<EngineArg>,
    /// CPU threads of the llama.cpp engine (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    publish: Publish,
    /// Generate and publish but do not commit.
    #[arg(long)]
    no_commit: bool,
    /// Development only: behave dishonestly (model-swap | system-prompt:<every> |
    /// inflate-score | answer-key). Exists only in builds with the `dev` feature.
    #[cfg(feature = "dev")]
    #[arg(long, hide = true)]
    dev_cheat: Option<Cheat>,
}

impl RunArgs {
    /// The dishonest behaviour asked for (`dev` builds only; always none otherwise).
    fn cheat(&self) -> Option<Cheat> {
        #[cfg(feature = "dev")]
        return self.dev_cheat.clone();
        #[cfg(not(feature = "dev"))]
        None
    }
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
    /// An operator's attestation endpoint (`http://host:port`; repeat for each): with them the
    /// watcher submits the operators' LeafValid verdict on its own disputes itself instead of
    /// waiting for an operator to.
    #[arg(long = "peer")]
    peers: Vec<String>,
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

async fn evaluate(a: &EvaluateArgs, json: bool) -> anyhow::Result<()> {
    let bench = load_benchmark(&a.benchmark).await?;
    let m = bench
        .manifest
        .as_ref()
        .context("evaluate needs a manifest (--manifest)")?;
    let path = model_path(&a.model);
    eprintln!("loading {}", path.display());
    let format = if a.dense {
        WeightFormat::DenseF32
    } else {
        WeightFormat::Quantized
    };
    let model = load(&path, format, &verbench_inference::device())?;
    let zero = verbench_merkle::to_hex(&[0; 32]);
    let header = verbench_bundle::Header {
        format: verbench_bundle::FORMAT.into(),
        chain_id: 0,
        game: format!("{:#x}", Address::ZERO),
        task_id: zero,
        provider: format!("{:#x}", Address::ZERO),
        model_hash: model.model.hash().to_hex(),
        manifest_hash: verbench_merkle::to_hex(&m.hash()),
        dataset_root: verbench_merkle::to_hex(&bench.dataset.root()?),
        leaf_count: bench.dataset.items.len() as u64,
        generation: m.generation,
        toploc: verbench_bundle::ToplocParams {
            topk: 128,
            decode_batching_size: 32,
        },
        engine: None,
    };
    if let Some(dir) = a.out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let opts = run::RunOptions {
        sampling: verbench_inference::Sampling::from_task(
            m.generation.temperature_milli,
            m.generation.seed,
        ),
        progress: !json,
        cheat: None,
        engine: engine(a.engine, a.dense, &path, a.threads)?,
    };
    let started = std::time::Instant::now();
    let before = if a.out.exists() {
        verbench_bundle::BundleReader::open(&a.out)
            .map(|mut r| {
                let mut n = 0u64;
                while let Ok(Some(_)) = r.next_item() {
                    n += 1;
                }
                n
            })
            .unwrap_or(0)
    } else {
        0
    };
    let finished = tokio::task::block_in_place(|| {
        run::generate_bundle(&header, &bench, &model, &a.out, &opts)
    })?;
    let secs = started.elapsed().as_secs_f64();
    let new_items = header.leaf_count.saturating_sub(before);
    let out = serde_json::json!({
        "bundle": finished.path,
        "items": header.leaf_count,
        "items_this_run": new_items,
        "seconds_this_run": secs,
        "mean": finished.score.mean_wad as f64 / 1e18,
        "stderr": finished.score.stderr_wad as f64 / 1e18,
    });
    print(
        json,
        &out,
        format!(
            "{}: {} items, score {} ({} items in this run, {:.2} s per item)",
            finished.path.display(),
            header.leaf_count,
            finished.score.display(),
            new_items,
            secs / new_items.max(1) as f64
        ),
    )
}

fn prepare(a: &PrepareArgs, json: bool) -> anyhow::Result<()> {
    use verbench_bundle::benchmarks::{self, Subset};
    let subset = match (a.first, a.size, a.per_topic) {
        (Some(n), _, _) => Subset::First(n),
        (_, Some(size), _) => Subset::Seeded { seed: a.seed, size },
        (_, _, Some(n)) => Subset::PerTopic { seed: a.seed, n },
        _ => Subset::All,
    };
    let mut prepared = match a.name {
        BenchName::Gsm8k => {
            let raw = benchmarks::GSM8K.read(&a.cache_dir)?;
            benchmarks::prepare_gsm8k(
                &raw,
                &benchmarks::GSM8K.path(&a.cache_dir),
                a.shots,
                subset,
                "",
                verbench_bundle::GenerationParams {
                    max_new_tokens: a.max_new_tokens,
                    temperature_milli: 0,
                    seed: 0,
                },
            )?
        }
        BenchName::Mmlu => {
            anyhow::ensure!(a.shots == 0, "MMLU is prepared 0-shot only");
            let raw = benchmarks::MMLU.read(&a.cache_dir)?;
            benchmarks::prepare_mmlu(&raw, &benchmarks::MMLU.path(&a.cache_dir), subset, "")?
        }
    };
    let (data, manifest) = prepared.write(&a.cache_dir.join("prepared"), a.uri.as_deref())?;
    let m = &prepared.manifest;
    let out = serde_json::json!({
        "name": m.name,
        "items": m.dataset.items,
        "dataset": data,
        "manifest": manifest,
        "manifest_hash": verbench_merkle::to_hex(&m.hash()),
        "dataset_sha256": m.dataset.sha256,
        "items_root": m.dataset.items_root,
        "inputs_root": m.dataset.inputs_root,
    });
    print(
        json,
        &out,
        format!(
            "{}: {} items\n  dataset  {}\n  manifest {} (hash {})\n  sha256 {}, items root {}, inputs root {}",
            m.name,
            m.dataset.items,
            data.display(),
            manifest.display(),
            verbench_merkle::to_hex(&m.hash()),
            m.dataset.sha256,
            m.dataset.items_root,
            m.dataset.inputs_root
        ),
    )
}

async fn load_benchmark(
    a: &BenchmarkArgs,
) -> anyhow::Result<verbench_bundle::benchmark::Benchmark> {
    verbench_bundle::benchmark::Benchmark::load(
        a.manifest.as_deref(),
        a.dataset.as_deref(),
        &a.cache_dir,
    )
    .await
    .context("loading the benchmark")
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
    match &cli.command {
        Command::Prepare(a) => return prepare(a, cli.json),
        Command::Evaluate(a) => return evaluate(a, cli.json).await,
        Command::Export(a) => {
            let bench = load_benchmark(&a.benchmark).await?;
            let tokenizer =
                verbench_inference::ModelTokenizer::from_gguf_or_dir(model_path(&a.model))?;
            let e = verbench_provider::export::export(&a.bundle, &bench, &tokenizer, &a.out_dir)?;
            return print(
                cli.json,
                &e,
                format!(
                    "{} samples: {:.4} ± {:.4}\n  {}\n  {}",
                    e.n,
                    e.mean,
                    e.stderr,
                    e.samples.display(),
                    e.results.display()
                ),
            );
        }
        _ => {}
    }
    let chain = connect(&cli.chain).await?;
    let game = IDisputeGame::new(chain.deployment.dispute_game, &chain.provider);
    match cli.command {
        Command::RegisterTask(a) => {
            let bench = load_benchmark(&a.benchmark).await?;
            let dataset = &bench.dataset;
            let model_hash = verbench_inference::ModelHash::of_files(&[model_path(&a.model)])?;
            let generation = match &bench.manifest {
                Some(m) => GenerationParams {
                    maxNewTokens: m.generation.max_new_tokens,
                    temperatureMilli: m.generation.temperature_milli,
                    seed: m.generation.seed,
                },
                None => GenerationParams {
                    maxNewTokens: a.max_new_tokens,
                    temperatureMilli: a.temperature_milli,
                    seed: a.seed,
                },
            };
            let (toploc, calibration_hash) = verbench_provider::task::task_limits(
                &a.calibration,
                model_hash,
                generation.temperatureMilli,
                generation.maxNewTokens,
            )?;
            let spec = TaskSpec {
                modelHash: B256::from(model_hash.0),
                manifestHash: B256::from(bench.manifest_hash()),
                datasetRoot: B256::from(dataset.root()?),
                datasetSize: u32::try_from(dataset.items.len()).context("dataset too large")?,
                generation,
                toploc,
                calibrationHash: calibration_hash,
                providerBond: u96(a.provider_bond_wei, "--provider-bond-wei")?,
                challengerBond: u96(a.challenger_bond_wei, "--challenger-bond-wei")?,
                challengeWindow: a.challenge_window,
                fee: u96(a.fee_wei, "--fee-wei")?,
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
                    .value(U256::from(a.fee_wei))
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
        Command::CancelFee(a) => {
            let receipt = game
                .cancelFee(a.task)
                .from(chain.me)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("cancelFee: {}", verbench_chain::decode_revert(&e)))?
                .get_receipt()
                .await?;
            let fee = game
                .taskFee(a.task)
                .call()
                .await
                .map_err(verbench_chain::Error::rpc("taskFee"))?;
            print(
                cli.json,
                &serde_json::json!({ "task_id": a.task.to_string(), "cancelled_at": fee.cancelledAt.to::<u64>(), "tx": receipt.transaction_hash.to_string() }),
                format!("fee of task {} cancelled at t={} (refundable with refund-fee once earlier commitments can no longer finalize)", a.task, fee.cancelledAt),
            )?;
        }
        Command::RefundFee(a) => {
            let fee = game
                .taskFee(a.task)
                .call()
                .await
                .map_err(verbench_chain::Error::rpc("taskFee"))?;
            game.refundFee(a.task)
                .from(chain.me)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("refundFee: {}", verbench_chain::decode_revert(&e)))?
                .get_receipt()
                .await?;
            print(
                cli.json,
                &serde_json::json!({ "task_id": a.task.to_string(), "refunded_wei": fee.amount.to_string(), "requester": fee.requester.to_string() }),
                format!("fee of task {} ({} wei) credited back to {} (it withdraws with `watch` or any withdraw)", a.task, fee.amount, fee.requester),
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
            let bench = load_benchmark(&a.benchmark).await?;
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
            let cheat = a.cheat();
            let opts = run::RunOptions {
                sampling: task.sampling(),
                progress: !cli.json,
                cheat: cheat.clone(),
                engine: engine(a.engine, false, &path, a.threads)?,
            };
            let finished = tokio::task::block_in_place(|| {
                run::generate_bundle(&header, &bench, &model, &bundle, &opts)
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
                "{} answers another task, provider or parameters: its header's {} is not this \
                 task's for this provider",
                a.bundle.display(),
                verbench_bundle::first_difference(&summary.header, &expected)
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
        // Handled before connecting.
        Command::Prepare(_) | Command::Evaluate(_) | Command::Export(_) => {}
        Command::Watch(a) => {
            let watcher = Watcher {
                provider: chain.provider.clone(),
                game: chain.deployment.dispute_game,
                me: chain.me,
                from_block: chain.deployment.block_number,
                bundle_dir: a.publish.publish_dir.clone(),
                peers: a.peers.clone(),
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
            // A status line when something changed (or on the first pass), not on every poll.
            let mut last: Option<String> = None;
            loop {
                match watcher.pass().await {
                    Ok(pass) => {
                        let line = serde_json::to_string(&pass)?;
                        let quiet = last.as_deref() == Some(line.as_str())
                            && pass.revealed == 0
                            && pass.finalized == 0
                            && pass.withdrawn_wei == "0";
                        last = Some(line);
                        if !quiet {
                            print(
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
                            )?;
                        }
                    }
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

/// `value` as a uint96 (bond and fee fields), or an error naming `flag`.
fn u96(value: u128, flag: &str) -> anyhow::Result<alloy::primitives::Uint<96, 2>> {
    alloy::primitives::Uint::<96, 2>::try_from(value).map_err(|_| {
        anyhow::anyhow!("{flag} {value} does not fit in 96 bits (at most 2^96 - 1 wei)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_follows_the_flags_and_the_build() {
        let cli = Cli::try_parse_from([
            "verbench-submit",
            "evaluate",
            "--out",
            "b.jsonl",
            "--manifest",
            "m.json",
        ]);
        let Cli {
            command: Command::Evaluate(a),
            ..
        } = cli.unwrap()
        else {
            panic!("not the evaluate command")
        };
        assert_eq!(a.engine, None);
        let nothing = std::path::Path::new("/nonexistent.gguf");
        let e = engine(Some(EngineArg::Candle), false, nothing, None);
        assert!(matches!(e, Ok(run::Engine::Candle)));
        // --dense means candle, and refuses the llama.cpp engine by name.
        assert!(matches!(
            engine(None, true, nothing, None),
            Ok(run::Engine::Candle)
        ));
        let err = engine(Some(EngineArg::Llamacpp), true, nothing, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("--dense"), "{err}");
        // Without --engine: llama.cpp where the build has it (a missing model file is named).
        let default = engine(None, false, nothing, None);
        if cfg!(feature = "llamacpp") {
            let err = default.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("nonexistent.gguf"), "{err}");
        } else {
            assert!(matches!(default, Ok(run::Engine::Candle)));
        }
    }

    #[cfg(not(feature = "llamacpp"))]
    #[test]
    fn the_llamacpp_engine_missing_from_the_build_is_named() {
        let err = engine(
            Some(EngineArg::Llamacpp),
            false,
            std::path::Path::new("m.gguf"),
            Some(2),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("without the llama.cpp engine"), "{err}");
        assert!(err.contains("tools/build-llamacpp.sh"), "{err}");
    }
}

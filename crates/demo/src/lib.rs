//! A local verbench network for the demo and the end-to-end scenarios: anvil, the contracts,
//! operators with stake, a task over a dataset, providers (honest or not) and challenger bots.

use alloy::{node_bindings::AnvilInstance, primitives::B256};
use anyhow::Context;
use std::path::{Path, PathBuf};
use verbench_bundle::benchmark::Benchmark;
use verbench_bundle::{dataset::Dataset, store::DirStore};
use verbench_chain::deploy::{DeployParams, Deployment};
use verbench_inference::calibration::Calibration;
use verbench_inference::{gemma3_path, load, smollm2_path, LoadedModel, ModelHash, WeightFormat};
use verbench_provider::{cheat::Cheat, commit::Committed, run, task::TaskInfo};
use verbench_testkit::Chain;

pub mod explore;
pub mod flow;

pub use verbench_testkit::{ether, role};

/// A running local network: the test kit's [`Chain`] (anvil, the contracts, accounts by role)
/// plus what the demo does on it (tasks over benchmarks, providers, bots).
pub struct Devnet {
    chain: Chain,
}

impl std::ops::Deref for Devnet {
    type Target = Chain;

    fn deref(&self) -> &Chain {
        &self.chain
    }
}

impl Devnet {
    /// Starts anvil and deploys with short windows (reveal and voting: 10 minutes).
    pub async fn start() -> anyhow::Result<Self> {
        let params = DeployParams {
            unbonding_delay: 86_400,
            reveal_window: 600,
            voting_period: 600,
            ..DeployParams::default()
        };
        Ok(Self {
            chain: Chain::start(&params).await?,
        })
    }

    /// Wraps a running anvil and a deployment made on it (for another back end's deployer).
    pub fn with_deployment(anvil: AnvilInstance, deployment: Deployment) -> Self {
        Self {
            chain: Chain::with_deployment(anvil, deployment),
        }
    }

    /// Registers a greedy task over `benchmark` for the model with `model_hash` (a manifest's own
    /// generation length wins over `max_new_tokens`), judged by the committed SmolLM2-135M greedy
    /// calibration (its limits and hash).
    pub async fn register_task(
        &self,
        benchmark: &Benchmark,
        model_hash: B256,
        max_new_tokens: u32,
        challenge_window: u32,
    ) -> anyhow::Result<TaskInfo> {
        let calibration = verbench_inference::calibration::smollm2_greedy()?;
        self.register_task_judged_by(
            benchmark,
            model_hash,
            max_new_tokens,
            challenge_window,
            &calibration,
        )
        .await
    }

    /// [`Self::register_task`], judged by `calibration` (a calibration and its hash). Refuses a
    /// calibration made for another model than `model_hash`, or one that does not judge items
    /// that long.
    pub async fn register_task_judged_by(
        &self,
        benchmark: &Benchmark,
        model_hash: B256,
        max_new_tokens: u32,
        challenge_window: u32,
        calibration: &(Calibration, ModelHash),
    ) -> anyhow::Result<TaskInfo> {
        anyhow::ensure!(
            B256::from(calibration.0.key.model_hash.0) == model_hash,
            "the calibration is for model {}, the task's model is {model_hash}",
            calibration.0.key.model_hash
        );
        let max_new_tokens = benchmark
            .manifest
            .as_ref()
            .map_or(max_new_tokens, |m| m.generation.max_new_tokens);
        calibration
            .0
            .check_item_tokens(Path::new("the calibration"), max_new_tokens)?;
        let mut spec = verbench_testkit::task_spec_judged_by(
            calibration,
            model_hash,
            B256::from(benchmark.manifest_hash()),
            B256::from(benchmark.dataset.root()?),
            u32::try_from(benchmark.dataset.items.len())?,
            max_new_tokens,
        );
        spec.challengeWindow = challenge_window;
        let task_id = self.chain.register_task(&spec).await?;
        Ok(TaskInfo { task_id, spec })
    }

    /// Runs a provider (account `account`) over `benchmark` and commits; `cheat` makes it dishonest.
    /// `publish` false commits a URI where nothing is published (withheld data).
    #[allow(clippy::too_many_arguments)]
    pub async fn provide(
        &self,
        account: usize,
        task: &TaskInfo,
        benchmark: &Benchmark,
        model: &LoadedModel,
        cheat: Option<Cheat>,
        dir: &Path,
        publish: bool,
    ) -> anyhow::Result<Committed> {
        let me = self.address(account);
        let header = task.header(self.deployment.chain_id, self.deployment.dispute_game, me);
        let bundle = dir.join(format!("work-{account}.jsonl"));
        let claim_cheat = cheat.clone();
        let opts = run::RunOptions {
            sampling: task.sampling(),
            progress: false,
            cheat,
            engine: run::Engine::Candle,
        };
        let finished = tokio::task::block_in_place(|| {
            run::generate_bundle(&header, benchmark, model, &bundle, &opts)
        })?;
        let store_dir = if publish {
            dir.join(format!("published-{account}"))
        } else {
            dir.join("nowhere")
        };
        let store = DirStore {
            dir: store_dir.clone(),
            base_url: None,
        };
        let provider = self.provider(account);
        let committed = verbench_provider::commit::publish_and_commit(
            &provider,
            self.deployment.dispute_game,
            me,
            task,
            &finished,
            &store,
            claim_cheat.map(|c| c.claimed_score(finished.score_wad)),
        )
        .await?;
        if !publish {
            std::fs::remove_dir_all(&store_dir)
                .with_context(|| format!("unpublishing {}", store_dir.display()))?;
        }
        Ok(committed)
    }

    /// A challenger-bot configuration for `account`.
    pub fn bot_config(
        &self,
        account: usize,
        state_dir: &Path,
        model: &Path,
        dataset: &Path,
    ) -> verbench_challenger::Config {
        verbench_challenger::Config {
            rpc_url: self.anvil.endpoint(),
            game: self.deployment.dispute_game,
            start_block: self.deployment.block_number,
            dev_key: Some(self.key_hex(account)),
            state_dir: state_dir.to_path_buf(),
            confirmations: 0,
            sample_rate: 1.0,
            seed: 1,
            model: Some(model.to_path_buf()),
            // A prepared benchmark's manifest sits beside its dataset (`<name>.manifest.json`).
            manifests: Some(dataset.with_extension("manifest.json"))
                .filter(|m| m.exists())
                .into_iter()
                .collect(),
            datasets: vec![dataset.to_path_buf()],
            poll_interval_ms: 200,
            ..verbench_challenger::Config::default()
        }
    }
}

/// Operator bots wired to each other over HTTP (each serves its attestations and polls the others).
pub struct OperatorSet {
    /// The bots.
    pub bots: Vec<verbench_challenger::Bot>,
    /// Where each serves its attestations.
    pub urls: Vec<String>,
}

impl OperatorSet {
    /// Starts one bot per account in `accounts`, each with an HTTP server on a free port.
    pub async fn start(
        devnet: &Devnet,
        accounts: &[usize],
        root: &Path,
        model: &Path,
        dataset: &Path,
    ) -> anyhow::Result<Self> {
        Self::start_with(devnet, accounts, root, model, dataset, |_, _| {}).await
    }

    /// [`Self::start`], with `tweak(k, config)` changing the `k`-th bot's local settings.
    pub async fn start_with(
        devnet: &Devnet,
        accounts: &[usize],
        root: &Path,
        model: &Path,
        dataset: &Path,
        tweak: impl Fn(usize, &mut verbench_challenger::Config),
    ) -> anyhow::Result<Self> {
        let mut listeners = Vec::new();
        for _ in accounts {
            listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await?);
        }
        let urls: Vec<String> = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| format!("http://{a}")))
            .collect::<Result<_, _>>()?;
        let mut bots = Vec::new();
        for (k, (&account, listener)) in accounts.iter().zip(listeners).enumerate() {
            let mut cfg = devnet.bot_config(
                account,
                &root.join(format!("operator-{account}")),
                model,
                dataset,
            );
            cfg.operator = true;
            cfg.sample_rate = 0.0;
            cfg.peers = urls
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .map(|(_, u)| u.clone())
                .collect();
            tweak(k, &mut cfg);
            let bot = verbench_challenger::Bot::new(cfg).await?;
            tokio::spawn(verbench_challenger::serve(
                bot.shared(),
                listener,
                std::future::pending(),
            ));
            bots.push(bot);
        }
        Ok(Self { bots, urls })
    }

    /// Every bot takes one step, three times: sign and seal (the last to seal sees every seal and
    /// serves its verdict), then serve (every seal is on chain), then collect and resolve.
    pub async fn round(&mut self) -> anyhow::Result<usize> {
        let mut resolved = 0;
        for _ in 0..3 {
            for bot in &mut self.bots {
                resolved += bot.run_once().await?.resolved;
            }
        }
        Ok(resolved)
    }
}

/// The first `n` items of a registry benchmark (GSM8K with `max_new_tokens`, or MMLU), prepared
/// into `dir` from the sources `tools/fetch-benchmarks.sh` fetched: the benchmark, and the paths
/// of its dataset and manifest (`<name>.jsonl`, `<name>.manifest.json`).
pub fn prepared(
    dir: &Path,
    mmlu: bool,
    n: u32,
    max_new_tokens: u32,
) -> anyhow::Result<(Benchmark, PathBuf, PathBuf)> {
    use verbench_bundle::benchmarks::{self, Subset};
    let cache = verbench_bundle::benchmark::default_cache_dir();
    let mut p = if mmlu {
        let raw = benchmarks::MMLU.read(&cache)?;
        benchmarks::prepare_mmlu(&raw, &benchmarks::MMLU.path(&cache), Subset::First(n), "")?
    } else {
        let raw = benchmarks::GSM8K.read(&cache)?;
        benchmarks::prepare_gsm8k(
            &raw,
            &benchmarks::GSM8K.path(&cache),
            0,
            Subset::First(n),
            "",
            verbench_bundle::GenerationParams {
                max_new_tokens,
                temperature_milli: 0,
                seed: 0,
            },
        )?
    };
    let (data, manifest) = p.write(dir, None)?;
    Ok((
        Benchmark::from_manifest(p.manifest, p.dataset),
        data,
        manifest,
    ))
}

/// SmolLM2-135M-Instruct Q4_1 from the cache `tools/fetch-models.sh` fills, quantized, on the
/// default device: the model of the demo and of the end-to-end scenarios.
pub fn smollm2() -> anyhow::Result<LoadedModel> {
    load_fetched(&smollm2_path(), "smollm2")
}

/// Gemma 3 270M (base) Q4_K_M from the cache `tools/fetch-models.sh` fills, quantized, on the
/// default device: the second family's end-to-end scenario.
pub fn gemma3() -> anyhow::Result<LoadedModel> {
    load_fetched(&gemma3_path(), "gemma3")
}

/// A model `tools/fetch-models.sh <which>` fetched, loaded quantized on the default device.
fn load_fetched(path: &Path, which: &str) -> anyhow::Result<LoadedModel> {
    anyhow::ensure!(
        path.exists(),
        "{} is missing: run tools/fetch-models.sh {which} (tools/test.sh does)",
        path.display()
    );
    load(path, WeightFormat::Quantized, &verbench_inference::device())
        .with_context(|| format!("loading {}", path.display()))
}

/// The first `n` items of the project's mini benchmark, written to `dir/dataset.jsonl`.
pub fn small_dataset(dir: &Path, n: usize) -> anyhow::Result<(Dataset, PathBuf)> {
    let mut d = verbench_bundle::dataset::mini_benchmark();
    d.items.truncate(n);
    let path = dir.join("dataset.jsonl");
    std::fs::write(&path, d.to_jsonl())?;
    Ok((d, path))
}

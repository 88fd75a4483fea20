//! The indexer: one pass follows the game's events into the store (through the same
//! [`Follower`] as the challenger bot, with its reorg handling), fetches the bundles of new
//! commitments (size-capped and hash-checked, then checked against the committed root and the
//! task as the challenger does), reads the configured challengers' published checks, decodes the
//! signers of verdicts, and publishes a fresh [`Snapshot`] for the pages.

use crate::model::View;
use crate::store::Store;
use crate::Config;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::BlockNumberOrTag;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use tracing::{info, warn};
use verbench_bundle::BundleReader;
use verbench_chain::bindings::IDisputeGame::{self, CommitmentStatus, DisputeStatus, TaskSpec};
use verbench_chain::bindings::IOperatorSet;
use verbench_chain::follow::{Follow, Follower};
use verbench_challenger::check::{Benchmarks, Opened, Target};
use verbench_challenger::metrics::Metrics;
use verbench_challenger::CommitmentCheck;

/// Seconds before a failed bundle fetch of an active commitment is tried again.
const BUNDLE_RETRY_SECS: u64 = 30;

/// One item of a bundle, as the pages show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemRow {
    /// Dataset index.
    pub index: u64,
    /// The dataset input.
    pub input: String,
    /// The generated text.
    pub output_text: String,
    /// Generated tokens.
    pub output_tokens: usize,
    /// The item's score, WAD decimal.
    pub score_wad: String,
    /// The leaf hash.
    pub leaf_hash: String,
    /// The benchmark's reference answer, when this explorer holds the benchmark.
    pub answer: Option<String>,
}

/// What reading a commitment's bundle gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum BundleInfo {
    /// Fetched, hash and size as committed, leaves build the committed root, header matches.
    Ok {
        /// Model hash in the header.
        model_hash: String,
        /// Mean score of the items, WAD.
        mean_wad: String,
        /// Standard error of the mean, WAD.
        stderr_wad: String,
        /// Where the scores break the contract's rules, if they do.
        score_break: Option<String>,
        /// Leaf hashes, in order (inclusion proofs are built from them).
        leaves: Vec<String>,
        /// The items.
        items: Vec<ItemRow>,
        /// Why reference answers are absent, if they are.
        answers_note: Option<String>,
    },
    /// Not usable: why.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A challenger's check as fetched, or why it could not be.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum CheckInfo {
    /// The challenger published a check.
    Published {
        /// It.
        check: CommitmentCheck,
    },
    /// The challenger has none (yet) for this commitment.
    None,
    /// The challenger could not be read.
    Unreachable {
        /// Why.
        reason: String,
    },
}

/// One signer of a verdict with its vote weight at the dispute's snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Signer {
    /// The operator.
    pub operator: Address,
    /// Its weight at the snapshot (what the contract counted).
    pub weight: U256,
}

/// The signers of a dispute's verdict, decoded from the `resolve` transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum SignersInfo {
    /// Decoded.
    Known {
        /// The signers.
        signers: Vec<Signer>,
    },
    /// Not decodable (resolved through another contract, or not a vote).
    Unknown {
        /// Why.
        reason: String,
    },
}

/// What the pages read: a consistent picture after one indexing pass.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Chain id.
    pub chain_id: u64,
    /// The DisputeGame.
    pub game: Address,
    /// Latest block seen and its timestamp.
    pub head: (u64, u64),
    /// Next block the indexer reads (everything before it is indexed).
    pub cursor: u64,
    /// The last reorg, if any was seen.
    pub last_reorg: Option<String>,
    /// The last indexing error, if the last pass failed.
    pub last_error: Option<String>,
    /// Events, derived.
    pub view: View,
    /// Bundles by commitment (shared with the indexer's cache: a snapshot copies no items).
    #[serde(skip)]
    pub bundles: HashMap<B256, std::sync::Arc<BundleInfo>>,
    /// Challengers' checks by commitment: (challenger URL, check).
    pub checks: HashMap<B256, Vec<(String, CheckInfo)>>,
    /// Verdict signers by dispute.
    pub signers: HashMap<B256, SignersInfo>,
    /// Benchmark names by task (from configured manifests).
    pub benchmark_names: HashMap<B256, String>,
    /// Model names by model hash (from the configuration).
    pub model_names: HashMap<B256, String>,
    /// The challengers this explorer reads.
    pub challengers: Vec<String>,
}

/// The indexer.
pub struct Indexer {
    cfg: Config,
    provider: DynProvider,
    chain_id: u64,
    store: Store,
    http: reqwest::Client,
    benchmarks: Benchmarks,
    metrics: Metrics,
    benchmark_names: HashMap<B256, String>,
    /// Bundle outcomes read from the store or fetched, with when they were fetched (parsed once).
    bundle_cache: HashMap<B256, (u64, std::sync::Arc<BundleInfo>)>,
}

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer")
            .field("game", &self.cfg.game)
            .finish()
    }
}

impl Snapshot {
    /// What reading commitment `id`'s bundle gave, if it was read.
    pub fn bundle(&self, id: B256) -> Option<&BundleInfo> {
        self.bundles.get(&id).map(|b| b.as_ref())
    }
}

impl Indexer {
    /// Connects and opens the store in `cfg.data_dir`.
    pub async fn new(cfg: Config) -> anyhow::Result<Self> {
        let url: reqwest::Url = cfg.rpc_url.parse().context("rpc_url")?;
        let provider = ProviderBuilder::new().connect_http(url).erased();
        let chain_id = provider.get_chain_id().await.context("eth_chainId")?;
        let code = provider
            .get_code_at(cfg.game)
            .await
            .context("eth_getCode")?;
        anyhow::ensure!(
            !code.is_empty(),
            "no contract at {} on chain {chain_id}: is --game the DisputeGame of this chain?",
            cfg.game
        );
        let store = Store::open(&cfg.data_dir.join("explorer.sqlite"), chain_id, cfg.game)?;
        let benchmarks =
            Benchmarks::load(&cfg.manifests, &cfg.datasets, cfg.data_dir.join("datasets"))?;
        Ok(Self {
            cfg,
            provider,
            chain_id,
            store,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()?,
            benchmarks,
            metrics: Metrics::default(),
            benchmark_names: HashMap::new(),
            bundle_cache: HashMap::new(),
        })
    }

    fn follower(&self) -> Follower<'_, DynProvider> {
        Follower::new(
            &self.provider,
            Follow {
                game: self.cfg.game,
                confirmations: self.cfg.confirmations,
                max_block_range: self.cfg.max_block_range,
                reorg_depth: self.cfg.reorg_depth,
                start_block: self.cfg.start_block,
            },
        )
    }

    /// One pass; returns the snapshot the pages should show.
    pub async fn step(&mut self) -> anyhow::Result<Snapshot> {
        self.follow().await?;
        let latest = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await?
            .context("no latest block")?;
        let head = (latest.header.number, latest.header.timestamp);
        let view = View::build(&self.store.logs()?, &self.store.block_times()?);
        let mut snap = Snapshot {
            chain_id: self.chain_id,
            game: self.cfg.game,
            head,
            cursor: self.store.cursor(self.cfg.start_block)?.cursor,
            last_reorg: self.store.meta("last_reorg")?,
            last_error: None,
            challengers: self.cfg.challengers.clone(),
            model_names: self.cfg.model_names.iter().cloned().collect(),
            ..Snapshot::default()
        };
        // Challengers found unreachable in this pass are not asked again until the next one.
        let mut down: HashMap<String, String> = HashMap::new();
        for c in &view.commitments {
            let spec = view.tasks.get(&c.commitment.taskId).map(|t| &t.spec);
            let info = self.bundle(c, spec, head.1).await?;
            snap.bundles.insert(c.id, info);
            let checks = self.checks(c.id, c.status(), &mut down).await?;
            snap.checks.insert(c.id, checks);
            if let Some(spec) = spec {
                if let Some(name) = self.benchmark_name(c.commitment.taskId, spec).await {
                    snap.benchmark_names.insert(c.commitment.taskId, name);
                }
            }
        }
        for d in view.disputes.values() {
            if let Some(s) = self.signers(d).await? {
                snap.signers.insert(d.id, s);
            }
        }
        snap.view = view;
        Ok(snap)
    }

    async fn follow(&mut self) -> anyhow::Result<()> {
        let mut at = self.store.cursor(self.cfg.start_block)?;
        if let Some(from) = self.follower().rewind_on_reorg(&mut at).await? {
            let note = format!(
                "chain reorganised: the explorer dropped what it had read from block {from} on and read it again"
            );
            warn!(from, "reorg: rewinding");
            self.store.rewind(from, &at, &note)?;
        }
        while let Some(range) = self.follower().next_range(&mut at).await? {
            let mut times = Vec::new();
            let mut blocks: Vec<u64> = range.logs.iter().map(|l| l.block).collect();
            blocks.dedup();
            for n in blocks {
                if let Some(b) = self
                    .provider
                    .get_block_by_number(BlockNumberOrTag::Number(n))
                    .await?
                {
                    times.push((n, b.header.timestamp));
                }
            }
            if range.undecodable > 0 {
                warn!(
                    count = range.undecodable,
                    "logs of the game that this explorer cannot decode"
                );
            }
            self.store.append(&range.logs, &times, &at)?;
        }
        Ok(())
    }

    async fn benchmark_name(&mut self, task: B256, spec: &TaskSpec) -> Option<String> {
        if let Some(n) = self.benchmark_names.get(&task) {
            return Some(n.clone());
        }
        let b = self
            .benchmarks
            .get(task, Some(spec), &self.metrics)
            .await
            .ok()?;
        let name = b.manifest.as_ref().map(|m| m.name.clone())?;
        self.benchmark_names.insert(task, name.clone());
        Some(name)
    }

    /// The bundle outcome of `c` (cached, else stored, else fetched), fetching it again when the
    /// last try failed a while ago and the commitment is still active.
    async fn bundle(
        &mut self,
        c: &crate::model::CommitmentView,
        spec: Option<&TaskSpec>,
        now: u64,
    ) -> anyhow::Result<std::sync::Arc<BundleInfo>> {
        if !self.bundle_cache.contains_key(&c.id) {
            if let Some((at, _, body)) = self.store.bundle(c.id)? {
                let info: BundleInfo = serde_json::from_str(&body).context("stored bundle")?;
                self.bundle_cache
                    .insert(c.id, (at, std::sync::Arc::new(info)));
            }
        }
        if let Some((at, info)) = self.bundle_cache.get(&c.id) {
            let retry = matches!(**info, BundleInfo::Failed { .. })
                && c.status() == CommitmentStatus::Active
                && now.saturating_sub(*at) >= BUNDLE_RETRY_SECS;
            if !retry {
                return Ok(info.clone());
            }
        }
        let info = self.read_bundle(c, spec).await;
        let ok = matches!(info, BundleInfo::Ok { .. });
        match &info {
            BundleInfo::Ok { items, .. } => {
                info!(commitment = %c.id, items = items.len(), "bundle read")
            }
            BundleInfo::Failed { reason } => {
                warn!(commitment = %c.id, %reason, "bundle unusable")
            }
        }
        self.store
            .put_bundle(c.id, now, ok, &serde_json::to_string(&info)?)?;
        let info = std::sync::Arc::new(info);
        self.bundle_cache.insert(c.id, (now, info.clone()));
        Ok(info)
    }

    async fn read_bundle(
        &mut self,
        c: &crate::model::CommitmentView,
        spec: Option<&TaskSpec>,
    ) -> BundleInfo {
        let fail = |reason: String| BundleInfo::Failed { reason };
        let size = c.commitment.bundleSize;
        if size > self.cfg.max_bundle_bytes {
            return fail(format!(
                "committed bundle size {size} bytes exceeds this explorer's cap of {} (--max-bundle-bytes)",
                self.cfg.max_bundle_bytes
            ));
        }
        let hash: [u8; 32] = c.commitment.bundleHash.into();
        let dest = self
            .cfg
            .data_dir
            .join("bundles")
            .join(verbench_bundle::store::bundle_file_name(&hash));
        if !dest.exists() {
            if let Some(dir) = dest.parent() {
                if let Err(e) = std::fs::create_dir_all(dir) {
                    return fail(format!("{}: {e}", dir.display()));
                }
            }
            let tmp = dest.with_extension("partial");
            if let Err(e) = verbench_bundle::store::fetch(&c.uri, &hash, size, &tmp).await {
                return fail(format!("bundle unavailable: {e}"));
            }
            if let Err(e) = std::fs::rename(&tmp, &dest) {
                return fail(format!("{}: {e}", dest.display()));
            }
        }
        let opened = match Opened::open(&dest, &c.commitment) {
            Ok(o) => o,
            Err(e) => return fail(format!("bundle does not match the committed root: {e}")),
        };
        let target = Target {
            id: c.id,
            chain_id: self.chain_id,
            game: self.cfg.game,
            commitment: &c.commitment,
            spec,
        };
        if let Err(e) = opened.check_header(&target.expectation()) {
            return fail(format!("bundle header does not match the task: {e}"));
        }
        let bench = self
            .benchmarks
            .get(c.commitment.taskId, spec, &self.metrics)
            .await;
        let (answers_note, bench) = match bench {
            Ok(b) => (None, Some(b)),
            Err(why) => (Some(why), None),
        };
        let items = match read_items(&dest, bench.as_deref()) {
            Ok(items) => items,
            Err(e) => return fail(format!("reading items: {e:#}")),
        };
        let s = opened.summary();
        BundleInfo::Ok {
            model_hash: s.header.model_hash.clone(),
            mean_wad: s.score.mean_wad.to_string(),
            stderr_wad: s.score.stderr_wad.to_string(),
            score_break: s.score_break.as_ref().map(|b| format!("{b:?}")),
            leaves: s.leaves.iter().map(verbench_merkle::to_hex).collect(),
            items,
            answers_note,
        }
    }

    /// Each configured challenger's check of commitment `id` (re-read while the commitment is
    /// active or the last read was not a published check).
    async fn checks(
        &mut self,
        id: B256,
        status: CommitmentStatus,
        down: &mut HashMap<String, String>,
    ) -> anyhow::Result<Vec<(String, CheckInfo)>> {
        let stored: HashMap<String, String> = self.store.checks(id)?.into_iter().collect();
        let mut out = Vec::new();
        for base in self.cfg.challengers.clone() {
            if let Some(body) = stored.get(&base) {
                let info: CheckInfo = serde_json::from_str(body).context("stored check")?;
                if matches!(info, CheckInfo::Published { .. }) && status != CommitmentStatus::Active
                {
                    out.push((base, info));
                    continue;
                }
            }
            if let Some(reason) = down.get(&base) {
                // Keep what was stored; say why it was not refreshed.
                let info = stored
                    .get(&base)
                    .and_then(|b| serde_json::from_str::<CheckInfo>(b).ok())
                    .filter(|i| matches!(i, CheckInfo::Published { .. }))
                    .unwrap_or_else(|| CheckInfo::Unreachable {
                        reason: reason.clone(),
                    });
                out.push((base, info));
                continue;
            }
            let info = self.fetch_check(&base, id).await;
            if let CheckInfo::Unreachable { reason } = &info {
                down.insert(base.clone(), reason.clone());
                // A check published before stays what the page shows while its challenger is
                // unreachable.
                if let Some(published) = stored
                    .get(&base)
                    .and_then(|b| serde_json::from_str::<CheckInfo>(b).ok())
                    .filter(|i| matches!(i, CheckInfo::Published { .. }))
                {
                    out.push((base, published));
                    continue;
                }
            }
            self.store
                .put_check(id, &base, &serde_json::to_string(&info)?)?;
            out.push((base, info));
        }
        Ok(out)
    }

    async fn fetch_check(&self, base: &str, id: B256) -> CheckInfo {
        let url = format!("{}/checks/{id}", base.trim_end_matches('/'));
        let resp = match self.http.get(&url).send().await {
            Ok(r) => r,
            Err(e) => {
                return CheckInfo::Unreachable {
                    reason: format!("{url}: {e}"),
                }
            }
        };
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return CheckInfo::None;
        }
        if !resp.status().is_success() {
            return CheckInfo::Unreachable {
                reason: format!("{url}: HTTP {}", resp.status()),
            };
        }
        match resp.json::<CommitmentCheck>().await {
            Ok(check) if check.commitment_id == id => CheckInfo::Published { check },
            Ok(check) => CheckInfo::Unreachable {
                reason: format!(
                    "{url} answered for commitment {}, not {id}",
                    check.commitment_id
                ),
            },
            Err(e) => CheckInfo::Unreachable {
                reason: format!("{url}: malformed check: {e}"),
            },
        }
    }

    /// The signers of a resolved dispute's verdict, decoded once from its `resolve` transaction.
    async fn signers(
        &mut self,
        d: &crate::model::DisputeView,
    ) -> anyhow::Result<Option<SignersInfo>> {
        let Some(res) = &d.resolution else {
            return Ok(None);
        };
        if !matches!(
            d.dispute.status,
            DisputeStatus::ProviderAtFault | DisputeStatus::ChallengerWrong
        ) || res.cause != "verdict"
        {
            return Ok(None);
        }
        if let Some(body) = self.store.signers(d.id)? {
            return Ok(Some(serde_json::from_str(&body).context("stored signers")?));
        }
        let info = self.decode_signers(d, res.at.tx).await?;
        self.store
            .put_signers(d.id, &serde_json::to_string(&info)?)?;
        Ok(Some(info))
    }

    async fn decode_signers(
        &self,
        d: &crate::model::DisputeView,
        tx: Option<B256>,
    ) -> anyhow::Result<SignersInfo> {
        use verbench_chain::verdict::{resolve_call, ResolveInputError};
        let call = match resolve_call(&self.provider, tx).await {
            Ok(call) => call,
            Err(e @ ResolveInputError::Rpc { .. }) => return Err(e.into()),
            Err(e) => {
                return Ok(SignersInfo::Unknown {
                    reason: e.to_string(),
                })
            }
        };
        let game = IDisputeGame::new(self.cfg.game, self.provider.clone());
        let sm = IOperatorSet::new(game.serviceManager().call().await?, self.provider.clone());
        let mut signers = Vec::new();
        for operator in call.signers {
            let weight = sm.voteWeightAt(operator, d.dispute.snapshot).call().await?;
            signers.push(Signer { operator, weight });
        }
        Ok(SignersInfo::Known { signers })
    }
}

/// Every item of the bundle at `path`, with reference answers from `bench` when given.
fn read_items(
    path: &std::path::Path,
    bench: Option<&verbench_bundle::benchmark::Benchmark>,
) -> anyhow::Result<Vec<ItemRow>> {
    let mut reader = BundleReader::open(path)?;
    let mut rows = Vec::new();
    while let Some((item, _)) = reader.next_item()? {
        let answer = bench
            .and_then(|b| b.dataset.items.get(usize::try_from(item.index).ok()?))
            .and_then(|d| d.answer.clone());
        rows.push(ItemRow {
            index: item.index,
            output_tokens: item.output_tokens.len(),
            input: item.input,
            output_text: item.output_text,
            score_wad: item.score_wad,
            leaf_hash: item.leaf_hash,
            answer,
        });
    }
    Ok(rows)
}

/// Where the explorer keeps its files.
pub fn default_data_dir() -> PathBuf {
    PathBuf::from("explorer-data")
}

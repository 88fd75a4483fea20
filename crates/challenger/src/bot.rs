//! The bot: scan events from a persisted cursor, check commitments, dispute bad leaves exactly
//! once, follow up on disputes, and (operators) sign, collect and submit verdicts.

use crate::judge::{self, Expected, HeaderExpectation, Judgement, SpecExpectation};
use crate::metrics::Metrics;
use crate::state::{
    score_proof_key, CommitmentEntry, DisputeEntry, Intent, IntentKind, IntentStatus, State,
};
use crate::{Attestation, Config};
use alloy::{
    primitives::{keccak256, Address, Bytes, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{BlockNumberOrTag, Filter},
    signers::local::PrivateKeySigner,
    sol_types::{SolEventInterface, SolValue},
};
use anyhow::{anyhow, Context as _};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tracing::{debug, error, info, warn};
use verbench_bundle::{
    benchmark::Benchmark, dataset::Dataset, leaf, manifest::Manifest, BundleReader, Header, Item,
};
use verbench_chain::bindings::{
    IDisputeGame::{
        self, Commitment, CommitmentStatus, Dispute, DisputeStatus, IDisputeGameErrors,
        IDisputeGameEvents, Outcome, Sig, TaskSpec,
    },
    IServiceManager,
};
use verbench_chain::deploy::Backend;
use verbench_inference::{ModelTokenizer, Validator};

/// What the HTTP server shares with the bot.
#[derive(Debug, Default)]
pub struct Shared {
    /// Counters.
    pub metrics: Metrics,
    /// This operator's attestations by dispute id.
    pub attestations: RwLock<HashMap<B256, Attestation>>,
}

/// What one step did (for tests and logs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Blocks scanned `[from, to]`, if any.
    pub scanned: Option<(u64, u64)>,
    /// Disputes opened by this bot.
    pub disputes_opened: usize,
    /// Score proofs by this bot that rejected a commitment.
    pub score_proofs: usize,
    /// `claimWithheld` calls that succeeded.
    pub withheld_claimed: usize,
    /// `resolve` calls that succeeded.
    pub resolved: usize,
    /// `expire` calls that succeeded.
    pub expired: usize,
    /// Leaves judged.
    pub leaves_checked: usize,
    /// Commitments found faulty, with the reason.
    pub faults: Vec<(B256, String)>,
}

/// Whether leaf `index` of commitment `commitment_id` is in the sample: the first 8 bytes of
/// `keccak256(seed || commitmentId || index)` as a fraction of 2^64 are below `rate`.
pub fn sampled(seed: u64, commitment_id: B256, index: u32, rate: f64) -> bool {
    let mut pre = Vec::with_capacity(44);
    pre.extend_from_slice(&seed.to_be_bytes());
    pre.extend_from_slice(commitment_id.as_slice());
    pre.extend_from_slice(&index.to_be_bytes());
    let h = keccak256(&pre);
    let mut w = [0u8; 8];
    w.copy_from_slice(&h[..8]);
    (u64::from_be_bytes(w) as f64) / 18_446_744_073_709_551_616.0 < rate
}

use verbench_chain::rules::{commitment_id_of, dispute_id as dispute_id_of};

/// A decision about one commitment.
enum Action {
    /// No fault found; what was checked.
    Ok(String),
    /// The scores or the claimed aggregate contradict the leaves: `proveScoreFault`.
    ScoreProof {
        index: u32,
        leaf: (Bytes, Vec<B256>),
        next: Option<(Bytes, Vec<B256>)>,
        reason: String,
    },
    Dispute {
        index: u32,
        leaf: Option<(Bytes, Vec<B256>)>,
        reason: String,
    },
}

/// How a send ended.
enum Sent {
    Ok,
    /// A revert that means "already done" or "nothing to do".
    Moot(String),
    /// A revert that will not change.
    Refused(String),
}

/// The challenger/operator bot.
pub struct Bot {
    cfg: Config,
    provider: DynProvider,
    signer: PrivateKeySigner,
    me: Address,
    chain_id: u64,
    game: IDisputeGame::IDisputeGameInstance<DynProvider>,
    sm: IServiceManager::IServiceManagerInstance<DynProvider>,
    state: State,
    shared: Arc<Shared>,
    model: Option<(verbench_inference::Llama, ModelTokenizer)>,
    /// The model's tokenizer alone (rescoring every item needs no model run).
    tokenizer: Option<ModelTokenizer>,
    manifests: Vec<Manifest>,
    /// Config dataset files: path, bytes, and the dataset when it parses as one.
    dataset_files: Vec<(PathBuf, Vec<u8>)>,
    /// Benchmarks resolved per task (`None`: the task cannot be judged, with why).
    benchmarks: HashMap<B256, Result<Arc<Benchmark>, String>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("me", &self.me)
            .field("game", &self.cfg.game)
            .field("cursor", &self.state.cursor)
            .finish()
    }
}

fn u48(x: alloy::primitives::aliases::U48) -> u64 {
    x.to::<u64>()
}

impl Bot {
    /// Connects, loads the key, the state and the datasets (the model loads on first use).
    pub async fn new(cfg: Config) -> anyhow::Result<Self> {
        let url: reqwest::Url = cfg.rpc_url.parse().context("rpc_url")?;
        let probe = ProviderBuilder::new().connect_http(url.clone());
        let chain_id = probe.get_chain_id().await.context("eth_chainId")?;
        let signer = verbench_chain::keys::load_signer(&cfg.key_source()?, chain_id)?;
        let me = signer.address();
        let provider = ProviderBuilder::new()
            .wallet(signer.clone())
            .connect_http(url)
            .erased();
        let game = IDisputeGame::new(cfg.game, provider.clone());
        let sm_addr = game
            .serviceManager()
            .call()
            .await
            .context("DisputeGame.serviceManager()")?;
        let sm = IServiceManager::new(sm_addr, provider.clone());
        // Only the EigenLayer back end answers `allocationManager()`.
        let eigen = verbench_chain::bindings::IEigenServiceManager::new(sm_addr, provider.clone());
        let backend = match eigen.allocationManager().call().await {
            Ok(_) => Backend::EigenLayer,
            Err(_) => Backend::Native,
        };
        if let Some(wanted) = cfg.backend {
            anyhow::ensure!(
                wanted == backend,
                "the DisputeGame's service manager {sm_addr} is the {backend} back end, but the bot is configured for {wanted}"
            );
        }
        if backend == Backend::EigenLayer && cfg.operator {
            // Weights are checkpointed when read: record this operator's current allocation so
            // that disputes opened from now on count it.
            verbench_chain::eigen::update_stakes(&provider, sm_addr, &[me])
                .await
                .context(
                    "EigenServiceManager.updateStakes (is this key an EigenLayer operator?)",
                )?;
        }
        cfg.validate()?;
        let state = State::load(&cfg.state_dir, cfg.start_block)?;
        let manifests = cfg
            .manifests
            .iter()
            .map(Manifest::load)
            .collect::<Result<Vec<_>, _>>()?;
        let mut dataset_files = Vec::new();
        for path in &cfg.datasets {
            let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
            dataset_files.push((path.clone(), bytes));
        }
        info!(%me, game = %cfg.game, chain_id, %backend, cursor = state.cursor, operator = cfg.operator, "challenger ready");
        Ok(Self {
            cfg,
            provider,
            signer,
            me,
            chain_id,
            game,
            sm,
            state,
            shared: Arc::new(Shared::default()),
            model: None,
            tokenizer: None,
            manifests,
            dataset_files,
            benchmarks: HashMap::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        })
    }

    /// The bot's address.
    pub fn address(&self) -> Address {
        self.me
    }

    /// The persisted state (read-only).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// What the HTTP server serves.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Processes everything up to the current head once (`--once`), then returns.
    pub async fn run_once(&mut self) -> anyhow::Result<StepReport> {
        let report = self.step().await;
        self.state.save(&self.cfg.state_dir)?;
        report
    }

    /// Runs until `shutdown` resolves: serves HTTP (when `listen` is set), polls with exponential
    /// backoff on errors, wakes early on new WebSocket heads (when `ws_url` is set). The current
    /// step always finishes and the state is saved before returning.
    pub async fn run(
        &mut self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut server = None;
        if let Some(addr) = self.cfg.listen {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            info!(addr = %listener.local_addr()?, "serving /health, /metrics, /attestations");
            let mut rx = stop_rx.clone();
            server = Some(tokio::spawn(crate::serve(
                self.shared.clone(),
                listener,
                async move {
                    let _ = rx.wait_for(|s| *s).await;
                },
            )));
        }
        let wake = Arc::new(tokio::sync::Notify::new());
        if let Some(ws) = self.cfg.ws_url.clone() {
            tokio::spawn(ws_wakeups(ws, wake.clone(), stop_rx.clone()));
        }
        let poll = Duration::from_millis(self.cfg.poll_interval_ms.max(10));
        let mut delay = poll;
        tokio::pin!(shutdown);
        loop {
            match self.step().await {
                Ok(r) => {
                    debug!(?r, "step");
                    delay = poll;
                }
                Err(e) => {
                    Metrics::inc(&self.shared.metrics.rpc_errors);
                    delay = (delay * 2).min(Duration::from_secs(60));
                    warn!(error = %format!("{e:#}"), retry_in = ?delay, "step failed");
                }
            }
            if let Err(e) = self.state.save(&self.cfg.state_dir) {
                error!(error = %e, "cannot save state");
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(delay) => {}
                _ = wake.notified() => {}
            }
        }
        info!("shutting down");
        let _ = stop_tx.send(true);
        self.state.save(&self.cfg.state_dir)?;
        if let Some(s) = server {
            let _ = s.await;
        }
        Ok(())
    }

    fn save(&self) -> anyhow::Result<()> {
        self.state.save(&self.cfg.state_dir)
    }

    /// One pass: scan new confirmed blocks, then act.
    pub async fn step(&mut self) -> anyhow::Result<StepReport> {
        let mut report = StepReport::default();
        self.scan(&mut report).await?;
        self.save()?;
        let head = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| anyhow!("no latest block"))?;
        let now = head.header.timestamp;
        self.check_commitments(now, &mut report).await?;
        self.send_intents(&mut report).await?;
        self.follow_disputes(now, &mut report).await?;
        self.withdraw_credit().await?;
        self.save()?;
        Ok(report)
    }

    // ---------------------------------------------------------------------------------------
    // Scanning
    // ---------------------------------------------------------------------------------------

    async fn block_hash(&self, n: u64) -> anyhow::Result<Option<B256>> {
        Ok(self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await?
            .map(|b| b.header.hash))
    }

    /// Rewinds the cursor past any remembered block whose hash changed (a reorg).
    async fn detect_reorg(&mut self) -> anyhow::Result<()> {
        let mut rewound_past = None;
        while let Some(&(n, hash)) = self.state.recent.last() {
            if self.block_hash(n).await? == Some(hash) {
                if rewound_past.is_some() {
                    // Everything after the last block still on the canonical chain is re-read;
                    // event handling is idempotent (keyed by ids).
                    self.state.cursor = self.state.cursor.min(n + 1);
                }
                return Ok(());
            }
            warn!(block = n, "reorg: remembered block changed; rewinding");
            self.state.recent.pop();
            rewound_past = Some(n);
        }
        if let Some(n) = rewound_past {
            // No remembered block survived: rewind as deep as we remember.
            let depth = self.cfg.reorg_depth as u64 * self.cfg.max_block_range.max(1);
            self.state.cursor = self
                .state
                .cursor
                .min(n.saturating_sub(depth).max(self.cfg.start_block));
        }
        Ok(())
    }

    async fn scan(&mut self, report: &mut StepReport) -> anyhow::Result<()> {
        self.detect_reorg().await?;
        let head = self.provider.get_block_number().await?;
        let Some(safe) = head.checked_sub(self.cfg.confirmations) else {
            return Ok(());
        };
        if self.state.cursor > safe {
            return Ok(());
        }
        let start = self.state.cursor;
        while self.state.cursor <= safe {
            let from = self.state.cursor;
            let to = safe.min(from + self.cfg.max_block_range.max(1) - 1);
            let filter = Filter::new()
                .address(self.cfg.game)
                .from_block(from)
                .to_block(to);
            let logs = self.provider.get_logs(&filter).await?;
            for log in logs {
                let block = log.block_number.unwrap_or(to);
                match IDisputeGameEvents::decode_log(&log.inner) {
                    Ok(ev) => self.on_event(ev.data, block),
                    Err(e) => debug!(error = %e, "undecodable log"),
                }
            }
            if let Some(hash) = self.block_hash(to).await? {
                self.state.recent.push((to, hash));
                let excess = self
                    .state
                    .recent
                    .len()
                    .saturating_sub(self.cfg.reorg_depth.max(1));
                self.state.recent.drain(..excess);
            }
            self.state.cursor = to + 1;
            self.save()?;
        }
        report.scanned = Some((start, safe));
        Ok(())
    }

    fn on_event(&mut self, ev: IDisputeGameEvents, block: u64) {
        match ev {
            IDisputeGameEvents::TaskRegistered(e) => {
                self.state
                    .tasks
                    .insert(e.taskId, e.spec.abi_encode().into());
            }
            IDisputeGameEvents::RootCommitted(e)
                if !self.state.commitments.contains_key(&e.commitmentId) =>
            {
                Metrics::inc(&self.shared.metrics.commitments_seen);
                info!(commitment = %e.commitmentId, provider = %e.provider, uri = %e.uri, "commitment seen");
                self.state.commitments.insert(
                    e.commitmentId,
                    CommitmentEntry {
                        commitment: e.commitment.abi_encode().into(),
                        uri: e.uri,
                        block,
                        checked: false,
                        note: None,
                    },
                );
            }
            IDisputeGameEvents::DisputeOpened(e) => {
                self.update_dispute(e.disputeId, &e.dispute, None);
            }
            IDisputeGameEvents::LeafRevealed(e) => {
                self.update_dispute(e.disputeId, &e.dispute, Some(e.leafData));
            }
            IDisputeGameEvents::DisputeResolved(e) => {
                // Count once: unless the stored struct already shows a final status.
                let first = self
                    .state
                    .disputes
                    .get(&e.disputeId)
                    .and_then(|d| Dispute::abi_decode(&d.dispute).ok())
                    .is_none_or(|d| {
                        matches!(
                            d.status,
                            DisputeStatus::AwaitingReveal | DisputeStatus::Voting
                        )
                    });
                if first && e.dispute.challenger == self.me {
                    let m = &self.shared.metrics;
                    if e.dispute.status == DisputeStatus::ProviderAtFault {
                        Metrics::inc(&m.disputes_won);
                    } else {
                        Metrics::inc(&m.disputes_lost);
                    }
                }
                info!(dispute = %e.disputeId, status = ?e.dispute.status, cause = ?e.cause, "dispute resolved");
                self.update_dispute(e.disputeId, &e.dispute, None);
                if let Some(d) = self.state.disputes.get_mut(&e.disputeId) {
                    d.done = true;
                }
            }
            _ => {}
        }
    }

    fn update_dispute(&mut self, id: B256, d: &Dispute, leaf: Option<Bytes>) {
        let entry = self
            .state
            .disputes
            .entry(id)
            .or_insert_with(|| DisputeEntry {
                dispute: Bytes::new(),
                leaf: None,
                done: false,
                attestation: None,
            });
        entry.dispute = d.abi_encode().into();
        if leaf.is_some() {
            entry.leaf = leaf;
        }
        if let Some(i) = self.state.intents.get_mut(&id) {
            if i.status == IntentStatus::Pending {
                i.status = IntentStatus::Done;
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Challenger: check commitments
    // ---------------------------------------------------------------------------------------

    fn spec(&self, task_id: B256) -> Option<TaskSpec> {
        let bytes = self.state.tasks.get(&task_id)?;
        TaskSpec::abi_decode(bytes).ok()
    }

    fn expectation(&self, c: &Commitment) -> HeaderExpectation {
        HeaderExpectation {
            chain_id: self.chain_id,
            game: self.cfg.game.into(),
            task_id: c.taskId.into(),
            provider: c.provider.into(),
            leaf_count: u64::from(c.leafCount),
            spec: self.spec(c.taskId).map(|s| SpecExpectation {
                model_hash: s.modelHash.into(),
                manifest_hash: s.manifestHash.into(),
                dataset_root: s.datasetRoot.into(),
                generation: (
                    s.generation.maxNewTokens,
                    s.generation.temperatureMilli,
                    s.generation.seed,
                ),
                toploc: (s.toploc.topk, s.toploc.decodeBatchingSize),
            }),
        }
    }

    /// Fetches (or reuses) the bundle of `c`, checked against its hash and size.
    async fn bundle_path(&self, c: &Commitment, uri: &str) -> anyhow::Result<PathBuf> {
        let hash: [u8; 32] = c.bundleHash.into();
        let dest = self
            .cfg
            .state_dir
            .join("bundles")
            .join(verbench_bundle::store::bundle_file_name(&hash));
        if dest.exists() {
            return Ok(dest);
        }
        let tmp = dest.with_extension("partial");
        verbench_bundle::store::fetch(uri, &hash, c.bundleSize, &tmp).await?;
        std::fs::rename(&tmp, &dest)?;
        Ok(dest)
    }

    async fn check_commitments(&mut self, now: u64, report: &mut StepReport) -> anyhow::Result<()> {
        let ids: Vec<B256> = self
            .state
            .commitments
            .iter()
            .filter(|(_, e)| !e.checked)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let entry = self.state.commitments[&id].clone();
            let c = Commitment::abi_decode(&entry.commitment)?;
            let done = |s: &mut Self, note: String| {
                if let Some(e) = s.state.commitments.get_mut(&id) {
                    e.checked = true;
                    e.note = Some(note);
                }
            };
            if c.provider == self.me {
                done(self, "own commitment".into());
                continue;
            }
            if now > u48(c.challengeDeadline) {
                done(self, "challenge window closed before checking".into());
                continue;
            }
            let started = Instant::now();
            let action = self.check_commitment(id, &c, &entry.uri, report).await;
            self.shared
                .metrics
                .observe_verify(started.elapsed().as_secs_f64());
            match action {
                Ok(Action::Ok(note)) => {
                    info!(commitment = %id, %note, "commitment checked");
                    done(self, note);
                }
                Ok(Action::Dispute {
                    index,
                    leaf,
                    reason,
                }) => {
                    warn!(commitment = %id, index, %reason, with_leaf = leaf.is_some(), "fault found: disputing");
                    report.faults.push((id, reason.clone()));
                    let did = dispute_id_of(id, index);
                    self.state.intents.entry(did).or_insert_with(|| Intent {
                        commitment_id: id,
                        index,
                        leaf,
                        reason: reason.clone(),
                        status: IntentStatus::Pending,
                        kind: IntentKind::Dispute,
                    });
                    done(self, format!("disputed leaf {index}: {reason}"));
                    // Persist the intent before anything is sent.
                    self.save()?;
                }
                Ok(Action::ScoreProof {
                    index,
                    leaf,
                    next,
                    reason,
                }) => {
                    warn!(commitment = %id, index, %reason, "score fault found: proving it on chain");
                    report.faults.push((id, reason.clone()));
                    self.state
                        .intents
                        .entry(score_proof_key(id))
                        .or_insert_with(|| Intent {
                            commitment_id: id,
                            index,
                            leaf: Some(leaf),
                            reason: reason.clone(),
                            status: IntentStatus::Pending,
                            kind: IntentKind::ScoreProof { next },
                        });
                    done(self, format!("score proof at leaf {index}: {reason}"));
                    self.save()?;
                }
                Err(e) => {
                    // Our own failure (model, RPC): try again next step.
                    warn!(commitment = %id, error = %format!("{e:#}"), "cannot check commitment yet");
                }
            }
        }
        Ok(())
    }

    fn sample(&self, id: B256, leaf_count: u32) -> Vec<u32> {
        (0..leaf_count)
            .filter(|&i| sampled(self.cfg.seed, id, i, self.cfg.sample_rate))
            .collect()
    }

    async fn check_commitment(
        &mut self,
        id: B256,
        c: &Commitment,
        uri: &str,
        report: &mut StepReport,
    ) -> anyhow::Result<Action> {
        let sample = self.sample(id, c.leafCount);
        let first = sample.first().copied().unwrap_or(0);
        let path = match self.bundle_path(c, uri).await {
            Ok(p) => p,
            Err(e) => {
                return Ok(Action::Dispute {
                    index: first,
                    leaf: None,
                    reason: format!("bundle unavailable: {e}"),
                })
            }
        };
        let summary = match verbench_bundle::read_bundle(
            &path,
            Some((c.root.into(), u64::from(c.leafCount))),
        ) {
            Ok(s) => s,
            Err(e) => {
                return Ok(Action::Dispute {
                    index: first,
                    leaf: None,
                    reason: format!("bundle does not match the commitment: {e}"),
                })
            }
        };
        let with_leaf = |index: u32, reason: String| -> anyhow::Result<Action> {
            let proof = summary.tree.prove(u64::from(index))?;
            let items = read_items(&path, &[index])?;
            let (_, item) = items
                .into_iter()
                .next()
                .ok_or_else(|| anyhow!("item {index} missing"))?;
            let leaf = leaf::leaf_of(&summary.header, &item).map_err(|e| anyhow!(e))?;
            Ok(Action::Dispute {
                index,
                leaf: Some((
                    leaf.encode().into(),
                    proof.siblings.iter().map(|s| B256::from(*s)).collect(),
                )),
                reason,
            })
        };
        if let Err(reason) = judge::check_header(&summary.header, &self.expectation(c)) {
            return with_leaf(first, format!("header: {reason}"));
        }
        // Scores and running sums of every leaf, and the claimed aggregate: no model, no vote.
        if let Some(action) = score_action(c, &summary, &path)? {
            return Ok(action);
        }
        const BASE: &str = "data available, structure, header and running sums checked";
        let Some(model_path) = self.cfg.model.clone() else {
            return Ok(Action::Ok(format!(
                "{BASE}; no model configured, so no item rescored or recomputed"
            )));
        };
        let benchmark = match self.benchmark(c.taskId).await {
            Ok(b) => b,
            Err(why) => return Ok(Action::Ok(format!("{BASE}; task not judged: {why}"))),
        };
        // Every item's input and score against the benchmark: the tokenizer only, no model run.
        if self.tokenizer.is_none() {
            self.tokenizer = Some(ModelTokenizer::from_gguf_or_dir(&model_path)?);
        }
        if let Some(tokenizer) = &self.tokenizer {
            if let Some((index, reason)) = first_misscored(&path, &benchmark, tokenizer)? {
                return with_leaf(index, reason);
            }
        }
        if sample.is_empty() {
            return Ok(Action::Ok(format!(
                "{BASE}; every input and score checked; sample empty, no leaf recomputed"
            )));
        }
        let spec = self.spec(c.taskId);
        for (index, item) in read_items(&path, &sample)? {
            let j = self.judge_item(spec.as_ref(), &benchmark, &summary.header, &item)?;
            report.leaves_checked += 1;
            Metrics::inc(&self.shared.metrics.leaves_checked);
            if let Judgement::Invalid { reason } = j {
                return with_leaf(index, reason.to_string());
            }
            debug!(commitment = %id, index, "leaf valid");
        }
        Ok(Action::Ok(format!(
            "{BASE}; every input and score checked; {} sampled leaves recomputed, no fault",
            sample.len()
        )))
    }

    /// The benchmark of task `task_id`, resolved once: with a manifest hash, the configured
    /// manifest of that hash and its dataset (a configured copy, the cached copy, or fetched from
    /// the manifest's URI, always verified); without one (legacy), the configured dataset of the
    /// task's root. `Err` says why the task cannot be judged; it is logged and counted once.
    async fn benchmark(&mut self, task_id: B256) -> Result<Arc<Benchmark>, String> {
        if let Some(known) = self.benchmarks.get(&task_id) {
            return known.clone();
        }
        let resolved = self.resolve_benchmark(task_id).await.map(Arc::new);
        if let Err(why) = &resolved {
            warn!(task = %task_id, %why, "task cannot be judged: its leaves are not recomputed and no verdict is signed");
            Metrics::inc(&self.shared.metrics.tasks_unjudged);
        }
        self.benchmarks.insert(task_id, resolved.clone());
        resolved
    }

    async fn resolve_benchmark(&self, task_id: B256) -> Result<Benchmark, String> {
        let spec = self
            .spec(task_id)
            .ok_or_else(|| "task spec not seen".to_string())?;
        let manifest_hash: [u8; 32] = spec.manifestHash.into();
        let root: [u8; 32] = spec.datasetRoot.into();
        let bench = if manifest_hash == [0; 32] {
            self.dataset_files
                .iter()
                .filter_map(|(path, bytes)| {
                    let d = Dataset::parse(bytes, path).ok()?;
                    (d.root().ok()? == root).then(|| Benchmark::legacy(d))
                })
                .next()
                .ok_or_else(|| {
                    format!(
                        "legacy task: no configured dataset has its root {}",
                        spec.datasetRoot
                    )
                })?
        } else {
            let m = self
                .manifests
                .iter()
                .find(|m| m.hash() == manifest_hash)
                .ok_or_else(|| format!("no configured manifest has hash {}", spec.manifestHash))?;
            let local = self
                .dataset_files
                .iter()
                .find(|(_, b)| verbench_bundle::manifest::sha256_hex(b) == m.dataset.sha256);
            let dataset = match local {
                Some((path, bytes)) => m.verify_dataset(bytes, path).map_err(|e| e.to_string())?,
                None => Benchmark::dataset_of(m, None, &self.cfg.state_dir.join("datasets"))
                    .await
                    .map_err(|e| format!("dataset unobtainable: {e}"))?,
            };
            Benchmark::from_manifest(m.clone(), dataset)
        };
        bench.answers(&manifest_hash, &root, u64::from(spec.datasetSize))?;
        Ok(bench)
    }

    /// Judges one item with the configured model (loaded on first use).
    fn judge_item(
        &mut self,
        spec: Option<&TaskSpec>,
        benchmark: &Benchmark,
        header: &Header,
        item: &Item,
    ) -> anyhow::Result<Judgement> {
        if self.model.is_none() {
            let path = self
                .cfg
                .model
                .clone()
                .ok_or_else(|| anyhow!("no model configured"))?;
            info!(model = %path.display(), "loading the validation model (dense f32)");
            let m = verbench_inference::load(
                &path,
                verbench_inference::WeightFormat::DenseF32,
                &verbench_inference::device(),
            )?;
            self.model = Some((m.model, m.tokenizer));
        }
        let Some((model, tokenizer)) = &self.model else {
            return Err(anyhow!("model not loaded"));
        };
        let spec = spec.ok_or_else(|| anyhow!("task spec not seen: not judging"))?;
        let thresholds = verbench_chain::rules::thresholds_of(spec);
        // The task's own token margin when it fixes one, else this judge's setting.
        let margin = match spec.toploc.tokenMarginMilli {
            0 => self.cfg.token_margin,
            milli => milli as f32 / 1000.0,
        };
        let params = verbench_toploc::ProofParams::paper_defaults();
        let validator = Validator::new(model.clone(), params, thresholds, margin);
        let expected = Expected::of(benchmark, item.index)
            .ok_or_else(|| anyhow!("item {} is not in the task's dataset", item.index))?;
        let run = || judge::judge(&validator, tokenizer, header, item, expected);
        let j = if tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
        {
            tokio::task::block_in_place(run)
        } else {
            run()
        }?;
        Ok(j)
    }

    // ---------------------------------------------------------------------------------------
    // Sending
    // ---------------------------------------------------------------------------------------

    fn classify(&self, e: &alloy::contract::Error) -> Option<Sent> {
        let decoded = e.as_decoded_interface_error::<IDisputeGameErrors>()?;
        let text = format!("{decoded:?}");
        Some(match decoded {
            // The dispute moved on (a peer resolved it, or it was claimed or expired first).
            IDisputeGameErrors::DisputeExists(_)
            | IDisputeGameErrors::DisputeMismatch(_)
            | IDisputeGameErrors::WrongDisputeStatus(_)
            | IDisputeGameErrors::NothingToWithdraw(_) => Sent::Moot(text),
            _ => Sent::Refused(text),
        })
    }

    async fn send(
        &self,
        what: &str,
        call: impl std::future::Future<
            Output = Result<
                alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
                alloy::contract::Error,
            >,
        >,
    ) -> anyhow::Result<Sent> {
        match call.await {
            Ok(pending) => {
                if what.starts_with("openDispute") {
                    failpoint("after-send");
                }
                let receipt = pending.get_receipt().await?;
                if receipt.status() {
                    info!(what, tx = %receipt.transaction_hash, "sent");
                    Ok(Sent::Ok)
                } else {
                    Ok(Sent::Refused(format!(
                        "{what}: transaction {} reverted",
                        receipt.transaction_hash
                    )))
                }
            }
            Err(e) => match self.classify(&e) {
                Some(s) => Ok(s),
                None => Err(anyhow!("{what}: {}", verbench_chain::decode_revert(&e))),
            },
        }
    }

    async fn send_intents(&mut self, report: &mut StepReport) -> anyhow::Result<()> {
        let pending: Vec<B256> = self
            .state
            .intents
            .iter()
            .filter(|(_, i)| i.status == IntentStatus::Pending)
            .map(|(id, _)| *id)
            .collect();
        for did in pending {
            let intent = self.state.intents[&did].clone();
            if let IntentKind::ScoreProof { next } = &intent.kind {
                self.send_score_proof(did, &intent, next.clone(), report)
                    .await?;
                continue;
            }
            // Already on chain (ours before a crash, or someone else's)?
            if self.game.disputeHash(did).call().await? != B256::ZERO {
                info!(dispute = %did, "dispute already on chain");
                self.set_intent(did, IntentStatus::Done)?;
                continue;
            }
            let Some(entry) = self.state.commitments.get(&intent.commitment_id) else {
                self.set_intent(did, IntentStatus::Failed("unknown commitment".into()))?;
                continue;
            };
            let c = Commitment::abi_decode(&entry.commitment)?;
            let bond = U256::from(self.game.task(c.taskId).call().await?.challengerBond);
            failpoint("before-send");
            let sent = match &intent.leaf {
                None => {
                    self.send(
                        "openDispute",
                        self.game.openDispute(c, intent.index).value(bond).send(),
                    )
                    .await?
                }
                Some((data, proof)) => {
                    self.send(
                        "openDisputeWithLeaf",
                        self.game
                            .openDisputeWithLeaf(c, intent.index, data.clone(), proof.clone())
                            .value(bond)
                            .send(),
                    )
                    .await?
                }
            };
            match sent {
                Sent::Ok => {
                    failpoint("after-receipt");
                    info!(dispute = %did, index = intent.index, reason = %intent.reason, "dispute opened");
                    Metrics::inc(&self.shared.metrics.disputes_opened);
                    report.disputes_opened += 1;
                    self.set_intent(did, IntentStatus::Done)?;
                }
                Sent::Moot(why) => {
                    info!(dispute = %did, %why, "dispute exists already");
                    self.set_intent(did, IntentStatus::Done)?;
                }
                Sent::Refused(why) => {
                    if self.game.disputeHash(did).call().await? != B256::ZERO {
                        self.set_intent(did, IntentStatus::Done)?;
                    } else {
                        warn!(dispute = %did, %why, "dispute refused by the chain; giving up");
                        self.set_intent(did, IntentStatus::Failed(why))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Sends one score-proof intent (`key` = [`score_proof_key`]); done once the commitment is
    /// rejected, by us or anyone.
    async fn send_score_proof(
        &mut self,
        key: B256,
        intent: &Intent,
        next: Option<(Bytes, Vec<B256>)>,
        report: &mut StepReport,
    ) -> anyhow::Result<()> {
        let cid = intent.commitment_id;
        let Some(entry) = self.state.commitments.get(&cid) else {
            return self.set_intent(key, IntentStatus::Failed("unknown commitment".into()));
        };
        let c = Commitment::abi_decode(&entry.commitment)?;
        let rejected = |s: &Self| {
            let game = s.game.clone();
            async move {
                anyhow::Ok(
                    game.commitmentState(cid).call().await?.status == CommitmentStatus::Rejected,
                )
            }
        };
        if rejected(self).await? {
            info!(commitment = %cid, "commitment already rejected: no score proof needed");
            return self.set_intent(key, IntentStatus::Done);
        }
        let Some((data, proof)) = intent.leaf.clone() else {
            return self.set_intent(
                key,
                IntentStatus::Failed("score proof without a leaf".into()),
            );
        };
        let (next_data, next_proof) = next.unwrap_or_default();
        let sent = self
            .send(
                "proveScoreFault",
                self.game
                    .proveScoreFault(c, intent.index, data, proof, next_data, next_proof)
                    .send(),
            )
            .await?;
        match sent {
            Sent::Ok => {
                info!(commitment = %cid, index = intent.index, reason = %intent.reason, "score fault proven: commitment rejected");
                Metrics::inc(&self.shared.metrics.score_proofs);
                report.score_proofs += 1;
                self.set_intent(key, IntentStatus::Done)
            }
            Sent::Moot(_) => self.set_intent(key, IntentStatus::Done),
            Sent::Refused(why) => {
                if rejected(self).await? {
                    self.set_intent(key, IntentStatus::Done)
                } else {
                    warn!(commitment = %cid, %why, "score proof refused by the chain; giving up");
                    self.set_intent(key, IntentStatus::Failed(why))
                }
            }
        }
    }

    fn set_intent(&mut self, did: B256, status: IntentStatus) -> anyhow::Result<()> {
        if let Some(i) = self.state.intents.get_mut(&did) {
            i.status = status;
        }
        self.save()
    }

    // ---------------------------------------------------------------------------------------
    // Disputes: withheld leaves, expiry, operator verdicts
    // ---------------------------------------------------------------------------------------

    async fn follow_disputes(&mut self, now: u64, report: &mut StepReport) -> anyhow::Result<()> {
        let open: Vec<B256> = self
            .state
            .disputes
            .iter()
            .filter(|(_, d)| !d.done)
            .map(|(id, _)| *id)
            .collect();
        for did in open {
            let entry = self.state.disputes[&did].clone();
            let d = Dispute::abi_decode(&entry.dispute)?;
            let mine = d.challenger == self.me;
            if d.status == DisputeStatus::AwaitingReveal {
                if mine && now > u48(d.revealDeadline) {
                    match self
                        .send("claimWithheld", self.game.claimWithheld(d.clone()).send())
                        .await?
                    {
                        Sent::Ok => {
                            info!(dispute = %did, "provider withheld the leaf: claimed");
                            report.withheld_claimed += 1;
                            self.mark_done(did);
                        }
                        Sent::Moot(_) => self.mark_done(did),
                        Sent::Refused(why) => {
                            debug!(dispute = %did, %why, "claimWithheld refused (stale state?)")
                        }
                    }
                }
                continue;
            }
            if d.status != DisputeStatus::Voting {
                self.mark_done(did);
                continue;
            }
            if mine {
                failpoint("voting");
            }
            if now > u48(d.voteDeadline) {
                if mine || self.cfg.operator {
                    match self
                        .send("expire", self.game.expire(d.clone()).send())
                        .await?
                    {
                        Sent::Ok => {
                            info!(dispute = %did, "no quorum: expired");
                            report.expired += 1;
                            self.mark_done(did);
                        }
                        Sent::Moot(_) => self.mark_done(did),
                        Sent::Refused(why) => debug!(dispute = %did, %why, "expire refused"),
                    }
                }
                continue;
            }
            if self.cfg.operator {
                if let Err(e) = self.operate(did, &d, entry, report).await {
                    warn!(dispute = %did, error = %format!("{e:#}"), "operator step failed");
                }
            }
        }
        Ok(())
    }

    fn mark_done(&mut self, did: B256) {
        if let Some(d) = self.state.disputes.get_mut(&did) {
            d.done = true;
        }
    }

    /// The operator's verdict on a dispute whose leaf is known.
    async fn verdict(&mut self, d: &Dispute, leaf_data: &Bytes) -> anyhow::Result<Outcome> {
        let Some(entry) = self.state.commitments.get(&d.commitmentId).cloned() else {
            return Err(anyhow!("commitment not seen yet"));
        };
        let c = Commitment::abi_decode(&entry.commitment)?;
        let at_fault = |why: String| {
            info!(commitment = %d.commitmentId, index = d.leafIndex, %why, "verdict: provider at fault");
            Ok(Outcome::ProviderAtFault)
        };
        if leaf::LeafV2::decode(leaf_data).is_none() {
            return at_fault("leaf data does not decode".into());
        }
        let path = match self.bundle_path(&c, &entry.uri).await {
            Ok(p) => p,
            Err(e) => return at_fault(format!("bundle unavailable: {e}")),
        };
        let summary = match verbench_bundle::read_bundle(
            &path,
            Some((c.root.into(), u64::from(c.leafCount))),
        ) {
            Ok(s) => s,
            Err(e) => return at_fault(format!("bundle does not match the root: {e}")),
        };
        if let Err(why) = judge::check_header(&summary.header, &self.expectation(&c)) {
            return at_fault(format!("header: {why}"));
        }
        let Some((_, item)) = read_items(&path, &[d.leafIndex])?.into_iter().next() else {
            return at_fault("item missing".into());
        };
        match leaf::leaf_of(&summary.header, &item) {
            Ok(l) if B256::from(l.hash()) == d.leafHash => {}
            _ => return at_fault("revealed leaf is not the bundle's item".into()),
        }
        let benchmark = self.benchmark(c.taskId).await.map_err(|why| {
            anyhow!("not signing a verdict on a task this bot cannot judge: {why}")
        })?;
        let spec = self.spec(c.taskId);
        let j = self.judge_item(spec.as_ref(), &benchmark, &summary.header, &item)?;
        Metrics::inc(&self.shared.metrics.leaves_checked);
        Ok(match j {
            Judgement::Valid => Outcome::LeafValid,
            Judgement::Invalid { reason } => return at_fault(reason.to_string()),
        })
    }

    async fn operate(
        &mut self,
        did: B256,
        d: &Dispute,
        entry: DisputeEntry,
        report: &mut StepReport,
    ) -> anyhow::Result<()> {
        let Some(leaf_data) = entry.leaf.clone() else {
            return Ok(());
        };
        let mine = match entry.attestation.clone() {
            Some(a) => a,
            None => {
                if d.provider == self.me || d.challenger == self.me {
                    return Ok(()); // excluded signer: do not judge our own dispute
                }
                let outcome = self.verdict(d, &leaf_data).await?;
                let sig = verbench_chain::verdict::sign_verdict(
                    &self.signer,
                    self.chain_id,
                    self.cfg.game,
                    did,
                    d.leafHash,
                    outcome,
                )?;
                let a = Attestation {
                    dispute_id: did,
                    signer: self.me,
                    outcome: if outcome == Outcome::ProviderAtFault {
                        crate::VerdictOutcome::ProviderAtFault
                    } else {
                        crate::VerdictOutcome::LeafValid
                    },
                    leaf_hash: d.leafHash,
                    r: sig.r,
                    vs: sig.vs,
                };
                Metrics::inc(&self.shared.metrics.attestations_signed);
                info!(dispute = %did, ?outcome, "verdict signed");
                if let Some(e) = self.state.disputes.get_mut(&did) {
                    e.attestation = Some(a.clone());
                }
                self.save()?;
                a
            }
        };
        if let Ok(mut map) = self.shared.attestations.write() {
            map.insert(did, mine.clone());
        }
        // Collect peers' attestations agreeing with ours.
        let mut agreeing: Vec<Attestation> = vec![mine.clone()];
        for peer in &self.cfg.peers {
            let url = format!("{}/attestations/{did}", peer.trim_end_matches('/'));
            let got = match self.http.get(&url).send().await {
                Ok(r) if r.status().is_success() => r.json::<Attestation>().await.ok(),
                _ => None,
            };
            if let Some(a) = got {
                if a.dispute_id == did
                    && a.leaf_hash == mine.leaf_hash
                    && a.outcome == mine.outcome
                    && !agreeing.iter().any(|x| x.signer == a.signer)
                {
                    agreeing.push(a);
                }
            }
        }
        let outcome = Outcome::from(mine.outcome);
        let digest = verbench_chain::verdict::verdict_digest(
            self.chain_id,
            self.cfg.game,
            did,
            mine.leaf_hash,
            outcome,
        );
        let snapshot = d.snapshot;
        let mut signers = Vec::new();
        let mut stake_for = U256::ZERO;
        for a in &agreeing {
            if a.signer == d.provider || a.signer == d.challenger {
                continue;
            }
            let mut raw = [0u8; 64];
            raw[..32].copy_from_slice(a.r.as_slice());
            raw[32..].copy_from_slice(a.vs.as_slice());
            let sig = alloy::primitives::Signature::from_erc2098(&raw);
            if sig.recover_address_from_prehash(&digest).ok() != Some(a.signer) {
                warn!(dispute = %did, signer = %a.signer, "attestation signature does not recover; ignored");
                continue;
            }
            // Stake at the dispute's snapshot is what the contract counts: an operator that has
            // deregistered since still votes with it (no `isOperator` filter here).
            let stake = self.sm.stakeAt(a.signer, snapshot).call().await?;
            if stake.is_zero() {
                continue;
            }
            stake_for += stake;
            signers.push((a.signer, Sig { r: a.r, vs: a.vs }));
        }
        let total = self.sm.totalStakeAt(snapshot).call().await?;
        let p = self.sm.stakeAt(d.provider, snapshot).call().await?;
        let ch = self.sm.stakeAt(d.challenger, snapshot).call().await?;
        let eligible = total.saturating_sub(p).saturating_sub(ch);
        let quorum = self.game.quorumBps().call().await?;
        if !verbench_chain::rules::quorum_reached(stake_for, eligible, quorum) {
            debug!(dispute = %did, %stake_for, %eligible, signers = signers.len(), "no quorum yet");
            return Ok(());
        }
        signers.sort_by_key(|(a, _)| *a);
        let (addrs, sigs): (Vec<Address>, Vec<Sig>) = signers.into_iter().unzip();
        match self
            .send(
                "resolve",
                self.game.resolve(d.clone(), outcome, addrs, sigs).send(),
            )
            .await?
        {
            Sent::Ok => {
                info!(dispute = %did, ?outcome, "dispute resolved with a quorum");
                report.resolved += 1;
                self.mark_done(did);
            }
            Sent::Moot(_) => self.mark_done(did),
            Sent::Refused(why) => warn!(dispute = %did, %why, "resolve refused"),
        }
        Ok(())
    }

    async fn withdraw_credit(&mut self) -> anyhow::Result<()> {
        let credit = self.game.credit(self.me).call().await?;
        if credit.is_zero() {
            return Ok(());
        }
        if let Sent::Ok = self.send("withdraw", self.game.withdraw().send()).await? {
            info!(%credit, "credit withdrawn");
        }
        Ok(())
    }

    /// The commitment id of `c` (as the contract derives it).
    pub fn commitment_id(&self, c: &Commitment) -> B256 {
        commitment_id_of(self.chain_id, self.cfg.game, c)
    }
}

/// Reads the items at `indices` (ascending) from a checked bundle.
/// The score proof `c` deserves, if its leaves' scores break the contract's rules or its claimed
/// aggregate is not what its last leaf's running sum gives (docs/protocol.md, "Score proofs").
fn score_action(
    c: &Commitment,
    summary: &verbench_bundle::BundleSummary,
    path: &std::path::Path,
) -> anyhow::Result<Option<Action>> {
    let (first, with_next, reason) = if let Some(b) = summary.score_break {
        let (i, next) = b.proof_leaves();
        (u32::try_from(i)?, next, format!("scores: {b}"))
    } else if c.claimedScore != U256::MAX && c.claimedScore != U256::from(summary.claimable_wad) {
        (
            c.leafCount - 1,
            false,
            format!(
                "claimed score {} but the leaves' running sum gives {}",
                c.claimedScore, summary.claimable_wad
            ),
        )
    } else {
        return Ok(None);
    };
    let mut wanted = vec![first];
    if with_next {
        wanted.push(first + 1);
    }
    let mut proven = Vec::new();
    for (index, item) in read_items(path, &wanted)? {
        let leaf = leaf::leaf_of(&summary.header, &item).map_err(|e| anyhow!(e))?;
        let proof = summary.tree.prove(u64::from(index))?;
        proven.push((
            Bytes::from(leaf.encode()),
            proof
                .siblings
                .iter()
                .map(|s| B256::from(*s))
                .collect::<Vec<_>>(),
        ));
    }
    let mut proven = proven.into_iter();
    let leaf = proven
        .next()
        .ok_or_else(|| anyhow!("item {first} missing"))?;
    Ok(Some(Action::ScoreProof {
        index: first,
        leaf,
        next: proven.next(),
        reason,
    }))
}

/// The first item whose input is not the benchmark's or whose committed score is not what the
/// benchmark's scorer gives its decoded output, with why.
fn first_misscored(
    path: &std::path::Path,
    benchmark: &Benchmark,
    tokenizer: &ModelTokenizer,
) -> anyhow::Result<Option<(u32, String)>> {
    let mut reader = BundleReader::open(path)?;
    while let Some((item, _)) = reader.next_item()? {
        let index = u32::try_from(item.index)?;
        let Some(expected) = Expected::of(benchmark, item.index) else {
            return Ok(Some((
                index,
                format!("item {index} is not in the task's dataset"),
            )));
        };
        if expected.input != item.input {
            let reason = judge::InvalidReason::InputMismatch { index: item.index };
            return Ok(Some((index, reason.to_string())));
        }
        // The reader has checked that score_wad is a canonical decimal (it builds the leaf).
        let score = leaf::parse_wad(&item.score_wad).unwrap_or(u128::MAX);
        if let Some(reason) =
            judge::score_mismatch(tokenizer, &item.output_tokens, score, &expected)?
        {
            return Ok(Some((index, reason.to_string())));
        }
    }
    Ok(None)
}

fn read_items(path: &std::path::Path, indices: &[u32]) -> anyhow::Result<Vec<(u32, Item)>> {
    let mut reader = BundleReader::open(path)?;
    let mut out = Vec::new();
    let mut want = indices.iter().copied().peekable();
    while let Some(&next) = want.peek() {
        let Some((item, _)) = reader.next_item()? else {
            break;
        };
        if item.index == u64::from(next) {
            out.push((next, item));
            want.next();
        }
    }
    Ok(out)
}

/// Wakes the poll loop on every new head from a WebSocket subscription; reconnects with backoff.
async fn ws_wakeups(
    url: String,
    wake: Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use futures::StreamExt;
    let mut delay = Duration::from_secs(1);
    loop {
        let attempt = async {
            let p = ProviderBuilder::new()
                .connect_ws(alloy::providers::WsConnect::new(url.clone()))
                .await?;
            let sub = p.subscribe_blocks().await?;
            let mut stream = sub.into_stream();
            while stream.next().await.is_some() {
                wake.notify_one();
            }
            anyhow::Ok(())
        };
        tokio::select! {
            r = attempt => {
                if let Err(e) = r {
                    debug!(error = %e, "websocket wake-ups unavailable; polling only");
                }
            }
            _ = stop.wait_for(|s| *s) => return,
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}

/// Crash-test hook: when `VERBENCH_FAILPOINT` names this point, the process aborts on the spot (no
/// state saved, no destructors: what SIGKILL does), so tests can kill the bot at exact steps of a
/// dispute (`before-send`, `after-send`, `after-receipt`, `voting`). Unset in production.
fn failpoint(name: &str) {
    if std::env::var("VERBENCH_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("verbench-challenger: failpoint {name}: aborting");
        std::process::abort();
    }
}

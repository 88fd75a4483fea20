//! The bot: scan events from a persisted cursor, check commitments, dispute bad leaves exactly
//! once, follow up on disputes, and (operators) sign, collect and submit verdicts.
//!
//! `Bot` wires the parts; each lives in its own file: [`scan`] (events, reorgs), [`challenge`]
//! (which commitments to check, and the intents their faults leave), [`send`] (transactions and
//! revert classification), [`operator`] (disputes: withheld leaves, expiry, verdicts, quorum).
//! The check itself (bundle + task -> action or verdict) is [`crate::check`], with no chain
//! client.

mod challenge;
mod operator;
mod scan;
mod send;

use crate::check::{Action, Benchmarks, Checker, Opened, Target};
use crate::metrics::Metrics;
use crate::state::{
    score_proof_key, CommitmentEntry, DisputeEntry, Intent, IntentKind, IntentStatus, State,
};
use crate::{Attestation, CommitmentCheck, Config};
use alloy::{
    primitives::{keccak256, Address, Bytes, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::BlockNumberOrTag,
    signers::local::PrivateKeySigner,
    sol_types::SolValue,
};
use anyhow::{anyhow, Context as _};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tracing::{debug, error, info, warn};
use verbench_chain::bindings::{
    IDisputeGame::{
        self, Commitment, CommitmentStatus, Dispute, DisputeStatus, IDisputeGameErrors,
        IDisputeGameEvents, Outcome, TaskSpec,
    },
    IOperatorSet,
};
use verbench_chain::deploy::Backend;
use verbench_chain::rules::{commitment_id_of, dispute_id as dispute_id_of};

/// What the HTTP server shares with the bot.
#[derive(Debug, Default)]
pub struct Shared {
    /// Counters.
    pub metrics: Metrics,
    /// This operator's attestations by dispute id.
    pub attestations: RwLock<HashMap<B256, Attestation>>,
    /// What this bot found about each commitment it checked, by commitment id.
    pub checks: RwLock<HashMap<B256, CommitmentCheck>>,
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
    sm: IOperatorSet::IOperatorSetInstance<DynProvider>,
    state: State,
    shared: Arc<Shared>,
    /// Bundle checks and item judgements (model, tokenizer, benchmarks).
    checker: Checker,
    http: reqwest::Client,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("me", &self.me)
            .field("game", &self.cfg.game)
            .field("cursor", &self.state.follow.cursor)
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
        let sm = IOperatorSet::new(sm_addr, provider.clone());
        let backend = match sm
            .backend()
            .call()
            .await
            .context("IOperatorSet.backend()")?
        {
            IOperatorSet::Backend::Native => Backend::Native,
            IOperatorSet::Backend::EigenLayer => Backend::EigenLayer,
            other => {
                anyhow::bail!("the service manager {sm_addr} names an unknown back end {other:?}")
            }
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
        let benchmarks = Benchmarks::load(
            &cfg.manifests,
            &cfg.datasets,
            cfg.state_dir.join("datasets"),
        )?;
        let checker = Checker::new(cfg.model.clone(), benchmarks);
        info!(%me, game = %cfg.game, chain_id, %backend, cursor = state.follow.cursor, operator = cfg.operator, "challenger ready");
        let bot = Self {
            cfg,
            provider,
            signer,
            me,
            chain_id,
            game,
            sm,
            state,
            shared: Arc::new(Shared::default()),
            checker,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        };
        // What earlier runs found stays servable across restarts.
        let ids: Vec<B256> = bot.state.commitments.keys().copied().collect();
        for id in ids {
            bot.publish_check(id);
        }
        Ok(bot)
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

    pub(super) fn save(&self) -> anyhow::Result<()> {
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
        if report.disputes_opened > 0 {
            // Read our new disputes now, so that this step publishes their items.
            let mut again = StepReport::default();
            self.scan(&mut again).await?;
        }
        self.follow_disputes(now, &mut report).await?;
        self.withdraw_credit().await?;
        self.save()?;
        Ok(report)
    }

    /// The commitment id of `c` (as the contract derives it).
    pub fn commitment_id(&self, c: &Commitment) -> B256 {
        commitment_id_of(self.chain_id, self.cfg.game, c)
    }
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
/// dispute (`before-send`, `after-send`, `after-receipt`, `voting`). Compiled only with the
/// `failpoints` feature (the crate's own tests enable it); release binaries have a no-op.
#[cfg(feature = "failpoints")]
fn failpoint(name: &str) {
    if std::env::var("VERBENCH_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("verbench-challenger: failpoint {name}: aborting");
        std::process::abort();
    }
}

#[cfg(not(feature = "failpoints"))]
fn failpoint(_: &str) {}

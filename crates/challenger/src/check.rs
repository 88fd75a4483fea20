//! Checking a commitment's published data against its task, with no chain client: bundle +
//! task -> [`Action`] (the challenger) or [`Outcome`] (an operator's verdict). Both go through one
//! path: [`Opened::open`] reads the bundle and checks it against the committed root and leaf
//! count, [`Opened::check_header`] against what the task and commitment fix, [`Opened::item`]
//! reads an item. The [`Checker`] owns what judging needs: the model (loaded on first use), its
//! tokenizer, and the benchmarks resolved per task.

use crate::judge::{self, Expected, HeaderExpectation, Judgement, LeafFigures, SpecExpectation};
use crate::metrics::Metrics;
use alloy::primitives::{Address, Bytes, B256, U256};
use anyhow::{anyhow, Context as _};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::{debug, info, warn};
use verbench_bundle::{
    benchmark::Benchmark, dataset::Dataset, leaf, manifest::Manifest, BundleReader, BundleSummary,
    Header, Item,
};
use verbench_chain::bindings::IDisputeGame::{Commitment, Outcome, TaskSpec};
use verbench_inference::{ModelTokenizer, Validator};

/// A leaf's encoded data and its inclusion proof (siblings, leaf to root).
pub type ProvenLeaf = (Bytes, Vec<B256>);

/// What a challenger does about one commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// No fault found; what was checked.
    Ok(String),
    /// The scores or the claimed aggregate contradict the leaves: `proveScoreFault`.
    ScoreProof {
        /// The first leaf of the proof.
        index: u32,
        /// That leaf, proven.
        leaf: ProvenLeaf,
        /// The next leaf, proven, when the fault is between two leaves.
        next: Option<ProvenLeaf>,
        /// Why.
        reason: String,
    },
    /// A leaf is wrong (or the data is unavailable): open a dispute on it.
    Dispute {
        /// The disputed leaf.
        index: u32,
        /// The leaf, proven, when the bundle is available to build it from.
        leaf: Option<ProvenLeaf>,
        /// Why.
        reason: String,
    },
}

/// The chain and commitment a bundle must answer.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The commitment's id (for logs).
    pub id: B256,
    /// The chain id.
    pub chain_id: u64,
    /// The DisputeGame.
    pub game: Address,
    /// The commitment.
    pub commitment: &'a Commitment,
    /// The task's spec, when its registration has been seen.
    pub spec: Option<&'a TaskSpec>,
}

impl Target<'_> {
    /// What the bundle's header must say.
    pub fn expectation(&self) -> HeaderExpectation {
        let c = self.commitment;
        HeaderExpectation {
            chain_id: self.chain_id,
            game: self.game.into(),
            task_id: c.taskId.into(),
            provider: c.provider.into(),
            leaf_count: u64::from(c.leafCount),
            spec: self.spec.map(|s| SpecExpectation {
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
}

/// A bundle file read through and checked against a commitment's root and leaf count.
#[derive(Debug)]
pub struct Opened {
    path: PathBuf,
    summary: BundleSummary,
}

impl Opened {
    /// Reads `path` and checks that its leaves build the commitment's root with its leaf count.
    /// `Err` says why the bundle does not match.
    pub fn open(path: &Path, c: &Commitment) -> Result<Self, String> {
        verbench_bundle::read_bundle(path, Some((c.root.into(), u64::from(c.leafCount))))
            .map(|summary| Self {
                path: path.to_path_buf(),
                summary,
            })
            .map_err(|e| e.to_string())
    }

    /// The bundle's header against the task's and the commitment's fields.
    pub fn check_header(&self, want: &HeaderExpectation) -> Result<(), String> {
        judge::check_header(&self.summary.header, want)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.summary.header
    }

    /// What reading the bundle found (tree, score tally).
    pub fn summary(&self) -> &BundleSummary {
        &self.summary
    }

    /// Item `index`, if the bundle has it.
    pub fn item(&self, index: u32) -> anyhow::Result<Option<Item>> {
        Ok(read_items(&self.path, &[index])?
            .into_iter()
            .next()
            .map(|(_, item)| item))
    }

    /// The items at `indices` (ascending).
    pub fn items(&self, indices: &[u32]) -> anyhow::Result<Vec<(u32, Item)>> {
        read_items(&self.path, indices)
    }

    /// Leaf `index`'s data and inclusion proof.
    pub fn prove(&self, index: u32) -> anyhow::Result<ProvenLeaf> {
        let item = self
            .item(index)?
            .ok_or_else(|| anyhow!("item {index} missing"))?;
        self.prove_item(index, &item)
    }

    fn prove_item(&self, index: u32, item: &Item) -> anyhow::Result<ProvenLeaf> {
        let leaf = leaf::leaf_of(&self.summary.header, item).map_err(|e| anyhow!(e))?;
        let proof = self.summary.tree.prove(u64::from(index))?;
        Ok((
            leaf.encode().into(),
            proof.siblings.iter().map(|s| B256::from(*s)).collect(),
        ))
    }
}

/// What [`Checker::check`] found, with the leaves it recomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The action.
    pub action: Action,
    /// Leaves recomputed with the model.
    pub leaves_checked: usize,
    /// Each recomputed leaf, in the order checked (the last is the invalid one, if any).
    pub leaves: Vec<LeafCheck>,
}

/// One leaf a challenger recomputed, as published at `GET /checks/<commitmentId>`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeafCheck {
    /// The leaf index.
    pub index: u32,
    /// Whether it passed every check under the task's limits.
    pub valid: bool,
    /// Why not, when it failed.
    pub reason: Option<String>,
    /// What the recomputation measured (absent when a check before it failed).
    pub figures: Option<LeafFigures>,
}

/// Resolves and caches each task's benchmark from configured manifests and dataset files (and
/// the manifest's URI when no copy is held).
#[derive(Debug)]
pub struct Benchmarks {
    manifests: Vec<Manifest>,
    /// Configured dataset files: path and bytes.
    dataset_files: Vec<(PathBuf, Vec<u8>)>,
    /// Where fetched datasets are cached.
    cache_dir: PathBuf,
    resolved: HashMap<B256, Result<Arc<Benchmark>, String>>,
}

impl Benchmarks {
    /// Loads the manifests and reads the dataset files.
    pub fn load(
        manifests: &[PathBuf],
        datasets: &[PathBuf],
        cache_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        let manifests = manifests
            .iter()
            .map(Manifest::load)
            .collect::<Result<Vec<_>, _>>()?;
        let mut dataset_files = Vec::new();
        for path in datasets {
            let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
            dataset_files.push((path.clone(), bytes));
        }
        Ok(Self {
            manifests,
            dataset_files,
            cache_dir,
            resolved: HashMap::new(),
        })
    }

    /// The benchmark of task `task_id`, resolved once: with a manifest hash, the configured
    /// manifest of that hash and its dataset (a configured copy, the cached copy, or fetched from
    /// the manifest's URI, always verified); without one (legacy), the configured dataset of the
    /// task's root. `Err` says why the task cannot be judged; it is logged and counted once.
    pub async fn get(
        &mut self,
        task_id: B256,
        spec: Option<&TaskSpec>,
        metrics: &Metrics,
    ) -> Result<Arc<Benchmark>, String> {
        if let Some(known) = self.resolved.get(&task_id) {
            return known.clone();
        }
        let resolved = self.resolve(spec).await.map(Arc::new);
        if let Err(why) = &resolved {
            warn!(task = %task_id, %why, "task cannot be judged: its leaves are not recomputed and no verdict is signed");
            Metrics::inc(&metrics.tasks_unjudged);
        }
        self.resolved.insert(task_id, resolved.clone());
        resolved
    }

    async fn resolve(&self, spec: Option<&TaskSpec>) -> Result<Benchmark, String> {
        let spec = spec.ok_or_else(|| "task spec not seen".to_string())?;
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
                None => Benchmark::dataset_of(m, None, &self.cache_dir)
                    .await
                    .map_err(|e| format!("dataset unobtainable: {e}"))?,
            };
            Benchmark::from_manifest(m.clone(), dataset)
        };
        bench.answers(&manifest_hash, &root, u64::from(spec.datasetSize))?;
        Ok(bench)
    }
}

/// Checks bundles and judges items: the model and tokenizer (loaded on first use) and the
/// benchmarks. Holds no chain client.
pub struct Checker {
    model_path: Option<PathBuf>,
    model: Option<(verbench_inference::Llama, ModelTokenizer)>,
    /// The model's tokenizer alone (rescoring every item needs no model run).
    tokenizer: Option<ModelTokenizer>,
    benchmarks: Benchmarks,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("model_path", &self.model_path)
            .field("model_loaded", &self.model.is_some())
            .finish()
    }
}

impl Checker {
    /// A checker judging with the model at `model_path` (none: structure, header and running
    /// sums only). Items are judged by their task's limits alone (TOPLOC thresholds and token
    /// margin from the task spec): no local setting changes a verdict.
    pub fn new(model_path: Option<PathBuf>, benchmarks: Benchmarks) -> Self {
        Self {
            model_path,
            model: None,
            tokenizer: None,
            benchmarks,
        }
    }

    /// The challenger's check of one commitment: data available and matching the root, header,
    /// scores and running sums, then (with a model and the task's benchmark) every item's input
    /// and score, then the leaves in `sample` recomputed. `bundle` is the fetched file or why it
    /// could not be fetched. `Err` is this checker's own failure (model, I/O): try again later.
    pub async fn check(
        &mut self,
        target: Target<'_>,
        bundle: Result<PathBuf, String>,
        sample: &[u32],
        metrics: &Metrics,
    ) -> anyhow::Result<Checked> {
        let c = target.commitment;
        let first = sample.first().copied().unwrap_or(0);
        let done = |action| {
            Ok(Checked {
                action,
                leaves_checked: 0,
                leaves: Vec::new(),
            })
        };
        let path = match bundle {
            Ok(p) => p,
            Err(e) => {
                return done(Action::Dispute {
                    index: first,
                    leaf: None,
                    reason: format!("bundle unavailable: {e}"),
                })
            }
        };
        let opened = match Opened::open(&path, c) {
            Ok(o) => o,
            Err(e) => {
                return done(Action::Dispute {
                    index: first,
                    leaf: None,
                    reason: format!("bundle does not match the commitment: {e}"),
                })
            }
        };
        let dispute = |index: u32, reason: String| -> anyhow::Result<Action> {
            Ok(Action::Dispute {
                index,
                leaf: Some(opened.prove(index)?),
                reason,
            })
        };
        if let Err(reason) = opened.check_header(&target.expectation()) {
            return done(dispute(first, format!("header: {reason}"))?);
        }
        // Scores and running sums of every leaf, and the claimed aggregate: no model, no vote.
        if let Some(action) = score_action(c, &opened)? {
            return done(action);
        }
        const BASE: &str = "data available, structure, header and running sums checked";
        let Some(model_path) = self.model_path.clone() else {
            return done(Action::Ok(format!(
                "{BASE}; no model configured, so no item rescored or recomputed"
            )));
        };
        let benchmark = match self.benchmarks.get(c.taskId, target.spec, metrics).await {
            Ok(b) => b,
            Err(why) => return done(Action::Ok(format!("{BASE}; task not judged: {why}"))),
        };
        // Every item's input and score against the benchmark: the tokenizer only, no model run.
        if self.tokenizer.is_none() {
            self.tokenizer = Some(ModelTokenizer::from_gguf_or_dir(&model_path)?);
        }
        if let Some(tokenizer) = &self.tokenizer {
            if let Some((index, reason)) = first_misscored(&path, &benchmark, tokenizer)? {
                return done(dispute(index, reason)?);
            }
        }
        if sample.is_empty() {
            return done(Action::Ok(format!(
                "{BASE}; every input and score checked; sample empty, no leaf recomputed"
            )));
        }
        let mut leaves = Vec::new();
        for (index, item) in opened.items(sample)? {
            let (j, figures) = self.judge_item(target.spec, &benchmark, opened.header(), &item)?;
            Metrics::inc(&metrics.leaves_checked);
            if let Judgement::Invalid { reason } = j {
                leaves.push(LeafCheck {
                    index,
                    valid: false,
                    reason: Some(reason.to_string()),
                    figures,
                });
                let leaf = Some(opened.prove_item(index, &item)?);
                return Ok(Checked {
                    action: Action::Dispute {
                        index,
                        leaf,
                        reason: reason.to_string(),
                    },
                    leaves_checked: leaves.len(),
                    leaves,
                });
            }
            leaves.push(LeafCheck {
                index,
                valid: true,
                reason: None,
                figures,
            });
            debug!(commitment = %target.id, index, "leaf valid");
        }
        Ok(Checked {
            action: Action::Ok(format!(
                "{BASE}; every input and score checked; {} sampled leaves recomputed, no fault",
                sample.len()
            )),
            leaves_checked: leaves.len(),
            leaves,
        })
    }

    /// An operator's verdict on leaf `index` of the target commitment, revealed as `leaf_data`
    /// with hash `leaf_hash`. The provider is at fault when the data is unavailable or does not
    /// match, the header is wrong, the revealed leaf is not the bundle's item, or the item fails
    /// the judge. `Err` (no verdict to sign) when this checker cannot judge the task.
    pub async fn verdict(
        &mut self,
        target: Target<'_>,
        bundle: Result<PathBuf, String>,
        index: u32,
        leaf_hash: B256,
        leaf_data: &Bytes,
        metrics: &Metrics,
    ) -> anyhow::Result<Outcome> {
        let c = target.commitment;
        let at_fault = |why: String| {
            info!(commitment = %target.id, index, %why, "verdict: provider at fault");
            Ok(Outcome::ProviderAtFault)
        };
        if leaf::LeafV2::decode(leaf_data).is_none() {
            return at_fault("leaf data does not decode".into());
        }
        let path = match bundle {
            Ok(p) => p,
            Err(e) => return at_fault(format!("bundle unavailable: {e}")),
        };
        let opened = match Opened::open(&path, c) {
            Ok(o) => o,
            Err(e) => return at_fault(format!("bundle does not match the root: {e}")),
        };
        if let Err(why) = opened.check_header(&target.expectation()) {
            return at_fault(format!("header: {why}"));
        }
        let Some(item) = opened.item(index)? else {
            return at_fault("item missing".into());
        };
        match leaf::leaf_of(opened.header(), &item) {
            Ok(l) if B256::from(l.hash()) == leaf_hash => {}
            _ => return at_fault("revealed leaf is not the bundle's item".into()),
        }
        let benchmark = self.verdict_benchmark(&target, metrics).await?;
        let header = opened.header().clone();
        self.verdict_on(&target, &benchmark, &header, &item, metrics)
    }

    /// The task's benchmark, or why this checker signs no verdict on it.
    async fn verdict_benchmark(
        &mut self,
        target: &Target<'_>,
        metrics: &Metrics,
    ) -> anyhow::Result<Arc<Benchmark>> {
        self.benchmarks
            .get(target.commitment.taskId, target.spec, metrics)
            .await
            .map_err(|why| anyhow!("not signing a verdict on a task this bot cannot judge: {why}"))
    }

    /// An operator's verdict on `item`: the judge's, as an outcome.
    fn verdict_on(
        &mut self,
        target: &Target<'_>,
        benchmark: &Benchmark,
        header: &Header,
        item: &Item,
        metrics: &Metrics,
    ) -> anyhow::Result<Outcome> {
        let (j, _) = self.judge_item(target.spec, benchmark, header, item)?;
        Metrics::inc(&metrics.leaves_checked);
        Ok(match j {
            Judgement::Valid => Outcome::LeafValid,
            Judgement::Invalid { reason } => {
                info!(commitment = %target.id, why = %reason, "verdict: provider at fault");
                Outcome::ProviderAtFault
            }
        })
    }

    /// An operator's verdict from chain data alone (docs/protocol.md, "Judging from chain data"):
    /// the leaf (`leaf_data`, hash `leaf_hash`), the item published for it (`output`, `toploc`:
    /// the preimages of its outputHash and toplocHash, checked by the contract and again here),
    /// the task's spec and the task's benchmark. No bundle is read, so a bundle host that goes
    /// down cannot change the verdict. `Err` (no verdict to sign) when this checker cannot judge
    /// the task.
    pub async fn verdict_from_chain(
        &mut self,
        target: Target<'_>,
        leaf_hash: B256,
        leaf_data: &Bytes,
        output: &[u8],
        toploc: &[u8],
        metrics: &Metrics,
    ) -> anyhow::Result<Outcome> {
        let at_fault = |why: String| {
            info!(commitment = %target.id, %why, "verdict from chain data: provider at fault");
            Ok(Outcome::ProviderAtFault)
        };
        let Some(leaf) = leaf::LeafV2::decode(leaf_data) else {
            return at_fault("leaf data does not decode".into());
        };
        let spec = target
            .spec
            .ok_or_else(|| anyhow!("task spec not seen: not judging"))?;
        let benchmark = self.verdict_benchmark(&target, metrics).await?;
        if verbench_bundle::keccak256(output) != leaf.output_hash
            || verbench_bundle::keccak256(toploc) != leaf.toploc_hash
        {
            return at_fault("the published item is not the leaf's".into());
        }
        let choices = if benchmark.scorer.id == verbench_bundle::scorer::ScorerId::MmluLetter {
            4
        } else {
            0
        };
        let Some((output_tokens, choice_logits)) = leaf::parse_output(output, choices) else {
            return at_fault(format!(
                "published output of {} bytes is not whole token ids (+ {choices} choice logits)",
                output.len()
            ));
        };
        let Some(proofs) = leaf::split_toploc(toploc, spec.toploc.topk as usize) else {
            return at_fault(format!(
                "published proofs of {} bytes are not whole top-{} proofs",
                toploc.len(),
                spec.toploc.topk
            ));
        };
        let Some(input) = usize::try_from(leaf.index)
            .ok()
            .and_then(|i| benchmark.dataset.items.get(i))
            .map(|d| d.input.clone())
        else {
            return at_fault(format!("leaf index {} is not in the dataset", leaf.index));
        };
        let header = header_of(&target, spec);
        let item = Item {
            index: leaf.index,
            input,
            input_hash: verbench_merkle::to_hex(&leaf.input_hash),
            output_tokens,
            output_text: String::new(),
            choice_logits,
            score_wad: leaf.score.to_string(),
            score_sum_wad: leaf.score_sum.to_string(),
            proofs,
            leaf_hash: leaf_hash.to_string(),
        };
        // If the dataset's input is not the one the leaf commits to, the judge's first check
        // (leaf_of: input_hash against hashLeaf(input)) fails and says so.
        self.verdict_on(&target, &benchmark, &header, &item, metrics)
    }

    /// Judges one item with the model (loaded on first use).
    fn judge_item(
        &mut self,
        spec: Option<&TaskSpec>,
        benchmark: &Benchmark,
        header: &Header,
        item: &Item,
    ) -> anyhow::Result<(Judgement, Option<LeafFigures>)> {
        if self.model.is_none() {
            let path = self
                .model_path
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
        let margin = verbench_chain::rules::token_margin_of(spec);
        let params = verbench_toploc::ProofParams::paper_defaults();
        let validator = Validator::new(model.clone(), params, thresholds, margin);
        let expected = Expected::of(benchmark, item.index)
            .ok_or_else(|| anyhow!("item {} is not in the task's dataset", item.index))?;
        let run = || judge::judge_with_figures(&validator, tokenizer, header, item, expected);
        let j = if tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
        {
            tokio::task::block_in_place(run)
        } else {
            run()
        }?;
        Ok(j)
    }
}

/// The score proof `c` deserves, if its leaves' scores break the contract's rules or its claimed
/// aggregate is not what its last leaf's running sum gives (docs/protocol.md, "Score proofs").
pub fn score_action(c: &Commitment, opened: &Opened) -> anyhow::Result<Option<Action>> {
    let summary = opened.summary();
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
    // Both leaves from one pass over the bundle.
    let wanted: &[u32] = if with_next {
        &[first, first + 1]
    } else {
        &[first]
    };
    let mut proven = opened
        .items(wanted)?
        .into_iter()
        .map(|(index, item)| opened.prove_item(index, &item));
    let leaf = proven
        .next()
        .ok_or_else(|| anyhow!("item {first} missing"))??;
    let next = proven.next().transpose()?;
    if with_next && next.is_none() {
        return Err(anyhow!("item {} missing", first + 1));
    }
    Ok(Some(Action::ScoreProof {
        index: first,
        leaf,
        next,
        reason,
    }))
}

/// The first item whose input is not the benchmark's or whose committed score is not what the
/// benchmark's scorer gives its decoded output, with why.
fn first_misscored(
    path: &Path,
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

/// Reads the items at `indices` (ascending) from a bundle.
fn read_items(path: &Path, indices: &[u32]) -> anyhow::Result<Vec<(u32, Item)>> {
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

/// The bundle header a task and commitment fix (what an honest provider's bundle says).
fn header_of(target: &Target<'_>, spec: &TaskSpec) -> Header {
    let c = target.commitment;
    Header {
        format: verbench_bundle::FORMAT.into(),
        chain_id: target.chain_id,
        game: format!("{:#x}", target.game),
        task_id: c.taskId.to_string(),
        provider: format!("{:#x}", c.provider),
        model_hash: spec.modelHash.to_string(),
        manifest_hash: spec.manifestHash.to_string(),
        dataset_root: spec.datasetRoot.to_string(),
        leaf_count: u64::from(c.leafCount),
        generation: verbench_bundle::GenerationParams {
            max_new_tokens: spec.generation.maxNewTokens,
            temperature_milli: spec.generation.temperatureMilli,
            seed: spec.generation.seed,
        },
        toploc: verbench_bundle::ToplocParams {
            topk: spec.toploc.topk,
            decode_batching_size: spec.toploc.decodeBatchingSize,
        },
        engine: None,
    }
}

//! The detection matrix: honest generations and cheats, validated by one dense prefill, judged
//! by TOPLOC alone, the token check alone, and both.
//!
//! Protocol (see `docs/detection.md`):
//! 1. Prompts are split by index parity: even lines calibrate, odd lines evaluate.
//! 2. Honest records are generated with the committed quantized weights (2 threads, one step at
//!    a time) for every prompt.
//! 3. The calibration half is recomputed through every honest validator path; [`calibrate`]
//!    fixes the TOPLOC thresholds and the token margin from those figures only.
//! 4. Only then are the cheats built and scored, on the evaluation half.

use std::fmt::Write as _;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Tensor};
use verbench_toploc::{ChunkResult, ProofParams, Thresholds};

use crate::error::Result;
use crate::generate::{generate, prove_by_prefill, GenerateOptions, Record};
use crate::model::{DerivedWeight, KvCacheMode, Llama, WeightFormat};
use crate::sampling::Sampling;
use crate::tokenizer::ModelTokenizer;
use crate::validate::{Evidence, Validator};
use crate::with_threads;

/// The prompt set committed with the crate (118 one-turn chats, two sentences each).
pub const PROMPTS: &str = include_str!("../data/prompts.txt");

/// The non-empty lines of [`PROMPTS`] in one split, with their line numbers: `even` (the
/// calibration half), `odd` (the evaluation half) or `all`.
pub fn prompt_lines(split: &str) -> Result<Vec<(usize, &'static str)>> {
    let keep: fn(usize) -> bool = match split {
        "even" => |i| i % 2 == 0,
        "odd" => |i| i % 2 == 1,
        "all" => |_| true,
        s => {
            return Err(crate::Error::InvalidParams(format!(
                "--split {s:?}: expected even, odd or all"
            )))
        }
    };
    Ok(PROMPTS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .collect())
}

/// The system prompt a cheat generates under in the "other system prompt" cases.
pub const OTHER_SYSTEM: &str = "You are a concise assistant. Answer briefly and plainly.";

/// What a case must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Every item must pass.
    Pass,
    /// Every item must fail.
    Fail,
    /// At least `min_percent` of the items must fail: a cheat only partly separable from honest
    /// noise on this model, held at its measured level (docs/detection.md).
    Detect {
        /// Smallest share of items caught, in percent.
        min_percent: u8,
    },
    /// Reported only (the boundary of what can be seen).
    Report,
}

impl Expect {
    /// The "must" column.
    pub fn label(&self) -> String {
        match self {
            Self::Pass => "pass".into(),
            Self::Fail => "fail".into(),
            Self::Detect { min_percent } => format!("fail >= {min_percent}%"),
            Self::Report => "report".into(),
        }
    }
}

/// Settings of one matrix run.
#[derive(Debug, Clone)]
pub struct MatrixConfig {
    /// User prompts (even index: calibration, odd: evaluation).
    pub prompts: Vec<String>,
    /// Tokens generated per item.
    pub max_new_tokens: usize,
    /// Also run the report-only boundary cases.
    pub boundary: bool,
    /// Tokens of the extra honest seeded-sampling records per evaluation prompt (0: none),
    /// validated through every honest path to bound the false-positive rate.
    pub long_honest_tokens: usize,
    /// Nucleus masses of the long sampled records (one set of records per value, T = 0.7).
    pub long_top_p: Vec<f32>,
    /// Added to the prompt index to seed each long sampled record (another offset gives other
    /// sequences, for more distinct honest chunks).
    pub long_seed_offset: u64,
    /// Only the honest cases (calibration, greedy and sampled false-positive rows); no cheats.
    pub honest_only: bool,
    /// Records per packed validation batch.
    pub batch: usize,
    /// Judge every row at these limits (a task's calibrated TOPLOC thresholds and token margin)
    /// instead of the matrix's own rule, with each case's expectation at calibrated limits
    /// ([`CaseSpec::expect_at`]). The rule's limits are still computed and reported.
    pub limits: Option<(Thresholds, f32)>,
}

/// Figures of one item of one case.
#[derive(Debug, Clone)]
pub struct Item {
    /// Figures of each decode chunk.
    pub decode: Vec<ChunkResult>,
    /// Figures of the prefill chunk.
    pub prefill: ChunkResult,
    /// Largest token gap (logits) and its position.
    pub max_gap: (f32, usize),
    /// Whether TOPLOC passed under the calibrated thresholds.
    pub toploc_pass: bool,
    /// Whether the token check passed under the calibrated margin.
    pub token_pass: bool,
    /// Decode chunks failing TOPLOC.
    pub failing_chunks: usize,
}

impl Item {
    /// Both checks passed.
    pub fn passed(&self) -> bool {
        self.toploc_pass && self.token_pass
    }
}

/// One row of the matrix.
#[derive(Debug, Clone)]
pub struct Case {
    /// Short name.
    pub name: String,
    /// What it must do.
    pub expect: Expect,
    /// Items, in evaluation order.
    pub items: Vec<Item>,
}

impl Case {
    /// Items passing TOPLOC alone / the token check alone / both.
    pub fn passes(&self) -> (usize, usize, usize) {
        let t = self.items.iter().filter(|i| i.toploc_pass).count();
        let k = self.items.iter().filter(|i| i.token_pass).count();
        let b = self.items.iter().filter(|i| i.passed()).count();
        (t, k, b)
    }

    /// Whether the case met its expectation with both checks combined.
    pub fn ok(&self) -> bool {
        let (_, _, b) = self.passes();
        let n = self.items.len();
        match self.expect {
            Expect::Pass => b == n,
            Expect::Fail => b == 0,
            Expect::Detect { min_percent } => (n - b) * 100 >= usize::from(min_percent) * n,
            Expect::Report => true,
        }
    }
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct MatrixReport {
    /// Calibrated TOPLOC thresholds.
    pub thresholds: Thresholds,
    /// Calibrated token margin (logits).
    pub token_margin: f32,
    /// Honest calibration maxima: exponent mismatches, mantissa mean, mantissa median, gap.
    pub calibration_max: (usize, f64, f64, f32),
    /// Calibration chunks and tokens seen.
    pub calibration_size: (usize, usize),
    /// Index in the prompt set of each evaluation item (the items of every case are in this
    /// order).
    pub eval_prompts: Vec<usize>,
    /// The cases, honest first.
    pub cases: Vec<Case>,
    /// Whether `thresholds` and `token_margin` were given (a task's calibration,
    /// [`MatrixConfig::limits`]) rather than fixed by the rule.
    pub limits_given: bool,
}

/// The calibration rule, fixed before any cheat is scored: with `M` the largest value seen on
/// honest calibration chunks (prefill and decode, every honest validator path),
/// - mantissa mean limit = 1.5 M(mean), mantissa median limit = 1.5 M(median) + 1,
/// - exponent matches >= topk - ceil(1.5 M(mismatches) + 2),
/// - token margin = 1.5 M(gap) + 0.05 logits.
pub fn calibrate(evidence: &[Evidence], topk: usize) -> (Thresholds, f32, (usize, f64, f64, f32)) {
    let mut m = (0usize, 0f64, 0f64, 0f32);
    for e in evidence {
        for r in e.chunks.iter().filter_map(|c| c.result) {
            m.0 = m.0.max(r.exp_mismatches);
            m.1 = m.1.max(r.mant_err_mean);
            m.2 = m.2.max(r.mant_err_median);
        }
        m.3 = e.gaps.iter().copied().fold(m.3, f32::max);
    }
    let allowed = (1.5 * m.0 as f64 + 2.0).ceil() as usize;
    let t = Thresholds {
        max_mant_err_mean: 1.5 * m.1,
        max_mant_err_median: 1.5 * m.2 + 1.0,
        min_exp_matches: topk.saturating_sub(allowed),
    };
    (t, 1.5 * m.3 + 0.05, m)
}

fn item(e: &Evidence, t: &Thresholds, margin: f32) -> Item {
    let o = e.judge(t, margin);
    let results: Vec<ChunkResult> = e.chunks.iter().filter_map(|c| c.result).collect();
    let (g, p) =
        e.gaps.iter().enumerate().fold(
            (0f32, 0usize),
            |acc, (i, &g)| if g > acc.0 { (g, i) } else { acc },
        );
    Item {
        prefill: results[0],
        decode: results[1..].to_vec(),
        max_gap: (g, p),
        toploc_pass: o.toploc_passed(),
        token_pass: o.tokens_passed(),
        failing_chunks: o
            .toploc
            .chunks
            .iter()
            .skip(1)
            .filter(|c| !c.passed())
            .count(),
    }
}

/// Standard normal values from a counter-based generator (reproducible noise and random models).
fn normal(n: usize, seed: u64) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let a = crate::sampling::gumbel(seed, i as u64, 0);
            let b = crate::sampling::gumbel(seed, i as u64, 1);
            // Difference of two Gumbels is logistic; scale to unit variance (pi/sqrt(3)).
            (a - b) * 0.551_328_9
        })
        .collect()
}

/// The weights a cheat generates with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Weights {
    /// The committed (quantized) weights.
    Committed,
    /// The committed weights re-quantized to another GGML type.
    Requantized(GgmlDType),
    /// Random weights of the same shapes (normal, standard deviation 0.02).
    Random {
        /// Noise seed.
        seed: u64,
    },
    /// The committed weights, dense, times `1 + rel * N(0, 1)` per element.
    Noisy {
        /// Relative noise.
        rel: f32,
        /// Noise seed.
        seed: u64,
    },
    /// The committed weights in f16 (weights and matmul activations).
    DenseF16,
}

impl Weights {
    /// The model these weights make from `committed`. Changed weights get a derived hash, never
    /// the committed one (a cheat claims the committed hash separately); `Committed` and
    /// `DenseF16` (the same weights in another format) keep the committed hash.
    pub fn build(&self, committed: &Llama) -> Result<Llama> {
        let mut k = 0;
        match *self {
            Self::Committed => Ok(committed.clone()),
            Self::Requantized(dtype) => committed.derive(
                WeightFormat::Quantized,
                committed.hash().derived(&format!("{dtype:?}")),
                |_, w| Ok(DerivedWeight::Quantized(QTensor::quantize(&w, dtype)?)),
            ),
            Self::Random { seed } => committed.derive(
                WeightFormat::DenseF32,
                committed.hash().derived("random"),
                |_, w| {
                    k += 1;
                    let n =
                        Tensor::from_vec(normal(w.elem_count(), seed + k), w.shape(), w.device())?;
                    Ok(DerivedWeight::Dense((n * 0.02)?.to_dtype(DType::F32)?))
                },
            ),
            Self::Noisy { rel, seed } => committed.derive(
                WeightFormat::DenseF32,
                committed.hash().derived(&format!("noise {rel}")),
                |_, w| {
                    k += 1;
                    let n =
                        Tensor::from_vec(normal(w.elem_count(), seed + k), w.shape(), w.device())?;
                    Ok(DerivedWeight::Dense((&w + (w.mul(&n)? * rel as f64)?)?))
                },
            ),
            Self::DenseF16 => committed.with_format(WeightFormat::DenseF16),
        }
    }
}

/// The prompt a cheat actually generates from (it always claims the task's prompt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptVariant {
    /// The claimed prompt itself.
    Claimed,
    /// The user message under [`OTHER_SYSTEM`].
    OtherSystem,
    /// The user message without its first sentence ([`drop_first_sentence`]).
    FirstSentenceDropped,
}

/// How a case's records are made on the evaluation half.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Recipe {
    /// Generated with `weights` from `prompt` with KV cache `kv`. With `disguise` the record
    /// claims the committed hash and the claimed prompt, with an honest prefill proof for it (the
    /// prefill is cheap, so detection has to come from the decode chunks and the tokens).
    Generated {
        /// Weights.
        weights: Weights,
        /// Prompt actually used.
        prompt: PromptVariant,
        /// KV cache storage.
        kv: KvCacheMode,
        /// Claim the committed model and prompt.
        disguise: bool,
    },
    /// The tokens of that generation (greedy, full cache) with every proof rebuilt by one prefill
    /// of the committed model over the claimed prompt: TOPLOC cannot see it, the token check can.
    Cheap {
        /// Weights.
        weights: Weights,
        /// Prompt actually used.
        prompt: PromptVariant,
    },
    /// The next evaluation item's honest output, claimed for this prompt.
    OtherPromptsOutput,
    /// One output token replaced mid-sequence (by the next item's token there).
    TokenChanged,
    /// The next item's first `n` output tokens appended, proofs rebuilt by prefill.
    Appended(usize),
}

/// One row of the matrix: a cheat and what it must do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseSpec {
    /// Row name.
    pub name: &'static str,
    /// What it must do.
    pub expect: Expect,
    /// How its records are made.
    pub recipe: Recipe,
    /// Run only with [`MatrixConfig::boundary`].
    pub boundary: bool,
}

const fn generated(
    name: &'static str,
    expect: Expect,
    weights: Weights,
    prompt: PromptVariant,
    kv: KvCacheMode,
) -> CaseSpec {
    CaseSpec {
        name,
        expect,
        recipe: Recipe::Generated {
            weights,
            prompt,
            kv,
            disguise: true,
        },
        boundary: false,
    }
}

const fn boundary(name: &'static str, weights: Weights, disguise: bool) -> CaseSpec {
    CaseSpec {
        name,
        expect: Expect::Report,
        recipe: Recipe::Generated {
            weights,
            prompt: PromptVariant::Claimed,
            kv: KvCacheMode::Full,
            disguise,
        },
        boundary: true,
    }
}

impl CaseSpec {
    /// What the row must do: at the matrix's own rule (`calibrated` false), [`CaseSpec::expect`];
    /// at a task's calibrated limits (docs/detection.md, "At the calibrated limits"), the
    /// separable cheats (another model, another prompt's output, changed or appended tokens,
    /// cheap generation by a cheaper model) must still fail every item, while the near-honest
    /// ones (generation under another system prompt or with the first sentence dropped, their
    /// cheap variants, KV-cache precision), whose full-matrix ranges straddle the wider
    /// calibrated limits, are reported only.
    pub fn expect_at(&self, calibrated: bool) -> Expect {
        if !calibrated {
            return self.expect;
        }
        let near_honest = match &self.recipe {
            Recipe::Generated { prompt, kv, .. } => {
                !matches!(prompt, PromptVariant::Claimed) || !matches!(kv, KvCacheMode::Full)
            }
            Recipe::Cheap { prompt, .. } => !matches!(prompt, PromptVariant::Claimed),
            _ => false,
        };
        match self.expect {
            Expect::Pass => Expect::Pass,
            Expect::Fail if !near_honest => Expect::Fail,
            _ => Expect::Report,
        }
    }
}

const fn other(name: &'static str, recipe: Recipe) -> CaseSpec {
    CaseSpec {
        name,
        expect: Expect::Fail,
        recipe,
        boundary: false,
    }
}

/// The cheats, in report order. The `Detect` levels and the report-only int8 row are what
/// docs/detection.md measured (full matrix: 49/50, 33/50 and 14/50 caught; int8 0/50).
pub const CASES: &[CaseSpec] = &[
    generated(
        "model swap: Q4_1 -> Q4_0 re-quantized",
        Expect::Fail,
        Weights::Requantized(GgmlDType::Q4_0),
        PromptVariant::Claimed,
        KvCacheMode::Full,
    ),
    generated(
        "model swap: random model, same shape",
        Expect::Fail,
        Weights::Random { seed: 7 },
        PromptVariant::Claimed,
        KvCacheMode::Full,
    ),
    generated(
        "prompt: generated under another system prompt",
        Expect::Detect { min_percent: 95 },
        Weights::Committed,
        PromptVariant::OtherSystem,
        KvCacheMode::Full,
    ),
    generated(
        "prompt: first sentence removed",
        Expect::Fail,
        Weights::Committed,
        PromptVariant::FirstSentenceDropped,
        KvCacheMode::Full,
    ),
    other(
        "prompt: output attributed to another prompt",
        Recipe::OtherPromptsOutput,
    ),
    other(
        "output: one token changed mid-sequence",
        Recipe::TokenChanged,
    ),
    other(
        "output: 8 tokens appended (proofs rebuilt by prefill)",
        Recipe::Appended(8),
    ),
    other(
        "cheap generation: Q4_0 tokens, proofs by committed prefill",
        Recipe::Cheap {
            weights: Weights::Requantized(GgmlDType::Q4_0),
            prompt: PromptVariant::Claimed,
        },
    ),
    CaseSpec {
        name: "cheap generation: other-system-prompt tokens, proofs by prefill",
        expect: Expect::Detect { min_percent: 60 },
        recipe: Recipe::Cheap {
            weights: Weights::Committed,
            prompt: PromptVariant::OtherSystem,
        },
        boundary: false,
    },
    generated(
        "precision: KV cache int8 per token+head (absmax scale)",
        Expect::Report,
        Weights::Committed,
        PromptVariant::Claimed,
        KvCacheMode::Int8PerToken,
    ),
    generated(
        "precision: KV cache fp8 e4m3 (no scale)",
        Expect::Detect { min_percent: 10 },
        Weights::Committed,
        PromptVariant::Claimed,
        KvCacheMode::Fp8E4M3,
    ),
    boundary(
        "boundary: weights + 1% relative noise",
        Weights::Noisy {
            rel: 0.01,
            seed: 99,
        },
        true,
    ),
    boundary(
        "boundary: weights + 0.1% relative noise",
        Weights::Noisy {
            rel: 0.001,
            seed: 99,
        },
        true,
    ),
    boundary(
        "boundary: Q4_1 -> Q8_0 re-quantized",
        Weights::Requantized(GgmlDType::Q8_0),
        true,
    ),
    boundary(
        "boundary: f16 weights and matmul activations",
        Weights::DenseF16,
        false,
    ),
];

/// Drops the first sentence of a prompt (up to and including the first ". ").
pub fn drop_first_sentence(p: &str) -> String {
    match p.find(". ") {
        Some(i) => p[i + 2..].to_string(),
        None => p.to_string(),
    }
}

/// Runs the matrix on the committed model `gen` (quantized) with its tokenizer.
pub fn run_matrix(gen: &Llama, tok: &ModelTokenizer, cfg: &MatrixConfig) -> Result<MatrixReport> {
    let params = ProofParams::paper_defaults();
    let dense = gen.with_format(WeightFormat::DenseF32)?;
    let mut v = Validator::new(
        dense,
        params,
        Thresholds::paper_defaults(params.topk()),
        1.0,
    );
    let opts = GenerateOptions::greedy(cfg.max_new_tokens);
    let gen2 = |m: &Llama, p: &[u32], o: &GenerateOptions| with_threads(2, || generate(m, p, o))?;

    let claimed: Vec<Vec<u32>> = cfg
        .prompts
        .iter()
        .map(|p| tok.encode_chat(None, p))
        .collect::<Result<_>>()?;
    let cal: Vec<usize> = (0..claimed.len()).step_by(2).collect();
    let eval: Vec<usize> = (1..claimed.len()).step_by(2).collect();

    // Honest generations for every prompt.
    let mut honest: Vec<Option<Record>> = vec![None; claimed.len()];
    for (n, &i) in cal.iter().chain(&eval).enumerate() {
        tracing::info!("honest generation {}/{}", n + 1, claimed.len());
        honest[i] = Some(gen2(gen, &claimed[i], &opts)?);
    }
    let rec = |i: usize| honest[i].as_ref().expect("generated above");

    // The honest validator paths.
    let paths = |v: &Validator,
                 idx: &[usize],
                 recs: &dyn Fn(usize) -> Record|
     -> Result<[Vec<Evidence>; 3]> {
        let owned: Vec<Record> = idx.iter().map(|&i| recs(i)).collect();
        let tokens: usize = owned.iter().map(|r| r.prompt.len() + r.output.len()).sum();
        tracing::info!(
            records = owned.len(),
            tokens,
            "validating: dense f32, 1 thread, one sequence (path 1/3)"
        );
        let a = with_threads(1, || {
            owned
                .iter()
                .map(|r| v.recompute(r))
                .collect::<Result<Vec<_>>>()
        })??;
        tracing::info!("validating: dense f32, 2 threads, one sequence (path 2/3)");
        let c = with_threads(2, || {
            owned
                .iter()
                .map(|r| v.recompute(r))
                .collect::<Result<Vec<_>>>()
        })??;
        tracing::info!("validating: dense f32, 2 threads, packed batch (path 3/3)");
        let mut b = Vec::new();
        for group in owned.chunks(cfg.batch.max(1)) {
            let refs: Vec<&Record> = group.iter().collect();
            b.extend(with_threads(2, || v.recompute_batch(&refs))??);
        }
        Ok([a, b, c])
    };
    let honest_names = [
        "honest: dense f32, 1 thread, one sequence",
        "honest: dense f32, 2 threads, packed batch",
        "honest: dense f32, 2 threads, one sequence",
    ];

    // 1. Calibrate on the calibration half only.
    let cal_ev = paths(&v, &cal, &|i| rec(i).clone())?;
    let all: Vec<Evidence> = cal_ev.iter().flatten().cloned().collect();
    let (rule_thresholds, rule_margin, cmax) = calibrate(&all, params.topk());
    let (thresholds, margin) = cfg.limits.unwrap_or((rule_thresholds, rule_margin));
    let calibration_size = (
        all.iter().map(|e| e.chunks.len()).sum(),
        all.iter().map(|e| e.gaps.len()).sum(),
    );
    v.set_limits(thresholds, margin);
    tracing::info!(
        ?rule_thresholds,
        rule_margin,
        ?thresholds,
        margin,
        given = cfg.limits.is_some(),
        "limits"
    );
    let eval_prompts = eval.clone();
    let report = move |cases| MatrixReport {
        thresholds,
        token_margin: margin,
        calibration_max: cmax,
        calibration_size,
        eval_prompts,
        cases,
        limits_given: cfg.limits.is_some(),
    };

    // 2. Score the evaluation half.
    let mut cases = Vec::new();
    let mut push = |name: &str, expect: Expect, ev: &[Evidence]| {
        cases.push(Case {
            name: name.to_string(),
            expect,
            items: ev.iter().map(|e| item(e, &thresholds, margin)).collect(),
        });
    };
    let eval_ev = paths(&v, &eval, &|i| rec(i).clone())?;
    for (name, ev) in honest_names.iter().zip(&eval_ev) {
        push(name, Expect::Pass, ev);
    }
    for &top_p in cfg.long_top_p.iter().filter(|_| cfg.long_honest_tokens > 0) {
        let mut long = Vec::new();
        for (n, &i) in eval.iter().enumerate() {
            tracing::info!(
                top_p,
                "long honest sampled generation {}/{}",
                n + 1,
                eval.len()
            );
            let o = GenerateOptions {
                sampling: Sampling::Seeded {
                    seed: i as u64 + cfg.long_seed_offset,
                    temperature: 0.7,
                    top_p,
                },
                ..GenerateOptions::greedy(cfg.long_honest_tokens)
            };
            long.push(gen2(gen, &claimed[i], &o)?);
        }
        let ev = paths(&v, &(0..long.len()).collect::<Vec<_>>(), &|i| {
            long[i].clone()
        })?;
        for (name, ev) in honest_names.iter().zip(&ev) {
            push(
                &format!(
                    "{name}, seeded sampling T=0.7 p={top_p}, {} tokens",
                    cfg.long_honest_tokens
                ),
                Expect::Pass,
                ev,
            );
        }
    }
    if cfg.honest_only {
        return Ok(report(cases));
    }
    let check = |recs: &[Record]| -> Result<Vec<Evidence>> {
        with_threads(2, || recs.iter().map(|r| v.recompute(r)).collect())?
    };
    let committed = gen.hash();
    let vocab = gen.config().vocab_size as u32;
    let prompt_of = |variant: PromptVariant, i: usize| -> Result<Vec<u32>> {
        match variant {
            PromptVariant::Claimed => Ok(claimed[i].clone()),
            PromptVariant::OtherSystem => tok.encode_chat(Some(OTHER_SYSTEM), &cfg.prompts[i]),
            PromptVariant::FirstSentenceDropped => {
                tok.encode_chat(None, &drop_first_sentence(&cfg.prompts[i]))
            }
        }
    };
    // Generations on the evaluation half, made once per (weights, prompt, KV cache) and shared
    // by the cases that use them (a model swap and its cheap variant).
    let mut made: Vec<((Weights, PromptVariant, KvCacheMode), Vec<Record>)> = Vec::new();
    let mut generations =
        |weights: Weights, prompt: PromptVariant, kv: KvCacheMode| -> Result<Vec<Record>> {
            if let Some((_, recs)) = made.iter().find(|(k, _)| *k == (weights, prompt, kv)) {
                return Ok(recs.clone());
            }
            let m = weights.build(gen)?;
            let o = GenerateOptions {
                kv_cache: kv,
                ..opts
            };
            let recs = eval
                .iter()
                .map(|&i| gen2(&m, &prompt_of(prompt, i)?, &o))
                .collect::<Result<Vec<_>>>()?;
            made.push(((weights, prompt, kv), recs.clone()));
            Ok(recs)
        };
    // Proofs of `output` by one prefill of the committed model over `prompt`.
    let prefill = |prompt: &[u32], output: &[u32]| {
        with_threads(2, || prove_by_prefill(gen, prompt, output, params))?
    };
    let next = |n: usize| rec(eval[(n + 1) % eval.len()]);
    for case in CASES.iter().filter(|c| cfg.boundary || !c.boundary) {
        tracing::info!("case: {}", case.name);
        let recs: Vec<Record> = match case.recipe {
            Recipe::Generated {
                weights,
                prompt,
                kv,
                disguise,
            } => {
                let recs = generations(weights, prompt, kv)?;
                if !disguise {
                    recs
                } else {
                    recs.into_iter()
                        .zip(&eval)
                        .map(|(mut r, &i)| {
                            r.proofs[0] = prefill(&claimed[i], &r.output)?.swap_remove(0);
                            r.prompt = claimed[i].clone();
                            r.model_hash = committed;
                            Ok(r)
                        })
                        .collect::<Result<_>>()?
                }
            }
            Recipe::Cheap { weights, prompt } => generations(weights, prompt, KvCacheMode::Full)?
                .into_iter()
                .zip(&eval)
                .map(|(t, &i)| {
                    Ok(Record {
                        proofs: prefill(&claimed[i], &t.output)?,
                        prompt: claimed[i].clone(),
                        model_hash: committed,
                        ..t
                    })
                })
                .collect::<Result<_>>()?,
            Recipe::OtherPromptsOutput => eval
                .iter()
                .enumerate()
                .map(|(n, &i)| {
                    let mut r = next(n).clone();
                    r.proofs[0] = prefill(&claimed[i], &r.output)?.swap_remove(0);
                    r.prompt = claimed[i].clone();
                    Ok(r)
                })
                .collect::<Result<_>>()?,
            Recipe::TokenChanged => eval
                .iter()
                .enumerate()
                .map(|(n, &i)| {
                    let mut r = rec(i).clone();
                    let mid = r.output.len() / 2;
                    let donor = &next(n).output;
                    let mut t = donor[mid.min(donor.len() - 1)];
                    if t == r.output[mid] {
                        t = (t + 1) % vocab;
                    }
                    r.output[mid] = t;
                    r
                })
                .collect(),
            Recipe::Appended(k) => eval
                .iter()
                .enumerate()
                .map(|(n, &i)| {
                    let mut r = rec(i).clone();
                    let donor = &next(n).output;
                    r.output.extend_from_slice(&donor[..k.min(donor.len())]);
                    r.proofs = prefill(&r.prompt, &r.output)?;
                    Ok(r)
                })
                .collect::<Result<_>>()?,
        };
        push(
            case.name,
            case.expect_at(cfg.limits.is_some()),
            &check(&recs)?,
        );
    }

    Ok(report(cases))
}

fn dist<T: Copy + PartialOrd>(mut v: Vec<T>) -> Option<(T, T, T)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Some((v[0], v[v.len() / 2], v[v.len() - 1]))
}

impl MatrixReport {
    /// Whether every must-case met its expectation with both checks combined.
    pub fn all_ok(&self) -> bool {
        self.cases.iter().all(Case::ok)
    }

    /// The report as Markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let t = &self.thresholds;
        let _ = writeln!(
            s,
            "Calibration ({} honest chunks, {} honest tokens; maxima: exp. mismatches {}, mantissa mean {:.2}, median {:.0}, token gap {:.3}); \
             {}: mantissa mean <= {:.2}, median <= {:.1}, exponent matches >= {}/128, token margin {:.3} logits.\n",
            self.calibration_size.0,
            self.calibration_size.1,
            self.calibration_max.0,
            self.calibration_max.1,
            self.calibration_max.2,
            self.calibration_max.3,
            if self.limits_given {
                "judged at the given limits (a task's calibration)"
            } else {
                "the matrix's rule fixed"
            },
            t.max_mant_err_mean,
            t.max_mant_err_median,
            t.min_exp_matches,
            self.token_margin
        );
        let _ = writeln!(
            s,
            "Evaluation: {} prompts (disjoint from calibration).\n",
            self.eval_prompts.len()
        );
        let _ = writeln!(
            s,
            "| case | must | items passing TOPLOC alone | passing token check alone | passing both | verdict | decode chunks failing TOPLOC | exp. mismatches min/med/max | mantissa mean min/med/max | mantissa median min/med/max | per-item max token gap min/med/max |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
        for c in &self.cases {
            let n = c.items.len();
            let (tp, kp, bp) = c.passes();
            let chunks: Vec<&ChunkResult> = c.items.iter().flat_map(|i| &i.decode).collect();
            let failing: usize = c.items.iter().map(|i| i.failing_chunks).sum();
            let e = dist(chunks.iter().map(|r| r.exp_mismatches).collect());
            let mm = dist(chunks.iter().map(|r| r.mant_err_mean).collect());
            let md = dist(chunks.iter().map(|r| r.mant_err_median).collect());
            let g = dist(c.items.iter().map(|i| i.max_gap.0).collect());
            let must = c.expect.label();
            let verdict = match (c.expect, c.ok()) {
                (Expect::Report, _) => "-",
                (_, true) => "OK",
                (_, false) => "MISSED",
            };
            let f = |x: f64| {
                if x >= verbench_toploc::NO_MATCH_SENTINEL {
                    "none".to_string()
                } else {
                    format!("{x:.2}")
                }
            };
            let f3 = |d: Option<(f64, f64, f64)>| {
                d.map_or("-".into(), |(a, b, c)| {
                    format!("{}/{}/{}", f(a), f(b), f(c))
                })
            };
            let _ = writeln!(
                s,
                "| {} | {must} | {tp}/{n} | {kp}/{n} | {bp}/{n} | {verdict} | {failing}/{} | {} | {} | {} | {} |",
                c.name,
                chunks.len(),
                e.map_or("-".into(), |(a, b, c)| format!("{a}/{b}/{c}")),
                f3(mm),
                f3(md),
                g.map_or("-".into(), |(a, b, c)| format!("{a:.3}/{b:.3}/{c:.3}")),
            );
        }
        let honest: Vec<&Case> = self
            .cases
            .iter()
            .filter(|c| c.expect == Expect::Pass)
            .collect();
        let chunks: usize = honest
            .iter()
            .flat_map(|c| &c.items)
            .map(|i| i.decode.len() + 1)
            .sum();
        let fp: usize = honest
            .iter()
            .flat_map(|c| &c.items)
            .map(|i| i.failing_chunks + usize::from(!i.token_pass))
            .sum();
        let _ = writeln!(
            s,
            "\nHonest chunks checked on the evaluation half (all honest paths): {chunks}, chunks or token checks failing: {fp}{}.",
            if fp == 0 && chunks > 0 { format!(" (95% upper bound on the per-chunk false-positive rate: {:.2}%)", 300.0 / chunks as f64) } else { String::new() }
        );
        for c in &honest {
            for (n, i) in c.items.iter().enumerate().filter(|(_, i)| !i.passed()) {
                let prompt = self
                    .eval_prompts
                    .get(n)
                    .map_or("?".to_string(), |p| p.to_string());
                let _ = writeln!(
                    s,
                    "- honest item failing, {}: prompt #{prompt} (evaluation item {n}); TOPLOC {}, {} decode chunks failing; largest token gap {:.3} at output position {} (margin {:.3})",
                    c.name,
                    if i.toploc_pass { "passed" } else { "failed" },
                    i.failing_chunks,
                    i.max_gap.0,
                    i.max_gap.1,
                    self.token_margin
                );
            }
        }
        s
    }
}

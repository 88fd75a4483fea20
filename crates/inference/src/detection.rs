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

/// The system prompt a cheat generates under in the "other system prompt" cases.
pub const OTHER_SYSTEM: &str = "You are a concise assistant. Answer briefly and plainly.";

/// What a case must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Every item must pass.
    Pass,
    /// Every item must fail.
    Fail,
    /// Reported only (the boundary of what can be seen).
    Report,
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
        match self.expect {
            Expect::Pass => b == self.items.len(),
            Expect::Fail => b == 0,
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

fn noisy(model: &Llama, rel: f32, seed: u64) -> Result<Llama> {
    let mut k = 0;
    model.derive(
        WeightFormat::DenseF32,
        model.hash().derived(&format!("noise {rel}")),
        |_, w| {
            k += 1;
            let n = Tensor::from_vec(normal(w.elem_count(), seed + k), w.shape(), w.device())?;
            Ok(DerivedWeight::Dense((&w + (w.mul(&n)? * rel as f64)?)?))
        },
    )
}

fn requantized(model: &Llama, dtype: GgmlDType) -> Result<Llama> {
    model.derive(
        WeightFormat::Quantized,
        model.hash().derived(&format!("{dtype:?}")),
        |_, w| Ok(DerivedWeight::Quantized(QTensor::quantize(&w, dtype)?)),
    )
}

fn random_model(model: &Llama, seed: u64) -> Result<Llama> {
    let mut k = 0;
    model.derive(
        WeightFormat::DenseF32,
        model.hash().derived("random"),
        |_, w| {
            k += 1;
            let n = Tensor::from_vec(normal(w.elem_count(), seed + k), w.shape(), w.device())?;
            Ok(DerivedWeight::Dense((n * 0.02)?.to_dtype(DType::F32)?))
        },
    )
}

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
    let (thresholds, margin, cmax) = calibrate(&all, params.topk());
    let calibration_size = (
        all.iter().map(|e| e.chunks.len()).sum(),
        all.iter().map(|e| e.gaps.len()).sum(),
    );
    v.set_limits(thresholds, margin);
    tracing::info!(?thresholds, margin, "calibrated");
    let eval_prompts = eval.clone();
    let report = move |cases| MatrixReport {
        thresholds,
        token_margin: margin,
        calibration_max: cmax,
        calibration_size,
        eval_prompts,
        cases,
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
    // A cheat's record: tokens and decode proofs from its own run, the committed hash, and an
    // honest prefill proof for the claimed prompt.
    // The prefill proof is always recomputed honestly (prefill is cheap), so detection of
    // these cheats has to come from the decode chunks and the tokens.
    let disguise = |mut r: Record, prompt: &[u32]| -> Result<Record> {
        let pre = with_threads(2, || prove_by_prefill(gen, prompt, &r.output, params))??;
        r.proofs[0] = pre[0].clone();
        r.prompt = prompt.to_vec();
        r.model_hash = committed;
        Ok(r)
    };
    let generate_with =
        |m: &Llama,
         prompts: &dyn Fn(usize) -> Vec<u32>,
         o: &GenerateOptions|
         -> Result<Vec<Record>> { eval.iter().map(|&i| gen2(m, &prompts(i), o)).collect() };
    let cheap = |tokens_from: &[Record]| -> Result<Vec<Record>> {
        eval.iter()
            .zip(tokens_from)
            .map(|(&i, t)| {
                let proofs =
                    with_threads(2, || prove_by_prefill(gen, &claimed[i], &t.output, params))??;
                Ok(Record {
                    proofs,
                    prompt: claimed[i].clone(),
                    model_hash: committed,
                    ..t.clone()
                })
            })
            .collect()
    };

    tracing::info!("case: Q4_0 re-quantization");
    let q40 = requantized(gen, GgmlDType::Q4_0)?;
    let q40_recs = generate_with(&q40, &|i| claimed[i].clone(), &opts)?;
    drop(q40);
    let recs: Vec<Record> = q40_recs
        .iter()
        .zip(&eval)
        .map(|(r, &i)| disguise(r.clone(), &claimed[i]))
        .collect::<Result<_>>()?;
    push(
        "model swap: Q4_1 -> Q4_0 re-quantized",
        Expect::Fail,
        &check(&recs)?,
    );

    tracing::info!("case: random model");
    let rnd = random_model(gen, 7)?;
    let recs = generate_with(&rnd, &|i| claimed[i].clone(), &opts)?;
    drop(rnd);
    let recs: Vec<Record> = recs
        .into_iter()
        .zip(&eval)
        .map(|(r, &i)| disguise(r, &claimed[i]))
        .collect::<Result<_>>()?;
    push(
        "model swap: random model, same shape",
        Expect::Fail,
        &check(&recs)?,
    );

    tracing::info!("case: other system prompt");
    let sys_recs = generate_with(
        gen,
        &|i| {
            tok.encode_chat(Some(OTHER_SYSTEM), &cfg.prompts[i])
                .unwrap_or_default()
        },
        &opts,
    )?;
    let recs: Vec<Record> = sys_recs
        .iter()
        .zip(&eval)
        .map(|(r, &i)| disguise(r.clone(), &claimed[i]))
        .collect::<Result<_>>()?;
    push(
        "prompt: generated under another system prompt",
        Expect::Fail,
        &check(&recs)?,
    );

    tracing::info!("case: first sentence removed");
    let recs = generate_with(
        gen,
        &|i| {
            tok.encode_chat(None, &drop_first_sentence(&cfg.prompts[i]))
                .unwrap_or_default()
        },
        &opts,
    )?;
    let recs: Vec<Record> = recs
        .into_iter()
        .zip(&eval)
        .map(|(r, &i)| disguise(r, &claimed[i]))
        .collect::<Result<_>>()?;
    push(
        "prompt: first sentence removed",
        Expect::Fail,
        &check(&recs)?,
    );

    let recs: Vec<Record> = eval
        .iter()
        .enumerate()
        .map(|(n, &i)| disguise(rec(eval[(n + 1) % eval.len()]).clone(), &claimed[i]))
        .collect::<Result<_>>()?;
    push(
        "prompt: output attributed to another prompt",
        Expect::Fail,
        &check(&recs)?,
    );

    let recs: Vec<Record> = eval
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let mut r = rec(i).clone();
            let mid = r.output.len() / 2;
            let donor = &rec(eval[(n + 1) % eval.len()]).output;
            let mut t = donor[mid.min(donor.len() - 1)];
            if t == r.output[mid] {
                t = (t + 1) % gen.config().vocab_size as u32;
            }
            r.output[mid] = t;
            r
        })
        .collect();
    push(
        "output: one token changed mid-sequence",
        Expect::Fail,
        &check(&recs)?,
    );

    let recs: Vec<Record> = eval
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let mut r = rec(i).clone();
            let donor = &rec(eval[(n + 1) % eval.len()]).output;
            r.output.extend_from_slice(&donor[..8.min(donor.len())]);
            r.proofs = with_threads(2, || prove_by_prefill(gen, &r.prompt, &r.output, params))??;
            Ok(r)
        })
        .collect::<Result<_>>()?;
    push(
        "output: 8 tokens appended (proofs rebuilt by prefill)",
        Expect::Fail,
        &check(&recs)?,
    );

    push(
        "cheap generation: Q4_0 tokens, proofs by committed prefill",
        Expect::Fail,
        &check(&cheap(&q40_recs)?)?,
    );
    push(
        "cheap generation: other-system-prompt tokens, proofs by prefill",
        Expect::Fail,
        &check(&cheap(&sys_recs)?)?,
    );

    tracing::info!("case: int8 KV cache");
    let kv8 = GenerateOptions {
        kv_cache: KvCacheMode::Int8PerToken,
        ..opts
    };
    let recs = generate_with(gen, &|i| claimed[i].clone(), &kv8)?;
    let recs: Vec<Record> = recs
        .into_iter()
        .zip(&eval)
        .map(|(r, &i)| disguise(r, &claimed[i]))
        .collect::<Result<_>>()?;
    push(
        "precision: KV cache int8 per token+head (absmax scale)",
        Expect::Fail,
        &check(&recs)?,
    );
    tracing::info!("case: fp8 KV cache");
    let fp8 = GenerateOptions {
        kv_cache: KvCacheMode::Fp8E4M3,
        ..opts
    };
    let recs = generate_with(gen, &|i| claimed[i].clone(), &fp8)?;
    let recs: Vec<Record> = recs
        .into_iter()
        .zip(&eval)
        .map(|(r, &i)| disguise(r, &claimed[i]))
        .collect::<Result<_>>()?;
    push(
        "precision: KV cache fp8 e4m3 (no scale)",
        Expect::Fail,
        &check(&recs)?,
    );

    if cfg.boundary {
        for (rel, name) in [
            (0.01f32, "boundary: weights + 1% relative noise"),
            (0.001, "boundary: weights + 0.1% relative noise"),
        ] {
            tracing::info!("case: {name}");
            let m = noisy(gen, rel, 99)?;
            let recs = generate_with(&m, &|i| claimed[i].clone(), &opts)?;
            drop(m);
            let recs: Vec<Record> = recs
                .into_iter()
                .zip(&eval)
                .map(|(r, &i)| disguise(r, &claimed[i]))
                .collect::<Result<_>>()?;
            push(name, Expect::Report, &check(&recs)?);
        }
        tracing::info!("case: Q8_0");
        let m = requantized(gen, GgmlDType::Q8_0)?;
        let recs = generate_with(&m, &|i| claimed[i].clone(), &opts)?;
        drop(m);
        let recs: Vec<Record> = recs
            .into_iter()
            .zip(&eval)
            .map(|(r, &i)| disguise(r, &claimed[i]))
            .collect::<Result<_>>()?;
        push(
            "boundary: Q4_1 -> Q8_0 re-quantized",
            Expect::Report,
            &check(&recs)?,
        );
        tracing::info!("case: f16");
        let m = gen.with_format(WeightFormat::DenseF16)?;
        let recs = generate_with(&m, &|i| claimed[i].clone(), &opts)?;
        drop(m);
        push(
            "boundary: f16 weights and matmul activations",
            Expect::Report,
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
            "Calibration ({} honest chunks, {} honest tokens; maxima: exp. mismatches {}, mantissa mean {:.2}, median {:.0}, token gap {:.3}) \
             fixed: mantissa mean <= {:.2}, median <= {:.1}, exponent matches >= {}/128, token margin {:.3} logits.\n",
            self.calibration_size.0,
            self.calibration_size.1,
            self.calibration_max.0,
            self.calibration_max.1,
            self.calibration_max.2,
            self.calibration_max.3,
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
            let must = match c.expect {
                Expect::Pass => "pass",
                Expect::Fail => "fail",
                Expect::Report => "report",
            };
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

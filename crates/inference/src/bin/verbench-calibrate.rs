//! Calibration of a model's limits for a stated false-positive target (`verbench_inference::calibration`).
//!
//! ```text
//! verbench-calibrate trace --split even --tokens 512 --out cal.traces.jsonl      # honest items, resumable
//! verbench-calibrate fit   --traces cal.traces.jsonl --out calibration.json       # limits for the targets
//! verbench-calibrate check --calibration calibration.json --traces heldout.traces.jsonl
//! verbench-calibrate bands --traces cal.traces.jsonl --width 256                  # fits per position band
//! ```
//!
//! `trace` appends one line per honest item and continues where an interrupted run stopped.
#![allow(clippy::print_stdout)] // a report: its output is the point

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
#[cfg(feature = "llamacpp")]
use verbench_inference::calibration::trace_item_with;
use verbench_inference::calibration::{
    self, check, fit, read_traces, trace_item, Calibration, SamplingMode, Targets, Trace,
    TraceFile, TraceHeader,
};
use verbench_inference::detection::{prompt_lines, OTHER_SYSTEM, PROMPTS};
use verbench_inference::{
    device, load, smollm2_path, with_threads, ModelHash, Validator, WeightFormat,
};
use verbench_toploc::ProofParams;

#[derive(Parser)]
#[command(
    name = "verbench-calibrate",
    about = "Calibrate TOPLOC limits and the token margin"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate honest items and measure them against the validator (appends to --out;
    /// resumable: items already in the file are skipped).
    Trace(TraceArgs),
    /// Fit the limits to trace files for the stated targets and write the calibration file.
    Fit(FitArgs),
    /// Judge held-out trace files by a calibration's limits (a check, not a demonstration).
    Check(CheckArgs),
    /// Fit each band of output positions separately (an analysis: would limits that depend on
    /// the position serve this model?); writes no calibration.
    Bands(BandsArgs),
}

#[derive(clap::Args)]
struct TraceArgs {
    /// GGUF model (default: SmolLM2-135M-Instruct Q4_1 from tools/fetch-models.sh).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Which lines of the committed prompt set (crates/inference/data/prompts.txt): `even`
    /// (calibration), `odd` (held out) or `all`.
    #[arg(long, default_value = "even")]
    split: String,
    /// Prompt variants per line: 1 = the model's default system prompt; 2 adds the detection
    /// matrix's other system prompt (more distinct honest items from the same lines).
    #[arg(long, default_value_t = 1)]
    variants: usize,
    /// First variant traced (1 or 2): `--variants 2 --first-variant 2` traces only the other
    /// system prompt's items (to add them to a calibration made with 1 variant).
    #[arg(long, default_value_t = 1)]
    first_variant: usize,
    /// Seeds per (line, variant) for sampled modes (greedy: 1).
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    seed_offset: u64,
    /// Output tokens per item (EOS does not stop an item).
    #[arg(long, default_value_t = 512)]
    tokens: usize,
    /// `greedy` or `t=<temperature>` (seeded Gumbel-max, top-p 1).
    #[arg(long, default_value = "greedy")]
    sampling: SamplingMode,
    /// The validator path measured: `dense` (dense f32 weights: what the bots judge with) or
    /// `quantized` (the generator's own quantized weights and kernels, one prefill; an experiment:
    /// no bot judges with it yet).
    #[arg(long, default_value = "dense")]
    validator: String,
    /// Stop after this many new items (the run continues later).
    #[arg(long)]
    max_items: Option<usize>,
    /// Trace file (JSON lines; created, or continued when it exists).
    #[arg(long)]
    out: PathBuf,
    /// The generator engine measured: `candle`, or `llamacpp` (builds with the `llamacpp`
    /// feature, tools/build-llamacpp.sh). The engine is part of the calibration's key.
    #[arg(long, default_value = "candle")]
    engine: String,
}

/// The stated false-positive targets.
#[derive(clap::Args)]
struct TargetArgs {
    /// Target: probability that an honest item of --item-tokens tokens fails the token check.
    #[arg(long, default_value_t = 1e-4)]
    token_fp_per_item: f64,
    /// Item length the token target refers to.
    #[arg(long, default_value_t = 1024)]
    item_tokens: u32,
    /// Target: probability that an honest TOPLOC chunk fails.
    #[arg(long, default_value_t = 1e-6)]
    chunk_fp: f64,
}

impl TargetArgs {
    fn targets(&self, fit_confidence: Option<f64>) -> Targets {
        Targets {
            token_fp_per_item: self.token_fp_per_item,
            item_tokens: self.item_tokens,
            chunk_fp: self.chunk_fp,
            fit_confidence,
        }
    }
}

#[derive(clap::Args)]
struct FitArgs {
    /// Trace files (same key).
    #[arg(long, required = true)]
    traces: Vec<PathBuf>,
    #[command(flatten)]
    targets: TargetArgs,
    /// Each limit is at least this quantile of the limits fitted to bootstrap resamples of the
    /// items (the fit's sampling uncertainty); 0: the point fit alone.
    #[arg(long, default_value_t = calibration::DEFAULT_FIT_CONFIDENCE)]
    confidence: f64,
    /// The longest items (output tokens) the calibration may judge: `register-task` refuses
    /// longer ones. For a model whose honest noise grows along the sequence past the fitted items.
    #[arg(long)]
    max_item_tokens: Option<u32>,
    /// Calibration file to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct BandsArgs {
    /// Trace files (same key).
    #[arg(long, required = true)]
    traces: Vec<PathBuf>,
    /// Output positions per band.
    #[arg(long, default_value_t = 256)]
    width: usize,
    #[command(flatten)]
    targets: TargetArgs,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The calibration file.
    #[arg(long)]
    calibration: PathBuf,
    /// Held-out trace files (same key as the calibration, items not fitted on).
    #[arg(long, required = true)]
    traces: Vec<PathBuf>,
    /// Also write the report as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The traces may come from another generator engine than the calibration's (same model,
    /// sampling, proof parameters and validator path): a cross-engine check of these limits,
    /// for example llama.cpp records judged by the limits a task carries.
    #[arg(long)]
    other_engine: bool,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Trace(a) => trace(a),
        Command::Fit(a) => fit_cmd(a),
        Command::Check(a) => check_cmd(a),
        Command::Bands(a) => bands_cmd(a),
    }
}

fn trace(a: TraceArgs) -> anyhow::Result<()> {
    let lines = prompt_lines(&a.split)?;
    if !(1..=2).contains(&a.variants) {
        bail!("--variants must be 1 or 2");
    }
    if !(1..=a.variants).contains(&a.first_variant) {
        bail!("--first-variant must be between 1 and --variants");
    }
    if a.tokens == 0 {
        bail!("--tokens must be > 0");
    }
    let seeds = match a.sampling {
        SamplingMode::Greedy if a.seeds != 1 => {
            bail!("greedy decoding is deterministic: --seeds must be 1")
        }
        _ if a.seeds == 0 => bail!("--seeds must be >= 1"),
        _ => a.seeds,
    };
    let path = a.model.clone().unwrap_or_else(smollm2_path);
    let dev = device();
    eprintln!(
        "loading {} (quantized generator, dense f32 validator)",
        path.display()
    );
    let m = load(&path, WeightFormat::Quantized, &dev)
        .with_context(|| format!("loading {}", path.display()))?;
    let params = ProofParams::paper_defaults();
    let (validator_model, validator_path) = match a.validator.as_str() {
        "dense" => (
            m.model.with_format(WeightFormat::DenseF32)?,
            calibration::CANDLE_DENSE_VALIDATOR,
        ),
        "quantized" => (m.model.clone(), calibration::CANDLE_QUANTIZED_VALIDATOR),
        v => bail!("--validator {v:?}: expected dense or quantized"),
    };
    // The validator's own limits do not matter here: traces keep the raw figures.
    let validator = Validator::new(
        validator_model,
        params,
        verbench_toploc::Thresholds::paper_defaults(params.topk()),
        f32::INFINITY,
    );
    let variants = match a.first_variant {
        1 => format!("{} variant(s)", a.variants),
        f => format!("variant(s) {f} to {}", a.variants),
    };
    let prompts = format!(
        "crates/inference/data/prompts.txt (keccak {}), {} lines, {variants} (1: default system prompt{})",
        calibration::file_hash_bytes(PROMPTS.as_bytes()),
        a.split,
        if a.variants == 2 { "; 2: detection::OTHER_SYSTEM" } else { "" }
    );
    let engine_name = match a.engine.as_str() {
        "candle" => calibration::CANDLE_GENERATOR,
        #[cfg(feature = "llamacpp")]
        "llamacpp" => verbench_inference::llamacpp::LLAMACPP_GENERATOR,
        #[cfg(not(feature = "llamacpp"))]
        "llamacpp" => bail!(
            "this verbench-calibrate was built without the llama.cpp engine (tools/build-llamacpp.sh)"
        ),
        e => bail!("--engine {e:?}: expected candle or llamacpp"),
    };
    #[cfg(feature = "llamacpp")]
    let llamacpp = (a.engine == "llamacpp")
        .then(|| verbench_inference::llamacpp::LlamaCpp::load(&path, 2))
        .transpose()?;
    #[cfg(feature = "llamacpp")]
    let mut session = llamacpp.as_ref().map(|l| l.session(true)).transpose()?;
    let header = TraceHeader {
        version: calibration::FORMAT_VERSION,
        key: calibration::engine_key_with(
            &m.model,
            engine_name,
            a.sampling,
            params,
            validator_path,
        ),
        tokens: a.tokens as u32,
        prompts,
    };
    let mut file = TraceFile::open_or_create(&a.out, &header)?;
    let mut todo = Vec::new();
    for &(i, line) in &lines {
        for v in a.first_variant - 1..a.variants {
            for s in a.seed_offset..a.seed_offset + seeds {
                let item = match a.sampling {
                    SamplingMode::Greedy => format!("p{i}v{v}"),
                    SamplingMode::Seeded { .. } => format!("p{i}v{v}s{s}"),
                };
                if !file.has(&item) {
                    todo.push((item, i, line, v, s));
                }
            }
        }
    }
    let total = todo.len() + file.traces.len();
    if let Some(n) = a.max_items {
        todo.truncate(n);
    }
    eprintln!(
        "{}: {} item(s) done, {} to do now, {} tokens each",
        a.out.display(),
        file.traces.len(),
        todo.len(),
        a.tokens
    );
    let start = Instant::now();
    let n = todo.len();
    for (k, (item, _i, line, v, seed)) in todo.into_iter().enumerate() {
        let system = match v {
            0 => m.tokenizer.default_system().map(String::from),
            _ => Some(OTHER_SYSTEM.to_string()),
        };
        let prompt = m.tokenizer.encode_chat(system.as_deref(), line)?;
        let t0 = Instant::now();
        #[cfg(feature = "llamacpp")]
        let t = match session.as_mut() {
            Some(session) => with_threads(2, || {
                trace_item_with(
                    &validator,
                    item.clone(),
                    &prompt,
                    a.tokens,
                    a.sampling.sampling(seed),
                    params,
                    |opts, observe| session.generate_observed(&prompt, opts, observe),
                )
            })??,
            None => candle_trace(&m.model, &validator, &item, &prompt, &a, seed, params)?,
        };
        #[cfg(not(feature = "llamacpp"))]
        let t = candle_trace(&m.model, &validator, &item, &prompt, &a, seed, params)?;
        let secs = t0.elapsed().as_secs_f64();
        let max_gap = t.gaps.iter().copied().fold(0f32, f32::max);
        let max_err = t
            .token_errors
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        file.append(t)?;
        let done = k + 1;
        let eta = start.elapsed().as_secs_f64() / done as f64 * (n - done) as f64;
        eprintln!(
            "[{}/{}] {item}: {} tokens in {secs:.1} s ({:.1} tok/s); max gap {max_gap:.3}, max error {max_err:.3}; ETA {:.0} min",
            file.traces.len(),
            total,
            a.tokens,
            a.tokens as f64 / secs,
            eta / 60.0
        );
    }
    Ok(())
}

/// One item traced on the candle generator (2 threads).
fn candle_trace(
    model: &verbench_inference::Llama,
    validator: &Validator,
    item: &str,
    prompt: &[u32],
    a: &TraceArgs,
    seed: u64,
    params: ProofParams,
) -> anyhow::Result<calibration::Trace> {
    Ok(with_threads(2, || {
        trace_item(
            model,
            validator,
            item.to_string(),
            prompt,
            a.tokens,
            a.sampling.sampling(seed),
            params,
        )
    })??)
}

/// Reads trace files measured with one key: the header, all traces and each file's hash.
fn read_same_key(paths: &[PathBuf]) -> anyhow::Result<(TraceHeader, Vec<Trace>, Vec<ModelHash>)> {
    let mut header: Option<TraceHeader> = None;
    let mut traces = Vec::new();
    let mut hashes = Vec::new();
    for p in paths {
        let (h, t) = read_traces(p)?;
        match &mut header {
            None => header = Some(h),
            Some(first) if first.key != h.key => bail!(
                "{} was measured with another key than {}: one calibration fits one key",
                p.display(),
                paths[0].display()
            ),
            // Files of other prompts (or lengths): the summary names every prompt set.
            Some(first) => {
                if !first.prompts.split(" + ").any(|q| q == h.prompts) {
                    first.prompts = format!("{} + {}", first.prompts, h.prompts);
                }
            }
        }
        hashes.push(calibration::file_hash(p)?);
        traces.extend(t);
    }
    Ok((header.context("no trace file")?, traces, hashes))
}

fn bands_cmd(a: BandsArgs) -> anyhow::Result<()> {
    let (header, traces, _) = read_same_key(&a.traces)?;
    let targets = a.targets.targets(None);
    let bands = calibration::fit_bands(
        &traces,
        a.width,
        header.key.decode_batching_size as usize,
        &targets,
    )?;
    println!(
        "{} items, model {}, {}; targets {} per {}-token item (token check), {} per chunk\n",
        traces.len(),
        header.key.model_hash,
        header.key.sampling,
        targets.token_fp_per_item,
        targets.item_tokens,
        targets.chunk_fp
    );
    println!("| output positions | tokens / chunks | token margin (largest error; shape) | exponent mismatches <= (largest; shape) | mantissa mean <= (largest; shape) | mantissa median <= (largest; shape) |");
    println!("|---|---|---|---|---|---|");
    let cell = |f: &Result<calibration::TailFit, String>, digits: usize| match f {
        Ok(f) => format!(
            "{:.digits$} ({:.digits$}; {:+.2})",
            f.limit, f.max_observed, f.shape_fitted
        ),
        Err(e) => format!("no fit: {e}"),
    };
    for b in &bands {
        let mismatches = match &b.exp_mismatches {
            Ok(f) if f.limit >= f64::from(header.key.topk) => format!(
                "{:.0} of {}: no matches left ({:.0}; {:+.2})",
                f.limit, header.key.topk, f.max_observed, f.shape_fitted
            ),
            other => cell(other, 0),
        };
        println!(
            "| {}-{} | {} / {} | {} | {} | {} | {} |",
            b.from,
            b.to - 1,
            b.tokens,
            b.chunks,
            cell(&b.token_error, 3),
            mismatches,
            cell(&b.mant_err_mean, 3),
            cell(&b.mant_err_median, 0)
        );
    }
    Ok(())
}

fn fit_cmd(a: FitArgs) -> anyhow::Result<()> {
    let (header, traces, hashes) = read_same_key(&a.traces)?;
    let targets = a
        .targets
        .targets((a.confidence != 0.0).then_some(a.confidence));
    let command = format!(
        "verbench-calibrate fit {} --token-fp-per-item {} --item-tokens {} --chunk-fp {} --confidence {}",
        a.traces
            .iter()
            .map(|p| format!("--traces {}", p.display()))
            .collect::<Vec<_>>()
            .join(" "),
        targets.token_fp_per_item,
        targets.item_tokens,
        targets.chunk_fp,
        a.confidence
    ) + &a
        .max_item_tokens
        .map_or(String::new(), |m| format!(" --max-item-tokens {m}"));
    let mut cal = fit(&header, &traces, hashes, targets, command)?;
    cal.max_item_tokens = a.max_item_tokens;
    let hash = cal.write(&a.out)?;
    let l = cal.limits;
    println!(
        "{}: calibration {hash}\n  model {}, {}, {} items / {} tokens / {} chunks\n  token margin {:.3} logits (fit {:.3}, largest error {:.3}, {}); mantissa mean <= {:.3}, median <= {:.3}, exponent matches >= {}/{}",
        a.out.display(),
        cal.key.model_hash,
        cal.key.sampling,
        cal.data.items,
        cal.data.tokens,
        cal.data.chunks,
        l.token_margin(),
        cal.token_error.quantile,
        cal.token_error.max_observed,
        cal.token_error.binding,
        f64::from(l.max_mant_err_mean_milli) / 1000.0,
        f64::from(l.max_mant_err_median_milli) / 1000.0,
        l.min_exp_matches,
        cal.key.topk
    );
    Ok(())
}

fn check_cmd(a: CheckArgs) -> anyhow::Result<()> {
    let (cal, hash) = Calibration::read(&a.calibration)?;
    let mut header: Option<TraceHeader> = None;
    let mut traces = Vec::new();
    for p in &a.traces {
        let (mut h, t) = read_traces(p)?;
        if a.other_engine && h.key.generator_engine != cal.key.generator_engine {
            eprintln!(
                "{}: generated by {:?}, judged by limits fitted on {:?} (--other-engine)",
                p.display(),
                h.key.generator_engine,
                cal.key.generator_engine
            );
            h.key.generator_engine = cal.key.generator_engine.clone();
        }
        if h.key != cal.key {
            bail!(
                "{} was measured with another key than the calibration {}",
                p.display(),
                a.calibration.display()
            );
        }
        let fitted = cal.data.trace_hashes.contains(&calibration::file_hash(p)?);
        if fitted {
            bail!(
                "{} is one of the files {} was fitted on: a held-out check needs other items",
                p.display(),
                a.calibration.display()
            );
        }
        header.get_or_insert(h);
        traces.extend(t);
    }
    let header = header.context("no trace file")?;
    let r = check(&cal, hash, &header, &traces)?;
    println!(
        "Held-out check of {} ({hash}), {} items:\n  tokens over the margin {:.3}: {} of {} (95% upper bound {:.2e} per token, {:.2e} per {}-token item; target {:.0e})\n  items failing the token check: {} of {}\n  TOPLOC chunks failing: {} of {} (95% upper bound {:.2e} per chunk; target {:.0e})\n  largest gap {:.3}, largest logit-difference error {:.3}",
        a.calibration.display(),
        r.items,
        cal.limits.token_margin(),
        r.tokens.failures,
        r.tokens.trials,
        r.tokens.upper95,
        r.per_item_token_upper95,
        cal.targets.item_tokens,
        cal.targets.token_fp_per_item,
        r.items_token_check.failures,
        r.items_token_check.trials,
        r.chunks.failures,
        r.chunks.trials,
        r.chunks.upper95,
        cal.targets.chunk_fp,
        r.max_gap,
        r.max_token_error
    );
    for f in &r.failing {
        println!("  failing: {f}");
    }
    match &r.held_out_tail {
        Some(t) => println!(
            "  at these limits, tails fitted to the held-out data give {:.2e} per {}-token item (token check; target {:.0e}) and {:.2e} per chunk (target {:.0e}: exponent matches {:.1e}, mantissa mean {:.1e}, median {:.1e})",
            t.item,
            cal.targets.item_tokens,
            cal.targets.token_fp_per_item,
            t.chunk,
            cal.targets.chunk_fp,
            t.exp_mismatches,
            t.mant_err_mean,
            t.mant_err_median
        ),
        None => println!("  too few held-out data to fit their own tails"),
    }
    if let Some(out) = &a.out {
        let mut b = serde_json::to_vec_pretty(&r)?;
        b.push(b'\n');
        std::fs::write(out, b).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

//! The full detection matrix on SmolLM2-135M-Instruct Q4_1 (or, with `--model`, on another GGUF
//! such as Gemma 3 270M Q4_K_M: `--model ~/.cache/verbench/models/gemma-3-270m.Q4_K_M.gguf`),
//! printed as Markdown.
//!
//! `cargo run --release -p verbench-inference --bin detection-report -- [--model PATH]
//! [--prompts N] [--tokens T] [--long-top-p 1.0,0.95] [--honest-only]`
#![allow(clippy::print_stdout)] // a report: its output is the point

use anyhow::{bail, Context};
use clap::Parser;
use verbench_inference::detection::{run_matrix, MatrixConfig, PROMPTS};
use verbench_inference::{device, load, smollm2_path, WeightFormat};

#[derive(Parser)]
struct Args {
    /// GGUF model, any supported architecture (default: SmolLM2 as tools/fetch-models.sh
    /// fetches it).
    #[arg(long)]
    model: Option<std::path::PathBuf>,
    /// Use the first N prompts of the committed set (all by default).
    #[arg(long)]
    prompts: Option<usize>,
    /// Tokens generated per item.
    #[arg(long, default_value_t = 64)]
    tokens: usize,
    /// Tokens of the extra honest seeded-sampling records per evaluation prompt (0: none).
    #[arg(long, default_value_t = 256)]
    long_honest: usize,
    /// Nucleus masses of the long sampled records, comma-separated (T = 0.7).
    #[arg(long, value_delimiter = ',', default_values_t = [1.0f32, 0.95])]
    long_top_p: Vec<f32>,
    /// Added to the prompt index to seed the long sampled records.
    #[arg(long, default_value_t = 0)]
    long_seed_offset: u64,
    /// Only the honest rows (calibration and false-positive checks), no cheats.
    #[arg(long)]
    honest_only: bool,
    /// Skip the report-only boundary cases.
    #[arg(long)]
    no_boundary: bool,
    /// Records per packed validation batch.
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Judge at this calibration's limits (for items of `--tokens` tokens, greedy) instead of the
    /// matrix's own rule, with each row's expectation at calibrated limits; refused for another
    /// model. Without it, the rule fixes the limits.
    #[arg(long)]
    calibration: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let path = args.model.unwrap_or_else(smollm2_path);
    let m = load(&path, WeightFormat::Quantized, &device())
        .with_context(|| format!("loading {}", path.display()))?;
    let mut prompts: Vec<String> = PROMPTS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect();
    if let Some(n) = args.prompts {
        prompts.truncate(n);
    }
    let limits = match &args.calibration {
        None => None,
        Some(p) => {
            let (cal, _) = verbench_inference::calibration::Calibration::read(p)?;
            cal.check_for(
                p,
                m.model.hash(),
                verbench_inference::calibration::SamplingMode::Greedy,
            )?;
            let tokens = u32::try_from(args.tokens).context("--tokens too large")?;
            Some((
                cal.limits.thresholds(),
                cal.token_margin_milli_for(tokens) as f32 / 1000.0,
            ))
        }
    };
    let cfg = MatrixConfig {
        prompts,
        max_new_tokens: args.tokens,
        boundary: !args.no_boundary,
        long_honest_tokens: args.long_honest,
        long_top_p: args.long_top_p,
        long_seed_offset: args.long_seed_offset,
        honest_only: args.honest_only,
        batch: args.batch,
        limits,
    };
    let start = std::time::Instant::now();
    let report = run_matrix(&m.model, &m.tokenizer, &cfg)?;
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!(
        "Model {} ({}, {}), {} prompts, {} tokens each, generation with the committed quantized weights on 2 threads; machine: {cpu}, {} cores; {:.0} s.\n",
        path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default(),
        m.model.architecture(),
        m.model.hash(),
        cfg.prompts.len(),
        cfg.max_new_tokens,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        start.elapsed().as_secs_f64()
    );
    println!("{}", report.to_markdown());
    if !report.all_ok() {
        bail!("some must-case did not meet its expectation (see the table)");
    }
    Ok(())
}

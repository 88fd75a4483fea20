//! Generation and validation speed on SmolLM2-135M-Instruct Q4_1 (CPU), against candle's own
//! `quantized_llama`.
//!
//! `cargo run --release -p verbench-inference --bin inference-bench -- [--tokens 128] [--runs 5]
//! [--llamacpp-python PY]`
//!
//! With `--llamacpp-python`, llama.cpp is measured in the same run on the same file and token ids
//! by `tools/bench_llamacpp.py` under that interpreter (`tools/llamacpp-bench.sh` builds one).
//! Built with the `llamacpp` feature (tools/build-llamacpp.sh), it also measures verbench's
//! llama.cpp engine: generation with proofs against the same llama.cpp build with hidden-state
//! output off (the issue-15 goal: >= 0.95x), and validates its record with the dense validator.
//!
//! Peak memory is measured per phase in child processes (this binary with `--phase`): one that
//! loads the quantized model and generates with proofs, one that loads the dense model and
//! validates a record, each reporting its own peak RSS (`VmHWM`), as a provider and a challenger
//! would run them.
#![allow(clippy::print_stdout)] // a report: its output is the point

use std::time::Instant;

use anyhow::Context;
use candle_core::{Device, Tensor};
use clap::Parser;
use verbench_inference::detection::PROMPTS;
use verbench_inference::{generate, load, smollm2_path, GenerateOptions, Validator, WeightFormat};
use verbench_toploc::{ProofParams, Thresholds};

#[derive(Parser)]
struct Args {
    /// GGUF model (default: the file tools/fetch-models.sh fetches).
    #[arg(long)]
    model: Option<std::path::PathBuf>,
    /// Tokens generated per run.
    #[arg(long, default_value_t = 128)]
    tokens: usize,
    /// Runs per measurement (the median is reported; plain and proven runs alternate).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Also measure llama.cpp: a Python interpreter with llama-cpp-python installed.
    #[arg(long)]
    llamacpp_python: Option<std::path::PathBuf>,
    /// Internal: run one phase in this process and print its peak RSS (`generate`, or
    /// `validate:<record.json>`).
    #[arg(long, hide = true)]
    phase: Option<String>,
}

/// Runs one phase alone (a child process) and prints `peak_mib=<n>`.
fn phase(path: &std::path::Path, which: &str, tokens: usize) -> anyhow::Result<()> {
    let dev = Device::Cpu;
    if which == "generate" {
        let m = load(path, WeightFormat::Quantized, &dev)?;
        let prompt = m
            .tokenizer
            .encode_chat(None, PROMPTS.lines().next().unwrap_or("Hello"))?;
        let r = generate(&m.model, &prompt, &GenerateOptions::greedy(tokens))?;
        anyhow::ensure!(!r.output.is_empty(), "nothing generated");
    } else if let Some(file) = which.strip_prefix("validate:") {
        let r: verbench_inference::Record = serde_json::from_str(&std::fs::read_to_string(file)?)?;
        let m = load(path, WeightFormat::DenseF32, &dev)?;
        let params = ProofParams::paper_defaults();
        let v = Validator::new(
            m.model,
            params,
            Thresholds::paper_defaults(128),
            f32::INFINITY,
        );
        anyhow::ensure!(v.validate(&r)?.toploc_passed(), "validation failed");
    } else {
        anyhow::bail!("unknown phase {which}");
    }
    println!("peak_mib={:.0}", peak_mib());
    Ok(())
}

/// Peak RSS of a child running `which`.
fn child_peak(path: &std::path::Path, which: &str, tokens: usize) -> anyhow::Result<f64> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("--model")
        .arg(path)
        .arg("--tokens")
        .arg(tokens.to_string())
        .arg("--phase")
        .arg(which)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "phase {which} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("peak_mib="))
        .and_then(|v| v.parse().ok())
        .context("no peak_mib line from the child")
}

/// What `tools/bench_llamacpp.py` reports (seconds are medians over the runs).
#[derive(serde::Deserialize)]
struct LlamaCpp {
    version: String,
    prompt_prefill_s: f64,
    decode_s: f64,
    full_prefill_s: f64,
    greedy_agree_prefix: usize,
    peak_mib: f64,
    rss_before_load_mib: f64,
}

impl LlamaCpp {
    /// Prompt prefill plus decode steps: what our generate rows time.
    fn generate_s(&self) -> f64 {
        self.prompt_prefill_s + self.decode_s
    }
}

/// Runs `tools/bench_llamacpp.py` under `python` with `job` on stdin.
fn run_llamacpp(python: &std::path::Path, job: &serde_json::Value) -> anyhow::Result<LlamaCpp> {
    use std::io::Write;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/bench_llamacpp.py");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {} {script}", python.display()))?;
    child
        .stdin
        .take()
        .context("no stdin")?
        .write_all(job.to_string().as_bytes())?;
    let out = child.wait_with_output()?;
    anyhow::ensure!(
        out.status.success(),
        "llama.cpp bench failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "reading the llama.cpp bench output: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// verbench's llama.cpp engine, in this process: plain generation (hidden states off) and
/// generation with proofs alternate run by run on one llama.cpp build; the last proven record is
/// validated by `validator` (candle, dense), whose median time `t_val` gives the ratio.
#[cfg(feature = "llamacpp")]
fn llamacpp_engine(
    path: &std::path::Path,
    prompt: &[u32],
    n: usize,
    runs: usize,
    validator: &Validator,
    t_val: f64,
) -> anyhow::Result<()> {
    use verbench_inference::llamacpp::LlamaCpp;
    let threads = rayon::current_num_threads();
    let engine = LlamaCpp::load(path, threads)?;
    let mut plain_session = engine.session(false)?;
    let mut proven_session = engine.session(true)?;
    let plain = GenerateOptions {
        proofs: None,
        ..GenerateOptions::greedy(n)
    };
    let proven = GenerateOptions::greedy(n);
    plain_session.generate(prompt, &plain)?; // warm-up
    proven_session.generate(prompt, &proven)?;
    let (mut t_plain, mut t_proof) = (vec![], vec![]);
    let (mut plain_out, mut record) = (None, None);
    for run in 0..runs {
        for first_plain in [run % 2 == 0, run % 2 == 1] {
            let t = Instant::now();
            if first_plain {
                plain_out = Some(plain_session.generate(prompt, &plain)?.output);
                t_plain.push(t.elapsed().as_secs_f64());
            } else {
                record = Some(proven_session.generate(prompt, &proven)?);
                t_proof.push(t.elapsed().as_secs_f64());
            }
        }
    }
    let (plain_out, record) = (plain_out.context("no run")?, record.context("no run")?);
    anyhow::ensure!(
        plain_out == record.output,
        "hidden-state output changed llama.cpp's greedy tokens"
    );
    let outcome = validator.validate(&record)?;
    let (tp, tq) = (median(t_plain), median(t_proof));
    println!(
        "verbench llama.cpp engine ({threads} threads, median of {runs}): {n} tokens plain (hidden states off) {tp:.3} s ({:.1} tok/s); with hidden states and proofs {tq:.3} s ({:.1} tok/s); speed ratio {:.3} (goal >= 0.95)",
        n as f64 / tp,
        n as f64 / tq,
        tp / tq
    );
    println!(
        "its record validated by candle (dense, one prefill): {}; validation / llama.cpp-engine generation with proofs: {:.1}x faster in output tokens",
        if outcome.passed() { "passed" } else { "FAILED" },
        tq / t_val
    );
    Ok(())
}

fn peak_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map_or(f64::NAN, |k| k / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let path = args.model.unwrap_or_else(smollm2_path);
    if let Some(which) = &args.phase {
        return phase(&path, which, args.tokens);
    }
    let dev = Device::Cpu;
    let m = load(&path, WeightFormat::Quantized, &dev)
        .with_context(|| format!("loading {}", path.display()))?;
    let dense = m.model.with_format(WeightFormat::DenseF32)?;
    let params = ProofParams::paper_defaults();
    let validator = Validator::new(
        dense,
        params,
        Thresholds::paper_defaults(128),
        f32::INFINITY,
    );
    let prompt = m
        .tokenizer
        .encode_chat(None, PROMPTS.lines().next().unwrap_or("Hello"))?;
    let n = args.tokens;
    println!(
        "prompt {} tokens, {} generated tokens, {} threads, median of {} runs\n",
        prompt.len(),
        n,
        rayon::current_num_threads(),
        args.runs
    );

    let plain = GenerateOptions {
        proofs: None,
        ..GenerateOptions::greedy(n)
    };
    let proven = GenerateOptions::greedy(n);
    let _ = generate(&m.model, &prompt, &plain)?; // warm-up
    let (mut t_plain, mut t_proof, mut t_val) = (vec![], vec![], vec![]);
    let mut record = None;
    for run in 0..args.runs {
        // Alternate which variant goes first, so that drift in machine load hits both.
        for first_plain in [run % 2 == 0, run % 2 == 1] {
            let t = Instant::now();
            if first_plain {
                let _ = generate(&m.model, &prompt, &plain)?;
                t_plain.push(t.elapsed().as_secs_f64());
            } else {
                let r = generate(&m.model, &prompt, &proven)?;
                t_proof.push(t.elapsed().as_secs_f64());
                record = Some(r);
            }
        }
        let r = record.as_ref().context("no run")?;
        let t = Instant::now();
        let o = validator.validate(r)?;
        t_val.push(t.elapsed().as_secs_f64());
        anyhow::ensure!(o.toploc_passed(), "honest record failed validation");
    }
    let r = record.context("no run")?;
    let total = (r.prompt.len() + r.output.len()) as f64;

    // candle-transformers' quantized_llama: same prompt, greedy, one token per step.
    let mut f = std::fs::File::open(&path)?;
    let ct = candle_core::quantized::gguf_file::Content::read(&mut f)?;
    let mut q =
        candle_transformers::models::quantized_llama::ModelWeights::from_gguf(ct, &mut f, &dev)?;
    let mut t_ref = vec![];
    let mut t_ref_pre = vec![];
    for _ in 0..args.runs {
        let t = Instant::now();
        let logits = q.forward(&Tensor::new(prompt.as_slice(), &dev)?.unsqueeze(0)?, 0)?;
        let mut next = logits.squeeze(0)?.argmax(0)?.to_scalar::<u32>()?;
        let t0 = Instant::now();
        for i in 0..n {
            let l = q.forward(&Tensor::new(&[next], &dev)?.unsqueeze(0)?, prompt.len() + i)?;
            next = l.squeeze(0)?.argmax(0)?.to_scalar::<u32>()?;
        }
        t_ref.push(t0.elapsed().as_secs_f64());
        let _ = t;
        let seq: Vec<u32> = r.prompt.iter().chain(&r.output).copied().collect();
        let t = Instant::now();
        let _ = q.forward(&Tensor::new(seq.as_slice(), &dev)?.unsqueeze(0)?, 0)?;
        t_ref_pre.push(t.elapsed().as_secs_f64());
    }

    let llamacpp = match &args.llamacpp_python {
        Some(py) => {
            let model = path
                .to_str()
                .with_context(|| format!("{} is not UTF-8", path.display()))?;
            let job = serde_json::json!({
                "model": model,
                "prompt": prompt,
                "full": r.prompt.iter().chain(&r.output).collect::<Vec<_>>(),
                "new_tokens": n,
                "runs": args.runs,
                "threads": rayon::current_num_threads(),
                "reference_output": r.output,
            });
            Some(run_llamacpp(py, &job)?)
        }
        None => None,
    };

    let (tp, tq, tv) = (median(t_plain), median(t_proof), median(t_val));
    let (tr, trp) = (median(t_ref), median(t_ref_pre));
    println!("| measurement | time (s) | tokens/s |");
    println!("|---|---|---|");
    println!(
        "| generate {n} tokens, quantized, no proofs (prefill included) | {tp:.3} | {:.1} |",
        n as f64 / tp
    );
    println!(
        "| generate {n} tokens, quantized, with proofs | {tq:.3} | {:.1} |",
        n as f64 / tq
    );
    println!("| validate: one dense f32 prefill over {total} tokens + proof and token checks | {tv:.3} | {:.1} (output tokens: {:.1}) |", total / tv, n as f64 / tv);
    println!(
        "| candle quantized_llama: {n} decode steps | {tr:.3} | {:.1} |",
        n as f64 / tr
    );
    println!(
        "| candle quantized_llama: one prefill over {total} tokens | {trp:.3} | {:.1} |",
        total / trp
    );
    if let Some(l) = &llamacpp {
        println!(
            "| llama.cpp {} (llama-cpp-python): {n} decode steps | {:.3} | {:.1} |",
            l.version,
            l.decode_s,
            n as f64 / l.decode_s
        );
        let g = l.generate_s();
        println!(
            "| llama.cpp: prefill {} + {n} decode steps (as our generate rows) | {g:.3} | {:.1} |",
            prompt.len(),
            n as f64 / g
        );
        println!(
            "| llama.cpp: one prefill over {total} tokens, logits at every position | {:.3} | {:.1} |",
            l.full_prefill_s,
            total / l.full_prefill_s
        );
    }
    println!();
    if let Some(l) = &llamacpp {
        let g = l.generate_s();
        println!(
            "our generation with proofs / llama.cpp generation: {:.2}x the time; our validation / llama.cpp prefill over the same tokens: {:.2}x the time",
            tq / g,
            tv / l.full_prefill_s
        );
        println!(
            "llama.cpp greedy output equals ours for the first {} of {n} tokens; llama.cpp process peak RSS {:.0} MiB ({:.0} MiB of it Python before the model was loaded)",
            l.greedy_agree_prefix, l.peak_mib, l.rss_before_load_mib
        );
    }
    println!(
        "proof overhead on generation: {:+.2}% (goal < 2%)",
        (tq / tp - 1.0) * 100.0
    );
    println!("validation speed / decode speed: {:.1}x in prompt+output tokens, {:.1}x in output tokens (goal >= 5x)", (total / tv) / (n as f64 / tq), tq / tv);
    #[cfg(feature = "llamacpp")]
    llamacpp_engine(&path, &prompt, n, args.runs, &validator, tv)?;
    let tmp = std::env::temp_dir().join(format!("verbench-bench-{}.json", std::process::id()));
    std::fs::write(&tmp, serde_json::to_string(&r)?)?;
    let mem_gen = child_peak(&path, "generate", n)?;
    let mem_val = child_peak(&path, &format!("validate:{}", tmp.display()), n)?;
    let _ = std::fs::remove_file(&tmp);
    println!("peak RSS, each phase alone in its own process: generation with proofs (quantized model) {mem_gen:.0} MiB; validation (dense f32 model) {mem_val:.0} MiB");
    Ok(())
}

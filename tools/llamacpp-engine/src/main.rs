//! Spike (issue 15): greedy generation with TOPLOC proofs on llama.cpp.
//!
//! One llama.cpp decode returns both the logits (for the token choice) and, with embeddings on and
//! no pooling, the final-norm hidden state of every output position (`result_norm`): the rows a
//! TOPLOC proof is built from. This program measures what reading them costs and writes records
//! that verbench's candle validator judges (`cross-engine validate`).
//!
//! Usage:
//!   verbench-llamacpp-engine speed <model.gguf> <prompts.json> <tokens> <threads> <runs>
//!   verbench-llamacpp-engine record <model.gguf> <prompts.json> <tokens> <threads> <out.jsonl>
//! where prompts.json is what `cross-engine prompts` writes (model hash and prompt token ids).
#![allow(clippy::print_stdout)]

use anyhow::{bail, Context};
use llama_cpp_2::context::params::{LlamaContextParams, LlamaPoolingType};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;
use std::time::Instant;
use verbench_toploc::{build_proofs, Activations, ProofParams};

/// The first index of the largest logit (the validator breaks ties the same way).
fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

struct Generated {
    seconds: f64,
    output: Vec<u32>,
    /// Prompt rows then output rows, `n_embd` each (empty without hidden states).
    prefill_rows: Vec<f32>,
    decode_rows: Vec<f32>,
}

fn context<'m>(
    backend: &LlamaBackend,
    model: &'m LlamaModel,
    threads: i32,
    hidden: bool,
) -> anyhow::Result<LlamaContext<'m>> {
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(2048))
        .with_n_threads(threads)
        .with_n_threads_batch(threads)
        .with_embeddings(hidden)
        .with_pooling_type(LlamaPoolingType::None);
    Ok(model.new_context(backend, params)?)
}

/// Greedy generation of `n` tokens after `prompt` (no stop token, as verbench's generator). With
/// `hidden`, every prompt and output position's final-norm hidden state is copied out of the same
/// decode that gave the logits.
fn generate(
    ctx: &mut LlamaContext<'_>,
    prompt: &[u32],
    n: usize,
    hidden: bool,
) -> anyhow::Result<Generated> {
    anyhow::ensure!(
        !prompt.is_empty(),
        "an empty prompt: nothing to generate from"
    );
    ctx.clear_kv_cache();
    let mut batch = LlamaBatch::new(prompt.len().max(1), 1);
    let t = Instant::now();
    for (i, &tok) in prompt.iter().enumerate() {
        // Hidden states of every prompt position for the prefill proof; logits at the last.
        batch.add(
            LlamaToken(tok as i32),
            i as i32,
            &[0],
            hidden || i + 1 == prompt.len(),
        )?;
    }
    ctx.decode(&mut batch)?;
    let mut prefill_rows = Vec::new();
    if hidden {
        for i in 0..prompt.len() {
            prefill_rows.extend_from_slice(ctx.embeddings_ith(i as i32)?);
        }
    }
    let mut last = batch.n_tokens() - 1;
    let mut output = Vec::with_capacity(n);
    let mut decode_rows = Vec::new();
    let mut pos = prompt.len() as i32;
    while output.len() < n {
        let next = argmax(ctx.get_logits_ith(last));
        output.push(next as u32);
        batch.clear();
        batch.add(LlamaToken(next as i32), pos, &[0], true)?;
        pos += 1;
        ctx.decode(&mut batch)?;
        if hidden {
            decode_rows.extend_from_slice(ctx.embeddings_ith(0)?);
        }
        last = 0;
    }
    Ok(Generated {
        seconds: t.elapsed().as_secs_f64(),
        output,
        prefill_rows,
        decode_rows,
    })
}

fn read_prompts(path: &str) -> anyhow::Result<(String, Vec<Vec<u32>>)> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)
        .with_context(|| format!("{path} is not JSON"))?;
    let hash = v["modelHash"].as_str().context("no modelHash")?.to_string();
    let prompts = v["prompts"]
        .as_array()
        .context("no prompts")?
        .iter()
        .map(|p| {
            p.as_array()
                .context("a prompt is not an array")?
                .iter()
                .map(|t| {
                    t.as_u64()
                        .map(|t| t as u32)
                        .context("a token id is not a number")
                })
                .collect()
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((hash, prompts))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 7 {
        bail!(
            "usage: speed|record <model.gguf> <prompts.json> <tokens> <threads> <runs|out.jsonl>"
        );
    }
    let (mode, path, prompts_path) = (&args[1], &args[2], &args[3]);
    let n: usize = args[4].parse()?;
    let threads: i32 = args[5].parse()?;
    let mut backend = LlamaBackend::init()?;
    backend.void_logs();
    let model = LlamaModel::load_from_file(&backend, path, &LlamaModelParams::default())?;
    let (model_hash, prompts) = read_prompts(prompts_path)?;
    match mode.as_str() {
        "speed" => {
            let runs: usize = args[6].parse()?;
            let prompt = &prompts[0];
            let mut plain_ctx = context(&backend, &model, threads, false)?;
            let mut hidden_ctx = context(&backend, &model, threads, true)?;
            generate(&mut plain_ctx, prompt, 8, false)?;
            generate(&mut hidden_ctx, prompt, 8, true)?;
            let params = ProofParams::paper_defaults();
            let (mut plain, mut proven) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let p = generate(&mut plain_ctx, prompt, n, false)?;
                plain.push(p.seconds);
                let t = Instant::now();
                let h = generate(&mut hidden_ctx, prompt, n, true)?;
                let hs = model.n_embd() as usize;
                let pre = Activations::f32(&h.prefill_rows, prompt.len(), hs)?;
                let dec = Activations::f32(&h.decode_rows, h.output.len(), hs)?;
                let proofs = build_proofs(&params, Some(&pre), &dec)?;
                proven.push(t.elapsed().as_secs_f64());
                anyhow::ensure!(p.output == h.output, "embeddings changed the greedy tokens");
                anyhow::ensure!(!proofs.is_empty());
            }
            plain.sort_by(f64::total_cmp);
            proven.sort_by(f64::total_cmp);
            let (a, b) = (plain[runs / 2], proven[runs / 2]);
            println!(
                "llama.cpp {n} tokens after a {}-token prompt, {threads} threads, median of {runs}: plain {a:.3} s ({:.1} tok/s); with hidden states and proofs {b:.3} s ({:.1} tok/s); ratio {:.3}",
                prompt.len(),
                n as f64 / a,
                n as f64 / b,
                a / b
            );
        }
        "record" => {
            let out = &args[6];
            let mut ctx = context(&backend, &model, threads, true)?;
            let params = ProofParams::paper_defaults();
            let mut lines = String::new();
            for (i, prompt) in prompts.iter().enumerate() {
                let g = generate(&mut ctx, prompt, n, true)?;
                let hs = model.n_embd() as usize;
                let pre = Activations::f32(&g.prefill_rows, prompt.len(), hs)?;
                let dec = Activations::f32(&g.decode_rows, g.output.len(), hs)?;
                let proofs: Vec<String> = build_proofs(&params, Some(&pre), &dec)?
                    .iter()
                    .map(|p| p.to_base64())
                    .collect();
                let record = serde_json::json!({
                    "model_hash": model_hash,
                    "weight_format": "Quantized",
                    "sampling": "Greedy",
                    "topk": params.topk(),
                    "decode_batching_size": params.decode_batching_size(),
                    "prompt": prompt,
                    "output": g.output,
                    "proofs": proofs,
                });
                lines.push_str(&serde_json::to_string(&record)?);
                lines.push('\n');
                println!(
                    "prompt {i}: {} tokens in {:.2} s",
                    g.output.len(),
                    g.seconds
                );
            }
            std::fs::write(out, lines)?;
        }
        other => bail!("unknown mode {other}"),
    }
    Ok(())
}

//! Generation with TOPLOC proofs built as the tokens come out.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};
use verbench_toploc::{Activations, ProofBuilder, ProofParams};

use crate::error::{Error, Result};
use crate::hash::ModelHash;
use crate::model::{KvCacheMode, Llama, WeightFormat};
use crate::sampling::{choose, Sampling};

/// What a provider publishes for one generation: enough to recompute and check it.
///
/// Hidden-state rows: the prefill proof covers the final normalized hidden states of every
/// prompt position; decode row `i` is the hidden state computed when output token `i` is fed
/// back (so `output.len()` decode rows, cut into chunks of `decode_batching_size`). Output token
/// `0` is chosen from the logits of the last prompt position, token `i > 0` from those of the
/// position of token `i - 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// keccak256 of the weight file(s) the provider claims to have used.
    pub model_hash: ModelHash,
    /// How the provider held the weights (informational; validation does not depend on it).
    pub weight_format: WeightFormat,
    /// How tokens were chosen.
    pub sampling: Sampling,
    /// Values per proof.
    pub topk: usize,
    /// Decode rows per proof.
    pub decode_batching_size: usize,
    /// Prompt token ids (chat template already applied).
    pub prompt: Vec<u32>,
    /// Generated token ids.
    pub output: Vec<u32>,
    /// Base64 TOPLOC proofs: prefill first, then one per decode chunk.
    pub proofs: Vec<String>,
}

impl Record {
    /// A record of `output` generated from `prompt`, with `proofs` built at `params`.
    pub(crate) fn generated(
        (model_hash, weight_format): (ModelHash, WeightFormat),
        sampling: Sampling,
        params: ProofParams,
        prompt: &[u32],
        output: Vec<u32>,
        proofs: &[verbench_toploc::Proof],
    ) -> Self {
        Self {
            model_hash,
            weight_format,
            sampling,
            topk: params.topk(),
            decode_batching_size: params.decode_batching_size(),
            prompt: prompt.to_vec(),
            output,
            proofs: proofs.iter().map(|p| p.to_base64()).collect(),
        }
    }

    /// The proof parameters the record was made with.
    pub fn proof_params(&self) -> Result<ProofParams> {
        Ok(ProofParams::new(self.topk, self.decode_batching_size)?)
    }
}

/// Options of one generation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerateOptions {
    /// Tokens to generate at most.
    pub max_new_tokens: usize,
    /// Greedy or seeded sampling.
    pub sampling: Sampling,
    /// Stop after emitting this token (usually the model's end-of-sequence token).
    pub stop_token: Option<u32>,
    /// KV cache storage (anything but `Full` models a cheaper, dishonest provider).
    pub kv_cache: KvCacheMode,
    /// Build TOPLOC proofs (`None`: plain generation, for benchmarks).
    pub proofs: Option<ProofParams>,
}

impl GenerateOptions {
    /// Greedy, `max_new_tokens` tokens, paper proof parameters, no stop token.
    pub fn greedy(max_new_tokens: usize) -> Self {
        Self {
            max_new_tokens,
            sampling: Sampling::Greedy,
            stop_token: None,
            kv_cache: KvCacheMode::Full,
            proofs: Some(ProofParams::paper_defaults()),
        }
    }
}

impl GenerateOptions {
    /// Checks a generation of these options from `prompt` on an engine of `context` positions:
    /// valid sampling, a non-empty prompt, at least one token, and room for them all.
    pub(crate) fn check(&self, prompt: &[u32], context: usize) -> Result<()> {
        self.sampling.check()?;
        if prompt.is_empty() {
            return Err(Error::EmptyPrompt);
        }
        if self.max_new_tokens == 0 {
            return Err(Error::InvalidParams("max_new_tokens must be > 0".into()));
        }
        if prompt.len() + self.max_new_tokens > context {
            return Err(Error::ContextOverflow {
                len: prompt.len() + self.max_new_tokens,
                max: context,
            });
        }
        Ok(())
    }
}

pub(crate) fn rows_f32(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

/// Generates from `prompt` with `model`, capturing the final hidden state of every position and
/// proving it on the fly. The record names `model`'s hash.
pub fn generate(model: &Llama, prompt: &[u32], opts: &GenerateOptions) -> Result<Record> {
    generate_observed(model, prompt, opts, |_, _| {})
}

/// [`generate`], handing `observe` the generator's logits row that chose each output position
/// (`observe(position, logits)`, called once per output token before it is chosen): the
/// generator side of calibration (`crate::calibration`).
pub fn generate_observed(
    model: &Llama,
    prompt: &[u32],
    opts: &GenerateOptions,
    mut observe: impl FnMut(usize, &[f32]),
) -> Result<Record> {
    opts.check(prompt, model.config().context_length)?;
    let hidden_size = model.config().hidden_size;
    let mut cache = crate::model::KvCache::new(opts.kv_cache);
    let mut builder = opts.proofs.map(ProofBuilder::new);
    let mut proofs = Vec::new();

    let h = model.forward(prompt, &mut cache)?;
    if let Some(b) = builder.as_mut() {
        let rows = rows_f32(&h)?;
        proofs.push(b.prefill(&Activations::f32(&rows, prompt.len(), hidden_size)?)?);
    }
    let last = h.narrow(0, prompt.len() - 1, 1)?;
    let mut logits = rows_f32(&model.logits(&last)?)?;
    let mut output = Vec::with_capacity(opts.max_new_tokens);
    loop {
        observe(output.len(), &logits);
        let tok = choose(&opts.sampling, output.len(), &logits);
        output.push(tok);
        let h = model.forward(&[tok], &mut cache)?;
        let done = output.len() == opts.max_new_tokens || opts.stop_token == Some(tok);
        if let Some(b) = builder.as_mut() {
            proofs.extend(b.push_row_f32(&rows_f32(&h)?)?);
        }
        if done {
            break;
        }
        logits = rows_f32(&model.logits(&h)?)?;
    }
    if let Some(b) = builder {
        proofs.extend(b.finish()?);
    }
    Ok(Record::generated(
        (model.hash(), model.format()),
        opts.sampling,
        opts.proofs.unwrap_or_else(ProofParams::paper_defaults),
        prompt,
        output,
        &proofs,
    ))
}

/// One token chosen among `candidates` (the one with the largest logit at the last prompt
/// position; the first on a tie), with TOPLOC proofs as [`generate`] builds them (prefill, then
/// one decode chunk of one row): multiple choice by restricted log-likelihood. Returns the record
/// (greedy, one output token) and the candidates' logits, in `candidates` order.
pub fn choose_among(
    model: &Llama,
    prompt: &[u32],
    candidates: &[u32],
    params: ProofParams,
) -> Result<(Record, Vec<f32>)> {
    if prompt.is_empty() {
        return Err(Error::EmptyPrompt);
    }
    if candidates.is_empty() {
        return Err(Error::InvalidParams("no candidate tokens".into()));
    }
    let max = model.config().context_length;
    if prompt.len() + 1 > max {
        return Err(Error::ContextOverflow {
            len: prompt.len() + 1,
            max,
        });
    }
    let hidden_size = model.config().hidden_size;
    let mut cache = crate::model::KvCache::new(KvCacheMode::Full);
    let mut builder = ProofBuilder::new(params);
    let mut proofs = Vec::new();
    let h = model.forward(prompt, &mut cache)?;
    proofs.push(builder.prefill(&Activations::f32(
        &rows_f32(&h)?,
        prompt.len(),
        hidden_size,
    )?)?);
    let logits = rows_f32(&model.logits(&h.narrow(0, prompt.len() - 1, 1)?)?)?;
    let picked = candidate_logits(&logits, candidates)?;
    let best = argmax_first(&picked);
    let choice = candidates[best];
    let h = model.forward(&[choice], &mut cache)?;
    proofs.extend(builder.push_row_f32(&rows_f32(&h)?)?);
    proofs.extend(builder.finish()?);
    let record = Record::generated(
        (model.hash(), model.format()),
        Sampling::Greedy,
        params,
        prompt,
        vec![choice],
        &proofs,
    );
    Ok((record, picked))
}

/// The logits of `candidates` from the row of logits that chooses output position `position`.
pub(crate) fn candidate_logits(logits: &[f32], candidates: &[u32]) -> Result<Vec<f32>> {
    candidates
        .iter()
        .map(|&t| {
            logits
                .get(t as usize)
                .copied()
                .ok_or(Error::TokenOutOfRange {
                    position: 0,
                    token: t,
                    vocab: logits.len(),
                })
        })
        .collect()
}

/// Index of the largest value, the first on a tie.
pub(crate) fn argmax_first(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Proofs built by ONE prefill of `model` over `prompt + output`: what a cheat who obtained the
/// tokens elsewhere publishes to look honest (and what a validator recomputes).
pub fn prove_by_prefill(
    model: &Llama,
    prompt: &[u32],
    output: &[u32],
    params: ProofParams,
) -> Result<Vec<String>> {
    let seq: Vec<u32> = prompt.iter().chain(output).copied().collect();
    let h = model.forward(&seq, &mut crate::model::KvCache::default())?;
    proofs_of_prefill_rows(
        &rows_f32(&h)?,
        prompt.len(),
        model.config().hidden_size,
        params,
    )
}

/// Base64 proofs of one prefill's hidden-state rows (`hidden_size` values each): the first
/// `prompt_len` rows are the prompt's, the rest the output's.
pub(crate) fn proofs_of_prefill_rows(
    rows: &[f32],
    prompt_len: usize,
    hidden_size: usize,
    params: ProofParams,
) -> Result<Vec<String>> {
    let split = prompt_len * hidden_size;
    if hidden_size == 0 || split > rows.len() || rows.len() % hidden_size != 0 {
        return Err(Error::InvalidParams(format!(
            "{} hidden-state values are not rows of {hidden_size} with {prompt_len} prompt rows",
            rows.len()
        )));
    }
    let pre = Activations::f32(&rows[..split], prompt_len, hidden_size)?;
    let dec = Activations::f32(
        &rows[split..],
        (rows.len() - split) / hidden_size,
        hidden_size,
    )?;
    let proofs = verbench_toploc::build_proofs(&params, Some(&pre), &dec)?;
    Ok(proofs.iter().map(|p| p.to_base64()).collect())
}

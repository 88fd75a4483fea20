//! Generation with TOPLOC proofs on llama.cpp (cargo feature `llamacpp`; issue 15).
//!
//! llama.cpp, built from source by the `llama-cpp-2` binding, runs the same GGUF the candle
//! generator runs. With embeddings on and no pooling, one llama.cpp decode returns both the logits
//! of every output position and its final-norm hidden state (`result_norm`): the logits choose the
//! token (greedy, or verbench's own seeded Gumbel-max rule of [`crate::sampling`], never llama.cpp's
//! sampler), and the hidden states are the rows TOPLOC proves. The record it writes is the one
//! [`crate::generate`] writes, so the validator (candle, dense, one prefill) judges it unchanged:
//! the cross-engine path (docs/performance.md, docs/detection.md).
//!
//! Positions follow [`crate::generate`]: the prefill proof covers every prompt position; output
//! token `0` is chosen from the last prompt position's logits; decode row `i` is the hidden state
//! computed when output token `i` is fed back; generation stops after `max_new_tokens` tokens or
//! after the stop token.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use llama_cpp_2::context::params::{LlamaContextParams, LlamaPoolingType};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use verbench_toploc::{Activations, ProofBuilder, ProofParams};

use crate::error::{Error, Result};
use crate::generate::{proofs_of_prefill_rows, GenerateOptions, Record};
use crate::hash::ModelHash;
use crate::model::{KvCacheMode, WeightFormat};
use crate::sampling::choose;

/// The engine's name in bundles and calibration keys.
pub const LLAMACPP_GENERATOR: &str =
    "verbench-inference/llama.cpp (llama-cpp-2 0.1.160): batched prefill, step-by-step decoding, f16 KV cache";

/// Largest context a session allocates (the model's training context if smaller).
const MAX_CONTEXT: u32 = 8192;

/// llama.cpp's process-wide backend: initialised once, never freed.
fn backend() -> Result<&'static LlamaBackend> {
    static BACKEND: OnceLock<std::result::Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            LlamaBackend::init()
                .map(|mut b| {
                    b.void_logs();
                    b
                })
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| engine_err("backend", e))
}

/// A GGUF loaded by llama.cpp (CPU).
pub struct LlamaCpp {
    model: LlamaModel,
    path: PathBuf,
    hash: ModelHash,
    threads: i32,
}

impl std::fmt::Debug for LlamaCpp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlamaCpp")
            .field("path", &self.path)
            .field("hash", &self.hash.to_hex())
            .field("threads", &self.threads)
            .finish()
    }
}

impl LlamaCpp {
    /// Loads `path` with `threads` CPU threads. The model's identity is the keccak256 of the file,
    /// as for the candle engine.
    pub fn load(path: impl AsRef<Path>, threads: usize) -> Result<Self> {
        let path = path.as_ref();
        let hash = ModelHash::of_files(&[path])?;
        let threads = i32::try_from(threads.max(1))
            .map_err(|_| Error::InvalidParams(format!("{threads} threads")))?;
        let model = LlamaModel::load_from_file(backend()?, path, &LlamaModelParams::default())
            .map_err(|e| Error::corrupt(path, format!("llama.cpp cannot load it: {e}")))?;
        Ok(Self {
            model,
            path: path.to_path_buf(),
            hash,
            threads,
        })
    }

    /// keccak256 of the weight file.
    pub fn hash(&self) -> ModelHash {
        self.hash
    }

    /// Width of the hidden state (the rows TOPLOC proves).
    pub fn hidden_size(&self) -> usize {
        usize::try_from(self.model.n_embd()).unwrap_or(0)
    }

    /// A generation context. With `hidden` off it generates without hidden states or proofs:
    /// llama.cpp's plain speed, the baseline of `inference-bench`.
    pub fn session(&self, hidden: bool) -> Result<Session<'_>> {
        let n_ctx = self.model.n_ctx_train().clamp(1, MAX_CONTEXT);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(n_ctx)
            .with_n_threads(self.threads)
            .with_n_threads_batch(self.threads)
            .with_embeddings(hidden)
            .with_pooling_type(LlamaPoolingType::None);
        let ctx = self
            .model
            .new_context(backend()?, params)
            .map_err(|e| engine_err("context", e))?;
        Ok(Session {
            engine: self,
            ctx,
            hidden,
            n_ctx: n_ctx as usize,
        })
    }
}

/// One llama.cpp context (its KV cache), reused item after item.
pub struct Session<'m> {
    engine: &'m LlamaCpp,
    ctx: LlamaContext<'m>,
    hidden: bool,
    n_ctx: usize,
}

/// A llama.cpp failure during `what`.
fn engine_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Engine(format!("llama.cpp {what}: {e}"))
}

impl Session<'_> {
    /// [`crate::generate`] on llama.cpp.
    pub fn generate(&mut self, prompt: &[u32], opts: &GenerateOptions) -> Result<Record> {
        self.generate_observed(prompt, opts, |_, _| {})
    }

    /// [`crate::generate_observed`] on llama.cpp: `observe(position, logits)` sees the row of
    /// logits that chooses each output position, before it is chosen.
    pub fn generate_observed(
        &mut self,
        prompt: &[u32],
        opts: &GenerateOptions,
        mut observe: impl FnMut(usize, &[f32]),
    ) -> Result<Record> {
        opts.check(prompt, self.n_ctx)?;
        if opts.kv_cache != KvCacheMode::Full {
            return Err(Error::InvalidParams(
                "the llama.cpp engine keeps its own full KV cache; other cache modes are candle-only"
                    .into(),
            ));
        }
        if opts.proofs.is_some() && !self.hidden {
            return Err(Error::InvalidParams(
                "proofs need a session opened with hidden states".into(),
            ));
        }
        self.check_tokens(prompt)?;
        let hs = self.engine.hidden_size();
        let mut builder = opts.proofs.map(ProofBuilder::new);
        let mut proofs = Vec::new();

        // Every prompt position is an output when proving (its hidden state is a prefill row);
        // the last one always is (its logits choose output token 0).
        let mut batch = self.prefill(prompt, self.hidden)?;
        if let Some(b) = builder.as_mut() {
            let rows = self.rows(prompt.len())?;
            proofs.push(b.prefill(&Activations::f32(&rows, prompt.len(), hs)?)?);
        }
        let mut logits_at = batch.n_tokens() - 1;
        let mut output = Vec::with_capacity(opts.max_new_tokens);
        loop {
            let tok = {
                let logits = self.ctx.get_logits_ith(logits_at);
                observe(output.len(), logits);
                choose(&opts.sampling, output.len(), logits)
            };
            output.push(tok);
            let done = output.len() == opts.max_new_tokens || opts.stop_token == Some(tok);
            if done && builder.is_none() {
                break;
            }
            batch.clear();
            batch
                .add(
                    token(tok),
                    (prompt.len() + output.len() - 1) as i32,
                    &[0],
                    true,
                )
                .map_err(|e| engine_err("batch", e))?;
            self.ctx
                .decode(&mut batch)
                .map_err(|e| engine_err("decode", e))?;
            if let Some(b) = builder.as_mut() {
                let row = self.row(0)?.to_vec();
                proofs.extend(b.push_row_f32(&row)?);
            }
            if done {
                break;
            }
            logits_at = 0;
        }
        if let Some(b) = builder {
            proofs.extend(b.finish()?);
        }
        Ok(Record::generated(
            (self.engine.hash, WeightFormat::Quantized),
            opts.sampling,
            opts.proofs.unwrap_or_else(ProofParams::paper_defaults),
            prompt,
            output,
            &proofs,
        ))
    }

    /// Proofs built from ONE llama.cpp decode over `prompt + output`, as
    /// [`crate::prove_by_prefill`] builds them on candle: what a cheat who obtained the tokens
    /// elsewhere publishes (the detection matrix's other-system-prompt case on this engine).
    pub fn prove_by_prefill(
        &mut self,
        prompt: &[u32],
        output: &[u32],
        params: ProofParams,
    ) -> Result<Vec<String>> {
        if !self.hidden {
            return Err(Error::InvalidParams(
                "proofs need a session opened with hidden states".into(),
            ));
        }
        if prompt.is_empty() {
            return Err(Error::EmptyPrompt);
        }
        let seq: Vec<u32> = prompt.iter().chain(output).copied().collect();
        self.check_tokens(&seq)?;
        if seq.len() > self.n_ctx {
            return Err(Error::ContextOverflow {
                len: seq.len(),
                max: self.n_ctx,
            });
        }
        self.prefill(&seq, true)?;
        let rows = self.rows(seq.len())?;
        proofs_of_prefill_rows(&rows, prompt.len(), self.engine.hidden_size(), params)
    }

    /// One decode of `tokens` from an empty KV cache; every position is an output when `all`,
    /// else only the last. Returns the batch (its last index holds the last logits).
    fn prefill(&mut self, tokens: &[u32], all: bool) -> Result<LlamaBatch<'static>> {
        self.ctx.clear_kv_cache();
        let mut batch = LlamaBatch::new(tokens.len(), 1);
        for (i, &tok) in tokens.iter().enumerate() {
            batch
                .add(token(tok), i as i32, &[0], all || i + 1 == tokens.len())
                .map_err(|e| engine_err("batch", e))?;
        }
        self.ctx
            .decode(&mut batch)
            .map_err(|e| engine_err("prefill", e))?;
        Ok(batch)
    }

    /// The hidden states of the last decode's first `n` outputs, row after row.
    fn rows(&self, n: usize) -> Result<Vec<f32>> {
        let mut rows = Vec::with_capacity(n * self.engine.hidden_size());
        for i in 0..n {
            rows.extend_from_slice(self.row(i as i32)?);
        }
        Ok(rows)
    }

    /// Every token id inside the vocabulary (llama.cpp would refuse the batch less clearly).
    fn check_tokens(&self, tokens: &[u32]) -> Result<()> {
        let vocab = usize::try_from(self.engine.model.n_vocab()).unwrap_or(0);
        match tokens.iter().position(|&t| t as usize >= vocab) {
            Some(position) => Err(Error::TokenOutOfRange {
                position,
                token: tokens[position],
                vocab,
            }),
            None => Ok(()),
        }
    }

    /// The final-norm hidden state of output `i` of the last decode.
    fn row(&self, i: i32) -> Result<&[f32]> {
        let row = self
            .ctx
            .embeddings_ith(i)
            .map_err(|e| engine_err("hidden state", e))?;
        if row.len() != self.engine.hidden_size() {
            return Err(Error::Engine(format!(
                "llama.cpp returned a hidden state of {} values, the model's width is {}",
                row.len(),
                self.engine.hidden_size()
            )));
        }
        Ok(row)
    }
}

fn token(t: u32) -> LlamaToken {
    LlamaToken(t as i32)
}

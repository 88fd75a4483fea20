//! The public model type: weights in one [`WeightFormat`], the hash of the file they came from,
//! and a decoder of one of the architectures in [`crate::arch`], returning the final normalized
//! hidden state (the input to the LM head) of every position it processes.
//!
//! The same code runs over quantized weights (GGUF `QTensor`s through candle's `QMatMul`) or over
//! dense weights (dequantized once at load, f32 or f16), chosen per model instance by
//! [`WeightFormat`]; nothing reads candle's global `CANDLE_DEQUANTIZE_ALL` switches. A KV cache
//! serves decoding (optionally round-tripped through int8 or fp8 to model a cheaper provider),
//! and packed batches of several sequences run in one forward pass.

use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::QTensor;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::arch::{self, Decoder, Rows};
use crate::error::{Error, Result};
use crate::hash::ModelHash;

pub(crate) use crate::arch::GgufFile;

/// How a model instance holds its matrices, and therefore which arithmetic its matmuls run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WeightFormat {
    /// Quantized blocks as stored in the GGUF file (candle's quantized vec-dot kernels).
    Quantized,
    /// Dequantized to f32 at load: dense gemm, the fast prefill path used to validate.
    DenseF32,
    /// Dequantized to f16 at load; matmul inputs are rounded to f16 (f16 activations).
    DenseF16,
}

/// How the KV cache stores keys and values while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum KvCacheMode {
    /// f32, as computed.
    #[default]
    Full,
    /// Each key/value vector (one token, one KV head) stored as int8 with one f32 scale
    /// (`absmax / 127`), i.e. round-tripped through 8 bits before attention reads it.
    Int8PerToken,
    /// Keys and values cast to fp8 e4m3 (no scale) and back.
    Fp8E4M3,
}

/// Shape and numeric constants of a model (architecture-specific constants, such as Gemma 3's
/// sliding window, stay inside its decoder).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: usize,
    /// Width of the residual stream and of the hidden states proven.
    pub hidden_size: usize,
    /// Width of the MLP.
    pub intermediate_size: usize,
    /// Decoder blocks.
    pub num_layers: usize,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `num_heads`).
    pub num_kv_heads: usize,
    /// Width of one attention head (`hidden_size / num_heads` for Llama; 256 for Gemma 3).
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base frequency (of the global-attention layers, for Gemma 3).
    pub rope_theta: f32,
    /// Maximum positions (prompt + output).
    pub context_length: usize,
    /// RoPE over interleaved pairs (GGUF llama layout) instead of rotated halves.
    pub rope_interleaved: bool,
}

/// Per-layer keys and values of the positions processed so far, `[kv_heads, t, head_dim]`.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    pub(crate) layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
    pub(crate) mode: KvCacheMode,
}

impl KvCache {
    /// An empty cache storing keys and values as `mode` says.
    pub fn new(mode: KvCacheMode) -> Self {
        Self {
            layers: Vec::new(),
            len: 0,
            mode,
        }
    }

    /// Positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A matrix produced by [`Model::derive`].
#[derive(Debug)]
pub enum DerivedWeight {
    /// Dense f32 values.
    Dense(Tensor),
    /// Quantized blocks (used as such when the derived model is [`WeightFormat::Quantized`]).
    Quantized(QTensor),
}

/// A loaded model of any supported architecture: weights in one [`WeightFormat`], its
/// [`Config`] and its [`ModelHash`]. Cheap to clone (the weights are shared).
#[derive(Debug, Clone)]
pub struct Model {
    inner: Arc<dyn Decoder>,
}

/// The name this type had when Llama was the only family; kept so callers need not change.
pub type Llama = Model;

impl Model {
    /// Loads a GGUF file of any supported architecture (chosen by `general.architecture`),
    /// keeping the weights as `format` says, on `device`. The model hash is the keccak256 of
    /// the file's bytes.
    pub fn from_gguf(
        path: impl AsRef<Path>,
        format: WeightFormat,
        device: &Device,
    ) -> Result<Self> {
        let path = path.as_ref();
        let hash = ModelHash::of_files(&[path])?;
        let mut g = GgufFile::open(path)?;
        Self::from_gguf_file(&mut g, format, device, hash)
    }

    pub(crate) fn from_gguf_file(
        g: &mut GgufFile,
        format: WeightFormat,
        device: &Device,
        hash: ModelHash,
    ) -> Result<Self> {
        let arch = g.architecture()?;
        let (_, load) = arch::ARCHITECTURES
            .iter()
            .find(|(name, _)| *name == arch)
            .ok_or_else(|| Error::UnsupportedArchitecture {
                path: g.path.clone(),
                arch: arch.clone(),
            })?;
        Ok(Self {
            inner: load(g, format, device, hash)?,
        })
    }

    /// Loads a Hugging Face style Llama directory: `config.json` and `*.safetensors` (dense
    /// weights, kept as f32 or f16 per `format`; [`WeightFormat::Quantized`] keeps f32). The
    /// model hash covers the safetensors files (see [`ModelHash::of_files`]).
    pub fn from_safetensors_dir(
        dir: impl AsRef<Path>,
        format: WeightFormat,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            inner: arch::llama::from_safetensors_dir(dir.as_ref(), format, device)?,
        })
    }

    /// The architecture (GGUF `general.architecture`: `"llama"`, `"gemma3"`).
    pub fn architecture(&self) -> &'static str {
        self.inner.architecture()
    }

    /// Shape and constants.
    pub fn config(&self) -> &Config {
        self.inner.config()
    }

    /// How the weights are held (recorded with every generation).
    pub fn format(&self) -> WeightFormat {
        self.inner.format()
    }

    /// The content hash of the weight file(s) this model was loaded from.
    pub fn hash(&self) -> ModelHash {
        self.inner.hash()
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        self.inner.device()
    }

    /// A copy of this model whose every matrix went through `f` (dense f32 in, dense f32 out),
    /// held as `format`: re-quantized, noised or otherwise altered models for experiments.
    /// The copy gets `hash`, since it no longer matches any file. Matrices are named as in the
    /// GGUF file without `.weight` (`blk.3.attn_q`, `output`, `token_embd`).
    pub fn derive(
        &self,
        format: WeightFormat,
        hash: ModelHash,
        mut f: impl FnMut(&str, Tensor) -> Result<DerivedWeight>,
    ) -> Result<Self> {
        Ok(Self {
            inner: self.inner.derive(format, hash, &mut f)?,
        })
    }

    /// A copy holding the same weights in another format (e.g. the dense twin of a quantized
    /// model, for validation). Keeps the hash: the weights are the committed ones.
    pub fn with_format(&self, format: WeightFormat) -> Result<Self> {
        self.derive(format, self.hash(), |_, t| Ok(DerivedWeight::Dense(t)))
    }

    /// Hidden states `[tokens.len(), hidden]` (after the final norm) of `tokens` appended at
    /// the end of `cache` (which is updated).
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let t = tokens.len();
        let start = cache.len;
        let max = self.config().context_length;
        if start + t > max {
            return Err(Error::ContextOverflow {
                len: start + t,
                max,
            });
        }
        let layers = self.config().num_layers;
        if cache.layers.len() != layers {
            cache.layers = vec![None; layers];
        }
        let h = self
            .inner
            .run(tokens, &Rows::cached(start, t), Some(&mut *cache))?;
        cache.len += t;
        Ok(h)
    }

    /// Hidden states of several independent sequences computed in ONE forward pass: the
    /// sequences are packed end to end with a block-diagonal causal mask (windowed in
    /// sliding-window layers) and per-sequence positions. Returns one `[len, hidden]` tensor
    /// per sequence.
    pub fn forward_packed(&self, seqs: &[&[u32]]) -> Result<Vec<Tensor>> {
        let max = self.config().context_length;
        if let Some(s) = seqs.iter().find(|s| s.len() > max) {
            return Err(Error::ContextOverflow { len: s.len(), max });
        }
        let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let tokens: Vec<u32> = seqs.iter().flat_map(|s| s.iter().copied()).collect();
        let h = self.inner.run(&tokens, &Rows::packed(&lens), None)?;
        let mut out = Vec::with_capacity(seqs.len());
        let mut at = 0;
        for n in lens {
            out.push(h.narrow(0, at, n)?);
            at += n;
        }
        Ok(out)
    }

    /// Logits `[rows, vocab]` from hidden states `[rows, hidden]` (including the final
    /// soft-capping of architectures that have one).
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        self.inner.logits(hidden)
    }

    /// For a Gemma 3 model: a copy whose MLP applies SiLU instead of GELU-tanh, which is what
    /// candle-transformers 0.9's `quantized_gemma3` does (candle issue #3745). Exists only so
    /// the tests can compare everything else against that independent implementation; wrong
    /// for inference. `None` for other architectures.
    #[doc(hidden)]
    pub fn gemma3_with_silu_mlp_for_reference(&self) -> Option<Self> {
        self.inner.as_gemma3().map(|g| Self {
            inner: Arc::new(g.with_activation(arch::gemma3::Activation::Silu)),
        })
    }
}

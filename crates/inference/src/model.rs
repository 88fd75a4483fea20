//! A Llama-family decoder written for this crate, returning the final normalized hidden state
//! (the input to the LM head) of every position it processes.
//!
//! The same code runs over quantized weights (GGUF `QTensor`s through candle's `QMatMul`) or over
//! dense weights (dequantized once at load, f32 or f16), chosen per model instance by
//! [`WeightFormat`]; nothing reads candle's global `CANDLE_DEQUANTIZE_ALL` switches.
//!
//! Supported: RoPE (interleaved pairs for GGUF files, whose q/k rows llama.cpp permuted; rotated
//! halves for Hugging Face safetensors), grouped-query attention, RMSNorm, SiLU-gated MLP, tied
//! embeddings, a KV cache for decoding (optionally round-tripped through int8 to model a cheaper
//! provider), and packed batches of several sequences in one forward pass.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::quantized::{gguf_file, GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor, D};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::ModelHash;

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

/// Shape and numeric constants of a Llama-family model.
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
    /// `hidden_size / num_heads`.
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base frequency.
    pub rope_theta: f32,
    /// Maximum positions (prompt + output).
    pub context_length: usize,
    /// RoPE over interleaved pairs (GGUF layout) instead of rotated halves (HF layout).
    pub rope_interleaved: bool,
}

/// A matrix `[out, in]` applied to rows `[t, in]`.
#[derive(Debug, Clone)]
enum Linear {
    Quantized(QMatMul),
    Dense(Tensor),
    DenseF16(Tensor),
}

impl Linear {
    fn from_qtensor(q: Arc<QTensor>, format: WeightFormat, device: &Device) -> Result<Self> {
        Ok(match format {
            WeightFormat::Quantized => match q.dtype() {
                GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16 => {
                    Self::Dense(q.dequantize(device)?)
                }
                _ => Self::Quantized(QMatMul::QTensor(q)),
            },
            WeightFormat::DenseF32 => Self::Dense(q.dequantize(device)?),
            WeightFormat::DenseF16 => Self::DenseF16(q.dequantize(device)?.to_dtype(DType::F16)?),
        })
    }

    fn from_dense(w: Tensor, format: WeightFormat) -> Result<Self> {
        Ok(match format {
            WeightFormat::DenseF16 => Self::DenseF16(w.to_dtype(DType::F16)?),
            // Quantized is not offered for safetensors checkpoints; they stay dense.
            _ => Self::Dense(w.to_dtype(DType::F32)?),
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Self::Quantized(m) => m.forward(x)?,
            Self::Dense(w) => x.matmul(&w.t()?)?,
            Self::DenseF16(w) => x
                .to_dtype(DType::F16)?
                .matmul(&w.t()?)?
                .to_dtype(DType::F32)?,
        })
    }

    /// The matrix as dense f32 (for deriving other models from this one).
    fn dense_f32(&self) -> Result<Tensor> {
        Ok(match self {
            Self::Quantized(QMatMul::QTensor(q)) => q.dequantize(&q.device())?,
            Self::Quantized(QMatMul::Tensor(t)) | Self::Dense(t) => t.to_dtype(DType::F32)?,
            Self::Quantized(QMatMul::TensorF16(t)) | Self::DenseF16(t) => t.to_dtype(DType::F32)?,
        })
    }
}

#[derive(Debug, Clone)]
struct Block {
    attn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    ffn_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// Per-layer keys and values of the positions processed so far, `[kv_heads, t, head_dim]`.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
    mode: KvCacheMode,
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

/// A loaded model: weights in one [`WeightFormat`], its [`Config`] and its [`ModelHash`].
#[derive(Debug, Clone)]
pub struct Llama {
    config: Config,
    format: WeightFormat,
    hash: ModelHash,
    device: Device,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    lm_head: Linear,
    cos: Tensor,
    sin: Tensor,
}

fn rope_tables(cfg: &Config, device: &Device) -> Result<(Tensor, Tensor)> {
    let half = cfg.head_dim / 2;
    let inv: Vec<f32> = (0..half)
        .map(|i| 1.0 / cfg.rope_theta.powf((2 * i) as f32 / cfg.head_dim as f32))
        .collect();
    let mut angles = Vec::with_capacity(cfg.context_length * half);
    for p in 0..cfg.context_length {
        angles.extend(inv.iter().map(|f| p as f32 * f));
    }
    let angles = Tensor::from_vec(angles, (cfg.context_length, half), device)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// Reads GGUF metadata `key` as u32 / f32.
fn md<'a>(ct: &'a gguf_file::Content, path: &Path, key: &str) -> Result<&'a gguf_file::Value> {
    ct.metadata
        .get(key)
        .ok_or_else(|| Error::missing(path, format!("metadata {key}")))
}

fn md_usize(ct: &gguf_file::Content, path: &Path, key: &str) -> Result<usize> {
    let v = md(ct, path, key)?;
    v.to_u32()
        .map(|x| x as usize)
        .or_else(|_| v.to_u64().map(|x| x as usize))
        .map_err(|e| Error::corrupt(path, format!("{key}: {e}")))
}

/// A GGUF file opened and parsed (header, metadata, tensor index), tensors not yet read.
pub(crate) struct GgufFile {
    pub(crate) path: PathBuf,
    pub(crate) content: gguf_file::Content,
    pub(crate) file: std::fs::File,
}

impl GgufFile {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let mut file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let content = gguf_file::Content::read(&mut file).map_err(|e| Error::corrupt(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            content,
            file,
        })
    }

    fn tensor(&mut self, name: &str, device: &Device) -> Result<Arc<QTensor>> {
        if !self.content.tensor_infos.contains_key(name) {
            return Err(Error::missing(&self.path, format!("tensor {name}")));
        }
        self.content
            .tensor(&mut self.file, name, device)
            .map(Arc::new)
            .map_err(|e| Error::corrupt(&self.path, format!("tensor {name}: {e}")))
    }
}

impl Llama {
    /// Loads a llama-family GGUF file, keeping the weights as `format` says, on `device`.
    /// The model hash is the keccak256 of the file's bytes.
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
        let path = g.path.clone();
        let arch = md(&g.content, &path, "general.architecture")?
            .to_string()
            .map_err(|e| Error::corrupt(&path, e))?
            .clone();
        if arch != "llama" {
            return Err(Error::UnsupportedArchitecture { path, arch });
        }
        let ct = &g.content;
        let num_heads = md_usize(ct, &path, "llama.attention.head_count")?;
        let hidden_size = md_usize(ct, &path, "llama.embedding_length")?;
        let head_dim = md_usize(ct, &path, "llama.rope.dimension_count")
            .unwrap_or(hidden_size / num_heads.max(1));
        let rms_norm_eps = md(ct, &path, "llama.attention.layer_norm_rms_epsilon")?
            .to_f32()
            .map_err(|e| Error::corrupt(&path, e))? as f64;
        let rope_theta = ct
            .metadata
            .get("llama.rope.freq_base")
            .and_then(|v| v.to_f32().ok())
            .unwrap_or(10_000.0);
        let mut config = Config {
            vocab_size: 0,
            hidden_size,
            intermediate_size: md_usize(ct, &path, "llama.feed_forward_length")?,
            num_layers: md_usize(ct, &path, "llama.block_count")?,
            num_heads,
            num_kv_heads: md_usize(ct, &path, "llama.attention.head_count_kv").unwrap_or(num_heads),
            head_dim,
            rms_norm_eps,
            rope_theta,
            context_length: md_usize(ct, &path, "llama.context_length").unwrap_or(2048),
            rope_interleaved: true,
        };
        if num_heads == 0 || config.num_kv_heads == 0 || num_heads % config.num_kv_heads != 0 {
            return Err(Error::corrupt(&path, "inconsistent head counts"));
        }
        let embed_q = g.tensor("token_embd.weight", device)?;
        let embed = embed_q.dequantize(device)?;
        config.vocab_size = embed.dim(0)?;
        let norm = g.tensor("output_norm.weight", device)?.dequantize(device)?;
        let lm_head = if g.content.tensor_infos.contains_key("output.weight") {
            Linear::from_qtensor(g.tensor("output.weight", device)?, format, device)?
        } else {
            match format {
                WeightFormat::Quantized => Linear::from_qtensor(embed_q, format, device)?,
                WeightFormat::DenseF32 => Linear::Dense(embed.clone()),
                WeightFormat::DenseF16 => Linear::DenseF16(embed.to_dtype(DType::F16)?),
            }
        };
        let mut blocks = Vec::with_capacity(config.num_layers);
        for i in 0..config.num_layers {
            let mut lin = |n: &str| -> Result<Linear> {
                Linear::from_qtensor(
                    g.tensor(&format!("blk.{i}.{n}.weight"), device)?,
                    format,
                    device,
                )
            };
            let (wq, wk, wv, wo) = (
                lin("attn_q")?,
                lin("attn_k")?,
                lin("attn_v")?,
                lin("attn_output")?,
            );
            let (gate, up, down) = (lin("ffn_gate")?, lin("ffn_up")?, lin("ffn_down")?);
            blocks.push(Block {
                attn_norm: g
                    .tensor(&format!("blk.{i}.attn_norm.weight"), device)?
                    .dequantize(device)?,
                ffn_norm: g
                    .tensor(&format!("blk.{i}.ffn_norm.weight"), device)?
                    .dequantize(device)?,
                wq,
                wk,
                wv,
                wo,
                gate,
                up,
                down,
            });
        }
        let (cos, sin) = rope_tables(&config, device)?;
        Ok(Self {
            config,
            format,
            hash,
            device: device.clone(),
            embed,
            blocks,
            norm,
            lm_head,
            cos,
            sin,
        })
    }

    /// Loads a Hugging Face style directory: `config.json` and `*.safetensors` (dense weights,
    /// kept as f32 or f16 per `format`; [`WeightFormat::Quantized`] keeps f32). The model hash
    /// covers the safetensors files (see [`ModelHash::of_files`]).
    pub fn from_safetensors_dir(
        dir: impl AsRef<Path>,
        format: WeightFormat,
        device: &Device,
    ) -> Result<Self> {
        let dir = dir.as_ref();
        let cfg_path = dir.join("config.json");
        let text = std::fs::read_to_string(&cfg_path).map_err(|source| Error::Io {
            path: cfg_path.clone(),
            source,
        })?;
        let hf: HfConfig = serde_json::from_str(&text).map_err(|e| Error::corrupt(&cfg_path, e))?;
        if let Some(mt) = &hf.model_type {
            if mt != "llama" {
                return Err(Error::UnsupportedArchitecture {
                    path: cfg_path,
                    arch: mt.clone(),
                });
            }
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::missing(dir, "*.safetensors"));
        }
        let hash = ModelHash::of_files(&files)?;
        let mut tensors: HashMap<String, Tensor> = HashMap::new();
        for f in &files {
            let t = candle_core::safetensors::load(f, device).map_err(|e| Error::corrupt(f, e))?;
            tensors.extend(t);
        }
        let num_heads = hf.num_attention_heads;
        let config = Config {
            vocab_size: hf.vocab_size,
            hidden_size: hf.hidden_size,
            intermediate_size: hf.intermediate_size,
            num_layers: hf.num_hidden_layers,
            num_heads,
            num_kv_heads: hf.num_key_value_heads.unwrap_or(num_heads),
            head_dim: hf.head_dim.unwrap_or(hf.hidden_size / num_heads.max(1)),
            rms_norm_eps: hf.rms_norm_eps,
            rope_theta: hf.rope_theta.unwrap_or(10_000.0),
            context_length: hf.max_position_embeddings.unwrap_or(2048),
            rope_interleaved: false,
        };
        if num_heads == 0 || config.num_kv_heads == 0 || num_heads % config.num_kv_heads != 0 {
            return Err(Error::corrupt(&cfg_path, "inconsistent head counts"));
        }
        let mut take = |name: &str| -> Result<Tensor> {
            let t = tensors
                .remove(name)
                .ok_or_else(|| Error::missing(dir, format!("tensor {name}")))?;
            Ok(t.to_dtype(DType::F32)?)
        };
        let embed = take("model.embed_tokens.weight")?;
        let norm = take("model.norm.weight")?;
        let lm_head = match take("lm_head.weight") {
            Ok(w) => Linear::from_dense(w, format)?,
            Err(_) => Linear::from_dense(embed.clone(), format)?,
        };
        let mut blocks = Vec::with_capacity(config.num_layers);
        for i in 0..config.num_layers {
            let p = format!("model.layers.{i}");
            let mut lin = |n: &str| -> Result<Linear> {
                Linear::from_dense(take(&format!("{p}.{n}.weight"))?, format)
            };
            let (wq, wk, wv, wo) = (
                lin("self_attn.q_proj")?,
                lin("self_attn.k_proj")?,
                lin("self_attn.v_proj")?,
                lin("self_attn.o_proj")?,
            );
            let (gate, up, down) = (
                lin("mlp.gate_proj")?,
                lin("mlp.up_proj")?,
                lin("mlp.down_proj")?,
            );
            blocks.push(Block {
                attn_norm: take(&format!("{p}.input_layernorm.weight"))?,
                ffn_norm: take(&format!("{p}.post_attention_layernorm.weight"))?,
                wq,
                wk,
                wv,
                wo,
                gate,
                up,
                down,
            });
        }
        let (cos, sin) = rope_tables(&config, device)?;
        let format = if format == WeightFormat::Quantized {
            WeightFormat::DenseF32
        } else {
            format
        };
        Ok(Self {
            config,
            format,
            hash,
            device: device.clone(),
            embed,
            blocks,
            norm,
            lm_head,
            cos,
            sin,
        })
    }

    /// Shape and constants.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How the weights are held (recorded with every generation).
    pub fn format(&self) -> WeightFormat {
        self.format
    }

    /// The content hash of the weight file(s) this model was loaded from.
    pub fn hash(&self) -> ModelHash {
        self.hash
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// A copy of this model whose every matrix went through `f` (dense f32 in, dense f32 out),
    /// held as `format`: re-quantized, noised or otherwise altered models for experiments.
    /// The copy gets `hash`, since it no longer matches any file.
    pub fn derive(
        &self,
        format: WeightFormat,
        hash: ModelHash,
        mut f: impl FnMut(&str, Tensor) -> Result<DerivedWeight>,
    ) -> Result<Self> {
        let mut conv = |name: &str, l: &Linear| -> Result<Linear> {
            let w = l.dense_f32()?;
            Ok(match f(name, w)? {
                DerivedWeight::Dense(t) => Linear::from_dense(t, format)?,
                DerivedWeight::Quantized(q) => {
                    Linear::from_qtensor(Arc::new(q), format, &self.device)?
                }
            })
        };
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for (i, b) in self.blocks.iter().enumerate() {
            blocks.push(Block {
                attn_norm: b.attn_norm.clone(),
                ffn_norm: b.ffn_norm.clone(),
                wq: conv(&format!("blk.{i}.attn_q"), &b.wq)?,
                wk: conv(&format!("blk.{i}.attn_k"), &b.wk)?,
                wv: conv(&format!("blk.{i}.attn_v"), &b.wv)?,
                wo: conv(&format!("blk.{i}.attn_output"), &b.wo)?,
                gate: conv(&format!("blk.{i}.ffn_gate"), &b.gate)?,
                up: conv(&format!("blk.{i}.ffn_up"), &b.up)?,
                down: conv(&format!("blk.{i}.ffn_down"), &b.down)?,
            });
        }
        let lm_head = conv("output", &self.lm_head)?;
        // The embedding follows the (possibly tied) head when it was altered the same way.
        let embed = match f("token_embd", self.embed.clone())? {
            DerivedWeight::Dense(t) => t,
            DerivedWeight::Quantized(q) => q.dequantize(&self.device)?,
        };
        Ok(Self {
            config: self.config.clone(),
            format,
            hash,
            device: self.device.clone(),
            embed,
            blocks,
            norm: self.norm.clone(),
            lm_head,
            cos: self.cos.clone(),
            sin: self.sin.clone(),
        })
    }

    /// A copy holding the same weights in another format (e.g. the dense twin of a quantized
    /// model, for validation). Keeps the hash: the weights are the committed ones.
    pub fn with_format(&self, format: WeightFormat) -> Result<Self> {
        self.derive(format, self.hash, |_, t| Ok(DerivedWeight::Dense(t)))
    }

    /// Hidden states `[tokens.len(), hidden]` (after the final RMSNorm) of `tokens` appended at
    /// the end of `cache` (which is updated).
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let t = tokens.len();
        let start = cache.len;
        if start + t > self.config.context_length {
            return Err(Error::ContextOverflow {
                len: start + t,
                max: self.config.context_length,
            });
        }
        let cos = self.cos.narrow(0, start, t)?;
        let sin = self.sin.narrow(0, start, t)?;
        let mask = if t > 1 {
            let mut m = vec![0f32; t * (start + t)];
            for i in 0..t {
                for j in (start + i + 1)..(start + t) {
                    m[i * (start + t) + j] = f32::NEG_INFINITY;
                }
            }
            Some(Tensor::from_vec(m, (t, start + t), &self.device)?)
        } else {
            None
        };
        if cache.layers.len() != self.blocks.len() {
            cache.layers = vec![None; self.blocks.len()];
        }
        let h = self.run(tokens, &cos, &sin, mask.as_ref(), Some(cache))?;
        cache.len += t;
        Ok(h)
    }

    /// Hidden states of several independent sequences computed in ONE forward pass: the
    /// sequences are packed end to end with a block-diagonal causal mask and per-sequence
    /// positions. Returns one `[len, hidden]` tensor per sequence.
    pub fn forward_packed(&self, seqs: &[&[u32]]) -> Result<Vec<Tensor>> {
        let total: usize = seqs.iter().map(|s| s.len()).sum();
        let mut tokens = Vec::with_capacity(total);
        let mut pos = Vec::with_capacity(total);
        let mut seq_of = Vec::with_capacity(total);
        for (k, s) in seqs.iter().enumerate() {
            if s.len() > self.config.context_length {
                return Err(Error::ContextOverflow {
                    len: s.len(),
                    max: self.config.context_length,
                });
            }
            tokens.extend_from_slice(s);
            pos.extend(0..s.len() as u32);
            seq_of.extend(std::iter::repeat_n(k, s.len()));
        }
        let mut m = vec![0f32; total * total];
        for i in 0..total {
            for j in 0..total {
                if seq_of[i] != seq_of[j] || j > i {
                    m[i * total + j] = f32::NEG_INFINITY;
                }
            }
        }
        let mask = Tensor::from_vec(m, (total, total), &self.device)?;
        let pos = Tensor::new(pos.as_slice(), &self.device)?;
        let cos = self.cos.index_select(&pos, 0)?;
        let sin = self.sin.index_select(&pos, 0)?;
        let h = self.run(&tokens, &cos, &sin, Some(&mask), None)?;
        let mut out = Vec::with_capacity(seqs.len());
        let mut at = 0;
        for s in seqs {
            out.push(h.narrow(0, at, s.len())?);
            at += s.len();
        }
        Ok(out)
    }

    /// Logits `[rows, vocab]` from hidden states `[rows, hidden]`.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        self.lm_head.forward(hidden)
    }

    fn run(
        &self,
        tokens: &[u32],
        cos: &Tensor,
        sin: &Tensor,
        mask: Option<&Tensor>,
        mut cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let cfg = &self.config;
        for (i, &tok) in tokens.iter().enumerate() {
            if tok as usize >= cfg.vocab_size {
                return Err(Error::TokenOutOfRange {
                    position: i,
                    token: tok,
                    vocab: cfg.vocab_size,
                });
            }
        }
        let t = tokens.len();
        let ids = Tensor::new(tokens, &self.device)?;
        let mut x = self.embed.index_select(&ids, 0)?;
        let eps = cfg.rms_norm_eps as f32;
        let (nh, nkv, hd) = (cfg.num_heads, cfg.num_kv_heads, cfg.head_dim);
        let groups = nh / nkv;
        let scale = 1.0 / (hd as f64).sqrt();
        for (li, b) in self.blocks.iter().enumerate() {
            let h = candle_nn::ops::rms_norm(&x, &b.attn_norm, eps)?;
            let q =
                b.wq.forward(&h)?
                    .reshape((t, nh, hd))?
                    .transpose(0, 1)?
                    .contiguous()?;
            let k =
                b.wk.forward(&h)?
                    .reshape((t, nkv, hd))?
                    .transpose(0, 1)?
                    .contiguous()?;
            let v =
                b.wv.forward(&h)?
                    .reshape((t, nkv, hd))?
                    .transpose(0, 1)?
                    .contiguous()?;
            let (q, k) = if cfg.rope_interleaved {
                (
                    candle_nn::rotary_emb::rope_i(&q.unsqueeze(0)?, cos, sin)?.squeeze(0)?,
                    candle_nn::rotary_emb::rope_i(&k.unsqueeze(0)?, cos, sin)?.squeeze(0)?,
                )
            } else {
                (
                    candle_nn::rotary_emb::rope(&q.unsqueeze(0)?, cos, sin)?.squeeze(0)?,
                    candle_nn::rotary_emb::rope(&k.unsqueeze(0)?, cos, sin)?.squeeze(0)?,
                )
            };
            let (k, v) = match cache.as_deref_mut() {
                None => (k, v),
                Some(c) => {
                    let (k, v) = match c.mode {
                        KvCacheMode::Full => (k, v),
                        KvCacheMode::Int8PerToken => (int8_roundtrip(&k)?, int8_roundtrip(&v)?),
                        KvCacheMode::Fp8E4M3 => (
                            k.to_dtype(DType::F8E4M3)?.to_dtype(DType::F32)?,
                            v.to_dtype(DType::F8E4M3)?.to_dtype(DType::F32)?,
                        ),
                    };
                    let (k, v) = match &c.layers[li] {
                        None => (k, v),
                        Some((pk, pv)) => (Tensor::cat(&[pk, &k], 1)?, Tensor::cat(&[pv, &v], 1)?),
                    };
                    c.layers[li] = Some((k.clone(), v.clone()));
                    (k, v)
                }
            };
            let tk = k.dim(1)?;
            // Grouped-query attention without repeating K/V: the query heads sharing one KV
            // head are stacked along the row axis, [nkv, groups * t, hd].
            let qg = q.reshape((nkv, groups * t, hd))?;
            let att = (qg.matmul(&k.t()?)? * scale)?;
            let att = match mask {
                None => att,
                Some(m) => att
                    .reshape((nkv, groups, t, tk))?
                    .broadcast_add(m)?
                    .reshape((nkv, groups * t, tk))?,
            };
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let y = att.matmul(&v)?; // [nkv, groups*t, hd]
            let y = y
                .reshape((nh, t, hd))?
                .transpose(0, 1)?
                .reshape((t, nh * hd))?;
            x = (x + b.wo.forward(&y)?)?;
            let h = candle_nn::ops::rms_norm(&x, &b.ffn_norm, eps)?;
            let g = candle_nn::ops::silu(&b.gate.forward(&h)?)?;
            let u = b.up.forward(&h)?;
            x = (x + b.down.forward(&(g * u)?)?)?;
        }
        Ok(candle_nn::ops::rms_norm(&x, &self.norm, eps)?)
    }
}

/// Rounds each last-axis vector through int8 with its own scale `absmax / 127`.
fn int8_roundtrip(x: &Tensor) -> Result<Tensor> {
    let scale = (x.abs()?.max_keepdim(D::Minus1)? / 127.0)?;
    let scale = scale.maximum(1e-12)?;
    let q = x.broadcast_div(&scale)?.round()?.clamp(-127f32, 127f32)?;
    Ok(q.broadcast_mul(&scale)?)
}

/// A matrix produced by [`Llama::derive`].
#[derive(Debug)]
pub enum DerivedWeight {
    /// Dense f32 values.
    Dense(Tensor),
    /// Quantized blocks (used as such when the derived model is [`WeightFormat::Quantized`]).
    Quantized(QTensor),
}

/// The subset of a Hugging Face `config.json` this crate reads.
#[derive(Debug, Deserialize)]
struct HfConfig {
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    rms_norm_eps: f64,
    rope_theta: Option<f32>,
    max_position_embeddings: Option<usize>,
}

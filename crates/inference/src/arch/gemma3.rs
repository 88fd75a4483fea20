//! Gemma 3 text decoders (GGUF `general.architecture = "gemma3"`), written from the model's
//! published structure and checked against llama.cpp (tests/vectors/gemma3).
//!
//! Per block: `x += post_attn_norm(attn(attn_norm(x)))`, `x += post_ffw_norm(mlp(ffn_norm(x)))`,
//! every norm an RMSNorm whose GGUF weight already holds Gemma's `1 + w` (llama.cpp's converter
//! adds the 1; the file's norm weights average about 13, not about 0). Attention normalizes
//! each query and key head (RMSNorm over `head_dim`), applies RoPE over rotated halves (NeoX
//! order; the converter does not permute Gemma's q/k rows) and scales scores by
//! `1/sqrt(head_dim)` (`query_pre_attn_scalar = head_dim` for the 270M..12B models). Five layers
//! of six attend within a sliding window (`gemma3.attention.sliding_window` positions, RoPE base
//! 10,000); every sixth layer (index 5, 11, 17, ...) attends globally with RoPE base
//! `gemma3.rope.freq_base` (and linear RoPE scaling when the file states one). The MLP is
//! `down(gelu_tanh(gate(x)) * up(x))`. Embeddings are multiplied by `sqrt(hidden)`; the LM head
//! is the tied embedding; logits are soft-capped only when the file states
//! `gemma3.final_logit_softcapping` (Gemma 3 files do not).
//!
//! The pattern of six and the local RoPE base are not stored in Gemma 3 GGUF files: like
//! llama.cpp, this file takes them as constants of the architecture (overridable by
//! `gemma3.attention.sliding_window_pattern` / `gemma3.rope.local_freq_base` when present).

use std::sync::Arc;

use candle_core::{Device, Tensor};

use super::{attention, cache_append, check_tokens, rope_tables, Decoder, GgufFile, Linear, Rows};
use crate::error::{Error, Result};
use crate::hash::ModelHash;
use crate::model::{Config, DerivedWeight, KvCache, WeightFormat};

/// Every `SLIDING_PATTERN`-th layer attends globally, the others within the window.
const SLIDING_PATTERN: usize = 6;
/// RoPE base of the sliding-window layers.
const LOCAL_ROPE_BASE: f32 = 10_000.0;

/// The MLP's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    /// GELU, tanh approximation (`gelu_pytorch_tanh`): Gemma 3's.
    GeluTanh,
    /// SiLU: what candle-transformers 0.9's `quantized_gemma3` applies (its issue #3745); used
    /// only to compare against that implementation.
    Silu,
}

#[derive(Debug, Clone)]
struct Block {
    attn_norm: Tensor,
    q_norm: Tensor,
    k_norm: Tensor,
    post_attn_norm: Tensor,
    ffn_norm: Tensor,
    post_ffn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    gate: Linear,
    up: Linear,
    down: Linear,
    /// Sliding-window layer (else global).
    sliding: bool,
}

/// Gemma 3 constants that [`Config`] does not carry.
#[derive(Debug, Clone, PartialEq)]
struct Extra {
    sliding_window: usize,
    local_rope_base: f32,
    rope_scale: f32,
    final_softcap: Option<f32>,
    activation: Activation,
}

/// A loaded Gemma 3 decoder.
#[derive(Debug, Clone)]
pub(crate) struct Gemma3Decoder {
    config: Config,
    extra: Extra,
    format: WeightFormat,
    hash: ModelHash,
    device: Device,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    lm_head: Linear,
}

/// Loads a gemma3 GGUF file.
pub(crate) fn from_gguf(
    g: &mut GgufFile,
    format: WeightFormat,
    device: &Device,
    hash: ModelHash,
) -> Result<Arc<dyn Decoder>> {
    let path = g.path.clone();
    let num_heads = g.md_usize("gemma3.attention.head_count")?;
    let num_kv_heads = g.md_usize("gemma3.attention.head_count_kv")?;
    let key_len = g.md_usize("gemma3.attention.key_length")?;
    let value_len = g
        .md_opt("gemma3.attention.value_length", GgufFile::md_usize)?
        .unwrap_or(key_len);
    if num_heads == 0 || num_kv_heads == 0 || num_heads % num_kv_heads != 0 {
        return Err(Error::corrupt(&path, "inconsistent head counts"));
    }
    if key_len != value_len || key_len == 0 || key_len % 2 != 0 {
        return Err(Error::corrupt(
            &path,
            format!("key length {key_len} and value length {value_len} must be equal and even"),
        ));
    }
    let mut config = Config {
        vocab_size: 0,
        hidden_size: g.md_usize("gemma3.embedding_length")?,
        intermediate_size: g.md_usize("gemma3.feed_forward_length")?,
        num_layers: g.md_usize("gemma3.block_count")?,
        num_heads,
        num_kv_heads,
        head_dim: key_len,
        rms_norm_eps: g.md_f32("gemma3.attention.layer_norm_rms_epsilon")? as f64,
        rope_theta: g
            .md_opt("gemma3.rope.freq_base", GgufFile::md_f32)?
            .unwrap_or(1_000_000.0),
        context_length: g.md_usize("gemma3.context_length")?,
        rope_interleaved: false,
    };
    let pattern = g
        .md_opt(
            "gemma3.attention.sliding_window_pattern",
            GgufFile::md_usize,
        )?
        .unwrap_or(SLIDING_PATTERN);
    let rope_scale = match g.md_opt("gemma3.rope.scaling.type", |g, k| {
        g.md(k)?
            .to_string()
            .cloned()
            .map_err(|e| Error::corrupt(&g.path, e))
    })? {
        None => 1.0,
        Some(t) if t == "linear" => g.md_f32("gemma3.rope.scaling.factor")?,
        Some(t) if t == "none" => 1.0,
        Some(t) => {
            return Err(Error::corrupt(
                &path,
                format!("RoPE scaling {t:?} is not supported"),
            ))
        }
    };
    let extra = Extra {
        sliding_window: g.md_usize("gemma3.attention.sliding_window")?,
        local_rope_base: g
            .md_opt("gemma3.rope.local_freq_base", GgufFile::md_f32)?
            .unwrap_or(LOCAL_ROPE_BASE),
        rope_scale,
        final_softcap: g.md_opt("gemma3.final_logit_softcapping", GgufFile::md_f32)?,
        activation: Activation::GeluTanh,
    };
    if pattern == 0 || extra.sliding_window == 0 || rope_scale <= 0.0 {
        return Err(Error::corrupt(
            &path,
            "zero sliding window, pattern or RoPE scale",
        ));
    }
    let embed_q = g.tensor("token_embd.weight", device)?;
    let embed = embed_q.dequantize(device)?;
    config.vocab_size = embed.dim(0)?;
    if embed.dim(1)? != config.hidden_size {
        return Err(Error::corrupt(
            &path,
            "token_embd width differs from embedding_length",
        ));
    }
    let norm = g.dense("output_norm.weight", device)?;
    let lm_head = if g.has_tensor("output.weight") {
        Linear::from_qtensor(g.tensor("output.weight", device)?, format, device)?
    } else {
        Linear::tied(embed_q, &embed, format, device)?
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
        let mut norm = |n: &str| g.dense(&format!("blk.{i}.{n}.weight"), device);
        blocks.push(Block {
            attn_norm: norm("attn_norm")?,
            q_norm: norm("attn_q_norm")?,
            k_norm: norm("attn_k_norm")?,
            post_attn_norm: norm("post_attention_norm")?,
            ffn_norm: norm("ffn_norm")?,
            post_ffn_norm: norm("post_ffw_norm")?,
            wq,
            wk,
            wv,
            wo,
            gate,
            up,
            down,
            sliding: (i + 1) % pattern != 0,
        });
    }
    Ok(Arc::new(Gemma3Decoder {
        config,
        extra,
        format,
        hash,
        device: device.clone(),
        embed,
        blocks,
        norm,
        lm_head,
    }))
}

impl Gemma3Decoder {
    /// This model with another MLP activation (see [`Activation`]).
    pub(crate) fn with_activation(&self, activation: Activation) -> Self {
        let mut m = self.clone();
        m.extra.activation = activation;
        m
    }
}

impl Decoder for Gemma3Decoder {
    fn architecture(&self) -> &'static str {
        "gemma3"
    }

    fn config(&self) -> &Config {
        &self.config
    }

    fn format(&self) -> WeightFormat {
        self.format
    }

    fn hash(&self) -> ModelHash {
        self.hash
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn as_gemma3(&self) -> Option<&Gemma3Decoder> {
        Some(self)
    }

    fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        let l = self.lm_head.forward(hidden)?;
        Ok(match self.extra.final_softcap {
            Some(c) => ((l / c as f64)?.tanh()? * c as f64)?,
            None => l,
        })
    }

    fn derive(
        &self,
        format: WeightFormat,
        hash: ModelHash,
        f: &mut dyn FnMut(&str, Tensor) -> Result<DerivedWeight>,
    ) -> Result<Arc<dyn Decoder>> {
        let dev = &self.device;
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for (i, b) in self.blocks.iter().enumerate() {
            let mut conv = |n: &str, l: &Linear| l.derived(&format!("blk.{i}.{n}"), format, dev, f);
            blocks.push(Block {
                wq: conv("attn_q", &b.wq)?,
                wk: conv("attn_k", &b.wk)?,
                wv: conv("attn_v", &b.wv)?,
                wo: conv("attn_output", &b.wo)?,
                gate: conv("ffn_gate", &b.gate)?,
                up: conv("ffn_up", &b.up)?,
                down: conv("ffn_down", &b.down)?,
                ..b.clone()
            });
        }
        let lm_head = self.lm_head.derived("output", format, dev, f)?;
        // The embedding follows the tied head when it was altered the same way.
        let embed = match f("token_embd", self.embed.clone())? {
            DerivedWeight::Dense(t) => t,
            DerivedWeight::Quantized(q) => q.dequantize(dev)?,
        };
        Ok(Arc::new(Self {
            config: self.config.clone(),
            extra: self.extra.clone(),
            format,
            hash,
            device: self.device.clone(),
            embed,
            blocks,
            norm: self.norm.clone(),
            lm_head,
        }))
    }

    fn run(&self, tokens: &[u32], rows: &Rows, mut cache: Option<&mut KvCache>) -> Result<Tensor> {
        let cfg = &self.config;
        let ex = &self.extra;
        check_tokens(tokens, cfg.vocab_size)?;
        let t = tokens.len();
        let dev = &self.device;
        let (hd, nh, nkv) = (cfg.head_dim, cfg.num_heads, cfg.num_kv_heads);
        let local_rope = rope_tables(&rows.q_pos, hd, ex.local_rope_base, 1.0, dev)?;
        let global_rope = rope_tables(&rows.q_pos, hd, cfg.rope_theta, ex.rope_scale, dev)?;
        let local_mask = rows.mask(Some(ex.sliding_window), dev)?;
        let global_mask = rows.mask(None, dev)?;
        let eps = cfg.rms_norm_eps as f32;
        let scale = 1.0 / (hd as f64).sqrt();
        let rms =
            |x: &Tensor, w: &Tensor| -> Result<Tensor> { Ok(candle_nn::ops::rms_norm(x, w, eps)?) };
        // [t, n * hd] -> per-head RMSNorm -> [n, t, hd]
        let heads = |y: Tensor, n: usize, norm: Option<&Tensor>| -> Result<Tensor> {
            let y = y.reshape((t, n, hd))?;
            let y = match norm {
                Some(w) => rms(&y.contiguous()?, w)?,
                None => y,
            };
            Ok(y.transpose(0, 1)?.contiguous()?)
        };
        let ids = Tensor::new(tokens, dev)?;
        let mut x = (self.embed.index_select(&ids, 0)? * (cfg.hidden_size as f64).sqrt())?;
        for (li, b) in self.blocks.iter().enumerate() {
            let ((cos, sin), mask) = if b.sliding {
                (&local_rope, local_mask.as_ref())
            } else {
                (&global_rope, global_mask.as_ref())
            };
            let rope = |x: &Tensor| -> Result<Tensor> {
                Ok(candle_nn::rotary_emb::rope(&x.unsqueeze(0)?, cos, sin)?.squeeze(0)?)
            };
            let h = rms(&x, &b.attn_norm)?;
            let q = rope(&heads(b.wq.forward(&h)?, nh, Some(&b.q_norm))?)?;
            let k = rope(&heads(b.wk.forward(&h)?, nkv, Some(&b.k_norm))?)?;
            let v = heads(b.wv.forward(&h)?, nkv, None)?;
            let (k, v) = cache_append(cache.as_deref_mut(), li, k, v)?;
            let y = attention(&q, &k, &v, mask, scale)?;
            x = (x + rms(&b.wo.forward(&y)?, &b.post_attn_norm)?)?;
            let h = rms(&x, &b.ffn_norm)?;
            let gate = b.gate.forward(&h)?;
            let gate = match ex.activation {
                Activation::GeluTanh => gate.gelu()?,
                Activation::Silu => candle_nn::ops::silu(&gate)?,
            };
            let y = b.down.forward(&(gate * b.up.forward(&h)?)?)?;
            x = (x + rms(&y, &b.post_ffn_norm)?)?;
        }
        rms(&x, &self.norm)
    }
}

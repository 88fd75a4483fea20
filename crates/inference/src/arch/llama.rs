//! The Llama family (GGUF `general.architecture = "llama"`, and Hugging Face `model_type =
//! "llama"` safetensors directories): RoPE (interleaved pairs for GGUF files, whose q/k rows
//! llama.cpp permuted; rotated halves for safetensors), grouped-query attention, RMSNorm,
//! SiLU-gated MLP, tied or separate LM head.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use serde::Deserialize;

use super::{attention, cache_append, check_tokens, rope_tables, Decoder, GgufFile, Linear, Rows};
use crate::error::{Error, Result};
use crate::hash::ModelHash;
use crate::model::{Config, DerivedWeight, KvCache, WeightFormat};

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

/// A loaded Llama-family decoder.
#[derive(Debug, Clone)]
pub(crate) struct LlamaDecoder {
    config: Config,
    format: WeightFormat,
    hash: ModelHash,
    device: Device,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    lm_head: Linear,
}

/// Loads a llama GGUF file.
pub(crate) fn from_gguf(
    g: &mut GgufFile,
    format: WeightFormat,
    device: &Device,
    hash: ModelHash,
) -> Result<Arc<dyn Decoder>> {
    let path = g.path.clone();
    let num_heads = g.md_usize("llama.attention.head_count")?;
    let hidden_size = g.md_usize("llama.embedding_length")?;
    let head_dim = g
        .md_usize("llama.rope.dimension_count")
        .unwrap_or(hidden_size / num_heads.max(1));
    let rope_theta = g
        .md_opt("llama.rope.freq_base", GgufFile::md_f32)?
        .unwrap_or(10_000.0);
    let mut config = Config {
        vocab_size: 0,
        hidden_size,
        intermediate_size: g.md_usize("llama.feed_forward_length")?,
        num_layers: g.md_usize("llama.block_count")?,
        num_heads,
        num_kv_heads: g
            .md_usize("llama.attention.head_count_kv")
            .unwrap_or(num_heads),
        head_dim,
        rms_norm_eps: g.md_f32("llama.attention.layer_norm_rms_epsilon")? as f64,
        rope_theta,
        context_length: g.md_usize("llama.context_length").unwrap_or(2048),
        rope_interleaved: true,
    };
    if num_heads == 0 || config.num_kv_heads == 0 || num_heads % config.num_kv_heads != 0 {
        return Err(Error::corrupt(&path, "inconsistent head counts"));
    }
    let embed_q = g.tensor("token_embd.weight", device)?;
    let embed = embed_q.dequantize(device)?;
    config.vocab_size = embed.dim(0)?;
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
        blocks.push(Block {
            attn_norm: g.dense(&format!("blk.{i}.attn_norm.weight"), device)?,
            ffn_norm: g.dense(&format!("blk.{i}.ffn_norm.weight"), device)?,
            wq,
            wk,
            wv,
            wo,
            gate,
            up,
            down,
        });
    }
    Ok(Arc::new(LlamaDecoder {
        config,
        format,
        hash,
        device: device.clone(),
        embed,
        blocks,
        norm,
        lm_head,
    }))
}

/// Loads a Hugging Face style directory: `config.json` and `*.safetensors` (dense weights,
/// kept as f32 or f16 per `format`; [`WeightFormat::Quantized`] keeps f32). The model hash
/// covers the safetensors files (see [`ModelHash::of_files`]).
pub(crate) fn from_safetensors_dir(
    dir: &Path,
    format: WeightFormat,
    device: &Device,
) -> Result<Arc<dyn Decoder>> {
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
    let format = if format == WeightFormat::Quantized {
        WeightFormat::DenseF32
    } else {
        format
    };
    Ok(Arc::new(LlamaDecoder {
        config,
        format,
        hash,
        device: device.clone(),
        embed,
        blocks,
        norm,
        lm_head,
    }))
}

impl Decoder for LlamaDecoder {
    fn architecture(&self) -> &'static str {
        "llama"
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

    fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        self.lm_head.forward(hidden)
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
                attn_norm: b.attn_norm.clone(),
                ffn_norm: b.ffn_norm.clone(),
                wq: conv("attn_q", &b.wq)?,
                wk: conv("attn_k", &b.wk)?,
                wv: conv("attn_v", &b.wv)?,
                wo: conv("attn_output", &b.wo)?,
                gate: conv("ffn_gate", &b.gate)?,
                up: conv("ffn_up", &b.up)?,
                down: conv("ffn_down", &b.down)?,
            });
        }
        let lm_head = self.lm_head.derived("output", format, dev, f)?;
        // The embedding follows the (possibly tied) head when it was altered the same way.
        let embed = match f("token_embd", self.embed.clone())? {
            DerivedWeight::Dense(t) => t,
            DerivedWeight::Quantized(q) => q.dequantize(dev)?,
        };
        Ok(Arc::new(Self {
            config: self.config.clone(),
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
        check_tokens(tokens, cfg.vocab_size)?;
        let t = tokens.len();
        let (cos, sin) = rope_tables(&rows.q_pos, cfg.head_dim, cfg.rope_theta, 1.0, &self.device)?;
        let mask = rows.mask(None, &self.device)?;
        let ids = Tensor::new(tokens, &self.device)?;
        let mut x = self.embed.index_select(&ids, 0)?;
        let eps = cfg.rms_norm_eps as f32;
        let (nh, nkv, hd) = (cfg.num_heads, cfg.num_kv_heads, cfg.head_dim);
        let scale = 1.0 / (hd as f64).sqrt();
        let heads = |l: &Linear, h: &Tensor, n: usize| -> Result<Tensor> {
            Ok(l.forward(h)?
                .reshape((t, n, hd))?
                .transpose(0, 1)?
                .contiguous()?)
        };
        let rope = |x: &Tensor| -> Result<Tensor> {
            let x = x.unsqueeze(0)?;
            let y = if cfg.rope_interleaved {
                candle_nn::rotary_emb::rope_i(&x, &cos, &sin)?
            } else {
                candle_nn::rotary_emb::rope(&x, &cos, &sin)?
            };
            Ok(y.squeeze(0)?)
        };
        for (li, b) in self.blocks.iter().enumerate() {
            let h = candle_nn::ops::rms_norm(&x, &b.attn_norm, eps)?;
            let q = rope(&heads(&b.wq, &h, nh)?)?;
            let k = rope(&heads(&b.wk, &h, nkv)?)?;
            let v = heads(&b.wv, &h, nkv)?;
            let (k, v) = cache_append(cache.as_deref_mut(), li, k, v)?;
            let y = attention(&q, &k, &v, mask.as_ref(), scale)?;
            x = (x + b.wo.forward(&y)?)?;
            let h = candle_nn::ops::rms_norm(&x, &b.ffn_norm, eps)?;
            let g = candle_nn::ops::silu(&b.gate.forward(&h)?)?;
            let u = b.up.forward(&h)?;
            x = (x + b.down.forward(&(g * u)?)?)?;
        }
        Ok(candle_nn::ops::rms_norm(&x, &self.norm, eps)?)
    }
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

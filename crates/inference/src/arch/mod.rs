//! The model architectures this crate implements, behind one interface.
//!
//! Each family is one file implementing [`Decoder`] plus one line in [`ARCHITECTURES`] (the
//! GGUF `general.architecture` it handles and its loader). Everything a decoder shares lives
//! here: matrices in a [`WeightFormat`] ([`Linear`]), GGUF reading ([`GgufFile`]), attention
//! masks for cached, windowed and packed inputs ([`Rows`]), rotary tables, the KV-cache store
//! and grouped-query attention.

pub(crate) mod gemma3;
pub(crate) mod llama;

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::quantized::{gguf_file, GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor, D};

use crate::error::{Error, Result};
use crate::hash::ModelHash;
use crate::model::{Config, DerivedWeight, KvCache, KvCacheMode, WeightFormat};

/// Loads one architecture from an opened GGUF file.
pub(crate) type GgufLoader =
    fn(&mut GgufFile, WeightFormat, &Device, ModelHash) -> Result<Arc<dyn Decoder>>;

/// Every GGUF `general.architecture` this crate implements, with its loader.
pub(crate) const ARCHITECTURES: &[(&str, GgufLoader)] =
    &[("llama", llama::from_gguf), ("gemma3", gemma3::from_gguf)];

/// The `general.architecture` names of [`ARCHITECTURES`], for error messages and docs.
pub fn supported_architectures() -> Vec<&'static str> {
    ARCHITECTURES.iter().map(|(name, _)| *name).collect()
}

/// A decoder-only transformer: what [`crate::Model`] dispatches to.
pub(crate) trait Decoder: Debug + Send + Sync {
    /// The GGUF architecture name.
    fn architecture(&self) -> &'static str;
    fn config(&self) -> &Config;
    fn format(&self) -> WeightFormat;
    fn hash(&self) -> ModelHash;
    fn device(&self) -> &Device;
    /// Final normalized hidden states `[rows, hidden]` of `tokens` laid out as `rows` says; keys
    /// and values are appended to `cache` when there is one.
    fn run(&self, tokens: &[u32], rows: &Rows, cache: Option<&mut KvCache>) -> Result<Tensor>;
    /// Logits `[rows, vocab]` (with any final soft-capping) from hidden states.
    fn logits(&self, hidden: &Tensor) -> Result<Tensor>;
    /// A copy whose every matrix went through `f`, held as `format`, labelled `hash`.
    fn derive(
        &self,
        format: WeightFormat,
        hash: ModelHash,
        f: &mut dyn FnMut(&str, Tensor) -> Result<DerivedWeight>,
    ) -> Result<Arc<dyn Decoder>>;
    /// The Gemma 3 decoder behind this one, if it is one (for its reference-comparison knob).
    fn as_gemma3(&self) -> Option<&gemma3::Gemma3Decoder> {
        None
    }
}

/// Where the rows of one forward pass sit: the position and sequence of each query row and of
/// each key (cached keys first). Attention of query `i` to key `j` is allowed when both belong
/// to the same sequence, `pos_k <= pos_q`, and, in a layer with a sliding window `w`,
/// `pos_q - pos_k < w` (llama.cpp's rule: the window holds `w` positions, the query's own
/// included).
#[derive(Debug, Clone)]
pub(crate) struct Rows {
    pub(crate) q_pos: Vec<usize>,
    q_seq: Vec<usize>,
    k_pos: Vec<usize>,
    k_seq: Vec<usize>,
}

impl Rows {
    /// `t` new positions after `start` cached ones, one sequence.
    pub(crate) fn cached(start: usize, t: usize) -> Self {
        Self {
            q_pos: (start..start + t).collect(),
            q_seq: vec![0; t],
            k_pos: (0..start + t).collect(),
            k_seq: vec![0; start + t],
        }
    }

    /// Several sequences packed end to end, each from position 0, no cache.
    pub(crate) fn packed(lens: &[usize]) -> Self {
        let mut pos = Vec::new();
        let mut seq = Vec::new();
        for (k, &n) in lens.iter().enumerate() {
            pos.extend(0..n);
            seq.extend(std::iter::repeat_n(k, n));
        }
        Self {
            q_pos: pos.clone(),
            q_seq: seq.clone(),
            k_pos: pos,
            k_seq: seq,
        }
    }

    /// The additive mask `[q rows, k rows]` (0 or -inf), or `None` when every key is visible to
    /// every query.
    pub(crate) fn mask(&self, window: Option<usize>, device: &Device) -> Result<Option<Tensor>> {
        let (nq, nk) = (self.q_pos.len(), self.k_pos.len());
        let mut m = vec![0f32; nq * nk];
        let mut any = false;
        for i in 0..nq {
            let (qp, qs) = (self.q_pos[i], self.q_seq[i]);
            for j in 0..nk {
                let (kp, ks) = (self.k_pos[j], self.k_seq[j]);
                let hidden = ks != qs || kp > qp || window.is_some_and(|w| qp - kp >= w);
                if hidden {
                    m[i * nk + j] = f32::NEG_INFINITY;
                    any = true;
                }
            }
        }
        Ok(if any {
            Some(Tensor::from_vec(m, (nq, nk), device)?)
        } else {
            None
        })
    }
}

/// Rotary tables `(cos, sin)`, each `[positions, head_dim / 2]`, for base `theta`; positions
/// are divided by `scale` (linear RoPE scaling; 1 for none).
pub(crate) fn rope_tables(
    positions: &[usize],
    head_dim: usize,
    theta: f32,
    scale: f32,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let half = head_dim / 2;
    let inv: Vec<f32> = (0..half)
        .map(|i| 1.0 / theta.powf((2 * i) as f32 / head_dim as f32))
        .collect();
    let mut angles = Vec::with_capacity(positions.len() * half);
    for &p in positions {
        let p = if scale == 1.0 {
            p as f32
        } else {
            p as f32 / scale
        };
        angles.extend(inv.iter().map(|f| p * f));
    }
    let angles = Tensor::from_vec(angles, (positions.len(), half), device)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// Stores this call's keys and values `[kv_heads, t, head_dim]` of layer `layer` in `cache`
/// (rounded as its mode says) and returns all keys and values of the sequence so far.
pub(crate) fn cache_append(
    cache: Option<&mut KvCache>,
    layer: usize,
    k: Tensor,
    v: Tensor,
) -> Result<(Tensor, Tensor)> {
    let Some(c) = cache else {
        return Ok((k, v));
    };
    let (k, v) = match c.mode {
        KvCacheMode::Full => (k, v),
        KvCacheMode::Int8PerToken => (int8_roundtrip(&k)?, int8_roundtrip(&v)?),
        KvCacheMode::Fp8E4M3 => (
            k.to_dtype(DType::F8E4M3)?.to_dtype(DType::F32)?,
            v.to_dtype(DType::F8E4M3)?.to_dtype(DType::F32)?,
        ),
    };
    let (k, v) = match &c.layers[layer] {
        None => (k, v),
        Some((pk, pv)) => (Tensor::cat(&[pk, &k], 1)?, Tensor::cat(&[pv, &v], 1)?),
    };
    c.layers[layer] = Some((k.clone(), v.clone()));
    Ok((k, v))
}

/// Grouped-query attention: `q [heads, t, hd]`, `k`/`v` `[kv_heads, tk, hd]`, `mask [t, tk]`;
/// the scores `q·k` are multiplied by `scale`. Returns `[t, heads * hd]`. The query heads
/// sharing one KV head are stacked along the row axis, so K/V are never repeated.
pub(crate) fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    scale: f64,
) -> Result<Tensor> {
    let (nh, t, hd) = q.dims3()?;
    let (nkv, tk, _) = k.dims3()?;
    let groups = nh / nkv;
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
    let y = att.matmul(v)?; // [nkv, groups*t, hd]
    Ok(y.reshape((nh, t, hd))?
        .transpose(0, 1)?
        .reshape((t, nh * hd))?)
}

/// Rounds each last-axis vector through int8 with its own scale `absmax / 127`.
fn int8_roundtrip(x: &Tensor) -> Result<Tensor> {
    let scale = (x.abs()?.max_keepdim(D::Minus1)? / 127.0)?;
    let scale = scale.maximum(1e-12)?;
    let q = x.broadcast_div(&scale)?.round()?.clamp(-127f32, 127f32)?;
    Ok(q.broadcast_mul(&scale)?)
}

/// Checks that every token is inside the vocabulary.
pub(crate) fn check_tokens(tokens: &[u32], vocab: usize) -> Result<()> {
    match tokens.iter().position(|&t| t as usize >= vocab) {
        Some(i) => Err(Error::TokenOutOfRange {
            position: i,
            token: tokens[i],
            vocab,
        }),
        None => Ok(()),
    }
}

/// A matrix `[out, in]` applied to rows `[t, in]`.
#[derive(Debug, Clone)]
pub(crate) enum Linear {
    Quantized(QMatMul),
    Dense(Tensor),
    DenseF16(Tensor),
}

impl Linear {
    pub(crate) fn from_qtensor(
        q: Arc<QTensor>,
        format: WeightFormat,
        device: &Device,
    ) -> Result<Self> {
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

    pub(crate) fn from_dense(w: Tensor, format: WeightFormat) -> Result<Self> {
        Ok(match format {
            WeightFormat::DenseF16 => Self::DenseF16(w.to_dtype(DType::F16)?),
            // Quantized is not offered for dense checkpoints; they stay dense.
            _ => Self::Dense(w.to_dtype(DType::F32)?),
        })
    }

    /// The tied LM head: the embedding's quantized blocks when quantized, else its dense values.
    pub(crate) fn tied(
        embed_q: Arc<QTensor>,
        embed: &Tensor,
        format: WeightFormat,
        device: &Device,
    ) -> Result<Self> {
        Ok(match format {
            WeightFormat::Quantized => Self::from_qtensor(embed_q, format, device)?,
            WeightFormat::DenseF32 => Self::Dense(embed.clone()),
            WeightFormat::DenseF16 => Self::DenseF16(embed.to_dtype(DType::F16)?),
        })
    }

    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
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
    pub(crate) fn dense_f32(&self) -> Result<Tensor> {
        Ok(match self {
            Self::Quantized(QMatMul::QTensor(q)) => q.dequantize(&q.device())?,
            Self::Quantized(QMatMul::Tensor(t)) | Self::Dense(t) => t.to_dtype(DType::F32)?,
            Self::Quantized(QMatMul::TensorF16(t)) | Self::DenseF16(t) => t.to_dtype(DType::F32)?,
        })
    }

    /// This matrix passed through `f` under `name`, held as `format`.
    pub(crate) fn derived(
        &self,
        name: &str,
        format: WeightFormat,
        device: &Device,
        f: &mut dyn FnMut(&str, Tensor) -> Result<DerivedWeight>,
    ) -> Result<Self> {
        match f(name, self.dense_f32()?)? {
            DerivedWeight::Dense(t) => Self::from_dense(t, format),
            DerivedWeight::Quantized(q) => Self::from_qtensor(Arc::new(q), format, device),
        }
    }
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

    /// `general.architecture`.
    pub(crate) fn architecture(&self) -> Result<String> {
        self.md("general.architecture")?
            .to_string()
            .cloned()
            .map_err(|e| Error::corrupt(&self.path, e))
    }

    pub(crate) fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    pub(crate) fn tensor(&mut self, name: &str, device: &Device) -> Result<Arc<QTensor>> {
        if !self.has_tensor(name) {
            return Err(Error::missing(&self.path, format!("tensor {name}")));
        }
        self.content
            .tensor(&mut self.file, name, device)
            .map(Arc::new)
            .map_err(|e| Error::corrupt(&self.path, format!("tensor {name}: {e}")))
    }

    /// A small tensor (norm weights) read and dequantized to f32.
    pub(crate) fn dense(&mut self, name: &str, device: &Device) -> Result<Tensor> {
        Ok(self.tensor(name, device)?.dequantize(device)?)
    }

    pub(crate) fn md(&self, key: &str) -> Result<&gguf_file::Value> {
        self.content
            .metadata
            .get(key)
            .ok_or_else(|| Error::missing(&self.path, format!("metadata {key}")))
    }

    pub(crate) fn md_usize(&self, key: &str) -> Result<usize> {
        let v = self.md(key)?;
        v.to_u32()
            .map(|x| x as usize)
            .or_else(|_| v.to_u64().map(|x| x as usize))
            .map_err(|e| Error::corrupt(&self.path, format!("{key}: {e}")))
    }

    pub(crate) fn md_f32(&self, key: &str) -> Result<f32> {
        self.md(key)?
            .to_f32()
            .map_err(|e| Error::corrupt(&self.path, format!("{key}: {e}")))
    }

    /// An optional key: `None` when absent, an error when present with the wrong type.
    pub(crate) fn md_opt<T>(
        &self,
        key: &str,
        read: impl Fn(&Self, &str) -> Result<T>,
    ) -> Result<Option<T>> {
        if self.content.metadata.contains_key(key) {
            read(self, key).map(Some)
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visible(rows: &Rows, window: Option<usize>) -> Vec<Vec<bool>> {
        let (nq, nk) = (rows.q_pos.len(), rows.k_pos.len());
        match rows.mask(window, &Device::Cpu).unwrap() {
            None => vec![vec![true; nk]; nq],
            Some(m) => m
                .to_vec2::<f32>()
                .unwrap()
                .into_iter()
                .map(|r| r.into_iter().map(|x| x == 0.0).collect())
                .collect(),
        }
    }

    #[test]
    fn sliding_window_holds_w_positions_including_the_query() {
        // One query at position 600 after 600 cached positions, window 512: keys 89..=600.
        let v = visible(&Rows::cached(600, 1), Some(512));
        let seen: Vec<usize> = (0..601).filter(|&j| v[0][j]).collect();
        assert_eq!((seen[0], seen.len()), (89, 512));
        // Without a window a single decode step sees everything: no mask at all.
        assert!(Rows::cached(600, 1)
            .mask(None, &Device::Cpu)
            .unwrap()
            .is_none());
    }

    #[test]
    fn packed_rows_are_block_diagonal_causal_and_windowed() {
        let v = visible(&Rows::packed(&[3, 2]), Some(2));
        let expect = [
            [true, false, false, false, false],
            [true, true, false, false, false],
            [false, true, true, false, false],
            [false, false, false, true, false],
            [false, false, false, true, true],
        ];
        assert_eq!(v, expect.map(|r| r.to_vec()).to_vec());
    }
}

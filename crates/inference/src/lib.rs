#![doc = include_str!("../README.md")]

mod arch;
pub mod calibration;
pub mod detection;
mod error;
mod generate;
mod hash;
#[cfg(feature = "llamacpp")]
pub mod llamacpp;
mod model;
pub mod sampling;
mod tokenizer;
mod validate;

pub use arch::supported_architectures;
pub use error::{Error, Result};
pub use generate::{
    choose_among, generate, generate_observed, prove_by_prefill, GenerateOptions, Record,
};
pub use hash::ModelHash;
pub use model::{Config, DerivedWeight, KvCache, KvCacheMode, Llama, Model, WeightFormat};
pub use sampling::Sampling;
pub use tokenizer::{ModelTokenizer, PromptFormat, SMOLLM_DEFAULT_SYSTEM};
pub use validate::{Evidence, Outcome, Rejection, Validator};

use std::path::{Path, PathBuf};

use candle_core::Device;

/// The device to run on: the first CUDA GPU when built with the `cuda` feature and one is
/// present, the CPU otherwise.
pub fn device() -> Device {
    #[cfg(feature = "cuda")]
    if let Ok(d) = Device::new_cuda(0) {
        return d;
    }
    Device::Cpu
}

/// A model and the tokenizer stored with it.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// The weights.
    pub model: Model,
    /// The tokenizer.
    pub tokenizer: ModelTokenizer,
}

/// Loads a GGUF file (any architecture of [`supported_architectures`], chosen by its
/// `general.architecture`), or a Llama directory with `config.json`, `*.safetensors` and
/// `tokenizer.json`.
pub fn load(path: impl AsRef<Path>, format: WeightFormat, device: &Device) -> Result<LoadedModel> {
    let path = path.as_ref();
    if path.is_dir() {
        let model = Model::from_safetensors_dir(path, format, device)?;
        let tokenizer = ModelTokenizer::from_file(path.join("tokenizer.json"))?;
        return Ok(LoadedModel { model, tokenizer });
    }
    let hash = ModelHash::of_files(&[path])?;
    let mut g = model::GgufFile::open(path)?;
    let model = Model::from_gguf_file(&mut g, format, device, hash)?;
    let tokenizer = ModelTokenizer::from_gguf_content(&g.content, path)?;
    Ok(LoadedModel { model, tokenizer })
}

/// Where `tools/fetch-models.sh` puts SmolLM2-135M-Instruct Q4_1:
/// `${VERBENCH_CACHE:-$HOME/.cache/verbench}/models/SmolLM2-135M-Instruct.Q4_1.gguf`.
pub fn smollm2_path() -> PathBuf {
    cache_dir().join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// Where `tools/fetch-models.sh` puts Gemma 3 270M (base model) Q4_K_M:
/// `${VERBENCH_CACHE:-$HOME/.cache/verbench}/models/gemma-3-270m.Q4_K_M.gguf` (the Gemma terms
/// of use lie beside it).
pub fn gemma3_path() -> PathBuf {
    cache_dir().join("models/gemma-3-270m.Q4_K_M.gguf")
}

fn cache_dir() -> PathBuf {
    std::env::var_os("VERBENCH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/verbench")
        })
}

/// Runs `f` inside a rayon pool of `threads` threads (candle's CPU kernels use the current
/// pool): a way to vary the arithmetic path's thread count within one process.
pub fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::InvalidParams(format!("thread pool: {e}")))?;
    Ok(pool.install(f))
}

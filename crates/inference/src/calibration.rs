//! Calibration: the limits a task is judged by, derived for a stated false-positive target from a
//! model of the tail of honest arithmetic noise, and the file that records them.
//!
//! # What is measured (a [`Trace`] per honest item)
//!
//! The generator (the provider's arithmetic: quantized step-by-step decoding) produces an item
//! while its logits rows are kept; the validator (dense f32, one prefill) recomputes it. Per output
//! token `t` with claimed token `a` the trace keeps
//!
//! - the **logit-difference error** `e_t = (v_b - v_a) - (g_b - g_a)`, where `g`/`v` are the
//!   generator's and the validator's logits and `b` is the validator's best competitor of `a`
//!   (highest score among the other tokens; for seeded sampling the score includes the replayed
//!   Gumbel noise, which cancels in `e_t`). Since the generator chose `a`, `g_a + n_a >= g_b + n_b`,
//!   so the token check's gap is at most `max(0, e_t)`: **`P(gap_t > m) <= P(e_t > m)`**, with
//!   one sample of `e_t` at every token, not only at the rare near-ties where the gap is positive;
//! - the gap itself (for the held-out check);
//!
//! and per TOPLOC chunk (prefill and decode) its exponent mismatches, mantissa-error mean and
//! median.
//!
//! # How limits follow from a target ([`fit`])
//!
//! Each statistic's upper tail is modelled by a generalized Pareto distribution (peaks over a
//! threshold `u`: the largest ~5% of samples, at least 50 and at most 1,000 exceedances), fitted by
//! probability-weighted moments (Hosking & Wallis 1987). A negative fitted shape (a bounded tail) is
//! replaced by 0 (exponential tail), which only makes the limit larger. Integer statistics
//! (exponent mismatches, the mantissa median) get a geometric tail (the discrete exponential),
//! and, when a GPD fitted to them with a deterministic uniform dither (`P(X >= k) = P(X + U > k)`)
//! finds a heavier-than-exponential tail, the larger of the two limits. The limit for a per-sample
//! exceedance probability `p` is the fitted quantile, and never below the largest calibration
//! sample:
//!
//! - token margin: `p = target_item / item_tokens` per token (union bound over an item's tokens);
//! - TOPLOC: `p = target_chunk / 3` per chunk and statistic (union bound over the three rules).
//!
//! Limits are rounded outwards to the task's fixed point (thousandths; whole mismatches).
//!
//! The fit's own uncertainty: with a `fit_confidence` (default 0.95) the whole fit is repeated on
//! [`BOOTSTRAP_REPLICATES`] seeded bootstrap resamples of the items, and each limit is at least
//! that quantile of the replicates' limits ([`UpperFit`]).
//!
//! # The file ([`Calibration`])
//!
//! JSON, keyed by model hash, generator weight format, generator engine, validator path and
//! sampling mode ([`Key`]). Its identity is `keccak256` of the file's bytes ([`Calibration::read`]
//! returns it), which is what a task's `calibrationHash` holds beside the limits themselves.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use verbench_toploc::{ProofParams, Thresholds};

use crate::generate::{generate_observed, GenerateOptions, Record};
use crate::hash::ModelHash;
use crate::model::{KvCacheMode, Llama, WeightFormat};
use crate::sampling::{score, Sampling};
use crate::validate::Validator;

/// Version of the calibration file layout.
pub const FORMAT_VERSION: u32 = 1;

/// The generator engine this crate implements (the provider's arithmetic path).
pub const CANDLE_GENERATOR: &str =
    "verbench-inference/candle 0.9: step-by-step decoding with a f32 KV cache, 2 threads";
/// The validator path this crate implements (what challengers and operators recompute with).
pub const CANDLE_DENSE_VALIDATOR: &str =
    "verbench-inference/candle 0.9: dense f32 weights, one prefill over prompt + output";
/// An experimental validator path: the generator's own quantized weights and kernels, one prefill
/// over prompt + output. Measured by `verbench-calibrate trace --validator quantized`; the bots do
/// not judge with it (docs/calibration.md).
pub const CANDLE_QUANTIZED_VALIDATOR: &str =
    "verbench-inference/candle 0.9: the file's quantized weights, one prefill over prompt + output";

/// Errors of calibration: bad files, mismatched keys, too little data.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A calibration or trace was made for something else than it is used for.
    #[error("{path} is a calibration for {what} {found}, not {expected}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// Which part of the key differs.
        what: &'static str,
        /// What the file says.
        found: String,
        /// What the caller needs.
        expected: String,
    },
    /// Not enough samples to fit a tail.
    #[error("{0}")]
    TooFewSamples(String),
    /// A task's items are longer than its calibration may judge.
    #[error("{path} judges items of at most {max} output tokens (the honest noise past them is not modelled: docs/calibration.md), not {wanted}: refit on items that long, or generate fewer tokens")]
    ItemsTooLong {
        /// The file.
        path: PathBuf,
        /// Its `max_item_tokens`.
        max: u32,
        /// The task's `max_new_tokens`.
        wanted: u32,
    },
    /// Generation or validation failed.
    #[error(transparent)]
    Inference(#[from] crate::Error),
}

/// Results of this module.
pub type Result<T, E = CalibrationError> = std::result::Result<T, E>;

/// How tokens are chosen, as far as calibration is concerned (seeds do not matter; top-p is 1,
/// the protocol's sampling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplingMode {
    /// Greedy decoding.
    Greedy,
    /// Seeded Gumbel-max sampling at `temperature_milli / 1000`, top-p 1.
    Seeded {
        /// Temperature in thousandths.
        temperature_milli: u32,
    },
}

impl SamplingMode {
    /// The mode of a task's generation parameters (`temperatureMilli`; 0 is greedy).
    pub fn from_task(temperature_milli: u32) -> Self {
        match temperature_milli {
            0 => Self::Greedy,
            t => Self::Seeded {
                temperature_milli: t,
            },
        }
    }

    /// The sampling of one item with `seed`.
    pub fn sampling(self, seed: u64) -> Sampling {
        match self {
            Self::Greedy => Sampling::Greedy,
            Self::Seeded { temperature_milli } => Sampling::from_task(temperature_milli, seed),
        }
    }
}

impl std::fmt::Display for SamplingMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Greedy => write!(f, "greedy"),
            Self::Seeded { temperature_milli } => {
                write!(
                    f,
                    "seeded T={}.{:03} top-p 1",
                    temperature_milli / 1000,
                    temperature_milli % 1000
                )
            }
        }
    }
}

impl std::str::FromStr for SamplingMode {
    type Err = String;
    /// `greedy`, or `t=0.7` (a temperature, seeded Gumbel-max sampling, top-p 1).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s == "greedy" {
            return Ok(Self::Greedy);
        }
        let t = s
            .strip_prefix("t=")
            .ok_or_else(|| format!("sampling {s:?}: expected `greedy` or `t=<temperature>`"))?;
        let t: f64 = t.parse().map_err(|e| format!("sampling {s:?}: {e}"))?;
        if !(t > 0.0 && t <= 100.0) {
            return Err(format!("sampling {s:?}: temperature must be in (0, 100]"));
        }
        Ok(Self::Seeded {
            temperature_milli: (t * 1000.0).round() as u32,
        })
    }
}

/// What a calibration is valid for. Limits measured for one key say nothing about another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// keccak256 of the weight file (the task's `modelHash`).
    pub model_hash: ModelHash,
    /// How the generator held the weights.
    pub weight_format: WeightFormat,
    /// The generator's engine and path ([`CANDLE_GENERATOR`]).
    pub generator_engine: String,
    /// The validator's path ([`CANDLE_DENSE_VALIDATOR`]).
    pub validator_path: String,
    /// Greedy or seeded sampling at a temperature.
    pub sampling: SamplingMode,
    /// TOPLOC values per proof.
    pub topk: u32,
    /// TOPLOC decode rows per proof.
    pub decode_batching_size: u32,
}

/// Default [`Targets::fit_confidence`].
pub const DEFAULT_FIT_CONFIDENCE: f64 = 0.95;
/// Bootstrap resamples behind an [`UpperFit`].
pub const BOOTSTRAP_REPLICATES: u32 = 200;

/// The false-positive targets the limits are set for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// Probability that an honest item of `item_tokens` tokens fails the token check.
    pub token_fp_per_item: f64,
    /// Tokens per item the token target refers to.
    pub item_tokens: u32,
    /// Probability that an honest TOPLOC chunk fails any of the three rules.
    pub chunk_fp: f64,
    /// Confidence that each limit's fitted tail is not lighter than the honest noise's: every
    /// limit is at least the `fit_confidence` quantile of the limits fitted to bootstrap
    /// resamples of the honest items ([`UpperFit`]). `None`: the point fit alone (files made
    /// before this was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit_confidence: Option<f64>,
}

impl Default for Targets {
    /// 1e-4 per honest 1,024-token item for the token check, 1e-6 per TOPLOC chunk.
    fn default() -> Self {
        Self {
            token_fp_per_item: 1e-4,
            item_tokens: 1024,
            chunk_fp: 1e-6,
            fit_confidence: Some(DEFAULT_FIT_CONFIDENCE),
        }
    }
}

/// The limits, exactly as a task carries them (`IDisputeGame.ToplocParams`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Mantissa-error mean limit, thousandths.
    pub max_mant_err_mean_milli: u32,
    /// Mantissa-error median limit, thousandths.
    pub max_mant_err_median_milli: u32,
    /// Least exponent matches of `topk`.
    pub min_exp_matches: u32,
    /// Token margin, thousandths of a logit.
    pub token_margin_milli: u32,
}

impl Limits {
    /// The TOPLOC thresholds.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            max_mant_err_mean: f64::from(self.max_mant_err_mean_milli) / 1000.0,
            max_mant_err_median: f64::from(self.max_mant_err_median_milli) / 1000.0,
            min_exp_matches: self.min_exp_matches as usize,
        }
    }

    /// The token margin in logits.
    pub fn token_margin(&self) -> f32 {
        self.token_margin_milli as f32 / 1000.0
    }
}

/// A generalized Pareto fit of one statistic's upper tail, and the limit it gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TailFit {
    /// Samples.
    pub samples: u64,
    /// Largest sample (before dither).
    pub max_observed: f64,
    /// Threshold `u` of the peaks-over-threshold fit.
    pub threshold: f64,
    /// Samples above `u`.
    pub exceedances: u64,
    /// GPD scale.
    pub scale: f64,
    /// GPD shape as fitted.
    pub shape_fitted: f64,
    /// GPD shape used (`max(fitted, 0)`).
    pub shape: f64,
    /// Per-sample exceedance probability the limit is set for.
    pub target: f64,
    /// The fitted tail's quantile at `target` (on the dithered scale for integer statistics).
    pub quantile: f64,
    /// The limit (in the statistic's units, before fixed-point rounding).
    pub limit: f64,
    /// Whether the quantile (`"tail"`) or the largest sample (`"observed"`) set the limit.
    pub binding: String,
    /// The largest samples, largest first (at most 64): empirical quantiles for other targets.
    pub largest: Vec<f64>,
    /// The fit's sampling uncertainty (when the targets ask for a confidence): `limit` is at
    /// least `upper.limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<UpperFit>,
}

/// The tail fitted to one bootstrap resample of the honest items (drawn with replacement, as
/// many as there are): the replicate whose limit is the `confidence` quantile of
/// `replicates` replicates' limits. A heavier tail than the point fit's is what makes a limit
/// hold on another sample of honest items of the same size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpperFit {
    /// Bootstrap replicates fitted.
    pub replicates: u32,
    /// Quantile of the replicates' limits taken.
    pub confidence: f64,
    /// That replicate's samples.
    pub samples: u64,
    /// Its threshold.
    pub threshold: f64,
    /// Its exceedances.
    pub exceedances: u64,
    /// Its GPD scale.
    pub scale: f64,
    /// Its GPD shape as used (`max(fitted, 0)`).
    pub shape: f64,
    /// Its limit at the target.
    pub limit: f64,
}

impl UpperFit {
    /// This replicate's fitted quantile for a per-sample target.
    fn quantile_at(&self, target: f64) -> f64 {
        gpd_quantile(
            self.threshold,
            self.scale,
            self.shape,
            self.exceedances,
            self.samples,
            target,
        )
    }
}

/// The quantile at per-sample target `target` of a GPD tail above threshold `u` holding `m` of
/// `n` samples (`u` itself when the target is not in the tail).
fn gpd_quantile(u: f64, scale: f64, shape: f64, m: u64, n: u64, target: f64) -> f64 {
    let zeta = m as f64 / n as f64;
    let y = if target >= zeta {
        0.0
    } else if shape < 1e-9 {
        scale * (zeta / target).ln()
    } else {
        scale / shape * ((zeta / target).powf(shape) - 1.0)
    };
    u + y.max(0.0)
}

impl TailFit {
    /// The limit for another per-sample target `target` (continuous statistics): the fitted
    /// quantile (the larger of the point fit's and the [`UpperFit`] replicate's), and never below
    /// the empirical one (the `floor(target * n)`-th largest sample; the largest when
    /// `target * n < 1`).
    pub fn limit_at(&self, target: f64) -> f64 {
        let fitted = gpd_quantile(
            self.threshold,
            self.scale,
            self.shape,
            self.exceedances,
            self.samples,
            target,
        );
        let upper = self
            .upper
            .as_ref()
            .map_or(fitted, |u| u.quantile_at(target));
        let k = ((target * self.samples as f64).floor() as usize).max(1);
        let empirical = self
            .largest
            .get(k - 1)
            .or(self.largest.last())
            .copied()
            .unwrap_or(self.max_observed);
        fitted.max(upper).max(empirical)
    }

    /// Probability that a sample exceeds `x` under the fitted tail (for `x >= threshold`;
    /// the empirical fraction of the threshold below it).
    pub fn exceedance(&self, x: f64) -> f64 {
        let zeta = self.exceedances as f64 / self.samples as f64;
        if x <= self.threshold {
            return zeta;
        }
        let y = x - self.threshold;
        if self.shape.abs() < 1e-9 {
            zeta * (-y / self.scale).exp()
        } else {
            zeta * (1.0 + self.shape * y / self.scale).powf(-1.0 / self.shape)
        }
    }
}

/// Summary of the honest data a calibration was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// Where the prompts came from and which were used.
    pub prompts: String,
    /// Honest items.
    pub items: u64,
    /// Output tokens.
    pub tokens: u64,
    /// TOPLOC chunks (prefill and decode).
    pub chunks: u64,
    /// Largest token gap seen (the token check's own figure).
    pub max_gap: f64,
    /// Tokens whose validator argmax differed from the claimed token.
    pub tokens_with_positive_gap: u64,
    /// keccak256 of each trace file fitted, in order.
    pub trace_hashes: Vec<ModelHash>,
}

/// A calibration file: key, targets, limits, the fits behind them and the data summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// What it is valid for.
    pub key: Key,
    /// False-positive targets.
    pub targets: Targets,
    /// The limits a task carries.
    pub limits: Limits,
    /// Fit of the logit-difference error per token.
    pub token_error: TailFit,
    /// Fit of the exponent mismatches per chunk.
    pub exp_mismatches: TailFit,
    /// Fit of the mantissa-error mean per chunk.
    pub mant_err_mean: TailFit,
    /// Fit of the mantissa-error median per chunk.
    pub mant_err_median: TailFit,
    /// The data.
    pub data: DataSummary,
    /// The command that made it.
    pub command: String,
    /// The longest items (output tokens) this file may judge, when its data showed the honest
    /// noise growing past them (docs/calibration.md, Gemma 3); absent: any length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_item_tokens: Option<u32>,
}

fn keccak(bytes: &[u8]) -> ModelHash {
    ModelHash::of_bytes(bytes)
}

impl Calibration {
    /// The file's bytes (pretty JSON and a newline): what its hash covers. Fails on a
    /// non-finite figure (JSON has none).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut b = serde_json::to_vec_pretty(self).map_err(|e| CalibrationError::Invalid {
            path: PathBuf::from("<calibration>"),
            reason: format!("cannot be written as JSON: {e}"),
        })?;
        b.push(b'\n');
        Ok(b)
    }

    /// keccak256 of [`Self::to_bytes`]: a task's `calibrationHash`.
    pub fn hash(&self) -> Result<ModelHash> {
        Ok(keccak(&self.to_bytes()?))
    }

    /// Writes the file (atomically: a temporary file renamed over `path`).
    pub fn write(&self, path: &Path) -> Result<ModelHash> {
        let bytes = self.to_bytes()?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, &bytes)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| CalibrationError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(keccak(&bytes))
    }

    /// Reads a calibration file and its hash (keccak256 of the bytes as read). Refuses a file
    /// of another layout version, or one whose bytes are not its own canonical writing (so the
    /// hash of the file and of its content cannot differ).
    pub fn read(path: &Path) -> Result<(Self, ModelHash)> {
        let bytes = std::fs::read(path).map_err(|source| CalibrationError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(path, &bytes)
    }

    /// [`Self::read`] of bytes already in memory (`path` names them in errors).
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<(Self, ModelHash)> {
        let invalid = |reason: String| CalibrationError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let cal: Self = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("not a calibration file: {e}")))?;
        if cal.version != FORMAT_VERSION {
            return Err(invalid(format!(
                "calibration layout version {} (this build reads {FORMAT_VERSION})",
                cal.version
            )));
        }
        if cal.to_bytes()? != bytes {
            return Err(invalid(
                "not in canonical form (edited by hand?): rewrite it with `verbench-calibrate fit`"
                    .into(),
            ));
        }
        Ok((cal, keccak(bytes)))
    }

    /// The token margin (thousandths of a logit) for items of `tokens` output tokens: the
    /// token target per item spread over `tokens` tokens (`token_fp_per_item / tokens` per token),
    /// from the same fitted tail. `limits.token_margin_milli` is this for `targets.item_tokens`.
    pub fn token_margin_milli_for(&self, tokens: u32) -> u32 {
        milli_up(
            self.token_error
                .limit_at(self.targets.token_fp_per_item / f64::from(tokens.max(1))),
        )
    }

    /// Refuses this calibration for items of `max_new_tokens` output tokens when it judges only
    /// shorter ones ([`Self::max_item_tokens`]).
    pub fn check_item_tokens(&self, path: &Path, max_new_tokens: u32) -> Result<()> {
        match self.max_item_tokens {
            Some(max) if max_new_tokens > max => Err(CalibrationError::ItemsTooLong {
                path: path.to_path_buf(),
                max,
                wanted: max_new_tokens,
            }),
            _ => Ok(()),
        }
    }

    /// Refuses this calibration for a model of hash `model` judged in `sampling` mode.
    pub fn check_for(&self, path: &Path, model: ModelHash, sampling: SamplingMode) -> Result<()> {
        if self.key.model_hash != model {
            return Err(CalibrationError::Mismatch {
                path: path.to_path_buf(),
                what: "model",
                found: self.key.model_hash.to_hex(),
                expected: model.to_hex(),
            });
        }
        if self.key.sampling != sampling {
            return Err(CalibrationError::Mismatch {
                path: path.to_path_buf(),
                what: "sampling mode",
                found: self.key.sampling.to_string(),
                expected: sampling.to_string(),
            });
        }
        Ok(())
    }
}

/// The committed calibration of SmolLM2-135M-Instruct Q4_1 for greedy decoding
/// (`crates/inference/calibrations/`, made as docs/calibration.md says).
pub const SMOLLM2_GREEDY_FILE: &str =
    "crates/inference/calibrations/smollm2-135m-instruct.q4_1.greedy.json";

const SMOLLM2_GREEDY: &[u8] =
    include_bytes!("../calibrations/smollm2-135m-instruct.q4_1.greedy.json");

/// [`SMOLLM2_GREEDY_FILE`], parsed, and its hash.
pub fn smollm2_greedy() -> Result<(Calibration, ModelHash)> {
    Calibration::from_bytes(Path::new(SMOLLM2_GREEDY_FILE), SMOLLM2_GREEDY)
}

/// The committed calibration of Gemma 3 270M (base) Q4_K_M for greedy decoding
/// (`crates/inference/calibrations/`, made as docs/calibration.md says).
pub const GEMMA3_GREEDY_FILE: &str =
    "crates/inference/calibrations/gemma-3-270m.q4_k_m.greedy.json";

const GEMMA3_GREEDY: &[u8] = include_bytes!("../calibrations/gemma-3-270m.q4_k_m.greedy.json");

/// [`GEMMA3_GREEDY_FILE`], parsed, and its hash.
pub fn gemma3_greedy() -> Result<(Calibration, ModelHash)> {
    Calibration::from_bytes(Path::new(GEMMA3_GREEDY_FILE), GEMMA3_GREEDY)
}

/// TOPLOC figures of one chunk of an honest item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChunkStat {
    /// The prefill chunk (the prompt's rows) rather than a decode chunk.
    pub prefill: bool,
    /// Exponent mismatches of `topk`.
    pub exp_mismatches: u32,
    /// Mantissa-error mean.
    pub mant_err_mean: f64,
    /// Mantissa-error median.
    pub mant_err_median: f64,
}

/// The measurements of one honest item: what [`fit`] and [`check`] read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Item label (prompt index and variant), unique in its trace file.
    pub item: String,
    /// Seed of the item's sampling (0 for greedy).
    pub seed: u64,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Logit-difference error `e_t` per output token (see the module docs).
    pub token_errors: Vec<f32>,
    /// The token check's gap per output token.
    pub gaps: Vec<f32>,
    /// TOPLOC figures per chunk, prefill first.
    pub chunks: Vec<ChunkStat>,
}

/// The first line of a trace file: what every trace in it was measured with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceHeader {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// The key the traces measure.
    pub key: Key,
    /// Output tokens per item.
    pub tokens: u32,
    /// Where the prompts came from and which were used.
    pub prompts: String,
}

/// The best competitor of `claimed` under `sampling`'s score of `logits` (highest score among
/// the other tokens; the first on a tie).
fn best_competitor(sampling: &Sampling, pos: usize, logits: &[f32], claimed: usize) -> usize {
    let mut best = (f32::NEG_INFINITY, usize::MAX);
    for (j, &l) in logits.iter().enumerate() {
        if j == claimed {
            continue;
        }
        let s = score(sampling, pos, j, l);
        if s > best.0 || best.1 == usize::MAX {
            best = (s, j);
        }
    }
    best.1
}

/// The logit-difference error of output position `pos` (see the module docs).
pub fn token_error(
    sampling: &Sampling,
    pos: usize,
    generator: &[f32],
    validator: &[f32],
    claimed: u32,
) -> f32 {
    let a = claimed as usize;
    if a >= generator.len() || a >= validator.len() || generator.len() != validator.len() {
        return f32::INFINITY;
    }
    let b = best_competitor(sampling, pos, validator, a);
    if b == usize::MAX {
        return 0.0;
    }
    (validator[b] - validator[a]) - (generator[b] - generator[a])
}

/// Generates one honest item with `generator` and measures it against `validator`.
pub fn trace_item(
    generator: &Llama,
    validator: &Validator,
    item: String,
    prompt: &[u32],
    tokens: usize,
    sampling: Sampling,
    params: ProofParams,
) -> Result<Trace> {
    trace_item_with(
        validator,
        item,
        prompt,
        tokens,
        sampling,
        params,
        |opts, observe| generate_observed(generator, prompt, opts, observe),
    )
}

/// [`trace_item`] with any generator engine: `generate(options, observe)` generates from
/// `prompt` and hands `observe(position, logits)` the row of logits that chose each output
/// position (as [`generate_observed`] does), for example the llama.cpp engine's
/// `Session::generate_observed`.
pub fn trace_item_with(
    validator: &Validator,
    item: String,
    prompt: &[u32],
    tokens: usize,
    sampling: Sampling,
    params: ProofParams,
    generate: impl FnOnce(&GenerateOptions, &mut dyn FnMut(usize, &[f32])) -> crate::Result<Record>,
) -> Result<Trace> {
    let opts = GenerateOptions {
        max_new_tokens: tokens,
        sampling,
        stop_token: None,
        kv_cache: KvCacheMode::Full,
        proofs: Some(params),
    };
    let mut gen_rows: Vec<Vec<f32>> = Vec::with_capacity(tokens);
    let record = generate(&opts, &mut |_, l| gen_rows.push(l.to_vec()))?;
    if record.prompt != prompt || record.output.len() != gen_rows.len() {
        return Err(CalibrationError::Inference(crate::Error::InvalidParams(
            format!(
                "{item}: the generator returned a record for another prompt, or without one row of logits per output token"
            ),
        )));
    }
    let mut token_errors = Vec::with_capacity(tokens);
    let evidence = validator.recompute_observed(&record, |pos, v| {
        let e = match gen_rows.get(pos) {
            Some(g) => token_error(&sampling, pos, g, v, record.output[pos]),
            None => f32::INFINITY,
        };
        token_errors.push(e);
    })?;
    let chunks = evidence
        .chunks
        .iter()
        .map(|c| {
            let r = c.result.as_ref().ok_or_else(|| {
                crate::Error::InvalidParams(format!("chunk {} of {item} has no figures", c.index))
            })?;
            Ok(ChunkStat {
                prefill: c.index == 0,
                exp_mismatches: r.exp_mismatches as u32,
                mant_err_mean: r.mant_err_mean,
                mant_err_median: r.mant_err_median,
            })
        })
        .collect::<Result<Vec<_>, crate::Error>>()?;
    Ok(Trace {
        item,
        seed: match sampling {
            Sampling::Greedy => 0,
            Sampling::Seeded { seed, .. } => seed,
        },
        prompt_tokens: record.prompt.len() as u32,
        token_errors,
        gaps: evidence.gaps,
        chunks,
    })
}

/// A trace file opened for appending: its header and the items already in it.
pub struct TraceFile {
    path: PathBuf,
    file: File,
    /// The header.
    pub header: TraceHeader,
    /// Traces already present.
    pub traces: Vec<Trace>,
}

impl TraceFile {
    /// Opens (or creates, with `header`) a trace file to continue it. An existing file must have
    /// the same header; a torn last line (a run killed mid-write) is dropped.
    pub fn open_or_create(path: &Path, header: &TraceHeader) -> Result<Self> {
        let io = |source| CalibrationError::Io {
            path: path.to_path_buf(),
            source,
        };
        if path.exists() {
            let (found, traces, good_len) = read_traces_inner(path)?;
            if &found != header {
                return Err(CalibrationError::Invalid {
                    path: path.to_path_buf(),
                    reason: format!(
                        "holds traces of another run (header {}); use another --out",
                        serde_json::to_string(&found).unwrap_or_default()
                    ),
                });
            }
            let file = OpenOptions::new().append(true).open(path).map_err(io)?;
            file.set_len(good_len).map_err(io)?;
            return Ok(Self {
                path: path.to_path_buf(),
                file,
                header: found,
                traces,
            });
        }
        let mut file = File::create(path).map_err(io)?;
        let mut line = serde_json::to_vec(header).unwrap_or_default();
        line.push(b'\n');
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(io)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            header: header.clone(),
            traces: Vec::new(),
        })
    }

    /// Whether `item` is already traced.
    pub fn has(&self, item: &str) -> bool {
        self.traces.iter().any(|t| t.item == item)
    }

    /// Appends one trace (one line, synced).
    pub fn append(&mut self, trace: Trace) -> Result<()> {
        let mut line = serde_json::to_vec(&trace).unwrap_or_default();
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(|source| CalibrationError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.traces.push(trace);
        Ok(())
    }
}

fn read_traces_inner(path: &Path) -> Result<(TraceHeader, Vec<Trace>, u64)> {
    let file = File::open(path).map_err(|source| CalibrationError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |reason: String| CalibrationError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = BufReader::new(file);
    let head = reader.fill_buf().map_err(|source| CalibrationError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        return Err(invalid(
            "gzip-compressed: decompress it first (gunzip -k), as the committed traces under docs/calibration/ must be".into(),
        ));
    }
    let mut header: Option<TraceHeader> = None;
    let mut traces = Vec::new();
    let mut good_len = 0u64;
    let mut line = String::new();
    let mut n = 0usize;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|source| CalibrationError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 {
            break;
        }
        n += 1;
        if !line.ends_with('\n') {
            // A torn last line: the run was killed while writing it. Dropped (and truncated
            // away when the file is continued).
            break;
        }
        if header.is_none() {
            let h: TraceHeader = serde_json::from_str(&line)
                .map_err(|e| invalid(format!("line 1 is not a trace header: {e}")))?;
            if h.version != FORMAT_VERSION {
                return Err(invalid(format!(
                    "trace layout version {} (this build reads {FORMAT_VERSION})",
                    h.version
                )));
            }
            header = Some(h);
        } else {
            let t: Trace = serde_json::from_str(&line)
                .map_err(|e| invalid(format!("line {n} is not a trace: {e}")))?;
            traces.push(t);
        }
        good_len += read as u64;
    }
    let header = header.ok_or_else(|| invalid("empty trace file".into()))?;
    Ok((header, traces, good_len))
}

/// Reads a trace file: header and complete traces.
pub fn read_traces(path: &Path) -> Result<(TraceHeader, Vec<Trace>)> {
    let (h, t, _) = read_traces_inner(path)?;
    Ok((h, t))
}

/// A deterministic uniform number in [0, 1) for sample `i` of statistic `salt`.
fn dither(salt: u64, i: u64) -> f64 {
    let mut z = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i;
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Fits a generalized Pareto tail to `samples` and returns the limit for a per-sample
/// exceedance probability `target` (see the module docs). `integer`: dither integer samples.
pub fn fit_tail(name: &str, samples: &[f64], target: f64, integer: bool) -> Result<TailFit> {
    const MIN_SAMPLES: usize = 200;
    if samples.len() < MIN_SAMPLES {
        return Err(CalibrationError::TooFewSamples(format!(
            "{name}: {} samples; a tail fit needs at least {MIN_SAMPLES}",
            samples.len()
        )));
    }
    if let Some(bad) = samples.iter().find(|x| !x.is_finite()) {
        return Err(CalibrationError::TooFewSamples(format!(
            "{name}: a sample is {bad}: the honest run itself failed (see the traces)"
        )));
    }
    if !(target > 0.0 && target < 1.0) {
        return Err(CalibrationError::TooFewSamples(format!(
            "{name}: target {target} is not a probability"
        )));
    }
    let salt = name
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
    let mut xs: Vec<f64> = samples
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if integer {
                x + dither(salt, i as u64)
            } else {
                x
            }
        })
        .collect();
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let k = (n / 20).clamp(50, 1000).min(n - 1);
    let u = xs[n - k - 1];
    let ys: Vec<f64> = xs.iter().filter(|&&x| x > u).map(|&x| x - u).collect();
    let m = ys.len();
    if m < 20 {
        return Err(CalibrationError::TooFewSamples(format!(
            "{name}: only {m} samples above the tail threshold {u} (ties); need at least 20"
        )));
    }
    // Probability-weighted moments: a0 = mean, a1 = E[Y (1 - F(Y))], ascending order.
    let a0 = ys.iter().sum::<f64>() / m as f64;
    let a1 = ys
        .iter()
        .enumerate()
        .map(|(i, &y)| (m - 1 - i) as f64 / (m - 1) as f64 * y)
        .sum::<f64>()
        / m as f64;
    let denom = a0 - 2.0 * a1;
    if !(denom > 0.0 && a0 > 0.0) {
        return Err(CalibrationError::TooFewSamples(format!(
            "{name}: degenerate tail (a0 {a0}, a1 {a1})"
        )));
    }
    let k_hosking = a0 / denom - 2.0;
    let scale = 2.0 * a0 * a1 / denom;
    let shape_fitted = -k_hosking;
    let shape = shape_fitted.max(0.0);
    let quantile = gpd_quantile(u, scale, shape, m as u64, n as u64, target);
    let max_observed = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Integer statistic X fails when X > L; P(X > L) = P(X + U > L + 1) <= target needs
    // L + 1 >= quantile. The dithered GPD is only used when it finds a heavy tail (shape > 0):
    // on values concentrated on one or two integers the dither alone makes a bounded, uniform
    // tail (shape near -1) whose exponential replacement would extrapolate the dither. The
    // geometric tail (the discrete exponential) is always computed and the larger limit kept.
    let from_tail = if integer {
        let geometric = geometric_limit(samples, target);
        if shape_fitted > 0.0 {
            geometric.max((quantile.ceil() - 1.0).max(0.0))
        } else {
            geometric
        }
    } else {
        quantile
    };
    let (limit, binding) = if from_tail >= max_observed {
        (from_tail, "tail")
    } else {
        (max_observed, "observed")
    };
    let mut largest: Vec<f64> = samples.to_vec();
    largest.sort_by(|a, b| b.total_cmp(a));
    largest.truncate(64);
    Ok(TailFit {
        largest,
        samples: n as u64,
        max_observed,
        threshold: u,
        exceedances: m as u64,
        scale,
        shape_fitted,
        shape,
        target,
        quantile,
        limit,
        binding: binding.into(),
        upper: None,
    })
}

/// The least integer `L` with `P(X > L) <= target` under a geometric tail fitted to integer
/// `samples`: `P(X >= k0 + j) = zeta * rho^j` above the largest `k0` with enough samples at or
/// above it, `rho` from the excesses with one pseudo-observation each way (so a tail with no
/// excess above `k0` still decays at a finite rate).
fn geometric_limit(samples: &[f64], target: f64) -> f64 {
    let n = samples.len();
    let want = (n / 20).clamp(50, 1000).min(n);
    let mut xs: Vec<i64> = samples.iter().map(|&x| x.round() as i64).collect();
    xs.sort_unstable();
    let k0 = xs[n - want];
    let excess: Vec<i64> = xs.iter().filter(|&&x| x >= k0).map(|&x| x - k0).collect();
    let m = excess.len() as f64;
    let sum = excess.iter().sum::<i64>() as f64;
    let rho = (sum + 1.0) / (sum + m + 2.0);
    let zeta = m / n as f64;
    // zeta * rho^(L + 1 - k0) <= target.
    let steps = ((zeta / target).ln() / (1.0 / rho).ln()).ceil().max(0.0);
    (k0 as f64 - 1.0 + steps).max(0.0)
}

/// Rounds `x` up to thousandths (the task's fixed point).
fn milli_up(x: f64) -> u32 {
    (x * 1000.0 - 1e-9).ceil().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// The four tail fits of `traces`: token error (its `limit` at `token_target`), exponent
/// mismatches, mantissa-error mean and median per chunk (at `chunk_target`).
fn fit_stats(traces: &[&Trace], token_target: f64, chunk_target: f64) -> Result<[TailFit; 4]> {
    let errors: Vec<f64> = traces
        .iter()
        .flat_map(|t| t.token_errors.iter().map(|&e| f64::from(e)))
        .collect();
    let chunks: Vec<&ChunkStat> = traces.iter().flat_map(|t| &t.chunks).collect();
    let chunk_stat = |f: fn(&ChunkStat) -> f64| chunks.iter().map(|c| f(c)).collect::<Vec<_>>();
    let mut token_error = fit_tail("token error", &errors, token_target, false)?;
    token_error.limit = token_error.limit_at(token_target);
    Ok([
        token_error,
        fit_tail(
            "exponent mismatches",
            &chunk_stat(|c| f64::from(c.exp_mismatches)),
            chunk_target,
            true,
        )?,
        fit_tail(
            "mantissa mean",
            &chunk_stat(|c| c.mant_err_mean),
            chunk_target,
            false,
        )?,
        fit_tail(
            "mantissa median",
            &chunk_stat(|c| c.mant_err_median),
            chunk_target,
            true,
        )?,
    ])
}

/// SplitMix64: the bootstrap's fixed, seeded draws (a calibration file must be reproducible
/// byte for byte from its traces).
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// [`UpperFit`]s of the four statistics: [`BOOTSTRAP_REPLICATES`] resamples of the items with
/// replacement, each fitted like the data; for each statistic the replicate at the
/// `confidence` quantile of the limits. Resampling whole items keeps the dependence between an
/// item's tokens and chunks.
fn bootstrap(
    traces: &[Trace],
    token_target: f64,
    chunk_target: f64,
    confidence: f64,
) -> Result<[UpperFit; 4]> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(CalibrationError::TooFewSamples(format!(
            "fit confidence {confidence} is not a probability"
        )));
    }
    let n = traces.len();
    let mut state = 0x7665_7262_656e_6368u64; // "verbench"
    let mut replicates: [Vec<TailFit>; 4] = Default::default();
    let mut failed = 0u32;
    for _ in 0..BOOTSTRAP_REPLICATES {
        let sample: Vec<&Trace> = (0..n)
            .map(|_| &traces[(splitmix64(&mut state) % n as u64) as usize])
            .collect();
        match fit_stats(&sample, token_target, chunk_target) {
            Ok(fits) => {
                for (all, f) in replicates.iter_mut().zip(fits) {
                    all.push(f);
                }
            }
            // A resample can be degenerate (too many ties above the threshold): counted.
            Err(_) => failed += 1,
        }
    }
    if failed > BOOTSTRAP_REPLICATES / 10 {
        return Err(CalibrationError::TooFewSamples(format!(
            "{failed} of {BOOTSTRAP_REPLICATES} bootstrap resamples of the {n} items could not be fitted: too few items"
        )));
    }
    let fitted = BOOTSTRAP_REPLICATES - failed;
    let mut stat = 0;
    Ok(replicates.map(|fits| {
        let mut uppers: Vec<UpperFit> = fits
            .iter()
            .map(|f| {
                let mut u = UpperFit {
                    replicates: fitted,
                    confidence,
                    samples: f.samples,
                    threshold: f.threshold,
                    exceedances: f.exceedances,
                    scale: f.scale,
                    shape: f.shape,
                    limit: f.limit,
                };
                // The token error's replicate is ranked by its fitted quantile alone: that is
                // all `TailFit::limit_at` can rebuild from it for any item length (a
                // resample's own largest samples are not kept).
                if stat == 0 {
                    u.limit = u.quantile_at(token_target);
                }
                u
            })
            .collect();
        stat += 1;
        uppers.sort_by(|a, b| a.limit.total_cmp(&b.limit));
        let k = ((confidence * uppers.len() as f64).ceil() as usize).clamp(1, uppers.len());
        uppers.swap_remove(k - 1)
    }))
}

/// Fits a calibration to honest traces (all measured with `header`'s key) for `targets`.
pub fn fit(
    header: &TraceHeader,
    traces: &[Trace],
    trace_hashes: Vec<ModelHash>,
    targets: Targets,
    command: String,
) -> Result<Calibration> {
    if !(targets.token_fp_per_item > 0.0 && targets.chunk_fp > 0.0 && targets.item_tokens > 0) {
        return Err(CalibrationError::TooFewSamples(
            "targets must be positive".into(),
        ));
    }
    let token_target = targets.token_fp_per_item / f64::from(targets.item_tokens);
    let chunk_target = targets.chunk_fp / 3.0;
    let all: Vec<&Trace> = traces.iter().collect();
    let [mut token_error, mut exp_mismatches, mut mant_err_mean, mut mant_err_median] =
        fit_stats(&all, token_target, chunk_target)?;
    if let Some(confidence) = targets.fit_confidence {
        let uppers = bootstrap(traces, token_target, chunk_target, confidence)?;
        for (fit, upper) in [
            &mut token_error,
            &mut exp_mismatches,
            &mut mant_err_mean,
            &mut mant_err_median,
        ]
        .into_iter()
        .zip(uppers)
        {
            if upper.limit > fit.limit {
                fit.limit = upper.limit;
                fit.binding = "bootstrap".into();
            }
            fit.upper = Some(upper);
        }
        // The margin for any item length is `limit_at` (point fit, the replicate's tail, the
        // data); the file's margin is that at the target's length, so both always agree.
        token_error.limit = token_error.limit_at(token_target);
    }
    let errors = token_error.samples;
    let chunks = exp_mismatches.samples;
    let topk = header.key.topk;
    let mismatches = exp_mismatches.limit as u32;
    if mismatches >= topk {
        return Err(CalibrationError::TooFewSamples(format!(
            "the exponent-mismatch limit {mismatches} leaves no matches of {topk}: the honest noise is too large to calibrate"
        )));
    }
    let limits = Limits {
        max_mant_err_mean_milli: milli_up(mant_err_mean.limit),
        max_mant_err_median_milli: milli_up(mant_err_median.limit),
        min_exp_matches: topk - mismatches,
        token_margin_milli: milli_up(token_error.limit),
    };
    let gaps = traces.iter().flat_map(|t| &t.gaps);
    Ok(Calibration {
        version: FORMAT_VERSION,
        key: header.key.clone(),
        targets,
        limits,
        token_error,
        exp_mismatches,
        mant_err_mean,
        mant_err_median,
        data: DataSummary {
            prompts: header.prompts.clone(),
            items: traces.len() as u64,
            tokens: errors,
            chunks,
            max_gap: gaps.clone().map(|&g| f64::from(g)).fold(0.0, f64::max),
            tokens_with_positive_gap: gaps.filter(|&&g| g > 0.0).count() as u64,
            trace_hashes,
        },
        command,
        max_item_tokens: None,
    })
}

/// The tail fits of one band of output positions (see [`fit_bands`]): each is the fitted limit,
/// or why the band's data cannot give one.
#[derive(Debug, Clone)]
pub struct BandFit {
    /// First output position of the band.
    pub from: usize,
    /// One past the last output position of the band.
    pub to: usize,
    /// Logit-difference errors in the band.
    pub tokens: usize,
    /// Decode chunks whose first row lies in the band.
    pub chunks: usize,
    /// Token margin at the per-token target.
    pub token_error: std::result::Result<TailFit, String>,
    /// Exponent mismatches per chunk at the per-chunk target.
    pub exp_mismatches: std::result::Result<TailFit, String>,
    /// Mantissa-error mean per chunk.
    pub mant_err_mean: std::result::Result<TailFit, String>,
    /// Mantissa-error median per chunk.
    pub mant_err_median: std::result::Result<TailFit, String>,
}

/// Fits the tail of each band of `width` output positions separately, with [`fit`]'s rule and
/// targets: the token errors at positions `from..to` and the decode chunks (of
/// `decode_batching_size` rows; decode chunk `c` starts at output position `c *
/// decode_batching_size`) that start there. The prefill chunk belongs to no band. An analysis of
/// whether limits that depend on the position would serve a model whose honest noise grows along
/// the sequence (`verbench-calibrate bands`); tasks carry no per-band limits.
pub fn fit_bands(
    traces: &[Trace],
    width: usize,
    decode_batching_size: usize,
    targets: &Targets,
) -> Result<Vec<BandFit>> {
    if width == 0 || decode_batching_size == 0 {
        return Err(CalibrationError::TooFewSamples(
            "band width and chunk size must be positive".into(),
        ));
    }
    if !(targets.token_fp_per_item > 0.0 && targets.chunk_fp > 0.0 && targets.item_tokens > 0) {
        return Err(CalibrationError::TooFewSamples(
            "targets must be positive".into(),
        ));
    }
    let token_target = targets.token_fp_per_item / f64::from(targets.item_tokens);
    let chunk_target = targets.chunk_fp / 3.0;
    if traces.is_empty() {
        return Err(CalibrationError::TooFewSamples("no traces".into()));
    }
    let longest = traces
        .iter()
        .map(|t| t.token_errors.len())
        .max()
        .unwrap_or(0);
    let mut bands = Vec::new();
    for from in (0..longest).step_by(width) {
        let to = from + width;
        let errors: Vec<f64> = traces
            .iter()
            .flat_map(|t| t.token_errors.iter().take(to).skip(from))
            .map(|&e| f64::from(e))
            .collect();
        let chunks: Vec<&ChunkStat> = traces
            .iter()
            .flat_map(|t| t.chunks.iter().filter(|c| !c.prefill).enumerate())
            .filter(|(c, _)| (from..to).contains(&(c * decode_batching_size)))
            .map(|(_, s)| s)
            .collect();
        let stat = |name: &str, f: &dyn Fn(&ChunkStat) -> f64, integer: bool| {
            let xs: Vec<f64> = chunks.iter().map(|c| f(c)).collect();
            fit_tail(name, &xs, chunk_target, integer).map_err(|e| e.to_string())
        };
        bands.push(BandFit {
            from,
            to,
            tokens: errors.len(),
            chunks: chunks.len(),
            token_error: fit_tail("token error", &errors, token_target, false)
                .map(|mut f| {
                    f.limit = f.limit_at(token_target);
                    f
                })
                .map_err(|e| e.to_string()),
            exp_mismatches: stat(
                "exponent mismatches",
                &|c| f64::from(c.exp_mismatches),
                true,
            ),
            mant_err_mean: stat("mantissa mean", &|c| c.mant_err_mean, false),
            mant_err_median: stat("mantissa median", &|c| c.mant_err_median, true),
        });
    }
    Ok(bands)
}

/// Failures of one check, with a one-sided 95% upper bound on the rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Trials.
    pub trials: u64,
    /// Failures.
    pub failures: u64,
    /// One-sided 95% upper bound on the failure rate (3/n for no failures: the rule of three;
    /// a Poisson bound otherwise).
    pub upper95: f64,
}

impl Rate {
    fn of(failures: u64, trials: u64) -> Self {
        Self {
            trials,
            failures,
            upper95: if trials == 0 {
                1.0
            } else {
                (poisson_upper95(failures) / trials as f64).min(1.0)
            },
        }
    }
}

/// The 95% one-sided upper confidence limit of a Poisson mean after observing `k` events.
fn poisson_upper95(k: u64) -> f64 {
    if k == 0 {
        return 3.0; // -ln(0.05) = 2.996: the rule of three.
    }
    // P(Pois(lambda) <= k) = 0.05, by bisection.
    let cdf = |lambda: f64| {
        let mut term = (-lambda).exp();
        let mut sum = term;
        for i in 1..=k {
            term *= lambda / i as f64;
            sum += term;
        }
        sum
    };
    let (mut lo, mut hi) = (k as f64, k as f64 * 4.0 + 10.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) > 0.05 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// A held-out check of a calibration: honest items it was not fitted on, judged by its limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutCheck {
    /// The calibration checked (its hash).
    pub calibration: ModelHash,
    /// Where the held-out prompts came from.
    pub prompts: String,
    /// Honest items.
    pub items: u64,
    /// Output tokens over the token margin.
    pub tokens: Rate,
    /// Items with any token over the margin.
    pub items_token_check: Rate,
    /// TOPLOC chunks breaking a limit.
    pub chunks: Rate,
    /// The per-token bound scaled to the target's item length (union bound).
    pub per_item_token_upper95: f64,
    /// The targets it is compared with.
    pub targets: Targets,
    /// Largest gap seen, and the margin.
    pub max_gap: f64,
    /// Largest logit-difference error seen.
    pub max_token_error: f64,
    /// Failing items, as `item: what`.
    pub failing: Vec<String>,
    /// The calibration's limits judged by a tail fitted to the held-out data themselves: what
    /// failure rates another honest sample implies at these limits, far below the rates the
    /// failure counts can show. Absent when the held-out data are too few to fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out_tail: Option<HeldOutTail>,
}

/// Failure rates at a calibration's limits under tails fitted (as [`fit`] fits, point fit) to
/// held-out honest data. Every statistic is read from its GPD tail (shape at least 0); integer
/// statistics on the dithered scale (`P(X > L) = P(X + U >= L + 1)`), where [`fit`] itself may
/// have set the limit from the geometric tail instead. A limit at or below the tail's threshold
/// reads as the tail's fraction of samples, a lower bound on the rate there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutTail {
    /// Probability that a token's logit-difference error exceeds the margin.
    pub token: f64,
    /// That times the target's item length (union bound), at most 1: compare with
    /// `targets.token_fp_per_item`.
    pub item: f64,
    /// Probability that a chunk breaks the exponent-match limit.
    pub exp_mismatches: f64,
    /// ... the mantissa-error mean limit.
    pub mant_err_mean: f64,
    /// ... the mantissa-error median limit.
    pub mant_err_median: f64,
    /// Their sum (union bound), at most 1: compare with `targets.chunk_fp`.
    pub chunk: f64,
}

/// [`HeldOutTail`] of `traces` at `cal`'s limits, or `None` when they are too few to fit.
fn held_out_tail(cal: &Calibration, traces: &[Trace]) -> Option<HeldOutTail> {
    let refs: Vec<&Trace> = traces.iter().collect();
    let token_target = cal.targets.token_fp_per_item / f64::from(cal.targets.item_tokens);
    let chunk_target = cal.targets.chunk_fp / 3.0;
    let [tok, exp, mean, median] = fit_stats(&refs, token_target, chunk_target).ok()?;
    let l = &cal.limits;
    let token = tok.exceedance(f64::from(l.token_margin()));
    let exp_mismatches =
        exp.exceedance(f64::from(cal.key.topk.saturating_sub(l.min_exp_matches)) + 1.0);
    let mant_err_mean = mean.exceedance(f64::from(l.max_mant_err_mean_milli) / 1000.0);
    let mant_err_median = median.exceedance(f64::from(l.max_mant_err_median_milli) / 1000.0 + 1.0);
    Some(HeldOutTail {
        token,
        item: (token * f64::from(cal.targets.item_tokens)).min(1.0),
        exp_mismatches,
        mant_err_mean,
        mant_err_median,
        chunk: (exp_mismatches + mant_err_mean + mant_err_median).min(1.0),
    })
}

/// Judges held-out honest traces by `cal`'s limits (on their first `max_item_tokens` positions
/// when the calibration judges no longer items). The traces must have the calibration's key.
pub fn check(
    cal: &Calibration,
    cal_hash: ModelHash,
    header: &TraceHeader,
    traces: &[Trace],
) -> Result<HeldOutCheck> {
    if header.key != cal.key {
        return Err(CalibrationError::Invalid {
            path: PathBuf::from("<traces>"),
            reason: format!(
                "the held-out traces were measured with another key ({}) than the calibration ({})",
                serde_json::to_string(&header.key).unwrap_or_default(),
                serde_json::to_string(&cal.key).unwrap_or_default()
            ),
        });
    }
    // A calibration that judges only items up to `max_item_tokens` is checked on those
    // positions: the first tokens and the chunks that hold them (prefill + decode chunks).
    let truncated: Vec<Trace>;
    let traces = match cal.max_item_tokens {
        Some(max) => {
            let max = max as usize;
            let chunks = 1 + max.div_ceil(cal.key.decode_batching_size.max(1) as usize);
            truncated = traces
                .iter()
                .map(|t| Trace {
                    item: t.item.clone(),
                    seed: t.seed,
                    prompt_tokens: t.prompt_tokens,
                    token_errors: t.token_errors.iter().take(max).copied().collect(),
                    gaps: t.gaps.iter().take(max).copied().collect(),
                    chunks: t.chunks.iter().take(chunks).copied().collect(),
                })
                .collect();
            &truncated[..]
        }
        None => traces,
    };
    let margin = cal.limits.token_margin();
    let th = cal.limits.thresholds();
    let topk = cal.key.topk as usize;
    let (mut tokens, mut token_fail, mut items_fail, mut chunks, mut chunk_fail) = (0, 0, 0, 0, 0);
    let mut failing = Vec::new();
    let (mut max_gap, mut max_err) = (0f64, f64::NEG_INFINITY);
    for t in traces {
        tokens += t.gaps.len() as u64;
        let bad: Vec<usize> = (0..t.gaps.len())
            .filter(|&i| t.gaps[i].is_nan() || t.gaps[i] > margin)
            .collect();
        token_fail += bad.len() as u64;
        if !bad.is_empty() {
            items_fail += 1;
            failing.push(format!(
                "{}: {} token(s) over the margin {margin:.3}, first at output position {} (gap {:.3})",
                t.item,
                bad.len(),
                bad[0],
                t.gaps[bad[0]]
            ));
        }
        max_gap = t.gaps.iter().fold(max_gap, |m, &g| m.max(f64::from(g)));
        max_err = t
            .token_errors
            .iter()
            .fold(max_err, |m, &e| m.max(f64::from(e)));
        for (i, c) in t.chunks.iter().enumerate() {
            chunks += 1;
            let r = verbench_toploc::ChunkResult {
                topk,
                exp_mismatches: c.exp_mismatches as usize,
                mant_err_mean: c.mant_err_mean,
                mant_err_median: c.mant_err_median,
            };
            let f = th.check(&r);
            if !f.is_empty() {
                chunk_fail += 1;
                failing.push(format!(
                    "{}: chunk {i} fails TOPLOC ({})",
                    t.item,
                    f.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
        }
    }
    let token_rate = Rate::of(token_fail, tokens);
    Ok(HeldOutCheck {
        calibration: cal_hash,
        prompts: header.prompts.clone(),
        items: traces.len() as u64,
        per_item_token_upper95: (token_rate.upper95 * f64::from(cal.targets.item_tokens)).min(1.0),
        tokens: token_rate,
        items_token_check: Rate::of(items_fail, traces.len() as u64),
        chunks: Rate::of(chunk_fail, chunks),
        targets: cal.targets,
        max_gap,
        max_token_error: max_err,
        failing,
        held_out_tail: held_out_tail(cal, traces),
    })
}

/// The key of a calibration made by this crate's generator and validator for `model`.
pub fn candle_key(model: &Llama, sampling: SamplingMode, params: ProofParams) -> Key {
    candle_key_with(model, sampling, params, CANDLE_DENSE_VALIDATOR)
}

/// [`candle_key`] for another validator path (for example [`CANDLE_QUANTIZED_VALIDATOR`]).
pub fn candle_key_with(
    model: &Llama,
    sampling: SamplingMode,
    params: ProofParams,
    validator_path: &str,
) -> Key {
    Key {
        model_hash: model.hash(),
        weight_format: model.format(),
        generator_engine: CANDLE_GENERATOR.into(),
        validator_path: validator_path.into(),
        sampling,
        topk: params.topk() as u32,
        decode_batching_size: params.decode_batching_size() as u32,
    }
}

/// [`candle_key_with`] for another generator engine (`generator_engine`, for example
/// `crate::llamacpp::LLAMACPP_GENERATOR`) over the same weights.
pub fn engine_key_with(
    model: &Llama,
    generator_engine: &str,
    sampling: SamplingMode,
    params: ProofParams,
    validator_path: &str,
) -> Key {
    Key {
        generator_engine: generator_engine.into(),
        ..candle_key_with(model, sampling, params, validator_path)
    }
}

/// keccak256 of bytes.
pub fn file_hash_bytes(bytes: &[u8]) -> ModelHash {
    keccak(bytes)
}

/// keccak256 of a file's bytes.
pub fn file_hash(path: &Path) -> Result<ModelHash> {
    let bytes = std::fs::read(path).map_err(|source| CalibrationError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(keccak(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_error_bounds_the_gap() {
        // Generator chose token 1 (2.0 > 1.9); the validator flips them by 0.3.
        let g = [0.0f32, 2.0, 1.9];
        let v = [0.0f32, 1.8, 2.0];
        let e = token_error(&Sampling::Greedy, 0, &g, &v, 1);
        assert!((e - 0.3).abs() < 1e-6, "{e}");
        let gap = crate::sampling::gap(&Sampling::Greedy, 0, &v, 1, 1.0);
        assert!(gap <= e.max(0.0) + 1e-6);
    }

    #[test]
    fn exponential_tail_quantile() {
        // Exponential(1) samples by inverse CDF on a grid: the fitted 1e-6 quantile is near
        // -ln(1e-6) = 13.8.
        let n = 20_000;
        let xs: Vec<f64> = (0..n)
            .map(|i| -(1.0 - (i as f64 + 0.5) / n as f64).ln())
            .collect();
        let f = fit_tail("exp", &xs, 1e-6, false).unwrap();
        assert!((f.quantile - 13.8).abs() < 1.0, "{f:?}");
        assert!(f.shape_fitted.abs() < 0.1, "{f:?}");
        assert_eq!(f.binding, "tail");
    }

    #[test]
    fn too_few_samples_is_an_error() {
        assert!(matches!(
            fit_tail("x", &[1.0; 10], 1e-6, false),
            Err(CalibrationError::TooFewSamples(_))
        ));
    }

    /// 60 items of 512 tokens and 5 chunks with a heavy (Pareto, shape 0.25) token-error tail.
    fn heavy_traces() -> Vec<Trace> {
        let mut state = 7u64;
        let mut uniform = move || (splitmix64(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
        (0..60)
            .map(|i| Trace {
                item: format!("p{i}"),
                seed: 0,
                prompt_tokens: 8,
                token_errors: (0..512)
                    .map(|_| (0.1 * ((1.0 - uniform()).powf(-0.25) - 1.0) / 0.25) as f32)
                    .collect(),
                gaps: vec![0.0; 512],
                chunks: (0..5)
                    .map(|c| ChunkStat {
                        prefill: c == 0,
                        exp_mismatches: (uniform() * 12.0) as u32,
                        mant_err_mean: 1.0 + 2.0 * uniform(),
                        mant_err_median: (1.0 + 3.0 * uniform()).floor(),
                    })
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn bootstrap_limits_are_seeded_and_cover_the_point_fit() {
        let traces = heavy_traces();
        let header = TraceHeader {
            version: FORMAT_VERSION,
            key: Key {
                model_hash: ModelHash([7; 32]),
                weight_format: WeightFormat::Quantized,
                generator_engine: CANDLE_GENERATOR.into(),
                validator_path: CANDLE_DENSE_VALIDATOR.into(),
                sampling: SamplingMode::Greedy,
                topk: 128,
                decode_batching_size: 32,
            },
            tokens: 512,
            prompts: "synthetic".into(),
        };
        let point = fit(
            &header,
            &traces,
            vec![],
            Targets {
                fit_confidence: None,
                ..Targets::default()
            },
            String::new(),
        )
        .unwrap();
        assert!(point.token_error.upper.is_none());
        let a = fit(&header, &traces, vec![], Targets::default(), String::new()).unwrap();
        let b = fit(&header, &traces, vec![], Targets::default(), String::new()).unwrap();
        assert_eq!(a.to_bytes().unwrap(), b.to_bytes().unwrap(), "seeded draws");
        let upper = a.token_error.upper.as_ref().unwrap();
        assert_eq!(
            (upper.replicates, upper.confidence),
            (BOOTSTRAP_REPLICATES, 0.95)
        );
        // A heavy tail fitted on 30,720 samples, extrapolated to 1e-7: the resamples' 95%
        // quantile lies well above the point fit, and the margin follows it at every length.
        assert!(
            upper.limit > 1.2 * point.token_error.limit,
            "{upper:?} {:?}",
            point.token_error
        );
        assert_eq!(a.limits.token_margin_milli, milli_up(upper.limit));
        for tokens in [1, 64, 1024] {
            assert!(a.token_margin_milli_for(tokens) >= point.token_margin_milli_for(tokens));
        }
        assert!(a.limits.max_mant_err_mean_milli >= point.limits.max_mant_err_mean_milli);
        assert!(a.limits.min_exp_matches <= point.limits.min_exp_matches);
        // Old files (no confidence) keep their canonical bytes: the fields are left out.
        let text = String::from_utf8(point.to_bytes().unwrap()).unwrap();
        assert!(!text.contains("fit_confidence") && !text.contains("upper"));
        let bad = Targets {
            fit_confidence: Some(1.5),
            ..Targets::default()
        };
        assert!(fit(&header, &traces, vec![], bad, String::new()).is_err());
    }

    #[test]
    fn bands_fit_their_own_positions() {
        // 40 items of 128 tokens (4 decode chunks of 32): errors and chunk figures ten times
        // larger in the second half. Each band of 64 positions holds 2 decode chunks per item.
        let traces: Vec<Trace> = (0..40)
            .map(|i| {
                let noise = |j: usize| ((i * 131 + j * 17) % 97) as f32 / 97.0;
                Trace {
                    item: format!("p{i}"),
                    seed: 0,
                    prompt_tokens: 8,
                    token_errors: (0..128)
                        .map(|j| noise(j) * if j < 64 { 0.1 } else { 1.0 })
                        .collect(),
                    gaps: vec![0.0; 128],
                    chunks: (0..5)
                        .map(|c| ChunkStat {
                            prefill: c == 0,
                            exp_mismatches: if c >= 3 { 40 } else { 4 } + (i % 3) as u32,
                            mant_err_mean: if c >= 3 { 10.0 } else { 1.0 } + f64::from(noise(c)),
                            mant_err_median: 1.0,
                        })
                        .collect(),
                }
            })
            .collect();
        let targets = Targets::default();
        let bands = fit_bands(&traces, 64, 32, &targets).unwrap();
        assert_eq!(bands.len(), 2);
        assert_eq!((bands[0].from, bands[0].to), (0, 64));
        assert_eq!((bands[1].tokens, bands[1].chunks), (2560, 80));
        let (early, late) = (&bands[0], &bands[1]);
        let margin = |b: &BandFit| b.token_error.as_ref().unwrap().limit;
        assert!(
            margin(early) < 0.2 && margin(late) > 0.9,
            "{early:?} {late:?}"
        );
        // 80 chunks per band: too few for a tail fit, and said so.
        assert!(early
            .exp_mismatches
            .as_ref()
            .unwrap_err()
            .contains("80 samples"));
        assert!(fit_bands(&traces, 0, 32, &targets).is_err());
    }

    #[test]
    fn rule_of_three_and_poisson() {
        assert!((poisson_upper95(0) - 3.0).abs() < 1e-9);
        // Known value: 4.744 for one event.
        assert!((poisson_upper95(1) - 4.744).abs() < 0.01);
    }

    #[test]
    fn sampling_mode_parses() {
        assert_eq!("greedy".parse::<SamplingMode>(), Ok(SamplingMode::Greedy));
        assert_eq!(
            "t=0.7".parse::<SamplingMode>(),
            Ok(SamplingMode::Seeded {
                temperature_milli: 700
            })
        );
        assert!("t=0".parse::<SamplingMode>().is_err());
        assert!("hot".parse::<SamplingMode>().is_err());
    }
}

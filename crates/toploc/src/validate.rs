//! Validating proofs against recomputed activations, and judging the figures.

use std::fmt;

use crate::activations::{for_each_chunk, Activations, ChunkSpan, ProofParams};
use crate::bf16::{exponent, mantissa};
use crate::error::{Error, Result};
use crate::proof::{proof_len, Proof};
use crate::topk::topk_indices;

/// What the reference reports as mean and median when no exponent matched: 2^64.
pub const NO_MATCH_SENTINEL: f64 = 18_446_744_073_709_551_616.0;

/// The figures for one chunk, computed exactly as the reference's native validator does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkResult {
    /// The `k` the chunk was checked at.
    pub topk: usize,
    /// Positions (of the verifier's own top-k) whose predicted exponent differs from the actual one.
    pub exp_mismatches: usize,
    /// Mean absolute mantissa difference over the positions whose exponents match
    /// (sum / count as f64), or 2^64 when none match.
    pub mant_err_mean: f64,
    /// The element at index `count / 2` of the sorted mantissa differences (the upper median),
    /// or 2^64 when no exponent matches.
    pub mant_err_median: f64,
}

impl ChunkResult {
    /// Positions whose exponents match: `topk - exp_mismatches`.
    pub fn exp_matches(&self) -> usize {
        self.topk - self.exp_mismatches
    }
}

/// Validates one chunk: takes the verifier's top-`topk` of `bits` (flattened bf16 bit patterns),
/// predicts each of those positions from `proof` at `index mod modulus`, and compares exponent
/// and mantissa fields (the sign is ignored).
pub fn validate_chunk(proof: &Proof, bits: &[u16], topk: usize) -> Result<ChunkResult> {
    validate_bits(proof, bits, topk, 0)
}

fn validate_bits(proof: &Proof, bits: &[u16], topk: usize, chunk: usize) -> Result<ChunkResult> {
    if proof.topk() != topk {
        return Err(Error::WrongLength {
            expected: proof_len(topk),
            actual: proof_len(proof.topk()),
        });
    }
    if bits.len() < topk {
        return Err(Error::ChunkTooSmall {
            chunk,
            values: bits.len(),
            topk,
        });
    }
    let mut exp_mismatches = 0;
    // Mantissa fields are 7 bits, so each difference is at most 127 and k of them sum below 2^24.
    let mut errs: Vec<u16> = Vec::with_capacity(topk);
    let indices = topk_indices(bits, topk);
    for (&i, predicted) in indices.iter().zip(proof.predict_many(&indices)) {
        let actual = bits[i];
        if exponent(predicted) == exponent(actual) {
            errs.push(mantissa(predicted).abs_diff(mantissa(actual)));
        } else {
            exp_mismatches += 1;
        }
    }
    let (mant_err_mean, mant_err_median) = if errs.is_empty() {
        (NO_MATCH_SENTINEL, NO_MATCH_SENTINEL)
    } else {
        let sum: u64 = errs.iter().map(|&e| u64::from(e)).sum();
        let mean = sum as f64 / errs.len() as f64;
        let mid = errs.len() / 2;
        let (_, median, _) = errs.select_nth_unstable(mid);
        (mean, f64::from(*median))
    };
    Ok(ChunkResult {
        topk,
        exp_mismatches,
        mant_err_mean,
        mant_err_median,
    })
}

fn check_count(
    params: &ProofParams,
    has_prefill: bool,
    decode_rows: usize,
    proofs: usize,
) -> Result<()> {
    let chunks = params.chunk_count(has_prefill, decode_rows);
    match proofs.cmp(&chunks) {
        std::cmp::Ordering::Greater => Err(Error::TooManyProofs { proofs, chunks }),
        std::cmp::Ordering::Less => Err(Error::TooFewProofs { proofs, chunks }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// The figures for every chunk: the prefill (when given) and each run of decode rows, against
/// one proof each, in order. The number of proofs must equal the number of chunks.
pub fn validate(
    params: &ProofParams,
    prefill: Option<&Activations<'_>>,
    decode: &Activations<'_>,
    proofs: &[Proof],
) -> Result<Vec<ChunkResult>> {
    check_count(params, prefill.is_some(), decode.rows(), proofs.len())?;
    for_each_chunk(params, prefill, decode, |chunk, _, bits| {
        validate_bits(&proofs[chunk], &bits, params.topk(), chunk)
    })
}

/// Pass/fail limits for one chunk. A chunk fails when any limit is crossed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Fail when `mant_err_mean` is above this.
    pub max_mant_err_mean: f64,
    /// Fail when `mant_err_median` is above this.
    pub max_mant_err_median: f64,
    /// Fail when fewer than this many exponents match.
    pub min_exp_matches: usize,
}

impl Thresholds {
    /// The limits of the TOPLOC paper's experiments: mean <= 10, median <= 8, and at least 90 of
    /// 128 exponents matching, the last scaled to `ceil(90 * topk / 128)` for other `k`.
    pub fn paper_defaults(topk: usize) -> Self {
        Self {
            max_mant_err_mean: 10.0,
            max_mant_err_median: 8.0,
            min_exp_matches: (90 * topk).div_ceil(128),
        }
    }

    /// The rules `result` breaks (empty when it passes).
    pub fn check(&self, result: &ChunkResult) -> Vec<Failure> {
        let mut out = Vec::new();
        if result.exp_matches() < self.min_exp_matches {
            out.push(Failure::ExpMatches {
                matches: result.exp_matches(),
                min: self.min_exp_matches,
            });
        }
        // `within` is false for a NaN limit or figure, so NaN fails closed.
        let within = |value: f64, max: f64| value.partial_cmp(&max).is_some_and(|o| o.is_le());
        if !within(result.mant_err_mean, self.max_mant_err_mean) {
            out.push(Failure::MantErrMean {
                mean: result.mant_err_mean,
                max: self.max_mant_err_mean,
            });
        }
        if !within(result.mant_err_median, self.max_mant_err_median) {
            out.push(Failure::MantErrMedian {
                median: result.mant_err_median,
                max: self.max_mant_err_median,
            });
        }
        out
    }
}

/// One rule a chunk broke.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The chunk's proof could not be parsed (null, malformed, wrong length, bad base64).
    Proof(Error),
    /// Too few exponents matched.
    ExpMatches {
        /// Exponents that matched.
        matches: usize,
        /// The configured minimum.
        min: usize,
    },
    /// The mean mantissa error is above the limit.
    MantErrMean {
        /// The measured mean.
        mean: f64,
        /// The configured maximum.
        max: f64,
    },
    /// The median mantissa error is above the limit.
    MantErrMedian {
        /// The measured median.
        median: f64,
        /// The configured maximum.
        max: f64,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Proof(e) => write!(f, "unusable proof: {e}"),
            Self::ExpMatches { matches, min } => {
                write!(f, "{matches} exponent matches, fewer than {min}")
            }
            Self::MantErrMean { mean, max } => write!(f, "mantissa error mean {mean} > {max}"),
            Self::MantErrMedian { median, max } => {
                write!(f, "mantissa error median {median} > {max}")
            }
        }
    }
}

/// The outcome for one chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkReport {
    /// Position of the chunk (and of its proof).
    pub index: usize,
    /// Which rows the chunk covers.
    pub span: ChunkSpan,
    /// The figures, when the proof could be used.
    pub result: Option<ChunkResult>,
    /// The rules broken; empty when the chunk passes.
    pub failures: Vec<Failure>,
}

impl ChunkReport {
    /// Whether the chunk passed every rule.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The outcome for a whole generation: one report per chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Every chunk, in proof order.
    pub chunks: Vec<ChunkReport>,
}

impl Verdict {
    /// Whether every chunk passed.
    pub fn passed(&self) -> bool {
        self.chunks.iter().all(ChunkReport::passed)
    }

    /// The first chunk that failed, if any.
    pub fn first_failure(&self) -> Option<&ChunkReport> {
        self.chunks.iter().find(|c| !c.passed())
    }

    /// Every chunk that failed.
    pub fn failed_chunks(&self) -> impl Iterator<Item = &ChunkReport> {
        self.chunks.iter().filter(|c| !c.passed())
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.first_failure() {
            None => write!(f, "pass ({} chunks)", self.chunks.len()),
            Some(c) => {
                write!(f, "fail at chunk {} ({:?}):", c.index, c.span)?;
                for (i, why) in c.failures.iter().enumerate() {
                    write!(f, "{} {why}", if i == 0 { "" } else { ";" })?;
                }
                Ok(())
            }
        }
    }
}

/// Validates and judges proofs given in any encoding the caller can parse per chunk.
fn verify_with(
    params: &ProofParams,
    thresholds: &Thresholds,
    prefill: Option<&Activations<'_>>,
    decode: &Activations<'_>,
    count: usize,
    parse: impl Fn(usize) -> Result<Proof>,
) -> Result<Verdict> {
    check_count(params, prefill.is_some(), decode.rows(), count)?;
    let chunks = for_each_chunk(params, prefill, decode, |index, span, bits| {
        let (result, failures) = match parse(index) {
            Err(e) => (None, vec![Failure::Proof(e)]),
            Ok(proof) => {
                let r = validate_bits(&proof, &bits, params.topk(), index)?;
                (Some(r), thresholds.check(&r))
            }
        };
        Ok(ChunkReport {
            index,
            span,
            result,
            failures,
        })
    })?;
    Ok(Verdict { chunks })
}

/// Checks base64 proofs against the verifier's activations and judges each chunk.
///
/// A proof that does not parse (null, bad base64, wrong length, ...) fails its own chunk; only
/// structural problems (proof count, a chunk smaller than `topk`) are errors.
pub fn verify_base64<S: AsRef<str>>(
    params: &ProofParams,
    thresholds: &Thresholds,
    prefill: Option<&Activations<'_>>,
    decode: &Activations<'_>,
    proofs: &[S],
) -> Result<Verdict> {
    verify_with(params, thresholds, prefill, decode, proofs.len(), |i| {
        Proof::from_base64_for_topk(proofs[i].as_ref(), params.topk())
    })
}

/// Checks byte-encoded proofs against the verifier's activations and judges each chunk; see
/// [`verify_base64`].
pub fn verify_bytes<B: AsRef<[u8]>>(
    params: &ProofParams,
    thresholds: &Thresholds,
    prefill: Option<&Activations<'_>>,
    decode: &Activations<'_>,
    proofs: &[B],
) -> Result<Verdict> {
    verify_with(params, thresholds, prefill, decode, proofs.len(), |i| {
        Proof::from_bytes_for_topk(proofs[i].as_ref(), params.topk())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_scale_only_the_match_count() {
        let t = Thresholds::paper_defaults(128);
        assert_eq!(t.min_exp_matches, 90);
        assert_eq!(Thresholds::paper_defaults(64).min_exp_matches, 45);
        assert_eq!(Thresholds::paper_defaults(4).min_exp_matches, 3);
        assert_eq!(Thresholds::paper_defaults(256).min_exp_matches, 180);
        assert_eq!(Thresholds::paper_defaults(1).min_exp_matches, 1);
        assert_eq!(Thresholds::paper_defaults(256).max_mant_err_mean, 10.0);
    }

    #[test]
    fn check_reports_each_rule() {
        let t = Thresholds::paper_defaults(128);
        let ok = ChunkResult {
            topk: 128,
            exp_mismatches: 38,
            mant_err_mean: 10.0,
            mant_err_median: 8.0,
        };
        assert!(t.check(&ok).is_empty());
        let bad = ChunkResult {
            exp_mismatches: 39,
            mant_err_mean: 10.5,
            mant_err_median: 9.0,
            ..ok
        };
        assert_eq!(t.check(&bad).len(), 3);
        let none = ChunkResult {
            exp_mismatches: 128,
            mant_err_mean: NO_MATCH_SENTINEL,
            mant_err_median: NO_MATCH_SENTINEL,
            ..ok
        };
        assert_eq!(t.check(&none).len(), 3);
        let nan_limit = Thresholds {
            max_mant_err_mean: f64::NAN,
            ..t
        };
        assert_eq!(nan_limit.check(&ok).len(), 1, "a NaN limit fails closed");
        assert_eq!(NO_MATCH_SENTINEL, 2f64.powi(64));
    }

    #[test]
    fn identical_activations_give_zero_error() {
        let bits: Vec<u16> = (0..200u16).map(|i| 0x3F80 + i * 3).collect();
        let proof = crate::build::prove_bits(&bits, 16, 0).unwrap();
        let r = validate_chunk(&proof, &bits, 16).unwrap();
        assert_eq!(
            (r.exp_mismatches, r.mant_err_mean, r.mant_err_median),
            (0, 0.0, 0.0)
        );
        assert_eq!(
            validate_chunk(&proof, &bits, 15),
            Err(Error::WrongLength {
                expected: 32,
                actual: 34
            })
        );
    }
}

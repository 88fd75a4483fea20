//! Validation of a [`Record`] by ONE forward pass over prompt + output (teacher forcing).
//!
//! The validator recomputes the final hidden state of every position and:
//! 1. checks the TOPLOC proofs against them (`verbench_toploc::verify_base64`) under
//!    [`Thresholds`];
//! 2. checks every output token against the recomputed logits: its [`gap`] (best score minus
//!    the claimed token's score, in logit units; for seeded sampling the score includes the
//!    replayed Gumbel noise) must be at most `token_margin`.
//!
//! A record passes only if both checks pass. The two are complementary: TOPLOC binds the hidden
//! states to the claimed tokens, but says nothing about where the tokens came from (a cheat can
//! generate them cheaply and prove them with one honest prefill); the token check binds the
//! tokens to the model's own choices.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};
use verbench_toploc::{Activations, ChunkReport, ProofParams, Thresholds, Verdict};

use crate::error::{Error, Result};
use crate::generate::{rows_f32, Record};
use crate::model::Llama;
use crate::sampling::gap;

/// Raw figures of one recomputation, before any threshold is applied.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// One report per chunk (prefill first); `result` holds the figures.
    pub chunks: Vec<ChunkReport>,
    /// Per output token, its gap (logit units) under the recomputed logits.
    pub gaps: Vec<f32>,
}

/// Why a record was rejected: the first failing check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Rejection {
    /// A TOPLOC chunk broke a threshold (chunk 0 is the prefill).
    Toploc {
        /// Chunk index.
        chunk: usize,
        /// The broken rules, as text.
        reasons: Vec<String>,
    },
    /// An output token is not the model's choice within the margin.
    Token {
        /// Index in the output.
        position: usize,
        /// Its gap in logits.
        gap: f32,
        /// The margin it exceeded.
        margin: f32,
    },
}

/// The judgement of a record.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// TOPLOC per-chunk reports, judged.
    pub toploc: Verdict,
    /// First output position whose gap exceeds the margin, with that gap.
    pub token_failure: Option<(usize, f32)>,
    /// Largest gap over the output.
    pub max_gap: f32,
    /// The margin applied.
    pub token_margin: f32,
}

impl Outcome {
    /// TOPLOC passed.
    pub fn toploc_passed(&self) -> bool {
        self.toploc.passed()
    }
    /// The token check passed.
    pub fn tokens_passed(&self) -> bool {
        self.token_failure.is_none()
    }
    /// Both passed.
    pub fn passed(&self) -> bool {
        self.toploc_passed() && self.tokens_passed()
    }
    /// Which check failed, where (TOPLOC first).
    pub fn rejection(&self) -> Option<Rejection> {
        if let Some(c) = self.toploc.first_failure() {
            return Some(Rejection::Toploc {
                chunk: c.index,
                reasons: c.failures.iter().map(|f| f.to_string()).collect(),
            });
        }
        self.token_failure.map(|(position, gap)| Rejection::Token {
            position,
            gap,
            margin: self.token_margin,
        })
    }
}

impl Evidence {
    /// Applies `thresholds` and `token_margin`.
    pub fn judge(&self, thresholds: &Thresholds, token_margin: f32) -> Outcome {
        let chunks = self
            .chunks
            .iter()
            .map(|c| {
                let mut c = c.clone();
                if let Some(r) = &c.result {
                    c.failures = thresholds.check(r);
                }
                c
            })
            .collect();
        let token_failure = self
            .gaps
            .iter()
            .position(|&g| g.is_nan() || g > token_margin)
            .map(|p| (p, self.gaps[p]));
        Outcome {
            toploc: Verdict { chunks },
            token_failure,
            max_gap: self.gaps.iter().copied().fold(0.0, f32::max),
            token_margin,
        }
    }
}

/// A validator: the committed model (normally dense f32, the fast prefill path), the proof
/// parameters it accepts, and its calibrated limits.
#[derive(Debug, Clone)]
pub struct Validator {
    model: Llama,
    params: ProofParams,
    thresholds: Thresholds,
    token_margin: f32,
}

impl Validator {
    /// A validator over `model` accepting proofs made with `params`.
    pub fn new(
        model: Llama,
        params: ProofParams,
        thresholds: Thresholds,
        token_margin: f32,
    ) -> Self {
        Self {
            model,
            params,
            thresholds,
            token_margin,
        }
    }

    /// The model recomputing.
    pub fn model(&self) -> &Llama {
        &self.model
    }

    /// Replaces the limits (after calibration).
    pub fn set_limits(&mut self, thresholds: Thresholds, token_margin: f32) {
        self.thresholds = thresholds;
        self.token_margin = token_margin;
    }

    /// Current TOPLOC thresholds.
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// Current token margin (logits).
    pub fn token_margin(&self) -> f32 {
        self.token_margin
    }

    /// Structural checks that need no arithmetic.
    pub fn precheck(&self, r: &Record) -> Result<()> {
        if r.model_hash != self.model.hash() {
            return Err(Error::ModelMismatch {
                record: r.model_hash.to_hex(),
                validator: self.model.hash().to_hex(),
            });
        }
        if r.prompt.is_empty() {
            return Err(Error::EmptyPrompt);
        }
        if r.output.is_empty() {
            return Err(Error::EmptyOutput);
        }
        if r.proof_params()? != self.params {
            return Err(Error::InvalidParams(format!(
                "record proofs use topk {} / chunk {}, validator expects {} / {}",
                r.topk,
                r.decode_batching_size,
                self.params.topk(),
                self.params.decode_batching_size()
            )));
        }
        r.sampling.check()?;
        let expected = self.params.chunk_count(true, r.output.len());
        if r.proofs.len() != expected {
            return Err(Error::ProofCount {
                expected,
                got: r.proofs.len(),
            });
        }
        let len = r.prompt.len() + r.output.len();
        if len > self.model.config().context_length {
            return Err(Error::ContextOverflow {
                len,
                max: self.model.config().context_length,
            });
        }
        Ok(())
    }

    /// Recomputes `record` (one forward pass) and returns the raw figures.
    pub fn recompute(&self, record: &Record) -> Result<Evidence> {
        self.recompute_observed(record, |_, _| {})
    }

    /// [`Self::recompute`], handing `observe` the recomputed logits row that chose each output
    /// position (`observe(position, logits)`): the validator side of calibration.
    pub fn recompute_observed(
        &self,
        record: &Record,
        observe: impl FnMut(usize, &[f32]),
    ) -> Result<Evidence> {
        self.precheck(record)?;
        let h = self.hidden_of(record)?;
        self.evidence_observed(record, &h, observe)
    }

    /// The hidden states of prompt + output, by one forward pass from an empty cache.
    fn hidden_of(&self, record: &Record) -> Result<Tensor> {
        let seq: Vec<u32> = record
            .prompt
            .iter()
            .chain(&record.output)
            .copied()
            .collect();
        self.model
            .forward(&seq, &mut crate::model::KvCache::default())
    }

    /// Recomputes several records in ONE packed forward pass.
    pub fn recompute_batch(&self, records: &[&Record]) -> Result<Vec<Evidence>> {
        for r in records {
            self.precheck(r)?;
        }
        let seqs: Vec<Vec<u32>> = records
            .iter()
            .map(|r| r.prompt.iter().chain(&r.output).copied().collect())
            .collect();
        let refs: Vec<&[u32]> = seqs.iter().map(|s| s.as_slice()).collect();
        let hs = self.model.forward_packed(&refs)?;
        records
            .iter()
            .zip(&hs)
            .map(|(r, h)| self.evidence(r, h))
            .collect()
    }

    /// Recomputes and judges under the validator's limits.
    pub fn validate(&self, record: &Record) -> Result<Outcome> {
        Ok(self
            .recompute(record)?
            .judge(&self.thresholds, self.token_margin))
    }

    /// Validates a multiple-choice record (one output token chosen among `candidates`, as
    /// [`crate::choose_among`] makes it) by one forward pass: the TOPLOC proofs as for any
    /// record, and the choice by restricted log-likelihood: its gap is the largest recomputed
    /// candidate logit minus the claimed candidate's, judged against the margin. Returns the
    /// outcome and the recomputed candidate logits. A claimed token that is not a candidate is
    /// [`Error::InvalidParams`].
    pub fn validate_choice(
        &self,
        record: &Record,
        candidates: &[u32],
    ) -> Result<(Outcome, Vec<f32>)> {
        self.precheck(record)?;
        let claimed = match record.output.as_slice() {
            [t] => candidates.iter().position(|c| c == t).ok_or_else(|| {
                Error::InvalidParams(format!("output token {t} is not one of the candidates"))
            })?,
            other => {
                return Err(Error::InvalidParams(format!(
                    "a choice has one output token, not {}",
                    other.len()
                )))
            }
        };
        let h = self.hidden_of(record)?;
        let mut evidence = self.evidence(record, &h)?;
        let n = record.prompt.len();
        let row = rows_f32(&self.model.logits(&h.narrow(0, n - 1, 1)?)?)?;
        let picked = crate::generate::candidate_logits(&row, candidates)?;
        let best = picked.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        evidence.gaps = vec![best - picked[claimed]];
        Ok((evidence.judge(&self.thresholds, self.token_margin), picked))
    }

    fn evidence(&self, r: &Record, h: &Tensor) -> Result<Evidence> {
        self.evidence_observed(r, h, |_, _| {})
    }

    fn evidence_observed(
        &self,
        r: &Record,
        h: &Tensor,
        mut observe: impl FnMut(usize, &[f32]),
    ) -> Result<Evidence> {
        let n = r.prompt.len();
        let m = r.output.len();
        let hidden = self.model.config().hidden_size;
        let rows = rows_f32(h)?;
        let pre = Activations::f32(&rows[..n * hidden], n, hidden)?;
        let dec = Activations::f32(&rows[n * hidden..], m, hidden)?;
        let verdict = verbench_toploc::verify_base64(
            &self.params,
            &self.thresholds,
            Some(&pre),
            &dec,
            &r.proofs,
        )?;
        // Logits of the positions that chose each output token: the last prompt position and
        // the positions of output tokens 0..m-1.
        let logits = self
            .model
            .logits(&h.narrow(0, n - 1, m)?)?
            .to_vec2::<f32>()?;
        let gaps = logits
            .iter()
            .zip(&r.output)
            .enumerate()
            .map(|(i, (l, &t))| {
                observe(i, l);
                gap(&r.sampling, i, l, t, self.token_margin)
            })
            .collect();
        Ok(Evidence {
            chunks: verdict.chunks,
            gaps,
        })
    }
}

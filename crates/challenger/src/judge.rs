//! Judging one bundle item: is the committed leaf what the task's model, run as the task says,
//! produces for the dataset's input? Pure (no chain, no I/O): used by the bot to pick leaves to
//! dispute, by operators to sign verdicts, and by end-to-end tests.
//!
//! Checks, cheapest first; the first failure is the [`InvalidReason`]:
//! 1. the record is well formed (hashes parse, proofs are base64, score is a decimal, the index
//!    is below the leaf count, the output is non-empty and no longer than `max_new_tokens`);
//! 2. the input equals the dataset's item `index`;
//! 3. the header's model hash is the validator's (and the task's, which the caller checks with
//!    [`check_header`]);
//! 4. generation stopped where it must: EOS only as the last token, and a shorter output than
//!    `max_new_tokens` ends with EOS;
//! 5. the score equals the task's scorer on the reference answer and `decode(output_tokens)` (the
//!    decoded text keeps special tokens, as `ModelTokenizer::decode` does);
//! 6. ONE prefill of the validator's model over the prompt the task's format gives for the input
//!    (chat template, system prompt, few-shot exemplars) followed by the output passes the TOPLOC
//!    proofs (prefill proof first, then decode chunks) and every token's gap.
//!
//! An item is only judged with its benchmark (dataset item, prompt format, scorer): a judge that
//! does not hold it does not judge (the bot reports the task as unjudged).
//!
//! Sampling: `temperature_milli == 0` is greedy, otherwise seeded Gumbel-max sampling with
//! `seed`, temperature `temperature_milli / 1000` and `top_p = 1.0` (the task fixes no nucleus).

use verbench_bundle::{
    benchmark::Benchmark,
    leaf,
    manifest::PromptFormat,
    scorer::{ScorerId, ScorerRef},
    Header, Item,
};
use verbench_inference::{ModelHash, ModelTokenizer, Record, Rejection, Sampling, Validator};
use verbench_toploc::ProofParams;

/// The verdict on one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    /// The leaf is what the task's model produces: the provider is right.
    Valid,
    /// The leaf is wrong: the provider is at fault.
    Invalid {
        /// The first failing check.
        reason: InvalidReason,
    },
}

impl Judgement {
    /// Whether the item passed.
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid)
    }
}

/// Why an item is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidReason {
    /// The record cannot be checked as committed (bad hash, base64, score, length, proof count).
    #[error("malformed record: {0}")]
    Malformed(String),
    /// The input is not the dataset's item at this index.
    #[error("input differs from dataset item {index}")]
    InputMismatch {
        /// Dataset index.
        index: u64,
    },
    /// The header names another model than the validator's (= the task's).
    #[error("model hash {claimed} is not the task's {expected}")]
    WrongModel {
        /// The header's model hash.
        claimed: String,
        /// The model the task fixes.
        expected: String,
    },
    /// Generation did not stop at EOS, or stopped early without it.
    #[error("bad stop: {0}")]
    BadStop(String),
    /// The committed score is not the score of the decoded output.
    #[error("score {claimed} but the output scores {computed}")]
    ScoreMismatch {
        /// The item's `score_wad`.
        claimed: u128,
        /// `dataset::score(answer, decoded output)`.
        computed: u128,
    },
    /// A TOPLOC chunk broke a threshold (chunk 0 is the prefill).
    #[error("TOPLOC failure at chunk {chunk}: {}", reasons.join("; "))]
    Toploc {
        /// Chunk index.
        chunk: usize,
        /// Broken rules.
        reasons: Vec<String>,
    },
    /// An output token is not the model's choice within the margin.
    #[error("token check failed at output position {position} (gap {gap} > margin {margin})")]
    Token {
        /// Output position.
        position: usize,
        /// Gap in logits.
        gap: f32,
        /// The margin.
        margin: f32,
    },
}

/// An error of the judge itself (not the provider's fault): the item could not be judged.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// Tokenizing the prompt or decoding the output failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The recomputation failed.
    #[error("recomputation: {0}")]
    Inference(String),
}

/// The benchmark's view of one item: what the leaf must be judged against.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The dataset input (user message).
    pub input: &'a str,
    /// The reference answer.
    pub answer: Option<&'a str>,
    /// How the input becomes the prompt.
    pub prompt: &'a PromptFormat,
    /// How the output is scored.
    pub scorer: ScorerRef,
}

impl<'a> Expected<'a> {
    /// Item `index` of `benchmark`, if it has one.
    pub fn of(benchmark: &'a Benchmark, index: u64) -> Option<Self> {
        let d = benchmark.dataset.items.get(usize::try_from(index).ok()?)?;
        Some(Self {
            input: &d.input,
            answer: d.answer.as_deref(),
            prompt: &benchmark.prompt,
            scorer: benchmark.scorer,
        })
    }
}

/// The sampling a header's generation parameters mean.
pub fn sampling_of(header: &Header) -> Sampling {
    Sampling::from_task(header.generation.temperature_milli, header.generation.seed)
}

/// The prompt token ids of `input` under `prompt` (exactly what the provider generates from).
pub fn prompt_tokens(
    tokenizer: &ModelTokenizer,
    prompt: &PromptFormat,
    input: &str,
) -> Result<Vec<u32>, JudgeError> {
    tokenizer
        .encode_chat_with_shots(prompt.system.as_deref(), &prompt.shots(), input)
        .map_err(|e| JudgeError::Tokenizer(e.to_string()))
}

/// What the header must agree with (from the chain: the commitment and the task spec).
#[derive(Debug, Clone, Default)]
pub struct HeaderExpectation {
    /// Chain id.
    pub chain_id: u64,
    /// DisputeGame address.
    pub game: [u8; 20],
    /// Task id.
    pub task_id: [u8; 32],
    /// Committing provider.
    pub provider: [u8; 20],
    /// Leaf count.
    pub leaf_count: u64,
    /// The task spec's (model hash, dataset root, generation, toploc), when known.
    pub spec: Option<SpecExpectation>,
}

/// The parts of a task spec a header repeats.
#[derive(Debug, Clone)]
pub struct SpecExpectation {
    /// Model hash.
    pub model_hash: [u8; 32],
    /// Benchmark manifest hash (zero for a legacy task).
    pub manifest_hash: [u8; 32],
    /// Dataset root.
    pub dataset_root: [u8; 32],
    /// `(max_new_tokens, temperature_milli, seed)`.
    pub generation: (u32, u32, u64),
    /// `(topk, decode_batching_size)`.
    pub toploc: (u32, u32),
}

/// Checks a bundle header against the commitment and task; `Err` names the first difference.
pub fn check_header(header: &Header, want: &HeaderExpectation) -> Result<(), String> {
    let h256 = |s: &str| leaf::parse_h256(s);
    let addr = |s: &str| leaf::parse_address(s);
    if header.chain_id != want.chain_id {
        return Err(format!("chain_id {} != {}", header.chain_id, want.chain_id));
    }
    if addr(&header.game) != Some(want.game) {
        return Err(format!("game {} is not the watched game", header.game));
    }
    if h256(&header.task_id) != Some(want.task_id) {
        return Err(format!(
            "task_id {} is not the commitment's",
            header.task_id
        ));
    }
    if addr(&header.provider) != Some(want.provider) {
        return Err(format!("provider {} is not the committer", header.provider));
    }
    if header.leaf_count != want.leaf_count {
        return Err(format!(
            "leaf_count {} != committed {}",
            header.leaf_count, want.leaf_count
        ));
    }
    if let Some(spec) = &want.spec {
        if h256(&header.model_hash) != Some(spec.model_hash) {
            return Err(format!(
                "model_hash {} is not the task's",
                header.model_hash
            ));
        }
        if h256(&header.manifest_hash) != Some(spec.manifest_hash) {
            return Err(format!(
                "manifest_hash {} is not the task's",
                header.manifest_hash
            ));
        }
        if h256(&header.dataset_root) != Some(spec.dataset_root) {
            return Err(format!(
                "dataset_root {} is not the task's",
                header.dataset_root
            ));
        }
        let g = &header.generation;
        if (g.max_new_tokens, g.temperature_milli, g.seed) != spec.generation {
            return Err(format!(
                "generation {g:?} is not the task's {:?}",
                spec.generation
            ));
        }
        if (header.toploc.topk, header.toploc.decode_batching_size) != spec.toploc {
            return Err(format!(
                "toploc {:?} is not the task's {:?}",
                header.toploc, spec.toploc
            ));
        }
    }
    Ok(())
}

/// Whether the committed `score` of `output` is not what the benchmark's scorer gives its decoded
/// text (check 5; the bot also runs it on every item without the model).
pub fn score_mismatch(
    tokenizer: &ModelTokenizer,
    output: &[u32],
    score: u128,
    expected: &Expected<'_>,
) -> Result<Option<InvalidReason>, JudgeError> {
    let text = tokenizer
        .decode(output)
        .map_err(|e| JudgeError::Tokenizer(e.to_string()))?;
    let computed = expected.scorer.score(expected.answer, &text);
    Ok((computed != score).then_some(InvalidReason::ScoreMismatch {
        claimed: score,
        computed,
    }))
}

fn invalid(reason: InvalidReason) -> Result<Judgement, JudgeError> {
    Ok(Judgement::Invalid { reason })
}

fn malformed(text: impl Into<String>) -> Result<Judgement, JudgeError> {
    invalid(InvalidReason::Malformed(text.into()))
}

/// Judges `item` of the bundle with `header`. `validator` holds the task's model (normally dense
/// f32) and the calibrated limits; its proof parameters are replaced by the header's. `expected`
/// is the benchmark's item (input, answer, prompt format, scorer).
pub fn judge(
    validator: &Validator,
    tokenizer: &ModelTokenizer,
    header: &Header,
    item: &Item,
    expected: Expected<'_>,
) -> Result<Judgement, JudgeError> {
    judge_with_figures(validator, tokenizer, header, item, expected).map(|(j, _)| j)
}

/// What a recomputation measured on one leaf: the worst chunk's TOPLOC figures and the largest
/// token gap. Published by challengers (`GET /checks/<commitmentId>`) so that anyone can see how
/// far honest leaves sit from the task's limits.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeafFigures {
    /// Chunks checked (the prefill proof and the decode chunks).
    pub chunks: usize,
    /// Most exponent mismatches in one chunk (of `topk`).
    pub max_exp_mismatches: usize,
    /// Largest mean mantissa error of a chunk (`None`: a chunk had no matching exponent).
    pub max_mant_err_mean: Option<f64>,
    /// Largest median mantissa error of a chunk (`None` as above).
    pub max_mant_err_median: Option<f64>,
    /// Largest token gap in logits (0 when every token is the recomputed choice).
    pub max_gap: f32,
}

impl LeafFigures {
    fn of(outcome: &verbench_inference::Outcome) -> Self {
        let results: Vec<_> = outcome
            .toploc
            .chunks
            .iter()
            .filter_map(|c| c.result.as_ref())
            .collect();
        // A chunk with no matching exponent reports 2^64: no finite figure to show.
        let finite = |v: f64| (v < 1e18).then_some(v);
        let max = |f: fn(&verbench_toploc::ChunkResult) -> f64| {
            results
                .iter()
                .map(|r| finite(f(r)))
                .try_fold(0.0f64, |m, v| v.map(|v| m.max(v)))
        };
        Self {
            chunks: outcome.toploc.chunks.len(),
            max_exp_mismatches: results.iter().map(|r| r.exp_mismatches).max().unwrap_or(0),
            max_mant_err_mean: max(|r| r.mant_err_mean),
            max_mant_err_median: max(|r| r.mant_err_median),
            max_gap: outcome.max_gap,
        }
    }
}

/// [`judge`], with the figures of the recomputation when it ran (checks 1-5 passed).
pub fn judge_with_figures(
    validator: &Validator,
    tokenizer: &ModelTokenizer,
    header: &Header,
    item: &Item,
    expected: Expected<'_>,
) -> Result<(Judgement, Option<LeafFigures>), JudgeError> {
    let early = |j: Result<Judgement, JudgeError>| j.map(|j| (j, None));
    // 1. Well formed.
    if let Err(reason) = leaf::leaf_of(header, item) {
        return early(malformed(reason));
    }
    if item.index >= header.leaf_count {
        return early(malformed(format!(
            "index {} >= leaf_count {}",
            item.index, header.leaf_count
        )));
    }
    let Some(score) = leaf::parse_wad(&item.score_wad) else {
        return early(malformed("score_wad is not a canonical decimal integer"));
    };
    let output = &item.output_tokens;
    if output.is_empty() {
        return early(malformed("empty output"));
    }
    let max_new = header.generation.max_new_tokens as usize;
    if output.len() > max_new {
        return early(malformed(format!(
            "{} output tokens > max_new_tokens {max_new}",
            output.len()
        )));
    }
    let params = match ProofParams::new(
        header.toploc.topk as usize,
        header.toploc.decode_batching_size as usize,
    ) {
        Ok(p) => p,
        Err(e) => return early(malformed(format!("toploc parameters: {e}"))),
    };
    let chunks = params.chunk_count(true, output.len());
    if item.proofs.len() != chunks {
        return early(malformed(format!(
            "{} proofs, expected {chunks} (prefill + decode chunks)",
            item.proofs.len()
        )));
    }
    // 2. Input.
    if expected.input != item.input {
        return early(invalid(InvalidReason::InputMismatch { index: item.index }));
    }
    // 3. Model.
    let expected_model = validator.model().hash();
    let Some(claimed_model) = leaf::parse_h256(&header.model_hash) else {
        return early(malformed("header model_hash is not 0x + 32 bytes of hex"));
    };
    if claimed_model != expected_model.0 {
        return early(invalid(InvalidReason::WrongModel {
            claimed: header.model_hash.clone(),
            expected: expected_model.to_hex(),
        }));
    }
    // 4. Stop.
    if let Some(eos) = tokenizer.eos() {
        if let Some(p) = output[..output.len() - 1].iter().position(|&t| t == eos) {
            return early(invalid(InvalidReason::BadStop(format!(
                "EOS at position {p} before the end"
            ))));
        }
        if output.len() < max_new && output.last() != Some(&eos) {
            return early(invalid(InvalidReason::BadStop(format!(
                "{} tokens < max_new_tokens {max_new} without a final EOS",
                output.len()
            ))));
        }
    }
    // 5. Score.
    if let Some(reason) = score_mismatch(tokenizer, output, score, &expected)? {
        return early(invalid(reason));
    }
    // 6. Recompute.
    let record = Record {
        model_hash: ModelHash(claimed_model),
        weight_format: validator.model().format(),
        sampling: sampling_of(header),
        topk: params.topk(),
        decode_batching_size: params.decode_batching_size(),
        prompt: prompt_tokens(tokenizer, expected.prompt, &item.input)?,
        output: output.clone(),
        proofs: item.proofs.clone(),
    };
    let v = Validator::new(
        validator.model().clone(),
        params,
        validator.thresholds(),
        validator.token_margin(),
    );
    let validated = if expected.scorer.id == ScorerId::MmluLetter {
        // Multiple choice: the claimed letter against the recomputed logits of the four letters
        // only (restricted log-likelihood), never the unrestricted argmax.
        let one = |l: &str| {
            tokenizer
                .single_token(l)
                .map_err(|e| JudgeError::Tokenizer(e.to_string()))
        };
        let letters = [one("A")?, one("B")?, one("C")?, one("D")?];
        if output.len() != 1 || !letters.contains(&output[0]) {
            return early(malformed(
                "a multiple-choice output is exactly one of the letters A-D",
            ));
        }
        v.validate_choice(&record, &letters).map(|(o, _)| o)
    } else {
        v.validate(&record)
    };
    let outcome = match validated {
        Ok(o) => o,
        Err(verbench_inference::Error::ContextOverflow { len, max }) => {
            return early(malformed(format!(
                "prompt + output = {len} tokens > context {max}"
            )))
        }
        Err(e @ verbench_inference::Error::ProofCount { .. }) => {
            return early(malformed(e.to_string()))
        }
        Err(e) if is_proof_decode_error(&e) => return early(malformed(e.to_string())),
        Err(e) => return Err(JudgeError::Inference(e.to_string())),
    };
    let figures = LeafFigures::of(&outcome);
    let judgement = match outcome.rejection() {
        None => Judgement::Valid,
        Some(Rejection::Toploc { chunk, reasons }) => Judgement::Invalid {
            reason: InvalidReason::Toploc { chunk, reasons },
        },
        Some(Rejection::Token {
            position,
            gap,
            margin,
        }) => Judgement::Invalid {
            reason: InvalidReason::Token {
                position,
                gap,
                margin,
            },
        },
    };
    Ok((judgement, Some(figures)))
}

/// A proof that does not decode, or a token outside the vocabulary, is the provider's fault.
fn is_proof_decode_error(e: &verbench_inference::Error) -> bool {
    use verbench_inference::Error as E;
    matches!(
        e,
        E::Toploc(_) | E::BadProof { .. } | E::TokenOutOfRange { .. } | E::EmptyOutput
    )
}

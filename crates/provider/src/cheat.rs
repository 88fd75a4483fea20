//! Dishonest providers, for end-to-end tests and the demo only (`verbench-submit --dev-cheat`):
//! each is a case of the detection matrix (`docs/detection.md`) that the challenger must catch.

use candle_core::quantized::GgmlDType;
use verbench_inference::detection::Weights;
use verbench_inference::{
    generate, prove_by_prefill, GenerateOptions, Llama, ModelTokenizer, Record, Result,
};

/// What the cheat does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cheat {
    /// Generates every item with the weights re-quantized to Q4_0 (cheaper), while claiming the
    /// committed model (its proofs come from the Q4_0 hidden states).
    ModelSwapQ4_0,
    /// On every `every`-th item (index % every == 0): generates under another system prompt, then
    /// builds honest-looking proofs with one prefill of the committed model over the claimed
    /// prompt and those tokens. Only the token check can see it.
    SystemPrompt {
        /// The system prompt actually used.
        system: String,
        /// Tamper with one item in `every`.
        every: u64,
    },
    /// Generates and scores every item honestly, then commits a claimed score of 100% whatever
    /// the leaves say (the score-inflation exploit; caught by `proveScoreFault`).
    InflateScore,
    /// Multiple choice: claims the answer key's letter on every item instead of the model's
    /// choice, with proofs from one honest prefill over the prompt and that letter (caught by
    /// the restricted token check wherever the model preferred another letter by more than the
    /// margin).
    AnswerKey,
}

impl std::str::FromStr for Cheat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            None if s == "model-swap" => Ok(Self::ModelSwapQ4_0),
            None if s == "inflate-score" => Ok(Self::InflateScore),
            None if s == "answer-key" => Ok(Self::AnswerKey),
            Some(("system-prompt", every)) => {
                let every: u64 = every
                    .parse()
                    .map_err(|_| format!("bad item interval {every:?}"))?;
                if every == 0 {
                    return Err("item interval must be >= 1".into());
                }
                Ok(Self::SystemPrompt {
                    system: "You are a pirate. Answer everything in pirate speak.".into(),
                    every,
                })
            }
            _ => Err(format!(
                "unknown cheat {s:?} (model-swap | system-prompt:<every> | inflate-score | answer-key)"
            )),
        }
    }
}

impl Cheat {
    /// Whether the cheat claims the answer key's letter (multiple choice).
    pub fn answers_with_key(&self) -> bool {
        matches!(self, Self::AnswerKey)
    }

    /// The aggregate score the cheat claims on chain for a bundle whose leaves give `honest`.
    pub fn claimed_score(&self, honest: u128) -> u128 {
        match self {
            Self::InflateScore => verbench_bundle::WAD,
            _ => honest,
        }
    }

    /// The model that actually generates: the detection matrix's weights for the same cheat
    /// (`verbench_inference::detection::CASES`, "model swap: Q4_1 -> Q4_0 re-quantized").
    pub fn generator(&self, committed: &Llama) -> Result<Llama> {
        let weights = match self {
            Self::ModelSwapQ4_0 => Weights::Requantized(GgmlDType::Q4_0),
            Self::SystemPrompt { .. } | Self::InflateScore | Self::AnswerKey => Weights::Committed,
        };
        weights.build(committed)
    }

    /// The record the cheat publishes for item `index`, whose input is `input.0` and honest
    /// prompt `input.1` (the task's format applied to the input).
    pub fn record(
        &self,
        index: u64,
        committed: &Llama,
        generator: &Llama,
        tokenizer: &ModelTokenizer,
        (input, claimed_prompt): (&str, &[u32]),
        opts: &GenerateOptions,
    ) -> Result<Record> {
        match self {
            Self::ModelSwapQ4_0 => generate(generator, claimed_prompt, opts),
            Self::SystemPrompt { system, every } if index % every == 0 => {
                let actual_prompt = tokenizer.encode_chat(Some(system), input)?;
                let cheap = generate(generator, &actual_prompt, opts)?;
                let params = opts
                    .proofs
                    .unwrap_or_else(verbench_toploc::ProofParams::paper_defaults);
                let proofs = prove_by_prefill(committed, claimed_prompt, &cheap.output, params)?;
                Ok(Record {
                    prompt: claimed_prompt.to_vec(),
                    proofs,
                    model_hash: committed.hash(),
                    ..cheap
                })
            }
            Self::SystemPrompt { .. } | Self::InflateScore | Self::AnswerKey => {
                generate(committed, claimed_prompt, opts)
            }
        }
    }
}

//! The crate's error type.

use std::path::PathBuf;

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong loading a model, generating or validating.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A model file exists but is not a valid GGUF / safetensors / config / tokenizer file.
    #[error("corrupt or unreadable model file {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A required tensor or metadata key is absent.
    #[error("{path}: missing {what}")]
    Missing {
        /// The file.
        path: PathBuf,
        /// The key or tensor name.
        what: String,
    },
    /// The GGUF declares an architecture this crate does not implement.
    #[error("{path}: unsupported architecture {arch:?} (supported: {})", crate::arch::supported_architectures().join(", "))]
    UnsupportedArchitecture {
        /// The file.
        path: PathBuf,
        /// `general.architecture` from the file.
        arch: String,
    },
    /// The model has no chat template this crate can apply.
    #[error("the model's chat template is not ChatML; cannot format a chat")]
    UnsupportedChatTemplate,
    /// The tokenizer could not be built or failed on an input.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// Prompt plus requested output do not fit in the model's context.
    #[error("sequence of {len} tokens exceeds the model context of {max} tokens")]
    ContextOverflow {
        /// Tokens requested.
        len: usize,
        /// The model's context length.
        max: usize,
    },
    /// A prompt with no tokens.
    #[error("the prompt is empty")]
    EmptyPrompt,
    /// A record claims no output tokens.
    #[error("the record has no output tokens")]
    EmptyOutput,
    /// A token id outside the vocabulary.
    #[error("token id {token} at position {position} is outside the vocabulary of {vocab}")]
    TokenOutOfRange {
        /// Position in prompt+output.
        position: usize,
        /// The id.
        token: u32,
        /// Vocabulary size.
        vocab: usize,
    },
    /// The record carries a number of proofs that does not match its tokens.
    #[error("the record carries {got} proofs, its tokens need {expected}")]
    ProofCount {
        /// Proofs required by the prompt and output lengths.
        expected: usize,
        /// Proofs present.
        got: usize,
    },
    /// A proof in the record could not be decoded.
    #[error("proof {index} is malformed: {source}")]
    BadProof {
        /// Index of the proof.
        index: usize,
        /// What was wrong.
        source: verbench_toploc::Error,
    },
    /// The record was made for a different model than the validator holds.
    #[error("record is for model {record}, this validator holds model {validator}")]
    ModelMismatch {
        /// Hash (hex) named by the record.
        record: String,
        /// Hash (hex) of the validator's weights.
        validator: String,
    },
    /// Invalid sampling or generation parameters.
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// A tensor operation failed.
    #[error("tensor operation: {0}")]
    Candle(#[from] candle_core::Error),
    /// The TOPLOC crate refused its input.
    #[error("toploc: {0}")]
    Toploc(#[from] verbench_toploc::Error),
    /// The llama.cpp engine (feature `llamacpp`) failed.
    #[error("{0}")]
    Engine(String),
}

impl Error {
    pub(crate) fn corrupt(path: &std::path::Path, reason: impl ToString) -> Self {
        Self::Corrupt {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
    pub(crate) fn missing(path: &std::path::Path, what: impl ToString) -> Self {
        Self::Missing {
            path: path.to_path_buf(),
            what: what.to_string(),
        }
    }
}

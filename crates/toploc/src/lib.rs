#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod activations;
pub mod bf16;
mod build;
mod error;
pub mod field;
mod proof;
mod topk;
mod validate;

pub use activations::{Activations, ChunkSpan, ProofParams};
pub use build::{build_proofs, prove_chunk, ProofBuilder};
pub use error::{Error, Result};
pub use proof::{proof_len, Proof};
pub use topk::topk_indices;
pub use validate::{
    validate, validate_chunk, verify_base64, verify_bytes, ChunkReport, ChunkResult, Failure,
    Thresholds, Verdict, NO_MATCH_SENTINEL,
};

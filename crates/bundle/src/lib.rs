#![doc = include_str!("../README.md")]

pub mod benchmark;
pub mod benchmarks;
pub mod dataset;
mod error;
mod format;
pub mod leaf;
pub mod manifest;
mod read;
pub mod score;
pub mod scorer;
pub mod store;
mod write;

pub use error::{Error, Result};
pub use format::{GenerationParams, Header, Item, Line, ToplocParams, Trailer, FORMAT};
pub use leaf::LeafV2;
pub use read::{read_bundle, BundleReader, BundleSummary, MAX_LINE_BYTES};
pub use write::{first_difference, BundleWriter, Finished};

/// 32-byte hash.
pub type Hash = verbench_merkle::Hash;

/// keccak-256 of `bytes`.
pub fn keccak256(bytes: &[u8]) -> Hash {
    verbench_merkle::keccak256_concat(&[bytes])
}

/// 1.0 in WAD fixed point (scores): the largest score an item may have.
pub const WAD: u128 = 1_000_000_000_000_000_000;

//! `verbench-submit`'s library on real files: the export of a bundle.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // tests: a failed unwrap is a failed test

mod calibration;
#[cfg(feature = "llamacpp")]
mod engine;
mod export;

use verbench_bundle::{benchmark::Benchmark, GenerationParams, Header, ToplocParams, FORMAT};
use verbench_merkle::to_hex;

/// A bundle header for `bench` outside any chain (fixed chain, game, task and provider ids):
/// greedy, `max_new_tokens` tokens, `topk` values per proof, 32 rows per chunk, engine unnamed.
pub(crate) fn header(
    bench: &Benchmark,
    model_hash: String,
    max_new_tokens: u32,
    topk: u32,
) -> Header {
    Header {
        format: FORMAT.into(),
        chain_id: 31337,
        game: format!("0x{}", "11".repeat(20)),
        task_id: to_hex(&[0x22; 32]),
        provider: format!("0x{}", "33".repeat(20)),
        model_hash,
        manifest_hash: to_hex(&[0; 32]),
        dataset_root: to_hex(&bench.dataset.root().unwrap()),
        leaf_count: bench.dataset.items.len() as u64,
        generation: GenerationParams {
            max_new_tokens,
            temperature_milli: 0,
            seed: 0,
        },
        toploc: ToplocParams {
            topk,
            decode_batching_size: 32,
        },
        engine: None,
    }
}

//! Builds without the `dev` feature (every release binary): no dishonest behaviour exists.
//! [`Cheat`] has no values, so every path that would use one is unreachable and compiled out;
//! the real one (`src/cheat.rs`, for the demo and the end-to-end tests) is not linked in.

use verbench_inference::{GenerateOptions, Llama, ModelTokenizer, Record, Result};

/// Dishonest behaviour: none in this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cheat {}

impl Cheat {
    /// Unreachable: there is no cheat to ask.
    pub fn claimed_score(&self, _honest: u128) -> u128 {
        match *self {}
    }

    /// Unreachable: there is no cheat to ask.
    pub fn generator(&self, _committed: &Llama) -> Result<Llama> {
        match *self {}
    }

    /// Unreachable: there is no cheat to ask.
    pub fn answers_with_key(&self) -> bool {
        match *self {}
    }

    /// Unreachable: there is no cheat to ask.
    pub fn record(
        &self,
        _index: u64,
        _committed: &Llama,
        _generator: &Llama,
        _tokenizer: &ModelTokenizer,
        _prompt: (&str, &[u32]),
        _opts: &GenerateOptions,
    ) -> Result<Record> {
        match *self {}
    }
}

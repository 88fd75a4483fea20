//! The challenger on anvil (contracts from `out/`, run `forge build` first), the judge on SmolLM2
//! (fails when `tools/fetch-models.sh` has not fetched it), and the check with no chain.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // tests: a failed unwrap is a failed test

mod chain;
mod check;
mod judge;
mod kill;

//! The challenger on anvil (contracts from `out/`, run `forge build` first) and the judge on
//! SmolLM2 (skipped when `tools/fetch-models.sh` has not fetched it).

mod chain;
mod judge;
mod kill;

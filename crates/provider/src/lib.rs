#![doc = include_str!("../README.md")]

/// Dishonest providers: only with the `dev` feature (the demo and the end-to-end tests).
#[cfg(feature = "dev")]
pub mod cheat;
/// Without the `dev` feature (release binaries) [`cheat::Cheat`] has no values.
#[cfg(not(feature = "dev"))]
#[path = "no_cheat.rs"]
pub mod cheat;
pub mod commit;
mod error;
pub mod export;
pub mod run;
pub mod task;
pub mod watch;

pub use error::{Error, Result};

#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

pub mod cheat;
pub mod commit;
mod error;
pub mod export;
pub mod run;
pub mod task;
pub mod watch;

pub use error::{Error, Result};

//! `verbench-submit`'s library on real files: the export of a bundle.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // tests: a failed unwrap is a failed test

mod calibration;
#[cfg(feature = "llamacpp")]
mod engine;
mod export;

//! Integration tests of verbench-inference (one test binary, per the workspace style).
#![allow(clippy::unwrap_used, clippy::print_stdout)] // tests: a failed unwrap is a failed test

mod calibration;
mod detection;
mod gemma3;
#[cfg(feature = "llamacpp")]
mod llamacpp;
mod real;
mod tiny;

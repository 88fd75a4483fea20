//! The crate's one integration-test binary.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // tests: a failed unwrap is a failed test

mod collision;
mod parser;
mod props;
mod vectors;

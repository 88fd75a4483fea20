//! The crate's one integration-test binary.

mod collision;
mod parser;
mod props;
mod vectors;

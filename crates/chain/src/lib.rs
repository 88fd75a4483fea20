#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

pub mod artifacts;
pub mod local;

mod error;
pub use error::{Error, Result};

/// Bindings generated from the Solidity interfaces (the single source of truth for the ABI).
pub mod bindings {
    alloy::sol!(
        #[sol(rpc, all_derives)]
        "../../contracts/interfaces/IMerkleVerifier.sol"
    );
}

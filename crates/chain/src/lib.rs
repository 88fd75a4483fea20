#![doc = include_str!("../README.md")]

pub mod artifacts;
pub mod deploy;
pub mod eigen;
pub mod keys;
/// A throwaway anvil chain: the `dev` feature only (tests, demo, devnet).
#[cfg(feature = "dev")]
pub mod local;
pub mod rules;
pub mod verdict;

mod error;
pub use error::{Error, Result};

/// Bindings generated from the Solidity interfaces (the single source of truth for the ABI).
#[allow(clippy::too_many_arguments)]
pub mod bindings {
    alloy::sol!(
        #[sol(rpc, all_derives)]
        "../../contracts/interfaces/IMerkleVerifier.sol"
    );
    alloy::sol!(
        #[sol(rpc, all_derives)]
        "../../contracts/interfaces/IDisputeGame.sol"
    );
    alloy::sol!(
        #[sol(rpc, all_derives)]
        "../../contracts/interfaces/IOperatorSet.sol"
    );
    alloy::sol!(
        #[sol(rpc, all_derives)]
        "../../contracts/interfaces/IServiceManager.sol"
    );
    alloy::sol!(
        #[sol(rpc, all_derives)]
        "../../contracts/interfaces/IEigenServiceManager.sol"
    );
    alloy::sol!(
        #[sol(rpc, all_derives)]
        "../../contracts/interfaces/IEigenLayerCore.sol"
    );
    alloy::sol! {
        /// The part of ERC-20 that staking needs.
        #[sol(rpc)]
        interface IERC20 {
            function approve(address spender, uint256 amount) external returns (bool);
            function balanceOf(address account) external view returns (uint256);
        }
    }
    #[cfg(feature = "dev")]
    alloy::sol! {
        /// The devnet's mintable stake token (contracts/devnet/DevnetToken.sol): test networks
        /// only, so only with the `dev` feature.
        #[sol(rpc)]
        interface IDevnetToken {
            function mint(address to, uint256 amount) external;
        }
    }
}

/// Renders a contract error, decoding verbench's custom errors by name where the revert data
/// matches one (`IDisputeGame`, `IOperatorSet`, `IServiceManager` or `IEigenServiceManager`), never as raw bytes alone.
pub fn decode_revert(error: &alloy::contract::Error) -> String {
    use bindings::{
        IDisputeGame::IDisputeGameErrors, IEigenServiceManager::IEigenServiceManagerErrors,
        IOperatorSet::IOperatorSetErrors, IServiceManager::IServiceManagerErrors,
    };
    if let Some(decoded) = error.as_decoded_interface_error::<IDisputeGameErrors>() {
        return format!("reverted: {decoded:?}");
    }
    if let Some(decoded) = error.as_decoded_interface_error::<IOperatorSetErrors>() {
        return format!("reverted: {decoded:?}");
    }
    if let Some(decoded) = error.as_decoded_interface_error::<IServiceManagerErrors>() {
        return format!("reverted: {decoded:?}");
    }
    if let Some(decoded) = error.as_decoded_interface_error::<IEigenServiceManagerErrors>() {
        return format!("reverted: {decoded:?}");
    }
    error.to_string()
}

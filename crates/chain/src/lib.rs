#![doc = include_str!("../README.md")]

pub mod artifacts;
pub mod deploy;
pub mod eigen;
pub mod follow;
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

/// A revert of one of verbench's contracts, decoded into the `sol!`-generated error enum of the
/// interface that declares it (match on the variants; never on the rendered text). Two errors with
/// the same signature in two interfaces have the same selector and cannot be told apart from the
/// revert data: `NothingToWithdraw()` (game and native service manager) and `InvalidParameter()`
/// (game and operator set) decode as the first match in the order game, operator set, native,
/// EigenLayer; know which contract was called.
#[derive(Debug)]
pub enum Revert {
    /// `IDisputeGame`'s errors.
    Game(bindings::IDisputeGame::IDisputeGameErrors),
    /// `IOperatorSet`'s errors (either back end).
    OperatorSet(bindings::IOperatorSet::IOperatorSetErrors),
    /// `IServiceManager`'s errors (the native back end's own).
    Native(bindings::IServiceManager::IServiceManagerErrors),
    /// `IEigenServiceManager`'s errors (the EigenLayer back end's own).
    Eigen(bindings::IEigenServiceManager::IEigenServiceManagerErrors),
}

impl Revert {
    /// Decodes `error`'s revert data, if it is one of verbench's custom errors.
    pub fn of(error: &alloy::contract::Error) -> Option<Self> {
        if let Some(e) = error.as_decoded_interface_error() {
            return Some(Self::Game(e));
        }
        if let Some(e) = error.as_decoded_interface_error() {
            return Some(Self::OperatorSet(e));
        }
        if let Some(e) = error.as_decoded_interface_error() {
            return Some(Self::Native(e));
        }
        error.as_decoded_interface_error().map(Self::Eigen)
    }
}

impl std::fmt::Display for Revert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Game(e) => write!(f, "{e:?}"),
            Self::OperatorSet(e) => write!(f, "{e:?}"),
            Self::Native(e) => write!(f, "{e:?}"),
            Self::Eigen(e) => write!(f, "{e:?}"),
        }
    }
}

/// Renders a contract error for people: verbench's custom errors by name ([`Revert`]), anything
/// else as alloy renders it, never as raw bytes alone.
pub fn decode_revert(error: &alloy::contract::Error) -> String {
    match Revert::of(error) {
        Some(r) => format!("reverted: {r}"),
        None => error.to_string(),
    }
}

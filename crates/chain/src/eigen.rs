//! Operators on the EigenLayer back end: restake into the set's strategy, register as an
//! EigenLayer operator, join verbench's operator set, allocate, and checkpoint weights.
//!
//! Joining takes two steps because the core applies an operator's allocation delay only after
//! `ALLOCATION_CONFIGURATION_DELAY` blocks: [`restake`] first, then (that many blocks later)
//! [`join_operator_set`]. On a local chain, mine the blocks in between.

use crate::bindings::{
    EigenTypes::{AllocateParams, DeregisterParams, OperatorSet, RegisterParams},
    IAllocationManager, IDelegationManager, IEigenServiceManager, IStrategyManager, IERC20,
};
use crate::deploy::EigenLayerAddresses;
use crate::{Error, Result};
use alloy::{
    network::Ethereum,
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, PendingTransactionBuilder},
    rpc::types::TransactionReceipt,
};

/// A magnitude of 1e18: all of an operator's stake in a strategy.
pub const FULL_MAGNITUDE: u64 = 1_000_000_000_000_000_000;

/// Sends a transaction built by a contract binding and waits for a successful receipt.
pub async fn confirm(
    sent: std::result::Result<PendingTransactionBuilder<Ethereum>, alloy::contract::Error>,
    what: &str,
) -> Result<TransactionReceipt> {
    let receipt = sent
        .map_err(Error::rpc(what))?
        .get_receipt()
        .await
        .map_err(|e| Error::Rpc {
            what: what.to_string(),
            reason: e.to_string(),
        })?;
    if !receipt.status() {
        return Err(Error::Rpc {
            what: what.to_string(),
            reason: format!("transaction {} reverted", receipt.transaction_hash),
        });
    }
    Ok(receipt)
}

/// Gas of each onboarding transaction, for reports.
#[derive(Debug, Clone, Default)]
pub struct OnboardingGas {
    /// `StrategyManager.depositIntoStrategy`.
    pub deposit: u64,
    /// `DelegationManager.registerAsOperator`.
    pub register_as_operator: u64,
    /// `AllocationManager.registerForOperatorSets` (calls verbench's registrar).
    pub register_for_set: u64,
    /// `AllocationManager.modifyAllocations`.
    pub allocate: u64,
    /// `EigenServiceManager.updateStakes` for this operator.
    pub update_stakes: u64,
}

/// `staker` (whose key signs for `provider`) deposits `amount` of the strategy's token into the
/// strategy; with `mint`, the amount is first minted from the devnet token (test networks only).
/// Returns the deposit's gas.
pub async fn deposit(
    provider: &DynProvider,
    staker: Address,
    el: &EigenLayerAddresses,
    amount: U256,
    mint: bool,
) -> Result<u64> {
    let token = IERC20::new(el.stake_token, provider.clone());
    if mint {
        mint_devnet_stake(provider, staker, el, amount).await?;
    }
    confirm(
        token.approve(el.strategy_manager, amount).send().await,
        "approving the StrategyManager",
    )
    .await?;
    let sm = IStrategyManager::new(el.strategy_manager, provider.clone());
    Ok(confirm(
        sm.depositIntoStrategy(el.strategy, el.stake_token, amount)
            .send()
            .await,
        "depositing into the strategy",
    )
    .await?
    .gas_used)
}

/// Mints `amount` of the devnet stake token to `staker` (`dev` builds only).
#[cfg(feature = "dev")]
async fn mint_devnet_stake(
    provider: &DynProvider,
    staker: Address,
    el: &EigenLayerAddresses,
    amount: U256,
) -> Result<()> {
    let token = crate::bindings::IDevnetToken::new(el.stake_token, provider.clone());
    confirm(
        token.mint(staker, amount).send().await,
        "minting devnet stake",
    )
    .await?;
    Ok(())
}

/// Release builds hold no devnet token: minting is refused.
#[cfg(not(feature = "dev"))]
async fn mint_devnet_stake(
    _provider: &DynProvider,
    _staker: Address,
    _el: &EigenLayerAddresses,
    _amount: U256,
) -> Result<()> {
    Err(crate::Error::Rpc {
        what: "minting devnet stake".into(),
        reason: "this build has no devnet token (build with the `dev` feature)".into(),
    })
}

/// Step 1: `operator` (whose key signs for `provider`) deposits `amount` of the strategy's token
/// ([`deposit`]) and registers as an EigenLayer operator, delegated to itself, with allocation
/// delay 0. With `mint`, the amount is first minted from the devnet token (test networks only).
pub async fn restake(
    provider: &DynProvider,
    operator: Address,
    el: &EigenLayerAddresses,
    amount: U256,
    mint: bool,
    gas: &mut OnboardingGas,
) -> Result<()> {
    gas.deposit = deposit(provider, operator, el, amount, mint).await?;
    let dm = IDelegationManager::new(el.delegation_manager, provider.clone());
    gas.register_as_operator = confirm(
        dm.registerAsOperator(Address::ZERO, 0, "verbench devnet operator".into())
            .send()
            .await,
        "registering as an EigenLayer operator",
    )
    .await?
    .gas_used;
    Ok(())
}

/// Step 2 (at least `ALLOCATION_CONFIGURATION_DELAY` blocks after [`restake`]): `operator`
/// registers for verbench's operator set (the AllocationManager calls `service_manager`'s
/// registrar), allocates `magnitude` (1e18 = all) of its strategy stake to the set, and
/// checkpoints its weight.
pub async fn join_operator_set(
    provider: &DynProvider,
    operator: Address,
    el: &EigenLayerAddresses,
    service_manager: Address,
    magnitude: u64,
    gas: &mut OnboardingGas,
) -> Result<()> {
    let am = IAllocationManager::new(el.allocation_manager, provider.clone());
    gas.register_for_set = confirm(
        am.registerForOperatorSets(
            operator,
            RegisterParams {
                avs: service_manager,
                operatorSetIds: vec![el.operator_set_id],
                data: Bytes::new(),
            },
        )
        .send()
        .await,
        "registering for verbench's operator set",
    )
    .await?
    .gas_used;
    gas.allocate = confirm(
        am.modifyAllocations(
            operator,
            vec![AllocateParams {
                operatorSet: OperatorSet {
                    avs: service_manager,
                    id: el.operator_set_id,
                },
                strategies: vec![el.strategy],
                newMagnitudes: vec![magnitude],
            }],
        )
        .send()
        .await,
        "allocating stake to verbench's operator set",
    )
    .await?
    .gas_used;
    gas.update_stakes = update_stakes(provider, service_manager, &[operator]).await?;
    Ok(())
}

/// Checkpoints the current weights of `operators` (anyone may call). Returns the gas used.
pub async fn update_stakes(
    provider: &DynProvider,
    service_manager: Address,
    operators: &[Address],
) -> Result<u64> {
    let sm = IEigenServiceManager::new(service_manager, provider.clone());
    Ok(confirm(
        sm.updateStakes(operators.to_vec()).send().await,
        "checkpointing operator weights",
    )
    .await?
    .gas_used)
}

/// `operator` (whose key signs for `provider`) leaves verbench's operator set. It stays slashable in the core for
/// the deallocation delay.
pub async fn leave_operator_set(
    provider: &DynProvider,
    operator: Address,
    el: &EigenLayerAddresses,
    service_manager: Address,
) -> Result<TransactionReceipt> {
    let am = IAllocationManager::new(el.allocation_manager, provider.clone());
    confirm(
        am.deregisterFromOperatorSets(DeregisterParams {
            operator,
            avs: service_manager,
            operatorSetIds: vec![el.operator_set_id],
        })
        .send()
        .await,
        "deregistering from verbench's operator set",
    )
    .await
}

/// `operator`'s current magnitude allocated to verbench's set in the set's strategy, and its
/// max magnitude in that strategy (both drop when it is slashed).
pub async fn magnitudes(
    provider: &DynProvider,
    el: &EigenLayerAddresses,
    service_manager: Address,
    operator: Address,
) -> Result<(u64, u64)> {
    let am = IAllocationManager::new(el.allocation_manager, provider.clone());
    let set = OperatorSet {
        avs: service_manager,
        id: el.operator_set_id,
    };
    let alloc = am
        .getAllocation(operator, set, el.strategy)
        .call()
        .await
        .map_err(Error::rpc("reading an allocation"))?;
    let max = am
        .getMaxMagnitude(operator, el.strategy)
        .call()
        .await
        .map_err(Error::rpc("reading a max magnitude"))?;
    Ok((alloc.currentMagnitude, max))
}

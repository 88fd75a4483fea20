//! Deployment of verbench's contracts from forge artifacts, and the `deployments/<chainId>.json`
//! address book that `script/Deploy.s.sol` also writes.

use crate::artifacts::{creation_bytecode, project_root};
use crate::{Error, Result};
use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolValue,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Addresses of one deployment (the JSON written by `script/Deploy.s.sol`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// The chain.
    pub chain_id: u64,
    /// Who deployed.
    pub deployer: Address,
    /// Where confiscated shares go.
    pub treasury: Address,
    /// Block of the deployment (watchers start there).
    pub block_number: u64,
    /// The ServiceManager (operators and stakes).
    pub service_manager: Address,
    /// The DisputeGame (tasks, commitments, disputes).
    pub dispute_game: Address,
    /// Which ServiceManager back end `service_manager` is (absent in older files: native).
    #[serde(default)]
    pub backend: Backend,
    /// The EigenLayer core and verbench's operator set (EigenLayer back end only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eigenlayer: Option<EigenLayerAddresses>,
}

/// The ServiceManager back ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// `ServiceManager`: operators stake native ETH in verbench's own contract.
    #[default]
    Native,
    /// `EigenServiceManager`: operators restake through the EigenLayer core (AllocationManager).
    #[value(name = "eigenlayer")]
    #[serde(rename = "eigenlayer")]
    EigenLayer,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Native => "native",
            Self::EigenLayer => "eigenlayer",
        })
    }
}

impl Backend {
    /// Checks that a deployment is of the back end the user asked for (`None`: any).
    pub fn check(wanted: Option<Self>, deployment: &Deployment) -> Result<()> {
        match wanted {
            Some(w) if w != deployment.backend => Err(Error::BackendMismatch {
                wanted: w.to_string(),
                found: deployment.backend.to_string(),
            }),
            _ => Ok(()),
        }
    }
}

/// Addresses of the EigenLayer core contracts (proxies) and of verbench's operator set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EigenLayerAddresses {
    /// AllocationManager proxy.
    pub allocation_manager: Address,
    /// DelegationManager proxy.
    pub delegation_manager: Address,
    /// StrategyManager proxy.
    pub strategy_manager: Address,
    /// PermissionController proxy.
    pub permission_controller: Address,
    /// AVSDirectory proxy.
    pub avs_directory: Address,
    /// EigenPodManager proxy.
    pub eigen_pod_manager: Address,
    /// The pauser registry the core was built with.
    pub pauser_registry: Address,
    /// The strategy of verbench's operator set.
    pub strategy: Address,
    /// The strategy's underlying token.
    pub stake_token: Address,
    /// verbench's operator set id (its AVS is `service_manager`).
    pub operator_set_id: u32,
    /// The core's deallocation delay, blocks.
    pub deallocation_delay: u32,
    /// The core's allocation configuration delay, blocks.
    pub allocation_configuration_delay: u32,
}

impl Deployment {
    /// `deployments/<chain_id>.json` in the project.
    pub fn default_path(chain_id: u64) -> PathBuf {
        project_root()
            .join("deployments")
            .join(format!("{chain_id}.json"))
    }

    /// Reads a deployment file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let err = |reason: String| Error::Deployment {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| err(e.to_string()))
    }

    /// Writes a deployment file (pretty JSON).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let err = |reason: String| Error::Deployment {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        std::fs::write(path, text + "\n").map_err(|e| err(e.to_string()))
    }
}

/// Constructor parameters (defaults as in `script/Deploy.s.sol`).
#[derive(Debug, Clone)]
pub struct DeployParams {
    /// Receiver of confiscated shares; the deployer when `None`.
    pub treasury: Option<Address>,
    /// Operator unbonding delay, seconds.
    pub unbonding_delay: u64,
    /// Minimum operator stake, wei.
    pub min_stake: U256,
    /// Share of a slashed provider bond paid to the challenger, basis points (< 10000).
    pub challenger_share_bps: u16,
    /// Stake share a verdict needs, basis points.
    pub quorum_bps: u16,
    /// Seconds a provider has to reveal a disputed leaf.
    pub reveal_window: u32,
    /// Seconds operators have to reach a verdict once the leaf is known.
    pub voting_period: u32,
}

impl Default for DeployParams {
    fn default() -> Self {
        Self {
            treasury: None,
            unbonding_delay: 14 * 24 * 3600,
            min_stake: U256::from(10u64).pow(U256::from(18u64)),
            challenger_share_bps: 5000,
            quorum_bps: 6667,
            reveal_window: 24 * 3600,
            voting_period: 2 * 24 * 3600,
        }
    }
}

/// Sends a contract-creation transaction and returns the new contract's address.
pub async fn send_deploy<P: Provider>(
    provider: &P,
    from: Address,
    code: Bytes,
    what: &str,
) -> Result<Address> {
    let tx = TransactionRequest::default()
        .from(from)
        .with_deploy_code(code);
    let rpc = |reason: String| Error::Rpc {
        what: format!("deploying {what}"),
        reason,
    };
    let receipt = provider
        .send_transaction(tx)
        .await
        .map_err(|e| rpc(e.to_string()))?
        .get_receipt()
        .await
        .map_err(|e| rpc(e.to_string()))?;
    if !receipt.status() {
        return Err(rpc("transaction reverted".into()));
    }
    receipt
        .contract_address
        .ok_or_else(|| rpc("no contract address in receipt".into()))
}

/// Deploys ServiceManager and DisputeGame from `out/` (run `forge build` first) with `from` as
/// the sender, exactly as `script/Deploy.s.sol` does.
pub async fn deploy<P: Provider>(
    provider: &P,
    from: Address,
    params: &DeployParams,
) -> Result<Deployment> {
    let out = project_root().join("out");
    let treasury = params.treasury.unwrap_or(from);
    let code = creation_bytecode(&out, "ServiceManager", "ServiceManager")?;
    deploy_with(provider, from, params, Backend::Native, None, |game| {
        let mut c = code.to_vec();
        c.extend(
            (
                game,
                treasury,
                U256::from(params.unbonding_delay),
                params.min_stake,
            )
                .abi_encode_params(),
        );
        c.into()
    })
    .await
}

/// EigenServiceManager's strategy multiplier (WAD) that counts one share as one unit of weight.
const ONE_SHARE_ONE_WEIGHT: u64 = 1_000_000_000_000_000_000;

/// Deploys EigenServiceManager (the AVS of a new operator set over `el.strategy`, on the core at
/// `el`) and DisputeGame from `out/`. The set has that one strategy, with a weight multiplier of
/// 1e18 (one unit of weight per share: it is the reference asset). `min_seconds_per_block`
/// converts the core's block-based deallocation delay into seconds (12 on Ethereum);
/// `params.unbonding_delay` and `params.min_stake` do not apply (the core's delay and
/// allocations rule).
pub async fn deploy_eigenlayer<P: Provider>(
    provider: &P,
    from: Address,
    params: &DeployParams,
    el: EigenLayerAddresses,
    min_seconds_per_block: u32,
) -> Result<Deployment> {
    let out = project_root().join("out");
    let code = creation_bytecode(&out, "EigenServiceManager", "EigenServiceManager")?;
    let (am, strategy, set_id) = (el.allocation_manager, el.strategy, el.operator_set_id);
    deploy_with(
        provider,
        from,
        params,
        Backend::EigenLayer,
        Some(el),
        |game| {
            let mut c = code.to_vec();
            c.extend(
                (
                    am,
                    game,
                    vec![strategy],
                    vec![U256::from(ONE_SHARE_ONE_WEIGHT)],
                    set_id,
                    min_seconds_per_block,
                    String::from("https://verbench.invalid/avs-metadata.json"),
                )
                    .abi_encode_params(),
            );
            c.into()
        },
    )
    .await
}

/// Deploys a service manager (`service_manager_code(dispute_game_address)`) and the DisputeGame
/// wired to it.
async fn deploy_with<P: Provider>(
    provider: &P,
    from: Address,
    params: &DeployParams,
    backend: Backend,
    eigenlayer: Option<EigenLayerAddresses>,
    service_manager_code: impl FnOnce(Address) -> Bytes,
) -> Result<Deployment> {
    let out = project_root().join("out");
    let rpc = |reason: String| Error::Rpc {
        what: "deploying".into(),
        reason,
    };
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| rpc(e.to_string()))?;
    let nonce = provider
        .get_transaction_count(from)
        .await
        .map_err(|e| rpc(e.to_string()))?;
    let block_number = provider
        .get_block_number()
        .await
        .map_err(|e| rpc(e.to_string()))?;
    let treasury = params.treasury.unwrap_or(from);
    let game_address = from.create(nonce + 1);

    let service_manager = send_deploy(
        provider,
        from,
        service_manager_code(game_address),
        "ServiceManager",
    )
    .await?;

    let mut game_code = creation_bytecode(&out, "DisputeGame", "DisputeGame")?.to_vec();
    game_code.extend(
        (
            service_manager,
            treasury,
            U256::from(params.challenger_share_bps),
            U256::from(params.quorum_bps),
            U256::from(params.reveal_window),
            U256::from(params.voting_period),
        )
            .abi_encode_params(),
    );
    let dispute_game = send_deploy(provider, from, game_code.into(), "DisputeGame").await?;
    if dispute_game != game_address {
        return Err(rpc(format!(
            "DisputeGame landed at {dispute_game}, expected {game_address}"
        )));
    }
    Ok(Deployment {
        chain_id,
        deployer: from,
        treasury,
        block_number,
        service_manager,
        dispute_game,
        backend,
        eigenlayer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_without_a_backend_are_native_and_a_mismatch_is_an_error() {
        // The layout script/Deploy.s.sol wrote before it named the backend (no backend, no
        // eigenlayer section): still read, as native.
        let old = r#"{"chainId":31337,"deployer":"0x0000000000000000000000000000000000000001",
            "treasury":"0x0000000000000000000000000000000000000001","blockNumber":1,
            "serviceManager":"0x0000000000000000000000000000000000000002",
            "disputeGame":"0x0000000000000000000000000000000000000003"}"#;
        let d: Deployment = serde_json::from_str(old).unwrap();
        assert_eq!(d.backend, Backend::Native);
        assert!(d.eigenlayer.is_none());
        assert!(Backend::check(None, &d).is_ok());
        assert!(Backend::check(Some(Backend::Native), &d).is_ok());
        let err = Backend::check(Some(Backend::EigenLayer), &d).unwrap_err();
        assert!(err.to_string().contains("native back end"), "{err}");
        let text = serde_json::to_string(&Deployment {
            backend: Backend::EigenLayer,
            ..d
        })
        .unwrap();
        assert!(text.contains(r#""backend":"eigenlayer""#), "{text}");
    }
}

//! A local EigenLayer network for verbench's EigenLayer back end.
//!
//! [`deploy_core`] deploys the EigenLayer core contracts on a bare chain (anvil) from the creation
//! bytecode shipped in the `eigen-utils` crate (2.0.0, module `slashing::core`), each behind an
//! OpenZeppelin transparent proxy, plus the pieces that crate lacks, compiled from this
//! repository's `contracts/devnet/` (run `forge build` first): the proxies and the empty contract
//! they first point at, a pauser registry, a mintable stake token and a strategy over it.
//! [`deploy`] then adds verbench's `EigenServiceManager` (the AVS, with its operator set) and
//! `DisputeGame`, and [`onboard`] takes an operator from tokens to allocated, weighted stake.
//!
//! `eigen-utils` is BUSL-1.1: this crate only reads its bytecode constants (passed on as plain
//! bytes) for test networks; nothing of it is copied into the repository or linked into the
//! provider, the challenger or the demo.

use alloy::{
    primitives::{Address, Bytes, B256, U256},
    providers::{ext::AnvilApi, DynProvider, Provider},
    sol_types::{SolCall, SolValue},
};
use anyhow::Context;
use eigen_utils::slashing::core::{
    allocation_manager::AllocationManager, avs_directory::AVSDirectory,
    delegation_manager::DelegationManager, eigen_pod_manager::EigenPodManager,
    permission_controller::PermissionController, strategy_manager::StrategyManager,
};
use verbench_chain::{
    artifacts::{creation_bytecode, project_root},
    bindings::IStrategyManager,
    deploy::{deploy_eigenlayer, send_deploy, DeployParams, Deployment, EigenLayerAddresses},
    eigen::{self, confirm, OnboardingGas},
};

alloy::sol! {
    /// OpenZeppelin 5's ProxyAdmin (created by each TransparentUpgradeableProxy).
    #[sol(rpc)]
    interface IProxyAdmin {
        function upgradeAndCall(address proxy, address implementation, bytes data) external payable;
    }

    /// The initializer of the AllocationManager, DelegationManager, AVSDirectory and
    /// EigenPodManager in this core release.
    interface ICoreInit {
        function initialize(address initialOwner, uint256 initialPausedStatus) external;
    }

    /// The StrategyManager's initializer.
    interface IStrategyManagerInit {
        function initialize(address initialOwner, address initialStrategyWhitelister, uint256 initialPausedStatus) external;
    }
}

/// ERC-1967 admin slot: `bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1)`.
const ADMIN_SLOT: B256 =
    alloy::primitives::b256!("b53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103");

/// Parameters of the core deployment.
#[derive(Debug, Clone)]
pub struct CoreParams {
    /// Blocks a deallocated or deregistered operator stays slashable.
    pub deallocation_delay: u32,
    /// Blocks before an operator's allocation delay takes effect.
    pub allocation_configuration_delay: u32,
    /// Blocks before a queued withdrawal completes (more than the deallocation delay, so that
    /// stake cannot leave while it is slashable).
    pub min_withdrawal_delay: u32,
    /// The version string every core contract is built with.
    pub version: String,
}

impl Default for CoreParams {
    /// Two hours of 12-second blocks for the delays that protect slashing (enough for a one-hour
    /// challenge window plus reveal and voting); one block of configuration delay so that tests
    /// do not wait. anvil mines thousands of empty blocks slowly, and the core needs the chain to
    /// be older than the withdrawal delay, so the delays are kept in the hundreds of blocks.
    fn default() -> Self {
        Self {
            deallocation_delay: 600,
            allocation_configuration_delay: 1,
            min_withdrawal_delay: 601,
            version: "v1.3.0".into(),
        }
    }
}

/// Seconds per block assumed when converting the core's block delays into the unbonding delay
/// the dispute game checks its windows against: Ethereum's slot time (blocks never come faster).
pub const SECONDS_PER_BLOCK: u32 = 12;

/// What a deployment of the core cost, for reports.
#[derive(Debug, Clone, Default)]
pub struct CoreReport {
    /// Transactions sent.
    pub transactions: usize,
    /// Gas of the transactions that were not contract creations (upgrades, whitelisting).
    pub call_gas: u64,
}

struct Deployer<'a> {
    provider: &'a DynProvider,
    from: Address,
    out: std::path::PathBuf,
    report: CoreReport,
}

impl Deployer<'_> {
    async fn create(&mut self, code: Vec<u8>, what: &str) -> anyhow::Result<Address> {
        let address = send_deploy(self.provider, self.from, code.into(), what)
            .await
            .with_context(|| format!("deploying {what}"))?;
        self.report.transactions += 1;
        Ok(address)
    }

    fn artifact(&self, file: &str, contract: &str) -> anyhow::Result<Vec<u8>> {
        Ok(creation_bytecode(&self.out, file, contract)?.to_vec())
    }

    /// A transparent proxy owned by the deployer, pointing at `empty`, and its ProxyAdmin.
    async fn proxy(&mut self, empty: Address, what: &str) -> anyhow::Result<(Address, Address)> {
        let mut code =
            self.artifact("TransparentUpgradeableProxy", "TransparentUpgradeableProxy")?;
        code.extend((empty, self.from, Bytes::new()).abi_encode_params());
        let proxy = self.create(code, &format!("{what} proxy")).await?;
        let slot = self
            .provider
            .get_storage_at(proxy, U256::from_be_bytes(ADMIN_SLOT.0))
            .await?;
        let admin = Address::from_word(B256::from(slot));
        anyhow::ensure!(admin != Address::ZERO, "{what} proxy has no admin");
        Ok((proxy, admin))
    }

    async fn upgrade(
        &mut self,
        (proxy, admin): (Address, Address),
        implementation: Address,
        init: Vec<u8>,
        what: &str,
    ) -> anyhow::Result<()> {
        let pa = IProxyAdmin::new(admin, self.provider.clone());
        let r = confirm(
            pa.upgradeAndCall(proxy, implementation, init.into())
                .send()
                .await,
            &format!("upgrading and initializing {what}"),
        )
        .await?;
        self.report.transactions += 1;
        self.report.call_gas += r.gas_used;
        Ok(())
    }
}

fn with_args(code: &Bytes, args: Vec<u8>) -> Vec<u8> {
    let mut c = code.to_vec();
    c.extend(args);
    c
}

/// Deploys the EigenLayer core, a pauser registry, a stake token and a whitelisted strategy,
/// with `from` (the provider's signer) as owner, pauser and strategy whitelister. verbench's
/// operator set does not exist yet: [`deploy`] creates it (`operator_set_id` 0).
pub async fn deploy_core(
    provider: &DynProvider,
    from: Address,
    p: &CoreParams,
) -> anyhow::Result<(EigenLayerAddresses, CoreReport)> {
    // The DelegationManager looks `min_withdrawal_delay` blocks back when it slashes queued
    // withdrawals (`block.number - MIN_WITHDRAWAL_DELAY_BLOCKS`), which underflows on a chain
    // younger than that: mine past it first (anvil).
    let head = provider.get_block_number().await?;
    let need = u64::from(p.min_withdrawal_delay) + 1;
    if head < need {
        provider
            .anvil_mine(Some(need - head), None)
            .await
            .context("mining past the core's withdrawal delay (anvil_mine)")?;
    }
    let mut d = Deployer {
        provider,
        from,
        out: project_root().join("out"),
        report: CoreReport::default(),
    };
    let mut pauser_code = d.artifact("PauserRegistry", "PauserRegistry")?;
    pauser_code.extend((vec![from], from).abi_encode_params());
    let pauser = d.create(pauser_code, "PauserRegistry").await?;
    let empty = d
        .create(d.artifact("Proxies", "EmptyContract")?, "EmptyContract")
        .await?;

    // Proxies first: every implementation takes the others' proxy addresses.
    let dm = d.proxy(empty, "DelegationManager").await?;
    let sm = d.proxy(empty, "StrategyManager").await?;
    let am = d.proxy(empty, "AllocationManager").await?;
    let avsd = d.proxy(empty, "AVSDirectory").await?;
    let epm = d.proxy(empty, "EigenPodManager").await?;
    let pc = d.proxy(empty, "PermissionController").await?;
    let v = p.version.clone();

    let pc_impl = d
        .create(
            with_args(
                &PermissionController::BYTECODE,
                (v.clone(),).abi_encode_params(),
            ),
            "PermissionController implementation",
        )
        .await?;
    let dm_impl = d
        .create(
            with_args(
                &DelegationManager::BYTECODE,
                (
                    sm.0,
                    epm.0,
                    am.0,
                    pauser,
                    pc.0,
                    p.min_withdrawal_delay,
                    v.clone(),
                )
                    .abi_encode_params(),
            ),
            "DelegationManager implementation",
        )
        .await?;
    let sm_impl = d
        .create(
            with_args(
                &StrategyManager::BYTECODE,
                (dm.0, pauser, v.clone()).abi_encode_params(),
            ),
            "StrategyManager implementation",
        )
        .await?;
    let am_impl = d
        .create(
            with_args(
                &AllocationManager::BYTECODE,
                (
                    dm.0,
                    pauser,
                    pc.0,
                    p.deallocation_delay,
                    p.allocation_configuration_delay,
                    v.clone(),
                )
                    .abi_encode_params(),
            ),
            "AllocationManager implementation",
        )
        .await?;
    let avsd_impl = d
        .create(
            with_args(
                &AVSDirectory::BYTECODE,
                (dm.0, pauser, v.clone()).abi_encode_params(),
            ),
            "AVSDirectory implementation",
        )
        .await?;
    // No beacon chain here: the deposit contract and the pod beacon are the empty contract.
    let epm_impl = d
        .create(
            with_args(
                &EigenPodManager::BYTECODE,
                (empty, empty, dm.0, pauser, v.clone()).abi_encode_params(),
            ),
            "EigenPodManager implementation",
        )
        .await?;

    let init = ICoreInit::initializeCall {
        initialOwner: from,
        initialPausedStatus: U256::ZERO,
    }
    .abi_encode();
    d.upgrade(pc, pc_impl, Vec::new(), "PermissionController")
        .await?;
    d.upgrade(dm, dm_impl, init.clone(), "DelegationManager")
        .await?;
    d.upgrade(
        sm,
        sm_impl,
        IStrategyManagerInit::initializeCall {
            initialOwner: from,
            initialStrategyWhitelister: from,
            initialPausedStatus: U256::ZERO,
        }
        .abi_encode(),
        "StrategyManager",
    )
    .await?;
    d.upgrade(am, am_impl, init.clone(), "AllocationManager")
        .await?;
    d.upgrade(avsd, avsd_impl, init.clone(), "AVSDirectory")
        .await?;
    d.upgrade(epm, epm_impl, init, "EigenPodManager").await?;

    let token = d
        .create(d.artifact("DevnetToken", "DevnetToken")?, "DevnetToken")
        .await?;
    let mut strategy_code = d.artifact("DevnetStrategy", "DevnetStrategy")?;
    strategy_code.extend((sm.0, token).abi_encode_params());
    let strategy = d.create(strategy_code, "DevnetStrategy").await?;
    let r = confirm(
        IStrategyManager::new(sm.0, provider.clone())
            .addStrategiesToDepositWhitelist(vec![strategy])
            .send()
            .await,
        "whitelisting the strategy",
    )
    .await?;
    d.report.transactions += 1;
    d.report.call_gas += r.gas_used;

    Ok((
        EigenLayerAddresses {
            allocation_manager: am.0,
            delegation_manager: dm.0,
            strategy_manager: sm.0,
            permission_controller: pc.0,
            avs_directory: avsd.0,
            eigen_pod_manager: epm.0,
            pauser_registry: pauser,
            strategy,
            stake_token: token,
            operator_set_id: 0,
            deallocation_delay: p.deallocation_delay,
            allocation_configuration_delay: p.allocation_configuration_delay,
        },
        d.report,
    ))
}

/// Deploys the core ([`deploy_core`]) and verbench's EigenLayer back end on it, with
/// [`SECONDS_PER_BLOCK`] as the lower bound on block time (on anvil, which mines a block per
/// transaction, this holds only while fewer blocks are mined than the clock allows: tests mine
/// a few dozen).
pub async fn deploy(
    provider: &DynProvider,
    from: Address,
    core: &CoreParams,
    params: &DeployParams,
) -> anyhow::Result<Deployment> {
    let (el, _) = deploy_core(provider, from, core).await?;
    Ok(deploy_eigenlayer(provider, from, params, el, SECONDS_PER_BLOCK).await?)
}

/// Takes `operator` (whose key signs for `signer`) from nothing to weighted stake in verbench's
/// set on a local chain: mints and restakes `amount`, registers it as an EigenLayer operator,
/// mines the allocation configuration delay (through `admin`, an anvil node), registers it for
/// the set, allocates all of its stake and checkpoints its weight.
pub async fn onboard(
    admin: &DynProvider,
    signer: &DynProvider,
    operator: Address,
    deployment: &Deployment,
    amount: U256,
) -> anyhow::Result<OnboardingGas> {
    let el = deployment
        .eigenlayer
        .as_ref()
        .context("the deployment has no EigenLayer section (deployed with the native back end?)")?;
    let mut gas = OnboardingGas::default();
    eigen::restake(signer, operator, el, amount, true, &mut gas).await?;
    admin
        .anvil_mine(Some(u64::from(el.allocation_configuration_delay) + 1), None)
        .await?;
    eigen::join_operator_set(
        signer,
        operator,
        el,
        deployment.service_manager,
        eigen::FULL_MAGNITUDE,
        &mut gas,
    )
    .await?;
    Ok(gas)
}

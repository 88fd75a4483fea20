#![doc = include_str!("../README.md")]

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{aliases::U96, Address, B256, U256},
    providers::{ext::AnvilApi, DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use verbench_bundle::{leaf::LeafV2, Header};
use verbench_chain::{
    bindings::{
        IDisputeGame::{self, TaskSpec},
        IServiceManager,
    },
    deploy::{deploy, DeployParams, Deployment},
    local,
};
use verbench_inference::{calibration::Calibration, ModelHash};
use verbench_merkle::MerkleTree;
use verbench_provider::task::TaskInfo;

/// Roles by anvil account index.
pub mod role {
    /// Deploys and registers the task.
    pub const ADMIN: usize = 0;
    /// The honest provider.
    pub const HONEST: usize = 1;
    /// The cheating provider.
    pub const CHEAT: usize = 2;
    /// The challenger (not an operator).
    pub const CHALLENGER: usize = 3;
    /// Operators.
    pub const OPERATORS: [usize; 3] = [4, 5, 6];
    /// A second cheating provider (scenarios with two cheats).
    pub const SECOND_CHEAT: usize = 7;
}

/// `n` ether in wei.
pub fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

/// A local chain: anvil (killed on drop) with verbench deployed by [`role::ADMIN`].
pub struct Chain {
    /// The anvil process.
    pub anvil: AnvilInstance,
    /// Addresses of the contracts.
    pub deployment: Deployment,
    /// A provider with the admin's wallet.
    pub admin: DynProvider,
}

impl Chain {
    /// Starts anvil and deploys the native back end with `params`.
    pub async fn start(params: &DeployParams) -> anyhow::Result<Self> {
        let anvil = local::spawn_anvil()?;
        let admin = provider_with(&anvil, role::ADMIN);
        let deployment = deploy(&admin, anvil.addresses()[role::ADMIN], params).await?;
        Ok(Self {
            anvil,
            deployment,
            admin,
        })
    }

    /// Wraps a running anvil and a deployment made on it (for another back end's deployer).
    pub fn with_deployment(anvil: AnvilInstance, deployment: Deployment) -> Self {
        let admin = provider_with(&anvil, role::ADMIN);
        Self {
            anvil,
            deployment,
            admin,
        }
    }

    /// An RPC provider signing as anvil account `account`.
    pub fn provider(&self, account: usize) -> DynProvider {
        provider_with(&self.anvil, account)
    }

    /// Address of anvil account `account`.
    pub fn address(&self, account: usize) -> Address {
        self.anvil.addresses()[account]
    }

    /// 0x-hex private key of anvil account `account` (a development chain).
    pub fn key_hex(&self, account: usize) -> String {
        format!("0x{}", hex::encode(self.anvil.keys()[account].to_bytes()))
    }

    /// The DisputeGame as `account`.
    pub fn game(&self, account: usize) -> IDisputeGame::IDisputeGameInstance<DynProvider> {
        IDisputeGame::new(self.deployment.dispute_game, self.provider(account))
    }

    /// Registers `spec` as the admin and returns its task id.
    pub async fn register_task(&self, spec: &TaskSpec) -> anyhow::Result<B256> {
        let game = self.game(role::ADMIN);
        game.registerTask(spec.clone())
            .send()
            .await?
            .get_receipt()
            .await?;
        Ok(game.taskIdOf(spec.clone()).call().await?)
    }

    /// Registers each account in `accounts` as a native operator with `stake`, then lets a
    /// second pass (stake counts from the next second on).
    pub async fn register_operators(&self, accounts: &[usize], stake: U256) -> anyhow::Result<()> {
        for &i in accounts {
            IServiceManager::new(self.deployment.service_manager, self.provider(i))
                .registerOperator()
                .value(stake)
                .send()
                .await?
                .get_receipt()
                .await?;
        }
        self.advance(1).await
    }

    /// Moves the chain's clock forward by `seconds` and mines a block.
    pub async fn advance(&self, seconds: u64) -> anyhow::Result<()> {
        self.admin.anvil_increase_time(seconds).await?;
        self.admin.anvil_mine(Some(1), None).await?;
        Ok(())
    }

    /// ETH balance of `account`.
    pub async fn balance(&self, account: usize) -> anyhow::Result<U256> {
        Ok(self.admin.get_balance(self.address(account)).await?)
    }
}

fn provider_with(anvil: &AnvilInstance, account: usize) -> DynProvider {
    let signer = PrivateKeySigner::from(anvil.keys()[account].clone());
    ProviderBuilder::new()
        .wallet(signer)
        .connect_http(anvil.endpoint_url())
        .erased()
}

/// A greedy task over a dataset of `dataset_size` items with root `dataset_root`, for the model
/// `model_hash`, judged by the committed SmolLM2-135M greedy calibration (its TOPLOC limits, token
/// margin and hash: `verbench_inference::calibration::smollm2_greedy`), 1 ETH provider bond,
/// 0.1 ETH challenger bond and a one-hour challenge window. Adjust fields as a test needs.
///
/// # Panics
/// If the committed calibration file does not parse (a broken checkout).
pub fn task_spec(
    model_hash: B256,
    manifest_hash: B256,
    dataset_root: B256,
    dataset_size: u32,
    max_new_tokens: u32,
) -> TaskSpec {
    let calibration = verbench_inference::calibration::smollm2_greedy()
        .expect("the committed SmolLM2-135M calibration parses");
    task_spec_judged_by(
        &calibration,
        model_hash,
        manifest_hash,
        dataset_root,
        dataset_size,
        max_new_tokens,
    )
}

/// [`task_spec`], judged by `calibration` (a calibration file and its hash, as
/// `verbench_inference::calibration::Calibration::read` returns them): its TOPLOC limits, its
/// token margin for items of `max_new_tokens` tokens and its hash.
pub fn task_spec_judged_by(
    calibration: &(Calibration, ModelHash),
    model_hash: B256,
    manifest_hash: B256,
    dataset_root: B256,
    dataset_size: u32,
    max_new_tokens: u32,
) -> TaskSpec {
    let (calibration, calibration_hash) = calibration;
    TaskSpec {
        modelHash: model_hash,
        manifestHash: manifest_hash,
        datasetRoot: dataset_root,
        datasetSize: dataset_size,
        generation: IDisputeGame::GenerationParams {
            maxNewTokens: max_new_tokens,
            temperatureMilli: 0,
            seed: 0,
        },
        toploc: verbench_provider::task::toploc_params(calibration, max_new_tokens),
        calibrationHash: B256::from(calibration_hash.0),
        providerBond: U96::from(10u64.pow(18)),
        challengerBond: U96::from(10u64.pow(17)),
        challengeWindow: 3600,
        fee: U96::ZERO,
    }
}

/// The bundle header a provider writes for `spec` (task `task_id` on `game` of chain
/// `chain_id`), committing as `provider`: the provider's own derivation (`TaskInfo::header`).
pub fn header_for(
    spec: &TaskSpec,
    chain_id: u64,
    game: Address,
    task_id: B256,
    provider: Address,
) -> Header {
    TaskInfo {
        task_id,
        spec: spec.clone(),
    }
    .header(chain_id, game, provider)
}

/// `n` (at least 1) well-formed `LeafV2` leaves of `provider` for task `task_id` (input hash
/// `[i; 32]`, score 0) and their tree.
pub fn leaves_and_tree(
    task_id: B256,
    provider: Address,
    n: u64,
) -> anyhow::Result<(Vec<LeafV2>, MerkleTree)> {
    let leaves: Vec<LeafV2> = (0..n)
        .map(|i| LeafV2 {
            task_id: task_id.into(),
            provider: provider.into(),
            index: i,
            leaf_count: n,
            input_hash: [i as u8; 32],
            output_hash: [9; 32],
            toploc_hash: [8; 32],
            score: 0,
            score_sum: 0,
        })
        .collect();
    let hashes: Vec<[u8; 32]> = leaves.iter().map(LeafV2::hash).collect();
    let tree = MerkleTree::from_leaf_hashes(&hashes)?;
    Ok((leaves, tree))
}

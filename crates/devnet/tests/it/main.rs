//! End-to-end scenarios on the EigenLayer back end: the real EigenLayer core (eigen-utils 2.0.0
//! bytecode) on anvil, operators restaked through it, verdicts weighted by allocated stake and
//! provider slashing through `AllocationManager.slashOperator`.
//! Needs `out/` (forge build) and, for the dispute scenarios, the model (tools/fetch-models.sh);
//! tools/test.sh provides both.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // tests: a failed unwrap is a failed test

use alloy::{
    primitives::{Bytes, B256, U256},
    providers::{ext::AnvilApi, Provider},
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use verbench_chain::{
    bindings::{
        EigenTypes::{OperatorSet, SlashingParams},
        IAllocationManager,
        IDisputeGame::{self, CommitmentStatus, Outcome},
        IEigenServiceManager, IOperatorSet,
    },
    deploy::{Backend, DeployParams, EigenLayerAddresses},
    eigen, local,
    verdict::sign_verdict,
    Revert,
};
use verbench_demo::{ether, role, small_dataset, Devnet, OperatorSet as Bots};
use verbench_devnet::{deploy, onboard, CoreParams};
use verbench_inference::smollm2_path;
use verbench_provider::cheat::Cheat;

const WINDOW: u32 = 3600;
/// An account that never joins the operator set.
const OUTSIDER: usize = 7;

async fn network(core: CoreParams) -> Devnet {
    let anvil = local::spawn_anvil().unwrap();
    let key = PrivateKeySigner::from(anvil.keys()[role::ADMIN].clone());
    let admin = alloy::providers::ProviderBuilder::new()
        .wallet(key.clone())
        .connect_http(anvil.endpoint_url())
        .erased();
    let params = DeployParams {
        reveal_window: 600,
        voting_period: 600,
        ..DeployParams::default()
    };
    let d = deploy(&admin, key.address(), &core, &params).await.unwrap();
    assert_eq!(d.backend, Backend::EigenLayer);
    Devnet::with_deployment(anvil, d)
}

fn el(net: &Devnet) -> EigenLayerAddresses {
    net.deployment.eigenlayer.clone().unwrap()
}

async fn join(net: &Devnet, accounts: &[usize]) -> Vec<eigen::OnboardingGas> {
    let mut gas = Vec::new();
    for &i in accounts {
        gas.push(
            onboard(
                &net.admin,
                &net.provider(i),
                net.address(i),
                &net.deployment,
                ether(10),
            )
            .await
            .unwrap(),
        );
    }
    net.advance(1).await.unwrap();
    gas
}

fn sm(
    net: &Devnet,
    account: usize,
) -> IOperatorSet::IOperatorSetInstance<alloy::providers::DynProvider> {
    IOperatorSet::new(net.deployment.service_manager, net.provider(account))
}

async fn now(net: &Devnet) -> u64 {
    net.admin
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp
}

/// Operators restake, register as EigenLayer operators, join verbench's set and allocate; their
/// weights are their allocated stake (a staker's delegation adds to it), and only the dispute game
/// (through the AVS) can slash.
#[tokio::test(flavor = "multi_thread")]
async fn operators_restake_join_and_weigh_by_allocated_stake() {
    let net = network(CoreParams::default()).await;
    let el = el(&net);
    let gas = join(&net, &role::OPERATORS).await;
    eprintln!("onboarding gas of one operator: {:?}", gas[0]);
    let t = alloy::primitives::aliases::U48::from(now(&net).await - 1);
    let sm0 = sm(&net, role::ADMIN);
    for &i in &role::OPERATORS {
        assert_eq!(
            sm0.stakeAt(net.address(i), t).call().await.unwrap(),
            ether(10)
        );
        assert!(sm0.isOperator(net.address(i)).call().await.unwrap());
    }
    assert_eq!(sm0.totalStakeAt(t).call().await.unwrap(), ether(30));
    assert_eq!(
        sm0.stakeAt(net.address(OUTSIDER), t).call().await.unwrap(),
        U256::ZERO
    );
    let am = IAllocationManager::new(el.allocation_manager, net.admin.clone());
    let set = OperatorSet {
        avs: net.deployment.service_manager,
        id: el.operator_set_id,
    };
    let members = am.getMembers(set.clone()).call().await.unwrap();
    assert_eq!(members.len(), 3);
    // The unbonding delay the dispute game checks its windows against comes from the core.
    assert_eq!(
        sm0.unbondingDelay().call().await.unwrap(),
        alloy::primitives::aliases::U48::from(
            el.deallocation_delay * verbench_devnet::SECONDS_PER_BLOCK
        )
    );

    // A non-AVS caller cannot slash: not through the core, not through the service manager.
    let victim = net.address(role::OPERATORS[0]);
    let direct = IAllocationManager::new(el.allocation_manager, net.provider(OUTSIDER))
        .slashOperator(
            net.deployment.service_manager,
            SlashingParams {
                operator: victim,
                operatorSetId: el.operator_set_id,
                strategies: vec![el.strategy],
                wadsToSlash: vec![U256::from(10u64).pow(U256::from(17u64))],
                description: "not the AVS".into(),
            },
        )
        .send()
        .await;
    assert!(direct.is_err(), "the core let a non-AVS caller slash");
    let via_sm = sm(&net, OUTSIDER)
        .slash(victim, U256::from(1u64), "not the game".into())
        .send()
        .await;
    let err = via_sm.expect_err("the service manager let a non-game caller slash");
    assert!(
        matches!(
            Revert::of(&err),
            Some(Revert::OperatorSet(
                IOperatorSet::IOperatorSetErrors::NotDisputeGame(_)
            ))
        ),
        "{err}"
    );
    // The registrar callbacks answer the AllocationManager only.
    let esm = IEigenServiceManager::new(net.deployment.service_manager, net.provider(OUTSIDER));
    let err = esm
        .registerOperator(
            net.address(OUTSIDER),
            net.deployment.service_manager,
            vec![0],
            Bytes::new(),
        )
        .send()
        .await
        .expect_err("registrar callback from an EOA");
    assert!(
        matches!(
            Revert::of(&err),
            Some(Revert::Eigen(
                IEigenServiceManager::IEigenServiceManagerErrors::NotAllocationManager(_)
            ))
        ),
        "{err}"
    );
    // It says which back end it is, and native staking does not exist on it.
    assert_eq!(
        sm0.backend().call().await.unwrap(),
        IOperatorSet::Backend::EigenLayer
    );
    verbench_chain::bindings::IServiceManager::new(
        net.deployment.service_manager,
        net.provider(OUTSIDER),
    )
    .registerOperator()
    .value(ether(1))
    .send()
    .await
    .expect_err("native registration on the EigenLayer back end");
    // A bot configured for the other back end refuses to start.
    let dir = tempfile::tempdir().unwrap();
    let (_, dataset) = small_dataset(dir.path(), 1).unwrap();
    let mut cfg = net.bot_config(role::CHALLENGER, dir.path(), &smollm2_path(), &dataset);
    cfg.backend = Some(Backend::Native);
    let err = verbench_challenger::Bot::new(cfg)
        .await
        .expect_err("backend mismatch");
    assert!(err.to_string().contains("eigenlayer back end"), "{err}");
    let (magnitude, max) =
        eigen::magnitudes(&net.admin, &el, net.deployment.service_manager, victim)
            .await
            .unwrap();
    assert_eq!(
        (magnitude, max),
        (eigen::FULL_MAGNITUDE, eigen::FULL_MAGNITUDE)
    );

    // A staker delegates to an operator: the operator's allocated magnitude applies to the
    // delegated shares too, and its weight grows once it is checkpointed.
    const STAKER: usize = 8;
    let staker = net.address(STAKER);
    let signer = net.provider(STAKER);
    eigen::deposit(&signer, staker, &el, ether(5), true)
        .await
        .unwrap();
    eigen::confirm(
        verbench_chain::bindings::IDelegationManager::new(el.delegation_manager, signer)
            .delegateTo(
                victim,
                verbench_chain::bindings::EigenTypes::SignatureWithExpiry {
                    signature: Bytes::new(),
                    expiry: U256::ZERO,
                },
                B256::ZERO,
            )
            .send()
            .await,
        "delegate",
    )
    .await
    .unwrap();
    eigen::update_stakes(&net.admin, net.deployment.service_manager, &[victim])
        .await
        .unwrap();
    net.advance(1).await.unwrap();
    let t = alloy::primitives::aliases::U48::from(now(&net).await - 1);
    assert_eq!(sm0.stakeAt(victim, t).call().await.unwrap(), ether(15));
    assert_eq!(sm0.totalStakeAt(t).call().await.unwrap(), ether(35));
}

/// The latest dispute in Voting state and its id, read from its `LeafRevealed` event.
async fn voting_dispute(net: &Devnet) -> (B256, IDisputeGame::Dispute) {
    let logs = net
        .admin
        .get_logs(
            &Filter::new()
                .address(net.deployment.dispute_game)
                .event_signature(IDisputeGame::LeafRevealed::SIGNATURE_HASH)
                .from_block(net.deployment.block_number),
        )
        .await
        .unwrap();
    let log = logs.last().expect("a revealed dispute");
    let ev = IDisputeGame::LeafRevealed::decode_log(&log.inner).unwrap();
    (ev.disputeId, ev.data.dispute)
}

/// Gas used inside every call frame of `tx` whose target is `to` and whose calldata starts
/// with `selector` (anvil's `debug_traceTransaction` with the call tracer).
async fn frame_gas(
    net: &Devnet,
    tx: B256,
    to: alloy::primitives::Address,
    selector: [u8; 4],
) -> Vec<u64> {
    fn walk(v: &serde_json::Value, to: &str, sel: &str, out: &mut Vec<u64>) {
        let hit = v["to"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(to))
            && v["input"].as_str().is_some_and(|i| i.starts_with(sel));
        if hit {
            if let Some(g) = v["gasUsed"].as_str() {
                out.push(u64::from_str_radix(g.trim_start_matches("0x"), 16).unwrap());
            }
        }
        for c in v["calls"].as_array().into_iter().flatten() {
            walk(c, to, sel, out);
        }
    }
    let trace: serde_json::Value = net
        .admin
        .raw_request(
            "debug_traceTransaction".into(),
            (tx, serde_json::json!({ "tracer": "callTracer" })),
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    walk(
        &trace,
        &to.to_string(),
        &format!("0x{}", alloy::hex::encode(selector)),
        &mut out,
    );
    out
}

/// Hashes and gas of every `resolve` transaction since the deployment.
async fn resolves(net: &Devnet) -> Vec<(B256, u64)> {
    use alloy::sol_types::SolCall;
    let mut out = Vec::new();
    let head = net.admin.get_block_number().await.unwrap();
    for n in net.deployment.block_number..=head {
        let block = net
            .admin
            .get_block_by_number(n.into())
            .full()
            .await
            .unwrap()
            .unwrap();
        for tx in block.transactions.txns() {
            let input = alloy::consensus::Transaction::input(tx);
            if input.get(..4) == Some(IDisputeGame::resolveCall::SELECTOR.as_slice()) {
                let r = net
                    .admin
                    .get_transaction_receipt(*tx.inner.tx_hash())
                    .await
                    .unwrap()
                    .unwrap();
                out.push((r.transaction_hash, r.gas_used));
            }
        }
    }
    out
}

/// Reasons of every `SlashFailed` the service manager logged (none expected).
async fn slash_failures(net: &Devnet) -> Vec<String> {
    let logs = net
        .admin
        .get_logs(
            &Filter::new()
                .address(net.deployment.service_manager)
                .event_signature(IEigenServiceManager::SlashFailed::SIGNATURE_HASH)
                .from_block(net.deployment.block_number),
        )
        .await
        .unwrap();
    logs.iter()
        .map(|l| {
            let ev = IEigenServiceManager::SlashFailed::decode_log(&l.inner).unwrap();
            format!("{} wad {}: {}", ev.operator, ev.wad, ev.reason)
        })
        .collect()
}

struct Run {
    net: Devnet,
    dir: tempfile::TempDir,
    dataset_path: std::path::PathBuf,
    commitment_id: String,
}

/// A model-swapping provider that is also a restaked operator commits; the challenger disputes.
async fn model_swap(core: CoreParams, leave_before_dispute: bool) -> Run {
    let net = network(core).await;
    join(
        &net,
        &[
            role::OPERATORS[0],
            role::OPERATORS[1],
            role::OPERATORS[2],
            role::CHEAT,
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (dataset, dataset_path) = small_dataset(dir.path(), 3).unwrap();
    let bench = verbench_bundle::benchmark::Benchmark::legacy(dataset.clone());
    let model = verbench_demo::smollm2().unwrap();
    let task = net
        .register_task(&bench, B256::from(model.model.hash().0), 32, WINDOW)
        .await
        .unwrap();
    let c = net
        .provide(
            role::CHEAT,
            &task,
            &bench,
            &model,
            Some(Cheat::ModelSwapQ4_0),
            dir.path(),
            true,
        )
        .await
        .unwrap();
    if leave_before_dispute {
        eigen::leave_operator_set(
            &net.provider(role::CHEAT),
            net.address(role::CHEAT),
            &el(&net),
            net.deployment.service_manager,
        )
        .await
        .unwrap();
        net.advance(1).await.unwrap();
    }
    let mut cfg = net.bot_config(
        role::CHALLENGER,
        &dir.path().join("challenger"),
        &smollm2_path(),
        &dataset_path,
    );
    cfg.sample_rate = 1.0;
    cfg.seed = 1;
    let report = verbench_challenger::Bot::new(cfg)
        .await
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.disputes_opened, 1, "{report:?}");
    Run {
        net,
        dir,
        dataset_path,
        commitment_id: c.commitment_id,
    }
}

impl Run {
    async fn resolve_with(&self, accounts: &[usize]) -> usize {
        let mut bots = Bots::start(
            &self.net,
            accounts,
            self.dir.path(),
            &smollm2_path(),
            &self.dataset_path,
        )
        .await
        .unwrap();
        bots.round().await.unwrap()
    }

    async fn status(&self) -> CommitmentStatus {
        self.net
            .game(role::ADMIN)
            .commitmentState(self.commitment_id.parse().unwrap())
            .call()
            .await
            .unwrap()
            .status
    }
}

/// The model-swap scenario on the EigenLayer back end: a verdict signed by an operator outside
/// the set does not count; the set's verdict (weighted by allocated stake) rejects the
/// commitment; the provider is slashed through the AllocationManager (its magnitude drops by
/// 10% in the core) and the challenger is paid from the provider's ETH bond.
#[tokio::test(flavor = "multi_thread")]
async fn model_swap_provider_is_slashed_through_the_allocation_manager() {
    let run = model_swap(CoreParams::default(), false).await;
    let net = &run.net;
    let el = el(net);
    let cheat = net.address(role::CHEAT);
    let (did, d) = voting_dispute(net).await;

    // An outsider's verdict: not counted by the contract (no stake), not by the bots either.
    let outsider_key = PrivateKeySigner::from(net.anvil.keys()[OUTSIDER].clone());
    let leaf_hash = d.leafHash;
    let sig = sign_verdict(
        &outsider_key,
        net.deployment.chain_id,
        net.deployment.dispute_game,
        did,
        leaf_hash,
        Outcome::ProviderAtFault,
    )
    .unwrap();
    let err = net
        .game(OUTSIDER)
        .resolve(
            d.clone(),
            Outcome::ProviderAtFault,
            vec![outsider_key.address()],
            vec![sig],
        )
        .send()
        .await
        .expect_err("an outsider's verdict resolved a dispute");
    assert!(
        matches!(
            Revert::of(&err),
            Some(Revert::Game(IDisputeGame::IDisputeGameErrors::NotOperator(
                _
            )))
        ),
        "{err}"
    );
    assert_eq!(
        run.resolve_with(&[OUTSIDER]).await,
        0,
        "outsider bots resolved"
    );
    assert_eq!(run.status().await, CommitmentStatus::Active);

    let (_, max_before) = eigen::magnitudes(&net.admin, &el, net.deployment.service_manager, cheat)
        .await
        .unwrap();
    assert_eq!(run.resolve_with(&role::OPERATORS).await, 1);
    assert_eq!(run.status().await, CommitmentStatus::Rejected);
    assert_eq!(slash_failures(net).await, Vec::<String>::new());
    let (magnitude, max_after) =
        eigen::magnitudes(&net.admin, &el, net.deployment.service_manager, cheat)
            .await
            .unwrap();
    assert_eq!(max_before, eigen::FULL_MAGNITUDE);
    assert_eq!(
        max_after,
        eigen::FULL_MAGNITUDE / 10 * 9,
        "10% slashed in the core"
    );
    assert_eq!(magnitude, max_after);
    // Its weight in verbench follows: 9 of 10 tokens' worth of shares.
    let esm = IEigenServiceManager::new(net.deployment.service_manager, net.admin.clone());
    assert_eq!(esm.currentWeight(cheat).call().await.unwrap(), ether(9));
    // The challenger is paid from the provider's ETH bond (half of 1 ETH) plus its own bond.
    let credit = net
        .game(role::ADMIN)
        .credit(net.address(role::CHALLENGER))
        .call()
        .await
        .unwrap();
    assert_eq!(credit, ether(1) / U256::from(2) + ether(1) / U256::from(10));
    let (tx, gas) = resolves(net).await[0];
    use alloy::sol_types::SolCall;
    let slash = frame_gas(
        net,
        tx,
        el.allocation_manager,
        IAllocationManager::slashOperatorCall::SELECTOR,
    )
    .await;
    let sm_slash = frame_gas(
        net,
        tx,
        net.deployment.service_manager,
        IOperatorSet::slashCall::SELECTOR,
    )
    .await;
    assert_eq!(slash.len(), 1, "one slashOperator call in the resolve");
    eprintln!(
        "resolve with the provider slashed through the core: {gas} gas; inside it \
         EigenServiceManager.slash {sm_slash:?} of which AllocationManager.slashOperator {slash:?}"
    );
}

/// A provider that leaves verbench's operator set right after committing cannot escape a dispute
/// opened within the deallocation delay: the core still slashes it. Once the delay has passed,
/// the core no longer considers it slashable.
#[tokio::test(flavor = "multi_thread")]
async fn a_deregistered_provider_cannot_escape_a_dispute_opened_within_the_delay() {
    let run = model_swap(CoreParams::default(), true).await;
    let net = &run.net;
    let el = el(net);
    let cheat = net.address(role::CHEAT);
    let esm = IEigenServiceManager::new(net.deployment.service_manager, net.admin.clone());
    assert!(!sm(net, role::ADMIN).isOperator(cheat).call().await.unwrap());
    assert_eq!(esm.currentWeight(cheat).call().await.unwrap(), U256::ZERO);

    assert_eq!(run.resolve_with(&role::OPERATORS).await, 1);
    assert_eq!(run.status().await, CommitmentStatus::Rejected);
    assert_eq!(slash_failures(net).await, Vec::<String>::new());
    let (_, max_after) = eigen::magnitudes(&net.admin, &el, net.deployment.service_manager, cheat)
        .await
        .unwrap();
    assert_eq!(
        max_after,
        eigen::FULL_MAGNITUDE / 10 * 9,
        "slashed after leaving"
    );

    let am = IAllocationManager::new(el.allocation_manager, net.admin.clone());
    let set = OperatorSet {
        avs: net.deployment.service_manager,
        id: el.operator_set_id,
    };
    assert!(am
        .isOperatorSlashable(cheat, set.clone())
        .call()
        .await
        .unwrap());
    net.admin
        .anvil_mine(Some(u64::from(el.deallocation_delay) + 1), None)
        .await
        .unwrap();
    assert!(!am.isOperatorSlashable(cheat, set).call().await.unwrap());
}

/// `verbench-devnet deploy`: either back end onto a running chain, the file where the user says,
/// never over an existing file without --force.
#[tokio::test(flavor = "multi_thread")]
async fn deploy_command_writes_either_back_end_where_asked() {
    let anvil = local::spawn_anvil().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_verbench-devnet"))
            .arg("deploy")
            .args(["--rpc-url", &anvil.endpoint()])
            .args(args)
            .output()
            .unwrap()
    };
    for (backend, name) in [
        (Backend::Native, "native"),
        (Backend::EigenLayer, "eigenlayer"),
    ] {
        let out = dir.path().join(format!("nested/{name}.json"));
        let o = run(&["--backend", name, "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let d = verbench_chain::deploy::Deployment::load(&out).unwrap();
        assert_eq!(d.backend, backend);
        assert_eq!(d.chain_id, 31337);
        assert_eq!(d.eigenlayer.is_some(), backend == Backend::EigenLayer);
        let provider = alloy::providers::ProviderBuilder::new().connect_http(anvil.endpoint_url());
        for a in [d.service_manager, d.dispute_game] {
            assert!(
                !provider.get_code_at(a).await.unwrap().is_empty(),
                "{name}: no code at {a}"
            );
        }
        let again = run(&["--backend", name, "--out", out.to_str().unwrap()]);
        assert!(!again.status.success());
        let e = String::from_utf8_lossy(&again.stderr);
        assert!(e.contains("exists: pass --force"), "{e}");
        assert_eq!(verbench_chain::deploy::Deployment::load(&out).unwrap(), d);
    }
}

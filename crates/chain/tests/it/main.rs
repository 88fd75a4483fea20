//! Rust and Solidity agree: deployment, verdict digests, leaf hashes, decoded reverts.
//! Starts its own anvil; needs `forge build` output in `out/` (tools/test.sh builds first).
#![allow(clippy::unwrap_used, clippy::print_stdout)] // tests: a failed unwrap is a failed test

use alloy::{
    primitives::{Address, B256, U256},
    providers::ProviderBuilder,
};
use verbench_bundle::LeafV2;
use verbench_chain::{
    bindings::IDisputeGame::{self, Outcome, Verdict},
    deploy::{deploy, DeployParams, Deployment},
    local, rules, verdict,
};

#[tokio::test]
async fn rust_and_contracts_agree_on_digests_leaves_and_errors() {
    let anvil = local::spawn_anvil().unwrap();
    let signer = anvil.wallet().unwrap();
    let from = anvil.addresses()[0];
    let provider = ProviderBuilder::new()
        .wallet(signer)
        .connect_http(anvil.endpoint_url());
    let d = deploy(&provider, from, &DeployParams::default())
        .await
        .unwrap();
    assert_eq!(d.chain_id, 31337);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("31337.json");
    d.save(&path).unwrap();
    assert_eq!(Deployment::load(&path).unwrap(), d);
    // One file format, two writers: the committed deployments/31337.json is what
    // script/Deploy.s.sol writes on a fresh anvil (tools/anvil-deploy.sh checks that byte for
    // byte); the Rust deployer writes the same fields and values on a fresh anvil.
    let committed = verbench_chain::artifacts::project_root().join("deployments/31337.json");
    assert_eq!(Deployment::load(&committed).unwrap(), d);
    let keys = |p: &std::path::Path| -> Vec<String> {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&committed), keys(&path), "the two writers' fields");

    let game = IDisputeGame::new(d.dispute_game, &provider);

    // EIP-712 verdict digest.
    let (dispute_id, leaf_hash) = (B256::repeat_byte(0xab), B256::repeat_byte(0xcd));
    for outcome in [Outcome::ProviderAtFault, Outcome::LeafValid] {
        let on_chain = game
            .verdictDigest(Verdict {
                disputeId: dispute_id,
                leafHash: leaf_hash,
                outcome,
            })
            .call()
            .await
            .unwrap();
        let local = verdict::verdict_digest(31337, d.dispute_game, dispute_id, leaf_hash, outcome);
        assert_eq!(on_chain, local, "verdict digest for {outcome:?}");
    }

    // Ids: the Rust rules and the contract's views agree.
    let spec = verbench_chain::bindings::IDisputeGame::TaskSpec {
        modelHash: B256::repeat_byte(1),
        manifestHash: B256::repeat_byte(9),
        datasetRoot: B256::repeat_byte(2),
        datasetSize: 7,
        generation: verbench_chain::bindings::IDisputeGame::GenerationParams {
            maxNewTokens: 32,
            temperatureMilli: 700,
            seed: 5,
        },
        toploc: verbench_chain::bindings::IDisputeGame::ToplocParams {
            topk: 128,
            decodeBatchingSize: 32,
            maxMantErrMeanMilli: 5160,
            maxMantErrMedianMilli: 4000,
            minExpMatches: 106,
            tokenMarginMilli: 1000,
        },
        calibrationHash: B256::repeat_byte(3),
        providerBond: alloy::primitives::aliases::U96::from(10u64),
        challengerBond: alloy::primitives::aliases::U96::from(1u64),
        challengeWindow: 60,
        fee: alloy::primitives::aliases::U96::ZERO,
    };
    let task_id = game.taskIdOf(spec.clone()).call().await.unwrap();
    assert_eq!(
        task_id,
        rules::task_id(31337, d.dispute_game, &spec),
        "task id"
    );
    let (who, root) = (Address::repeat_byte(0x77), B256::repeat_byte(0x55));
    let cid = game
        .commitmentIdOf(task_id, who, root, 7)
        .call()
        .await
        .unwrap();
    assert_eq!(
        cid,
        rules::commitment_id(31337, d.dispute_game, task_id, who, root, 7),
        "commitment id"
    );
    assert_eq!(
        game.disputeIdOf(cid, 6).call().await.unwrap(),
        rules::dispute_id(cid, 6),
        "dispute id"
    );

    // Stored hashes: a real task, commitment and dispute; the structs come from the events.
    macro_rules! mined {
        ($call:expr) => {{
            let r = $call.send().await.unwrap().get_receipt().await.unwrap();
            assert!(r.status());
            r
        }};
    }
    mined!(game.registerTask(spec.clone()));
    let r = mined!(game
        .commit(
            task_id,
            root,
            7,
            B256::repeat_byte(6),
            100,
            U256::MAX,
            "file:///x".into()
        )
        .value(U256::from(10u64)));
    let committed = r
        .decoded_log::<IDisputeGame::RootCommitted>()
        .expect("RootCommitted")
        .data;
    let c = committed.commitment;
    assert_eq!(
        game.commitmentHash(committed.commitmentId)
            .call()
            .await
            .unwrap(),
        rules::commitment_hash(&c),
        "commitment hash"
    );
    let r = mined!(game.openDispute(c, 3).value(U256::from(1u64)));
    let opened = r
        .decoded_log::<IDisputeGame::DisputeOpened>()
        .expect("DisputeOpened")
        .data;
    assert_eq!(
        opened.disputeId,
        rules::dispute_id(committed.commitmentId, 3)
    );
    assert_eq!(
        game.disputeHash(opened.disputeId).call().await.unwrap(),
        rules::dispute_hash(&opened.dispute),
        "dispute hash"
    );

    // Leaf hash of LeafV2.
    let leaf = LeafV2 {
        task_id: [0x11; 32],
        provider: [0x22; 20],
        index: 5,
        leaf_count: 16,
        input_hash: [0x33; 32],
        output_hash: [0x44; 32],
        toploc_hash: [0x55; 32],
        score: 10u128.pow(18),
        score_sum: 6 * 10u128.pow(18),
    };
    let sol_leaf = IDisputeGame::LeafV2 {
        version: U256::from(2),
        taskId: B256::from(leaf.task_id),
        provider: Address::from(leaf.provider),
        index: U256::from(leaf.index),
        leafCount: U256::from(leaf.leaf_count),
        inputHash: B256::from(leaf.input_hash),
        outputHash: B256::from(leaf.output_hash),
        toplocHash: B256::from(leaf.toploc_hash),
        score: U256::from(leaf.score),
        scoreSum: U256::from(leaf.score_sum),
    };
    let on_chain = game.leafHashOf(sol_leaf).call().await.unwrap();
    assert_eq!(on_chain, B256::from(leaf.hash()), "LeafV2 hash");

    // A revert decodes into its custom error's name.
    let err = game
        .commit(
            B256::repeat_byte(1),
            B256::repeat_byte(2),
            16,
            B256::ZERO,
            1,
            U256::MAX,
            "file:///x".into(),
        )
        .value(U256::from(1))
        .call()
        .await
        .unwrap_err();
    assert!(
        matches!(
            verbench_chain::Revert::of(&err),
            Some(verbench_chain::Revert::Game(
                IDisputeGame::IDisputeGameErrors::UnknownTask(_)
            ))
        ),
        "{err}"
    );
    // The rendered text names the error.
    let text = verbench_chain::decode_revert(&err);
    assert!(text.contains("UnknownTask"), "{text}");
}

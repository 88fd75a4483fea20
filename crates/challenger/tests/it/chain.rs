//! Bot scenarios on a local anvil chain, driven through the library (`Bot::run_once`).

use alloy::{
    primitives::{keccak256, Address, B256, U256},
    providers::{ext::AnvilApi, DynProvider, Provider, ProviderBuilder},
};
use verbench_chain::{
    bindings::IDisputeGame::{self, CommitmentStatus},
    deploy::DeployParams,
};
use verbench_challenger::{Bot, Config};
use verbench_testkit::{task_spec, Chain};

/// The test kit's chain with one registered 4-item task (loose TOPLOC limits: these scenarios
/// judge no model output).
pub(crate) struct World {
    chain: Chain,
    pub(crate) provider: DynProvider,
    pub(crate) game: Address,
    pub(crate) task_id: B256,
    pub(crate) start_block: u64,
}

impl std::ops::Deref for World {
    type Target = Chain;

    fn deref(&self) -> &Chain {
        &self.chain
    }
}

pub(crate) async fn world() -> World {
    let chain = Chain::start(&DeployParams::default()).await.unwrap();
    let mut spec = task_spec(
        B256::repeat_byte(1),
        B256::ZERO,
        B256::repeat_byte(2),
        4,
        16,
    );
    spec.toploc.maxMantErrMeanMilli = 10_000;
    spec.toploc.maxMantErrMedianMilli = 8_000;
    spec.toploc.minExpMatches = 90;
    let task_id = chain.register_task(&spec).await.unwrap();
    World {
        provider: chain.admin.clone(),
        game: chain.deployment.dispute_game,
        task_id,
        start_block: chain.deployment.block_number,
        chain,
    }
}

impl World {
    /// Commits as anvil account 1 with the given bundle bytes' hash and size and `uri`.
    pub(crate) async fn commit(&self, bundle: &[u8], uri: &str) -> B256 {
        let p = ProviderBuilder::new()
            .wallet(alloy::signers::local::PrivateKeySigner::from(
                self.anvil.keys()[1].clone(),
            ))
            .connect_http(self.anvil.endpoint_url());
        let game = IDisputeGame::new(self.game, &p);
        let root = B256::repeat_byte(0x77);
        game.commit(
            self.task_id,
            root,
            4,
            keccak256(bundle),
            bundle.len() as u64,
            U256::MAX,
            uri.into(),
        )
        .value(U256::from(10u64.pow(18)))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
        game.commitmentIdOf(self.task_id, self.anvil.addresses()[1], root, 4)
            .call()
            .await
            .unwrap()
    }

    pub(crate) fn config(&self, state_dir: &std::path::Path) -> Config {
        Config {
            rpc_url: self.anvil.endpoint(),
            game: self.game,
            start_block: self.start_block,
            dev_key: Some(self.key_hex(2)),
            state_dir: state_dir.to_path_buf(),
            confirmations: 0,
            sample_rate: 1.0,
            seed: 7,
            ..Config::default()
        }
    }

    pub(crate) async fn status(&self, commitment_id: B256) -> CommitmentStatus {
        IDisputeGame::new(self.game, &self.provider)
            .commitmentState(commitment_id)
            .call()
            .await
            .unwrap()
            .status
    }
}

#[tokio::test]
async fn unreachable_bundle_is_disputed_once_then_claimed_as_withheld() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let cid = w
        .commit(b"never published", "file:///nonexistent/bundle.jsonl")
        .await;

    let mut bot = Bot::new(w.config(dir.path())).await.unwrap();
    let r = bot.run_once().await.unwrap();
    assert_eq!(r.disputes_opened, 1, "{r:?}");
    assert!(r.faults[0].1.contains("bundle unavailable"), "{r:?}");

    // Exactly once: a second pass and a restarted bot (fresh process, same state dir) open nothing.
    let r = bot.run_once().await.unwrap();
    assert_eq!(r.disputes_opened, 0, "{r:?}");
    drop(bot);
    let mut bot = Bot::new(w.config(dir.path())).await.unwrap();
    let r = bot.run_once().await.unwrap();
    assert_eq!(r.disputes_opened, 0, "{r:?}");
    assert_eq!(r.withheld_claimed, 0, "reveal window still open");

    // After the reveal window, the withheld leaf is claimed: provider at fault.
    w.provider
        .anvil_increase_time(24 * 3600 + 10)
        .await
        .unwrap();
    w.provider.anvil_mine(Some(1), None).await.unwrap();
    let r = bot.run_once().await.unwrap();
    assert_eq!(r.withheld_claimed, 1, "{r:?}");
    assert_eq!(w.status(cid).await, CommitmentStatus::Rejected);

    // The challenger's share and bond were credited and withdrawn.
    let game = IDisputeGame::new(w.game, &w.provider);
    assert_eq!(
        game.credit(bot.address()).call().await.unwrap(),
        U256::ZERO,
        "credit withdrawn"
    );
    // The next pass sees the resolution (this process's counters; the bot was restarted above).
    bot.run_once().await.unwrap();
    let metrics = bot.shared().metrics.render();
    assert!(
        metrics.contains("verbench_challenger_disputes_won_total 1"),
        "{metrics}"
    );
}

#[test]
fn sampling_is_deterministic_and_follows_the_rate() {
    let id = B256::repeat_byte(9);
    let hits = (0..10_000u32)
        .filter(|&i| verbench_challenger::sampled(1, id, i, 0.1))
        .count();
    assert!((800..1200).contains(&hits), "{hits}");
    assert!((0..100).all(|i| verbench_challenger::sampled(1, id, i, 1.0)));
    assert!(!(0..100).any(|i| verbench_challenger::sampled(1, id, i, 0.0)));
    let a: Vec<bool> = (0..64)
        .map(|i| verbench_challenger::sampled(5, id, i, 0.5))
        .collect();
    let b: Vec<bool> = (0..64)
        .map(|i| verbench_challenger::sampled(5, id, i, 0.5))
        .collect();
    assert_eq!(a, b);
}

/// Commits a real 4-leaf tree (bundle never published), the challenger forces a reveal, the
/// provider reveals the leaf but never publishes its item, and two operator bots wait half the
/// voting period for it, judge "provider at fault" (item withheld), swap attestations over HTTP
/// and resolve with a quorum.
#[tokio::test]
async fn operators_sign_collect_and_resolve() {
    use alloy::primitives::Bytes;
    use verbench_chain::bindings::{IDisputeGame::Dispute, IServiceManager};
    let w = world().await;
    let provider_addr = w.anvil.addresses()[1];
    let (leaves, tree) = verbench_testkit::leaves_and_tree(w.task_id, provider_addr, 4).unwrap();

    // Two operators with stake, registered before the dispute.
    let sm_addr = IDisputeGame::new(w.game, &w.provider)
        .serviceManager()
        .call()
        .await
        .unwrap();
    for i in [3usize, 4] {
        let p = ProviderBuilder::new()
            .wallet(alloy::signers::local::PrivateKeySigner::from(
                w.anvil.keys()[i].clone(),
            ))
            .connect_http(w.anvil.endpoint_url());
        IServiceManager::new(sm_addr, &p)
            .registerOperator()
            .value(U256::from(10u64.pow(18)))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }
    w.provider.anvil_increase_time(5).await.unwrap();
    w.provider.anvil_mine(Some(1), None).await.unwrap();

    // Commit the real root with an unreachable bundle.
    let pp = ProviderBuilder::new()
        .wallet(alloy::signers::local::PrivateKeySigner::from(
            w.anvil.keys()[1].clone(),
        ))
        .connect_http(w.anvil.endpoint_url());
    let pgame = IDisputeGame::new(w.game, &pp);
    let root = B256::from(tree.root());
    pgame
        .commit(
            w.task_id,
            root,
            4,
            B256::repeat_byte(5),
            100,
            U256::MAX,
            "file:///missing".into(),
        )
        .value(U256::from(10u64.pow(18)))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let cid = pgame
        .commitmentIdOf(w.task_id, provider_addr, root, 4)
        .call()
        .await
        .unwrap();

    // The challenger forces a reveal of leaf 0 and learns the dispute.
    let cdir = tempfile::tempdir().unwrap();
    let mut challenger = Bot::new(w.config(cdir.path())).await.unwrap();
    assert_eq!(challenger.run_once().await.unwrap().disputes_opened, 1);
    challenger.run_once().await.unwrap();
    let (did, entry) = challenger.state().disputes.iter().next().unwrap();
    let did = *did;
    let dispute = <Dispute as alloy::sol_types::SolValue>::abi_decode(&entry.dispute).unwrap();
    let index = dispute.leafIndex;

    // The provider reveals.
    let proof = tree.prove(u64::from(index)).unwrap();
    pgame
        .revealLeaf(
            dispute,
            Bytes::from(leaves[index as usize].encode()),
            proof.siblings.iter().map(|s| B256::from(*s)).collect(),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();

    // Half the voting period passes without the item on chain.
    let period = IDisputeGame::new(w.game, &w.provider)
        .votingPeriod()
        .call()
        .await
        .unwrap();
    w.provider
        .anvil_increase_time(u64::from(period) / 2 + 1)
        .await
        .unwrap();
    w.provider.anvil_mine(Some(1), None).await.unwrap();

    // Two operator bots, each serving its attestations and polling the other.
    let la = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lb = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (ua, ub) = (
        format!("http://{}", la.local_addr().unwrap()),
        format!("http://{}", lb.local_addr().unwrap()),
    );
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let op = |i: usize, dir: &std::path::Path, peer: String| Config {
        dev_key: Some(w.key_hex(i)),
        operator: true,
        sample_rate: 0.0,
        peers: vec![peer],
        ..w.config(dir)
    };
    let mut a = Bot::new(op(3, da.path(), ub.clone())).await.unwrap();
    let mut b = Bot::new(op(4, db.path(), ua.clone())).await.unwrap();
    tokio::spawn(verbench_challenger::serve(
        a.shared(),
        la,
        std::future::pending(),
    ));
    tokio::spawn(verbench_challenger::serve(
        b.shared(),
        lb,
        std::future::pending(),
    ));

    // A judges, seals on chain and keeps its verdict private: B has not sealed yet, and a
    // verdict served now could be copied into a paid seal (docs/protocol.md, "Lazy operators").
    let ra = a.run_once().await.unwrap();
    assert_eq!(ra.resolved, 0, "sealed, nothing public: {ra:?}");
    let game = IDisputeGame::new(w.game, &w.provider);
    assert_ne!(
        game.verdictSeal(did, a.address()).call().await.unwrap(),
        B256::ZERO
    );
    let private = reqwest::get(format!("{ua}/attestations/{did}"))
        .await
        .unwrap();
    assert_eq!(
        private.status(),
        reqwest::StatusCode::NOT_FOUND,
        "not served before every operator sealed"
    );
    // B seals too; now every eligible operator has sealed, so B serves its verdict, but A's is
    // not public yet: one of two operators is not a quorum.
    let rb = b.run_once().await.unwrap();
    assert_eq!(rb.resolved, 0, "{rb:?}");
    // A serves its own, collects B's and resolves.
    let ra = a.run_once().await.unwrap();
    assert_eq!(ra.resolved, 1, "{ra:?}");
    let att: verbench_challenger::Attestation = reqwest::get(format!("{ua}/attestations/{did}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        att.outcome,
        verbench_challenger::VerdictOutcome::ProviderAtFault,
        "provider at fault"
    );
    assert_eq!(att.signer, a.address());
    assert_eq!(w.status(cid).await, CommitmentStatus::Rejected);
    // A claimed the verdict pay: both operators sealed in time, so both are paid.
    assert_eq!(game.unpaidVerdicts(cid).call().await.unwrap(), B256::ZERO);
    let paid: Vec<Address> = game
        .Credited_filter()
        .topic2(did)
        .from_block(0)
        .query()
        .await
        .unwrap()
        .into_iter()
        .map(|(e, _)| e.account)
        .collect();
    assert!(
        paid.contains(&a.address()) && paid.contains(&b.address()),
        "{paid:?}"
    );
    // A lost race is fine.
    b.run_once().await.unwrap();
    let health = reqwest::get(format!("{ub}/health"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(health, "ok");
    let metrics = reqwest::get(format!("{ub}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("verbench_challenger_attestations_signed_total 1"),
        "{metrics}"
    );
}

/// A reorg under the cursor (anvil snapshot/revert) rewinds it: the commitment on the new
/// branch is found and disputed.
#[tokio::test]
async fn reorg_rewinds_the_cursor() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let snap = w.provider.anvil_snapshot().await.unwrap();
    w.provider.anvil_mine(Some(5), None).await.unwrap();
    let mut bot = Bot::new(w.config(dir.path())).await.unwrap();
    let r = bot.run_once().await.unwrap();
    assert_eq!(r.disputes_opened, 0);
    let cursor = bot.state().follow.cursor;
    assert!(w.provider.anvil_revert(snap).await.unwrap());
    let cid = w.commit(b"gone", "file:///nonexistent/reorg.jsonl").await;
    assert!(w.provider.get_block_number().await.unwrap() < cursor);
    let r = bot.run_once().await.unwrap();
    assert_eq!(r.disputes_opened, 1, "{r:?}");
    assert!(bot.state().commitments.contains_key(&cid));
}

impl World {
    /// Commits `root` (4 leaves) as anvil account 1 with an unpublished bundle at `uri`.
    pub(crate) async fn commit_root(&self, root: B256, uri: &str) -> B256 {
        let p = ProviderBuilder::new()
            .wallet(alloy::signers::local::PrivateKeySigner::from(
                self.anvil.keys()[1].clone(),
            ))
            .connect_http(self.anvil.endpoint_url());
        let game = IDisputeGame::new(self.game, &p);
        game.commit(
            self.task_id,
            root,
            4,
            B256::repeat_byte(5),
            100,
            U256::MAX,
            uri.into(),
        )
        .value(U256::from(10u64.pow(18)))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
        game.commitmentIdOf(self.task_id, self.anvil.addresses()[1], root, 4)
            .call()
            .await
            .unwrap()
    }

    /// Reveals the leaf of the first dispute opened on `cid`, as the provider.
    pub(crate) async fn reveal_first_dispute(
        &self,
        cid: B256,
        leaves: &[verbench_bundle::LeafV2],
        tree: &verbench_merkle::MerkleTree,
    ) {
        let p = ProviderBuilder::new()
            .wallet(alloy::signers::local::PrivateKeySigner::from(
                self.anvil.keys()[1].clone(),
            ))
            .connect_http(self.anvil.endpoint_url());
        let game = IDisputeGame::new(self.game, &p);
        let opened = game
            .DisputeOpened_filter()
            .topic2(cid)
            .from_block(0)
            .query()
            .await
            .unwrap();
        let d = opened[0].0.dispute.clone();
        let i = d.leafIndex as usize;
        let proof = tree.prove(i as u64).unwrap();
        game.revealLeaf(
            d,
            alloy::primitives::Bytes::from(leaves[i].encode()),
            proof.siblings.iter().map(|s| B256::from(*s)).collect(),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    }
}

/// Scenario 7: malformed bundles (truncated, wrong leaf count, bad base64, items that do not match
/// the committed root), each published under its committed hash and size: the bot names the
/// problem, disputes (forcing a reveal of the leaf it cannot trust), and never crashes.
#[tokio::test]
async fn malformed_bundles_are_named_disputed_and_never_crash_the_bot() {
    use base64::Engine as _;
    use verbench_bundle::{
        leaf::input_hash, BundleWriter, GenerationParams as G, Header, Item, ToplocParams as T,
        FORMAT,
    };
    use verbench_merkle::to_hex;

    let w = world().await;
    let provider = w.anvil.addresses()[1];
    let dir = tempfile::tempdir().unwrap();
    let header = Header {
        format: FORMAT.into(),
        chain_id: 31337,
        game: format!("{:#x}", w.game),
        task_id: to_hex(&w.task_id.0),
        provider: format!("{provider:#x}"),
        model_hash: to_hex(&[1; 32]),
        manifest_hash: to_hex(&[0; 32]),
        dataset_root: to_hex(&[2; 32]),
        leaf_count: 4,
        generation: G {
            max_new_tokens: 16,
            temperature_milli: 0,
            seed: 0,
        },
        toploc: T {
            topk: 128,
            decode_batching_size: 32,
        },
        engine: None,
    };
    let good = dir.path().join("good.jsonl");
    let mut writer = BundleWriter::create_or_resume(&good, header).unwrap();
    for i in 0..4u64 {
        let input = format!("question {i}");
        writer
            .append(Item {
                index: i,
                input_hash: to_hex(&input_hash(&input)),
                input,
                output_tokens: vec![1, 2, 3],
                output_text: "a b c".into(),
                score_wad: "0".into(),
                choice_logits: Vec::new(),
                score_sum_wad: String::new(),
                proofs: vec![base64::engine::general_purpose::STANDARD.encode([0u8; 258])],
                leaf_hash: String::new(),
            })
            .unwrap();
    }
    let root = B256::from(writer.finish().unwrap().tree.root());
    let text = std::fs::read_to_string(&good).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let edit = |line: usize, f: &dyn Fn(&mut serde_json::Value)| -> String {
        let mut out = lines.clone();
        let mut v: serde_json::Value = serde_json::from_str(&out[line]).unwrap();
        f(&mut v);
        out[line] = v.to_string();
        out.join("\n") + "\n"
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("truncated", text[..text.len() - 40].to_owned(), "torn"),
        (
            "wrong leaf count",
            edit(0, &|v| v["leaf_count"] = 5.into()),
            "leaf hash",
        ),
        (
            "bad base64",
            edit(2, &|v| v["proofs"][0] = "%%%".into()),
            "base64",
        ),
        (
            "items do not match the root",
            {
                // A self-consistent bundle (leaf hashes and end line recomputed) for other outputs.
                let mut out = lines.clone();
                let mut v: serde_json::Value = serde_json::from_str(&out[1]).unwrap();
                v["output_tokens"] = serde_json::json!([7, 7, 7]);
                out[1] = v.to_string();
                let bad = dir.path().join("bad-items.jsonl");
                let verbench_bundle::Line::Header(h) = serde_json::from_str(&out[0]).unwrap()
                else {
                    panic!("first line is the header")
                };
                let mut wr = BundleWriter::create_or_resume(&bad, h).unwrap();
                for line in &out[1..5] {
                    let verbench_bundle::Line::Item(mut item) = serde_json::from_str(line).unwrap()
                    else {
                        panic!("item line")
                    };
                    item.leaf_hash.clear();
                    wr.append(item).unwrap();
                }
                wr.finish().unwrap();
                std::fs::read_to_string(&bad).unwrap()
            },
            "root",
        ),
    ];
    for (name, bytes, expect) in cases {
        let path = dir.path().join(format!("{}.jsonl", name.replace(' ', "-")));
        std::fs::write(&path, &bytes).unwrap();
        let p = ProviderBuilder::new()
            .wallet(alloy::signers::local::PrivateKeySigner::from(
                w.anvil.keys()[1].clone(),
            ))
            .connect_http(w.anvil.endpoint_url());
        let game = IDisputeGame::new(w.game, &p);
        // Commitment ids derive from the root: the cases that fail before the root comparison get
        // a root salted with their bundle hash, so that each case is a commitment of its own.
        let hash = keccak256(bytes.as_bytes());
        let committed_root = if name == "items do not match the root" {
            root
        } else {
            keccak256([root.as_slice(), hash.as_slice()].concat())
        };
        game.commit(
            w.task_id,
            committed_root,
            4,
            hash,
            bytes.len() as u64,
            U256::MAX,
            format!("file://{}", path.display()),
        )
        .value(U256::from(10u64.pow(18)))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
        let cid = game
            .commitmentIdOf(w.task_id, provider, committed_root, 4)
            .call()
            .await
            .unwrap();
        // A fresh bot also sees the earlier cases' commitments (already disputed on chain).
        let state = tempfile::tempdir().unwrap();
        let mut bot = Bot::new(w.config(state.path())).await.unwrap();
        let r = bot.run_once().await.unwrap();
        assert_eq!(r.disputes_opened, 1, "{name}: {r:?}");
        let why = &r
            .faults
            .iter()
            .find(|(id, _)| *id == cid)
            .expect("a fault for this case")
            .1;
        assert!(
            why.contains("does not match the commitment") && why.contains(expect),
            "{name}: {why}"
        );
        // The bot keeps running: a second pass opens nothing more.
        assert_eq!(bot.run_once().await.unwrap().disputes_opened, 0, "{name}");
    }
}

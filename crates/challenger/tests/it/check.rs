//! The check alone: bundle + task -> action or verdict, with no chain client and no model.

use alloy::primitives::{Address, Bytes, Uint, B256, U256};
use std::path::{Path, PathBuf};
use verbench_bundle::{leaf, BundleWriter, Header, Item, WAD};
use verbench_chain::bindings::IDisputeGame::{Commitment, Outcome, TaskSpec};
use verbench_challenger::check::{Action, Benchmarks, Checker, Target};
use verbench_challenger::metrics::Metrics;
use verbench_merkle::{hash_leaf, to_hex, verify};
use verbench_testkit::{header_for, task_spec};

const CHAIN_ID: u64 = 31337;
const N: u32 = 4;

fn game() -> Address {
    Address::repeat_byte(0x11)
}

fn provider() -> Address {
    Address::repeat_byte(0x33)
}

fn spec() -> TaskSpec {
    task_spec(
        B256::repeat_byte(0x22),
        B256::repeat_byte(0x55),
        B256::repeat_byte(0x44),
        N,
        8,
    )
}

fn header(s: &TaskSpec) -> Header {
    header_for(s, CHAIN_ID, game(), B256::repeat_byte(0x77), provider())
}

/// Writes an N-item bundle (scores 1, 0, 1, 0) and the commitment that answers it.
fn bundle(dir: &Path) -> (PathBuf, Commitment, Vec<Item>) {
    use base64::Engine as _;
    let path = dir.join("bundle.jsonl");
    let mut w = BundleWriter::create_or_resume(&path, header(&spec())).unwrap();
    let proof = base64::engine::general_purpose::STANDARD.encode([0u8; 10]);
    for i in 0..u64::from(N) {
        let input = format!("question {i}");
        w.append(Item {
            index: i,
            input_hash: to_hex(&leaf::input_hash(&input)),
            input,
            output_tokens: vec![7, 2],
            output_text: "x".into(),
            score_wad: if i % 2 == 0 {
                WAD.to_string()
            } else {
                "0".into()
            },
            choice_logits: Vec::new(),
            score_sum_wad: String::new(),
            proofs: vec![proof.clone(), proof.clone()],
            leaf_hash: String::new(),
        })
        .unwrap();
    }
    let done = w.finish().unwrap();
    let mut reader = verbench_bundle::BundleReader::open(&path).unwrap();
    let mut items = Vec::new();
    while let Some((item, _)) = reader.next_item().unwrap() {
        items.push(item);
    }
    let c = Commitment {
        taskId: B256::repeat_byte(0x77),
        provider: provider(),
        root: done.tree.root().into(),
        leafCount: N,
        bond: Uint::from(1u64),
        challengeDeadline: Uint::from(1u64 << 40),
        bundleHash: done.bundle_hash.into(),
        bundleSize: done.bundle_size,
        claimedScore: U256::from(done.score_wad),
    };
    (path, c, items)
}

fn checker(model: Option<PathBuf>, cache: &Path) -> Checker {
    Checker::new(
        model,
        Benchmarks::load(&[], &[], cache.to_path_buf()).unwrap(),
    )
}

fn target<'a>(c: &'a Commitment, s: &'a TaskSpec) -> Target<'a> {
    Target {
        id: B256::repeat_byte(0x99),
        chain_id: CHAIN_ID,
        game: game(),
        commitment: c,
        spec: Some(s),
    }
}

/// The proven leaf verifies against the commitment at `index`.
fn assert_proven(c: &Commitment, index: u32, (data, proof): &(Bytes, Vec<B256>)) {
    assert!(leaf::LeafV2::decode(data).is_some());
    let siblings: Vec<[u8; 32]> = proof.iter().map(|s| s.0).collect();
    verify(
        &c.root.0,
        u64::from(c.leafCount),
        u64::from(index),
        &hash_leaf(data),
        &siblings,
    )
    .unwrap();
}

#[tokio::test]
async fn an_honest_bundle_passes_the_structural_check() {
    let dir = tempfile::tempdir().unwrap();
    let (path, c, _) = bundle(dir.path());
    let s = spec();
    let m = Metrics::default();
    let got = checker(None, dir.path())
        .check(target(&c, &s), Ok(path), &[1, 3], &m)
        .await
        .unwrap();
    assert_eq!(got.leaves_checked, 0);
    match got.action {
        Action::Ok(note) => assert!(note.contains("no model configured"), "{note}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_false_aggregate_gets_a_score_proof_on_the_last_leaf() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut c, _) = bundle(dir.path());
    c.claimedScore = U256::from(WAD); // the leaves say 0.5
    let s = spec();
    let got = checker(None, dir.path())
        .check(target(&c, &s), Ok(path), &[], &Metrics::default())
        .await
        .unwrap();
    match got.action {
        Action::ScoreProof {
            index,
            leaf,
            next,
            reason,
        } => {
            assert_eq!(index, N - 1);
            assert!(next.is_none());
            assert!(reason.contains("running sum gives"), "{reason}");
            assert_proven(&c, index, &leaf);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unavailable_or_foreign_data_is_disputed_without_a_leaf() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut c, _) = bundle(dir.path());
    let s = spec();
    let mut k = checker(None, dir.path());
    let m = Metrics::default();
    let got = k
        .check(target(&c, &s), Err("404".into()), &[2, 3], &m)
        .await
        .unwrap();
    assert!(matches!(
        got.action,
        Action::Dispute { index: 2, leaf: None, ref reason } if reason.contains("unavailable: 404")
    ));
    c.root = B256::repeat_byte(1);
    let got = k.check(target(&c, &s), Ok(path), &[], &m).await.unwrap();
    assert!(matches!(
        got.action,
        Action::Dispute { index: 0, leaf: None, ref reason } if reason.contains("does not match")
    ));
}

#[tokio::test]
async fn a_header_that_contradicts_the_task_is_disputed_with_its_leaf() {
    let dir = tempfile::tempdir().unwrap();
    let (path, c, _) = bundle(dir.path());
    let mut s = spec();
    s.modelHash = B256::repeat_byte(0x23);
    let got = checker(None, dir.path())
        .check(target(&c, &s), Ok(path), &[1], &Metrics::default())
        .await
        .unwrap();
    match got.action {
        Action::Dispute {
            index: 1,
            leaf: Some(leaf),
            reason,
        } => {
            assert!(reason.starts_with("header:"), "{reason}");
            assert_proven(&c, 1, &leaf);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_task_without_its_manifest_is_reported_unjudged_once_and_never_judged() {
    let dir = tempfile::tempdir().unwrap();
    let (path, c, items) = bundle(dir.path());
    let s = spec();
    // A model path is configured, but the task's manifest is not: nothing loads, nothing is judged.
    let mut k = checker(Some(dir.path().join("no-model.gguf")), dir.path());
    let m = Metrics::default();
    for _ in 0..2 {
        let got = k
            .check(target(&c, &s), Ok(path.clone()), &[0, 1], &m)
            .await
            .unwrap();
        match got.action {
            Action::Ok(note) => assert!(
                note.contains("task not judged: no configured manifest has hash"),
                "{note}"
            ),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        m.tasks_unjudged.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // An operator does not sign a verdict on it either.
    let l = leaf::leaf_of(&header(&s), &items[1]).unwrap();
    let e = k
        .verdict(
            target(&c, &s),
            Ok(path),
            1,
            B256::from(l.hash()),
            &Bytes::from(l.encode()),
            &m,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cannot judge"), "{e}");
}

#[tokio::test]
async fn verdicts_blame_the_provider_for_bad_reveals_and_missing_data() {
    let dir = tempfile::tempdir().unwrap();
    let (path, c, items) = bundle(dir.path());
    let s = spec();
    let mut k = checker(None, dir.path());
    let m = Metrics::default();
    let l = leaf::leaf_of(&header(&s), &items[2]).unwrap();
    let (hash, data) = (B256::from(l.hash()), Bytes::from(l.encode()));
    let cases: [(Result<PathBuf, String>, B256, Bytes); 3] = [
        (Ok(path.clone()), hash, Bytes::from_static(b"not a leaf")),
        (Err("gone".into()), hash, data.clone()),
        // A revealed leaf that is not the bundle's item 2.
        (Ok(path), B256::repeat_byte(9), data),
    ];
    for (bundle, leaf_hash, leaf_data) in cases {
        let got = k
            .verdict(target(&c, &s), bundle, 2, leaf_hash, &leaf_data, &m)
            .await
            .unwrap();
        assert_eq!(got, Outcome::ProviderAtFault);
    }
}

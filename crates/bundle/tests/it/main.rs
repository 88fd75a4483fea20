//! Bundle round trips, resumption, malformed input, and stores.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // tests: a failed unwrap is a failed test

use base64::Engine as _;
use std::io::Write as _;
use verbench_bundle::{
    dataset::mini_benchmark, leaf, read_bundle, store, BundleReader, BundleWriter, Error,
    GenerationParams, Header, Item, ToplocParams, FORMAT, WAD,
};
use verbench_merkle::to_hex;

fn header(leaf_count: u64) -> Header {
    Header {
        format: FORMAT.into(),
        chain_id: 31337,
        game: "0x5fbdb2315678afecb367f032d93f642f64180aa3".into(),
        task_id: to_hex(&[0x11; 32]),
        provider: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into(),
        model_hash: to_hex(&[0x22; 32]),
        manifest_hash: to_hex(&[0; 32]),
        dataset_root: to_hex(&[0x33; 32]),
        leaf_count,
        generation: GenerationParams {
            max_new_tokens: 64,
            temperature_milli: 0,
            seed: 0,
        },
        toploc: ToplocParams {
            topk: 128,
            decode_batching_size: 32,
        },
        engine: None,
    }
}

fn item(index: u64) -> Item {
    let input = format!("question {index}");
    let proof = base64::engine::general_purpose::STANDARD.encode(vec![index as u8; 258]);
    Item {
        index,
        input_hash: to_hex(&leaf::input_hash(&input)),
        input,
        output_tokens: vec![1, 2, index as u32],
        output_text: format!("answer {index}"),
        score_wad: if index % 2 == 0 {
            WAD.to_string()
        } else {
            "0".into()
        },
        choice_logits: Vec::new(),
        score_sum_wad: String::new(),
        proofs: vec![proof.clone(), proof],
        leaf_hash: String::new(),
    }
}

fn write_full(path: &std::path::Path, n: u64) -> verbench_bundle::Finished {
    let mut w = BundleWriter::create_or_resume(path, header(n)).unwrap();
    for i in 0..n {
        w.append(item(i)).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn write_read_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.jsonl");
    let done = write_full(&path, 5);
    assert_eq!(done.tree.leaf_count(), 5);
    assert_eq!(done.score_wad, 3 * WAD / 5);
    assert_eq!(done.bundle_size, std::fs::metadata(&path).unwrap().len());
    let summary = read_bundle(&path, Some((done.tree.root(), 5))).unwrap();
    assert_eq!(summary.tree.root(), done.tree.root());
    assert_eq!(summary.header, header(5));
    // Every leaf proves against the root through the Merkle crate.
    for (i, leaf) in summary.leaves.iter().enumerate() {
        done.tree
            .prove(i as u64)
            .unwrap()
            .verify(&done.tree.root(), leaf)
            .unwrap();
    }
    // A wrong expected root is reported.
    assert!(matches!(
        read_bundle(&path, Some(([0; 32], 5))),
        Err(Error::RootMismatch { .. })
    ));
}

#[test]
fn round_trip_reports_running_sums_mean_and_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.jsonl");
    let done = write_full(&path, 5);
    // Scores 1, 0, 1, 0, 1: mean 0.6, sample variance 0.3, stderr sqrt(0.3 / 5) = 0.2449...
    assert_eq!(done.score.mean_wad, 3 * WAD / 5);
    assert_eq!(done.score.display(), "0.6000 ± 0.2449");
    let summary = read_bundle(&path, None).unwrap();
    assert_eq!(summary.score, done.score);
    assert_eq!(summary.claimable_wad, 3 * WAD / 5);
    assert_eq!(summary.score_break, None);
    let text = std::fs::read_to_string(&path).unwrap();
    let sums: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "item")
        .map(|v| v["score_sum_wad"].as_str().unwrap().to_owned())
        .collect();
    let w = WAD.to_string();
    let w2 = (2 * WAD).to_string();
    let w3 = (3 * WAD).to_string();
    assert_eq!(sums, [w.as_str(), w.as_str(), &w2, &w2, &w3]);
    // Scores above 1 and non-canonical decimals are refused by the writer.
    let mut w = BundleWriter::create_or_resume(dir.path().join("c.jsonl"), header(2)).unwrap();
    let mut big = item(0);
    big.score_wad = (WAD + 1).to_string();
    assert!(w
        .append(big)
        .unwrap_err()
        .to_string()
        .contains("above 1e18"));
    let mut plus = item(0);
    plus.score_wad = "+1".into();
    assert!(w
        .append(plus)
        .unwrap_err()
        .to_string()
        .contains("canonical"));
}

/// Writes a bundle by hand (not through the writer) whose items carry `sums` as running sums,
/// with consistent leaf hashes, root and end line.
fn write_with_sums(path: &std::path::Path, scores: &[u128], sums: &[u128]) {
    let h = header(scores.len() as u64);
    let mut lines = vec![serde_json::to_string(&verbench_bundle::Line::Header(h.clone())).unwrap()];
    let mut hashes = Vec::new();
    for (i, (&score, &sum)) in scores.iter().zip(sums).enumerate() {
        let mut it = item(i as u64);
        it.score_wad = score.to_string();
        it.score_sum_wad = sum.to_string();
        let hash = leaf::leaf_of(&h, &it).unwrap().hash();
        it.leaf_hash = to_hex(&hash);
        hashes.push(hash);
        lines.push(serde_json::to_string(&verbench_bundle::Line::Item(it)).unwrap());
    }
    let tree = verbench_merkle::MerkleTree::from_leaf_hashes(&hashes).unwrap();
    let mean = scores.iter().sum::<u128>() / scores.len() as u128;
    lines.push(
        serde_json::to_string(&verbench_bundle::Line::End(verbench_bundle::Trailer {
            root: to_hex(&tree.root()),
            leaf_count: scores.len() as u64,
            score_wad: mean.to_string(),
            score_stderr_wad: "0".into(),
        }))
        .unwrap(),
    );
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn broken_running_sums_are_reported_for_a_score_proof() {
    use verbench_bundle::score::ScoreBreak;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("step.jsonl");
    write_with_sums(&p, &[WAD, 0, WAD], &[WAD, 2 * WAD, 3 * WAD]);
    let s = read_bundle(&p, None).unwrap();
    assert_eq!(s.score_break, Some(ScoreBreak::Step { index: 1 }));
    assert_eq!(s.score_break.unwrap().proof_leaves(), (0, true));
    // The chain divides the last running sum: 3e18 / 3, whatever the scores say.
    assert_eq!(s.claimable_wad, WAD);
    assert_eq!(s.score_wad, 2 * WAD / 3);
    let p = dir.path().join("first.jsonl");
    write_with_sums(&p, &[0, 0], &[WAD, WAD]);
    assert_eq!(
        read_bundle(&p, None).unwrap().score_break,
        Some(ScoreBreak::FirstSum)
    );
    let p = dir.path().join("above.jsonl");
    write_with_sums(&p, &[0, 2 * WAD], &[0, 2 * WAD]);
    assert_eq!(
        read_bundle(&p, None).unwrap().score_break,
        Some(ScoreBreak::AboveOne { index: 1 })
    );
    // Consistent sums with a wrong end line are a malformed bundle, not a score break.
    let p = dir.path().join("end.jsonl");
    write_with_sums(&p, &[WAD, 0], &[WAD, WAD]);
    let err = read_bundle(&p, None).unwrap_err();
    assert!(err.to_string().contains("end line score"), "{err}");
}

#[test]
fn resume_after_crash_continues_and_never_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.jsonl");
    {
        let mut w = BundleWriter::create_or_resume(&path, header(4)).unwrap();
        w.append(item(0)).unwrap();
        w.append(item(1)).unwrap();
    }
    // A torn write of item 2 (no newline) is dropped on resume.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"{\"kind\":\"item\",\"ind")
        .unwrap();
    let mut w = BundleWriter::create_or_resume(&path, header(4)).unwrap();
    assert_eq!(w.next_index(), 2);
    assert!(matches!(
        w.append(item(1)),
        Err(Error::OutOfOrder {
            expected: 2,
            got: 1
        })
    ));
    w.append(item(2)).unwrap();
    w.append(item(3)).unwrap();
    let resumed = w.finish().unwrap();
    let fresh_path = dir.path().join("fresh.jsonl");
    let fresh = write_full(&fresh_path, 4);
    assert_eq!(
        resumed.bundle_hash, fresh.bundle_hash,
        "a resumed bundle is byte-identical"
    );
    // Opening a finished bundle again is a no-op that yields the same result.
    let again = BundleWriter::create_or_resume(&path, header(4)).unwrap();
    assert!(again.is_finished());
    assert_eq!(again.finish().unwrap().bundle_hash, fresh.bundle_hash);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&fresh_path).unwrap()
    );
}

#[test]
fn resume_with_another_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.jsonl");
    BundleWriter::create_or_resume(&path, header(4)).unwrap();
    let mut other = header(4);
    other.model_hash = to_hex(&[0x44; 32]);
    assert!(matches!(
        BundleWriter::create_or_resume(&path, other),
        Err(Error::HeaderConflict {
            field: "model_hash",
            ..
        })
    ));
}

#[test]
fn finishing_early_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BundleWriter::create_or_resume(dir.path().join("b.jsonl"), header(3)).unwrap();
    w.append(item(0)).unwrap();
    assert!(matches!(
        w.finish(),
        Err(Error::Incomplete {
            items: 1,
            leaf_count: 3
        })
    ));
}

/// Rewrites line `line` (0-based) of the bundle with `edit`.
fn tamper(path: &std::path::Path, line: usize, edit: impl Fn(&mut serde_json::Value)) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut v: serde_json::Value = serde_json::from_str(&lines[line]).unwrap();
    edit(&mut v);
    lines[line] = v.to_string();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn malformed_bundles_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = |name: &str| {
        let p = dir.path().join(name);
        write_full(&p, 4);
        p
    };
    // Truncated (cut in the middle of a line, and cut at a line boundary).
    let p = fresh("torn.jsonl");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
    assert!(
        matches!(read_bundle(&p, None), Err(Error::Malformed { .. })),
        "torn"
    );
    let p = fresh("short.jsonl");
    let text = std::fs::read_to_string(&p).unwrap();
    let kept: Vec<&str> = text.lines().take(3).collect();
    std::fs::write(&p, kept.join("\n") + "\n").unwrap();
    let err = read_bundle(&p, None).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    // Wrong leaf count in the header: every leaf binds the count, so the first item mismatches.
    let p = fresh("count.jsonl");
    tamper(&p, 0, |v| v["leaf_count"] = 5.into());
    assert!(matches!(
        read_bundle(&p, None),
        Err(Error::LeafMismatch { index: 0, .. })
    ));
    // Bad base64 in a proof.
    let p = fresh("b64.jsonl");
    tamper(&p, 2, |v| v["proofs"][0] = "not base64!".into());
    let err = read_bundle(&p, None).unwrap_err();
    assert!(err.to_string().contains("base64"), "{err}");
    // A changed output token: the stored leaf hash no longer matches.
    let p = fresh("tokens.jsonl");
    tamper(&p, 3, |v| v["output_tokens"][0] = 9.into());
    assert!(matches!(
        read_bundle(&p, None),
        Err(Error::LeafMismatch { index: 2, .. })
    ));
    // A consistent rewrite of an item (leaf hash updated) no longer matches the end line's root.
    let p = fresh("root.jsonl");
    let mut changed = item(1);
    changed.output_tokens.push(7);
    // Items 0 and 1 score 1 and 0: the running sum at item 1 is 1e18.
    changed.score_sum_wad = WAD.to_string();
    let h = header(4);
    let new_leaf = leaf::leaf_of(&h, &changed).unwrap().hash();
    tamper(&p, 2, |v| {
        v["output_tokens"] = serde_json::json!(changed.output_tokens);
        v["leaf_hash"] = to_hex(&new_leaf).into();
    });
    assert!(matches!(
        read_bundle(&p, None),
        Err(Error::RootMismatch { .. })
    ));
    // Items out of order, garbage lines, data after the end, empty file.
    let p = fresh("order.jsonl");
    tamper(&p, 1, |v| v["index"] = 1.into());
    assert!(matches!(
        read_bundle(&p, None),
        Err(Error::Malformed { .. })
    ));
    let p = fresh("garbage.jsonl");
    tamper(&p, 2, |v| *v = serde_json::json!({"kind": "item"}));
    assert!(matches!(
        read_bundle(&p, None),
        Err(Error::Parse { line: 3, .. })
    ));
    let p = fresh("extra.jsonl");
    let end = std::fs::read_to_string(&p)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&p)
        .unwrap()
        .write_all(format!("{end}\n").as_bytes())
        .unwrap();
    assert!(matches!(
        read_bundle(&p, None),
        Err(Error::Malformed { .. })
    ));
    let p = dir.path().join("empty.jsonl");
    std::fs::write(&p, b"").unwrap();
    assert!(matches!(
        read_bundle(&p, None),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn reader_streams_items_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.jsonl");
    write_full(&path, 3);
    let mut r = BundleReader::open(&path).unwrap();
    let mut seen = Vec::new();
    while let Some((it, _)) = r.next_item().unwrap() {
        seen.push(it.index);
    }
    assert_eq!(seen, vec![0, 1, 2]);
}

#[tokio::test]
async fn dir_store_and_http_fetch_check_hash_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.jsonl");
    let done = write_full(&path, 3);
    let served = dir.path().join("served");

    // file:// store.
    let file_store = store::DirStore {
        dir: served.clone(),
        base_url: None,
    };
    let uri = store::BundleStore::publish(&file_store, &path, &done.bundle_hash)
        .await
        .unwrap();
    assert!(
        uri.starts_with("file://") && uri.ends_with(&store::bundle_file_name(&done.bundle_hash))
    );
    let got = store::fetch(
        &uri,
        &done.bundle_hash,
        done.bundle_size,
        &dir.path().join("got1.jsonl"),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(got).unwrap(), std::fs::read(&path).unwrap());
    // Size cap and hash check.
    let small = store::fetch(
        &uri,
        &done.bundle_hash,
        done.bundle_size - 1,
        &dir.path().join("x"),
    )
    .await;
    assert!(matches!(small, Err(Error::TooLarge { .. })));
    let wrong = store::fetch(&uri, &[0; 32], done.bundle_size, &dir.path().join("x")).await;
    assert!(matches!(wrong, Err(Error::ContentMismatch { .. })));

    // HTTP: serve the directory, fetch through it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(store::serve_dir(listener, served.clone(), async move {
        let _ = stopped.await;
    }));
    let http_store = store::DirStore {
        dir: served,
        base_url: Some(base.clone()),
    };
    let uri = store::BundleStore::publish(&http_store, &path, &done.bundle_hash)
        .await
        .unwrap();
    assert!(uri.starts_with(&base));
    let got = store::fetch(
        &uri,
        &done.bundle_hash,
        done.bundle_size,
        &dir.path().join("got2.jsonl"),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(got).unwrap(), std::fs::read(&path).unwrap());
    let capped = store::fetch(&uri, &done.bundle_hash, 100, &dir.path().join("y")).await;
    assert!(matches!(capped, Err(Error::TooLarge { .. })));
    let missing = store::fetch(
        &format!("{base}/{}", store::bundle_file_name(&[7; 32])),
        &[7; 32],
        10,
        &dir.path().join("z"),
    )
    .await;
    assert!(matches!(missing, Err(Error::Store { .. })));
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[test]
fn mini_benchmark_round_trips_through_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let d = mini_benchmark();
    let p = dir.path().join("mini.jsonl");
    std::fs::write(&p, d.to_jsonl()).unwrap();
    let loaded = verbench_bundle::dataset::Dataset::load(&p).unwrap();
    assert_eq!(loaded.items, d.items);
    assert_eq!(loaded.root().unwrap(), d.root().unwrap());
}

#[test]
fn committed_mini_benchmark_is_fresh() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mini-qa.jsonl");
    let committed = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        committed,
        mini_benchmark().to_jsonl(),
        "regenerate with `cargo run -p verbench-bundle --bin mini-benchmark`"
    );
}

/// The converted GSM8K and MMLU datasets have the roots docs/manifest.md documents. Needs the
/// sources from tools/fetch-benchmarks.sh (tools/setup.sh runs it); fails rather than skips
/// without them.
#[test]
fn converted_benchmarks_have_the_documented_roots() {
    use verbench_bundle::benchmarks::{self, Subset};
    let cache = verbench_bundle::benchmark::default_cache_dir();
    let g = GenerationParams {
        max_new_tokens: 256,
        temperature_milli: 0,
        seed: 0,
    };
    let raw = benchmarks::GSM8K.read(&cache).unwrap();
    let origin = benchmarks::GSM8K.path(&cache);
    let cases = [
        (
            benchmarks::prepare_gsm8k(&raw, &origin, 0, Subset::All, "", g).unwrap(),
            1319,
            "8eafb68b37ced93f8c9c34a32491e3883819a8747d2de83dd6b7ca0f57cd48be",
            "0x81997b66b9809f4e4be753a3ae334bded98833596901032c3aeda242b8adde24",
        ),
        (
            benchmarks::prepare_gsm8k(
                &raw,
                &origin,
                0,
                Subset::Seeded { seed: 7, size: 200 },
                "",
                g,
            )
            .unwrap(),
            200,
            "bc66d4f9278bfea0fa3a5ea8ebf29183b95961a079cf171ca7be5cf4241bb35c",
            "0x011757128301641e9e96126b337e362a78f720cb44b94e8c48adfbf06fc4ce32",
        ),
    ];
    let raw = benchmarks::MMLU.read(&cache).unwrap();
    let origin = benchmarks::MMLU.path(&cache);
    let mmlu = [
        (
            benchmarks::prepare_mmlu(&raw, &origin, Subset::All, "").unwrap(),
            14042,
            "5932aea70e7013949e0e35078e9ad9ac42c6d046037348a93d9a20a821dc313c",
            "0xb3e2f91800bc62120dc40116d3939a8ca7956ba105911f78acb5239dea92b687",
        ),
        (
            benchmarks::prepare_mmlu(&raw, &origin, Subset::PerTopic { seed: 7, n: 20 }, "")
                .unwrap(),
            1140,
            "e68deee41595168d80118a7b9eb5a0c769f288c23841221875097ad8d43562f9",
            "0x826167b3a67c483aa54143d56116640b2a11d28c47532a0176de90d20081a399",
        ),
    ];
    for (p, items, sha, inputs_root) in cases.into_iter().chain(mmlu) {
        let name = &p.manifest.name;
        assert_eq!(p.dataset.items.len(), items, "{name}");
        assert_eq!(p.manifest.dataset.sha256, sha, "{name}");
        assert_eq!(p.manifest.dataset.inputs_root, inputs_root, "{name}");
        p.manifest
            .verify_dataset(p.dataset.to_jsonl().as_bytes(), std::path::Path::new(name))
            .unwrap();
    }
}

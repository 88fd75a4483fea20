//! `export`: a bundle in lm-evaluation-harness's `--log_samples` layout plus a results JSON, and a
//! bundle of another benchmark refused.

use base64::Engine as _;
use verbench_bundle::{
    benchmark::Benchmark, dataset::mini_benchmark, leaf, BundleWriter, Item, WAD,
};
use verbench_inference::ModelTokenizer;
use verbench_merkle::to_hex;
use verbench_provider::export::export;

fn tokenizer() -> ModelTokenizer {
    let path = verbench_inference::smollm2_path();
    assert!(
        path.exists(),
        "{} missing: run tools/fetch-models.sh (this test fails rather than skips without it)",
        path.display()
    );
    ModelTokenizer::from_gguf_or_dir(&path).unwrap()
}

/// A bundle over the mini benchmark whose items answer correctly when `index % 3 == 0`.
fn bundle(dir: &std::path::Path, bench: &Benchmark, tok: &ModelTokenizer) -> std::path::PathBuf {
    let dataset = &bench.dataset;
    let header = crate::header(bench, to_hex(&[0x44; 32]), 16, 4);
    let path = dir.join("bundle.jsonl");
    let mut w = BundleWriter::create_or_resume(&path, header).unwrap();
    let proof = base64::engine::general_purpose::STANDARD.encode([0u8; 10]);
    for (i, entry) in dataset.items.iter().enumerate() {
        let right = i % 3 == 0;
        let text = if right {
            entry.answer.clone().unwrap()
        } else {
            "I do not know".to_string()
        };
        let tokens = tok.encode(&text).unwrap();
        w.append(Item {
            index: i as u64,
            input: entry.input.clone(),
            input_hash: to_hex(&leaf::input_hash(&entry.input)),
            output_tokens: tokens,
            output_text: text,
            score_wad: if right { WAD.to_string() } else { "0".into() },
            choice_logits: Vec::new(),
            score_sum_wad: String::new(),
            proofs: vec![proof.clone(), proof.clone()],
            leaf_hash: String::new(),
        })
        .unwrap();
    }
    w.finish().unwrap();
    path
}

#[test]
fn export_writes_one_sample_per_item_and_the_bundle_score() {
    let tok = tokenizer();
    let dir = tempfile::tempdir().unwrap();
    let bench = Benchmark::legacy(mini_benchmark());
    let path = bundle(dir.path(), &bench, &tok);
    let out = dir.path().join("export");
    let done = export(&path, &bench, &tok, &out).unwrap();
    let n = bench.dataset.items.len();
    let right = (0..n).filter(|i| i % 3 == 0).count();
    assert_eq!(done.n, n as u64);
    assert!(
        (done.mean - right as f64 / n as f64).abs() < 1e-12,
        "{}",
        done.mean
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&done.samples)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), n);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["doc_id"], i);
        assert_eq!(l["target"], bench.dataset.items[i].answer.clone().unwrap());
        assert_eq!(l["exact_match"], if i % 3 == 0 { 1.0 } else { 0.0 });
        // The prompt token ids are the task's prompt: what a cross-check recomputes from.
        let ids: Vec<u32> =
            serde_json::from_value(l["verbench"]["prompt_token_ids"].clone()).unwrap();
        assert_eq!(
            ids,
            tok.encode_chat_with_shots(None, &[], &bench.dataset.items[i].input)
                .unwrap()
        );
    }
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&done.results).unwrap()).unwrap();
    let metrics = &results["results"]["legacy"];
    assert_eq!(metrics["exact_match,word-run"], done.mean);
    assert!(metrics["exact_match_stderr,word-run"].as_f64().unwrap() > 0.0);
    assert_eq!(results["n-samples"]["legacy"]["original"], n);
}

#[test]
fn export_refuses_a_bundle_of_another_benchmark() {
    let tok = tokenizer();
    let dir = tempfile::tempdir().unwrap();
    let bench = Benchmark::legacy(mini_benchmark());
    let path = bundle(dir.path(), &bench, &tok);
    // The same documents but one fewer: another dataset root and size.
    let mut other = mini_benchmark();
    other.items.pop();
    let e = export(
        &path,
        &Benchmark::legacy(other),
        &tok,
        &dir.path().join("x"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("dataset"), "{e}");
    assert!(
        !dir.path().join("x").exists(),
        "nothing written for a refused bundle"
    );
}

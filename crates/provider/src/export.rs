//! Export of a bundle in lm-evaluation-harness's `--log_samples` layout (one JSON object per
//! sample) plus a results JSON with the score and its standard error (docs/manifest.md,
//! "Export"), so that a verbench result can be put beside a harness run.

use crate::{Error, Result};
use serde_json::{json, Value};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use verbench_bundle::{
    benchmark::Benchmark,
    manifest::sha256_hex,
    scorer::{gsm8k_flexible, gsm8k_strict, numbers_equal, ScorerId},
    BundleReader, WAD,
};
use verbench_inference::ModelTokenizer;
use verbench_merkle::to_hex;

/// What [`export`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Exported {
    /// `samples_<name>.jsonl`.
    pub samples: PathBuf,
    /// `results_<name>.json`.
    pub results: PathBuf,
    /// Items.
    pub n: u64,
    /// Mean of the headline metric.
    pub mean: f64,
    /// Its standard error.
    pub stderr: f64,
}

/// Writes `samples_<name>.jsonl` and `results_<name>.json` for the bundle at `bundle` under
/// `benchmark` into `out_dir`. `tokenizer` renders the prompt text (`arguments`). The bundle must
/// answer `benchmark` (its header's manifest hash, dataset root and leaf count).
pub fn export(
    bundle: &Path,
    benchmark: &Benchmark,
    tokenizer: &ModelTokenizer,
    out_dir: &Path,
) -> Result<Exported> {
    let name = benchmark
        .manifest
        .as_ref()
        .map_or_else(|| "legacy".to_string(), |m| m.name.clone());
    let mut reader = BundleReader::open(bundle)?;
    let header = reader.header().clone();
    // A bundle of another benchmark (manifest, dataset root or size) would pair its items with
    // the wrong documents: refuse it, naming the field, before writing anything.
    crate::run::check_benchmark(&header, benchmark)?;
    std::fs::create_dir_all(out_dir).map_err(|e| io(out_dir, e))?;
    let samples = out_dir.join(format!("samples_{name}.jsonl"));
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(&samples).map_err(|e| io(&samples, e))?);
    let shots = benchmark.prompt.shots();
    let system = benchmark.prompt.system.as_deref();
    let (metric, filter) = match benchmark.scorer.id {
        ScorerId::Gsm8k => ("exact_match", "flexible-extract"),
        ScorerId::MmluLetter => ("acc", "none"),
        ScorerId::WordRun => ("exact_match", "word-run"),
    };
    let mut strict_hits = 0u64;
    let choice_ids: Vec<u32> = if benchmark.scorer.id == ScorerId::MmluLetter {
        crate::run::choice_tokens(tokenizer)?.to_vec()
    } else {
        Vec::new()
    };
    while let Some((item, leaf_hash)) = reader.next_item()? {
        let doc = benchmark
            .dataset
            .items
            .get(item.index as usize)
            .ok_or_else(|| {
                Error::DatasetMismatch(format!("item {} not in the dataset", item.index))
            })?;
        let prompt = tokenizer
            .chat_prompt_with_shots(system, &shots, &doc.input)
            .map_err(Error::Inference)?;
        let prompt_ids = tokenizer
            .encode_chat_with_shots(system, &shots, &doc.input)
            .map_err(Error::Inference)?;
        let target = doc.answer.clone().unwrap_or_default();
        let score =
            verbench_bundle::leaf::parse_wad(&item.score_wad).unwrap_or(0) as f64 / WAD as f64;
        let (arguments, resps, filtered) = if benchmark.scorer.id == ScorerId::MmluLetter {
            let letters = ["A", "B", "C", "D"];
            let args: Vec<Value> = letters.iter().map(|l| json!([prompt, l])).collect();
            let resps: Vec<Value> = item
                .choice_logits
                .iter()
                .zip(letters)
                .map(|(logit, l)| json!([[logit, item.output_text == l]]))
                .collect();
            let filtered: Vec<Value> = item
                .choice_logits
                .iter()
                .zip(letters)
                .map(|(logit, l)| json!([logit, item.output_text == l]))
                .collect();
            (json!(args), json!(resps), json!(filtered))
        } else {
            let extracted = match benchmark.scorer.id {
                ScorerId::Gsm8k => {
                    gsm8k_flexible(&item.output_text).unwrap_or_else(|| "[invalid]".into())
                }
                _ => item.output_text.clone(),
            };
            if benchmark.scorer.id == ScorerId::Gsm8k
                && gsm8k_strict(&item.output_text).is_some_and(|s| numbers_equal(&s, &target))
            {
                strict_hits += 1;
            }
            (
                json!([[prompt, {"until": [], "max_gen_toks": header.generation.max_new_tokens, "do_sample": header.generation.temperature_milli != 0}]]),
                json!([[item.output_text]]),
                json!([extracted]),
            )
        };
        let doc_json = serde_json::to_string(doc).unwrap_or_default();
        let line = json!({
            "doc_id": item.index,
            "doc": doc,
            "target": target,
            "arguments": arguments,
            "resps": resps,
            "filtered_resps": filtered,
            "filter": filter,
            "metrics": [metric],
            metric: score,
            "doc_hash": sha256_hex(doc_json.as_bytes()),
            "prompt_hash": sha256_hex(prompt.as_bytes()),
            "target_hash": sha256_hex(target.as_bytes()),
            "verbench": {
                "leaf_hash": to_hex(&leaf_hash),
                "score_wad": item.score_wad,
                "score_sum_wad": item.score_sum_wad,
                "output_tokens": item.output_tokens,
                "prompt_token_ids": prompt_ids,
                "choice_token_ids": choice_ids,
                "proofs": item.proofs.len(),
            },
        });
        writeln!(out, "{line}").map_err(|e| io(&samples, e))?;
    }
    out.flush().map_err(|e| io(&samples, e))?;
    let summary = reader.finish()?;
    let n = summary.score.count;
    let mean = summary.score.mean_wad as f64 / WAD as f64;
    let stderr = summary.score.stderr_wad as f64 / WAD as f64;
    let mut metrics = json!({
        format!("{metric},{filter}"): mean,
        format!("{metric}_stderr,{filter}"): stderr,
        "alias": name,
    });
    if benchmark.scorer.id == ScorerId::Gsm8k && n > 1 {
        let p = strict_hits as f64 / n as f64;
        metrics[format!("{metric},strict-match")] = json!(p);
        metrics[format!("{metric}_stderr,strict-match")] =
            json!((p * (1.0 - p) / (n as f64 - 1.0)).sqrt());
    }
    let results = out_dir.join(format!("results_{name}.json"));
    let doc = json!({
        "results": { &name: metrics },
        "n-samples": { &name: { "original": n, "effective": n } },
        "config": {
            "model": header.model_hash,
            "manifest_hash": header.manifest_hash,
            "task_id": header.task_id,
            "generation": header.generation,
        },
        "verbench": {
            "root": to_hex(&summary.tree.root()),
            "leaf_count": n,
            "score_wad": summary.score.mean_wad.to_string(),
            "score_stderr_wad": summary.score.stderr_wad.to_string(),
            "claimable_wad": summary.claimable_wad.to_string(),
            "score_break": summary.score_break.map(|b| b.to_string()),
        },
    });
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
    std::fs::write(&results, text).map_err(|e| io(&results, e))?;
    Ok(Exported {
        samples,
        results,
        n,
        mean,
        stderr,
    })
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Bundle(verbench_bundle::Error::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

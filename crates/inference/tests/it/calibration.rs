//! Calibration on the real SmolLM2-135M: the measured logit-difference error bounds the token
//! check's gap at every token (the inequality the tail model rests on), trace files resume after
//! a torn line, and the committed calibration belongs to the fetched model.

use std::io::Write;

use verbench_inference::calibration::{
    candle_key, file_hash, fit, gemma3_greedy, read_traces, smollm2_greedy, trace_item,
    Calibration, SamplingMode, Targets, TraceFile, TraceHeader, FORMAT_VERSION,
};
use verbench_inference::{load, with_threads, ModelHash, Sampling, Validator, WeightFormat};
use verbench_toploc::{ProofParams, Thresholds};

use crate::real::model_path;

#[test]
fn token_error_bounds_every_gap_and_traces_resume() {
    let path = model_path();
    let dev = candle_core::Device::Cpu;
    let m = load(&path, WeightFormat::Quantized, &dev).unwrap();
    let params = ProofParams::paper_defaults();
    let validator = Validator::new(
        m.model.with_format(WeightFormat::DenseF32).unwrap(),
        params,
        Thresholds::paper_defaults(params.topk()),
        f32::INFINITY,
    );
    let prompt = m
        .tokenizer
        .encode_chat(None, "Explain why the sky is blue in two sentences.")
        .unwrap();
    let mut traces = Vec::new();
    for (k, sampling) in [Sampling::Greedy, Sampling::from_task(700, 11)]
        .into_iter()
        .enumerate()
    {
        let t = with_threads(2, || {
            trace_item(
                &m.model,
                &validator,
                format!("item{k}"),
                &prompt,
                64,
                sampling,
                params,
            )
        })
        .unwrap()
        .unwrap();
        assert_eq!(t.token_errors.len(), 64);
        assert_eq!(t.gaps.len(), 64);
        assert_eq!(t.chunks.len(), 1 + 2, "prefill + two decode chunks");
        assert!(t.chunks[0].prefill && !t.chunks[1].prefill);
        for (i, (&g, &e)) in t.gaps.iter().zip(&t.token_errors).enumerate() {
            assert!(e.is_finite(), "position {i}: error {e}");
            assert!(
                g <= e.max(0.0) + 1e-4,
                "position {i}: gap {g} exceeds the logit-difference error {e}"
            );
        }
        traces.push(t);
    }

    // A trace file continues after a run killed mid-line, and refuses another run's header.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.jsonl");
    let header = TraceHeader {
        version: FORMAT_VERSION,
        key: candle_key(&m.model, SamplingMode::Greedy, params),
        tokens: 64,
        prompts: "test".into(),
    };
    let mut tf = TraceFile::open_or_create(&file, &header).unwrap();
    tf.append(traces[0].clone()).unwrap();
    drop(tf);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap()
        .write_all(b"{\"item\":\"torn")
        .unwrap();
    let mut tf = TraceFile::open_or_create(&file, &header).unwrap();
    assert!(tf.has("item0") && !tf.has("item1"));
    tf.append(traces[1].clone()).unwrap();
    let (h, read) = read_traces(&file).unwrap();
    assert_eq!(h, header);
    assert_eq!(read, traces);
    let other = TraceHeader {
        tokens: 128,
        ..header.clone()
    };
    let err = TraceFile::open_or_create(&file, &other)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("t.jsonl") && err.contains("another run"),
        "{err}"
    );
}

#[test]
fn committed_calibration_is_for_the_fetched_model_and_round_trips() {
    let (cal, hash) = smollm2_greedy().unwrap();
    assert_eq!(
        cal.key.model_hash,
        ModelHash::of_files(&[model_path()]).unwrap()
    );
    assert_eq!(cal.key.sampling, SamplingMode::Greedy);
    assert_eq!(cal.hash().unwrap(), hash);
    assert!(cal.targets.token_fp_per_item <= 1e-4 && cal.targets.chunk_fp <= 1e-6);
    // Limits are never below what calibration itself saw.
    assert!(f64::from(cal.limits.token_margin_milli) / 1000.0 >= cal.token_error.max_observed);
    assert!(
        f64::from(cal.limits.max_mant_err_mean_milli) / 1000.0 >= cal.mant_err_mean.max_observed
    );
    // The file round-trips byte for byte.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.json");
    assert_eq!(cal.write(&p).unwrap(), hash);
    let (again, h2) = Calibration::read(&p).unwrap();
    assert_eq!((again, h2), (cal, hash));
}

/// Gemma 3 270M's committed calibration: for the fetched Gemma file, greedy, and at the targets it
/// states (the per-chunk target is 1e-4, not the default 1e-6: at 1e-6 the fit refuses, the
/// exponent-mismatch limit exceeding top-k; docs/calibration.md).
#[test]
fn committed_gemma3_calibration_is_for_the_fetched_model_at_its_stated_targets() {
    let (cal, hash) = gemma3_greedy().unwrap();
    assert_eq!(
        cal.key.model_hash,
        ModelHash::of_files(&[crate::gemma3::model_path()]).unwrap()
    );
    assert_eq!(cal.key.sampling, SamplingMode::Greedy);
    assert_eq!(cal.hash().unwrap(), hash);
    assert_eq!(
        (cal.targets.token_fp_per_item, cal.targets.item_tokens),
        (1e-4, 1024)
    );
    assert_eq!(cal.targets.chunk_fp, 1e-4);
    assert_eq!(
        cal.max_item_tokens,
        Some(512),
        "fitted on 512-token items only"
    );
    assert!(f64::from(cal.limits.token_margin_milli) / 1000.0 >= cal.token_error.max_observed);
    assert!(
        f64::from(cal.limits.max_mant_err_mean_milli) / 1000.0 >= cal.mant_err_mean.max_observed
    );
    assert!(cal.limits.min_exp_matches > 0 && cal.limits.min_exp_matches < cal.key.topk);
    // Another model's calibration is refused by name.
    let err = cal
        .check_for(
            std::path::Path::new("gemma.json"),
            smollm2_greedy().unwrap().0.key.model_hash,
            SamplingMode::Greedy,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("gemma.json") && err.contains("model"), "{err}");
}

/// The committed SmolLM2 calibration is what `verbench-calibrate fit` makes of the committed
/// calibration traces, byte for byte: the bootstrap's draws are seeded, and the limits carry a
/// fit confidence (every limit at least the 95% bootstrap quantile).
#[test]
fn committed_calibration_refits_from_the_committed_traces() {
    let (cal, _) = smollm2_greedy().unwrap();
    assert_eq!(cal.targets.fit_confidence, Some(0.95));
    let gz = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/calibration/smollm2.greedy.cal.traces.jsonl.gz"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smollm2.greedy.cal.traces.jsonl");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(gz).unwrap()),
        &mut plain,
    )
    .unwrap();
    std::fs::write(&path, plain).unwrap();
    let hash = file_hash(&path).unwrap();
    assert_eq!(cal.data.trace_hashes, vec![hash]);
    let (header, traces) = read_traces(&path).unwrap();
    let refit = fit(
        &header,
        &traces,
        vec![hash],
        cal.targets,
        cal.command.clone(),
    )
    .unwrap();
    assert_eq!(refit, cal);
    for f in [&cal.token_error, &cal.exp_mismatches, &cal.mant_err_mean] {
        let upper = f.upper.as_ref().unwrap();
        assert!(f.limit >= upper.limit && upper.replicates >= 180, "{f:?}");
    }
    // The gzipped file itself is refused with what to do, not misread.
    let err = read_traces(std::path::Path::new(gz))
        .unwrap_err()
        .to_string();
    assert!(err.contains("gunzip"), "{err}");
}

#[test]
fn fit_refuses_too_little_data() {
    let header = TraceHeader {
        version: FORMAT_VERSION,
        key: smollm2_greedy().unwrap().0.key,
        tokens: 4,
        prompts: "none".into(),
    };
    let err = fit(&header, &[], vec![], Targets::default(), String::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("samples"), "{err}");
}

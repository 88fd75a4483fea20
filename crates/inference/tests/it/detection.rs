//! The detection matrix on a fixed subset (the first 20 committed prompts: 10 calibrate, 10
//! evaluate), every must-case, on the real model. The full matrix is the `detection-report`
//! binary.

use candle_core::Device;
use verbench_inference::detection::{run_matrix, MatrixConfig, PROMPTS};
use verbench_inference::{load, WeightFormat};

#[test]
fn detection_matrix_ci_subset() {
    let path = super::real::model_path();
    let m = load(&path, WeightFormat::Quantized, &Device::Cpu).unwrap();
    let cfg = MatrixConfig {
        prompts: PROMPTS.lines().take(20).map(String::from).collect(),
        max_new_tokens: 64,
        boundary: false,
        // Seeded sampling as the protocol's tasks run it (T = 0.7 here, top-p 1): honest sampled
        // records must pass the same limits.
        long_honest_tokens: 64,
        long_top_p: vec![1.0],
        long_seed_offset: 0,
        honest_only: false,
        batch: 4,
    };
    let report = run_matrix(&m.model, &m.tokenizer, &cfg).unwrap();
    let table = report.to_markdown();
    eprintln!("{table}");
    // Every row's expectation lives in `detection::CASES` (docs/detection.md explains each):
    // honest rows pass, separable cheats fail on every item, partly separable ones on at least
    // their measured share, and the int8 KV cache and the boundary rows are report-only.
    let missed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| !c.ok())
        .map(|c| {
            format!(
                "{} (must {}, {}/{} pass both)",
                c.name,
                c.expect.label(),
                c.passes().2,
                c.items.len()
            )
        })
        .collect();
    assert!(missed.is_empty(), "missed: {missed:#?}\n{table}");
}

//! The detection matrix on a fixed subset (the first 20 committed prompts: 10 calibrate, 10
//! evaluate), every must-case, on the real model, judged at the committed SmolLM2 greedy
//! calibration's limits (what a task carries), not at the matrix's own rule. The full matrix is
//! the `detection-report` binary (`--calibration` for the same judging).

use candle_core::Device;
use verbench_inference::detection::{run_matrix, MatrixConfig, PROMPTS};
use verbench_inference::{load, WeightFormat};

#[test]
fn detection_matrix_ci_subset() {
    let path = super::real::model_path();
    let m = load(&path, WeightFormat::Quantized, &Device::Cpu).unwrap();
    // The limits a 64-token greedy task carries (verbench_provider::task::toploc_params).
    let (cal, _) = verbench_inference::calibration::smollm2_greedy().unwrap();
    let limits = (
        cal.limits.thresholds(),
        cal.token_margin_milli_for(64) as f32 / 1000.0,
    );
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
        limits: Some(limits),
    };
    let report = run_matrix(&m.model, &m.tokenizer, &cfg).unwrap();
    let table = report.to_markdown();
    eprintln!("{table}");
    // Every row's expectation at calibrated limits is `CaseSpec::expect_at(true)` (docs/detection.md,
    // "At the calibrated limits"): honest rows pass, separable cheats fail on every item, and the
    // near-honest ones (another system prompt, first sentence dropped, KV-cache precision) are
    // report-only.
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

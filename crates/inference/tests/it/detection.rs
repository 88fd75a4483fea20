//! The detection matrix on a fixed subset (the first 20 committed prompts: 10 calibrate, 10
//! evaluate), every must-case, on the real model. The full matrix is the `detection-report`
//! binary.

use candle_core::Device;
use verbench_inference::detection::{run_matrix, Expect, MatrixConfig, PROMPTS};
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
    for c in &report.cases {
        let (_, _, both) = c.passes();
        match c.expect {
            Expect::Pass => assert_eq!(
                both,
                c.items.len(),
                "false positive in {:?}\n{table}",
                c.name
            ),
            // Documented in docs/detection.md: int8 KV-cache noise is below the honest noise
            // floor (never separable), and a cheat under another system prompt sometimes emits
            // tokens the committed model would emit too (then the tokens are honest-looking and
            // only the hidden states, which the cheap cheat recomputes, could differ).
            // Measured (docs/detection.md): int8 per token and head, 0/10 detected: below the
            // honest noise floor, so no detection is claimed or asserted; the figures are printed.
            Expect::Fail if c.name.contains("KV cache int8") => {
                eprintln!(
                    "KV cache int8: {both}/{} items pass both checks (documented as not separable)",
                    c.items.len()
                )
            }
            // Measured: fp8 e4m3 without scale, 3/10 detected. Assert that it stays visible.
            Expect::Fail if c.name.contains("KV cache fp8") => assert!(
                both < c.items.len(),
                "fp8 KV cache no longer detected on any item in {:?}\n{table}",
                c.name
            ),
            Expect::Fail if c.name.starts_with("cheap generation: other-system-prompt") => {
                assert!(
                    both <= c.items.len() / 5,
                    "detection rate fell below 80% in {:?}\n{table}",
                    c.name
                )
            }
            Expect::Fail => assert_eq!(both, 0, "false negative in {:?}\n{table}", c.name),
            Expect::Report => {}
        }
    }
}

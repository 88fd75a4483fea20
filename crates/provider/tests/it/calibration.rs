//! `register-task`'s calibration input: the committed file gives the task's limits and hash; a
//! file for another model or sampling mode, an edited file or a missing one is a clear error
//! naming the file, never a task registered under the wrong limits.

use std::path::{Path, PathBuf};
use verbench_inference::calibration::{smollm2_greedy, SMOLLM2_GREEDY_FILE};
use verbench_inference::ModelHash;
use verbench_provider::task::task_limits;

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(SMOLLM2_GREEDY_FILE)
}

#[test]
fn the_committed_calibration_gives_the_task_its_limits_and_hash() {
    let (cal, hash) = smollm2_greedy().unwrap();
    let (toploc, h) = task_limits(&committed(), cal.key.model_hash, 0, 1024).unwrap();
    assert_eq!(h.0, hash.0);
    assert_eq!(toploc.tokenMarginMilli, cal.limits.token_margin_milli);
    assert_eq!(
        toploc.maxMantErrMeanMilli,
        cal.limits.max_mant_err_mean_milli
    );
    assert_eq!(
        toploc.maxMantErrMedianMilli,
        cal.limits.max_mant_err_median_milli
    );
    assert_eq!(toploc.minExpMatches, cal.limits.min_exp_matches);
    assert_eq!(toploc.topk, 128);
    assert_eq!(toploc.decodeBatchingSize, 32);
    assert!(toploc.tokenMarginMilli > 0);
    // The per-item target over fewer tokens allows a tighter margin, never a looser one.
    let (one, _) = task_limits(&committed(), cal.key.model_hash, 0, 1).unwrap();
    assert!(one.tokenMarginMilli <= toploc.tokenMarginMilli);
    assert!(f64::from(one.tokenMarginMilli) / 1000.0 >= cal.token_error.largest[2]);
}

#[test]
fn a_calibration_for_another_model_or_mode_is_refused_naming_the_file() {
    let (cal, _) = smollm2_greedy().unwrap();
    let path = committed();
    let err = task_limits(&path, ModelHash([7; 32]), 0, 32)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("smollm2-135m-instruct.q4_1.greedy.json"),
        "{err}"
    );
    assert!(err.contains("model"), "{err}");
    let err = task_limits(&path, cal.key.model_hash, 700, 32)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sampling mode"), "{err}");
}

#[test]
fn an_edited_or_missing_calibration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cal, _) = smollm2_greedy().unwrap();
    let text = std::fs::read_to_string(committed()).unwrap();
    // Loosen the margin by hand: the file no longer is its own canonical writing.
    let edited = dir.path().join("edited.json");
    let m = format!("\"token_margin_milli\": {}", cal.limits.token_margin_milli);
    assert!(text.contains(&m));
    std::fs::write(&edited, text.replace(&m, "\"token_margin_milli\":  99999")).unwrap();
    let err = task_limits(&edited, cal.key.model_hash, 0, 32)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("edited.json") && err.contains("canonical"),
        "{err}"
    );
    let missing = dir.path().join("missing.json");
    let err = task_limits(&missing, cal.key.model_hash, 0, 32)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.json"), "{err}");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"version\": 1}").unwrap();
    let err = task_limits(&garbage, cal.key.model_hash, 0, 32)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("garbage.json") && err.contains("not a calibration file"),
        "{err}"
    );
}

/// Gemma 3's calibration judges items of at most 512 output tokens (its honest noise grows past
/// the positions it was fitted on: docs/calibration.md): a longer task is refused, naming the file.
#[test]
fn a_task_longer_than_its_calibration_judges_is_refused() {
    use verbench_inference::calibration::{gemma3_greedy, GEMMA3_GREEDY_FILE};
    let (cal, hash) = gemma3_greedy().unwrap();
    assert_eq!(cal.max_item_tokens, Some(512));
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(GEMMA3_GREEDY_FILE);
    let (_, h) = task_limits(&path, cal.key.model_hash, 0, 512).unwrap();
    assert_eq!(h.0, hash.0);
    let err = task_limits(&path, cal.key.model_hash, 0, 513)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("gemma-3-270m.q4_k_m.greedy.json")
            && err.contains("at most 512 output tokens")
            && err.contains("not 513"),
        "{err}"
    );
    // SmolLM2's judges any length: its held-out check covered 1,024-token items.
    assert_eq!(smollm2_greedy().unwrap().0.max_item_tokens, None);
}

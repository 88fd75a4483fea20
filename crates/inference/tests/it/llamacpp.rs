//! The llama.cpp engine (feature `llamacpp`; `tools/build-llamacpp.sh --test` runs these) on the
//! real SmolLM2 file: its records are judged by the candle dense validator at the committed
//! calibration, as the bots judge every bundle.

use std::sync::OnceLock;

use verbench_inference::calibration::smollm2_greedy;
use verbench_inference::detection::OTHER_SYSTEM;
use verbench_inference::llamacpp::LlamaCpp;
use verbench_inference::{
    load, Error, GenerateOptions, LoadedModel, Sampling, Validator, WeightFormat,
};
use verbench_toploc::ProofParams;

fn candle() -> &'static LoadedModel {
    static M: OnceLock<LoadedModel> = OnceLock::new();
    M.get_or_init(|| {
        load(
            crate::real::model_path(),
            WeightFormat::Quantized,
            &candle_core::Device::Cpu,
        )
        .unwrap()
    })
}

fn engine() -> LlamaCpp {
    LlamaCpp::load(crate::real::model_path(), 2).unwrap()
}

fn validator() -> Validator {
    let (cal, _) = smollm2_greedy().unwrap();
    Validator::new(
        candle().model.with_format(WeightFormat::DenseF32).unwrap(),
        ProofParams::paper_defaults(),
        cal.limits.thresholds(),
        cal.limits.token_margin(),
    )
}

fn prompt(system: Option<&str>) -> Vec<u32> {
    candle()
        .tokenizer
        .encode_chat(system, "Explain in two sentences why the sky is blue.")
        .unwrap()
}

#[test]
fn greedy_and_seeded_records_pass_the_candle_validator() {
    let e = engine();
    assert_eq!(e.hash(), candle().model.hash(), "one file, one identity");
    let v = validator();
    let mut s = e.session(true).unwrap();
    let greedy = s
        .generate(&prompt(None), &GenerateOptions::greedy(64))
        .unwrap();
    assert_eq!(greedy.output.len(), 64);
    assert_eq!(greedy.proofs.len(), 1 + 2, "prefill + two chunks of 32");
    let o = v.validate(&greedy).unwrap();
    assert!(o.passed(), "{o:?}");

    let seeded = GenerateOptions {
        sampling: Sampling::from_task(1000, 7),
        ..GenerateOptions::greedy(64)
    };
    let a = s.generate(&prompt(None), &seeded).unwrap();
    let b = s.generate(&prompt(None), &seeded).unwrap();
    assert_eq!(a.output, b.output, "seeded sampling is reproducible");
    assert_ne!(a.output, greedy.output, "temperature 1 samples");
    let o = v.validate(&a).unwrap();
    assert!(o.passed(), "{o:?}");
}

#[test]
fn a_prompt_longer_than_one_llamacpp_micro_batch_is_proven_whole() {
    // llama.cpp splits a batch into micro-batches of 512 positions: the prefill proof must still
    // cover every prompt position, in order.
    let long = "Count the words in this sentence, then explain how you counted them. ".repeat(45);
    let prompt = candle().tokenizer.encode_chat(None, &long).unwrap();
    assert!(prompt.len() > 600, "{} tokens", prompt.len());
    let record = engine()
        .session(true)
        .unwrap()
        .generate(&prompt, &GenerateOptions::greedy(40))
        .unwrap();
    let o = validator().validate(&record).unwrap();
    assert!(o.passed(), "{o:?}");
}

#[test]
fn hidden_states_do_not_change_the_greedy_tokens() {
    let e = engine();
    let plain = GenerateOptions {
        proofs: None,
        ..GenerateOptions::greedy(48)
    };
    let a = e
        .session(false)
        .unwrap()
        .generate(&prompt(None), &plain)
        .unwrap();
    let b = e
        .session(true)
        .unwrap()
        .generate(&prompt(None), &GenerateOptions::greedy(48))
        .unwrap();
    assert_eq!(a.output, b.output);
    assert!(a.proofs.is_empty());
}

#[test]
fn another_system_prompt_run_on_llamacpp_is_caught() {
    let e = engine();
    let mut s = e.session(true).unwrap();
    let claimed = prompt(None);
    let other = s
        .generate(&prompt(Some(OTHER_SYSTEM)), &GenerateOptions::greedy(64))
        .unwrap();
    let cheat = verbench_inference::Record {
        prompt: claimed.clone(),
        ..other.clone()
    };
    let o = validator().validate(&cheat).unwrap();
    assert!(!o.passed(), "generated under another system prompt: {o:?}");

    // The cheap variant re-proves those tokens with one honest prefill over the claimed prompt:
    // its proofs pass, and only the token check can see it (report-only at the calibrated
    // margin, docs/detection.md); here the proofs must at least be the honest ones.
    let proofs = s
        .prove_by_prefill(&claimed, &other.output, ProofParams::paper_defaults())
        .unwrap();
    let cheap = verbench_inference::Record {
        prompt: claimed,
        proofs,
        ..other
    };
    assert!(validator().validate(&cheap).unwrap().toploc_passed());
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let e = engine();
    let mut s = e.session(true).unwrap();
    let opts = GenerateOptions::greedy(8);
    assert!(matches!(s.generate(&[], &opts), Err(Error::EmptyPrompt)));
    assert!(matches!(
        s.generate(&[1, u32::MAX], &opts),
        Err(Error::TokenOutOfRange { .. })
    ));
    assert!(matches!(
        s.generate(&[1; 9000], &opts),
        Err(Error::ContextOverflow { .. })
    ));
    let mut plain = e.session(false).unwrap();
    assert!(matches!(
        plain.generate(&prompt(None), &opts),
        Err(Error::InvalidParams(_))
    ));
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.gguf");
    std::fs::write(&junk, b"not a gguf").unwrap();
    let err = LlamaCpp::load(&junk, 1).unwrap_err().to_string();
    assert!(err.contains("junk.gguf"), "{err}");
}

//! `--engine llamacpp` (the default build's `llamacpp` feature): a bundle generated on llama.cpp
//! names its engine, and every item passes the bots' validator (candle, dense, one prefill) at the
//! committed calibration; a bundle is never resumed on the other engine.

use std::sync::Arc;

use verbench_bundle::{benchmark::Benchmark, dataset::mini_benchmark, BundleReader};
use verbench_inference::calibration::smollm2_greedy;
use verbench_inference::llamacpp::LlamaCpp;
use verbench_inference::{load, Record, Sampling, Validator, WeightFormat};
use verbench_provider::run::{generate_bundle, Engine, RunOptions, LLAMACPP};
use verbench_toploc::ProofParams;

#[test]
fn a_bundle_generated_on_llamacpp_names_its_engine_and_passes_the_validator() {
    let path = verbench_inference::smollm2_path();
    assert!(
        path.exists(),
        "{} missing: run tools/fetch-models.sh",
        path.display()
    );
    let model = load(&path, WeightFormat::Quantized, &candle_core::Device::Cpu).unwrap();
    let bench = Benchmark::legacy(mini_benchmark());
    let header = crate::header(&bench, model.model.hash().to_hex(), 40, 128);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.jsonl");
    let engine = Arc::new(LlamaCpp::load(&path, 2).unwrap());
    let opts = RunOptions {
        sampling: Sampling::Greedy,
        progress: false,
        cheat: None,
        engine: Engine::LlamaCpp(engine),
    };
    generate_bundle(&header, &bench, &model, &bundle, &opts).unwrap();

    let (cal, _) = smollm2_greedy().unwrap();
    let validator = Validator::new(
        model.model.with_format(WeightFormat::DenseF32).unwrap(),
        ProofParams::paper_defaults(),
        cal.limits.thresholds(),
        cal.limits.token_margin(),
    );
    let mut reader = BundleReader::open(&bundle).unwrap();
    assert_eq!(reader.header().engine.as_deref(), Some(LLAMACPP));
    let mut items = 0;
    while let Some((item, _)) = reader.next_item().unwrap() {
        let prompt = model
            .tokenizer
            .encode_chat_with_shots(None, &[], &item.input)
            .unwrap();
        let record = Record {
            model_hash: model.model.hash(),
            weight_format: WeightFormat::Quantized,
            sampling: Sampling::Greedy,
            topk: 128,
            decode_batching_size: 32,
            prompt,
            output: item.output_tokens.clone(),
            proofs: item.proofs.clone(),
        };
        let outcome = validator.validate(&record).unwrap();
        assert!(outcome.passed(), "item {}: {outcome:?}", item.index);
        items += 1;
    }
    assert_eq!(items, bench.dataset.items.len());

    // The same bundle path on the candle engine: another run, refused by name.
    let candle = RunOptions {
        engine: Engine::Candle,
        ..opts
    };
    let err = generate_bundle(&header, &bench, &model, &bundle, &candle)
        .unwrap_err()
        .to_string();
    assert!(err.contains("engine differs"), "{err}");
}

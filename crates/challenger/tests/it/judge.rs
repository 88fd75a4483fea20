//! The judge on SmolLM2-135M: an honest item passes; each kind of tampering is named.

use verbench_bundle::manifest::{Exemplar, PromptFormat};
use verbench_bundle::scorer::ScorerRef;
use verbench_bundle::{dataset, leaf, GenerationParams, Header, Item, ToplocParams, FORMAT};
use verbench_challenger::judge::{self, Expected, InvalidReason, Judgement};
use verbench_inference::{
    generate, load, GenerateOptions, KvCacheMode, ModelTokenizer, Sampling, Validator, WeightFormat,
};
use verbench_toploc::{ProofParams, Thresholds};

const INPUT: &str = "What is the capital of France? Answer with one word.";

fn setup() -> (Validator, ModelTokenizer, Header, Item) {
    let path = verbench_inference::smollm2_path();
    assert!(
        path.exists(),
        "{} missing: run tools/fetch-models.sh (this test fails rather than skips without it)",
        path.display()
    );
    let q = load(&path, WeightFormat::Quantized, &candle_core::Device::Cpu).unwrap();
    let tok = q.tokenizer.clone();
    let prompt = judge::prompt_tokens(&tok, &PromptFormat::default(), INPUT).unwrap();
    let params = ProofParams::paper_defaults();
    let record = generate(
        &q.model,
        &prompt,
        &GenerateOptions {
            max_new_tokens: 6,
            sampling: Sampling::Greedy,
            stop_token: tok.eos(),
            kv_cache: KvCacheMode::Full,
            proofs: Some(params),
        },
    )
    .unwrap();
    let dense = q.model.with_format(WeightFormat::DenseF32).unwrap();
    let validator = Validator::new(
        dense,
        params,
        Thresholds::paper_defaults(params.topk()),
        1.0,
    );
    let header = Header {
        format: FORMAT.into(),
        chain_id: 31337,
        game: format!("0x{}", "11".repeat(20)),
        task_id: format!("0x{}", "22".repeat(32)),
        provider: format!("0x{}", "33".repeat(20)),
        model_hash: format!("0x{}", hex::encode(record.model_hash.0)),
        manifest_hash: format!("0x{}", "00".repeat(32)),
        dataset_root: format!("0x{}", "44".repeat(32)),
        leaf_count: 1,
        generation: GenerationParams {
            max_new_tokens: 6,
            temperature_milli: 0,
            seed: 0,
        },
        toploc: ToplocParams {
            topk: params.topk() as u32,
            decode_batching_size: params.decode_batching_size() as u32,
        },
        engine: None,
    };
    let text = tok.decode(&record.output).unwrap();
    let score = dataset::score(Some("Paris"), &text).to_string();
    let mut item = Item {
        index: 0,
        input: INPUT.into(),
        input_hash: verbench_merkle::to_hex(&leaf::input_hash(INPUT)),
        output_tokens: record.output.clone(),
        output_text: text.clone(),
        score_wad: score.clone(),
        // Item 0: its running sum is its own score.
        choice_logits: Vec::new(),
        score_sum_wad: score,
        proofs: record.proofs.clone(),
        leaf_hash: String::new(),
    };
    item.leaf_hash = verbench_merkle::to_hex(&leaf::leaf_of(&header, &item).unwrap().hash());
    (validator, tok, header, item)
}

static DEFAULT_PROMPT: std::sync::LazyLock<PromptFormat> =
    std::sync::LazyLock::new(PromptFormat::default);

fn expected() -> Expected<'static> {
    Expected {
        input: INPUT,
        answer: Some("Paris"),
        prompt: &DEFAULT_PROMPT,
        scorer: ScorerRef::WORD_RUN,
    }
}

#[test]
fn honest_item_passes_and_tampering_is_named() {
    let (v, tok, header, item) = setup();
    let j = |h: &Header, i: &Item, e: Expected<'_>| judge::judge(&v, &tok, h, i, e).unwrap();
    assert_eq!(j(&header, &item, expected()), Judgement::Valid);

    // The manifest's prompt has a few-shot exemplar the provider left out: the prefill proof
    // covers another prompt.
    let shots = PromptFormat {
        few_shot: vec![Exemplar {
            user: "What is the capital of Italy? Answer with one word.".into(),
            assistant: "Rome".into(),
        }],
        ..PromptFormat::default()
    };
    let r = j(
        &header,
        &item,
        Expected {
            prompt: &shots,
            ..expected()
        },
    );
    assert!(
        matches!(
            r,
            Judgement::Invalid {
                reason: InvalidReason::Toploc { chunk: 0, .. } | InvalidReason::Token { .. }
            }
        ),
        "{r:?}"
    );

    // Another dataset input at this index.
    let other = Expected {
        input: "What is 2 + 2?",
        answer: Some("4"),
        ..expected()
    };
    assert!(matches!(
        j(&header, &item, other),
        Judgement::Invalid {
            reason: InvalidReason::InputMismatch { index: 0 }
        }
    ));

    // A claimed score the output does not earn.
    let mut bad = item.clone();
    let claimed: u128 = item.score_wad.parse().unwrap();
    bad.score_wad = if claimed == 0 {
        verbench_bundle::WAD
    } else {
        0
    }
    .to_string();
    assert!(matches!(
        j(&header, &bad, expected()),
        Judgement::Invalid {
            reason: InvalidReason::ScoreMismatch { .. }
        }
    ));
    // The same output under another answer key: the committed score is not what it earns.
    let other_key = Expected {
        answer: Some("Lyon"),
        ..expected()
    };
    let claimed: u128 = item.score_wad.parse().unwrap();
    if claimed == verbench_bundle::WAD {
        assert!(matches!(
            j(&header, &item, other_key),
            Judgement::Invalid {
                reason: InvalidReason::ScoreMismatch { .. }
            }
        ));
    }

    // Another model.
    let mut h = header.clone();
    h.model_hash = format!("0x{}", "55".repeat(32));
    assert!(matches!(
        j(&h, &item, expected()),
        Judgement::Invalid {
            reason: InvalidReason::WrongModel { .. }
        }
    ));

    // A swapped output token (proofs kept): TOPLOC or the token check fails.
    let mut bad = item.clone();
    let last = bad.output_tokens.len() - 1;
    let pos = if last > 0 { 0 } else { last };
    bad.output_tokens[pos] = bad.output_tokens[pos].wrapping_add(17) % 40_000;
    let r = j(&header, &bad, expected());
    assert!(
        matches!(
            r,
            Judgement::Invalid {
                reason: InvalidReason::Toploc { .. }
                    | InvalidReason::Token { .. }
                    | InvalidReason::BadStop(_)
            }
        ),
        "{r:?}"
    );

    // Proofs that are not base64, or too few of them.
    let mut bad = item.clone();
    bad.proofs[0] = "%%%".into();
    assert!(matches!(
        j(&header, &bad, expected()),
        Judgement::Invalid {
            reason: InvalidReason::Malformed(_)
        }
    ));
    let mut bad = item.clone();
    bad.proofs.pop();
    assert!(matches!(
        j(&header, &bad, expected()),
        Judgement::Invalid {
            reason: InvalidReason::Malformed(_)
        }
    ));
}

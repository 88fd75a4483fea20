//! Fast tests on a tiny randomly initialized llama written to a GGUF file (and a safetensors
//! directory) by the test itself.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use verbench_inference::{
    generate, load, Error, GenerateOptions, LoadedModel, Record, Rejection, Sampling, Validator,
    WeightFormat,
};
use verbench_toploc::{ProofParams, Thresholds};

const HIDDEN: usize = 64;
const FFN: usize = 128;
const LAYERS: usize = 2;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const CONTEXT: usize = 256;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("verbench-inference-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Deterministic pseudo-random weights.
fn rand_tensor(shape: (usize, usize), std: f32, seed: u64) -> Tensor {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let v: Vec<f32> = (0..shape.0 * shape.1)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0 * std * 1.7
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

fn vocab() -> Vec<String> {
    let mut chars: Vec<char> = tokenizers::pre_tokenizers::byte_level::ByteLevel::alphabet()
        .into_iter()
        .collect();
    chars.sort();
    let mut v: Vec<String> = chars.into_iter().map(String::from).collect();
    v.push("<|im_start|>".into());
    v.push("<|im_end|>".into());
    v
}

/// The tiny model's dense weights under GGUF names.
fn weights() -> Vec<(String, Tensor)> {
    let n_vocab = vocab().len();
    let kv = KV_HEADS * HIDDEN / HEADS;
    let mut w = vec![
        (
            "token_embd.weight".to_string(),
            rand_tensor((n_vocab, HIDDEN), 1.0, 1),
        ),
        (
            "output_norm.weight".to_string(),
            rand_tensor((1, HIDDEN), 0.1, 2).affine(1.0, 1.0).unwrap(),
        ),
    ];
    for l in 0..LAYERS {
        let s = 100 * (l as u64 + 1);
        for (i, (n, shape)) in [
            ("attn_q", (HIDDEN, HIDDEN)),
            ("attn_k", (kv, HIDDEN)),
            ("attn_v", (kv, HIDDEN)),
            ("attn_output", (HIDDEN, HIDDEN)),
            ("ffn_gate", (FFN, HIDDEN)),
            ("ffn_up", (FFN, HIDDEN)),
            ("ffn_down", (HIDDEN, FFN)),
        ]
        .into_iter()
        .enumerate()
        {
            w.push((
                format!("blk.{l}.{n}.weight"),
                rand_tensor(shape, 0.15, s + i as u64),
            ));
        }
        for (i, n) in ["attn_norm", "ffn_norm"].into_iter().enumerate() {
            w.push((
                format!("blk.{l}.{n}.weight"),
                rand_tensor((1, HIDDEN), 0.1, s + 50 + i as u64)
                    .affine(1.0, 1.0)
                    .unwrap(),
            ));
        }
    }
    w
}

fn write_gguf(path: &Path, arch: &str) {
    use gguf_file::Value;
    let tokens = vocab();
    let n = tokens.len();
    let types: Vec<Value> = (0..n)
        .map(|i| Value::I32(if i >= n - 2 { 3 } else { 1 }))
        .collect();
    let md: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String(arch.into())),
        ("llama.attention.head_count", Value::U32(HEADS as u32)),
        ("llama.attention.head_count_kv", Value::U32(KV_HEADS as u32)),
        ("llama.block_count", Value::U32(LAYERS as u32)),
        ("llama.embedding_length", Value::U32(HIDDEN as u32)),
        ("llama.feed_forward_length", Value::U32(FFN as u32)),
        (
            "llama.rope.dimension_count",
            Value::U32((HIDDEN / HEADS) as u32),
        ),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("llama.rope.freq_base", Value::F32(10000.0)),
        ("llama.context_length", Value::U32(CONTEXT as u32)),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        (
            "tokenizer.ggml.tokens",
            Value::Array(tokens.into_iter().map(Value::String).collect()),
        ),
        ("tokenizer.ggml.token_type", Value::Array(types)),
        ("tokenizer.ggml.eos_token_id", Value::U32((n - 1) as u32)),
    ];
    let qs: Vec<(String, QTensor)> = weights()
        .into_iter()
        .map(|(name, t)| {
            let q = if name.contains("norm") {
                QTensor::quantize(&t.squeeze(0).unwrap(), GgmlDType::F32)
            } else {
                QTensor::quantize(&t, GgmlDType::Q8_0)
            };
            (name, q.unwrap())
        })
        .collect();
    let mut f = std::fs::File::create(path).unwrap();
    let md_refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (*k, v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = qs.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut f, &md_refs, &t_refs).unwrap();
}

fn tiny_gguf() -> PathBuf {
    let p = tmp("gguf").join("tiny.gguf");
    if !p.exists() {
        write_gguf(&p, "llama");
    }
    p
}

fn tiny(format: WeightFormat) -> LoadedModel {
    load(tiny_gguf(), format, &Device::Cpu).unwrap()
}

fn validator() -> Validator {
    let m = tiny(WeightFormat::DenseF32);
    Validator::new(
        m.model,
        ProofParams::new(32, 8).unwrap(),
        Thresholds::paper_defaults(32),
        0.05,
    )
}

fn opts(n: usize) -> GenerateOptions {
    GenerateOptions {
        proofs: Some(ProofParams::new(32, 8).unwrap()),
        ..GenerateOptions::greedy(n)
    }
}

fn honest(n: usize) -> (LoadedModel, Record) {
    let m = tiny(WeightFormat::Quantized);
    let prompt = m.tokenizer.encode_chat(Some("sys"), "hello there").unwrap();
    let r = generate(&m.model, &prompt, &opts(n)).unwrap();
    (m, r)
}

#[test]
fn honest_greedy_record_passes_dense_validation() {
    let (_, r) = honest(30);
    assert_eq!(r.output.len(), 30);
    assert_eq!(r.proofs.len(), 1 + 4);
    let v = validator();
    let o = v.validate(&r).unwrap();
    assert!(o.passed(), "{:?} {:?}", o.rejection(), o.toploc);
    // Record survives JSON.
    let back: Record = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

#[test]
fn seeded_sampling_replays_and_wrong_seed_fails() {
    let m = tiny(WeightFormat::Quantized);
    let prompt = m.tokenizer.encode_chat(None, "sample me").unwrap();
    let s = Sampling::Seeded {
        seed: 42,
        temperature: 8.0,
        top_p: 0.98,
    };
    let r = generate(
        &m.model,
        &prompt,
        &GenerateOptions {
            sampling: s,
            ..opts(24)
        },
    )
    .unwrap();
    let again = generate(
        &m.model,
        &prompt,
        &GenerateOptions {
            sampling: s,
            ..opts(24)
        },
    )
    .unwrap();
    assert_eq!(r, again, "reproducible from the seed");
    let v = validator();
    assert!(v.validate(&r).unwrap().passed());
    let mut wrong = r.clone();
    wrong.sampling = Sampling::Seeded {
        seed: 43,
        temperature: 8.0,
        top_p: 0.98,
    };
    let o = v.validate(&wrong).unwrap();
    assert!(
        o.toploc_passed() && !o.tokens_passed(),
        "only the token check can see the seed: {:?} {:?} {:?}",
        o.rejection(),
        o.max_gap,
        r.output
    );
    assert!(matches!(o.rejection(), Some(Rejection::Token { .. })));
}

#[test]
fn changed_token_is_rejected_at_its_position() {
    let (_, r) = honest(30);
    let v = validator();
    let mut bad = r.clone();
    bad.output[20] = (bad.output[20] + 7) % 256;
    let o = v.validate(&bad).unwrap();
    assert!(!o.passed());
    let (pos, gap) = o.token_failure.expect("token check fails");
    assert_eq!(pos, 20, "gap {gap}");
}

#[test]
fn batch_recompute_agrees_with_single() {
    let (m, r1) = honest(12);
    let p2 = m
        .tokenizer
        .encode_chat(None, "another, longer prompt for the batch")
        .unwrap();
    let r2 = generate(&m.model, &p2, &opts(9)).unwrap();
    let v = validator();
    let batch = v.recompute_batch(&[&r1, &r2]).unwrap();
    for (r, b) in [&r1, &r2].into_iter().zip(&batch) {
        let single = v.recompute(r).unwrap();
        for (x, y) in single.gaps.iter().zip(&b.gaps) {
            assert!((x - y).abs() < 1e-3);
        }
        assert!(b.judge(&v.thresholds(), v.token_margin()).passed());
    }
}

#[test]
fn typed_errors_name_the_problem() {
    let (m, r) = honest(10);
    let v = validator();
    let mut other = r.clone();
    other.model_hash = verbench_inference::ModelHash::of_bytes(b"another model");
    assert!(matches!(
        v.validate(&other),
        Err(Error::ModelMismatch { .. })
    ));
    let mut few = r.clone();
    few.proofs.pop();
    assert!(matches!(
        v.validate(&few),
        Err(Error::ProofCount {
            expected: 3,
            got: 2
        })
    ));
    let mut empty = r.clone();
    empty.output.clear();
    assert!(matches!(v.validate(&empty), Err(Error::EmptyOutput)));
    let long = vec![5u32; CONTEXT];
    assert!(matches!(
        generate(&m.model, &long, &opts(4)),
        Err(Error::ContextOverflow { .. })
    ));
    let mut oob = r.clone();
    oob.output[0] = 10_000;
    assert!(matches!(
        v.validate(&oob),
        Err(Error::TokenOutOfRange { .. })
    ));

    let missing = tmp("missing").join("nope.gguf");
    match load(&missing, WeightFormat::Quantized, &Device::Cpu) {
        Err(Error::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("{other:?}"),
    }
    let corrupt = tmp("corrupt").join("bad.gguf");
    std::fs::write(&corrupt, b"GGUF but not really").unwrap();
    assert!(matches!(
        load(&corrupt, WeightFormat::Quantized, &Device::Cpu),
        Err(Error::Corrupt { .. })
    ));
    let gpt2 = tmp("arch").join("gpt2.gguf");
    write_gguf(&gpt2, "gpt2");
    match load(&gpt2, WeightFormat::Quantized, &Device::Cpu) {
        Err(e @ Error::UnsupportedArchitecture { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&gpt2.display().to_string()), "{msg}");
            assert!(
                msg.contains("\"gpt2\"") && msg.contains("llama, gemma3"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn safetensors_directory_loads_and_validates() {
    let dir = tmp("st");
    let gguf = tiny(WeightFormat::DenseF32);
    gguf.tokenizer
        .inner()
        .save(dir.join("tokenizer.json"), false)
        .unwrap();
    let head_dim = HIDDEN / HEADS;
    // HF layout: q/k rows in rotated-halves order, i.e. undo llama.cpp's permutation.
    let unpermute = |t: &Tensor, heads: usize| -> Tensor {
        let (rows, cols) = t.dims2().unwrap();
        t.reshape((heads, head_dim / 2, 2, cols))
            .unwrap()
            .transpose(1, 2)
            .unwrap()
            .reshape((rows, cols))
            .unwrap()
    };
    let mut st: HashMap<String, Tensor> = HashMap::new();
    for (name, t) in weights() {
        let t = if name.contains("norm") {
            t.squeeze(0).unwrap()
        } else {
            t
        };
        let hf = match name.as_str() {
            "token_embd.weight" => "model.embed_tokens.weight".to_string(),
            "output_norm.weight" => "model.norm.weight".to_string(),
            n => {
                let (l, rest) = n.trim_start_matches("blk.").split_once('.').unwrap();
                let part = match rest {
                    "attn_q.weight" => "self_attn.q_proj.weight",
                    "attn_k.weight" => "self_attn.k_proj.weight",
                    "attn_v.weight" => "self_attn.v_proj.weight",
                    "attn_output.weight" => "self_attn.o_proj.weight",
                    "ffn_gate.weight" => "mlp.gate_proj.weight",
                    "ffn_up.weight" => "mlp.up_proj.weight",
                    "ffn_down.weight" => "mlp.down_proj.weight",
                    "attn_norm.weight" => "input_layernorm.weight",
                    "ffn_norm.weight" => "post_attention_layernorm.weight",
                    other => panic!("{other}"),
                };
                format!("model.layers.{l}.{part}")
            }
        };
        let t = if hf.ends_with("q_proj.weight") {
            unpermute(&t, HEADS)
        } else if hf.ends_with("k_proj.weight") {
            unpermute(&t, KV_HEADS)
        } else {
            t
        };
        st.insert(hf, t);
    }
    candle_core::safetensors::save(&st, dir.join("model.safetensors")).unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::json!({
            "model_type": "llama", "vocab_size": vocab().len(), "hidden_size": HIDDEN,
            "intermediate_size": FFN, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
            "num_key_value_heads": KV_HEADS, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
            "max_position_embeddings": CONTEXT, "tie_word_embeddings": true
        })
        .to_string(),
    )
    .unwrap();
    let m = load(&dir, WeightFormat::DenseF32, &Device::Cpu).unwrap();
    let prompt = m.tokenizer.encode_chat(Some("sys"), "hello there").unwrap();
    assert_eq!(
        prompt,
        gguf.tokenizer
            .encode_chat(Some("sys"), "hello there")
            .unwrap()
    );
    let r = generate(&m.model, &prompt, &opts(16)).unwrap();
    // Same function as the GGUF model (up to Q8_0 rounding): the GGUF-dense validator accepts
    // the record once it names the GGUF's hash.
    let from_gguf = generate(&gguf.model, &prompt, &opts(16)).unwrap();
    assert_eq!(r.output, from_gguf.output);
    let v = Validator::new(
        m.model,
        ProofParams::new(32, 8).unwrap(),
        Thresholds::paper_defaults(32),
        0.05,
    );
    assert!(v.validate(&r).unwrap().passed());
}

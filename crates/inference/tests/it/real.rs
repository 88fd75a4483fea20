//! Tests on the real SmolLM2-135M-Instruct Q4_1 model (fetched by `tools/fetch-models.sh`).

use std::path::PathBuf;

use candle_core::{Device, Tensor};
use verbench_inference::{load, smollm2_path, KvCache, WeightFormat};

pub(crate) fn model_path() -> PathBuf {
    let p = smollm2_path();
    assert!(
        p.exists(),
        "model file {} is missing: run tools/setup.sh (or tools/fetch-models.sh) first",
        p.display()
    );
    p
}

#[test]
fn forward_matches_candle_quantized_llama() {
    let path = model_path();
    let dev = Device::Cpu;
    let m = load(&path, WeightFormat::Quantized, &dev).unwrap();
    let prompt = m
        .tokenizer
        .encode_chat(
            None,
            "What is the capital of France? Answer in one sentence.",
        )
        .unwrap();
    // Template and tokenizer sanity: ChatML markers are single tokens.
    let text = m.tokenizer.decode(&prompt).unwrap();
    assert!(
        text.starts_with("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"),
        "{text}"
    );
    assert_eq!(m.tokenizer.encode("<|im_start|>").unwrap().len(), 1);
    assert_eq!(
        m.tokenizer.encode("Hello world 2024").unwrap().len(),
        7,
        "Hello, Ġworld, Ġ, then digits one by one"
    );

    let h = m.model.forward(&prompt, &mut KvCache::default()).unwrap();
    assert_eq!(h.dims(), &[prompt.len(), 576]);
    let ours = m
        .model
        .logits(&h.narrow(0, prompt.len() - 1, 1).unwrap())
        .unwrap()
        .flatten_all()
        .unwrap();
    let ours: Vec<f32> = ours.to_vec1().unwrap();

    let mut f = std::fs::File::open(&path).unwrap();
    let ct = candle_core::quantized::gguf_file::Content::read(&mut f).unwrap();
    let mut reference =
        candle_transformers::models::quantized_llama::ModelWeights::from_gguf(ct, &mut f, &dev)
            .unwrap();
    let input = Tensor::new(prompt.as_slice(), &dev)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let theirs: Vec<f32> = reference
        .forward(&input, 0)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();

    let argmax = |v: &[f32]| {
        v.iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0
    };
    let max_diff = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    let scale = theirs.iter().map(|x| x.abs()).fold(0f32, f32::max);
    eprintln!(
        "max |logit diff| {max_diff} (max |logit| {scale}), argmax ours {} theirs {}",
        argmax(&ours),
        argmax(&theirs)
    );
    assert_eq!(argmax(&ours), argmax(&theirs));
    assert!(
        max_diff < 1e-2 * scale.max(1.0),
        "logits differ by {max_diff}"
    );

    // The dense twin computes the same function through another arithmetic path.
    let dense = m.model.with_format(WeightFormat::DenseF32).unwrap();
    let hd = dense.forward(&prompt, &mut KvCache::default()).unwrap();
    let dl: Vec<f32> = dense
        .logits(&hd.narrow(0, prompt.len() - 1, 1).unwrap())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let dd = dl
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    eprintln!("dense f32 vs reference: max |logit diff| {dd}");
    assert!(dd < 0.05 * scale.max(1.0));
}

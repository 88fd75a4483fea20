//! Running the model over the dataset into a bundle, item by item, resumably.

use crate::cheat::Cheat;
use crate::{Error, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::Path;
use verbench_bundle::scorer::ScorerId;
use verbench_bundle::{
    benchmark::Benchmark, leaf::input_hash, BundleWriter, Finished, Header, Item,
};
use verbench_inference::{
    choose_among, generate, prove_by_prefill, GenerateOptions, KvCacheMode, LoadedModel, Sampling,
};
use verbench_merkle::to_hex;

/// Checks that `benchmark` is the one the header's task fixes (manifest hash, dataset root and
/// size); the error names the field that differs.
pub fn check_benchmark(header: &Header, benchmark: &Benchmark) -> Result<()> {
    let h = |s: &str| {
        verbench_bundle::leaf::parse_h256(s).ok_or_else(|| {
            Error::DatasetMismatch(format!("header hash {s:?} is not 0x + 32 bytes"))
        })
    };
    benchmark
        .answers(
            &h(&header.manifest_hash)?,
            &h(&header.dataset_root)?,
            header.leaf_count,
        )
        .map_err(Error::DatasetMismatch)
}

/// The engine that generates free-text items. Multiple-choice items are one candle prefill (a
/// letter and its proofs) whatever the engine.
#[derive(Debug, Clone, Default)]
pub enum Engine {
    /// candle, step by step (`crate::generate`).
    #[default]
    Candle,
    /// llama.cpp (`verbench_inference::llamacpp`; builds with the `llamacpp` feature).
    #[cfg(feature = "llamacpp")]
    LlamaCpp(std::sync::Arc<verbench_inference::llamacpp::LlamaCpp>),
}

impl Engine {
    /// The bundle header's `engine` (absent for candle, docs/bundle.md).
    pub fn header_name(&self) -> Option<String> {
        match self {
            Self::Candle => None,
            #[cfg(feature = "llamacpp")]
            Self::LlamaCpp(_) => Some(LLAMACPP.into()),
        }
    }
}

/// The bundle header's name of the llama.cpp engine.
pub const LLAMACPP: &str = "llama.cpp";

/// Options of [`generate_bundle`].
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Sampling, from the task.
    pub sampling: Sampling,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Dishonest behaviour (development and tests only; candle only).
    pub cheat: Option<Cheat>,
    /// The generation engine.
    pub engine: Engine,
}

/// Generates every missing item of `bundle_path` (creating or resuming it) and finishes it.
/// Items already written are never recomputed; an item is durable once its line is synced.
pub fn generate_bundle(
    header: &Header,
    benchmark: &Benchmark,
    model: &LoadedModel,
    bundle_path: &Path,
    opts: &RunOptions,
) -> Result<Finished> {
    check_benchmark(header, benchmark)?;
    let dataset = &benchmark.dataset;
    let shots = benchmark.prompt.shots();
    let system = benchmark.prompt.system.as_deref();
    let model_hash = model.model.hash().to_hex();
    if model_hash != header.model_hash && opts.cheat.is_none() {
        return Err(Error::ModelMismatch {
            path: bundle_path.display().to_string(),
            actual: model_hash,
            expected: header.model_hash.clone(),
        });
    }
    let mut header = header.clone();
    header.engine = opts.engine.header_name();
    let header = &header;
    #[cfg(feature = "llamacpp")]
    let mut llamacpp = match &opts.engine {
        Engine::LlamaCpp(engine) => {
            if opts.cheat.is_some() {
                return Err(Error::Inference(verbench_inference::Error::InvalidParams(
                    "the dishonest providers run on the candle engine only".into(),
                )));
            }
            if engine.hash() != model.model.hash() {
                return Err(Error::ModelMismatch {
                    path: "the llama.cpp engine's model".into(),
                    actual: engine.hash().to_hex(),
                    expected: model_hash,
                });
            }
            Some(engine.session(true)?)
        }
        Engine::Candle => None,
    };
    let mut writer = BundleWriter::create_or_resume(bundle_path, header.clone())?;
    let start = writer.next_index();
    if start > 0 && !writer.is_finished() {
        tracing::info!(
            resumed_at = start,
            of = header.leaf_count,
            "resuming bundle"
        );
    }
    let bar = ProgressBar::new(header.leaf_count);
    bar.set_draw_target(if opts.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} generating [{bar:30}] {pos}/{len} items  {elapsed} (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_position(start);

    let generator = match &opts.cheat {
        Some(cheat) => cheat.generator(&model.model)?,
        None => model.model.clone(),
    };
    let params = verbench_toploc_params(header)?;
    // Multiple choice: the four letter tokens, each exactly one token of the model's vocabulary.
    let letters = if benchmark.scorer.id == ScorerId::MmluLetter {
        Some(choice_tokens(&model.tokenizer)?)
    } else {
        None
    };
    // Free-text items without a cheat: the chosen engine (a mutable session with llama.cpp).
    #[cfg_attr(not(feature = "llamacpp"), allow(unused_mut))]
    let mut generate_free_text = |prompt: &[u32], gen_opts: &GenerateOptions| {
        #[cfg(feature = "llamacpp")]
        if let Some(session) = llamacpp.as_mut() {
            return session.generate(prompt, gen_opts);
        }
        generate(&model.model, prompt, gen_opts)
    };
    for index in start..header.leaf_count {
        let entry = &dataset.items[index as usize];
        let item_err = |source| Error::Item { index, source };
        let prompt = model
            .tokenizer
            .encode_chat_with_shots(system, &shots, &entry.input)
            .map_err(item_err)?;
        let gen_opts = GenerateOptions {
            max_new_tokens: header.generation.max_new_tokens as usize,
            sampling: opts.sampling,
            stop_token: model.tokenizer.eos(),
            kv_cache: KvCacheMode::Full,
            proofs: Some(params),
        };
        let mut choice_logits = Vec::new();
        let record = match (&letters, &opts.cheat) {
            (Some(letters), cheat) => {
                let (mut record, logits) =
                    choose_among(&generator, &prompt, letters, params).map_err(item_err)?;
                choice_logits = logits;
                if cheat.as_ref().is_some_and(Cheat::answers_with_key) {
                    // Claim the reference letter, proven by one honest prefill.
                    let pos = ["A", "B", "C", "D"]
                        .iter()
                        .position(|l| Some(*l) == entry.answer.as_deref())
                        .unwrap_or(0);
                    record.output = vec![letters[pos]];
                    record.proofs = prove_by_prefill(&model.model, &prompt, &record.output, params)
                        .map_err(item_err)?;
                }
                record
            }
            (None, Some(cheat)) => cheat
                .record(
                    index,
                    &model.model,
                    &generator,
                    &model.tokenizer,
                    (&entry.input, &prompt),
                    &gen_opts,
                )
                .map_err(item_err)?,
            (None, None) => generate_free_text(&prompt, &gen_opts).map_err(item_err)?,
        };
        let output_text = model.tokenizer.decode(&record.output).map_err(item_err)?;
        let item = Item {
            index,
            input: entry.input.clone(),
            input_hash: to_hex(&input_hash(&entry.input)),
            output_tokens: record.output,
            score_wad: benchmark
                .scorer
                .score(entry.answer.as_deref(), &output_text)
                .to_string(),
            output_text,
            choice_logits,
            score_sum_wad: String::new(),
            proofs: record.proofs,
            leaf_hash: String::new(),
        };
        writer.append(item)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(writer.finish()?)
}

/// The token ids of the choice letters `A`..`D` (multiple choice); each must be one token.
pub fn choice_tokens(tokenizer: &verbench_inference::ModelTokenizer) -> Result<[u32; 4]> {
    let one = |l: &str| tokenizer.single_token(l).map_err(Error::Inference);
    Ok([one("A")?, one("B")?, one("C")?, one("D")?])
}

fn verbench_toploc_params(header: &Header) -> Result<verbench_toploc::ProofParams> {
    verbench_toploc::ProofParams::new(
        header.toploc.topk as usize,
        header.toploc.decode_batching_size as usize,
    )
    .map_err(|e| Error::Inference(verbench_inference::Error::Toploc(e)))
}

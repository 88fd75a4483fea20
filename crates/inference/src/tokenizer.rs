//! The tokenizer stored with a model, and its prompt format.
//!
//! GGUF files carry one of two tokenizer kinds (`tokenizer.ggml.model`), both rebuilt as a
//! `tokenizers` BPE model:
//! - `gpt2` (SmolLM2): byte-level BPE from `tokenizer.ggml.tokens`, `tokenizer.ggml.merges` and
//!   `tokenizer.ggml.token_type` (control tokens become special added tokens), with GPT-2
//!   byte-level pre-tokenization preceded by single-digit splitting, which is what the
//!   `smollm`/`starcoder` pre-tokenizer types of llama.cpp and SmolLM2's `tokenizer.json` do.
//! - `llama` (SentencePiece BPE; Gemma 3): tokens and scores, no merges. The merges are derived
//!   from the scores (every split of a token into two vocabulary pieces is a merge, ranked by the
//!   merged token's score, highest first), which reproduces SentencePiece's and llama.cpp's
//!   "merge the best-scoring adjacent pair" loop; spaces become `▁` (no space prefix when
//!   `tokenizer.ggml.add_space_prefix` is false), characters outside the vocabulary fall back to
//!   `<0xXX>` byte tokens, user-defined tokens (whitespace runs, HTML tags) are matched in the
//!   raw text before anything else, as llama.cpp does.
//!
//! Directories carry a `tokenizer.json`, loaded as is.
//!
//! [`ModelTokenizer::encode`] never adds a BOS token; the prompt encoders
//! ([`ModelTokenizer::encode_prompt`], [`ModelTokenizer::encode_chat`], ...) add one when the
//! file says `tokenizer.ggml.add_bos_token = true` (Gemma: `<bos>`), like llama.cpp.

use candle_core::quantized::gguf_file;
use std::path::Path;

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::replace::Replace;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, DecoderWrapper, NormalizerWrapper, PreTokenizerWrapper, Tokenizer};

use crate::arch::GgufFile;
use crate::error::{Error, Result};

/// SmolLM2's default system prompt, inserted by its chat template when a chat has none.
pub const SMOLLM_DEFAULT_SYSTEM: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// How prompts are laid out for a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptFormat {
    /// ChatML turns (`<|im_start|>user ... <|im_end|>`): instruction-tuned SmolLM2.
    ChatMl,
    /// Plain text for base models without a chat template (Gemma 3 270M): the system text, a
    /// blank line, then each exemplar as `{user}\n{assistant}\n\n`, then `{user}\n`, which
    /// the model continues. See [`ModelTokenizer::chat_prompt`].
    Plain,
}

/// A model's tokenizer plus the facts needed to format prompts and stop generation.
#[derive(Debug, Clone)]
pub struct ModelTokenizer {
    inner: Tokenizer,
    eos: Option<u32>,
    bos: Option<u32>,
    add_bos: bool,
    format: Option<PromptFormat>,
    default_system: Option<String>,
}

const GGUF_NORMAL: i32 = 1;
const GGUF_CONTROL: i32 = 3;
const GGUF_USER_DEFINED: i32 = 4;

impl ModelTokenizer {
    /// Builds the tokenizer embedded in a GGUF file.
    pub fn from_gguf(path: impl AsRef<Path>) -> Result<Self> {
        let g = GgufFile::open(path.as_ref())?;
        Self::from_gguf_content(&g.content, path.as_ref())
    }

    pub(crate) fn from_gguf_content(ct: &gguf_file::Content, path: &Path) -> Result<Self> {
        let get = |k: &str| {
            ct.metadata
                .get(k)
                .ok_or_else(|| Error::missing(path, format!("metadata {k}")))
        };
        let model = get("tokenizer.ggml.model")?
            .to_string()
            .map_err(|e| Error::corrupt(path, e))?;
        if model != "gpt2" && model != "llama" {
            return Err(Error::Tokenizer(format!(
                "{}: tokenizer model {model:?} is not supported (only byte-level BPE \"gpt2\" and SentencePiece BPE \"llama\")",
                path.display()
            )));
        }
        let strings = |k: &str| -> Result<Vec<String>> {
            get(k)?
                .to_vec()
                .map_err(|e| Error::corrupt(path, e))?
                .iter()
                .map(|v| v.to_string().cloned().map_err(|e| Error::corrupt(path, e)))
                .collect()
        };
        let tokens = strings("tokenizer.ggml.tokens")?;
        let merges = strings("tokenizer.ggml.merges").unwrap_or_default();
        let types: Vec<i32> = match ct.metadata.get("tokenizer.ggml.token_type") {
            Some(v) => v
                .to_vec()
                .map_err(|e| Error::corrupt(path, e))?
                .iter()
                .map(|x| x.to_i32().map_err(|e| Error::corrupt(path, e)))
                .collect::<Result<_>>()?,
            None => vec![1; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(Error::corrupt(
                path,
                "tokenizer.ggml.token_type and tokenizer.ggml.tokens differ in length",
            ));
        }
        let vocab: tokenizers::models::bpe::Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let sentencepiece = model == "llama";
        let mut tk = if sentencepiece {
            sentencepiece_bpe(ct, path, &tokens, &types, vocab)?
        } else {
            byte_level_bpe(path, vocab, &merges)?
        };
        let mut special = Vec::new();
        let mut added = Vec::new();
        for (t, ty) in tokens.iter().zip(&types) {
            match *ty {
                GGUF_CONTROL => special.push(AddedToken::from(t.clone(), true)),
                // SentencePiece user-defined pieces match the raw text (before `▁` escaping).
                GGUF_USER_DEFINED => {
                    added.push(AddedToken::from(t.clone(), false).normalized(!sentencepiece))
                }
                _ => {}
            }
        }
        tk.add_special_tokens(&special);
        tk.add_tokens(&added);
        let id = |k: &str| ct.metadata.get(k).and_then(|v| v.to_u32().ok());
        let eos = id("tokenizer.ggml.eos_token_id");
        let bos = id("tokenizer.ggml.bos_token_id");
        let add_bos = ct
            .metadata
            .get("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(false);
        let template = ct
            .metadata
            .get("tokenizer.chat_template")
            .and_then(|v| v.to_string().ok().cloned());
        let mut me = Self::assemble(tk, eos, template.as_deref().unwrap_or_default());
        me.bos = bos;
        me.add_bos = add_bos && bos.is_some();
        // A SentencePiece model without any chat template is a base model: plain prompts.
        if me.format.is_none() && sentencepiece && template.is_none() {
            me.format = Some(PromptFormat::Plain);
        }
        Ok(me)
    }

    /// The tokenizer of a model path as [`crate::load`] takes it: a GGUF file, or a directory with
    /// `tokenizer.json`. Reads no weights.
    pub fn from_gguf_or_dir(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if path.is_dir() {
            Self::from_file(path.join("tokenizer.json"))
        } else {
            Self::from_gguf(path)
        }
    }

    /// Loads `tokenizer.json` (and reads `tokenizer_config.json` beside it for the chat
    /// template and end-of-sequence token, when present).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let tk = Tokenizer::from_file(path).map_err(|e| Error::corrupt(path, e))?;
        let mut template = String::new();
        let mut eos = None;
        if let Some(cfg) = path.parent().map(|d| d.join("tokenizer_config.json")) {
            if let Ok(text) = std::fs::read_to_string(&cfg) {
                let v: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| Error::corrupt(&cfg, e))?;
                template = v["chat_template"].as_str().unwrap_or_default().to_string();
                eos = v["eos_token"].as_str().and_then(|t| tk.token_to_id(t));
            }
        }
        if eos.is_none() {
            eos = tk
                .token_to_id("<|im_end|>")
                .or_else(|| tk.token_to_id("</s>"));
        }
        Ok(Self::assemble(tk, eos, &template))
    }

    fn assemble(inner: Tokenizer, eos: Option<u32>, template: &str) -> Self {
        let chatml = inner.token_to_id("<|im_start|>").is_some()
            && inner.token_to_id("<|im_end|>").is_some();
        let default_system = template
            .contains(SMOLLM_DEFAULT_SYSTEM)
            .then(|| SMOLLM_DEFAULT_SYSTEM.to_string());
        Self {
            inner,
            eos,
            bos: None,
            add_bos: false,
            format: chatml.then_some(PromptFormat::ChatMl),
            default_system,
        }
    }

    /// How prompts are laid out for this model (`None`: no format this crate can apply).
    pub fn prompt_format(&self) -> Option<PromptFormat> {
        self.format
    }

    /// The beginning-of-sequence token, when the model names one.
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    /// Whether prompts start with [`Self::bos`] (GGUF `tokenizer.ggml.add_bos_token`).
    pub fn adds_bos(&self) -> bool {
        self.add_bos
    }

    /// Token ids of a whole prompt: [`Self::encode`] preceded by the BOS token when the model
    /// asks for one (as llama.cpp's `llama_tokenize(..., add_special = true)` does).
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = Vec::new();
        if let (true, Some(b)) = (self.add_bos, self.bos) {
            ids.push(b);
        }
        ids.extend(self.encode(text)?);
        Ok(ids)
    }

    /// Token ids of `text` (no BOS); special tokens written in the text (`<|im_start|>`,
    /// `<start_of_turn>`) are recognised.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids` (special tokens kept).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// The end-of-sequence token, when the model names one.
    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// The system prompt the chat template inserts when a chat has none.
    pub fn default_system(&self) -> Option<&str> {
        self.default_system.as_deref()
    }

    /// A one-turn prompt in the model's [`PromptFormat`], opened for the answer.
    ///
    /// - ChatML: `<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n`;
    ///   `system: None` uses the template's default system prompt (none if it has none).
    /// - Plain (base models): `{system}\n\n{user}\n` (without the system part when `None`).
    ///
    /// The text carries no BOS; [`Self::encode_chat`] adds it when the model wants one.
    pub fn chat_prompt(&self, system: Option<&str>, user: &str) -> Result<String> {
        match self.format {
            Some(PromptFormat::ChatMl) => {}
            Some(PromptFormat::Plain) => return Ok(plain_prompt(system, &[], user)),
            None => return Err(Error::UnsupportedChatTemplate),
        }
        let mut s = String::new();
        if let Some(sys) = system.or(self.default_system.as_deref()) {
            s.push_str(&format!("<|im_start|>system\n{sys}<|im_end|>\n"));
        }
        s.push_str(&format!(
            "<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
        ));
        Ok(s)
    }

    /// [`Self::chat_prompt`] tokenized (with BOS when the model wants one).
    pub fn encode_chat(&self, system: Option<&str>, user: &str) -> Result<Vec<u32>> {
        self.encode_prompt(&self.chat_prompt(system, user)?)
    }

    /// A chat with few-shot exemplars before the question, in the ChatML template: the system turn
    /// (as in [`Self::chat_prompt`]), then for each exemplar `(user, assistant)` a user turn and a
    /// closed assistant turn, then the `user` turn, opened for the assistant. With no exemplars it
    /// is exactly [`Self::chat_prompt`]. In the plain format: `{system}\n\n`, then
    /// `{user}\n{assistant}\n\n` per exemplar, then `{user}\n`.
    pub fn chat_prompt_with_shots(
        &self,
        system: Option<&str>,
        shots: &[(String, String)],
        user: &str,
    ) -> Result<String> {
        if self.format == Some(PromptFormat::Plain) {
            return Ok(plain_prompt(system, shots, user));
        }
        let first = shots.first().map_or(user, |(u, _)| u.as_str());
        let mut s = self.chat_prompt(system, first)?;
        if let Some(((_, a0), rest)) = shots.split_first() {
            s.push_str(&format!("{a0}<|im_end|>\n"));
            for (u, a) in rest {
                s.push_str(&format!(
                    "<|im_start|>user\n{u}<|im_end|>\n<|im_start|>assistant\n{a}<|im_end|>\n"
                ));
            }
            s.push_str(&format!(
                "<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
            ));
        }
        Ok(s)
    }

    /// [`Self::chat_prompt_with_shots`] tokenized (with BOS when the model wants one).
    pub fn encode_chat_with_shots(
        &self,
        system: Option<&str>,
        shots: &[(String, String)],
        user: &str,
    ) -> Result<Vec<u32>> {
        self.encode_prompt(&self.chat_prompt_with_shots(system, shots, user)?)
    }

    /// The id of `text` when it is exactly one token (the multiple-choice letters), else
    /// [`Error::InvalidParams`].
    pub fn single_token(&self, text: &str) -> Result<u32> {
        match self.encode(text)?.as_slice() {
            [t] => Ok(*t),
            other => Err(Error::InvalidParams(format!(
                "{text:?} is {} tokens, not one",
                other.len()
            ))),
        }
    }

    /// The underlying `tokenizers` tokenizer.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}

/// The plain prompt of a base model (see [`PromptFormat::Plain`]).
fn plain_prompt(system: Option<&str>, shots: &[(String, String)], user: &str) -> String {
    let mut s = String::new();
    if let Some(sys) = system {
        s.push_str(&format!("{sys}\n\n"));
    }
    for (u, a) in shots {
        s.push_str(&format!("{u}\n{a}\n\n"));
    }
    s.push_str(&format!("{user}\n"));
    s
}

/// SentencePiece BPE merges recovered from token scores: every split of a normal token into two
/// vocabulary pieces is a merge; merges are ranked by the merged token's score (highest first,
/// ties by id), so the BPE loop merges the best-scoring adjacent pair first, as SentencePiece
/// and llama.cpp do. One corner differs in principle: when two different splits of the SAME
/// token overlap (pieces `ab|a|ba` can make `aba` two ways), llama.cpp takes the leftmost and
/// the ranked merges take the first-ranked split; Gemma's scores are all distinct, and none of
/// the reference strings (tests/vectors/gemma3) hits the case.
fn merges_from_scores(
    tokens: &[String],
    scores: &[f32],
    types: &[i32],
    vocab: &tokenizers::models::bpe::Vocab,
) -> Vec<(String, String)> {
    let mut ranked: Vec<(f32, u32, u32, String, String)> = Vec::new();
    for (id, tok) in tokens.iter().enumerate() {
        if types[id] != GGUF_NORMAL {
            continue;
        }
        for (at, _) in tok.char_indices().skip(1) {
            let (l, r) = tok.split_at(at);
            if let (Some(&li), Some(_)) = (vocab.get(l), vocab.get(r)) {
                ranked.push((scores[id], id as u32, li, l.to_string(), r.to_string()));
            }
        }
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    ranked.into_iter().map(|(_, _, _, l, r)| (l, r)).collect()
}

/// The SentencePiece BPE tokenizer (`tokenizer.ggml.model = "llama"`) of a GGUF file.
fn sentencepiece_bpe(
    ct: &gguf_file::Content,
    path: &Path,
    tokens: &[String],
    types: &[i32],
    vocab: tokenizers::models::bpe::Vocab,
) -> Result<Tokenizer> {
    let get = |k: &str| {
        ct.metadata
            .get(k)
            .ok_or_else(|| Error::missing(path, format!("metadata {k}")))
    };
    let scores: Vec<f32> = get("tokenizer.ggml.scores")?
        .to_vec()
        .map_err(|e| Error::corrupt(path, e))?
        .iter()
        .map(|x| x.to_f32().map_err(|e| Error::corrupt(path, e)))
        .collect::<Result<_>>()?;
    if scores.len() != tokens.len() {
        return Err(Error::corrupt(
            path,
            "tokenizer.ggml.scores and tokenizer.ggml.tokens differ in length",
        ));
    }
    let merges = merges_from_scores(tokens, &scores, types, &vocab);
    let unk = ct
        .metadata
        .get("tokenizer.ggml.unknown_token_id")
        .and_then(|v| v.to_u32().ok())
        .and_then(|i| tokens.get(i as usize).cloned());
    let mut b = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(true)
        .fuse_unk(true);
    if let Some(unk) = unk {
        b = b.unk_token(unk);
    }
    let bpe = b.build().map_err(|e| Error::Tokenizer(e.to_string()))?;
    let mut tk = Tokenizer::new(bpe);
    let space_prefix = ct
        .metadata
        .get("tokenizer.ggml.add_space_prefix")
        .and_then(|v| v.to_bool().ok())
        .unwrap_or(true);
    let escape = Replace::new(" ", "\u{2581}").map_err(|e| Error::Tokenizer(e.to_string()))?;
    if space_prefix {
        tk.with_normalizer(Some(NormalizerWrapper::Sequence(
            tokenizers::normalizers::Sequence::new(vec![
                NormalizerWrapper::Prepend(tokenizers::normalizers::Prepend::new(
                    "\u{2581}".into(),
                )),
                NormalizerWrapper::Replace(escape),
            ]),
        )));
    } else {
        tk.with_normalizer(Some(NormalizerWrapper::Replace(escape)));
    }
    let unescape = Replace::new("\u{2581}", " ").map_err(|e| Error::Tokenizer(e.to_string()))?;
    tk.with_decoder(Some(DecoderWrapper::Sequence(DecoderSequence::new(vec![
        DecoderWrapper::Replace(unescape),
        DecoderWrapper::ByteFallback(ByteFallback::new()),
        DecoderWrapper::Fuse(Fuse::new()),
    ]))));
    Ok(tk)
}

/// The byte-level BPE tokenizer (`tokenizer.ggml.model = "gpt2"`) of a GGUF file.
fn byte_level_bpe(
    path: &Path,
    vocab: tokenizers::models::bpe::Vocab,
    merges: &[String],
) -> Result<Tokenizer> {
    let merges: Vec<(String, String)> = merges
        .iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| Error::corrupt(path, format!("merge {m:?} has no space")))
        })
        .collect::<Result<_>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
    let mut tk = Tokenizer::new(bpe);
    tk.with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(Sequence::new(vec![
        PreTokenizerWrapper::Digits(Digits::new(true)),
        PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true)),
    ]))));
    tk.with_decoder(Some(ByteLevel::default()));
    Ok(tk)
}

//! The tokenizer stored with a model, and its chat template.
//!
//! For GGUF files the byte-level BPE tokenizer is rebuilt from `tokenizer.ggml.tokens`,
//! `tokenizer.ggml.merges` and `tokenizer.ggml.token_type` (control tokens become special added
//! tokens), with GPT-2 byte-level pre-tokenization preceded by single-digit splitting, which is
//! what the `smollm`/`starcoder` pre-tokenizer types of llama.cpp and SmolLM2's `tokenizer.json`
//! do. Directories carry a `tokenizer.json`, loaded as is.

use std::path::Path;

use candle_core::quantized::gguf_file;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, PreTokenizerWrapper, Tokenizer};

use crate::error::{Error, Result};
use crate::model::GgufFile;

/// SmolLM2's default system prompt, inserted by its chat template when a chat has none.
pub const SMOLLM_DEFAULT_SYSTEM: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// A model's tokenizer plus the facts needed to format chats and stop generation.
#[derive(Debug, Clone)]
pub struct ModelTokenizer {
    inner: Tokenizer,
    eos: Option<u32>,
    chatml: bool,
    default_system: Option<String>,
}

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
        if model != "gpt2" {
            return Err(Error::Tokenizer(format!(
                "{}: tokenizer model {model:?} is not supported (only byte-level BPE, \"gpt2\")",
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
        let vocab: tokenizers::models::bpe::Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
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
        let mut special = Vec::new();
        let mut added = Vec::new();
        for (t, ty) in tokens.iter().zip(&types) {
            match *ty {
                GGUF_CONTROL => special.push(AddedToken::from(t.clone(), true)),
                GGUF_USER_DEFINED => added.push(AddedToken::from(t.clone(), false)),
                _ => {}
            }
        }
        tk.add_special_tokens(&special);
        tk.add_tokens(&added);
        let eos = ct
            .metadata
            .get("tokenizer.ggml.eos_token_id")
            .and_then(|v| v.to_u32().ok());
        let template = ct
            .metadata
            .get("tokenizer.chat_template")
            .and_then(|v| v.to_string().ok().cloned())
            .unwrap_or_default();
        Ok(Self::assemble(tk, eos, &template))
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
            chatml,
            default_system,
        }
    }

    /// Token ids of `text`; special tokens written in the text (`<|im_start|>`) are recognised.
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

    /// A one-turn chat formatted with the model's ChatML template and opened for the assistant:
    /// `<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n`.
    /// `system: None` uses the template's default system prompt (none if it has none).
    pub fn chat_prompt(&self, system: Option<&str>, user: &str) -> Result<String> {
        if !self.chatml {
            return Err(Error::UnsupportedChatTemplate);
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

    /// [`Self::chat_prompt`] tokenized.
    pub fn encode_chat(&self, system: Option<&str>, user: &str) -> Result<Vec<u32>> {
        self.encode(&self.chat_prompt(system, user)?)
    }

    /// A chat with few-shot exemplars before the question, in the ChatML template: the system turn
    /// (as in [`Self::chat_prompt`]), then for each exemplar `(user, assistant)` a user turn and a
    /// closed assistant turn, then the `user` turn, opened for the assistant. With no exemplars it
    /// is exactly [`Self::chat_prompt`].
    pub fn chat_prompt_with_shots(
        &self,
        system: Option<&str>,
        shots: &[(String, String)],
        user: &str,
    ) -> Result<String> {
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

    /// [`Self::chat_prompt_with_shots`] tokenized.
    pub fn encode_chat_with_shots(
        &self,
        system: Option<&str>,
        shots: &[(String, String)],
        user: &str,
    ) -> Result<Vec<u32>> {
        self.encode(&self.chat_prompt_with_shots(system, shots, user)?)
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

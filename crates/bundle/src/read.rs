//! Streamed reading and checking.

use crate::leaf::leaf_of;
use crate::score::{ScoreBreak, ScoreSummary, ScoreTally};
use crate::{Error, Hash, Header, Item, Line, Result, FORMAT};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use verbench_merkle::{to_hex, MerkleTree};

/// Longest line accepted (an item with its proofs is a few KiB; 16 MiB is generous).
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// What reading a whole bundle established.
#[derive(Debug, Clone)]
pub struct BundleSummary {
    /// The header.
    pub header: Header,
    /// The tree recomputed from the items.
    pub tree: MerkleTree,
    /// Leaf hashes in order.
    pub leaves: Vec<Hash>,
    /// Mean score in WAD: `floor(sum of item scores / leaf_count)`.
    pub score_wad: u128,
    /// Mean and standard error of the item scores.
    pub score: ScoreSummary,
    /// The aggregate the contract accepts for these leaves: `floor(last leaf's score_sum /
    /// leaf_count)`. Equals `score_wad` unless the running sums break.
    pub claimable_wad: u128,
    /// The first place where the leaves' scores break the contract's rules (provable on chain with
    /// `proveScoreFault`); the bundle is still returned so that the break can be proven.
    pub score_break: Option<ScoreBreak>,
}

/// Reads a bundle line by line, checking structure and leaves as it goes. Holds one item at a time.
#[derive(Debug)]
pub struct BundleReader<R> {
    path: PathBuf,
    input: R,
    header: Header,
    line: u64,
    leaves: Vec<Hash>,
    tally: ScoreTally,
    ended: Option<crate::Trailer>,
}

impl BundleReader<std::io::BufReader<std::fs::File>> {
    /// Opens a bundle file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(Error::io(path))?;
        Self::new(path, std::io::BufReader::new(file))
    }
}

impl<R: BufRead> BundleReader<R> {
    /// Reads the header from `input`; `path` names the source in errors.
    pub fn new(path: impl Into<PathBuf>, mut input: R) -> Result<Self> {
        let path = path.into();
        let text = read_line(&path, &mut input, 1)?.ok_or_else(|| Error::Malformed {
            path: path.clone(),
            line: 1,
            reason: "empty file".into(),
        })?;
        let header = match parse(&path, 1, &text)? {
            Line::Header(h) => h,
            _ => {
                return Err(Error::Malformed {
                    path,
                    line: 1,
                    reason: "first line is not a header".into(),
                })
            }
        };
        if header.format != FORMAT {
            return Err(Error::Malformed {
                path,
                line: 1,
                reason: format!("format {:?}, expected {FORMAT}", header.format),
            });
        }
        if header.leaf_count == 0 {
            return Err(Error::Malformed {
                path,
                line: 1,
                reason: "leaf_count is 0".into(),
            });
        }
        Ok(Self {
            path,
            input,
            header,
            line: 1,
            leaves: Vec::new(),
            tally: ScoreTally::default(),
            ended: None,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    fn malformed(&self, reason: impl Into<String>) -> Error {
        Error::Malformed {
            path: self.path.clone(),
            line: self.line,
            reason: reason.into(),
        }
    }

    /// The next item with its recomputed leaf hash, or `None` after a valid end line.
    pub fn next_item(&mut self) -> Result<Option<(Item, Hash)>> {
        if self.ended.is_some() {
            return match read_line(&self.path, &mut self.input, self.line + 1)? {
                None => Ok(None),
                Some(_) => {
                    self.line += 1;
                    Err(self.malformed("data after the end line"))
                }
            };
        }
        self.line += 1;
        let Some(text) = read_line(&self.path, &mut self.input, self.line)? else {
            return Err(self.malformed(format!(
                "truncated: {} of {} items and no end line",
                self.leaves.len(),
                self.header.leaf_count
            )));
        };
        match parse(&self.path, self.line, &text)? {
            Line::Header(_) => Err(self.malformed("second header")),
            Line::Item(item) => {
                let expected = self.leaves.len() as u64;
                if item.index != expected {
                    return Err(self
                        .malformed(format!("item {} where {expected} was expected", item.index)));
                }
                if item.index >= self.header.leaf_count {
                    return Err(self.malformed(format!(
                        "more items than leaf_count {}",
                        self.header.leaf_count
                    )));
                }
                let leaf = leaf_of(&self.header, &item).map_err(|r| self.malformed(r))?;
                let hash = leaf.hash();
                if item.leaf_hash != to_hex(&hash) {
                    return Err(Error::LeafMismatch {
                        path: self.path.clone(),
                        index: item.index,
                        stored: item.leaf_hash.clone(),
                        computed: to_hex(&hash),
                    });
                }
                self.leaves.push(hash);
                self.tally.push(leaf.score, leaf.score_sum);
                Ok(Some((item, hash)))
            }
            Line::End(trailer) => {
                let items = self.leaves.len() as u64;
                if items != self.header.leaf_count || trailer.leaf_count != items {
                    return Err(self.malformed(format!(
                        "end line after {items} items; header says {}, end line says {}",
                        self.header.leaf_count, trailer.leaf_count
                    )));
                }
                self.ended = Some(trailer);
                self.next_item()
            }
        }
    }

    /// Reads to the end and checks the end line against the recomputed tree and score.
    pub fn finish(mut self) -> Result<BundleSummary> {
        while self.next_item()?.is_some() {}
        let trailer = self
            .ended
            .take()
            .ok_or_else(|| self.malformed("no end line"))?;
        let tree = MerkleTree::from_leaf_hashes(&self.leaves)?;
        if trailer.root != to_hex(&tree.root()) {
            return Err(Error::RootMismatch {
                path: self.path,
                expected: trailer.root,
                computed: to_hex(&tree.root()),
            });
        }
        let score = self.tally.summary();
        let score_break = self.tally.first_break();
        // With broken running sums the end line cannot be right for both readings of the score;
        // the break is reported instead (it is what the chain can check).
        if score_break.is_none()
            && (trailer.score_wad != score.mean_wad.to_string()
                || trailer.score_stderr_wad != score.stderr_wad.to_string())
        {
            return Err(self.malformed(format!(
                "end line score {} ± {} != recomputed {} ± {}",
                trailer.score_wad, trailer.score_stderr_wad, score.mean_wad, score.stderr_wad
            )));
        }
        Ok(BundleSummary {
            header: self.header,
            tree,
            leaves: self.leaves,
            score_wad: score.mean_wad,
            score,
            claimable_wad: self.tally.claimable_wad(),
            score_break,
        })
    }
}

fn read_line<R: BufRead>(path: &Path, input: &mut R, line: u64) -> Result<Option<String>> {
    let mut buf = Vec::new();
    let n = std::io::Read::take(&mut *input, MAX_LINE_BYTES as u64 + 1)
        .read_until(b'\n', &mut buf)
        .map_err(Error::io(path))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        let reason = if buf.len() > MAX_LINE_BYTES {
            "line longer than 16 MiB"
        } else {
            "torn last line (no newline)"
        };
        return Err(Error::Malformed {
            path: path.to_path_buf(),
            line,
            reason: reason.into(),
        });
    }
    buf.pop();
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| Error::Malformed {
            path: path.to_path_buf(),
            line,
            reason: "not UTF-8".into(),
        })
}

fn parse(path: &Path, line: u64, text: &str) -> Result<Line> {
    serde_json::from_str(text).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        line,
        reason: e.to_string(),
    })
}

/// Reads and checks a whole bundle file; when `expected` is given, the recomputed (root, leaf
/// count) must equal it.
pub fn read_bundle(path: impl AsRef<Path>, expected: Option<(Hash, u64)>) -> Result<BundleSummary> {
    let path = path.as_ref();
    let summary = BundleReader::open(path)?.finish()?;
    if let Some((root, leaf_count)) = expected {
        if summary.tree.root() != root || summary.tree.leaf_count() != leaf_count {
            return Err(Error::RootMismatch {
                path: path.to_path_buf(),
                expected: format!("{} ({leaf_count} leaves)", to_hex(&root)),
                computed: format!(
                    "{} ({} leaves)",
                    to_hex(&summary.tree.root()),
                    summary.tree.leaf_count()
                ),
            });
        }
    }
    Ok(summary)
}

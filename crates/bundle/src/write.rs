//! Streamed, resumable writing.

use crate::leaf::leaf_of;
use crate::score::{ScoreSummary, ScoreTally};
use crate::{keccak256, Error, Hash, Header, Item, Line, Result, Trailer, FORMAT, WAD};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use verbench_merkle::{to_hex, MerkleTree};

/// A finished bundle: its tree and its content address.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The file.
    pub path: PathBuf,
    /// The Merkle tree over the leaves.
    pub tree: MerkleTree,
    /// keccak256 of the file's bytes.
    pub bundle_hash: Hash,
    /// The file's size in bytes.
    pub bundle_size: u64,
    /// Mean score in WAD (the claimed aggregate).
    pub score_wad: u128,
    /// Mean and standard error.
    pub score: ScoreSummary,
}

/// Writes a bundle one item at a time. Each item is flushed and synced before `append` returns,
/// so a crash loses at most the item being written; [`BundleWriter::create_or_resume`] picks up
/// after the last complete item.
#[derive(Debug)]
pub struct BundleWriter {
    path: PathBuf,
    file: std::fs::File,
    header: Header,
    leaves: Vec<Hash>,
    tally: ScoreTally,
    finished: bool,
}

/// Reads the complete lines of an existing file; truncates a torn last line.
fn existing_lines(path: &Path, file: &mut std::fs::File) -> Result<Vec<String>> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).map_err(Error::io(path))?;
    file.read_to_end(&mut bytes).map_err(Error::io(path))?;
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    if complete < bytes.len() {
        tracing::warn!(path = %path.display(), torn_bytes = bytes.len() - complete, "dropping a torn last line");
        file.set_len(complete as u64).map_err(Error::io(path))?;
    }
    file.seek(SeekFrom::End(0)).map_err(Error::io(path))?;
    let mut lines = Vec::new();
    for line in BufReader::new(&bytes[..complete]).lines() {
        lines.push(line.map_err(Error::io(path))?);
    }
    Ok(lines)
}

/// The first field in which two headers differ (`"toploc"` when only the TOPLOC parameters, or
/// nothing, differ).
pub fn first_difference(a: &Header, b: &Header) -> &'static str {
    if a.format != b.format {
        "format"
    } else if a.chain_id != b.chain_id {
        "chain_id"
    } else if a.game != b.game {
        "game"
    } else if a.task_id != b.task_id {
        "task_id"
    } else if a.provider != b.provider {
        "provider"
    } else if a.model_hash != b.model_hash {
        "model_hash"
    } else if a.manifest_hash != b.manifest_hash {
        "manifest_hash"
    } else if a.dataset_root != b.dataset_root {
        "dataset_root"
    } else if a.leaf_count != b.leaf_count {
        "leaf_count"
    } else if a.generation != b.generation {
        "generation"
    } else if a.toploc != b.toploc {
        "toploc"
    } else {
        "engine"
    }
}

impl BundleWriter {
    /// Opens `path` for writing `header`'s bundle: creates it, or resumes it when it exists and
    /// was started with the same header (anything else is [`Error::HeaderConflict`]).
    pub fn create_or_resume(path: impl AsRef<Path>, header: Header) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if header.format != FORMAT {
            return Err(Error::Malformed {
                path,
                line: 1,
                reason: format!("format must be {FORMAT}"),
            });
        }
        if header.leaf_count == 0 {
            return Err(Error::Merkle(verbench_merkle::Error::EmptyTree));
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(Error::io(&path))?;
        let lines = existing_lines(&path, &mut file)?;
        let mut writer = Self {
            path,
            file,
            header,
            leaves: Vec::new(),
            tally: ScoreTally::default(),
            finished: false,
        };
        if lines.is_empty() {
            writer.write_line(&Line::Header(writer.header.clone()))?;
            return Ok(writer);
        }
        for (n, text) in lines.iter().enumerate() {
            let line_no = n as u64 + 1;
            let line: Line = serde_json::from_str(text).map_err(|e| Error::Parse {
                path: writer.path.clone(),
                line: line_no,
                reason: e.to_string(),
            })?;
            match (n, line) {
                (0, Line::Header(h)) => {
                    if h != writer.header {
                        return Err(Error::HeaderConflict {
                            path: writer.path.clone(),
                            field: first_difference(&h, &writer.header),
                        });
                    }
                }
                (0, _) => return Err(writer.malformed(1, "first line is not a header")),
                (_, Line::Item(item)) if !writer.finished => {
                    writer.account(item, line_no)?;
                }
                (_, Line::End(trailer)) if !writer.finished => {
                    writer.finished = true;
                    if writer.next_index() != writer.header.leaf_count {
                        return Err(writer.malformed(line_no, "end line before the last item"));
                    }
                    let root = MerkleTree::from_leaf_hashes(&writer.leaves)?.root();
                    if trailer.root != to_hex(&root) || trailer.leaf_count != writer.next_index() {
                        return Err(writer.malformed(line_no, "end line does not match the items"));
                    }
                }
                _ => return Err(writer.malformed(line_no, "unexpected line")),
            }
        }
        Ok(writer)
    }

    fn malformed(&self, line: u64, reason: &str) -> Error {
        Error::Malformed {
            path: self.path.clone(),
            line,
            reason: reason.into(),
        }
    }

    fn account(&mut self, item: Item, line_no: u64) -> Result<Hash> {
        if item.index != self.next_index() {
            return Err(self.malformed(
                line_no,
                &format!(
                    "item {} where {} was expected",
                    item.index,
                    self.next_index()
                ),
            ));
        }
        if item.index >= self.header.leaf_count {
            return Err(self.malformed(line_no, "more items than leaf_count"));
        }
        let leaf =
            leaf_of(&self.header, &item).map_err(|reason| self.malformed(line_no, &reason))?;
        let hash = leaf.hash();
        if item.leaf_hash != to_hex(&hash) {
            return Err(Error::LeafMismatch {
                path: self.path.clone(),
                index: item.index,
                stored: item.leaf_hash,
                computed: to_hex(&hash),
            });
        }
        self.tally.push(leaf.score, leaf.score_sum);
        if let Some(b) = self.tally.first_break() {
            self.tally.pop(self.tally.sum().saturating_sub(leaf.score));
            return Err(self.malformed(line_no, &format!("scores: {b}")));
        }
        self.leaves.push(hash);
        Ok(hash)
    }

    fn write_line(&mut self, line: &Line) -> Result<()> {
        let mut text = serde_json::to_string(line).map_err(|e| Error::Parse {
            path: self.path.clone(),
            line: self.leaves.len() as u64 + 1,
            reason: e.to_string(),
        })?;
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .map_err(Error::io(&self.path))?;
        self.file.flush().map_err(Error::io(&self.path))?;
        self.file.sync_data().map_err(Error::io(&self.path))
    }

    /// The header this bundle answers.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The index the next [`append`](Self::append) must carry (items already written).
    pub fn next_index(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// Whether the end line is written.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Appends `item` (its `leaf_hash` is filled in) and returns its leaf hash.
    pub fn append(&mut self, mut item: Item) -> Result<Hash> {
        if self.finished || item.index != self.next_index() {
            return Err(Error::OutOfOrder {
                expected: self.next_index(),
                got: item.index,
            });
        }
        let line_no = self.next_index() + 2;
        let score = crate::leaf::parse_wad(&item.score_wad).ok_or_else(|| {
            self.malformed(line_no, "score_wad is not a canonical decimal integer")
        })?;
        if score > WAD {
            return Err(self.malformed(line_no, "score_wad above 1e18"));
        }
        // The running sum is the writer's to fill in: it always extends the leaves before.
        let previous_sum = self.tally.sum();
        item.score_sum_wad = (previous_sum + score).to_string();
        let leaf =
            leaf_of(&self.header, &item).map_err(|reason| self.malformed(line_no, &reason))?;
        item.leaf_hash = to_hex(&leaf.hash());
        let hash = self.account(item.clone(), line_no)?;
        if let Err(e) = self.write_line(&Line::Item(item)) {
            self.leaves.pop();
            self.tally.pop(previous_sum);
            return Err(e);
        }
        Ok(hash)
    }

    /// Writes the end line (unless present) and returns the tree and the content address.
    pub fn finish(mut self) -> Result<Finished> {
        let items = self.next_index();
        if items != self.header.leaf_count {
            return Err(Error::Incomplete {
                items,
                leaf_count: self.header.leaf_count,
            });
        }
        let tree = MerkleTree::from_leaf_hashes(&self.leaves)?;
        let score = self.tally.summary();
        let score_wad = score.mean_wad;
        if !self.finished {
            let trailer = Trailer {
                root: to_hex(&tree.root()),
                leaf_count: items,
                score_wad: score_wad.to_string(),
                score_stderr_wad: score.stderr_wad.to_string(),
            };
            self.write_line(&Line::End(trailer))?;
            self.finished = true;
        }
        let bytes = std::fs::read(&self.path).map_err(Error::io(&self.path))?;
        Ok(Finished {
            path: self.path,
            tree,
            bundle_hash: keccak256(&bytes),
            bundle_size: bytes.len() as u64,
            score_wad,
            score,
        })
    }
}

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can be wrong with a bundle, a dataset or a store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not valid JSON of the expected shape.
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The file (or URI).
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The bundle's structure is wrong (order of lines, indices, counts, header fields).
    #[error("{path}:{line}: malformed bundle: {reason}")]
    Malformed {
        /// The file (or URI).
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// An item's stored leaf hash does not match the one recomputed from its fields.
    #[error("{path}: item {index}: stored leaf hash {stored} != recomputed {computed}")]
    LeafMismatch {
        /// The file.
        path: PathBuf,
        /// Item index.
        index: u64,
        /// The hash written in the bundle.
        stored: String,
        /// The hash recomputed from the item's fields.
        computed: String,
    },
    /// The bundle's Merkle root differs from the expected (committed) one.
    #[error("{path}: root {computed} != expected {expected}")]
    RootMismatch {
        /// The file.
        path: PathBuf,
        /// The expected root.
        expected: String,
        /// The root recomputed from the items.
        computed: String,
    },
    /// Resuming a bundle whose header differs from the requested one.
    #[error("{path}: existing bundle was started for another run: {field} differs")]
    HeaderConflict {
        /// The file.
        path: PathBuf,
        /// The first field that differs.
        field: &'static str,
    },
    /// Appending an item out of order.
    #[error("item index {got} appended, expected {expected}")]
    OutOfOrder {
        /// The next index the writer expects.
        expected: u64,
        /// The index given.
        got: u64,
    },
    /// Finishing a bundle that does not have all its items.
    #[error("bundle has {items} of {leaf_count} items; cannot finish")]
    Incomplete {
        /// Items written.
        items: u64,
        /// Items required.
        leaf_count: u64,
    },
    /// A fetched bundle is larger than the committed size.
    #[error("{uri}: bundle exceeds the committed size of {limit} bytes")]
    TooLarge {
        /// Where it came from.
        uri: String,
        /// The size cap.
        limit: u64,
    },
    /// A fetched bundle's content hash or size differs from the commitment.
    #[error("{uri}: content hash/size {got_hash}/{got_size} != committed {want_hash}/{want_size}")]
    ContentMismatch {
        /// Where it came from.
        uri: String,
        /// The committed hash.
        want_hash: String,
        /// The committed size.
        want_size: u64,
        /// The fetched hash.
        got_hash: String,
        /// The fetched size.
        got_size: u64,
    },
    /// A store could not fetch or publish.
    #[error("{uri}: {reason}")]
    Store {
        /// Where.
        uri: String,
        /// What went wrong.
        reason: String,
    },
    /// A Merkle error (empty tree and such).
    #[error(transparent)]
    Merkle(#[from] verbench_merkle::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

use crate::Hash;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when building, proving or verifying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A tree needs at least one leaf; an empty tree has no root.
    #[error("empty tree: a commitment needs at least one leaf")]
    EmptyTree,
    /// The leaf index is not below the leaf count.
    #[error("leaf index {index} is out of range for a tree of {leaf_count} leaves")]
    IndexOutOfRange {
        /// The requested index.
        index: u64,
        /// The tree's leaf count.
        leaf_count: u64,
    },
    /// The proof does not have the number of siblings that the position implies.
    #[error("proof has {actual} siblings; leaf position implies {expected}")]
    ProofLength {
        /// Siblings the (index, leaf count) pair requires.
        expected: usize,
        /// Siblings supplied.
        actual: usize,
    },
    /// The proof folds to another root.
    #[error(
        "proof folds to root 0x{} instead of 0x{}",
        hex::encode(computed),
        hex::encode(expected)
    )]
    RootMismatch {
        /// The committed root.
        expected: Hash,
        /// The root the proof leads to.
        computed: Hash,
    },
    /// A hash was not 32 bytes of hex.
    #[error("not a 32-byte hex hash: {0:?}")]
    BadHex(String),
}

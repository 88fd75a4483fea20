//! The crate's one error type.

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while building, parsing or validating TOPLOC proofs.
///
/// Malformed proof input always ends here as a value; no input makes the crate panic or divide by
/// a zero modulus.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `topk` must be at least 1 and at most the field prime 65497.
    #[error("topk must be in 1..=65497, got {0}")]
    InvalidTopk(usize),
    /// `decode_batching_size` must be at least 1.
    #[error("decode_batching_size must be at least 1")]
    InvalidBatchSize,
    /// An activation buffer's length is not `rows * hidden`, or `hidden` is zero.
    #[error("activation buffer has {len} values, expected rows {rows} x hidden {hidden}")]
    ShapeMismatch {
        /// Values in the buffer.
        len: usize,
        /// Declared rows.
        rows: usize,
        /// Declared hidden size.
        hidden: usize,
    },
    /// A row index past the end of an activation buffer.
    #[error("row {row} is past the buffer's {rows} rows")]
    RowOutOfRange {
        /// The requested row.
        row: usize,
        /// Rows in the buffer.
        rows: usize,
    },
    /// A row pushed into an incremental builder or verifier has a different width than earlier ones.
    #[error("row has {got} values but earlier decode rows had {expected}")]
    RowWidthMismatch {
        /// Width of the earlier rows.
        expected: usize,
        /// Width of the row just pushed.
        got: usize,
    },
    /// A prefill block was given after decode rows had already been pushed.
    #[error("the prefill must be the first block given to the builder, and only once")]
    PrefillAfterDecode,
    /// A chunk holds fewer values than `topk`, so its top-k is undefined.
    #[error("chunk {chunk} has {values} values, fewer than topk {topk}")]
    ChunkTooSmall {
        /// Chunk position (0 is the prefill when there is one).
        chunk: usize,
        /// Values in the chunk.
        values: usize,
        /// Requested top-k.
        topk: usize,
    },
    /// No modulus in `topk..=65497` keeps the chunk's top-k flat indices pairwise distinct.
    #[error("no modulus <= 65497 separates the top-k indices")]
    NoInjectiveModulus,
    /// Interpolation was asked for points with repeated x values.
    #[error("interpolation points have a repeated x value ({0})")]
    DuplicateX(u16),
    /// The points handed to proof construction repeat a flat index.
    #[error("flat index {0} appears twice among the points")]
    DuplicateIndex(usize),
    /// Interpolation was asked for no points at all.
    #[error("cannot interpolate through zero points")]
    NoPoints,
    /// The text form of a proof is not standard padded base64.
    #[error("proof is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// A proof's byte string has an odd length, so it cannot be a sequence of u16 words.
    #[error("proof has an odd number of bytes ({0})")]
    OddLength(usize),
    /// A proof's byte string is too short to hold a modulus and one coefficient.
    #[error("proof has {0} bytes, need at least 4")]
    TooShort(usize),
    /// A proof's byte string does not have the `2 + 2 * topk` bytes the parameters call for.
    #[error("proof has {actual} bytes, expected {expected} for the configured topk")]
    WrongLength {
        /// `2 + 2 * topk`.
        expected: usize,
        /// Bytes received.
        actual: usize,
    },
    /// The proof is the reference's "null" proof (modulus 0), which commits to nothing.
    #[error("null proof (modulus 0): the prover could not build a proof")]
    NullProof,
    /// The proof's modulus is above 65497 or below its number of coefficients, so no honest
    /// prover could have produced it.
    #[error("proof modulus {modulus} is outside {min}..=65497")]
    ModulusOutOfRange {
        /// The modulus read from the proof.
        modulus: u16,
        /// The smallest modulus that can separate this many points.
        min: usize,
    },
    /// A coefficient is not a canonical field element (it is at least 65497).
    #[error("coefficient {index} is {value}, not below the field prime 65497")]
    CoefficientOutOfField {
        /// Position of the coefficient (0 is the constant term).
        index: usize,
        /// The value read.
        value: u16,
    },
    /// More proofs were supplied than the activations have chunks.
    #[error("{proofs} proofs supplied but the activations make {chunks} chunks")]
    TooManyProofs {
        /// Proofs supplied.
        proofs: usize,
        /// Chunks in the activations.
        chunks: usize,
    },
    /// Fewer proofs were supplied than the activations have chunks.
    #[error("{proofs} proofs supplied but the activations make {chunks} chunks")]
    TooFewProofs {
        /// Proofs supplied.
        proofs: usize,
        /// Chunks in the activations.
        chunks: usize,
    },
}

//! The bundle's lines (specification: docs/bundle.md).

use serde::{Deserialize, Serialize};

/// Format tag of the header line; bumped on any incompatible change.
pub const FORMAT: &str = "verbench-bundle/2";

/// Sampling parameters, as registered with the task (`IDisputeGame.GenerationParams`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationParams {
    /// Tokens generated per item (generation stops earlier at end-of-sequence).
    pub max_new_tokens: u32,
    /// Temperature times 1000; 0 means greedy.
    pub temperature_milli: u32,
    /// Sampling seed (unused when greedy).
    pub seed: u64,
}

/// TOPLOC parameters, as registered with the task (`IDisputeGame.ToplocParams`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToplocParams {
    /// Points per proof.
    pub topk: u32,
    /// Decode rows per chunk.
    pub decode_batching_size: u32,
}

/// First line: what the bundle answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// Chain the task lives on.
    pub chain_id: u64,
    /// The dispute game contract.
    pub game: String,
    /// The task id (0x-hex, 32 bytes).
    pub task_id: String,
    /// The provider's address (0x-hex, 20 bytes, lowercase).
    pub provider: String,
    /// Content hash of the model weights (0x-hex, 32 bytes).
    pub model_hash: String,
    /// The task's benchmark manifest hash (0x-hex, 32 bytes; zero for a legacy task).
    pub manifest_hash: String,
    /// Merkle root over the dataset inputs (0x-hex, 32 bytes).
    pub dataset_root: String,
    /// Number of items (= the dataset size = the commitment's leaf count).
    pub leaf_count: u64,
    /// Generation parameters.
    pub generation: GenerationParams,
    /// TOPLOC parameters.
    pub toploc: ToplocParams,
    /// The engine that generated the outputs and proofs; absent: candle (`verbench-submit
    /// --engine candle`, and every bundle written before engines were recorded). Informational:
    /// the judge recomputes with its own validator whatever generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

/// One item: a dataset input, its output, its score and its proofs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Position in the dataset and in the tree, 0-based.
    pub index: u64,
    /// The input (the user message), exactly as in the dataset.
    pub input: String,
    /// `hashLeaf(input bytes)`: leaf `index` of the dataset tree.
    pub input_hash: String,
    /// Generated token ids.
    pub output_tokens: Vec<u32>,
    /// The decoded output (informational; the tokens are what is committed).
    pub output_text: String,
    /// Multiple choice only: the logits of the choice tokens (`A`..`D`) at the position after the
    /// prompt, as the provider computed them; bound by the leaf's output hash. Absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choice_logits: Vec<f32>,
    /// Score in WAD fixed point (decimal string): 1e18 is a fully correct answer, at most 1e18.
    pub score_wad: String,
    /// Sum of the scores of items `0..=index` in WAD (decimal string): the leaf's running sum.
    pub score_sum_wad: String,
    /// TOPLOC proofs, base64: the prefill proof first, then one per decode chunk.
    pub proofs: Vec<String>,
    /// The leaf hash recomputed from the fields above (docs/bundle.md).
    pub leaf_hash: String,
}

/// Last line: the tree over all items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trailer {
    /// Merkle root over the leaves in index order.
    pub root: String,
    /// Number of leaves.
    pub leaf_count: u64,
    /// Mean item score in WAD (decimal string): `floor(sum of item scores / leaf_count)`.
    pub score_wad: String,
    /// Standard error of the mean score in WAD (decimal string; `score::ScoreTally::summary`).
    pub score_stderr_wad: String,
}

/// One line of the file, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    /// The first line.
    Header(Header),
    /// Lines 2 ..= leaf_count + 1.
    Item(Item),
    /// The last line.
    End(Trailer),
}

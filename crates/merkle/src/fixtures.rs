//! Golden fixtures shared with the Solidity tests (`test/Merkle.t.sol`).
//!
//! Each fixture is one tree: its size, root, [`tree_id`](crate::tree_id), and for a set of
//! indices the leaf preimage, leaf hash and proof. Proofs are flattened (`siblings` with
//! `offsets`) because forge's JSON cheatcodes read flat arrays.

use crate::{hash_leaf, to_hex, MerkleTree, Result};
use serde::Serialize;

/// Leaf counts covered with every index.
pub const SMALL_SIZES: std::ops::RangeInclusive<u64> = 1..=70;
/// Larger leaf counts covered with a sample of indices (powers of two and their neighbours).
pub const LARGE_SIZES: [u64; 7] = [127, 128, 129, 1000, 4095, 4097, 65537];

/// One tree's fixture, serialised as camelCase JSON.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeFixture {
    /// Leaf count.
    pub n: u64,
    /// Root of the tree.
    pub root: String,
    /// `keccak256(root || uint256(n))`.
    pub tree_id: String,
    /// Proved indices.
    pub indices: Vec<u64>,
    /// Leaf preimages of the proved indices.
    pub leaf_data: Vec<String>,
    /// Leaf hashes of the proved indices.
    pub leaves: Vec<String>,
    /// All proofs' siblings, concatenated.
    pub siblings: Vec<String>,
    /// `siblings[offsets[j]..offsets[j + 1]]` is the proof of `indices[j]`.
    pub offsets: Vec<u64>,
}

/// The deterministic preimage of leaf `i` in a fixture tree of `n` leaves.
pub fn leaf_preimage(n: u64, i: u64) -> Vec<u8> {
    format!("verbench merkle fixture: tree of {n} leaves, leaf {i}").into_bytes()
}

/// Indices proved for a tree of `n` leaves: all of them for small trees, otherwise the edges,
/// the middle and a deterministic spread.
pub fn sample_indices(n: u64) -> Vec<u64> {
    if n <= *SMALL_SIZES.end() {
        return (0..n).collect();
    }
    let mut indices = vec![0, 1, n / 2 - 1, n / 2, n - 2, n - 1];
    // A fixed multiplicative spread (golden-ratio stepping) over the range.
    let mut x: u64 = 0;
    for _ in 0..10 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        indices.push(x % n);
    }
    indices.sort_unstable();
    indices.dedup();
    indices
}

/// Builds the fixture for a tree of `n` leaves.
pub fn tree_fixture(n: u64) -> Result<TreeFixture> {
    let leaf_hashes: Vec<_> = (0..n).map(|i| hash_leaf(&leaf_preimage(n, i))).collect();
    let tree = MerkleTree::from_leaf_hashes(&leaf_hashes)?;
    let indices = sample_indices(n);
    let mut fixture = TreeFixture {
        n,
        root: to_hex(&tree.root()),
        tree_id: to_hex(&tree.id()),
        indices: indices.clone(),
        leaf_data: Vec::new(),
        leaves: Vec::new(),
        siblings: Vec::new(),
        offsets: vec![0],
    };
    for &i in &indices {
        let proof = tree.prove(i)?;
        fixture
            .leaf_data
            .push(format!("0x{}", hex::encode(leaf_preimage(n, i))));
        fixture.leaves.push(to_hex(&leaf_hashes[i as usize]));
        fixture.siblings.extend(proof.siblings_hex());
        fixture.offsets.push(fixture.siblings.len() as u64);
    }
    Ok(fixture)
}

/// Every fixture file: (file name, pretty JSON with a trailing newline).
pub fn all() -> Result<Vec<(String, String)>> {
    SMALL_SIZES
        .chain(LARGE_SIZES)
        .map(|n| {
            let fixture = tree_fixture(n)?;
            let json = serde_json::to_string_pretty(&fixture).expect("fixtures serialise");
            Ok((format!("n{n}.json"), json + "\n"))
        })
        .collect()
}

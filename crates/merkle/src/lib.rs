#![doc = include_str!("../README.md")]

mod error;
pub mod fixtures;

pub use error::{Error, Result};

use rs_merkle::Hasher;
use tiny_keccak::{Hasher as _, Keccak};

/// A 32-byte keccak-256 digest: a leaf hash, an internal node or a root.
pub type Hash = [u8; 32];

/// First byte of every leaf preimage: `leaf = keccak256(0x00 || data)`.
pub const LEAF_PREFIX: u8 = 0x00;
/// First byte of every internal-node preimage: `node = keccak256(0x01 || left || right)`.
pub const NODE_PREFIX: u8 = 0x01;
/// Largest leaf count this crate accepts. On chain, counts and indices are `uint32`
/// (`Commitment.leafCount`), so a commitment holds at most `2^32 - 1` leaves.
pub const MAX_LEAVES: u64 = u64::MAX;

/// keccak-256 of the concatenation of `parts`.
pub fn keccak256_concat(parts: &[&[u8]]) -> Hash {
    let mut keccak = Keccak::v256();
    for part in parts {
        keccak.update(part);
    }
    let mut out = [0u8; 32];
    keccak.finalize(&mut out);
    out
}

/// Hash of a leaf's preimage (a record's canonical bytes), domain-separated from internal nodes.
pub fn hash_leaf(data: &[u8]) -> Hash {
    keccak256_concat(&[&[LEAF_PREFIX], data])
}

/// Hash of two children, in position order (left child first).
pub fn hash_node(left: &Hash, right: &Hash) -> Hash {
    keccak256_concat(&[&[NODE_PREFIX], left, right])
}

/// One word naming a tree together with its size: `keccak256(root || uint256(leaf_count))`.
///
/// The root alone does not fix the leaf count (see `docs/merkle.md`); anything that must name a
/// commitment with a single word (a signature, an id) uses this value.
pub fn tree_id(root: &Hash, leaf_count: u64) -> Hash {
    let mut count = [0u8; 32];
    count[24..].copy_from_slice(&leaf_count.to_be_bytes());
    keccak256_concat(&[root, &count])
}

/// rs_merkle hasher implementing verbench's node rule: keccak with the node prefix, and an odd
/// last node promoted unchanged to the next level.
#[derive(Clone, Copy, Debug, Default)]
pub struct VerbenchHasher;

impl Hasher for VerbenchHasher {
    type Hash = Hash;

    fn hash(data: &[u8]) -> Hash {
        hash_leaf(data)
    }

    fn concat_and_hash(left: &Hash, right: Option<&Hash>) -> Hash {
        match right {
            Some(right) => hash_node(left, right),
            None => *left,
        }
    }
}

/// Number of siblings in the proof of leaf `index` in a tree of `leaf_count` leaves.
///
/// Fails when the tree is empty or the index is out of range.
pub fn proof_len(index: u64, leaf_count: u64) -> Result<usize> {
    check_position(index, leaf_count)?;
    let (mut i, mut width, mut len) = (index, leaf_count, 0usize);
    while width > 1 {
        if i & 1 == 1 || i + 1 < width {
            len += 1;
        }
        i >>= 1;
        width = width.div_ceil(2);
    }
    Ok(len)
}

fn check_position(index: u64, leaf_count: u64) -> Result<()> {
    if leaf_count == 0 {
        return Err(Error::EmptyTree);
    }
    if index >= leaf_count {
        return Err(Error::IndexOutOfRange { index, leaf_count });
    }
    Ok(())
}

/// Folds `leaf` up the path of `index` in a tree of `leaf_count` leaves and returns the root.
///
/// `siblings` are bottom-up; a level where the node is an odd last node consumes no sibling.
/// The proof must have exactly the length the position implies.
pub fn compute_root(leaf_count: u64, index: u64, leaf: &Hash, siblings: &[Hash]) -> Result<Hash> {
    let expected = proof_len(index, leaf_count)?;
    if siblings.len() != expected {
        return Err(Error::ProofLength {
            expected,
            actual: siblings.len(),
        });
    }
    let (mut i, mut width, mut node) = (index, leaf_count, *leaf);
    let mut next = siblings.iter();
    while width > 1 {
        if i & 1 == 1 {
            let sibling = next.next().ok_or(Error::ProofLength {
                expected,
                actual: siblings.len(),
            })?;
            node = hash_node(sibling, &node);
        } else if i + 1 < width {
            let sibling = next.next().ok_or(Error::ProofLength {
                expected,
                actual: siblings.len(),
            })?;
            node = hash_node(&node, sibling);
        }
        i >>= 1;
        width = width.div_ceil(2);
    }
    Ok(node)
}

/// Checks that `leaf` sits at `index` of the tree committed as (`root`, `leaf_count`).
pub fn verify(
    root: &Hash,
    leaf_count: u64,
    index: u64,
    leaf: &Hash,
    siblings: &[Hash],
) -> Result<()> {
    let computed = compute_root(leaf_count, index, leaf, siblings)?;
    if &computed != root {
        return Err(Error::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// An inclusion proof for one leaf, as the contract takes it: the position, the tree size and the
/// siblings bottom-up (`bytes32[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// Position of the leaf, 0-based.
    pub index: u64,
    /// Number of leaves in the committed tree.
    pub leaf_count: u64,
    /// Sibling hashes from the leaf's level upward, skipping levels where the node is promoted.
    pub siblings: Vec<Hash>,
}

impl Proof {
    /// Verifies this proof for `leaf` against `root`.
    pub fn verify(&self, root: &Hash, leaf: &Hash) -> Result<()> {
        verify(root, self.leaf_count, self.index, leaf, &self.siblings)
    }

    /// The siblings as 0x-prefixed hex words, the order `Merkle.verifyCalldata` expects.
    pub fn siblings_hex(&self) -> Vec<String> {
        self.siblings.iter().map(to_hex).collect()
    }
}

/// A built tree over leaf hashes.
#[derive(Clone)]
pub struct MerkleTree {
    inner: rs_merkle::MerkleTree<VerbenchHasher>,
    root: Hash,
    leaf_count: u64,
}

impl std::fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerkleTree")
            .field("root", &to_hex(&self.root))
            .field("leaf_count", &self.leaf_count)
            .finish()
    }
}

impl MerkleTree {
    /// Builds a tree over leaves that are already hashed with [`hash_leaf`].
    pub fn from_leaf_hashes(leaves: &[Hash]) -> Result<Self> {
        if leaves.is_empty() {
            return Err(Error::EmptyTree);
        }
        let leaf_count = leaves.len() as u64;
        let inner = rs_merkle::MerkleTree::<VerbenchHasher>::from_leaves(leaves);
        let root = inner.root().ok_or(Error::EmptyTree)?;
        Ok(Self {
            inner,
            root,
            leaf_count,
        })
    }

    /// Hashes each record with [`hash_leaf`] and builds the tree.
    pub fn from_records<I, D>(records: I) -> Result<Self>
    where
        I: IntoIterator<Item = D>,
        D: AsRef<[u8]>,
    {
        let leaves: Vec<Hash> = records.into_iter().map(|r| hash_leaf(r.as_ref())).collect();
        Self::from_leaf_hashes(&leaves)
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The number of leaves.
    pub fn leaf_count(&self) -> u64 {
        self.leaf_count
    }

    /// [`tree_id`] of this tree.
    pub fn id(&self) -> Hash {
        tree_id(&self.root, self.leaf_count)
    }

    /// The inclusion proof of leaf `index`.
    pub fn prove(&self, index: u64) -> Result<Proof> {
        let expected = proof_len(index, self.leaf_count)?;
        let position = usize::try_from(index).map_err(|_| Error::IndexOutOfRange {
            index,
            leaf_count: self.leaf_count,
        })?;
        let siblings = self.inner.proof(&[position]).proof_hashes().to_vec();
        if siblings.len() != expected {
            // rs_merkle and the specification disagree: never hand out such a proof.
            return Err(Error::ProofLength {
                expected,
                actual: siblings.len(),
            });
        }
        Ok(Proof {
            index,
            leaf_count: self.leaf_count,
            siblings,
        })
    }
}

/// `0x`-prefixed lowercase hex of a hash.
pub fn to_hex(hash: &Hash) -> String {
    format!("0x{}", hex::encode(hash))
}

/// Parses a 32-byte hash from hex, with or without `0x`.
pub fn from_hex(text: &str) -> Result<Hash> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(digits).map_err(|_| Error::BadHex(text.to_owned()))?;
    bytes.try_into().map_err(|_| Error::BadHex(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| hash_leaf(&i.to_be_bytes())).collect()
    }

    #[test]
    fn one_leaf_tree_root_is_the_leaf() {
        let l = leaves(1);
        let tree = MerkleTree::from_leaf_hashes(&l).unwrap();
        assert_eq!(tree.root(), l[0]);
        assert!(tree.prove(0).unwrap().siblings.is_empty());
        verify(&tree.root(), 1, 0, &l[0], &[]).unwrap();
    }

    #[test]
    fn three_leaves_promote_the_odd_node() {
        let l = leaves(3);
        let tree = MerkleTree::from_leaf_hashes(&l).unwrap();
        assert_eq!(tree.root(), hash_node(&hash_node(&l[0], &l[1]), &l[2]));
        assert_eq!(
            tree.prove(2).unwrap().siblings,
            vec![hash_node(&l[0], &l[1])]
        );
    }

    #[test]
    fn empty_tree_is_an_error() {
        assert_eq!(
            MerkleTree::from_leaf_hashes(&[]).unwrap_err(),
            Error::EmptyTree
        );
        assert_eq!(proof_len(0, 0).unwrap_err(), Error::EmptyTree);
    }

    #[test]
    fn out_of_range_index_is_an_error() {
        let tree = MerkleTree::from_leaf_hashes(&leaves(5)).unwrap();
        assert_eq!(
            tree.prove(5).unwrap_err(),
            Error::IndexOutOfRange {
                index: 5,
                leaf_count: 5
            }
        );
    }

    #[test]
    fn leaf_and_node_domains_differ() {
        let l = leaves(2);
        let mut node_preimage = Vec::new();
        node_preimage.extend_from_slice(&l[0]);
        node_preimage.extend_from_slice(&l[1]);
        assert_ne!(hash_leaf(&node_preimage), hash_node(&l[0], &l[1]));
    }

    #[test]
    fn tree_id_binds_the_count() {
        let root = [7u8; 32];
        assert_ne!(tree_id(&root, 3), tree_id(&root, 4));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let h = hash_leaf(b"x");
        assert_eq!(from_hex(&to_hex(&h)).unwrap(), h);
        assert!(matches!(from_hex("0x1234"), Err(Error::BadHex(_))));
        assert!(matches!(from_hex("zz"), Err(Error::BadHex(_))));
    }
}

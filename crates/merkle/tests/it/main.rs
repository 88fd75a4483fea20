//! Integration tests: property tests of build/prove/verify, agreement with rs_merkle's own
//! verifier, and freshness of the golden fixtures that forge reads.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // tests: a failed unwrap is a failed test

use proptest::prelude::*;
use verbench_merkle::{
    compute_root, fixtures, hash_leaf, hash_node, proof_len, verify, Error, Hash, MerkleTree,
};

fn leaves(n: u64, salt: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| hash_leaf(&[salt.to_be_bytes(), i.to_be_bytes()].concat()))
        .collect()
}

/// The path shape of a position: per level, whether the node is a right child (sibling on the
/// left), a left child with a sibling, or a promoted odd last node.
fn path_shape(index: u64, n: u64) -> Vec<u8> {
    let (mut i, mut w, mut shape) = (index, n, Vec::new());
    while w > 1 {
        shape.push(if i & 1 == 1 {
            0
        } else if i + 1 < w {
            1
        } else {
            2
        });
        i >>= 1;
        w = w.div_ceil(2);
    }
    shape
}

/// A plain recursive reference: the root of leaves[lo..hi] as the spec defines it.
fn reference_root(level: &[Hash]) -> Hash {
    if level.len() == 1 {
        return level[0];
    }
    let next: Vec<Hash> = level
        .chunks(2)
        .map(|pair| {
            if pair.len() == 2 {
                hash_node(&pair[0], &pair[1])
            } else {
                pair[0]
            }
        })
        .collect();
    reference_root(&next)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn prove_then_verify_and_every_tamper_fails(n in 1u64..3000, i_seed: u64, salt: u64, other: u64) {
        let l = leaves(n, salt);
        let tree = MerkleTree::from_leaf_hashes(&l).unwrap();
        prop_assert_eq!(tree.root(), reference_root(&l));
        let i = i_seed % n;
        let proof = tree.prove(i).unwrap();
        prop_assert_eq!(proof.siblings.len(), proof_len(i, n).unwrap());
        proof.verify(&tree.root(), &l[i as usize]).unwrap();

        // rs_merkle's own verifier agrees.
        let rs_proof = rs_merkle::MerkleProof::<verbench_merkle::VerbenchHasher>::new(proof.siblings.clone());
        prop_assert!(rs_proof.verify(tree.root(), &[i as usize], &[l[i as usize]], n as usize));

        // Wrong leaf.
        let wrong_leaf = hash_leaf(&other.to_be_bytes());
        prop_assert!(verify(&tree.root(), n, i, &wrong_leaf, &proof.siblings).is_err());

        // Wrong index (any other position in range).
        if n > 1 {
            let j = (i + 1 + other % (n - 1)) % n;
            prop_assert_ne!(i, j);
            prop_assert!(verify(&tree.root(), n, j, &l[i as usize], &proof.siblings).is_err());
            // ... and the right leaf at the wrong index with its own proof does not pass as i.
            let pj = tree.prove(j).unwrap();
            prop_assert!(verify(&tree.root(), n, i, &l[j as usize], &pj.siblings).is_err());
        }

        // Index out of range never verifies.
        prop_assert!(matches!(
            verify(&tree.root(), n, n + other % 5, &l[i as usize], &proof.siblings),
            Err(Error::IndexOutOfRange { .. })
        ), "unexpected verification result");

        // A leaf count that changes the path shape fails.
        let n2 = 1 + (n + 1 + other % 4096) % 4096;
        if i < n2 && path_shape(i, n2) != path_shape(i, n) {
            prop_assert!(verify(&tree.root(), n2, i, &l[i as usize], &proof.siblings).is_err());
        }

        // Truncated and extended proofs fail.
        if !proof.siblings.is_empty() {
            let truncated = &proof.siblings[..proof.siblings.len() - 1];
            prop_assert!(matches!(
                verify(&tree.root(), n, i, &l[i as usize], truncated),
                Err(Error::ProofLength { .. })
            ), "unexpected verification result");
        }
        let mut extended = proof.siblings.clone();
        extended.push(wrong_leaf);
        prop_assert!(matches!(
            verify(&tree.root(), n, i, &l[i as usize], &extended),
            Err(Error::ProofLength { .. })
        ), "unexpected verification result");

        // Flipping any one sibling fails.
        if !proof.siblings.is_empty() {
            let mut flipped = proof.siblings.clone();
            let k = (other as usize) % flipped.len();
            flipped[k][(other as usize >> 8) % 32] ^= 1;
            prop_assert!(matches!(
                verify(&tree.root(), n, i, &l[i as usize], &flipped),
                Err(Error::RootMismatch { .. })
            ), "unexpected verification result");
        }
    }
}

#[test]
fn every_index_of_small_trees_round_trips() {
    for n in 1..=130u64 {
        let l = leaves(n, 1);
        let tree = MerkleTree::from_leaf_hashes(&l).unwrap();
        for i in 0..n {
            let proof = tree.prove(i).unwrap();
            assert_eq!(
                compute_root(n, i, &l[i as usize], &proof.siblings).unwrap(),
                tree.root(),
                "n={n} i={i}"
            );
        }
    }
}

#[test]
fn count_is_not_bound_by_the_root_alone() {
    // Documented in docs/merkle.md: leaf 0's proof is the same in trees of 3 and 4 leaves, so
    // (root, n) together name a commitment.
    let l4 = leaves(4, 2);
    let t3 = MerkleTree::from_leaf_hashes(&l4[..3]).unwrap();
    let t4 = MerkleTree::from_leaf_hashes(&l4).unwrap();
    assert_eq!(
        t3.prove(0).unwrap().siblings[0],
        t4.prove(0).unwrap().siblings[0]
    );
    assert_eq!(
        t3.prove(0).unwrap().siblings.len(),
        t4.prove(0).unwrap().siblings.len()
    );
    let p3 = t3.prove(0).unwrap();
    verify(&t3.root(), 4, 0, &l4[0], &p3.siblings).unwrap();
    assert_ne!(t3.id(), verbench_merkle::tree_id(&t3.root(), 4));
}

#[test]
fn committed_fixtures_are_fresh() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures/merkle");
    let files = fixtures::all().unwrap();
    let mut stale = Vec::new();
    for (name, json) in &files {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(committed) if &committed == json => {}
            _ => stale.push(name.clone()),
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing Merkle fixtures {stale:?}; regenerate with \
         `cargo run -p verbench-merkle --bin merkle-fixtures -- test/fixtures/merkle`"
    );
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        on_disk,
        files.len(),
        "unexpected extra files in {}",
        dir.display()
    );
}

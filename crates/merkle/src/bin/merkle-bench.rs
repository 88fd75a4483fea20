//! Merkle benchmark: tree build, proof generation and verification times (not a test).
//!
//! `cargo run --release -p verbench-merkle --bin merkle-bench`; `tools/bench-merkle.sh` also
//! prints the on-chain verification gas.
#![allow(clippy::print_stdout)] // a report: its output is the point

use std::time::{Duration, Instant};
use verbench_merkle::{hash_leaf, verify, Hash, MerkleTree};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn main() -> anyhow::Result<()> {
    println!("| leaves | hash leaves | build tree (rs_merkle) | prove (per proof) | verify (per proof) | depth |");
    println!("|---|---|---|---|---|---|");
    for log_n in [16u32, 20] {
        let n = 1u64 << log_n;
        let runs = if log_n <= 16 { 9 } else { 3 };
        let mut hash_times = Vec::new();
        let mut build_times = Vec::new();
        let mut tree = None;
        for _ in 0..runs {
            let t = Instant::now();
            let leaves: Vec<Hash> = (0..n).map(|i| hash_leaf(&i.to_be_bytes())).collect();
            hash_times.push(t.elapsed());
            let t = Instant::now();
            tree = Some((MerkleTree::from_leaf_hashes(&leaves)?, leaves));
            build_times.push(t.elapsed());
        }
        let (tree, leaves) = tree.expect("at least one run");
        let proofs_n = 1000u64;
        let step = n / proofs_n;
        let t = Instant::now();
        let proofs: Vec<_> = (0..proofs_n)
            .map(|j| tree.prove(j * step))
            .collect::<Result<_, _>>()?;
        let prove = t.elapsed() / proofs_n as u32;
        let t = Instant::now();
        for (j, proof) in proofs.iter().enumerate() {
            verify(
                &tree.root(),
                n,
                proof.index,
                &leaves[j * step as usize],
                &proof.siblings,
            )?;
        }
        let verify_time = t.elapsed() / proofs_n as u32;
        println!(
            "| 2^{log_n} | {:.1} ms | {:.1} ms | {:.2} us | {:.2} us | {} |",
            median(hash_times).as_secs_f64() * 1e3,
            median(build_times).as_secs_f64() * 1e3,
            prove.as_secs_f64() * 1e6,
            verify_time.as_secs_f64() * 1e6,
            proofs[0].siblings.len()
        );
    }
    Ok(())
}

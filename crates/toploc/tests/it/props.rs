//! Property tests: self-validation, different data fails, order independence.

use proptest::prelude::*;
use verbench_toploc::field::interpolate;
use verbench_toploc::{
    build_proofs, validate, verify_base64, Activations, Proof, ProofBuilder, ProofParams,
    Thresholds,
};

/// Gaussian-ish activations from a seed: sum of four uniforms, centred, with an occasional outlier
/// row (as hidden states have).
fn activations(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut uniform = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..n)
        .map(|i| {
            let g: f32 = (0..4).map(|_| uniform()).sum::<f32>() - 2.0;
            if i % 97 == 0 {
                g * 20.0
            } else {
                g
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A proof always validates against the activations it was built from: 0 mismatches, mean 0,
    /// median 0, whatever the values (ties, zeros, infinities and NaN included).
    #[test]
    fn proofs_validate_against_their_own_activations(
        prefill_rows in 0usize..6,
        rows in 0usize..40,
        hidden in 1usize..48,
        dbs in 1usize..9,
        k_frac in 0.0f64..1.0,
        values in proptest::collection::vec(any::<f32>(), 6 * 48 + 40 * 48),
    ) {
        let has_prefill = prefill_rows > 0;
        // Sizes of the chunks this input makes; k may not exceed the smallest.
        let mut sizes = Vec::new();
        if has_prefill {
            sizes.push(prefill_rows * hidden);
        }
        if rows > 0 {
            sizes.push(rows.min(dbs) * hidden);
            if rows % dbs != 0 {
                sizes.push((rows % dbs) * hidden);
            }
        }
        prop_assume!(!sizes.is_empty());
        let smallest_chunk = sizes.iter().copied().min().unwrap();
        let topk = 1 + ((smallest_chunk - 1) as f64 * k_frac) as usize;
        let params = ProofParams::new(topk, dbs).unwrap();
        let pre = &values[..prefill_rows * hidden];
        let dec = &values[6 * 48..6 * 48 + rows * hidden];
        let pre_a = Activations::f32(pre, prefill_rows, hidden).unwrap();
        let dec_a = Activations::f32(dec, rows, hidden).unwrap();
        let prefill = has_prefill.then_some(&pre_a);
        let proofs = build_proofs(&params, prefill, &dec_a).unwrap();
        prop_assert_eq!(proofs.len(), params.chunk_count(has_prefill, rows));
        for r in validate(&params, prefill, &dec_a, &proofs).unwrap() {
            prop_assert_eq!(r.exp_mismatches, 0);
            prop_assert_eq!(r.mant_err_mean, 0.0);
            prop_assert_eq!(r.mant_err_median, 0.0);
        }
        // The row-by-row builder gives the same proofs.
        let mut b = ProofBuilder::new(params);
        let mut inc = Vec::new();
        if let Some(p) = prefill {
            inc.push(b.prefill(p).unwrap());
        }
        for row in dec.chunks(hidden) {
            inc.extend(b.push_row_f32(row).unwrap());
        }
        inc.extend(b.finish().unwrap());
        prop_assert_eq!(inc, proofs);
    }

    /// Activations from another seed (standing in for another model) fail every chunk under the
    /// paper's defaults.
    #[test]
    fn different_activations_fail(seed in any::<u64>(), other in any::<u64>(), hidden in prop::sample::select(vec![256usize, 576, 1024])) {
        prop_assume!(seed != other);
        let rows = 64;
        let params = ProofParams::paper_defaults();
        let mine = activations(seed, rows * hidden);
        let theirs = activations(other, rows * hidden);
        let proofs: Vec<String> = build_proofs(&params, None, &Activations::f32(&mine, rows, hidden).unwrap())
            .unwrap()
            .iter()
            .map(Proof::to_base64)
            .collect();
        let thresholds = Thresholds::paper_defaults(params.topk());
        let honest = verify_base64(&params, &thresholds, None, &Activations::f32(&mine, rows, hidden).unwrap(), &proofs).unwrap();
        prop_assert!(honest.passed(), "{}", honest);
        let verdict = verify_base64(&params, &thresholds, None, &Activations::f32(&theirs, rows, hidden).unwrap(), &proofs).unwrap();
        prop_assert!(!verdict.passed());
        prop_assert_eq!(verdict.failed_chunks().count(), 2, "{}", verdict);
        prop_assert_eq!(verdict.first_failure().map(|c| c.index), Some(0));
    }

    /// The interpolating polynomial, and so the proof bytes, do not depend on point order.
    #[test]
    fn point_order_does_not_change_the_proof(
        points in proptest::collection::btree_map(0usize..300_000, any::<u16>(), 1..160)
            .prop_map(|m| m.into_iter().collect::<Vec<_>>())
            .prop_shuffle(),
        seed in any::<u64>(),
    ) {
        let proof = Proof::from_points(&points).unwrap();
        // A second, independent permutation: rotate and reverse by the seed.
        let mut permuted = points.clone();
        permuted.rotate_left((seed as usize) % points.len());
        if seed & 1 == 1 {
            permuted.reverse();
        }
        let again = Proof::from_points(&permuted).unwrap();
        prop_assert_eq!(proof.to_bytes(), again.to_bytes());
        let mut sorted = points.clone();
        sorted.sort_unstable();
        prop_assert_eq!(Proof::from_points(&sorted).unwrap().to_bytes(), proof.to_bytes());
        // The field-level API too, at reduced x.
        let m = usize::from(proof.modulus());
        let reduced: Vec<(u16, u16)> = points.iter().map(|&(i, y)| ((i % m) as u16, y)).collect();
        let mut rev = reduced.clone();
        rev.reverse();
        prop_assert_eq!(interpolate(&reduced).unwrap(), interpolate(&rev).unwrap());
        prop_assert_eq!(interpolate(&reduced).unwrap(), proof.coeffs().to_vec());
        for &(i, y) in &points {
            prop_assert_eq!(u32::from(proof.predict(i)), u32::from(y) % 65497);
        }
    }
}

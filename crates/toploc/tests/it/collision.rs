//! A chunk whose top-k indices collide modulo 65497 (and the next few candidates), validated
//! against perturbed activations and checked against a slow, independent computation.

use verbench_toploc::{build_proofs, validate, Activations, Proof, ProofParams};

const P: u64 = 65497;
const ROWS: usize = 32;
const HIDDEN: usize = 4096;
const K: usize = 128;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn to_bf16(x: f32) -> u16 {
    // Truncation is enough for building test data.
    (x.to_bits() >> 16) as u16
}

/// Prover activations: small noise everywhere, 128 large distinct values at chosen indices,
/// three pairs of which collide modulo 65497, 65496 and 65495.
fn prover_bits() -> (Vec<u16>, Vec<usize>) {
    let mut rng = Lcg(42);
    let mut bits: Vec<u16> = (0..ROWS * HIDDEN)
        .map(|_| {
            let v = 0.001 + (rng.next() % 1000) as f32 * 1e-5;
            to_bf16(if rng.next() % 2 == 0 { v } else { -v })
        })
        .collect();
    let mut idx = vec![1000, 1000 + 65497, 2000, 2000 + 65496, 3000, 3000 + 65495];
    while idx.len() < K {
        let i = (rng.next() as usize) % (ROWS * HIDDEN);
        if !idx.contains(&i) {
            idx.push(i);
        }
    }
    for (j, &i) in idx.iter().enumerate() {
        // Distinct magnitudes 1.0 + j/16 ..., well above the noise; alternate signs.
        let v = 1.0 + j as f32 / 16.0;
        bits[i] = to_bf16(if j % 3 == 0 { -v } else { v });
    }
    (bits, idx)
}

/// The largest m <= P keeping `idx` distinct mod m, by brute force over sorted residues.
fn naive_modulus(idx: &[usize]) -> u64 {
    (1..=P)
        .rev()
        .find(|&m| {
            let mut r: Vec<u64> = idx.iter().map(|&i| i as u64 % m).collect();
            r.sort_unstable();
            r.windows(2).all(|w| w[0] != w[1])
        })
        .expect("some modulus")
}

fn pow_mod(mut a: u64, mut e: u64) -> u64 {
    let mut acc = 1;
    a %= P;
    while e > 0 {
        if e & 1 == 1 {
            acc = acc * a % P;
        }
        a = a * a % P;
        e >>= 1;
    }
    acc
}

/// Lagrange's formula evaluated directly at `at` through `(x, y)` points (no coefficients).
fn lagrange(points: &[(u64, u64)], at: u64) -> u64 {
    let mut total = 0;
    for (j, &(xj, yj)) in points.iter().enumerate() {
        let mut num = 1;
        let mut den = 1;
        for (i, &(xi, _)) in points.iter().enumerate() {
            if i != j {
                num = num * ((at + P - xi) % P) % P;
                den = den * ((xj + P - xi) % P) % P;
            }
        }
        total = (total + yj * num % P * pow_mod(den, P - 2)) % P;
    }
    total
}

/// Top-k indices by a full sort of |value| (tie-free input).
fn naive_topk(bits: &[u16]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..bits.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(bits[i] & 0x7FFF));
    order.truncate(K);
    order
}

/// The reference's figures from predicted and actual bit patterns.
fn figures(pairs: &[(u16, u16)]) -> (usize, f64, f64) {
    let mut mismatches = 0;
    let mut errs = Vec::new();
    for &(pred, actual) in pairs {
        if (pred >> 7) & 0xFF == (actual >> 7) & 0xFF {
            errs.push(f64::from(
                ((pred & 0x7F) as i32 - (actual & 0x7F) as i32).abs(),
            ));
        } else {
            mismatches += 1;
        }
    }
    if errs.is_empty() {
        return (mismatches, 2f64.powi(64), 2f64.powi(64));
    }
    let mean = errs.iter().sum::<f64>() / errs.len() as f64;
    errs.sort_by(f64::total_cmp);
    (mismatches, mean, errs[errs.len() / 2])
}

#[test]
fn reduced_modulus_validation_matches_independent_computation() {
    let (bits, idx) = prover_bits();
    let params = ProofParams::new(K, ROWS).expect("params");
    let acts = Activations::bf16_bits(&bits, ROWS, HIDDEN).expect("shape");
    let proofs = build_proofs(&params, None, &acts).expect("build");
    assert_eq!(proofs.len(), 1);
    let proof = &proofs[0];

    // The modulus search stepped down past all three collisions, to the brute-force answer.
    let m = naive_modulus(&idx);
    assert!(
        m < 65495,
        "test data should force at least three steps, got {m}"
    );
    assert_eq!(u64::from(proof.modulus()), m);

    // The committed polynomial passes through the prover's points at reduced x.
    let points: Vec<(u64, u64)> = idx
        .iter()
        .map(|&i| (i as u64 % m, u64::from(bits[i]) % P))
        .collect();
    for (&i, &(_, y)) in idx.iter().zip(&points) {
        assert_eq!(u64::from(proof.predict(i)), y);
    }

    // Verifier activations: same data with a few top-k values nudged. Every 4th point gets its
    // bits +3 (mantissa error, sometimes an exponent carry), every 17th doubles (exponent + 1).
    let mut verifier = bits.clone();
    for (j, &i) in idx.iter().enumerate() {
        if j % 17 == 0 {
            verifier[i] += 0x0080;
        } else if j % 4 == 0 {
            verifier[i] += 3;
        }
    }
    let vacts = Activations::bf16_bits(&verifier, ROWS, HIDDEN).expect("shape");
    let got = validate(&params, None, &vacts, &proofs).expect("validate")[0];

    // Independent: full-sort top-k of the verifier data, Lagrange evaluation at i mod m.
    let vtop = naive_topk(&verifier);
    let pairs: Vec<(u16, u16)> = vtop
        .iter()
        .map(|&i| (lagrange(&points, i as u64 % m) as u16, verifier[i]))
        .collect();
    let want = figures(&pairs);
    assert_eq!(
        (got.exp_mismatches, got.mant_err_mean, got.mant_err_median),
        want
    );
    assert!(
        want.0 > 0 && want.1 > 0.0,
        "perturbation should show: {want:?}"
    );

    // The pure-Python defect: evaluating at unreduced indices gives different figures, because
    // the top-k indices at or above m land on other x values.
    let unreduced: Vec<(u16, u16)> = vtop
        .iter()
        .map(|&i| (proof.evaluate((i as u64 % P) as u32), verifier[i]))
        .collect();
    let wrong = figures(&unreduced);
    assert_ne!(wrong, want);
    assert!(
        wrong.0 > want.0 + 20,
        "unreduced evaluation should mismatch widely: {wrong:?} vs {want:?}"
    );
    // And on the prover's own data, reduced evaluation is perfect while unreduced is not.
    let own: Vec<(u16, u16)> = idx.iter().map(|&i| (proof.predict(i), bits[i])).collect();
    assert_eq!(figures(&own), (0, 0.0, 0.0));
    let own_unreduced: Vec<(u16, u16)> = idx
        .iter()
        .map(|&i| (proof.evaluate((i as u64 % P) as u32), bits[i]))
        .collect();
    assert_ne!(figures(&own_unreduced), (0, 0.0, 0.0));
    let _ = Proof::from_bytes(&proof.to_bytes()).expect("round trip");
}

//! Arithmetic in GF(65497), the modulus search, interpolation and evaluation.
//!
//! Every field element is a `u32` below [`P`]; products of two of them fit in a `u64` (and even in a
//! `u32`, since `65496^2 < 2^32`), so no step can overflow.

use crate::error::{Error, Result};

/// The field prime, the largest prime below 2^16.
pub const P: u32 = 65497;

/// `a * b mod P` for canonical inputs.
#[inline]
fn mul(a: u32, b: u32) -> u32 {
    // a, b < P < 2^16, so the product is below 2^32.
    (a * b) % P
}

/// `a + b mod P` for canonical inputs.
#[inline]
fn add(a: u32, b: u32) -> u32 {
    let s = a + b;
    if s >= P {
        s - P
    } else {
        s
    }
}

/// `a - b mod P` for canonical inputs.
#[inline]
fn sub(a: u32, b: u32) -> u32 {
    if a >= b {
        a - b
    } else {
        a + P - b
    }
}

/// `a^e mod P`.
fn pow(mut a: u32, mut e: u32) -> u32 {
    let mut acc = 1;
    while e > 0 {
        if e & 1 == 1 {
            acc = mul(acc, a);
        }
        a = mul(a, a);
        e >>= 1;
    }
    acc
}

/// Multiplicative inverse by Fermat's little theorem; `a` must be non-zero.
fn inv(a: u32) -> u32 {
    debug_assert!(a != 0 && a < P);
    pow(a, P - 2)
}

/// Inverts every element of `xs` in place with one field inversion (Montgomery's trick).
/// All elements must be non-zero.
fn batch_inv(xs: &mut [u32]) {
    let mut prefix = Vec::with_capacity(xs.len());
    let mut acc = 1;
    for &x in xs.iter() {
        prefix.push(acc);
        acc = mul(acc, x);
    }
    let mut inv_acc = inv(acc);
    for (x, before) in xs.iter_mut().zip(prefix).rev() {
        let x_inv = mul(inv_acc, before);
        inv_acc = mul(inv_acc, *x);
        *x = x_inv;
    }
}

/// The largest `m <= P` such that the `indices` are pairwise distinct modulo `m`, searching
/// downward from `P` exactly as the reference does. `indices` must be distinct.
///
/// Each candidate costs O(k) with a generation-stamped table, so the search never sorts.
pub fn injective_modulus(indices: &[usize]) -> Result<u16> {
    let k = indices.len();
    // Fast path: when every index is already below P, P itself separates them.
    if indices.iter().all(|&i| i < P as usize) {
        return Ok(P as u16);
    }
    // stamp[r] == generation means residue r was already seen for the current candidate.
    let mut stamp = vec![0u32; P as usize];
    let mut generation = 0u32;
    for m in (k.max(1)..=P as usize).rev() {
        generation += 1;
        let mut ok = true;
        for &i in indices {
            let r = i % m;
            if stamp[r] == generation {
                ok = false;
                break;
            }
            stamp[r] = generation;
        }
        if ok {
            // m <= P < 2^16.
            return Ok(m as u16);
        }
    }
    Err(Error::NoInjectiveModulus)
}

/// Coefficients (ascending powers) of the unique polynomial of degree `< n` through the `n`
/// points `(x, y)` over GF(P); both coordinates are reduced mod P first (so a bf16 bit pattern
/// at or above 65497 wraps, as in the reference). The result does not depend on the order of the
/// points.
///
/// Lagrange form with barycentric weights, O(n^2) multiplications plus one field inversion: the
/// weights `w_j = 1 / prod_{i != j} (x_j - x_i)`, the master polynomial `M = prod (x - x_i)`, and
/// `sum_j y_j w_j M / (x - x_j)` by synthetic division. Every inner loop runs across the points
/// rather than along a dependency chain, so the compiler can vectorise it.
pub fn interpolate(points: &[(u16, u16)]) -> Result<Vec<u16>> {
    let n = points.len();
    if n == 0 {
        return Err(Error::NoPoints);
    }
    let x: Vec<u32> = points.iter().map(|&(v, _)| u32::from(v) % P).collect();
    let y: Vec<u32> = points.iter().map(|&(_, v)| u32::from(v) % P).collect();
    let mut sorted = x.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        // Field elements are below P, so they fit a u16.
        return Err(Error::DuplicateX(w[0] as u16));
    }

    // Weights. With distinct x, x_j - x_i is zero only for i == j, where the factor must be 1.
    let mut w = vec![1u32; n];
    for &xi in &x {
        for (wj, &xj) in w.iter_mut().zip(&x) {
            let diff = sub(xj, xi);
            *wj = mul(*wj, diff + u32::from(diff == 0));
        }
    }
    batch_inv(&mut w);

    // Master polynomial, ascending coefficients, degree n.
    let mut master = vec![0u32; n + 1];
    master[0] = 1;
    for (deg, &xi) in x.iter().enumerate() {
        // Multiply by (x - xi): new[t] = old[t-1] - xi * old[t], highest term first.
        for t in (1..=deg + 1).rev() {
            master[t] = sub(master[t - 1], mul(xi, master[t]));
        }
        master[0] = sub(0, mul(xi, master[0]));
    }

    // Synthetic division of M by every (x - x_j) at once, from the top coefficient down:
    // q_j[n-1] = M[n], q_j[t-1] = M[t] + x_j q_j[t]; coefficient t of the result is
    // sum_j y_j w_j q_j[t].
    let scale: Vec<u32> = y.iter().zip(&w).map(|(&yj, &wj)| mul(yj, wj)).collect();
    let mut carry = vec![master[n]; n];
    let mut coeffs = vec![0u16; n];
    for t in (0..n).rev() {
        // n <= 65497 terms below 2^32 each: the sum stays below 2^48.
        let acc: u64 = scale
            .iter()
            .zip(&carry)
            .map(|(&s, &q)| u64::from(mul(s, q)))
            .sum();
        // Below P < 2^16.
        coeffs[t] = (acc % u64::from(P)) as u16;
        if t > 0 {
            let m = master[t];
            for (q, &xj) in carry.iter_mut().zip(&x) {
                *q = add(m, mul(xj, *q));
            }
        }
    }
    Ok(coeffs)
}

/// Horner evaluation of ascending coefficients at `x`; both are reduced mod P first.
pub fn evaluate(coeffs: &[u16], x: u32) -> u16 {
    let x = x % P;
    let mut acc = 0u32;
    for &c in coeffs.iter().rev() {
        acc = add(mul(acc, x), u32::from(c) % P);
    }
    // acc < P < 2^16.
    acc as u16
}

/// [`evaluate`] at many points, interleaving the points so the Horner steps run side by side.
pub fn evaluate_many(coeffs: &[u16], xs: &[u32]) -> Vec<u16> {
    let xs: Vec<u32> = xs.iter().map(|&x| x % P).collect();
    let mut acc = vec![0u32; xs.len()];
    for &c in coeffs.iter().rev() {
        let c = u32::from(c) % P;
        for (a, &x) in acc.iter_mut().zip(&xs) {
            // a, x < P and c < P: a * x + c <= 65496^2 + 65496 < 2^32.
            *a = (*a * x + c) % P;
        }
    }
    // Each value is below P < 2^16.
    acc.into_iter().map(|a| a as u16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lagrange evaluation straight from the definition, as an independent check.
    fn lagrange_at(xs: &[u32], ys: &[u32], at: u32) -> u32 {
        let mut total = 0;
        for j in 0..xs.len() {
            let mut num = 1;
            let mut den = 1;
            for i in 0..xs.len() {
                if i != j {
                    num = mul(num, sub(at, xs[i]));
                    den = mul(den, sub(xs[j], xs[i]));
                }
            }
            total = add(total, mul(ys[j], mul(num, inv(den))));
        }
        total
    }

    #[test]
    fn inverse_round_trips() {
        for a in [1, 2, 3, 1000, 65496, 12345] {
            assert_eq!(mul(a, inv(a)), 1);
        }
        let mut xs = vec![5, 7, 65496, 1, 31337];
        let orig = xs.clone();
        batch_inv(&mut xs);
        for (a, b) in orig.iter().zip(&xs) {
            assert_eq!(mul(*a, *b), 1);
        }
    }

    #[test]
    fn interpolation_passes_through_points_and_matches_lagrange() {
        let xs: Vec<u16> = vec![3, 100, 65000, 7, 42, 9999];
        let ys: Vec<u16> = vec![0x3f80, 0xbf80, 0, 65535, 65497, 1];
        let pts: Vec<(u16, u16)> = xs.iter().copied().zip(ys.iter().copied()).collect();
        let c = interpolate(&pts).unwrap();
        assert_eq!(c.len(), xs.len());
        for (&x, &y) in xs.iter().zip(&ys) {
            assert_eq!(u32::from(evaluate(&c, u32::from(x))), u32::from(y) % P);
        }
        let xs32: Vec<u32> = xs.iter().map(|&v| u32::from(v)).collect();
        let ys32: Vec<u32> = ys.iter().map(|&v| u32::from(v) % P).collect();
        let ats = [0u32, 1, 2, 500, 65496, 65497, 200_000];
        let many = evaluate_many(&c, &ats);
        for (&at, &v) in ats.iter().zip(&many) {
            assert_eq!(
                u32::from(evaluate(&c, at)),
                lagrange_at(&xs32, &ys32, at % P)
            );
            assert_eq!(v, evaluate(&c, at));
        }
    }

    #[test]
    fn single_point_is_a_constant() {
        assert_eq!(interpolate(&[(9, 65535)]).unwrap(), vec![38]);
    }

    #[test]
    fn duplicate_x_is_an_error() {
        assert_eq!(interpolate(&[(4, 1), (4, 2)]), Err(Error::DuplicateX(4)));
        assert_eq!(interpolate(&[]), Err(Error::NoPoints));
    }

    #[test]
    fn modulus_search_steps_down() {
        assert_eq!(injective_modulus(&[0, 1, 65496]).unwrap(), 65497);
        // 65497 and 0 collide mod 65497; 65496 separates them.
        assert_eq!(injective_modulus(&[0, 65497]).unwrap(), 65496);
        // 0, 65496 and 65497*2 - 2 = 130992 -> mod 65496: 0, 0 → step down further.
        let idx = [0usize, 65496, 130_993];
        let m = injective_modulus(&idx).unwrap();
        let mut r: Vec<usize> = idx.iter().map(|i| i % m as usize).collect();
        r.sort_unstable();
        r.dedup();
        assert_eq!(r.len(), 3);
        for bigger in (m as usize + 1)..=P as usize {
            let mut r: Vec<usize> = idx.iter().map(|i| i % bigger).collect();
            r.sort_unstable();
            r.dedup();
            assert!(r.len() < 3, "modulus {bigger} should have collided");
        }
    }
}

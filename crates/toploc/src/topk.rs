//! Top-k selection by bf16 magnitude without sorting the whole chunk.
//!
//! The selected set is the k elements with the largest `|value|` (compared as sign-cleared bf16
//! bits, see [`crate::bf16::magnitude`]); among elements tied at the boundary magnitude the lowest
//! flat indices win. On tie-free input this is the set the reference selects; on tied input the
//! reference's choice depends on its sort algorithm and may differ (see the crate docs).

use crate::bf16::magnitude;

/// Below this many values a plain `select_nth_unstable` on packed keys beats clearing a
/// 32768-bin histogram.
const HISTOGRAM_MIN_LEN: usize = 4096;

/// Flat indices of the `k` largest-magnitude values of `bits`, in ascending index order.
///
/// `k` must not exceed `bits.len()`; the callers check that and report a typed error.
pub fn topk_indices(bits: &[u16], k: usize) -> Vec<usize> {
    debug_assert!(k <= bits.len());
    if k == 0 {
        return Vec::new();
    }
    if bits.len() < HISTOGRAM_MIN_LEN {
        topk_by_select(bits, k)
    } else {
        topk_by_histogram(bits, k)
    }
}

/// Selection on packed `(magnitude, reversed index)` keys: O(n) on average.
pub(crate) fn topk_by_select(bits: &[u16], k: usize) -> Vec<usize> {
    // Key layout: magnitude in bits 48..63, `MAX_INDEX - index` below, so that a larger key means
    // a larger magnitude or, at equal magnitude, a lower index. Keys are unique.
    const MAX_INDEX: u64 = (1 << 48) - 1;
    let mut keys: Vec<u64> = bits
        .iter()
        .enumerate()
        .map(|(i, &b)| (u64::from(magnitude(b)) << 48) | (MAX_INDEX - i as u64))
        .collect();
    let n = keys.len();
    if k < n {
        // Everything from position n - k on is at least the (n-k)-th smallest key.
        keys.select_nth_unstable(n - k);
    }
    let mut out: Vec<usize> = keys[n - k..]
        .iter()
        .map(|&key| (MAX_INDEX - (key & MAX_INDEX)) as usize)
        .collect();
    out.sort_unstable();
    out
}

/// Counting selection over the 2^15 possible magnitudes: two linear passes, no comparisons.
pub(crate) fn topk_by_histogram(bits: &[u16], k: usize) -> Vec<usize> {
    let mut hist = vec![0u32; 1 << 15];
    for &b in bits {
        hist[usize::from(magnitude(b))] += 1;
    }
    // Find the boundary magnitude t: fewer than k values lie strictly above it, at least k at or
    // above it.
    let mut above = 0usize;
    let mut threshold = 0u16;
    for t in (0..hist.len()).rev() {
        let here = hist[t] as usize;
        if above + here >= k {
            // t < 2^15.
            threshold = t as u16;
            break;
        }
        above += here;
    }
    let mut ties_wanted = k - above;
    let mut out = Vec::with_capacity(k);
    for (i, &b) in bits.iter().enumerate() {
        let m = magnitude(b);
        if m > threshold {
            out.push(i);
        } else if m == threshold && ties_wanted > 0 {
            ties_wanted -= 1;
            out.push(i);
        }
    }
    debug_assert_eq!(out.len(), k);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(bits: &[u16], k: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..bits.len()).collect();
        idx.sort_by(|&a, &b| magnitude(bits[b]).cmp(&magnitude(bits[a])).then(a.cmp(&b)));
        let mut top = idx[..k].to_vec();
        top.sort_unstable();
        top
    }

    fn lcg(seed: &mut u64) -> u16 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 48) as u16
    }

    #[test]
    fn both_paths_agree_with_a_full_sort() {
        let mut seed = 7u64;
        for &(n, k, spread) in &[
            (10usize, 3usize, u16::MAX),
            (5000, 128, u16::MAX),
            (5000, 128, 0x000F),
            (9000, 4999, 0x8003),
            (64, 64, 0x00FF),
        ] {
            let bits: Vec<u16> = (0..n).map(|_| lcg(&mut seed) & spread).collect();
            let want = naive(&bits, k);
            assert_eq!(topk_by_select(&bits, k), want, "select n={n} k={k}");
            assert_eq!(topk_by_histogram(&bits, k), want, "histogram n={n} k={k}");
            assert_eq!(topk_indices(&bits, k), want);
        }
    }

    #[test]
    fn sign_is_ignored_and_nan_is_largest() {
        // -3.0, 1.0, +inf, NaN, -0.5
        let bits = [0xC040, 0x3F80, 0x7F80, 0x7FC0, 0xBF00];
        assert_eq!(topk_indices(&bits, 2), vec![2, 3]);
        assert_eq!(topk_indices(&bits, 3), vec![0, 2, 3]);
    }
}

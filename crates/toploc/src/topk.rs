//! Top-k selection by bf16 magnitude without sorting the whole chunk.
//!
//! The selected set is the k elements with the largest `|value|` (compared as sign-cleared bf16
//! bits, see [`crate::bf16::magnitude`]); among elements tied at the boundary magnitude the lowest
//! flat indices win. On tie-free input this is the set the reference selects; on tied input the
//! reference's choice depends on its sort algorithm and may differ (see the crate docs).

use crate::bf16::magnitude;

/// Below this many values a plain `select_nth_unstable` on packed keys beats three passes.
const HISTOGRAM_MIN_LEN: usize = 4096;

/// Flat indices of the `k` largest-magnitude values of `bits`, in ascending index order (all of
/// them when `k >= bits.len()`; the proof builders reject such chunks before getting here).
pub fn topk_indices(bits: &[u16], k: usize) -> Vec<usize> {
    let k = k.min(bits.len());
    if k == 0 {
        return Vec::new();
    }
    if bits.len() < HISTOGRAM_MIN_LEN {
        topk_by_select(bits, k)
    } else {
        topk_by_sampling(bits, k).unwrap_or_else(|| topk_by_histogram(bits, k))
    }
}

/// Packs a magnitude and an index into a key that orders by magnitude, then by lower index.
/// Indices must be below 2^48.
#[inline]
fn key(mag: u16, index: usize) -> u64 {
    (u64::from(mag) << 48) | (KEY_INDEX_MASK - index as u64)
}

/// Index bits of a [`key`].
const KEY_INDEX_MASK: u64 = (1 << 48) - 1;

/// The `k` largest keys' indices, ascending.
fn select_keys(mut keys: Vec<u64>, k: usize) -> Vec<usize> {
    let n = keys.len();
    if k < n {
        // Everything from position n - k on is at least the (n-k)-th smallest key.
        keys.select_nth_unstable(n - k);
    }
    let mut out: Vec<usize> = keys[n - k..]
        .iter()
        .map(|&key| (KEY_INDEX_MASK - (key & KEY_INDEX_MASK)) as usize)
        .collect();
    out.sort_unstable();
    out
}

/// Guesses a magnitude threshold from an evenly spaced sample (aiming at about `4k` values at or
/// above it), gathers every value at or above the guess in one pass that skips blocks with a
/// vectorisable check, and selects exactly among those candidates.
///
/// The answer is exact whenever it is `Some`: if at least `k` values reach the guess, the k-th
/// largest magnitude, every value above it and every value tied with it reach the guess too.
/// Returns `None` (the caller falls back) when the guess admits fewer than `k` values or so many
/// that gathering would cost more than counting.
pub(crate) fn topk_by_sampling(bits: &[u16], k: usize) -> Option<Vec<usize>> {
    const SAMPLES: usize = 2048;
    const BLOCK: usize = 32;
    let n = bits.len();
    let stride = (n / SAMPLES).max(1);
    let mut sample: Vec<u16> = bits.iter().step_by(stride).map(|&b| magnitude(b)).collect();
    // Rank from the top, in the sample, of the value expected to have ~4k values above it in all.
    let rank = (4 * k * sample.len()).div_ceil(n).max(1);
    if rank >= sample.len() {
        return None;
    }
    let pos = sample.len() - rank;
    let threshold = *sample.select_nth_unstable(pos).1;
    let cap = (n / 8).max(16 * k);
    let mut keys: Vec<u64> = Vec::with_capacity(8 * k);
    for (b, block) in bits.chunks(BLOCK).enumerate() {
        let hit = block
            .iter()
            .fold(false, |acc, &v| acc | (magnitude(v) >= threshold));
        if hit {
            for (j, &v) in block.iter().enumerate() {
                let m = magnitude(v);
                if m >= threshold {
                    keys.push(key(m, b * BLOCK + j));
                }
            }
            if keys.len() > cap {
                return None;
            }
        }
    }
    if keys.len() < k {
        return None;
    }
    Some(select_keys(keys, k))
}

/// Selection on packed `(magnitude, reversed index)` keys: O(n) on average.
pub(crate) fn topk_by_select(bits: &[u16], k: usize) -> Vec<usize> {
    let keys: Vec<u64> = bits
        .iter()
        .enumerate()
        .map(|(i, &b)| key(magnitude(b), i))
        .collect();
    select_keys(keys, k)
}

/// Counting selection in two levels: a 256-bin histogram of the magnitude's high 8 bits (sign-free
/// exponent) finds the bucket holding the k-th largest value, a 128-bin histogram of the low 7 bits
/// (mantissa) inside that bucket finds the exact boundary magnitude, and a last pass collects.
/// Three linear passes, no comparisons between elements, and only 1.5 KiB of counters.
pub(crate) fn topk_by_histogram(bits: &[u16], k: usize) -> Vec<usize> {
    // Four interleaved coarse histograms so runs of equal buckets do not serialise on one counter.
    let mut coarse = [[0u32; 256]; 4];
    let mut quads = bits.chunks_exact(4);
    for q in &mut quads {
        for (h, &b) in coarse.iter_mut().zip(q) {
            h[usize::from(magnitude(b) >> 7)] += 1;
        }
    }
    for &b in quads.remainder() {
        coarse[0][usize::from(magnitude(b) >> 7)] += 1;
    }
    let mut above = 0usize;
    let mut bucket = 0u16;
    for t in (0..256).rev() {
        let here: usize = coarse.iter().map(|h| h[t] as usize).sum();
        if above + here >= k {
            // t < 256.
            bucket = t as u16;
            break;
        }
        above += here;
    }

    let mut fine = [0u32; 128];
    for &b in bits {
        let m = magnitude(b);
        if m >> 7 == bucket {
            fine[usize::from(m & 0x7F)] += 1;
        }
    }
    let mut threshold = bucket << 7;
    for t in (0..128).rev() {
        let here = fine[t] as usize;
        if above + here >= k {
            // t < 128.
            threshold = (bucket << 7) | t as u16;
            break;
        }
        above += here;
    }

    // `above` now counts the values strictly above `threshold`; the rest come from the ties, lowest
    // index first.
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
            if let Some(got) = topk_by_sampling(&bits, k) {
                assert_eq!(got, want, "sampling n={n} k={k}");
            }
            assert_eq!(topk_indices(&bits, k), want);
        }
    }

    #[test]
    fn sampling_is_exact_or_declines() {
        let mut seed = 11u64;
        let mut used = 0;
        for round in 0..200 {
            let n = 4096 + (lcg(&mut seed) as usize % 40_000);
            let k = 1 + lcg(&mut seed) as usize % 300;
            // Vary the spread so that some rounds are tie-heavy.
            let spread = [0xFFFFu16, 0x3FFF, 0x00FF, 0x000F][round % 4];
            let bits: Vec<u16> = (0..n).map(|_| lcg(&mut seed) & spread).collect();
            let want = naive(&bits, k);
            if let Some(got) = topk_by_sampling(&bits, k) {
                assert_eq!(got, want, "round {round}");
                used += 1;
            }
            assert_eq!(topk_indices(&bits, k), want, "round {round}");
        }
        assert!(
            used > 100,
            "the fast path should usually apply ({used}/200)"
        );
    }

    #[test]
    fn sign_is_ignored_and_nan_is_largest() {
        // -3.0, 1.0, +inf, NaN, -0.5
        let bits = [0xC040, 0x3F80, 0x7F80, 0x7FC0, 0xBF00];
        assert_eq!(topk_indices(&bits, 2), vec![2, 3]);
        assert_eq!(topk_indices(&bits, 3), vec![0, 2, 3]);
        assert_eq!(topk_indices(&bits, 9), vec![0, 1, 2, 3, 4]);
        assert!(topk_indices(&[], 3).is_empty());
    }
}

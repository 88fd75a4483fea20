//! Token choice: greedy, or seeded sampling that a validator can replay exactly.
//!
//! Seeded sampling uses the Gumbel-max trick: the token at output position `i` is
//! `argmax_j (logit_j / T + g(seed, i, j))` over the top-p nucleus, where `g` is standard Gumbel
//! noise derived from `(seed, i, j)` by a counter-based hash (splitmix64), so the noise of any
//! position can be recomputed without replaying the ones before it. This samples exactly from
//! `softmax(logits / T)` restricted to the nucleus, and turns the validator's question into the
//! same one as for greedy decoding: is the claimed token the argmax of a known score, within a
//! margin for honest arithmetic differences?

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How output tokens are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Sampling {
    /// The highest logit.
    Greedy,
    /// Gumbel-max sampling at `temperature` within the `top_p` nucleus, reproducible from `seed`.
    Seeded {
        /// Seed of the noise.
        seed: u64,
        /// Softmax temperature, > 0.
        temperature: f32,
        /// Nucleus mass in (0, 1].
        top_p: f32,
    },
}

impl Sampling {
    /// The sampling a task's generation parameters mean (`IDisputeGame.GenerationParams`):
    /// greedy when `temperature_milli == 0`, else seeded Gumbel-max sampling at
    /// `temperature_milli / 1000` with top-p 1 (the protocol does not carry top-p).
    pub fn from_task(temperature_milli: u32, seed: u64) -> Self {
        if temperature_milli == 0 {
            Self::Greedy
        } else {
            Self::Seeded {
                seed,
                temperature: temperature_milli as f32 / 1000.0,
                top_p: 1.0,
            }
        }
    }

    /// Checks the parameters.
    pub fn check(&self) -> Result<()> {
        if let Self::Seeded {
            temperature, top_p, ..
        } = *self
        {
            if !(temperature > 0.0 && temperature.is_finite()) {
                return Err(Error::InvalidParams(format!(
                    "temperature {temperature} must be > 0"
                )));
            }
            if !(top_p > 0.0 && top_p <= 1.0) {
                return Err(Error::InvalidParams(format!(
                    "top_p {top_p} must be in (0, 1]"
                )));
            }
        }
        Ok(())
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Standard Gumbel noise for output position `pos` and token `tok` under `seed`.
pub fn gumbel(seed: u64, pos: u64, tok: u64) -> f32 {
    let h = splitmix64(splitmix64(splitmix64(seed) ^ pos) ^ tok);
    // 53 random bits, mapped into the open interval (0, 1).
    let u = ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    (-(-u.ln()).ln()) as f32
}

/// Probabilities of `logits / temperature` and, for every token, the probability mass of the
/// tokens ranked before it (descending probability, ties by index): token `j` is in the top-p
/// nucleus exactly when `mass_before[j] < top_p`.
fn mass_before(logits: &[f32], temperature: f32) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let p: Vec<f64> = logits
        .iter()
        .map(|&l| (((l - max) / temperature) as f64).exp())
        .collect();
    let z: f64 = p.iter().sum();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    let mut before = vec![0.0; logits.len()];
    let mut cum = 0.0;
    for &i in &order {
        before[i] = cum;
        cum += p[i] / z;
    }
    before
}

/// The top-p nucleus of `logits / temperature` as a membership mask (everything when
/// `top_p >= 1`).
fn nucleus(logits: &[f32], temperature: f32, top_p: f32) -> Vec<bool> {
    if top_p >= 1.0 {
        return vec![true; logits.len()];
    }
    mass_before(logits, temperature)
        .into_iter()
        .map(|m| m < top_p as f64)
        .collect()
}

/// The score whose argmax is the sampled token, in logit units: `logit + T * g` (Gumbel-max
/// scaled by the temperature so that margins compare with greedy margins).
pub(crate) fn score(sampling: &Sampling, pos: usize, tok: usize, logit: f32) -> f32 {
    match *sampling {
        Sampling::Greedy => logit,
        Sampling::Seeded {
            seed, temperature, ..
        } => logit + temperature * gumbel(seed, pos as u64, tok as u64),
    }
}

/// Chooses the token at output position `pos` from `logits`.
pub fn choose(sampling: &Sampling, pos: usize, logits: &[f32]) -> u32 {
    let keep = match *sampling {
        Sampling::Greedy => None,
        Sampling::Seeded {
            temperature, top_p, ..
        } => Some(nucleus(logits, temperature, top_p)),
    };
    let mut best = (f32::NEG_INFINITY, 0usize);
    for (j, &l) in logits.iter().enumerate() {
        if keep.as_ref().is_some_and(|k| !k[j]) {
            continue;
        }
        let s = score(sampling, pos, j, l);
        if s > best.0 {
            best = (s, j);
        }
    }
    best.1 as u32
}

/// How far `claimed` is from being the choice at `pos` under `logits`, in logit units: the best
/// competing score minus the claimed token's score (0 when it is the choice).
///
/// `margin` is the logit error the caller tolerates per token. It matters only for nucleus
/// sampling (`top_p < 1`), where the nucleus itself moves with honest arithmetic noise: a logit
/// error of `e` scales each probability by at most `exp(2e/T)`, so the validator cannot tell on
/// which side of the boundary a token near it fell during generation. Competitors then count only
/// when they are in the nucleus shrunk by `exp(-2·margin/T)` (surely in the generator's nucleus),
/// and a claimed token outside the nucleus widened by `exp(2·margin/T)` (surely outside it)
/// gets an infinite gap. With `top_p = 1` (the protocol's tasks) the rule is exact.
pub fn gap(sampling: &Sampling, pos: usize, logits: &[f32], claimed: u32, margin: f32) -> f32 {
    let c = claimed as usize;
    let Some(&lc) = logits.get(c) else {
        return f32::INFINITY;
    };
    let competes: Option<Vec<bool>> = match *sampling {
        Sampling::Seeded {
            temperature, top_p, ..
        } if top_p < 1.0 => {
            let before = mass_before(logits, temperature);
            let slack = (2.0 * f64::from(margin.max(0.0)) / f64::from(temperature)).exp();
            if before[c] >= f64::from(top_p) * slack {
                return f32::INFINITY;
            }
            Some(
                before
                    .iter()
                    .map(|&m| m < f64::from(top_p) / slack)
                    .collect(),
            )
        }
        _ => None,
    };
    let mine = score(sampling, pos, c, lc);
    let mut best = mine;
    for (j, &l) in logits.iter().enumerate() {
        if competes.as_ref().is_some_and(|k| !k[j]) {
            continue;
        }
        best = best.max(score(sampling, pos, j, l));
    }
    best - mine
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gumbel_is_deterministic_and_spread() {
        assert_eq!(gumbel(1, 2, 3), gumbel(1, 2, 3));
        assert_ne!(gumbel(1, 2, 3), gumbel(1, 2, 4));
        let mean: f32 = (0..10_000).map(|j| gumbel(7, 0, j)).sum::<f32>() / 10_000.0;
        assert!((mean - 0.5772).abs() < 0.05, "Gumbel mean {mean}");
    }

    #[test]
    fn nucleus_boundary_is_judged_with_the_margin() {
        // Probabilities ~ [0.787, 0.106, 0.106]: at top-p 0.8 token 2 is just outside.
        let logits = [3.0f32, 1.0, 1.0];
        let s = Sampling::Seeded {
            seed: 1,
            temperature: 1.0,
            top_p: 0.8,
        };
        assert!(gap(&s, 0, &logits, 2, 0.0).is_infinite());
        // Within a 0.5-logit tolerance token 2 may have been in the generator's nucleus, and
        // only token 0 is surely a competitor.
        let g = gap(&s, 0, &logits, 2, 0.5);
        let expect = (score(&s, 0, 0, 3.0) - score(&s, 0, 2, 1.0)).max(0.0);
        assert!((g - expect).abs() < 1e-6, "{g} vs {expect}");
    }

    #[test]
    fn choice_has_zero_gap_and_others_positive() {
        let logits = [0.1f32, 2.0, 1.9, -1.0];
        let s = Sampling::Seeded {
            seed: 3,
            temperature: 0.8,
            top_p: 0.95,
        };
        for pos in 0..20 {
            let c = choose(&s, pos, &logits);
            assert_eq!(gap(&s, pos, &logits, c, 0.0), 0.0);
        }
        assert_eq!(choose(&Sampling::Greedy, 0, &logits), 1);
        assert!((gap(&Sampling::Greedy, 0, &logits, 2, 0.0) - 0.1).abs() < 1e-6);
        assert!(Sampling::Seeded {
            seed: 0,
            temperature: 0.0,
            top_p: 1.0
        }
        .check()
        .is_err());
    }
}

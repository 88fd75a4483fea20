//! The aggregate score of a bundle and the rules its leaves' running sums follow
//! (docs/protocol.md, "Score proofs"; docs/bundle.md, "end").
//!
//! Every leaf carries its item's score (WAD, at most 1e18) and `score_sum`, the sum of the scores
//! of leaves `0..=index`. The claimed aggregate is `floor(score_sum of the last leaf / leaf_count)`:
//! the mean item score, rounded down. Unscored items (no answer could be extracted, or the item
//! has no reference answer) score 0 and count in the denominator.

use crate::WAD;

/// Where a bundle's scores first break the rules the contract checks (`IDisputeGame.ScoreFault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreBreak {
    /// Leaf `index` has a score above 1e18.
    AboveOne {
        /// The leaf.
        index: u64,
    },
    /// Leaf 0's `score_sum` differs from its score.
    FirstSum,
    /// Leaf `index`'s `score_sum` differs from leaf `index - 1`'s plus its score (shown with the
    /// pair `index - 1`, `index`).
    Step {
        /// The later leaf of the pair.
        index: u64,
    },
}

impl ScoreBreak {
    /// The leaf whose proof shows the break on chain, and whether its successor must be given too
    /// (`proveScoreFault(commitment, leaf, .., next?)`).
    pub fn proof_leaves(&self) -> (u64, bool) {
        match *self {
            Self::AboveOne { index } => (index, false),
            Self::FirstSum => (0, false),
            Self::Step { index } => (index - 1, true),
        }
    }
}

impl std::fmt::Display for ScoreBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AboveOne { index } => write!(f, "leaf {index}: score above 1e18"),
            Self::FirstSum => write!(f, "leaf 0: score_sum differs from its score"),
            Self::Step { index } => write!(
                f,
                "leaf {index}: score_sum differs from leaf {}'s plus its score",
                index - 1
            ),
        }
    }
}

/// The mean item score and its standard error, in WAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreSummary {
    /// Items counted (= leaf count).
    pub count: u64,
    /// `floor(sum of scores / count)` (0 when there are no items).
    pub mean_wad: u128,
    /// Standard error of the mean, `sqrt(sample variance / count)` with the sample variance over
    /// `count - 1` (the convention of lm-evaluation-harness's `_stderr`), in WAD, rounded to the
    /// nearest integer; 0 for fewer than two items. Computed in f64 in index order (see
    /// [`ScoreTally::summary`]), so every reader gets the same digits.
    pub stderr_wad: u128,
}

impl ScoreSummary {
    /// `mean ± stderr` as fractions with four decimals (`0.4375 ± 0.1281`).
    pub fn display(&self) -> String {
        let f = |w: u128| w as f64 / WAD as f64;
        format!("{:.4} ± {:.4}", f(self.mean_wad), f(self.stderr_wad))
    }
}

/// Follows leaves in index order: the running sum, the first break of the rules, and the scores for
/// the standard error.
#[derive(Debug, Clone, Default)]
pub struct ScoreTally {
    scores: Vec<u128>,
    sum: u128,
    last_score_sum: u128,
    first_break: Option<ScoreBreak>,
}

impl ScoreTally {
    /// Accounts for the next leaf (index = leaves seen so far) with its `score` and claimed
    /// `score_sum`.
    pub fn push(&mut self, score: u128, score_sum: u128) {
        let index = self.scores.len() as u64;
        if self.first_break.is_none() {
            if score > WAD {
                self.first_break = Some(ScoreBreak::AboveOne { index });
            } else if index == 0 && score_sum != score {
                self.first_break = Some(ScoreBreak::FirstSum);
            } else if index > 0 && self.last_score_sum.checked_add(score) != Some(score_sum) {
                self.first_break = Some(ScoreBreak::Step { index });
            }
        }
        self.scores.push(score);
        self.sum = self.sum.saturating_add(score);
        self.last_score_sum = score_sum;
    }

    /// Forgets the last leaf pushed (a write that failed); only valid right after `push`.
    pub fn pop(&mut self, previous_score_sum: u128) {
        if let Some(score) = self.scores.pop() {
            self.sum -= score;
            self.last_score_sum = previous_score_sum;
            let index = self.scores.len() as u64;
            let broke_here = match self.first_break {
                Some(ScoreBreak::AboveOne { index: i }) | Some(ScoreBreak::Step { index: i }) => {
                    i == index
                }
                Some(ScoreBreak::FirstSum) => index == 0,
                None => false,
            };
            if broke_here {
                self.first_break = None;
            }
        }
    }

    /// Leaves seen.
    pub fn count(&self) -> u64 {
        self.scores.len() as u64
    }

    /// The running sum the next leaf must extend (the sum of the scores seen, when unbroken).
    pub fn sum(&self) -> u128 {
        self.sum
    }

    /// The last leaf's claimed `score_sum` (what the contract divides by the leaf count).
    pub fn last_score_sum(&self) -> u128 {
        self.last_score_sum
    }

    /// The first break of the rules, if any.
    pub fn first_break(&self) -> Option<ScoreBreak> {
        self.first_break
    }

    /// The aggregate the contract accepts for these leaves: `floor(last score_sum / count)`.
    pub fn claimable_wad(&self) -> u128 {
        self.last_score_sum / u128::from(self.count().max(1))
    }

    /// Mean and standard error over the scores seen.
    ///
    /// The standard error: with `x_i = score_i / 1e18` as f64 and `m = (sum of x_i) / n` (summed
    /// in index order), `se = sqrt((sum of (x_i - m)^2) / (n - 1) / n)`, then `round(se * 1e18)`.
    pub fn summary(&self) -> ScoreSummary {
        let n = self.count();
        let mean_wad = self.sum / u128::from(n.max(1));
        let stderr_wad = if n < 2 {
            0
        } else {
            let xs: Vec<f64> = self.scores.iter().map(|&s| s as f64 / WAD as f64).collect();
            let nf = n as f64;
            let m = xs.iter().sum::<f64>() / nf;
            let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
            let se = (ss / (nf - 1.0) / nf).sqrt();
            (se * WAD as f64).round() as u128
        };
        ScoreSummary {
            count: n,
            mean_wad,
            stderr_wad,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(pairs: &[(u128, u128)]) -> ScoreTally {
        let mut t = ScoreTally::default();
        for &(s, sum) in pairs {
            t.push(s, sum);
        }
        t
    }

    #[test]
    fn consistent_sums_have_no_break_and_floor_mean() {
        let t = tally(&[(WAD, WAD), (0, WAD), (WAD / 2, 3 * WAD / 2)]);
        assert_eq!(t.first_break(), None);
        assert_eq!(t.claimable_wad(), WAD / 2);
        let s = t.summary();
        assert_eq!(s.mean_wad, WAD / 2);
        // scores 1, 0, 0.5: sample variance 0.25, se = sqrt(0.25 / 3) = 0.288675...
        assert_eq!(s.stderr_wad, 288_675_134_594_812_864);
        assert_eq!(s.display(), "0.5000 ± 0.2887");
    }

    #[test]
    fn breaks_are_found_in_order() {
        assert_eq!(
            tally(&[(1, 2), (1, 3)]).first_break(),
            Some(ScoreBreak::FirstSum)
        );
        assert_eq!(
            tally(&[(1, 1), (1, 3), (WAD + 1, 0)]).first_break(),
            Some(ScoreBreak::Step { index: 1 })
        );
        assert_eq!(
            tally(&[(1, 1), (WAD + 1, WAD + 2)]).first_break(),
            Some(ScoreBreak::AboveOne { index: 1 })
        );
        assert_eq!(ScoreBreak::Step { index: 4 }.proof_leaves(), (3, true));
        // All zeros claimed as 100%: consistent sums, the claim is what breaks.
        let zeros = tally(&[(0, 0), (0, 0), (0, 0)]);
        assert_eq!(zeros.first_break(), None);
        assert_eq!(zeros.claimable_wad(), 0);
    }

    #[test]
    fn pop_undoes_push() {
        let mut t = tally(&[(WAD, WAD)]);
        t.push(2 * WAD, 0);
        assert!(t.first_break().is_some());
        t.pop(WAD);
        assert_eq!(t.first_break(), None);
        assert_eq!(t.sum(), WAD);
        assert_eq!(t.last_score_sum(), WAD);
    }
}

//! Prometheus text-format metrics, hand-written (a handful of counters and one summary).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The bot's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// `RootCommitted` events processed.
    pub commitments_seen: AtomicU64,
    /// Leaves recomputed by the judge.
    pub leaves_checked: AtomicU64,
    /// Disputes this bot opened.
    pub disputes_opened: AtomicU64,
    /// Score proofs this bot sent that rejected a commitment (`proveScoreFault`).
    pub score_proofs: AtomicU64,
    /// Disputes this bot opened that ended with the provider at fault.
    pub disputes_won: AtomicU64,
    /// Disputes this bot opened that ended otherwise.
    pub disputes_lost: AtomicU64,
    /// Verdicts signed (operator).
    pub attestations_signed: AtomicU64,
    /// RPC errors retried.
    pub rpc_errors: AtomicU64,
    /// Tasks this bot cannot judge (manifest or dataset unknown or unobtainable), counted once each.
    pub tasks_unjudged: AtomicU64,
    verify: Mutex<(u64, f64)>,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one verification's latency.
    pub fn observe_verify(&self, seconds: f64) {
        if let Ok(mut v) = self.verify.lock() {
            v.0 += 1;
            v.1 += seconds;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = [
            ("commitments_seen", &self.commitments_seen),
            ("leaves_checked", &self.leaves_checked),
            ("disputes_opened", &self.disputes_opened),
            ("score_proofs", &self.score_proofs),
            ("disputes_won", &self.disputes_won),
            ("disputes_lost", &self.disputes_lost),
            ("attestations_signed", &self.attestations_signed),
            ("rpc_errors", &self.rpc_errors),
            ("tasks_unjudged", &self.tasks_unjudged),
        ];
        for (name, c) in counters {
            out.push_str(&format!(
                "# TYPE verbench_challenger_{name}_total counter\nverbench_challenger_{name}_total {}\n",
                c.load(Ordering::Relaxed)
            ));
        }
        let (count, sum) = self.verify.lock().map(|v| *v).unwrap_or((0, 0.0));
        out.push_str(&format!(
            "# TYPE verbench_challenger_verify_seconds summary\nverbench_challenger_verify_seconds_sum {sum}\nverbench_challenger_verify_seconds_count {count}\n"
        ));
        out
    }
}

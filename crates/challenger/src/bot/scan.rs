//! Scanning: events from the persisted cursor through [`Follower`] (shared with every chain
//! reader), and the state they update.

use super::*;
use verbench_chain::follow::{Follow, Follower};

impl Bot {
    fn follower(&self) -> Follower<'_, DynProvider> {
        Follower::new(
            &self.provider,
            Follow {
                game: self.cfg.game,
                confirmations: self.cfg.confirmations,
                max_block_range: self.cfg.max_block_range,
                reorg_depth: self.cfg.reorg_depth,
                start_block: self.cfg.start_block,
            },
        )
    }

    pub(super) async fn scan(&mut self, report: &mut StepReport) -> anyhow::Result<()> {
        let mut at = self.state.follow.clone();
        // Event handling is idempotent (keyed by ids): after a rewind, re-reading is enough.
        if let Some(from) = self.follower().rewind_on_reorg(&mut at).await? {
            warn!(from, "reorg: remembered block changed; rewinding");
        }
        self.state.follow = at.clone();
        let start = at.cursor;
        let mut last = None;
        while let Some(range) = self.follower().next_range(&mut at).await? {
            if range.undecodable > 0 {
                debug!(count = range.undecodable, "undecodable logs");
            }
            for log in range.logs {
                self.on_event(log.event, log.block);
            }
            self.state.follow = at.clone();
            last = Some(range.to);
            self.save()?;
        }
        report.scanned = last.map(|to| (start, to));
        Ok(())
    }

    fn on_event(&mut self, ev: IDisputeGameEvents, block: u64) {
        match ev {
            IDisputeGameEvents::TaskRegistered(e) => {
                self.state
                    .tasks
                    .insert(e.taskId, e.spec.abi_encode().into());
            }
            IDisputeGameEvents::RootCommitted(e)
                if !self.state.commitments.contains_key(&e.commitmentId) =>
            {
                Metrics::inc(&self.shared.metrics.commitments_seen);
                info!(commitment = %e.commitmentId, provider = %e.provider, uri = %e.uri, "commitment seen");
                self.state.commitments.insert(
                    e.commitmentId,
                    CommitmentEntry {
                        commitment: e.commitment.abi_encode().into(),
                        uri: e.uri,
                        block,
                        checked: false,
                        note: None,
                        leaves: Vec::new(),
                    },
                );
            }
            IDisputeGameEvents::DisputeOpened(e) => {
                self.update_dispute(e.disputeId, &e.dispute, None);
            }
            IDisputeGameEvents::LeafRevealed(e) => {
                self.update_dispute(e.disputeId, &e.dispute, Some(e.leafData));
            }
            IDisputeGameEvents::ItemPublished(e) => {
                // Every accepted publication hashes to the leaf's fields: the first one is kept.
                if let Some(d) = self.state.disputes.get_mut(&e.disputeId) {
                    if d.item.is_none() {
                        d.item = Some((e.output, e.toploc));
                    }
                }
            }
            IDisputeGameEvents::DisputeResolved(e) => {
                // Count once: unless the stored struct already shows a final status.
                let first = self
                    .state
                    .disputes
                    .get(&e.disputeId)
                    .and_then(|d| Dispute::abi_decode(&d.dispute).ok())
                    .is_none_or(|d| {
                        matches!(
                            d.status,
                            DisputeStatus::AwaitingReveal | DisputeStatus::Voting
                        )
                    });
                if first && e.dispute.challenger == self.me {
                    let m = &self.shared.metrics;
                    if e.dispute.status == DisputeStatus::ProviderAtFault {
                        Metrics::inc(&m.disputes_won);
                    } else {
                        Metrics::inc(&m.disputes_lost);
                    }
                }
                info!(dispute = %e.disputeId, status = ?e.dispute.status, cause = ?e.cause, "dispute resolved");
                self.update_dispute(e.disputeId, &e.dispute, None);
                if let Some(d) = self.state.disputes.get_mut(&e.disputeId) {
                    // A verdict this operator signed stays open until its pay is claimed
                    // (`follow_disputes`); anything else is done.
                    if d.attestation.is_none() || e.cause != IDisputeGame::Cause::Verdict {
                        d.done = true;
                    }
                }
            }
            _ => {}
        }
    }

    fn update_dispute(&mut self, id: B256, d: &Dispute, leaf: Option<Bytes>) {
        let entry = self
            .state
            .disputes
            .entry(id)
            .or_insert_with(|| DisputeEntry {
                dispute: Bytes::new(),
                leaf: None,
                done: false,
                attestation: None,
                item: None,
                sealed: false,
            });
        entry.dispute = d.abi_encode().into();
        if leaf.is_some() {
            entry.leaf = leaf;
        }
        if let Some(i) = self.state.intents.get_mut(&id) {
            if i.status == IntentStatus::Pending {
                i.status = IntentStatus::Done;
            }
        }
    }
}

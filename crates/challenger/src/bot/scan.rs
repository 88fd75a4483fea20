//! Scanning: events from the persisted cursor, reorg detection, and the state they update.

use super::*;

impl Bot {
    async fn block_hash(&self, n: u64) -> anyhow::Result<Option<B256>> {
        Ok(self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await?
            .map(|b| b.header.hash))
    }

    /// Rewinds the cursor past any remembered block whose hash changed (a reorg).
    async fn detect_reorg(&mut self) -> anyhow::Result<()> {
        let mut rewound_past = None;
        while let Some(&(n, hash)) = self.state.recent.last() {
            if self.block_hash(n).await? == Some(hash) {
                if rewound_past.is_some() {
                    // Everything after the last block still on the canonical chain is re-read;
                    // event handling is idempotent (keyed by ids).
                    self.state.cursor = self.state.cursor.min(n + 1);
                }
                return Ok(());
            }
            warn!(block = n, "reorg: remembered block changed; rewinding");
            self.state.recent.pop();
            rewound_past = Some(n);
        }
        if let Some(n) = rewound_past {
            // No remembered block survived: rewind as deep as we remember.
            let depth = self.cfg.reorg_depth as u64 * self.cfg.max_block_range.max(1);
            self.state.cursor = self
                .state
                .cursor
                .min(n.saturating_sub(depth).max(self.cfg.start_block));
        }
        Ok(())
    }

    pub(super) async fn scan(&mut self, report: &mut StepReport) -> anyhow::Result<()> {
        self.detect_reorg().await?;
        let head = self.provider.get_block_number().await?;
        let Some(safe) = head.checked_sub(self.cfg.confirmations) else {
            return Ok(());
        };
        if self.state.cursor > safe {
            return Ok(());
        }
        let start = self.state.cursor;
        while self.state.cursor <= safe {
            let from = self.state.cursor;
            let to = safe.min(from + self.cfg.max_block_range.max(1) - 1);
            let filter = Filter::new()
                .address(self.cfg.game)
                .from_block(from)
                .to_block(to);
            let logs = self.provider.get_logs(&filter).await?;
            for log in logs {
                let block = log.block_number.unwrap_or(to);
                match IDisputeGameEvents::decode_log(&log.inner) {
                    Ok(ev) => self.on_event(ev.data, block),
                    Err(e) => debug!(error = %e, "undecodable log"),
                }
            }
            if let Some(hash) = self.block_hash(to).await? {
                self.state.recent.push((to, hash));
                let excess = self
                    .state
                    .recent
                    .len()
                    .saturating_sub(self.cfg.reorg_depth.max(1));
                self.state.recent.drain(..excess);
            }
            self.state.cursor = to + 1;
            self.save()?;
        }
        report.scanned = Some((start, safe));
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
                    },
                );
            }
            IDisputeGameEvents::DisputeOpened(e) => {
                self.update_dispute(e.disputeId, &e.dispute, None);
            }
            IDisputeGameEvents::LeafRevealed(e) => {
                self.update_dispute(e.disputeId, &e.dispute, Some(e.leafData));
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
                    d.done = true;
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

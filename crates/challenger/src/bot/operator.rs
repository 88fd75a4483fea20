//! Disputes: withheld leaves, expiry, and (operators) verdicts, peers' attestations, quorum and
//! `resolve`.

use super::*;

impl Bot {
    pub(super) async fn follow_disputes(
        &mut self,
        now: u64,
        report: &mut StepReport,
    ) -> anyhow::Result<()> {
        let open: Vec<B256> = self
            .state
            .disputes
            .iter()
            .filter(|(_, d)| !d.done)
            .map(|(id, _)| *id)
            .collect();
        for did in open {
            let entry = self.state.disputes[&did].clone();
            let d = Dispute::abi_decode(&entry.dispute)?;
            let mine = d.challenger == self.me;
            if d.status == DisputeStatus::AwaitingReveal {
                if mine && now > u48(d.revealDeadline) {
                    match self
                        .send("claimWithheld", self.game.claimWithheld(d.clone()).send())
                        .await?
                    {
                        Sent::Ok => {
                            info!(dispute = %did, "provider withheld the leaf: claimed");
                            report.withheld_claimed += 1;
                            self.mark_done(did);
                        }
                        Sent::Moot(_) => self.mark_done(did),
                        Sent::Refused(why) => {
                            debug!(dispute = %did, %why, "claimWithheld refused (stale state?)")
                        }
                    }
                }
                continue;
            }
            if d.status != DisputeStatus::Voting {
                self.mark_done(did);
                continue;
            }
            if mine {
                failpoint("voting");
                if entry.item.is_none() {
                    if let Err(e) = self.publish_own_item(did, &d, &entry).await {
                        warn!(dispute = %did, error = %format!("{e:#}"), "cannot publish the disputed item");
                    }
                }
            }
            if now > u48(d.voteDeadline) {
                if mine || self.cfg.operator {
                    match self
                        .send("expire", self.game.expire(d.clone()).send())
                        .await?
                    {
                        Sent::Ok => {
                            info!(dispute = %did, "no quorum: expired");
                            report.expired += 1;
                            self.mark_done(did);
                        }
                        Sent::Moot(_) => self.mark_done(did),
                        Sent::Refused(why) => debug!(dispute = %did, %why, "expire refused"),
                    }
                }
                continue;
            }
            if mine && !self.cfg.peers.is_empty() {
                // Our own dispute: we may not sign it, but we submit the operators' verdict
                // ourselves as soon as their attestations make a quorum (an unsent winning
                // verdict would expire and cost us our bond).
                if let Err(e) = self
                    .try_resolve(did, &d, Outcome::ProviderAtFault, None, report)
                    .await
                {
                    warn!(dispute = %did, error = %format!("{e:#}"), "cannot submit our dispute's verdict yet");
                }
                continue;
            }
            if self.cfg.operator {
                if let Err(e) = self.operate(did, &d, entry, now, report).await {
                    warn!(dispute = %did, error = %format!("{e:#}"), "operator step failed");
                }
            }
        }
        Ok(())
    }

    pub(super) fn mark_done(&mut self, did: B256) {
        if let Some(d) = self.state.disputes.get_mut(&did) {
            d.done = true;
        }
    }

    /// The operator's verdict on a dispute whose leaf is known, from chain data only
    /// ([`Checker::verdict_from_chain`]): `None` while the item is not on chain and less than half
    /// of the voting period has passed (the provider's time to publish it); after that, with no
    /// item, the provider is at fault for withholding it.
    async fn verdict(
        &mut self,
        d: &Dispute,
        entry: &DisputeEntry,
        leaf_data: &Bytes,
        now: u64,
    ) -> anyhow::Result<Option<Outcome>> {
        let Some(c_entry) = self.state.commitments.get(&d.commitmentId).cloned() else {
            return Err(anyhow!("commitment not seen yet"));
        };
        let c = Commitment::abi_decode(&c_entry.commitment)?;
        let Some((output, toploc)) = &entry.item else {
            let period = u64::from(self.game.votingPeriod().call().await?);
            let publish_by = u48(d.voteDeadline).saturating_sub(period / 2);
            if now <= publish_by {
                debug!(dispute = %self.dispute_id(d), publish_by, "waiting for the disputed item on chain");
                return Ok(None);
            }
            info!(dispute = %self.dispute_id(d), "verdict: provider at fault (item not published on chain within half the voting period)");
            return Ok(Some(Outcome::ProviderAtFault));
        };
        let spec = self.spec(c.taskId);
        let target = self.target(d.commitmentId, &c, spec.as_ref());
        self.checker
            .verdict_from_chain(
                target,
                d.leafHash,
                leaf_data,
                output,
                toploc,
                &self.shared.metrics,
            )
            .await
            .map(Some)
    }

    /// Claims the operators' pay of every unpaid verdict on commitment `cid` (docs/protocol.md,
    /// "Operator pay"): the verdicts of its `DisputeResolved` events with cause `Verdict` not
    /// claimed yet, oldest first, each with the signers its `resolve` transaction carried and
    /// `P = challengerBond x operatorPayBps / 10000`.
    pub(super) async fn claim_verdict_pay(&self, cid: B256) -> anyhow::Result<()> {
        use alloy::consensus::Transaction as _;
        use alloy::sol_types::SolCall as _;
        use verbench_chain::bindings::IDisputeGame::{Cause, VerdictPay};
        if self.game.unpaidVerdicts(cid).call().await? == B256::ZERO {
            return Ok(());
        }
        let bps = U256::from(self.game.operatorPayBps().call().await?);
        let resolved = self
            .game
            .DisputeResolved_filter()
            .topic2(cid)
            .from_block(self.cfg.start_block)
            .query()
            .await?;
        let ids: Vec<B256> = resolved.iter().map(|(e, _)| e.disputeId).collect();
        let claimed: std::collections::HashSet<B256> = if ids.is_empty() {
            Default::default()
        } else {
            self.game
                .VerdictPayClaimed_filter()
                .topic1(ids)
                .from_block(self.cfg.start_block)
                .query()
                .await?
                .into_iter()
                .map(|(e, _)| e.disputeId)
                .collect()
        };
        let mut verdicts = Vec::new();
        for (e, log) in resolved {
            if e.cause != Cause::Verdict || claimed.contains(&e.disputeId) {
                continue;
            }
            let tx = log.transaction_hash.ok_or_else(|| {
                anyhow!("the node gives no transaction for a DisputeResolved log")
            })?;
            let t = self
                .provider
                .get_transaction_by_hash(tx)
                .await?
                .ok_or_else(|| anyhow!("resolve transaction {tx} not available"))?;
            let call = IDisputeGame::resolveCall::abi_decode(t.inner.input()).map_err(|_| {
                anyhow!("dispute {} was resolved through another contract: its signers are not in transaction {tx}", e.disputeId)
            })?;
            verdicts.push(VerdictPay {
                disputeId: e.disputeId,
                snapshot: e.dispute.snapshot,
                pay: U256::from(e.dispute.challengerBond) * bps / U256::from(10_000u64),
                stakeEligible: e.stakeEligible,
                signers: call.signers,
            });
        }
        let n = verdicts.len();
        match self
            .send(
                "claimVerdictPay",
                self.game.claimVerdictPay(cid, verdicts).send(),
            )
            .await?
        {
            Sent::Ok => info!(commitment = %cid, verdicts = n, "operators' verdict pay claimed"),
            Sent::Moot(why) | Sent::Refused(why) => {
                debug!(commitment = %cid, %why, "claimVerdictPay not accepted")
            }
        }
        Ok(())
    }

    fn dispute_id(&self, d: &Dispute) -> B256 {
        dispute_id_of(d.commitmentId, d.leafIndex)
    }

    /// Publishes the item of a dispute this bot opened with the leaf, from the bundle it fetched,
    /// unless it is on chain already (the provider must publish it; the challenger does too, so
    /// that the fault it found is judged without waiting).
    async fn publish_own_item(
        &mut self,
        did: B256,
        d: &Dispute,
        entry: &DisputeEntry,
    ) -> anyhow::Result<()> {
        let (Some(leaf_data), None) = (&entry.leaf, &entry.item) else {
            return Ok(());
        };
        let Some(c_entry) = self.state.commitments.get(&d.commitmentId).cloned() else {
            return Ok(());
        };
        let c = Commitment::abi_decode(&c_entry.commitment)?;
        let Ok(path) = self.bundle_path(&c, &c_entry.uri).await else {
            return Ok(()); // no bundle: the provider must publish
        };
        let Ok(opened) = Opened::open(&path, &c) else {
            return Ok(());
        };
        let Some(item) = opened.item(d.leafIndex)? else {
            return Ok(());
        };
        let output = verbench_bundle::leaf::output_bytes(&item.output_tokens, &item.choice_logits);
        let Some(toploc) = verbench_bundle::leaf::toploc_bytes(&item.proofs) else {
            return Ok(());
        };
        let leaf = verbench_bundle::leaf::LeafV2::decode(leaf_data);
        if leaf.is_none_or(|l| {
            l.output_hash != verbench_bundle::keccak256(&output)
                || l.toploc_hash != verbench_bundle::keccak256(&toploc)
        }) {
            return Ok(()); // the bundle's item is not the disputed leaf's: nothing to publish
        }
        match self
            .send(
                "publishItem",
                self.game
                    .publishItem(d.clone(), leaf_data.clone(), output.into(), toploc.into())
                    .send(),
            )
            .await?
        {
            Sent::Ok => info!(dispute = %did, "published the disputed item on chain"),
            Sent::Moot(why) | Sent::Refused(why) => {
                debug!(dispute = %did, %why, "publishItem not accepted")
            }
        }
        Ok(())
    }

    async fn operate(
        &mut self,
        did: B256,
        d: &Dispute,
        entry: DisputeEntry,
        now: u64,
        report: &mut StepReport,
    ) -> anyhow::Result<()> {
        let Some(leaf_data) = entry.leaf.clone() else {
            return Ok(());
        };
        let mine = match entry.attestation.clone() {
            Some(a) => a,
            None => {
                if d.provider == self.me || d.challenger == self.me {
                    return Ok(()); // excluded signer: do not judge our own dispute
                }
                let Some(outcome) = self.verdict(d, &entry, &leaf_data, now).await? else {
                    return Ok(());
                };
                let sig = verbench_chain::verdict::sign_verdict(
                    &self.signer,
                    self.chain_id,
                    self.cfg.game,
                    did,
                    d.leafHash,
                    outcome,
                )?;
                let a = Attestation {
                    dispute_id: did,
                    signer: self.me,
                    outcome: if outcome == Outcome::ProviderAtFault {
                        crate::VerdictOutcome::ProviderAtFault
                    } else {
                        crate::VerdictOutcome::LeafValid
                    },
                    leaf_hash: d.leafHash,
                    r: sig.r,
                    vs: sig.vs,
                };
                Metrics::inc(&self.shared.metrics.attestations_signed);
                info!(dispute = %did, ?outcome, "verdict signed");
                if let Some(e) = self.state.disputes.get_mut(&did) {
                    e.attestation = Some(a.clone());
                }
                self.save()?;
                a
            }
        };
        if let Ok(mut map) = self.shared.attestations.write() {
            map.insert(did, mine.clone());
        }
        let outcome = Outcome::from(mine.outcome);
        self.try_resolve(did, d, outcome, Some(mine), report).await
    }

    /// Collects the peers' attestations on dispute `did` for `outcome` (with `own`, this
    /// operator's, when it signed one) and sends `resolve` once the signers' stake at the snapshot
    /// is a quorum; then claims the signers' pay. Operators call it with their own verdict; a
    /// challenger calls it without one for its own disputes (it may not sign them), so that a
    /// fault it found is settled even when no operator bot submits the verdict.
    pub(super) async fn try_resolve(
        &mut self,
        did: B256,
        d: &Dispute,
        outcome: Outcome,
        own: Option<Attestation>,
        report: &mut StepReport,
    ) -> anyhow::Result<()> {
        let wanted = if outcome == Outcome::ProviderAtFault {
            crate::VerdictOutcome::ProviderAtFault
        } else {
            crate::VerdictOutcome::LeafValid
        };
        let mut agreeing: Vec<Attestation> = own.into_iter().collect();
        for peer in &self.cfg.peers {
            let url = format!("{}/attestations/{did}", peer.trim_end_matches('/'));
            let got = match self.http.get(&url).send().await {
                Ok(r) if r.status().is_success() => r.json::<Attestation>().await.ok(),
                _ => None,
            };
            if let Some(a) = got {
                if a.dispute_id == did
                    && a.leaf_hash == d.leafHash
                    && a.outcome == wanted
                    && !agreeing.iter().any(|x| x.signer == a.signer)
                {
                    agreeing.push(a);
                }
            }
        }
        let digest = verbench_chain::verdict::verdict_digest(
            self.chain_id,
            self.cfg.game,
            did,
            d.leafHash,
            outcome,
        );
        let snapshot = d.snapshot;
        let mut signers = Vec::new();
        let mut stake_for = U256::ZERO;
        for a in &agreeing {
            if a.signer == d.provider || a.signer == d.challenger {
                continue;
            }
            let mut raw = [0u8; 64];
            raw[..32].copy_from_slice(a.r.as_slice());
            raw[32..].copy_from_slice(a.vs.as_slice());
            let sig = alloy::primitives::Signature::from_erc2098(&raw);
            if sig.recover_address_from_prehash(&digest).ok() != Some(a.signer) {
                warn!(dispute = %did, signer = %a.signer, "attestation signature does not recover; ignored");
                continue;
            }
            // What the contract counts: the stake at the dispute's snapshot (an operator that
            // has deregistered since still votes with it, so no `isOperator` filter here), or
            // nothing if it was slashed since (`resolve` would revert `NotOperator` with it).
            let stake = self.sm.voteWeightAt(a.signer, snapshot).call().await?;
            if stake.is_zero() {
                continue;
            }
            stake_for += stake;
            signers.push((a.signer, Sig { r: a.r, vs: a.vs }));
        }
        let total = self.sm.totalStakeAt(snapshot).call().await?;
        let p = self.sm.stakeAt(d.provider, snapshot).call().await?;
        let ch = self.sm.stakeAt(d.challenger, snapshot).call().await?;
        let eligible = total.saturating_sub(p).saturating_sub(ch);
        let quorum = self.game.quorumBps().call().await?;
        if !verbench_chain::rules::quorum_reached(stake_for, eligible, quorum) {
            debug!(dispute = %did, %stake_for, %eligible, signers = signers.len(), "no quorum yet");
            return Ok(());
        }
        signers.sort_by_key(|(a, _)| *a);
        let (addrs, sigs): (Vec<Address>, Vec<Sig>) = signers.into_iter().unzip();
        match self
            .send(
                "resolve",
                self.game.resolve(d.clone(), outcome, addrs, sigs).send(),
            )
            .await?
        {
            Sent::Ok => {
                info!(dispute = %did, ?outcome, "dispute resolved with a quorum");
                report.resolved += 1;
                self.mark_done(did);
                // The submitter claims the signers' pay (anyone may; it knows the signers).
                if let Err(e) = self.claim_verdict_pay(d.commitmentId).await {
                    warn!(commitment = %d.commitmentId, error = %format!("{e:#}"), "cannot claim the verdict pay yet");
                }
            }
            Sent::Moot(_) => self.mark_done(did),
            Sent::Refused(why) => warn!(dispute = %did, %why, "resolve refused"),
        }
        Ok(())
    }
}

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
                // A verdict this operator signed, submitted by anyone: claim its signers' pay (the
                // submitter usually has; then there is nothing left to claim).
                if entry.attestation.is_some()
                    && matches!(
                        d.status,
                        DisputeStatus::ProviderAtFault | DisputeStatus::ChallengerWrong
                    )
                {
                    if let Err(e) = self.claim_verdict_pay(d.commitmentId).await {
                        warn!(commitment = %d.commitmentId, error = %format!("{e:#}"), "cannot claim the verdict pay yet");
                    }
                }
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
        voting_period: u32,
    ) -> anyhow::Result<Option<Outcome>> {
        let Some(c_entry) = self.state.commitments.get(&d.commitmentId).cloned() else {
            return Err(anyhow!("commitment not seen yet"));
        };
        let c = Commitment::abi_decode(&c_entry.commitment)?;
        let Some((output, toploc)) = &entry.item else {
            let publish_by = verbench_chain::rules::item_deadline(d, voting_period);
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
    /// claimed yet, oldest first, each with the signers and signatures its `resolve` transaction
    /// carried and
    /// `P = challengerBond x operatorPayBps / 10000`.
    pub(super) async fn claim_verdict_pay(&self, cid: B256) -> anyhow::Result<()> {
        let verdicts =
            verbench_chain::verdict::unpaid_verdicts(&self.game, cid, self.cfg.start_block).await?;
        if verdicts.is_empty() {
            return Ok(());
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
        let voting_period = self.game.votingPeriod().call().await?;
        let mine = match entry.attestation.clone() {
            Some(a) => a,
            None => {
                if d.provider == self.me || d.challenger == self.me {
                    return Ok(()); // excluded signer: do not judge our own dispute
                }
                let Some(outcome) = self
                    .verdict(d, &entry, &leaf_data, now, voting_period)
                    .await?
                else {
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
        // Sealed verdicts (docs/protocol.md, "Lazy operators"): only a verdict sealed before the
        // seal deadline is paid, and this one stays private until nobody can copy it any more.
        let seal_deadline = verbench_chain::rules::seal_deadline(d, voting_period);
        if !entry.sealed {
            if now <= seal_deadline {
                self.seal(did, d, &mine).await?;
            } else {
                warn!(dispute = %did, "sealing closed before this verdict was sealed: it will not be paid");
                self.set_sealed(did)?;
            }
        }
        if now <= seal_deadline && !self.all_sealed(did, d).await? {
            debug!(dispute = %did, seal_deadline, "verdict kept private until every eligible operator has sealed or the seal deadline");
            return Ok(());
        }
        if let Ok(mut map) = self.shared.attestations.write() {
            map.insert(did, mine.clone());
        }
        let outcome = Outcome::from(mine.outcome);
        self.try_resolve(did, d, outcome, Some(mine), report).await
    }

    /// Sends this operator's seal of its verdict `a` on dispute `d`: keccak256(r || vs).
    async fn seal(&mut self, did: B256, d: &Dispute, a: &Attestation) -> anyhow::Result<()> {
        let seal = verbench_chain::verdict::seal_of(a.r, a.vs);
        match self
            .send("sealVerdict", self.game.sealVerdict(d.clone(), seal).send())
            .await?
        {
            Sent::Ok => {
                info!(dispute = %did, "verdict sealed");
                self.set_sealed(did)?;
            }
            Sent::Moot(why) => {
                debug!(dispute = %did, %why, "sealVerdict moot");
                self.set_sealed(did)?;
            }
            Sent::Refused(why) => {
                // Sealed already (a restart after the transaction), or the deadline passed: the
                // chain says which; either way there is nothing more to send.
                if self.game.verdictSeal(did, self.me).call().await? == seal {
                    self.set_sealed(did)?;
                } else {
                    warn!(dispute = %did, %why, "sealVerdict refused");
                }
            }
        }
        Ok(())
    }

    fn set_sealed(&mut self, did: B256) -> anyhow::Result<()> {
        if let Some(e) = self.state.disputes.get_mut(&did) {
            e.sealed = true;
        }
        self.save()
    }

    /// Whether every operator whose stake may vote on `d` has sealed a verdict on it (then no
    /// verdict revealed now can be copied into a paid seal).
    async fn all_sealed(&self, did: B256, d: &Dispute) -> anyhow::Result<bool> {
        let sealers: std::collections::BTreeSet<Address> = self
            .game
            .VerdictSealed_filter()
            .topic1(did)
            .from_block(self.cfg.start_block)
            .query()
            .await?
            .into_iter()
            .map(|(e, _)| e.operator)
            .collect();
        let mut sealed = U256::ZERO;
        for s in sealers {
            if s != d.provider && s != d.challenger {
                sealed += self.sm.voteWeightAt(s, d.snapshot).call().await?;
            }
        }
        Ok(sealed >= verbench_chain::verdict::eligible_stake(&self.sm, d).await?)
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
        // `tally` keeps only the attestations `resolve` would count for `outcome`.
        let mut agreeing: Vec<Attestation> = own.into_iter().collect();
        for peer in &self.cfg.peers {
            agreeing
                .extend(verbench_chain::verdict::fetch_attestation(&self.http, peer, did).await);
        }
        let t = verbench_chain::verdict::tally(
            &self.game,
            &self.sm,
            self.chain_id,
            did,
            d,
            outcome,
            &agreeing,
        )
        .await?;
        if !t.quorum {
            debug!(dispute = %did, stake_for = %t.stake_for, eligible = %t.eligible, signers = t.signers.len(), "no quorum yet");
            return Ok(());
        }
        let (addrs, sigs) = (t.signers, t.signatures);
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

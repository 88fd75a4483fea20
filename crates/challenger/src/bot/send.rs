//! Sending: transactions, revert classification, dispute and score-proof intents, withdrawals.

use super::*;

impl Bot {
    fn classify(&self, e: &alloy::contract::Error) -> Option<Sent> {
        let decoded = e.as_decoded_interface_error::<IDisputeGameErrors>()?;
        let text = format!("{decoded:?}");
        Some(match decoded {
            // The dispute moved on (a peer resolved it, or it was claimed or expired first).
            IDisputeGameErrors::DisputeExists(_)
            | IDisputeGameErrors::DisputeMismatch(_)
            | IDisputeGameErrors::WrongDisputeStatus(_)
            | IDisputeGameErrors::NothingToWithdraw(_) => Sent::Moot(text),
            _ => Sent::Refused(text),
        })
    }

    pub(super) async fn send(
        &self,
        what: &str,
        call: impl std::future::Future<
            Output = Result<
                alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
                alloy::contract::Error,
            >,
        >,
    ) -> anyhow::Result<Sent> {
        match call.await {
            Ok(pending) => {
                if what.starts_with("openDispute") {
                    failpoint("after-send");
                }
                let receipt = pending.get_receipt().await?;
                if receipt.status() {
                    info!(what, tx = %receipt.transaction_hash, "sent");
                    Ok(Sent::Ok)
                } else {
                    Ok(Sent::Refused(format!(
                        "{what}: transaction {} reverted",
                        receipt.transaction_hash
                    )))
                }
            }
            Err(e) => match self.classify(&e) {
                Some(s) => Ok(s),
                None => Err(anyhow!("{what}: {}", verbench_chain::decode_revert(&e))),
            },
        }
    }

    pub(super) async fn send_intents(&mut self, report: &mut StepReport) -> anyhow::Result<()> {
        let pending: Vec<B256> = self
            .state
            .intents
            .iter()
            .filter(|(_, i)| i.status == IntentStatus::Pending)
            .map(|(id, _)| *id)
            .collect();
        for did in pending {
            let intent = self.state.intents[&did].clone();
            if let IntentKind::ScoreProof { next } = &intent.kind {
                self.send_score_proof(did, &intent, next.clone(), report)
                    .await?;
                continue;
            }
            // Already on chain (ours before a crash, or someone else's)?
            if self.game.disputeHash(did).call().await? != B256::ZERO {
                info!(dispute = %did, "dispute already on chain");
                self.set_intent(did, IntentStatus::Done)?;
                continue;
            }
            let Some(entry) = self.state.commitments.get(&intent.commitment_id) else {
                self.set_intent(did, IntentStatus::Failed("unknown commitment".into()))?;
                continue;
            };
            let c = Commitment::abi_decode(&entry.commitment)?;
            let bond = U256::from(self.game.task(c.taskId).call().await?.challengerBond);
            failpoint("before-send");
            let sent = match &intent.leaf {
                None => {
                    self.send(
                        "openDispute",
                        self.game.openDispute(c, intent.index).value(bond).send(),
                    )
                    .await?
                }
                Some((data, proof)) => {
                    self.send(
                        "openDisputeWithLeaf",
                        self.game
                            .openDisputeWithLeaf(c, intent.index, data.clone(), proof.clone())
                            .value(bond)
                            .send(),
                    )
                    .await?
                }
            };
            match sent {
                Sent::Ok => {
                    failpoint("after-receipt");
                    info!(dispute = %did, index = intent.index, reason = %intent.reason, "dispute opened");
                    Metrics::inc(&self.shared.metrics.disputes_opened);
                    report.disputes_opened += 1;
                    self.set_intent(did, IntentStatus::Done)?;
                }
                Sent::Moot(why) => {
                    info!(dispute = %did, %why, "dispute exists already");
                    self.set_intent(did, IntentStatus::Done)?;
                }
                Sent::Refused(why) => {
                    if self.game.disputeHash(did).call().await? != B256::ZERO {
                        self.set_intent(did, IntentStatus::Done)?;
                    } else {
                        warn!(dispute = %did, %why, "dispute refused by the chain; giving up");
                        self.set_intent(did, IntentStatus::Failed(why))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Sends one score-proof intent (`key` = [`score_proof_key`]); done once the commitment is
    /// rejected, by us or anyone.
    async fn send_score_proof(
        &mut self,
        key: B256,
        intent: &Intent,
        next: Option<(Bytes, Vec<B256>)>,
        report: &mut StepReport,
    ) -> anyhow::Result<()> {
        let cid = intent.commitment_id;
        let Some(entry) = self.state.commitments.get(&cid) else {
            return self.set_intent(key, IntentStatus::Failed("unknown commitment".into()));
        };
        let c = Commitment::abi_decode(&entry.commitment)?;
        let rejected = |s: &Self| {
            let game = s.game.clone();
            async move {
                anyhow::Ok(
                    game.commitmentState(cid).call().await?.status == CommitmentStatus::Rejected,
                )
            }
        };
        if rejected(self).await? {
            info!(commitment = %cid, "commitment already rejected: no score proof needed");
            return self.set_intent(key, IntentStatus::Done);
        }
        let Some((data, proof)) = intent.leaf.clone() else {
            return self.set_intent(
                key,
                IntentStatus::Failed("score proof without a leaf".into()),
            );
        };
        let (next_data, next_proof) = next.unwrap_or_default();
        let sent = self
            .send(
                "proveScoreFault",
                self.game
                    .proveScoreFault(c, intent.index, data, proof, next_data, next_proof)
                    .send(),
            )
            .await?;
        match sent {
            Sent::Ok => {
                info!(commitment = %cid, index = intent.index, reason = %intent.reason, "score fault proven: commitment rejected");
                Metrics::inc(&self.shared.metrics.score_proofs);
                report.score_proofs += 1;
                self.set_intent(key, IntentStatus::Done)
            }
            Sent::Moot(_) => self.set_intent(key, IntentStatus::Done),
            Sent::Refused(why) => {
                if rejected(self).await? {
                    self.set_intent(key, IntentStatus::Done)
                } else {
                    warn!(commitment = %cid, %why, "score proof refused by the chain; giving up");
                    self.set_intent(key, IntentStatus::Failed(why))
                }
            }
        }
    }

    fn set_intent(&mut self, did: B256, status: IntentStatus) -> anyhow::Result<()> {
        if let Some(i) = self.state.intents.get_mut(&did) {
            i.status = status;
        }
        self.save()
    }

    pub(super) async fn withdraw_credit(&mut self) -> anyhow::Result<()> {
        let credit = self.game.credit(self.me).call().await?;
        if credit.is_zero() {
            return Ok(());
        }
        if let Sent::Ok = self.send("withdraw", self.game.withdraw().send()).await? {
            info!(%credit, "credit withdrawn");
        }
        Ok(())
    }
}

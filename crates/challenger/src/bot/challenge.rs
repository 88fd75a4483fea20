//! Which commitments to check, and what their faults leave behind: dispute or score-proof
//! intents, persisted before anything is sent. The check itself is [`Checker::check`].

use super::*;

impl Bot {
    /// The spec of task `task_id`, when its registration has been seen.
    pub(super) fn spec(&self, task_id: B256) -> Option<TaskSpec> {
        let bytes = self.state.tasks.get(&task_id)?;
        TaskSpec::abi_decode(bytes).ok()
    }

    /// What a bundle for commitment `id` (`c`) must answer.
    pub(super) fn target<'a>(
        &self,
        id: B256,
        c: &'a Commitment,
        spec: Option<&'a TaskSpec>,
    ) -> Target<'a> {
        Target {
            id,
            chain_id: self.chain_id,
            game: self.cfg.game,
            commitment: c,
            spec,
        }
    }

    /// Fetches (or reuses) the bundle of `c`, checked against its hash and size.
    pub(super) async fn bundle_path(&self, c: &Commitment, uri: &str) -> Result<PathBuf, String> {
        let hash: [u8; 32] = c.bundleHash.into();
        let dest = self
            .cfg
            .state_dir
            .join("bundles")
            .join(verbench_bundle::store::bundle_file_name(&hash));
        if dest.exists() {
            return Ok(dest);
        }
        let tmp = dest.with_extension("partial");
        verbench_bundle::store::fetch(uri, &hash, c.bundleSize, &tmp)
            .await
            .map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        Ok(dest)
    }

    pub(super) async fn check_commitments(
        &mut self,
        now: u64,
        report: &mut StepReport,
    ) -> anyhow::Result<()> {
        let ids: Vec<B256> = self
            .state
            .commitments
            .iter()
            .filter(|(_, e)| !e.checked)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let entry = self.state.commitments[&id].clone();
            let c = Commitment::abi_decode(&entry.commitment)?;
            let done = |s: &mut Self, note: String| {
                if let Some(e) = s.state.commitments.get_mut(&id) {
                    e.checked = true;
                    e.note = Some(note);
                }
                s.publish_check(id);
            };
            if c.provider == self.me {
                done(self, "own commitment".into());
                continue;
            }
            if now > u48(c.challengeDeadline) {
                done(self, "challenge window closed before checking".into());
                continue;
            }
            let started = Instant::now();
            let sample = self.sample(id, c.leafCount);
            let bundle = self.bundle_path(&c, &entry.uri).await;
            let spec = self.spec(c.taskId);
            let target = self.target(id, &c, spec.as_ref());
            let checked = self
                .checker
                .check(target, bundle, &sample, &self.shared.metrics)
                .await;
            self.shared
                .metrics
                .observe_verify(started.elapsed().as_secs_f64());
            let action = match checked {
                Ok(checked) => {
                    report.leaves_checked += checked.leaves_checked;
                    if let Some(e) = self.state.commitments.get_mut(&id) {
                        e.leaves = checked.leaves;
                    }
                    checked.action
                }
                Err(e) => {
                    // Our own failure (model, I/O): try again next step.
                    warn!(commitment = %id, error = %format!("{e:#}"), "cannot check commitment yet");
                    continue;
                }
            };
            match action {
                Action::Ok(note) => {
                    info!(commitment = %id, %note, "commitment checked");
                    done(self, note);
                }
                Action::Dispute {
                    index,
                    leaf,
                    reason,
                } => {
                    warn!(commitment = %id, index, %reason, with_leaf = leaf.is_some(), "fault found: disputing");
                    report.faults.push((id, reason.clone()));
                    let did = dispute_id_of(id, index);
                    self.state.intents.entry(did).or_insert_with(|| Intent {
                        commitment_id: id,
                        index,
                        leaf,
                        reason: reason.clone(),
                        status: IntentStatus::Pending,
                        kind: IntentKind::Dispute,
                    });
                    done(self, format!("disputed leaf {index}: {reason}"));
                    // Persist the intent before anything is sent.
                    self.save()?;
                }
                Action::ScoreProof {
                    index,
                    leaf,
                    next,
                    reason,
                } => {
                    warn!(commitment = %id, index, %reason, "score fault found: proving it on chain");
                    report.faults.push((id, reason.clone()));
                    self.state
                        .intents
                        .entry(score_proof_key(id))
                        .or_insert_with(|| Intent {
                            commitment_id: id,
                            index,
                            leaf: Some(leaf),
                            reason: reason.clone(),
                            status: IntentStatus::Pending,
                            kind: IntentKind::ScoreProof { next },
                        });
                    done(self, format!("score proof at leaf {index}: {reason}"));
                    self.save()?;
                }
            }
        }
        Ok(())
    }

    /// Makes what this bot found about commitment `id` servable at `/checks/<id>`.
    pub(super) fn publish_check(&self, id: B256) {
        let Some(e) = self.state.commitments.get(&id) else {
            return;
        };
        let Some(note) = e.note.clone() else {
            return;
        };
        let check = CommitmentCheck {
            commitment_id: id,
            checker: self.me,
            note,
            leaves: e.leaves.clone(),
        };
        if let Ok(mut checks) = self.shared.checks.write() {
            checks.insert(id, check);
        }
    }

    fn sample(&self, id: B256, leaf_count: u32) -> Vec<u32> {
        (0..leaf_count)
            .filter(|&i| sampled(self.cfg.seed, id, i, self.cfg.sample_rate))
            .collect()
    }
}

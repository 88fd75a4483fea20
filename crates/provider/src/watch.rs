//! The provider's watch mode: defends its commitments while they are open. It answers reveal
//! requests before their deadlines, publishes disputed items for the operators, submits the
//! operators' "leaf valid" verdict on its own disputes when it can collect a quorum of them
//! (`peers`), expires disputes nobody resolved, finalizes commitments once their window has
//! passed, and withdraws what it is owed, so an honest provider never loses a bond by being
//! offline from the shell that ran `submit` (run `verbench-submit watch` as a service).

use crate::{Error, Result};
use alloy::{
    primitives::{keccak256, Address, B256},
    providers::Provider,
    sol_types::SolValue,
};
use serde::Serialize;
use std::path::PathBuf;
use verbench_bundle::{leaf::leaf_of, read_bundle, store::bundle_file_name, BundleReader};
use verbench_chain::bindings::IDisputeGame::{
    self, CommitmentStatus, Dispute, DisputeStatus, Outcome,
};
use verbench_chain::bindings::IOperatorSet;
use verbench_chain::verdict;

/// What [`Watcher::settle`] did with a voting dispute.
enum Settled {
    /// Still voting (or settled by someone else).
    Open,
    /// The LeafValid verdict was submitted.
    Resolved,
    /// Expired after its vote deadline.
    Expired,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Pass {
    /// Own commitments seen.
    pub commitments: usize,
    /// Leaves revealed.
    pub revealed: usize,
    /// Disputed items published on chain (`publishItem`) for the operators to judge.
    pub published: usize,
    /// Disputes settled by submitting the operators' LeafValid verdict (`resolve`).
    pub resolved: usize,
    /// Disputes past their vote deadline with no verdict, closed (`expire`) so that the
    /// commitment can be finalized after its window.
    pub expired: usize,
    /// Commitments finalized.
    pub finalized: usize,
    /// Wei withdrawn.
    pub withdrawn_wei: String,
    /// Problems that did not stop the pass (logged too).
    pub problems: Vec<String>,
}

/// Watches the commitments of `me` on `game`.
#[derive(Debug, Clone)]
pub struct Watcher<P> {
    /// RPC provider with `me`'s wallet.
    pub provider: P,
    /// The DisputeGame.
    pub game: Address,
    /// The provider's address.
    pub me: Address,
    /// First block to scan (the deployment block).
    pub from_block: u64,
    /// Directory holding this provider's bundles (`0x<hash>.jsonl`).
    pub bundle_dir: PathBuf,
    /// Operators' attestation endpoints (`http://host:port`, serving `/attestations/<id>`): with
    /// them the watcher submits a LeafValid verdict on its own disputes itself (it is paid the
    /// challenger bond less the operators' pay); without them it waits for an operator to.
    pub peers: Vec<String>,
}

impl<P: Provider + Clone> Watcher<P> {
    /// One pass over every own commitment.
    pub async fn pass(&self) -> Result<Pass> {
        let game = IDisputeGame::new(self.game, &self.provider);
        let now = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(Error::transport("reading the latest block"))?
            .map(|b| b.header.timestamp)
            .unwrap_or_default();
        let mut pass = Pass::default();
        let commitments = game
            .RootCommitted_filter()
            .topic3(self.me.into_word())
            .from_block(self.from_block)
            .query()
            .await
            .map_err(|e| Error::Rpc {
                what: "reading RootCommitted".into(),
                reason: e.to_string(),
            })?;
        pass.commitments = commitments.len();
        for (event, _) in commitments {
            let cid = event.commitmentId;
            let c = event.commitment;
            let disputes = game
                .DisputeOpened_filter()
                .topic2(cid)
                .from_block(self.from_block)
                .query()
                .await
                .map_err(|e| Error::Rpc {
                    what: "reading DisputeOpened".into(),
                    reason: e.to_string(),
                })?;
            let ids: Vec<B256> = disputes.iter().map(|(o, _)| o.disputeId).collect();
            // Disputes opened with their leaf vote from the start.
            let opened_voting: Vec<(B256, Dispute)> = disputes
                .iter()
                .filter(|(o, _)| o.dispute.status == DisputeStatus::Voting)
                .map(|(o, _)| (o.disputeId, o.dispute.clone()))
                .collect();
            for (opened, _) in disputes {
                let d = opened.dispute;
                if d.status != DisputeStatus::AwaitingReveal {
                    continue;
                }
                if !self.is_current(opened.disputeId, &d).await? {
                    continue; // revealed or settled since it opened
                }
                if now > d.revealDeadline.to::<u64>() {
                    pass.problems.push(format!(
                        "dispute {}: reveal deadline passed before this pass",
                        opened.disputeId
                    ));
                    continue;
                }
                match self.reveal(&c.bundleHash, &d).await {
                    Ok(()) => pass.revealed += 1,
                    Err(e) => {
                        tracing::error!(dispute = %opened.disputeId, error = %e, "reveal failed");
                        pass.problems
                            .push(format!("dispute {}: {e}", opened.disputeId));
                    }
                }
            }
            // Every dispute whose leaf is known and still voting: the operators judge from chain
            // data only, so the item its leaf commits to goes on chain (once).
            let revealed = if ids.is_empty() {
                Vec::new() // an empty topic set would match every dispute's reveal
            } else {
                game.LeafRevealed_filter()
                    .topic1(ids)
                    .from_block(self.from_block)
                    .query()
                    .await
                    .map_err(|e| Error::Rpc {
                        what: "reading LeafRevealed".into(),
                        reason: e.to_string(),
                    })?
            };
            let mut voting: Vec<(B256, Dispute)> = opened_voting;
            for (ev, _) in revealed {
                match self
                    .publish_item(&c.bundleHash, ev.disputeId, &ev.dispute, &ev.leafData, now)
                    .await
                {
                    Ok(true) => pass.published += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(dispute = %ev.disputeId, error = %e, "publishing the item failed");
                        pass.problems.push(format!("dispute {}: {e}", ev.disputeId));
                    }
                }
                voting.push((ev.disputeId, ev.dispute));
            }
            for (did, d) in voting {
                match self.settle(did, &d, now).await {
                    Ok(Settled::Resolved) => pass.resolved += 1,
                    Ok(Settled::Expired) => pass.expired += 1,
                    Ok(Settled::Open) => {}
                    Err(e) => {
                        tracing::warn!(dispute = %did, error = %e, "cannot settle the dispute yet");
                        pass.problems.push(format!("dispute {did}: {e}"));
                    }
                }
            }
            let state = game
                .commitmentState(cid)
                .call()
                .await
                .map_err(Error::rpc("commitmentState"))?;
            // Active: accept it. Frozen (a dispute expired without quorum): release the bond.
            let releasable = state.status == CommitmentStatus::Active
                || (state.status == CommitmentStatus::Frozen && !state.bondReleased);
            if releasable && state.openDisputes == 0 && now > c.challengeDeadline.to::<u64>() {
                match game.finalize(c.clone()).from(self.me).send().await {
                    Ok(pending) => {
                        pending.get_receipt().await.map_err(|e| Error::Rpc {
                            what: "finalize".into(),
                            reason: e.to_string(),
                        })?;
                        tracing::info!(commitment = %cid, "finalized");
                        pass.finalized += 1;
                    }
                    Err(e) => pass.problems.push(format!(
                        "finalize {cid}: {}",
                        verbench_chain::decode_revert(&e)
                    )),
                }
            }
        }
        let owed = game
            .credit(self.me)
            .call()
            .await
            .map_err(Error::rpc("credit"))?;
        if !owed.is_zero() {
            game.withdraw()
                .from(self.me)
                .send()
                .await
                .map_err(Error::rpc("withdraw"))?
                .get_receipt()
                .await
                .map_err(|e| Error::Rpc {
                    what: "withdraw".into(),
                    reason: e.to_string(),
                })?;
            tracing::info!(wei = %owed, "withdrew credit");
        }
        pass.withdrawn_wei = owed.to_string();
        Ok(pass)
    }

    /// Settles voting dispute `did` (state `d`) if it still votes: after its vote deadline it
    /// `expire`s it (the challenger's bond goes to the treasury; the commitment stays Frozen but
    /// its bond can be released); before, with `peers`, it submits the operators' LeafValid
    /// verdict once their attestations make a quorum (the provider is paid the challenger bond
    /// less the operators' pay, and the commitment can still be accepted).
    async fn settle(&self, did: B256, d: &Dispute, now: u64) -> Result<Settled> {
        let game = IDisputeGame::new(self.game, &self.provider);
        if !self.is_current(did, d).await? {
            return Ok(Settled::Open); // settled since (or not this state)
        }
        if now > d.voteDeadline.to::<u64>() {
            self.send_and_wait("expire", game.expire(d.clone()).from(self.me))
                .await?;
            tracing::info!(dispute = %did, "no verdict by the vote deadline: expired");
            return Ok(Settled::Expired);
        }
        if self.peers.is_empty() {
            return Ok(Settled::Open);
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Rpc {
                what: "building the HTTP client".into(),
                reason: e.to_string(),
            })?;
        let mut attestations = Vec::new();
        for peer in &self.peers {
            if let Some(a) = verdict::fetch_attestation(&http, peer, did).await {
                attestations.push(a);
            }
        }
        let sm_addr = game
            .serviceManager()
            .call()
            .await
            .map_err(Error::rpc("serviceManager"))?;
        let sm = IOperatorSet::new(sm_addr, &self.provider);
        let chain_id = self
            .provider
            .get_chain_id()
            .await
            .map_err(Error::transport("reading the chain id"))?;
        let t = verdict::tally(
            &game,
            &sm,
            chain_id,
            did,
            d,
            Outcome::LeafValid,
            &attestations,
        )
        .await?;
        if !t.quorum {
            tracing::debug!(dispute = %did, stake_for = %t.stake_for, eligible = %t.eligible, "no LeafValid quorum yet");
            return Ok(Settled::Open);
        }
        self.send_and_wait(
            "resolve",
            game.resolve(d.clone(), Outcome::LeafValid, t.signers, t.signatures)
                .from(self.me),
        )
        .await?;
        tracing::info!(dispute = %did, "submitted the operators' LeafValid verdict");
        Ok(Settled::Resolved)
    }

    /// Whether dispute `did` is still in state `d` on chain (not revealed or settled since).
    async fn is_current(&self, did: B256, d: &Dispute) -> Result<bool> {
        let stored = IDisputeGame::new(self.game, &self.provider)
            .disputeHash(did)
            .call()
            .await
            .map_err(Error::rpc("disputeHash"))?;
        Ok(stored == keccak256(d.abi_encode()))
    }

    async fn send_and_wait<C, D>(
        &self,
        what: &str,
        call: alloy::contract::CallBuilder<C, D>,
    ) -> Result<()>
    where
        C: Provider,
        D: alloy::contract::CallDecoder,
    {
        call.send()
            .await
            .map_err(|e| Error::Rpc {
                what: what.into(),
                reason: verbench_chain::decode_revert(&e),
            })?
            .get_receipt()
            .await
            .map_err(|e| Error::Rpc {
                what: format!("{what} receipt"),
                reason: e.to_string(),
            })?;
        Ok(())
    }

    /// Publishes the item of dispute `did` (leaf known, `d` its state then) unless it is no longer
    /// voting or its item is on chain already. `Ok(true)` when sent.
    async fn publish_item(
        &self,
        bundle_hash: &B256,
        did: B256,
        d: &Dispute,
        leaf_data: &alloy::primitives::Bytes,
        now: u64,
    ) -> Result<bool> {
        let game = IDisputeGame::new(self.game, &self.provider);
        if d.status != DisputeStatus::Voting || now > d.voteDeadline.to::<u64>() {
            return Ok(false);
        }
        if !self.is_current(did, d).await? {
            return Ok(false); // resolved since
        }
        let published = game
            .ItemPublished_filter()
            .topic1(did)
            .from_block(self.from_block)
            .query()
            .await
            .map_err(|e| Error::Rpc {
                what: "reading ItemPublished".into(),
                reason: e.to_string(),
            })?;
        if !published.is_empty() {
            return Ok(false);
        }
        let item = self.item(bundle_hash, d)?;
        let output = verbench_bundle::leaf::output_bytes(&item.output_tokens, &item.choice_logits);
        let toploc = verbench_bundle::leaf::toploc_bytes(&item.proofs).ok_or_else(|| {
            Error::DatasetMismatch(format!(
                "item {} has a proof that is not base64",
                item.index
            ))
        })?;
        self.send_and_wait(
            "publishItem",
            game.publishItem(d.clone(), leaf_data.clone(), output.into(), toploc.into())
                .from(self.me),
        )
        .await?;
        tracing::info!(dispute = %did, leaf = d.leafIndex, "published the disputed item on chain");
        Ok(true)
    }

    /// Item `d.leafIndex` of this provider's bundle `bundle_hash`.
    fn item(&self, bundle_hash: &B256, d: &Dispute) -> Result<verbench_bundle::Item> {
        let path = self.bundle_dir.join(bundle_file_name(&bundle_hash.0));
        let index = u64::from(d.leafIndex);
        let mut reader = BundleReader::open(&path)?;
        loop {
            match reader.next_item()? {
                Some((item, _)) if item.index == index => return Ok(item),
                Some(_) => continue,
                None => {
                    return Err(Error::DatasetMismatch(format!(
                        "bundle has no item {index}"
                    )))
                }
            }
        }
    }

    async fn reveal(&self, bundle_hash: &B256, d: &Dispute) -> Result<()> {
        let path = self.bundle_dir.join(bundle_file_name(&bundle_hash.0));
        let summary = read_bundle(&path, Some((d.root.0, u64::from(d.leafCount))))?;
        let index = u64::from(d.leafIndex);
        let item = self.item(bundle_hash, d)?;
        let leaf = leaf_of(&summary.header, &item).map_err(Error::DatasetMismatch)?;
        let proof = summary.tree.prove(index)?;
        let siblings: Vec<B256> = proof.siblings.iter().map(|s| B256::from(*s)).collect();
        let game = IDisputeGame::new(self.game, &self.provider);
        self.send_and_wait(
            "revealLeaf",
            game.revealLeaf(d.clone(), leaf.encode().into(), siblings)
                .from(self.me),
        )
        .await?;
        tracing::info!(leaf = index, "revealed disputed leaf");
        Ok(())
    }
}

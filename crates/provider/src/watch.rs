//! The provider's watch mode: defends its commitments while they are open. It answers reveal
//! requests before their deadlines, finalizes commitments once their window has passed, and
//! withdraws what it is owed, so an honest provider never loses a bond by being offline from the
//! shell that ran `submit` (run `verbench-submit watch` as a service).

use crate::{Error, Result};
use alloy::{
    primitives::{keccak256, Address, B256},
    providers::Provider,
    sol_types::SolValue,
};
use serde::Serialize;
use std::path::PathBuf;
use verbench_bundle::{leaf::leaf_of, read_bundle, store::bundle_file_name, BundleReader};
use verbench_chain::bindings::IDisputeGame::{self, CommitmentStatus, Dispute, DisputeStatus};

/// What one pass did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Pass {
    /// Own commitments seen.
    pub commitments: usize,
    /// Leaves revealed.
    pub revealed: usize,
    /// Disputed items published on chain (`publishItem`) for the operators to judge.
    pub published: usize,
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
            for (opened, _) in disputes {
                let d = opened.dispute;
                if d.status != DisputeStatus::AwaitingReveal {
                    continue;
                }
                let stored = game
                    .disputeHash(opened.disputeId)
                    .call()
                    .await
                    .map_err(Error::rpc("disputeHash"))?;
                if stored != keccak256(d.abi_encode()) {
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
        let stored = game
            .disputeHash(did)
            .call()
            .await
            .map_err(Error::rpc("disputeHash"))?;
        if stored != keccak256(d.abi_encode()) {
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
        game.publishItem(d.clone(), leaf_data.clone(), output.into(), toploc.into())
            .from(self.me)
            .send()
            .await
            .map_err(Error::rpc("publishItem"))?
            .get_receipt()
            .await
            .map_err(|e| Error::Rpc {
                what: "publishItem receipt".into(),
                reason: e.to_string(),
            })?;
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
        game.revealLeaf(d.clone(), leaf.encode().into(), siblings)
            .from(self.me)
            .send()
            .await
            .map_err(Error::rpc("revealLeaf"))?
            .get_receipt()
            .await
            .map_err(|e| Error::Rpc {
                what: "revealLeaf receipt".into(),
                reason: e.to_string(),
            })?;
        tracing::info!(leaf = index, "revealed disputed leaf");
        Ok(())
    }
}

//! Publishing a finished bundle and committing its root with the bond, exactly once.

use crate::task::TaskInfo;
use crate::{Error, Result};
use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
};
use serde::Serialize;
use verbench_bundle::{store::BundleStore, Finished};
use verbench_chain::bindings::IDisputeGame;
use verbench_merkle::to_hex;

/// What `commit` did.
#[derive(Debug, Clone, Serialize)]
pub struct Committed {
    /// The commitment id.
    pub commitment_id: String,
    /// The Merkle root.
    pub root: String,
    /// Leaves.
    pub leaf_count: u64,
    /// keccak256 of the bundle.
    pub bundle_hash: String,
    /// Bundle size in bytes.
    pub bundle_size: u64,
    /// Where the bundle is published.
    pub uri: String,
    /// Claimed mean score, WAD.
    pub claimed_score_wad: String,
    /// Standard error of the bundle's mean score, WAD (not on chain).
    pub score_stderr_wad: String,
    /// `mean ± standard error` of the bundle's item scores, as fractions.
    pub score: String,
    /// The commit transaction, or `None` when the commitment already existed (a no-op).
    pub tx_hash: Option<String>,
    /// True when nothing was sent because the same commitment is already on chain.
    pub already_committed: bool,
}

/// Publishes `finished` to `store` and commits it for `task` from `provider_address`, unless the
/// same commitment (task, provider, root, leaf count) is already on chain. The claimed score is
/// the bundle's mean unless `claimed_score_wad` says otherwise (dishonest providers in tests).
pub async fn publish_and_commit<P: Provider, S: BundleStore>(
    provider: &P,
    game: Address,
    provider_address: Address,
    task: &TaskInfo,
    finished: &Finished,
    store: &S,
    claimed_score_wad: Option<u128>,
) -> Result<Committed> {
    let claimed = claimed_score_wad.unwrap_or(finished.score_wad);
    let contract = IDisputeGame::new(game, provider);
    let root = B256::from(finished.tree.root());
    let leaf_count = u32::try_from(finished.tree.leaf_count())
        .map_err(|_| Error::DatasetMismatch("more than 2^32 - 1 leaves".into()))?;
    let uri = store.publish(&finished.path, &finished.bundle_hash).await?;
    let commitment_id = contract
        .commitmentIdOf(task.task_id, provider_address, root, leaf_count)
        .call()
        .await
        .map_err(Error::rpc("commitmentIdOf"))?;
    let mut out = Committed {
        commitment_id: commitment_id.to_string(),
        root: to_hex(&finished.tree.root()),
        leaf_count: u64::from(leaf_count),
        bundle_hash: to_hex(&finished.bundle_hash),
        bundle_size: finished.bundle_size,
        uri: uri.clone(),
        claimed_score_wad: claimed.to_string(),
        score_stderr_wad: finished.score.stderr_wad.to_string(),
        score: finished.score.display(),
        tx_hash: None,
        already_committed: false,
    };
    let existing = contract
        .commitmentHash(commitment_id)
        .call()
        .await
        .map_err(Error::rpc("commitmentHash"))?;
    if existing != B256::ZERO {
        out.already_committed = true;
        return Ok(out);
    }
    let receipt = contract
        .commit(
            task.task_id,
            root,
            leaf_count,
            B256::from(finished.bundle_hash),
            finished.bundle_size,
            U256::from(claimed),
            uri,
        )
        .value(U256::from(task.spec.providerBond))
        .from(provider_address)
        .send()
        .await
        .map_err(Error::rpc("commit"))?
        .get_receipt()
        .await
        .map_err(|e| Error::Rpc {
            what: "commit receipt".into(),
            reason: e.to_string(),
        })?;
    if !receipt.status() {
        return Err(Error::Rpc {
            what: "commit".into(),
            reason: format!("transaction {} reverted", receipt.transaction_hash),
        });
    }
    out.tx_hash = Some(receipt.transaction_hash.to_string());
    Ok(out)
}

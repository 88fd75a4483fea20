//! Operators' EIP-712 verdicts: `Verdict(bytes32 disputeId,bytes32 leafHash,uint8 outcome)` in
//! the domain ("verbench", "1", chain id, DisputeGame address), signed as compact EIP-2098
//! signatures; their seals; the attestations operators exchange; and what every submitter of
//! `resolve` and `claimVerdictPay` (operator bots, challengers, providers) computes from them.

use crate::bindings::IDisputeGame::{
    self, Cause, Dispute, IDisputeGameInstance, Outcome, Sig, VerdictPay,
};
use crate::bindings::IOperatorSet::IOperatorSetInstance;
use crate::{Error, Result};
use alloy::{
    primitives::{keccak256, Address, B256, U256},
    providers::Provider,
    signers::{local::PrivateKeySigner, SignerSync},
    sol_types::{eip712_domain, SolValue},
};
use serde::{Deserialize, Serialize};

/// A verdict's outcome, as `IDisputeGame.Outcome` without `None`. Serialized as its byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum VerdictOutcome {
    /// The leaf is wrong.
    ProviderAtFault,
    /// The leaf is right.
    LeafValid,
}

impl TryFrom<u8> for VerdictOutcome {
    type Error = String;

    fn try_from(b: u8) -> std::result::Result<Self, String> {
        match b {
            1 => Ok(Self::ProviderAtFault),
            2 => Ok(Self::LeafValid),
            other => Err(format!(
                "verdict outcome {other} is neither 1 (provider at fault) nor 2 (leaf valid)"
            )),
        }
    }
}

impl From<VerdictOutcome> for u8 {
    fn from(o: VerdictOutcome) -> u8 {
        match o {
            VerdictOutcome::ProviderAtFault => 1,
            VerdictOutcome::LeafValid => 2,
        }
    }
}

impl From<VerdictOutcome> for Outcome {
    fn from(o: VerdictOutcome) -> Self {
        match o {
            VerdictOutcome::ProviderAtFault => Self::ProviderAtFault,
            VerdictOutcome::LeafValid => Self::LeafValid,
        }
    }
}

/// An operator's signed verdict on one dispute, as operators serve it at
/// `GET /attestations/<disputeId>` once it can no longer be copied into a paid seal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attestation {
    /// The dispute.
    pub dispute_id: B256,
    /// The operator that signed.
    pub signer: Address,
    /// The verdict (`1` = provider at fault, `2` = leaf valid on the wire; any other byte is a
    /// parse error, never a verdict).
    pub outcome: VerdictOutcome,
    /// The disputed leaf's hash.
    pub leaf_hash: B256,
    /// Compact signature, r.
    pub r: B256,
    /// Compact signature, s | yParity << 255.
    pub vs: B256,
}

impl Attestation {
    /// The compact signature, as `resolve` takes it.
    pub fn sig(&self) -> Sig {
        Sig {
            r: self.r,
            vs: self.vs,
        }
    }

    /// Whether the signature is the signer's over this verdict on `game` of chain `chain_id`.
    pub fn verifies(&self, chain_id: u64, game: Address) -> bool {
        let digest = verdict_digest(
            chain_id,
            game,
            self.dispute_id,
            self.leaf_hash,
            self.outcome.into(),
        );
        let mut raw = [0u8; 64];
        raw[..32].copy_from_slice(self.r.as_slice());
        raw[32..].copy_from_slice(self.vs.as_slice());
        let sig = alloy::primitives::Signature::from_erc2098(&raw);
        sig.recover_address_from_prehash(&digest).ok() == Some(self.signer)
    }
}

/// Asks operator endpoint `peer` (`http://host:port`) for its attestation on dispute `did`; `None`
/// when it has none to give (not judged yet, still sealed, unreachable or malformed).
pub async fn fetch_attestation(
    http: &reqwest::Client,
    peer: &str,
    did: B256,
) -> Option<Attestation> {
    let url = format!("{}/attestations/{did}", peer.trim_end_matches('/'));
    match http.get(&url).send().await {
        Ok(r) if r.status().is_success() => r.json::<Attestation>().await.ok(),
        _ => None,
    }
}

/// The signatures `resolve` would count for one outcome of one dispute, and whether they are a
/// quorum.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Counted signers, strictly ascending (as `resolve` takes them).
    pub signers: Vec<Address>,
    /// Their signatures, in the same order.
    pub signatures: Vec<Sig>,
    /// Their vote weight at the dispute's snapshot.
    pub stake_for: U256,
    /// The stake that may vote: everyone's at the snapshot but the provider's and the challenger's.
    pub eligible: U256,
    /// Whether `stake_for` passes the game's quorum.
    pub quorum: bool,
}

/// The stake that may vote on `d`, as `resolve` weighs a quorum against it.
pub async fn eligible_stake<P: Provider>(
    sm: &IOperatorSetInstance<P>,
    d: &Dispute,
) -> Result<U256> {
    let total = sm
        .totalStakeAt(d.snapshot)
        .call()
        .await
        .map_err(Error::rpc("totalStakeAt"))?;
    let p = sm
        .stakeAt(d.provider, d.snapshot)
        .call()
        .await
        .map_err(Error::rpc("stakeAt"))?;
    let ch = if d.challenger == d.provider {
        U256::ZERO
    } else {
        sm.stakeAt(d.challenger, d.snapshot)
            .call()
            .await
            .map_err(Error::rpc("stakeAt"))?
    };
    Ok(total.saturating_sub(p).saturating_sub(ch))
}

/// Counts `attestations` for `outcome` on dispute `did` (state `d`) as `resolve` would: one per
/// signer, verdict and leaf matching, signature recovering to its signer on `game`, neither the
/// provider nor the challenger, weighted by `voteWeightAt(signer, snapshot)` (none if slashed
/// since: `resolve` would revert with it, so it is left out).
pub async fn tally<P: Provider>(
    game: &IDisputeGameInstance<P>,
    sm: &IOperatorSetInstance<P>,
    chain_id: u64,
    did: B256,
    d: &Dispute,
    outcome: Outcome,
    attestations: &[Attestation],
) -> Result<Tally> {
    let mut counted: Vec<(Address, Sig)> = Vec::new();
    let mut stake_for = U256::ZERO;
    for a in attestations {
        if a.dispute_id != did
            || a.leaf_hash != d.leafHash
            || Outcome::from(a.outcome) != outcome
            || a.signer == d.provider
            || a.signer == d.challenger
            || counted.iter().any(|(s, _)| *s == a.signer)
            || !a.verifies(chain_id, *game.address())
        {
            continue;
        }
        let weight = sm
            .voteWeightAt(a.signer, d.snapshot)
            .call()
            .await
            .map_err(Error::rpc("voteWeightAt"))?;
        if weight.is_zero() {
            continue;
        }
        stake_for += weight;
        counted.push((a.signer, a.sig()));
    }
    counted.sort_by_key(|(a, _)| *a);
    let eligible = eligible_stake(sm, d).await?;
    let quorum_bps = game
        .quorumBps()
        .call()
        .await
        .map_err(Error::rpc("quorumBps"))?;
    let (signers, signatures) = counted.into_iter().unzip();
    Ok(Tally {
        signers,
        signatures,
        stake_for,
        eligible,
        quorum: crate::rules::quorum_reached(stake_for, eligible, quorum_bps),
    })
}

/// Every verdict on commitment `cid` whose signers are not paid yet, oldest first, as
/// `claimVerdictPay` takes them: from its `DisputeResolved` events with cause `Verdict` not
/// followed by `VerdictPayClaimed`, each with the signers and signatures its `resolve`
/// transaction carried and `P = challengerBond x operatorPayBps / 10000`. Empty when none.
pub async fn unpaid_verdicts<P: Provider>(
    game: &IDisputeGameInstance<P>,
    cid: B256,
    from_block: u64,
) -> Result<Vec<VerdictPay>> {
    let rpc = |what: &'static str| {
        move |e: alloy::contract::Error| Error::Rpc {
            what: what.into(),
            reason: e.to_string(),
        }
    };
    if game
        .unpaidVerdicts(cid)
        .call()
        .await
        .map_err(Error::rpc("unpaidVerdicts"))?
        == B256::ZERO
    {
        return Ok(Vec::new());
    }
    let bps = U256::from(
        game.operatorPayBps()
            .call()
            .await
            .map_err(Error::rpc("operatorPayBps"))?,
    );
    let resolved = game
        .DisputeResolved_filter()
        .topic2(cid)
        .from_block(from_block)
        .query()
        .await
        .map_err(rpc("reading DisputeResolved"))?;
    let ids: Vec<B256> = resolved.iter().map(|(e, _)| e.disputeId).collect();
    let claimed: std::collections::HashSet<B256> = if ids.is_empty() {
        Default::default()
    } else {
        game.VerdictPayClaimed_filter()
            .topic1(ids)
            .from_block(from_block)
            .query()
            .await
            .map_err(rpc("reading VerdictPayClaimed"))?
            .into_iter()
            .map(|(e, _)| e.disputeId)
            .collect()
    };
    let mut verdicts = Vec::new();
    for (e, log) in resolved {
        if e.cause != Cause::Verdict || claimed.contains(&e.disputeId) {
            continue;
        }
        let call = resolve_call(game.provider(), log.transaction_hash)
            .await
            .map_err(|why| Error::Rpc {
                what: format!("reading the resolve of dispute {}", e.disputeId),
                reason: why.to_string(),
            })?;
        verdicts.push(VerdictPay {
            disputeId: e.disputeId,
            snapshot: e.dispute.snapshot,
            pay: U256::from(e.dispute.challengerBond) * bps / U256::from(10_000u64),
            stakeEligible: e.stakeEligible,
            signers: call.signers,
            signatures: call.signatures,
        });
    }
    Ok(verdicts)
}

/// Why the signers of a resolution cannot be read from the transaction that logged it.
#[derive(Debug, thiserror::Error)]
pub enum ResolveInputError {
    /// The log came without a transaction hash.
    #[error("the node gave no transaction hash for the resolution")]
    NoTransactionHash,
    /// The node does not have the transaction.
    #[error("the resolving transaction {0} is not available from this node")]
    Unavailable(B256),
    /// The transaction called another contract, which called `resolve`.
    #[error("resolved through another contract: transaction {0} is not a direct resolve call")]
    NotDirect(B256),
    /// The node failed.
    #[error("reading transaction {tx}: {reason}")]
    Rpc {
        /// The transaction.
        tx: B256,
        /// The node's answer.
        reason: String,
    },
}

/// The `resolve` call (signers, signatures, outcome) of the transaction `tx` that logged a
/// `DisputeResolved` with cause `Verdict`: what `claimVerdictPay` and a reader of the signers need.
pub async fn resolve_call<P: Provider>(
    provider: &P,
    tx: Option<B256>,
) -> std::result::Result<IDisputeGame::resolveCall, ResolveInputError> {
    use alloy::consensus::Transaction as _;
    use alloy::sol_types::SolCall as _;
    let tx = tx.ok_or(ResolveInputError::NoTransactionHash)?;
    let t = provider
        .get_transaction_by_hash(tx)
        .await
        .map_err(|e| ResolveInputError::Rpc {
            tx,
            reason: e.to_string(),
        })?
        .ok_or(ResolveInputError::Unavailable(tx))?;
    IDisputeGame::resolveCall::abi_decode(t.inner.input())
        .map_err(|_| ResolveInputError::NotDirect(tx))
}

/// The EIP-712 digest an operator signs.
pub fn verdict_digest(
    chain_id: u64,
    game: Address,
    dispute_id: B256,
    leaf_hash: B256,
    outcome: Outcome,
) -> B256 {
    let domain = eip712_domain! {
        name: "verbench",
        version: "1",
        chain_id: chain_id,
        verifying_contract: game,
    };
    let type_hash = keccak256("Verdict(bytes32 disputeId,bytes32 leafHash,uint8 outcome)");
    let struct_hash =
        keccak256((type_hash, dispute_id, leaf_hash, U256::from(outcome as u8)).abi_encode());
    let mut preimage = Vec::with_capacity(66);
    preimage.extend_from_slice(&[0x19, 0x01]);
    preimage.extend_from_slice(domain.hash_struct().as_slice());
    preimage.extend_from_slice(struct_hash.as_slice());
    keccak256(preimage)
}

/// Signs a verdict; returns the compact signature the contract takes.
pub fn sign_verdict(
    signer: &PrivateKeySigner,
    chain_id: u64,
    game: Address,
    dispute_id: B256,
    leaf_hash: B256,
    outcome: Outcome,
) -> Result<Sig> {
    let digest = verdict_digest(chain_id, game, dispute_id, leaf_hash, outcome);
    let sig = signer
        .sign_hash_sync(&digest)
        .map_err(|e| Error::Key(format!("signing the verdict: {e}")))?;
    let compact = sig.as_erc2098();
    Ok(Sig {
        r: B256::from_slice(&compact[..32]),
        vs: B256::from_slice(&compact[32..]),
    })
}

/// The seal of a compact verdict signature, as `sealVerdict` takes it: keccak256(r || vs)
/// (= keccak256(abi.encode(r, vs))). An operator seals before the seal deadline and reveals the
/// signature after it (docs/protocol.md, "Lazy operators").
pub fn seal_of(r: B256, vs: B256) -> B256 {
    let mut both = [0u8; 64];
    both[..32].copy_from_slice(r.as_slice());
    both[32..].copy_from_slice(vs.as_slice());
    keccak256(both)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attestation_outcomes_are_typed_and_unknown_bytes_refused() {
        let a = Attestation {
            dispute_id: B256::repeat_byte(1),
            signer: Address::repeat_byte(2),
            outcome: VerdictOutcome::LeafValid,
            leaf_hash: B256::repeat_byte(3),
            r: B256::repeat_byte(4),
            vs: B256::repeat_byte(5),
        };
        let text = serde_json::to_string(&a).unwrap();
        assert!(text.contains("\"outcome\":2"), "{text}");
        assert_eq!(serde_json::from_str::<Attestation>(&text).unwrap(), a);
        let bad = text.replace("\"outcome\":2", "\"outcome\":7");
        let e = serde_json::from_str::<Attestation>(&bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("neither 1"), "{e}");
    }

    #[test]
    fn an_attestation_verifies_only_as_signed() {
        let key = PrivateKeySigner::random();
        let game = Address::repeat_byte(9);
        let (did, leaf) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let sig = sign_verdict(&key, 31337, game, did, leaf, Outcome::LeafValid).unwrap();
        let a = Attestation {
            dispute_id: did,
            signer: key.address(),
            outcome: VerdictOutcome::LeafValid,
            leaf_hash: leaf,
            r: sig.r,
            vs: sig.vs,
        };
        assert!(a.verifies(31337, game));
        assert!(!a.verifies(1, game), "another chain");
        let flipped = Attestation {
            outcome: VerdictOutcome::ProviderAtFault,
            ..a.clone()
        };
        assert!(!flipped.verifies(31337, game), "another outcome");
    }

    #[test]
    fn seal_is_the_hash_of_the_abi_encoded_signature_words() {
        let (r, vs) = (B256::repeat_byte(0x11), B256::repeat_byte(0xf2));
        assert_eq!(seal_of(r, vs), keccak256((r, vs).abi_encode()));
        assert_ne!(seal_of(r, vs), seal_of(vs, r));
    }
}

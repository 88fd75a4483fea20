//! Operators' EIP-712 verdicts: `Verdict(bytes32 disputeId,bytes32 leafHash,uint8 outcome)` in
//! the domain ("verbench", "1", chain id, DisputeGame address), signed as compact EIP-2098
//! signatures.

use crate::bindings::IDisputeGame::{Outcome, Sig};
use crate::{Error, Result};
use alloy::{
    primitives::{keccak256, Address, B256, U256},
    signers::{local::PrivateKeySigner, SignerSync},
    sol_types::{eip712_domain, SolValue},
};

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

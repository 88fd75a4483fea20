//! The contract's derivations and rules, computed off chain in one place (docs/protocol.md,
//! "Identifiers" and "Verdicts"); the Solidity side is `contracts/libraries/GameIds.sol`. Each is
//! checked against the contract's own view functions on anvil (`tests/it`): `taskIdOf`,
//! `commitmentIdOf`, `disputeIdOf`, `commitmentHash`, `disputeHash`.

use crate::bindings::IDisputeGame::{Commitment, Dispute, TaskSpec};
use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::sol_types::SolValue;

/// `keccak256(abi.encode(chainid, game, spec))`.
pub fn task_id(chain_id: u64, game: Address, spec: &TaskSpec) -> B256 {
    keccak256((U256::from(chain_id), game, spec.clone()).abi_encode())
}

/// `keccak256(abi.encode(chainid, game, taskId, provider, root, leafCount))`.
pub fn commitment_id(
    chain_id: u64,
    game: Address,
    task_id: B256,
    provider: Address,
    root: B256,
    leaf_count: u32,
) -> B256 {
    keccak256(
        (
            U256::from(chain_id),
            game,
            task_id,
            provider,
            root,
            U256::from(leaf_count),
        )
            .abi_encode(),
    )
}

/// The id of a commitment as its struct names it.
pub fn commitment_id_of(chain_id: u64, game: Address, c: &Commitment) -> B256 {
    commitment_id(chain_id, game, c.taskId, c.provider, c.root, c.leafCount)
}

/// `keccak256(abi.encode(commitmentId, leafIndex))`: one dispute per leaf.
pub fn dispute_id(commitment_id: B256, leaf_index: u32) -> B256 {
    keccak256((commitment_id, U256::from(leaf_index)).abi_encode())
}

/// What the game stores for a commitment: `keccak256(abi.encode(c))`.
pub fn commitment_hash(c: &Commitment) -> B256 {
    keccak256(c.abi_encode())
}

/// What the game stores for a dispute: `keccak256(abi.encode(d))`.
pub fn dispute_hash(d: &Dispute) -> B256 {
    keccak256(d.abi_encode())
}

/// Basis points in a whole.
pub const BPS: u64 = 10_000;

/// Whether `stake_for` is a quorum: strictly more than `quorum_bps / 10000` of `eligible`
/// (`stakeFor * 10000 > quorumBps * eligible`, as `resolve` checks).
pub fn quorum_reached(stake_for: U256, eligible: U256, quorum_bps: u16) -> bool {
    stake_for * U256::from(BPS) > U256::from(quorum_bps) * eligible
}

/// The last second a voting dispute's item may go on chain before operators find the provider at
/// fault for withholding it: half the voting period after the leaf became known (an off-chain
/// rule of the operator bots, docs/protocol.md "How operators judge a leaf").
pub fn item_deadline(d: &Dispute, voting_period: u32) -> u64 {
    d.voteDeadline
        .to::<u64>()
        .saturating_sub(u64::from(voting_period / 2))
}

/// The last second `sealVerdict` accepts a seal on a voting dispute: `voteDeadline -
/// votingPeriod / 4`, as the contract computes it.
pub fn seal_deadline(d: &Dispute, voting_period: u32) -> u64 {
    d.voteDeadline
        .to::<u64>()
        .saturating_sub(u64::from(voting_period / 4))
}

/// The TOPLOC limits a task fixes, from its milli-unit fields.
pub fn thresholds_of(spec: &TaskSpec) -> verbench_toploc::Thresholds {
    verbench_toploc::Thresholds {
        max_mant_err_mean: f64::from(spec.toploc.maxMantErrMeanMilli) / 1000.0,
        max_mant_err_median: f64::from(spec.toploc.maxMantErrMedianMilli) / 1000.0,
        min_exp_matches: spec.toploc.minExpMatches as usize,
    }
}

/// The token check's margin a task fixes, in logits (`tokenMarginMilli / 1000`; 0 means the
/// claimed token must be the recomputed argmax). Every judge uses this value and no other.
pub fn token_margin_of(spec: &TaskSpec) -> f32 {
    spec.toploc.tokenMarginMilli as f32 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_is_strict() {
        let q = 6667;
        assert!(!quorum_reached(U256::from(6667), U256::from(10_000), q));
        assert!(quorum_reached(U256::from(6668), U256::from(10_000), q));
        assert!(!quorum_reached(U256::ZERO, U256::ZERO, q));
    }
}

//! A task as the provider needs it: the full spec, recovered from its `TaskRegistered` event.

use crate::{Error, Result};
use alloy::{
    primitives::{Address, B256},
    providers::Provider,
};
use std::path::Path;
use verbench_bundle::{GenerationParams, Header, ToplocParams, FORMAT};
use verbench_chain::bindings::IDisputeGame::{self, TaskSpec};
use verbench_inference::calibration::{Calibration, SamplingMode};
use verbench_inference::{ModelHash, Sampling};
use verbench_merkle::to_hex;

/// The limits a task over `model` with generation temperature `temperature_milli` and
/// `max_new_tokens` output tokens per item carries, read from the calibration file at `path`, and
/// the file's hash (`calibrationHash`). Refuses a file of another model or sampling mode, one
/// that does not judge items of `max_new_tokens` tokens, or one not in canonical form.
pub fn task_limits(
    path: &Path,
    model: ModelHash,
    temperature_milli: u32,
    max_new_tokens: u32,
) -> Result<(IDisputeGame::ToplocParams, B256)> {
    let (cal, hash) = Calibration::read(path)?;
    cal.check_for(path, model, SamplingMode::from_task(temperature_milli))?;
    cal.check_item_tokens(path, max_new_tokens)?;
    Ok((toploc_params(&cal, max_new_tokens), B256::from(hash.0)))
}

/// A calibration's limits as the task struct carries them, for items of `max_new_tokens` output
/// tokens (the token margin meets the per-item target at that length:
/// [`Calibration::token_margin_milli_for`]).
pub fn toploc_params(cal: &Calibration, max_new_tokens: u32) -> IDisputeGame::ToplocParams {
    IDisputeGame::ToplocParams {
        topk: cal.key.topk,
        decodeBatchingSize: cal.key.decode_batching_size,
        maxMantErrMeanMilli: cal.limits.max_mant_err_mean_milli,
        maxMantErrMedianMilli: cal.limits.max_mant_err_median_milli,
        minExpMatches: cal.limits.min_exp_matches,
        tokenMarginMilli: cal.token_margin_milli_for(max_new_tokens),
    }
}

/// A registered task.
#[derive(Debug, Clone)]
pub struct TaskInfo {
    /// Its id.
    pub task_id: B256,
    /// What it fixes.
    pub spec: TaskSpec,
}

/// Finds task `task_id`'s spec in the game's `TaskRegistered` events from `from_block` on.
pub async fn load_task<P: Provider>(
    provider: &P,
    game: Address,
    from_block: u64,
    task_id: B256,
) -> Result<TaskInfo> {
    let contract = IDisputeGame::new(game, provider);
    let logs = contract
        .TaskRegistered_filter()
        .topic1(task_id)
        .from_block(from_block)
        .query()
        .await
        .map_err(|e| Error::Rpc {
            what: "reading TaskRegistered events".into(),
            reason: e.to_string(),
        })?;
    let (event, _) = logs
        .into_iter()
        .next()
        .ok_or_else(|| Error::UnknownTask(task_id.to_string()))?;
    Ok(TaskInfo {
        task_id,
        spec: event.spec,
    })
}

impl TaskInfo {
    /// How output tokens are chosen: greedy when `temperatureMilli == 0`, else seeded Gumbel
    /// sampling at that temperature with top-p 1 (the protocol does not carry top-p yet).
    pub fn sampling(&self) -> Sampling {
        let g = &self.spec.generation;
        Sampling::from_task(g.temperatureMilli, g.seed)
    }

    /// The bundle header for `provider`'s answer to this task.
    pub fn header(&self, chain_id: u64, game: Address, provider: Address) -> Header {
        let s = &self.spec;
        Header {
            format: FORMAT.into(),
            chain_id,
            game: format!("{game:#x}"),
            task_id: to_hex(&self.task_id.0),
            provider: format!("{provider:#x}"),
            model_hash: to_hex(&s.modelHash.0),
            manifest_hash: to_hex(&s.manifestHash.0),
            dataset_root: to_hex(&s.datasetRoot.0),
            leaf_count: u64::from(s.datasetSize),
            generation: GenerationParams {
                max_new_tokens: s.generation.maxNewTokens,
                temperature_milli: s.generation.temperatureMilli,
                seed: s.generation.seed,
            },
            toploc: ToplocParams {
                topk: s.toploc.topk,
                decode_batching_size: s.toploc.decodeBatchingSize,
            },
            engine: None,
        }
    }
}

//! A task's benchmark as provider and judges hold it: the items with their reference answers, the
//! prompt format and the scorer, from a verified manifest, or the legacy form (manifest hash 0:
//! a dataset file scored by word-run in the default chat format).

use crate::dataset::Dataset;
use crate::manifest::{Manifest, PromptFormat};
use crate::scorer::ScorerRef;
use crate::{Error, Hash, Result};
use std::path::{Path, PathBuf};
use verbench_merkle::to_hex;

/// Where fetched datasets and converted benchmarks are cached:
/// `${VERBENCH_CACHE:-$HOME/.cache/verbench}/datasets`.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("VERBENCH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/verbench")
        })
        .join("datasets")
}

/// The items, prompt format and scorer of one task.
#[derive(Debug, Clone)]
pub struct Benchmark {
    /// The manifest, or `None` for a legacy task (manifest hash 0).
    pub manifest: Option<Manifest>,
    /// The verified items.
    pub dataset: Dataset,
    /// The prompt format (the manifest's, or the default chat format).
    pub prompt: PromptFormat,
    /// The scorer (the manifest's, or word-run).
    pub scorer: ScorerRef,
}

impl Benchmark {
    /// A legacy benchmark: `dataset`, default chat format, word-run scorer, manifest hash 0.
    pub fn legacy(dataset: Dataset) -> Self {
        Self {
            manifest: None,
            dataset,
            prompt: PromptFormat::default(),
            scorer: ScorerRef::WORD_RUN,
        }
    }

    /// The benchmark of a manifest and its (verified) dataset.
    pub fn from_manifest(manifest: Manifest, dataset: Dataset) -> Self {
        Self {
            prompt: manifest.prompt.clone(),
            scorer: manifest.scorer,
            manifest: Some(manifest),
            dataset,
        }
    }

    /// The task's `manifestHash`: the manifest's hash, or 0 for a legacy benchmark.
    pub fn manifest_hash(&self) -> Hash {
        self.manifest.as_ref().map_or([0; 32], Manifest::hash)
    }

    /// Whether this benchmark is the one a task with `manifest_hash`, `dataset_root` and
    /// `dataset_size` fixes; the error names the field that differs.
    pub fn answers(
        &self,
        manifest_hash: &Hash,
        dataset_root: &Hash,
        dataset_size: u64,
    ) -> std::result::Result<(), String> {
        if &self.manifest_hash() != manifest_hash {
            return Err(format!(
                "manifest hash {} is not the task's {}",
                to_hex(&self.manifest_hash()),
                to_hex(manifest_hash)
            ));
        }
        let root = self.dataset.root().map_err(|e| e.to_string())?;
        if &root != dataset_root {
            return Err(format!(
                "dataset root {} is not the task's {}",
                to_hex(&root),
                to_hex(dataset_root)
            ));
        }
        if self.dataset.items.len() as u64 != dataset_size {
            return Err(format!(
                "{} dataset items, the task has {dataset_size}",
                self.dataset.items.len()
            ));
        }
        Ok(())
    }

    /// Loads a benchmark for a provider or a judge: with a manifest, the dataset comes from
    /// `dataset` when given (verified against the manifest), else from `cache_dir` when a verified
    /// copy is there, else it is fetched from the manifest's URI into `cache_dir`. Without a
    /// manifest, `dataset` is required and the benchmark is legacy.
    pub async fn load(
        manifest: Option<&Path>,
        dataset: Option<&Path>,
        cache_dir: &Path,
    ) -> Result<Self> {
        let Some(manifest_path) = manifest else {
            let path = dataset.ok_or_else(|| Error::Malformed {
                path: PathBuf::from("<arguments>"),
                line: 0,
                reason: "a dataset file is required when no manifest is given".into(),
            })?;
            return Ok(Self::legacy(Dataset::load(path)?));
        };
        let m = Manifest::load(manifest_path)?;
        let dataset = Self::dataset_of(&m, dataset, cache_dir).await?;
        Ok(Self::from_manifest(m, dataset))
    }

    /// The verified dataset of `m`: from `local` if given, else the cached copy, else fetched.
    pub async fn dataset_of(
        m: &Manifest,
        local: Option<&Path>,
        cache_dir: &Path,
    ) -> Result<Dataset> {
        if let Some(path) = local {
            let bytes = std::fs::read(path).map_err(Error::io(path))?;
            return m.verify_dataset(&bytes, path);
        }
        let cached = cache_dir.join(format!("{}.jsonl", m.dataset.sha256));
        if let Ok(bytes) = std::fs::read(&cached) {
            if let Ok(d) = m.verify_dataset(&bytes, &cached) {
                return Ok(d);
            }
        }
        tracing::info!(uri = %m.dataset.uri, bytes = m.dataset.size, "fetching the manifest's dataset");
        crate::store::fetch_dataset(m, &cached).await
    }
}

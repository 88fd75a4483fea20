/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop a provider.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The task is not registered on this game.
    #[error("task {0} is not registered on this DisputeGame (no TaskRegistered event)")]
    UnknownTask(String),
    /// The dataset does not match the task.
    #[error("dataset does not match task: {0}")]
    DatasetMismatch(String),
    /// The model file is not the task's model.
    #[error("model {path} has hash {actual}, the task requires {expected}")]
    ModelMismatch {
        /// The model file.
        path: String,
        /// Its hash.
        actual: String,
        /// The task's model hash.
        expected: String,
    },
    /// An item could not be generated.
    #[error("item {index}: {source}")]
    Item {
        /// Dataset index.
        index: u64,
        /// The inference error.
        source: verbench_inference::Error,
    },
    /// A calibration file is unreadable or was made for another model or sampling mode.
    #[error(transparent)]
    Calibration(#[from] verbench_inference::calibration::CalibrationError),
    /// Inference failed outside an item (loading the model).
    #[error(transparent)]
    Inference(#[from] verbench_inference::Error),
    /// Bundle writing, reading or publishing failed.
    #[error(transparent)]
    Bundle(#[from] verbench_bundle::Error),
    /// A chain call failed.
    #[error(transparent)]
    Chain(#[from] verbench_chain::Error),
    /// A Merkle error.
    #[error(transparent)]
    Merkle(#[from] verbench_merkle::Error),
    /// An RPC or transport failure.
    #[error("{what}: {reason}")]
    Rpc {
        /// What was attempted.
        what: String,
        /// What the node said.
        reason: String,
    },
}

impl Error {
    pub(crate) fn rpc(what: impl Into<String>) -> impl FnOnce(alloy::contract::Error) -> Self {
        let what = what.into();
        move |e| Self::Rpc {
            what,
            reason: verbench_chain::decode_revert(&e),
        }
    }

    pub(crate) fn transport(
        what: impl Into<String>,
    ) -> impl FnOnce(alloy::transports::TransportError) -> Self {
        let what = what.into();
        move |e| Self::Rpc {
            what,
            reason: e.to_string(),
        }
    }
}

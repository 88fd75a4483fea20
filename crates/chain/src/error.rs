use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the chain crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A forge artifact could not be read.
    #[error("cannot read forge artifact {path}: {source} (run `forge build` first)")]
    ArtifactIo {
        /// The artifact's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A forge artifact is not the JSON forge writes.
    #[error("forge artifact {path} is malformed: {reason}")]
    ArtifactFormat {
        /// The artifact's path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A deployment file could not be read or written.
    #[error("deployment file {path}: {reason}")]
    Deployment {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No anvil binary was found.
    #[cfg(feature = "dev")]
    #[error("no anvil binary: looked at {0} (run `tools/setup.sh`, or set VERBENCH_ANVIL)")]
    AnvilMissing(String),
    /// anvil did not start.
    #[cfg(feature = "dev")]
    #[error("anvil failed to start: {0}")]
    AnvilStart(String),
    /// No usable signing key.
    #[error("signing key: {0}")]
    Key(String),
    /// The deployment file is of another ServiceManager back end than the one asked for.
    #[error("the deployment uses the {found} back end, but --backend {wanted} was given")]
    BackendMismatch {
        /// The back end asked for.
        wanted: String,
        /// The deployment's back end.
        found: String,
    },
    /// A transaction or call failed.
    #[error("{what}: {reason}")]
    Rpc {
        /// What was attempted.
        what: String,
        /// The node's answer or the decoded revert.
        reason: String,
    },
}

impl Error {
    /// Wraps any displayable RPC/contract error with what was attempted.
    pub fn rpc(what: impl Into<String>) -> impl FnOnce(alloy::contract::Error) -> Self {
        let what = what.into();
        move |e| Self::Rpc {
            what,
            reason: crate::decode_revert(&e),
        }
    }
}

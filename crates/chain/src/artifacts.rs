//! Forge build artifacts: `out/<File>.sol/<Contract>.json`.

use crate::{Error, Result};
use alloy::primitives::Bytes;
use std::path::{Path, PathBuf};

/// Where `out/` and `deployments/` are looked up by default. With the `dev` feature (tests, demo,
/// devnet) it is the checkout this crate was built from, two levels above it; otherwise the
/// current directory, so that an installed binary never points into the build machine's checkout.
pub fn project_root() -> PathBuf {
    #[cfg(feature = "dev")]
    return Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    #[cfg(not(feature = "dev"))]
    PathBuf::from(".")
}

/// Creation bytecode of `contract`, compiled from `contracts/<file>.sol`, read from `out_dir`.
pub fn creation_bytecode(out_dir: &Path, file: &str, contract: &str) -> Result<Bytes> {
    let path = out_dir
        .join(format!("{file}.sol"))
        .join(format!("{contract}.json"));
    let text = std::fs::read_to_string(&path).map_err(|source| Error::ArtifactIo {
        path: path.clone(),
        source,
    })?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::ArtifactFormat {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let object = json
        .pointer("/bytecode/object")
        .and_then(|v| v.as_str())
        .ok_or_else(|| Error::ArtifactFormat {
            path: path.clone(),
            reason: "no bytecode.object".into(),
        })?;
    let bytes: Bytes = object.parse().map_err(|e| Error::ArtifactFormat {
        path: path.clone(),
        reason: format!("bytecode is not hex: {e}"),
    })?;
    if bytes.is_empty() {
        return Err(Error::ArtifactFormat {
            path,
            reason: "empty bytecode (abstract contract or interface?)".into(),
        });
    }
    Ok(bytes)
}

//! A throwaway local chain: anvil from the project's npm-installed Foundry.

use crate::{Error, Result};
use alloy::node_bindings::{Anvil, AnvilInstance};
use std::path::PathBuf;

/// Where anvil is: `$VERBENCH_ANVIL`, else `node_modules/.bin/anvil` in the project, else `PATH`.
pub fn anvil_path() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("VERBENCH_ANVIL") {
        return Ok(PathBuf::from(path));
    }
    let local = crate::artifacts::project_root().join("node_modules/.bin/anvil");
    if local.exists() {
        return Ok(local);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("anvil"))
        .find(|candidate| candidate.exists());
    on_path
        .ok_or_else(|| Error::AnvilMissing(format!("$VERBENCH_ANVIL, {}, $PATH", local.display())))
}

/// Starts anvil on a free port; it is killed when the returned instance is dropped.
pub fn spawn_anvil() -> Result<AnvilInstance> {
    let path = anvil_path()?;
    Anvil::at(path)
        .try_spawn()
        .map_err(|e| Error::AnvilStart(e.to_string()))
}

//! The explorer over a local network: the challengers' `/checks` served over HTTP, the explorer
//! indexing the deployment, and headless Chromium to load its pages (the browser test and the
//! screenshots in `docs/`).

use crate::Devnet;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A running explorer with the challenger endpoints it reads (they end with the runtime, or
/// with [`Explorer::stop`]).
pub struct Explorer {
    /// The explorer.
    pub running: verbench_explorer::Running,
    servers: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Explorer {
    /// The explorer's base URL.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// Stops the explorer and the endpoints.
    pub async fn stop(self) -> anyhow::Result<()> {
        for s in &self.servers {
            s.abort();
        }
        self.running.stop().await
    }
}

/// What the explorer shows: the challengers whose checks it reads, the benchmarks it names, the
/// model names it knows.
pub struct Sources<'a> {
    /// Challengers' shared state (each gets an HTTP endpoint).
    pub challengers: &'a [Arc<verbench_challenger::Shared>],
    /// Benchmark manifests.
    pub manifests: &'a [PathBuf],
    /// Dataset files.
    pub datasets: &'a [PathBuf],
    /// Model display names.
    pub model_names: Vec<(alloy::primitives::B256, String)>,
}

/// Serves each challenger's `/checks` on a free local port and starts an explorer on `listen`
/// (data in `data_dir`) that reads them, waiting until it indexed the chain's head.
pub async fn start_explorer(
    net: &Devnet,
    sources: Sources<'_>,
    data_dir: &Path,
    listen: SocketAddr,
) -> anyhow::Result<Explorer> {
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    for shared in sources.challengers {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        urls.push(format!("http://{}", listener.local_addr()?));
        servers.push(tokio::spawn(verbench_challenger::serve(
            shared.clone(),
            listener,
            std::future::pending(),
        )));
    }
    let cfg = verbench_explorer::Config {
        start_block: net.deployment.block_number,
        data_dir: data_dir.to_path_buf(),
        challengers: urls,
        manifests: sources.manifests.to_vec(),
        datasets: sources.datasets.to_vec(),
        model_names: sources.model_names,
        poll_interval: Duration::from_millis(300),
        listen,
        ..verbench_explorer::Config::new(net.anvil.endpoint(), net.deployment.dispute_game)
    };
    let running = verbench_explorer::start(cfg).await?;
    use alloy::providers::Provider as _;
    let head = net.admin.get_block_number().await?;
    running.wait_indexed(head, Duration::from_secs(60)).await?;
    Ok(Explorer { running, servers })
}

/// The Chromium binary: `VERBENCH_CHROMIUM`, or `chromium` / `chromium-browser` /
/// `google-chrome` on the PATH.
pub fn chromium() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("VERBENCH_CHROMIUM") {
        return Ok(PathBuf::from(p));
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Some(dir) = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .find(|d| d.join(name).is_file())
        {
            return Ok(dir.join(name));
        }
    }
    anyhow::bail!(
        "no Chromium found (install the Debian package `chromium`, as tools/setup.sh does, or set VERBENCH_CHROMIUM)"
    )
}

fn headless(extra: &[&str], url: &str) -> anyhow::Result<std::process::Output> {
    let bin = chromium()?;
    let profile = tempfile_dir()?;
    let out = std::process::Command::new(&bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    let _ = std::fs::remove_dir_all(&profile);
    anyhow::ensure!(
        out.status.success(),
        "{} {url} failed ({}): {}",
        bin.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "verbench-chromium-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The DOM headless Chromium rendered for `url`.
pub fn dump_dom(url: &str) -> anyhow::Result<String> {
    let out = headless(&["--dump-dom"], url)?;
    Ok(String::from_utf8(out.stdout)?)
}

/// A PNG screenshot of `url` at `width` x `height` into `path`.
pub fn screenshot(url: &str, path: &Path, width: u32, height: u32) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let path = std::path::absolute(path)?;
    headless(
        &[
            &format!("--screenshot={}", path.display()),
            &format!("--window-size={width},{height}"),
        ],
        url,
    )?;
    anyhow::ensure!(path.exists(), "Chromium wrote no {}", path.display());
    Ok(())
}

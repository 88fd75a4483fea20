//! Where bundles live. Bundles are content-addressed: a store keeps a bundle under the name
//! `0x<keccak256 of its bytes>.jsonl`, and whoever fetches checks hash and size against the
//! commitment, so any store (a directory, a web server, a CDN) serves equally well.

use crate::{keccak256, Error, Hash, Result};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use verbench_merkle::to_hex;

/// The file name of a bundle in any store.
pub fn bundle_file_name(hash: &Hash) -> String {
    format!("{}.jsonl", to_hex(hash))
}

/// A place a provider publishes bundles to.
pub trait BundleStore {
    /// Publishes the bundle at `path` whose content hash is `hash`; returns the URI to commit.
    fn publish(
        &self,
        path: &Path,
        hash: &Hash,
    ) -> impl std::future::Future<Output = Result<String>> + Send;
}

/// A local directory, optionally served over HTTP at `base_url` (see [`serve_dir`]).
#[derive(Debug, Clone)]
pub struct DirStore {
    /// The directory holding `0x<hash>.jsonl` files.
    pub dir: PathBuf,
    /// Public base URL of the directory (`http://host:port`), or `None` for `file://` URIs.
    pub base_url: Option<String>,
}

impl BundleStore for DirStore {
    async fn publish(&self, path: &Path, hash: &Hash) -> Result<String> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(Error::io(&self.dir))?;
        let name = bundle_file_name(hash);
        let target = self.dir.join(&name);
        if tokio::fs::metadata(&target).await.is_err() {
            let tmp = self.dir.join(format!(".{name}.partial"));
            tokio::fs::copy(path, &tmp).await.map_err(Error::io(&tmp))?;
            tokio::fs::rename(&tmp, &target)
                .await
                .map_err(Error::io(&target))?;
        }
        Ok(match &self.base_url {
            Some(base) => format!("{}/{name}", base.trim_end_matches('/')),
            None => {
                let abs = std::path::absolute(&target).map_err(Error::io(&target))?;
                format!("file://{}", abs.display())
            }
        })
    }
}

/// Fetches the bundle at `uri` (`file://` or `http(s)://`) into `dest`, reading at most
/// `size` bytes, and checks that its keccak256 and size equal the committed `hash` and `size`.
pub async fn fetch(uri: &str, hash: &Hash, size: u64, dest: &Path) -> Result<PathBuf> {
    let bytes = read_capped(uri, size).await?;
    let got = keccak256(&bytes);
    if &got != hash || bytes.len() as u64 != size {
        return Err(Error::ContentMismatch {
            uri: uri.to_owned(),
            want_hash: to_hex(hash),
            want_size: size,
            got_hash: to_hex(&got),
            got_size: bytes.len() as u64,
        });
    }
    write_synced(dest, &bytes).await
}

/// Fetches the dataset a manifest names into `dest`: at most `manifest.dataset.size` bytes, its
/// sha256 and size checked, then every item verified ([`Manifest::verify_dataset`]).
pub async fn fetch_dataset(
    manifest: &crate::manifest::Manifest,
    dest: &Path,
) -> Result<crate::dataset::Dataset> {
    let uri = &manifest.dataset.uri;
    let bytes = read_capped(uri, manifest.dataset.size).await?;
    let dataset = manifest.verify_dataset(&bytes, Path::new(uri))?;
    write_synced(dest, &bytes).await?;
    Ok(dataset)
}

/// Reads `uri` (`file://` or `http(s)://`), refusing more than `size` bytes.
async fn read_capped(uri: &str, size: u64) -> Result<Vec<u8>> {
    let store_err = |reason: String| Error::Store {
        uri: uri.to_owned(),
        reason,
    };
    let bytes = if let Some(path) = uri.strip_prefix("file://") {
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| store_err(e.to_string()))?;
        if meta.len() > size {
            return Err(Error::TooLarge {
                uri: uri.to_owned(),
                limit: size,
            });
        }
        tokio::fs::read(path)
            .await
            .map_err(|e| store_err(e.to_string()))?
    } else if uri.starts_with("http://") || uri.starts_with("https://") {
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(300))
            .build()
            .map_err(|e| store_err(e.to_string()))?;
        let mut response = client
            .get(uri)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| store_err(e.to_string()))?;
        if response.content_length().is_some_and(|len| len > size) {
            return Err(Error::TooLarge {
                uri: uri.to_owned(),
                limit: size,
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| store_err(e.to_string()))?
        {
            if bytes.len() as u64 + chunk.len() as u64 > size {
                return Err(Error::TooLarge {
                    uri: uri.to_owned(),
                    limit: size,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        bytes
    } else {
        return Err(store_err(
            "unsupported URI scheme (expected file:// or http(s)://)".into(),
        ));
    };
    Ok(bytes)
}

/// Writes `bytes` to `dest` (creating its folder) and syncs it.
async fn write_synced(dest: &Path, bytes: &[u8]) -> Result<PathBuf> {
    if let Some(parent) = dest.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(Error::io(parent))?;
    }
    let mut file = tokio::fs::File::create(dest)
        .await
        .map_err(Error::io(dest))?;
    file.write_all(bytes).await.map_err(Error::io(dest))?;
    file.sync_all().await.map_err(Error::io(dest))?;
    Ok(dest.to_path_buf())
}

/// Serves `dir`'s bundles over HTTP at `GET /0x<hash>.jsonl` until `shutdown` resolves.
pub async fn serve_dir(
    listener: tokio::net::TcpListener,
    dir: PathBuf,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::{extract::Path as UrlPath, http::StatusCode, routing::get, Router};
    let app = Router::new().route(
        "/{name}",
        get(move |UrlPath(name): UrlPath<String>| {
            let dir = dir.clone();
            async move {
                let valid = name.len() == 2 + 64 + 6
                    && name.starts_with("0x")
                    && name.ends_with(".jsonl")
                    && name[2..66]
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
                if !valid {
                    return Err(StatusCode::NOT_FOUND);
                }
                tokio::fs::read(dir.join(&name))
                    .await
                    .map_err(|_| StatusCode::NOT_FOUND)
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

//! Model identity: a 32-byte keccak256 content hash of the weight file(s).
//!
//! - One file (a GGUF, or a single `model.safetensors`): `keccak256(file bytes)`, exactly what
//!   `cast keccak` / Solidity's `keccak256` give over the same bytes.
//! - Several files (a sharded safetensors checkpoint): `keccak256(h_1 || h_2 || ... || h_n)` over
//!   the per-file hashes, files in byte-wise order of their file names.
//!
//! The hash covers the weights only; the tokenizer and config travel with them but are not
//! hashed (a GGUF embeds both, so there they are covered).

use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tiny_keccak::{Hasher, Keccak};

use crate::error::{Error, Result};

/// keccak256 of a model's weight file(s); see the module docs for the exact rule.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelHash(#[serde(with = "hex32")] pub [u8; 32]);

impl ModelHash {
    /// Hashes `files` by the rule above (the caller passes them in name order).
    pub fn of_files<P: AsRef<Path>>(files: &[P]) -> Result<Self> {
        let mut digests = Vec::with_capacity(files.len());
        for f in files {
            digests.push(keccak_file(f.as_ref())?);
        }
        if digests.len() == 1 {
            return Ok(Self(digests[0]));
        }
        let mut k = Keccak::v256();
        for d in &digests {
            k.update(d);
        }
        let mut out = [0u8; 32];
        k.finalize(&mut out);
        Ok(Self(out))
    }

    /// keccak256 of arbitrary bytes (labels for derived, in-memory models).
    pub fn of_bytes(bytes: &[u8]) -> Self {
        let mut k = Keccak::v256();
        k.update(bytes);
        let mut out = [0u8; 32];
        k.finalize(&mut out);
        Self(out)
    }

    /// A label for a model derived from this one by `how` (never equal to a file hash).
    pub fn derived(&self, how: &str) -> Self {
        let mut b = self.0.to_vec();
        b.extend_from_slice(b"derived:");
        b.extend_from_slice(how.as_bytes());
        Self::of_bytes(&b)
    }

    /// `0x`-prefixed lowercase hex.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }
}

impl fmt::Display for ModelHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ModelHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModelHash({})", self.to_hex())
    }
}

fn keccak_file(path: &Path) -> Result<[u8; 32]> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut k = Keccak::v256();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        k.update(&buf[..n]);
    }
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    Ok(out)
}

mod hex32 {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(v)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let b = hex::decode(s.trim_start_matches("0x")).map_err(D::Error::custom)?;
        b.try_into()
            .map_err(|_| D::Error::custom("expected 32 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_of_empty_is_the_known_constant() {
        assert_eq!(
            ModelHash::of_bytes(b"").to_hex(),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }
}

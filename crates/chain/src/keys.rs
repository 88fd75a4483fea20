//! Signing keys: an encrypted Ethereum V3 keystore, or a hex key in an environment variable; a
//! plain key on the command line only for local development chains.

use crate::{Error, Result};
use alloy::signers::local::PrivateKeySigner;
use std::path::PathBuf;

/// Chain ids of local development chains (anvil, hardhat), where a plain key is acceptable.
pub const DEV_CHAIN_IDS: [u64; 2] = [31337, 1337];

/// Where a signing key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// An Ethereum V3 keystore file; the password is read from the named environment variable.
    Keystore {
        /// The keystore JSON file.
        path: PathBuf,
        /// Environment variable holding the password.
        password_env: String,
    },
    /// A 0x-hex private key in the named environment variable.
    Env(String),
    /// A 0x-hex private key given directly: only accepted on development chains.
    DevPlain(String),
}

/// Parses a private key written as exactly 32 bytes of hex (`0x` optional). Stricter than the
/// signer's own parser, which accepts odd lengths and would turn a typo into another account.
fn parse_key(text: &str, what: &str) -> Result<PrivateKeySigner> {
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Key(format!(
            "{what} is not 32 bytes of hex (64 hex digits)"
        )));
    }
    digits
        .parse()
        .map_err(|_| Error::Key(format!("{what} is not a valid secp256k1 private key")))
}

/// Loads the signer; `chain_id` gates [`KeySource::DevPlain`]. Errors never include key material.
pub fn load_signer(source: &KeySource, chain_id: u64) -> Result<PrivateKeySigner> {
    match source {
        KeySource::Keystore { path, password_env } => {
            let password = std::env::var(password_env).map_err(|_| {
                Error::Key(format!(
                    "keystore password variable {password_env} is not set"
                ))
            })?;
            PrivateKeySigner::decrypt_keystore(path, password)
                .map_err(|e| Error::Key(format!("cannot decrypt keystore {}: {e}", path.display())))
        }
        KeySource::Env(var) => {
            let key = std::env::var(var)
                .map_err(|_| Error::Key(format!("environment variable {var} is not set")))?;
            parse_key(&key, var)
        }
        KeySource::DevPlain(key) => {
            if !DEV_CHAIN_IDS.contains(&chain_id) {
                return Err(Error::Key(format!(
                    "a plain private key is only accepted on development chains {DEV_CHAIN_IDS:?}, not chain {chain_id}; \
                     use a keystore or an environment variable"
                )));
            }
            parse_key(key, "the dev key")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANVIL_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn dev_key_only_on_dev_chains() {
        assert!(load_signer(&KeySource::DevPlain(ANVIL_0.into()), 31337).is_ok());
        let err = load_signer(&KeySource::DevPlain(ANVIL_0.into()), 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("only accepted on development chains"), "{err}");
        assert!(!err.contains(&ANVIL_0[2..]), "errors never echo the key");
    }

    #[test]
    fn malformed_keys_are_rejected_not_reinterpreted() {
        let typo = format!("{ANVIL_0}2");
        assert!(load_signer(&KeySource::DevPlain(typo), 31337).is_err());
        assert!(load_signer(&KeySource::DevPlain(ANVIL_0[..65].into()), 31337).is_err());
        assert!(load_signer(&KeySource::DevPlain("0xzz".into()), 31337).is_err());
        assert!(load_signer(&KeySource::DevPlain(ANVIL_0[2..].into()), 31337).is_ok());
    }

    #[test]
    fn env_and_keystore_sources() {
        let var = "VERBENCH_TEST_KEY_8a1f";
        assert!(load_signer(&KeySource::Env(var.into()), 1).is_err());
        std::env::set_var(var, ANVIL_0);
        let signer = load_signer(&KeySource::Env(var.into()), 1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut rng = rand_core();
        let (_, _uuid) = PrivateKeySigner::encrypt_keystore(
            dir.path(),
            &mut rng,
            signer.credential().to_bytes(),
            "pw",
            Some("k.json"),
        )
        .unwrap();
        std::env::set_var("VERBENCH_TEST_PW_8a1f", "pw");
        let source = KeySource::Keystore {
            path: dir.path().join("k.json"),
            password_env: "VERBENCH_TEST_PW_8a1f".into(),
        };
        assert_eq!(load_signer(&source, 1).unwrap().address(), signer.address());
        std::env::set_var("VERBENCH_TEST_PW_8a1f", "wrong");
        assert!(load_signer(&source, 1).is_err());
    }

    fn rand_core() -> impl alloy::signers::k256::elliptic_curve::rand_core::CryptoRngCore {
        alloy::signers::k256::elliptic_curve::rand_core::OsRng
    }
}

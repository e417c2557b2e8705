//! Commands for the people who write to the registry: `keygen`, `submit`.

pub mod keygen;
pub mod submit;

use std::path::Path;

use anyhow::Context as _;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey;

/// Reads an Ed25519 private key from a PKCS#8 PEM file (as written by `keygen` or by
/// `openssl genpkey -algorithm ed25519`).
pub fn read_private_key(path: &Path) -> anyhow::Result<SigningKey> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading key file {}", path.display()))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|err| {
        anyhow::anyhow!(
            "{} is not a PKCS#8 PEM Ed25519 private key: {err}",
            path.display()
        )
    })
}

/// Fresh random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|err| anyhow::anyhow!("no randomness from the operating system: {err}"))?;
    Ok(bytes)
}

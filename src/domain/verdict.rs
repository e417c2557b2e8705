//! Signed verdicts: what the registry's signature on a trust answer covers, and the canonical
//! form of a query that the verdict binds.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::keys;

/// Context string separating verdict signatures from every other use of the registry key.
pub const VERDICT_CONTEXT: &[u8] = b"trust-registry/v1 verdict";

/// The registry's own signing key (verdicts, checkpoints).
#[derive(Clone)]
pub struct RegistryKey {
    signing: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for RegistryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("RegistryKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl RegistryKey {
    pub fn new(signing: SigningKey) -> Self {
        let key_id = keys::key_id(&signing.verifying_key().to_bytes());
        Self { signing, key_id }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// Signs the encoded verdict: Ed25519 over context || 0x00 || SHA-256(verdict bytes).
    pub fn sign_verdict(&self, verdict_bytes: &[u8]) -> [u8; 64] {
        self.signing.sign(&verdict_message(verdict_bytes)).to_bytes()
    }
}

fn verdict_message(verdict_bytes: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(VERDICT_CONTEXT.len() + 33);
    message.extend_from_slice(VERDICT_CONTEXT);
    message.push(0);
    message.extend_from_slice(&Sha256::digest(verdict_bytes));
    message
}

/// Checks a verdict signature offline, with the registry's public key.
pub fn verify_verdict(public_key: &[u8; 32], verdict_bytes: &[u8], signature: &[u8]) -> bool {
    let (Ok(key), Ok(signature)) = (
        VerifyingKey::from_bytes(public_key),
        Signature::from_slice(signature),
    ) else {
        return false;
    };
    key.verify_strict(&verdict_message(verdict_bytes), &signature)
        .is_ok()
}

/// Hex SHA-256 of a query's canonical form: the lines `issuer=`, `key_id=`, `credential_type=`,
/// `eqf_level=`, `field_of_study=`, `jurisdiction=`, `at=` (RFC 3339 UTC with `Z`, or empty),
/// each ending in `\n`, with empty values for unset fields.
pub fn query_hash(lines: &[(&str, String)]) -> String {
    let mut hasher = Sha256::new();
    for (name, value) in lines {
        hasher.update(name.as_bytes());
        hasher.update(b"=");
        hasher.update(value.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_signatures_verify_and_bind_bytes() {
        let key = RegistryKey::new(SigningKey::from_bytes(&[3; 32]));
        let signature = key.sign_verdict(b"verdict");
        assert!(verify_verdict(&key.public_key(), b"verdict", &signature));
        assert!(!verify_verdict(&key.public_key(), b"verdicT", &signature));
        assert!(!format!("{key:?}").contains("signing"));
    }
}

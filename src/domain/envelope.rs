//! Signed envelopes: what a write's signature covers, and the checks every write passes
//! before it is looked at (signature, issue time, nonce).

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::error::DomainError;
use super::time::Timestamp;

/// Fixed context string that separates registry write signatures from any other use of a key.
pub const SIGNING_CONTEXT: &[u8] = b"trust-registry/v1 signed write";
/// How far a command's issued_at may be from the server's clock, in seconds.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;
/// Largest encoded command accepted.
pub const MAX_COMMAND_BYTES: usize = 256 * 1024;

/// The message an envelope's signature covers: context, 0x00, full RPC name, 0x00, command.
pub fn signing_message(rpc: &str, command: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_CONTEXT.len() + rpc.len() + command.len() + 2);
    message.extend_from_slice(SIGNING_CONTEXT);
    message.push(0);
    message.extend_from_slice(rpc.as_bytes());
    message.push(0);
    message.extend_from_slice(command);
    message
}

/// Signs a command for `rpc` (used by the CLI, the demo loader and tests).
pub fn sign(key: &SigningKey, rpc: &str, command: &[u8]) -> [u8; 64] {
    key.sign(&signing_message(rpc, command)).to_bytes()
}

/// Verifies an envelope signature with `verify_strict`.
pub fn verify(public_key: &[u8; 32], rpc: &str, command: &[u8], signature: &[u8]) -> Result<(), DomainError> {
    let bad = |why: &str| DomainError::Unauthenticated(format!("envelope.signature: {why}"));
    let key = VerifyingKey::from_bytes(public_key)
        .map_err(|_| bad("the signer's public key is not a valid Ed25519 point"))?;
    let signature =
        Signature::from_slice(signature).map_err(|_| bad("must be a 64-byte Ed25519 signature"))?;
    key.verify_strict(&signing_message(rpc, command), &signature)
        .map_err(|_| bad("does not verify for this key, RPC and command bytes"))
}

/// The id of an envelope as received: hex SHA-256 over its length-prefixed parts.
pub fn envelope_id(rpc: &str, command: &[u8], key_id: &str, signature: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [rpc.as_bytes(), command, key_id.as_bytes(), signature] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// Checks that a command's issue time is within the accepted window around `now`.
pub fn check_issued_at(issued_at: Timestamp, now: Timestamp) -> Result<(), DomainError> {
    // Compared in microseconds: truncating to whole seconds first accepted up to 300.999 s.
    let skew_micros = issued_at.as_micros() - now.as_micros();
    let max_micros = MAX_CLOCK_SKEW_SECONDS * Timestamp::MICROS_PER_SECOND;
    // Whole seconds for the message, rounded away from zero.
    let skew = (skew_micros.abs() + Timestamp::MICROS_PER_SECOND - 1) / Timestamp::MICROS_PER_SECOND
        * skew_micros.signum();
    if skew_micros > max_micros {
        return Err(DomainError::FailedPrecondition(format!(
            "header.issued_at is in the future: {} is {skew} s after the registry's clock ({}); \
             the accepted window is +-{MAX_CLOCK_SKEW_SECONDS} s",
            issued_at.to_rfc3339(),
            now.to_rfc3339()
        )));
    }
    if -skew_micros > max_micros {
        return Err(DomainError::FailedPrecondition(format!(
            "header.issued_at is stale: {} is {} s before the registry's clock ({}); \
             the accepted window is +-{MAX_CLOCK_SKEW_SECONDS} s",
            issued_at.to_rfc3339(),
            -skew,
            now.to_rfc3339()
        )));
    }
    Ok(())
}

/// Checks a nonce: 16 to 128 characters of `A-Z a-z 0-9 - _`.
pub fn check_nonce(nonce: &str) -> Result<(), DomainError> {
    let ok = (16..=128).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "header.nonce",
            "must be 16 to 128 characters of A-Z, a-z, 0-9, '-' or '_'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RPC: &str = "/trustregistry.v1.AccreditationService/RecordAccreditation";

    #[test]
    fn signatures_bind_rpc_and_bytes() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let public = key.verifying_key().to_bytes();
        let signature = sign(&key, RPC, b"command");
        verify(&public, RPC, b"command", &signature).unwrap();
        assert!(verify(&public, RPC, b"commanD", &signature).is_err());
        assert!(
            verify(
                &public,
                "/trustregistry.v1.ProviderService/PublishQualification",
                b"command",
                &signature
            )
            .is_err()
        );
        assert!(verify(&public, RPC, b"command", &signature[..63]).is_err());
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key().to_bytes();
        assert!(verify(&other, RPC, b"command", &signature).is_err());
    }

    #[test]
    fn issued_at_window_is_five_minutes_each_way() {
        let now = Timestamp::from_unix_seconds(1_000_000);
        check_issued_at(now.plus_seconds(300), now).unwrap();
        check_issued_at(now.plus_seconds(-300), now).unwrap();
        let future = check_issued_at(now.plus_seconds(301), now)
            .unwrap_err()
            .to_string();
        assert!(future.contains("future"), "{future}");
        let stale = check_issued_at(now.plus_seconds(-301), now)
            .unwrap_err()
            .to_string();
        assert!(stale.contains("stale"), "{stale}");
        let second = Timestamp::MICROS_PER_SECOND;
        let just_over = Timestamp::from_micros(now.as_micros() + 300 * second + 1);
        assert!(
            check_issued_at(just_over, now)
                .unwrap_err()
                .to_string()
                .contains("301 s after")
        );
        let just_under = Timestamp::from_micros(now.as_micros() - 300 * second - 1);
        assert!(
            check_issued_at(just_under, now)
                .unwrap_err()
                .to_string()
                .contains("301 s before")
        );
    }

    #[test]
    fn nonce_rules() {
        check_nonce("0123456789abcdef").unwrap();
        assert!(check_nonce("short").is_err());
        assert!(check_nonce("has spaces in it ok?").is_err());
    }
}

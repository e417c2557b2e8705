//! Ed25519 keys of actors: ids, did:key encoding, and whether a key may sign at a time.

use sha2::{Digest, Sha256};

use super::error::DomainError;
use super::model::ActorKey;
use super::time::{Timestamp, within};

/// Multicodec prefix of an Ed25519 public key (`ed25519-pub`, 0xed as unsigned varint).
const ED25519_PUB_MULTICODEC: [u8; 2] = [0xed, 0x01];

/// The registry key id of a public key: `ed25519:` and the first 16 bytes of its SHA-256, hex.
pub fn key_id(public_key: &[u8; 32]) -> String {
    let digest = Sha256::digest(public_key);
    let hex = hex::encode(&digest[..16]);
    format!("ed25519:{hex}")
}

/// Multibase forms of keys encoded before: every verdict and provider record names each of its
/// issuer's keys so, and base58 (a division of the whole number per digit) costs some microseconds
/// a key where copying the text costs tens of nanoseconds. A form depends on the key's bytes
/// alone, so an entry is never stale. At most [`ENCODED_KEYS`] of them, ~100 bytes each.
static MULTIBASE: std::sync::LazyLock<quick_cache::sync::Cache<[u8; 32], std::sync::Arc<str>>> =
    std::sync::LazyLock::new(|| quick_cache::sync::Cache::new(ENCODED_KEYS));
const ENCODED_KEYS: usize = 65_536;

/// The key as a multibase base58btc multicodec value (`z6Mk...`), as in did:key.
pub fn multibase(public_key: &[u8; 32]) -> String {
    if let Some(encoded) = MULTIBASE.get(public_key) {
        return encoded.to_string();
    }
    let mut bytes = Vec::with_capacity(34);
    bytes.extend_from_slice(&ED25519_PUB_MULTICODEC);
    bytes.extend_from_slice(public_key);
    let encoded = format!("z{}", bs58::encode(bytes).into_string());
    MULTIBASE.insert(*public_key, encoded.as_str().into());
    encoded
}

/// The did:key of a public key.
pub fn did_key(public_key: &[u8; 32]) -> String {
    format!("did:key:{}", multibase(public_key))
}

/// The most base58 characters `bytes` bytes take: ceil(bytes x log 256 / log 58).
pub const fn base58_chars(bytes: usize) -> usize {
    // log 256 / log 58 = 1.36565...; 13_657 / 10_000 rounds it up.
    (bytes * 13_657).div_ceil(10_000)
}

/// Decodes a multibase ed25519-pub value (`z6Mk...`); `field` names the request field.
pub fn parse_multibase(field: &str, text: &str) -> Result<[u8; 32], DomainError> {
    let rule = "must be a multibase base58btc Ed25519 public key (z6Mk...)";
    let encoded = text
        .strip_prefix('z')
        .ok_or_else(|| DomainError::invalid(field, rule))?;
    // Base58 decoding takes time growing with the square of the text's length: a text longer
    // than a key's 34 bytes can encode to is refused before it is decoded.
    if encoded.len() > base58_chars(34) {
        return Err(DomainError::invalid(field, rule));
    }
    let bytes = bs58::decode(encoded)
        .into_vec()
        .map_err(|_| DomainError::invalid(field, rule))?;
    match bytes.split_first_chunk::<2>() {
        Some((prefix, key)) if *prefix == ED25519_PUB_MULTICODEC && key.len() == 32 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(key);
            Ok(out)
        }
        _ => Err(DomainError::invalid(field, rule)),
    }
}

/// Parses a public key given as multibase (`z6Mk...`), base64 or hex.
pub fn parse_public_key(text: &str) -> Result<[u8; 32], DomainError> {
    use base64::Engine;
    let text = text.trim();
    if text.starts_with("z6Mk") {
        return parse_multibase("operator key", text);
    }
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect::<Vec<u8>>()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| {
                DomainError::invalid("public key", "must be multibase z6Mk..., base64 or 64 hex digits")
            })?
    };
    bytes
        .try_into()
        .map_err(|_| DomainError::invalid("public key", "must be 32 bytes"))
}

impl ActorKey {
    /// A key valid from `valid_from`, with no end and not revoked.
    pub fn new(public_key: [u8; 32], valid_from: Timestamp) -> Self {
        Self {
            key_id: key_id(&public_key),
            public_key,
            valid_from,
            valid_until: None,
            revoked_at: None,
            revocation_reason: String::new(),
        }
    }

    /// The end of the key's usable period: the earlier of its expiry and its revocation.
    pub fn usable_until(&self) -> Option<Timestamp> {
        match (self.valid_until, self.revoked_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the key may sign at `at`: inside `[valid_from, usable_until)`.
    pub fn usable_at(&self, at: Timestamp) -> bool {
        within(at, Some(self.valid_from), self.usable_until())
    }

    /// Refuses a write signed with this key unless the key may sign both when the write says it
    /// was issued and when the registry received it.
    pub fn check_signs(&self, issued_at: Timestamp, received_at: Timestamp) -> Result<(), DomainError> {
        for (at, what) in [
            (issued_at, "header.issued_at"),
            (received_at, "the time of receipt"),
        ] {
            if !self.usable_at(at) {
                return Err(DomainError::Unauthenticated(format!(
                    "envelope.key_id: key {} is not valid at {what} ({}){}",
                    self.key_id,
                    at.to_rfc3339(),
                    self.revoked_at
                        .map(|r| format!("; revoked at {}", r.to_rfc3339()))
                        .unwrap_or_default()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multibase_round_trips_and_matches_did_key_prefix() {
        let key = [7u8; 32];
        let mb = multibase(&key);
        assert!(mb.starts_with("z6Mk"), "{mb}");
        assert_eq!(parse_multibase("k", &mb).unwrap(), key);
        assert!(parse_multibase("k", "z123").is_err());
        assert!(parse_multibase("k", "6Mk").is_err());
    }

    /// The length bound refuses no real key: the longest 34 bytes (prefix and key) and 64 bytes
    /// (a signature) encode within it, and a key at the bound decodes. Longer texts are refused
    /// undecoded.
    #[test]
    fn base58_length_bounds_fit_every_key_and_signature() {
        assert_eq!(base58_chars(34), 47);
        assert_eq!(base58_chars(64), 88);
        assert_eq!(bs58::encode([0xff; 34]).into_string().len(), base58_chars(34));
        assert_eq!(bs58::encode([0xff; 64]).into_string().len(), base58_chars(64));
        let longest = multibase(&[0xff; 32]);
        assert_eq!(parse_multibase("k", &longest).unwrap(), [0xff; 32]);
        let error = parse_multibase("k", &format!("z{}", "z".repeat(500_000))).unwrap_err();
        assert!(error.to_string().contains("multibase"), "{error}");
    }

    /// Encodings kept for later calls are each their own key's: asked again, in another order,
    /// every key gets the form it got first, which decodes to it.
    #[test]
    fn kept_multibase_forms_belong_to_their_keys() {
        let keys: Vec<[u8; 32]> = (0u8..20)
            .map(|i| [i.wrapping_mul(13).wrapping_add(101); 32])
            .collect();
        let first: Vec<String> = keys.iter().map(multibase).collect();
        for (key, form) in keys.iter().zip(&first).rev() {
            assert_eq!(&multibase(key), form);
            assert_eq!(parse_multibase("k", form).unwrap(), *key);
        }
        let distinct: std::collections::HashSet<&String> = first.iter().collect();
        assert_eq!(distinct.len(), keys.len());
    }

    #[test]
    fn revocation_ends_usability_half_open() {
        let mut key = ActorKey::new([1; 32], Timestamp::from_unix_seconds(10));
        key.revoked_at = Some(Timestamp::from_unix_seconds(20));
        key.valid_until = Some(Timestamp::from_unix_seconds(30));
        assert!(!key.usable_at(Timestamp::from_unix_seconds(9)));
        assert!(key.usable_at(Timestamp::from_unix_seconds(10)));
        assert!(!key.usable_at(Timestamp::from_unix_seconds(20)));
    }
}

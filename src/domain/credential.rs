//! W3C Verifiable Credentials as the registry checks them: a compact JWS (VC-JOSE, EdDSA) or
//! a Data Integrity proof with the `eddsa-jcs-2022` cryptosuite. Parsing and signature
//! arithmetic only; what the registry knows about issuers is looked up elsewhere.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::enums::IdentifierScheme;
use super::ids::IdKind;
use super::keys;
use super::time::Timestamp;
use super::trust::IssuerRef;

/// Largest credential accepted, in bytes.
pub const MAX_CREDENTIAL_BYTES: usize = 64 * 1024;

/// How a credential is secured.
#[derive(Debug, Clone, PartialEq)]
pub enum Securing {
    /// Compact JWS: the Ed25519 signature covers `signing_input` (ASCII `header.payload`).
    Jws {
        signing_input: Vec<u8>,
        signature: Vec<u8>,
        kid: Option<String>,
    },
    /// Data Integrity `eddsa-jcs-2022`: the signature covers `hash_data`.
    DataIntegrity {
        hash_data: Vec<u8>,
        signature: Vec<u8>,
        verification_method: String,
    },
}

/// What the registry reads from a credential.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    pub securing: Securing,
    pub issuer_id: String,
    pub issuer_name: Option<String>,
    pub issued_at: Timestamp,
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    /// `credentialSubject.achievement.id` (Open Badges 3.0), when present.
    pub achievement_id: Option<String>,
}

impl Credential {
    /// The issuer as the registry looks it up: a DID, a registry provider id, or else a website
    /// domain. One rule for the registry, which asks the issuer verdict about it, and for the
    /// command line, which checks that the verdict it was sent is about this issuer.
    pub fn issuer_ref(&self) -> IssuerRef {
        if self.issuer_id.starts_with("did:") {
            IssuerRef::Did(self.issuer_id.clone())
        } else if IdKind::Provider.check("issuer", &self.issuer_id).is_ok() {
            IssuerRef::ProviderId(self.issuer_id.clone())
        } else {
            IssuerRef::External(IdentifierScheme::WebsiteDomain, self.issuer_id.clone())
        }
    }

    /// The Ed25519 public key the securing mechanism names, when it names a did:key.
    pub fn did_key(&self) -> Option<[u8; 32]> {
        let method = match &self.securing {
            Securing::Jws { kid, .. } => kid.as_deref()?,
            Securing::DataIntegrity {
                verification_method, ..
            } => verification_method,
        };
        let rest = method.strip_prefix("did:key:")?;
        keys::parse_multibase("kid", rest.split('#').next()?).ok()
    }

    /// Whether the signature verifies with `public_key` (`verify_strict`).
    pub fn signature_verifies(&self, public_key: &[u8; 32]) -> bool {
        let (message, signature) = match &self.securing {
            Securing::Jws {
                signing_input,
                signature,
                ..
            } => (signing_input, signature),
            Securing::DataIntegrity {
                hash_data, signature, ..
            } => (hash_data, signature),
        };
        let Ok(parsed) = Signature::from_slice(signature) else {
            return false;
        };
        let verifies =
            || verifying_key(public_key).is_some_and(|key| key.verify_strict(message, &parsed).is_ok());
        let Some(verified) = VERIFIED.as_ref() else {
            return verifies();
        };
        // A kept signature verified with this key, so the key is a point: no need to decompress it.
        let digest = verified.digest(public_key, signature, message);
        if verified.cache.get(&digest).is_some() {
            return true;
        }
        let good = verifies();
        if good {
            verified.cache.insert(digest, ());
        }
        good
    }
}

/// Signatures that verified, kept by a salted SHA-256 of the key, the signature and the signed
/// bytes together: whether an Ed25519 signature verifies depends on these three alone, so an
/// entry is never stale, and a hit needs all three to match (the same signature over other bytes,
/// or with another key, is checked in full). Verifiers present the same credential again and
/// again; checking its signature is the largest part of a verification (some 40 µs of CPU on
/// the machines measured), a hit about a microsecond. Only successes are kept, so failed
/// attempts cannot fill it. Whether the key is still the issuer's, and was when the credential
/// was issued, is decided elsewhere, from registry data read fresh on every call. At most
/// [`VERIFIED_SIGNATURES`] entries, ~100 bytes each; none when the operating system gives no
/// randomness for the salt.
static VERIFIED: std::sync::LazyLock<Option<VerifiedSignatures>> = std::sync::LazyLock::new(|| {
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt).ok()?;
    Some(VerifiedSignatures {
        salt,
        cache: quick_cache::sync::Cache::new(VERIFIED_SIGNATURES),
    })
});
pub(crate) const VERIFIED_SIGNATURES: usize = 65_536;

struct VerifiedSignatures {
    salt: [u8; 32],
    cache: quick_cache::sync::Cache<[u8; 32], ()>,
}

impl VerifiedSignatures {
    fn digest(&self, public_key: &[u8; 32], signature: &[u8], message: &[u8]) -> [u8; 32] {
        // The signature's length is fixed (64 bytes, checked by the caller), so the three fields
        // cannot run into one another.
        let mut hash = Sha256::new();
        hash.update(self.salt);
        hash.update(public_key);
        hash.update(signature);
        hash.update(message);
        hash.finalize().into()
    }
}

/// Issuer keys kept decompressed: decompressing a key (a square root in the field) is some
/// 5 µs, a sixth of checking a signature, and verifiers ask about the same issuers again and
/// again. A key's point depends on its bytes alone, so an entry is never stale. At most
/// [`DECOMPRESSED_KEYS`] of them, ~200 bytes each.
static KEYS: std::sync::LazyLock<quick_cache::sync::Cache<[u8; 32], VerifyingKey>> =
    std::sync::LazyLock::new(|| quick_cache::sync::Cache::new(DECOMPRESSED_KEYS));
const DECOMPRESSED_KEYS: usize = 65_536;

/// The Ed25519 key with these bytes, decompressed; None if they are not a point on the curve.
fn verifying_key(public_key: &[u8; 32]) -> Option<VerifyingKey> {
    // An error is returned, not kept.
    KEYS.get_or_insert_with(public_key, || VerifyingKey::from_bytes(public_key))
        .ok()
}

/// Parses a credential; the error says why it is not a credential the registry can check.
pub fn parse(text: &str) -> Result<Credential, String> {
    if text.len() > MAX_CREDENTIAL_BYTES {
        return Err(format!(
            "the credential is larger than {MAX_CREDENTIAL_BYTES} bytes"
        ));
    }
    let text = text.trim();
    if text.starts_with('{') {
        parse_data_integrity(text)
    } else {
        parse_jws(text)
    }
}

fn json(bytes: &[u8], what: &str) -> Result<Value, String> {
    // serde_json refuses nesting deeper than 128 levels, so a JSON bomb is an error, not a crash.
    serde_json::from_slice(bytes).map_err(|e| format!("{what} is not JSON: {e}"))
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| format!("{what} is not base64url without padding"))
}

/// A compact JWS (`header.payload.signature`, each base64url without padding) of `payload`
/// under `header`, signed with `key`: how an issuer secures a credential that [`parse_jws`]
/// reads. The bench and the tests issue their credentials with it.
pub fn sign_jws(key: &ed25519_dalek::SigningKey, header: &Value, payload: &Value) -> String {
    use ed25519_dalek::Signer as _;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// Parses a compact JWS secured credential (VC-JOSE-COSE, or a VC-JWT with a `vc` claim).
pub fn parse_jws(text: &str) -> Result<Credential, String> {
    let parts: Vec<&str> = text.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err("not a compact JWS (three base64url parts separated by '.')".into());
    };
    let header = json(&b64(header_b64, "the JWS header")?, "the JWS header")?;
    match header.get("alg").and_then(Value::as_str) {
        Some("EdDSA" | "Ed25519") => {}
        Some("none") => return Err("alg \"none\" is never accepted".into()),
        Some(other) => return Err(format!("alg {other:?} is not supported; only EdDSA (Ed25519)")),
        None => return Err("the JWS header has no alg".into()),
    }
    if header.get("crit").is_some() {
        return Err("the JWS header has critical extensions the registry does not understand".into());
    }
    if header.get("b64").is_some_and(|v| v == &Value::Bool(false)) {
        return Err("unencoded payloads (b64: false) are not supported".into());
    }
    let payload = json(&b64(payload_b64, "the JWS payload")?, "the JWS payload")?;
    let signature = b64(signature_b64, "the JWS signature")?;
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    let securing = Securing::Jws {
        signing_input: format!("{header_b64}.{payload_b64}").into_bytes(),
        signature,
        kid,
    };
    // VC-JWT (VC 1.1) puts the credential in a `vc` claim, with times in iss/nbf/exp.
    match payload.get("vc") {
        Some(vc) if vc.is_object() => claims(vc, securing, Some(&payload)),
        _ => claims(&payload, securing, None),
    }
}

/// Parses a JSON credential with a `DataIntegrityProof` using `eddsa-jcs-2022`.
pub fn parse_data_integrity(text: &str) -> Result<Credential, String> {
    let mut document = json(text.as_bytes(), "the credential")?;
    let object = document
        .as_object_mut()
        .ok_or("the credential is not a JSON object")?;
    let proof = object.remove("proof").ok_or("the credential has no proof")?;
    let proof = match proof {
        Value::Array(mut proofs) if proofs.len() == 1 => proofs.remove(0),
        Value::Array(_) => return Err("exactly one proof is supported".into()),
        proof => proof,
    };
    let mut proof_config = proof
        .as_object()
        .cloned()
        .ok_or("the proof is not a JSON object")?;
    if proof_config.get("type").and_then(Value::as_str) != Some("DataIntegrityProof") {
        return Err("the proof type must be DataIntegrityProof".into());
    }
    match proof_config.get("cryptosuite").and_then(Value::as_str) {
        Some("eddsa-jcs-2022") => {}
        other => {
            return Err(format!(
                "cryptosuite {other:?} is not supported; only eddsa-jcs-2022"
            ));
        }
    }
    let proof_value = proof_config
        .remove("proofValue")
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or("the proof has no proofValue")?;
    // Refused before decoding when longer than a 64-byte signature encodes to: base58
    // decoding takes time growing with the square of the length.
    let signature = proof_value
        .strip_prefix('z')
        .filter(|encoded| encoded.len() <= crate::domain::keys::base58_chars(64))
        .and_then(|encoded| bs58::decode(encoded).into_vec().ok())
        .ok_or("proofValue must be a multibase base58btc (z...) Ed25519 signature")?;
    let verification_method = proof_config
        .get("verificationMethod")
        .and_then(Value::as_str)
        .ok_or("the proof has no verificationMethod")?
        .to_owned();
    // eddsa-jcs-2022 Verify Proof: a proof's @context must begin the document's, and the
    // document is hashed with the proof's @context; a proof without one (earlier drafts) gets
    // the document's.
    let mut unsecured = document.clone();
    match (proof_config.get("@context"), document.get("@context")) {
        (Some(proof_context), document_context) => {
            let list = |v: &Value| match v {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            if !document_context.is_some_and(|d| list(d).starts_with(&list(proof_context))) {
                return Err("the proof's @context does not begin the credential's @context".into());
            }
            if let Some(object) = unsecured.as_object_mut() {
                object.insert("@context".into(), proof_context.clone());
            }
        }
        (None, Some(context)) => {
            proof_config.insert("@context".into(), context.clone());
        }
        (None, None) => {}
    }
    let canonical_proof = serde_json_canonicalizer::to_vec(&Value::Object(proof_config))
        .map_err(|e| format!("the proof cannot be canonicalised: {e}"))?;
    let canonical_document = serde_json_canonicalizer::to_vec(&unsecured)
        .map_err(|e| format!("the credential cannot be canonicalised: {e}"))?;
    let mut hash_data = Sha256::digest(&canonical_proof).to_vec();
    hash_data.extend_from_slice(&Sha256::digest(&canonical_document));
    claims(
        &document,
        Securing::DataIntegrity {
            hash_data,
            signature,
            verification_method,
        },
        None,
    )
}

fn time(value: &Value, what: &str) -> Result<Option<Timestamp>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Timestamp::parse_rfc3339(text)
            .map(Some)
            .ok_or_else(|| format!("{what} is not an RFC 3339 time")),
        Value::Number(n) => n
            .as_i64()
            .and_then(|s| Timestamp::from_seconds_nanos(s, 0))
            .map(Some)
            .ok_or_else(|| format!("{what} is not a NumericDate")),
        _ => Err(format!("{what} is not a time")),
    }
}

fn claims(document: &Value, securing: Securing, jwt: Option<&Value>) -> Result<Credential, String> {
    let types = document.get("type").ok_or("the credential has no type")?;
    let is_vc = match types {
        Value::String(t) => t == "VerifiableCredential",
        Value::Array(list) => list.iter().any(|t| t == "VerifiableCredential"),
        _ => false,
    };
    if !is_vc {
        return Err("type does not include VerifiableCredential".into());
    }
    let issuer = document
        .get("issuer")
        .or_else(|| jwt.and_then(|j| j.get("iss")))
        .ok_or("the credential has no issuer")?;
    let (issuer_id, issuer_name) = match issuer {
        Value::String(id) => (id.clone(), None),
        Value::Object(object) => (
            object
                .get("id")
                .and_then(Value::as_str)
                .ok_or("issuer.id is missing")?
                .to_owned(),
            object.get("name").and_then(|n| match n {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.values().find_map(|v| v.as_str().map(str::to_owned)),
                _ => None,
            }),
        ),
        _ => return Err("issuer must be a string or an object with an id".into()),
    };
    let null = Value::Null;
    let valid_from = time(
        document
            .get("validFrom")
            .or_else(|| document.get("issuanceDate"))
            .unwrap_or(&null),
        "validFrom",
    )?
    .or(jwt
        .map(|j| time(j.get("nbf").unwrap_or(&null), "nbf"))
        .transpose()?
        .flatten());
    let valid_until = time(
        document
            .get("validUntil")
            .or_else(|| document.get("expirationDate"))
            .unwrap_or(&null),
        "validUntil",
    )?
    .or(jwt
        .map(|j| time(j.get("exp").unwrap_or(&null), "exp"))
        .transpose()?
        .flatten());
    let issued_at = valid_from
        .or(jwt
            .map(|j| time(j.get("iat").unwrap_or(&null), "iat"))
            .transpose()?
            .flatten())
        .ok_or("the credential states no issuance time (validFrom)")?;
    let subject = match document.get("credentialSubject") {
        Some(Value::Array(list)) => list.first(),
        other => other,
    };
    let achievement_id = subject
        .and_then(|s| s.get("achievement"))
        .and_then(|a| a.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Credential {
        securing,
        issuer_id,
        issuer_name,
        issued_at,
        valid_from,
        valid_until,
        achievement_id,
    })
}

#[cfg(test)]
mod tests;

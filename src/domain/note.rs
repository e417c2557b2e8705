//! Signed notes (<https://c2sp.org/signed-note>) with Ed25519, and transparency log checkpoints
//! (<https://c2sp.org/tlog-checkpoint>): the signed statement "the log `origin` has `size`
//! entries and this Merkle root" that clients keep and compare.
//!
//! A signed note is a text ending in a newline, a blank line, then signature lines
//! `— <key name> <base64(key id || signature)>` (em dash U+2014, space). A verifier key (vkey)
//! is the text `<name>+<key id as 8 hex digits>+<base64(0x01 || Ed25519 public key)>`, where the
//! key id is the first four bytes, big-endian, of SHA-256(name || "\n" || 0x01 || public key).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::merkle::Hash;

/// Signature type byte of Ed25519 in vkeys and key ids.
pub const ALG_ED25519: u8 = 0x01;
/// Most signature lines a note may have; the spec asks verifiers to accept at least 16.
pub const MAX_SIGNATURES: usize = 100;
/// What starts a signature line: em dash and space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a key, note or checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Key names must be non-empty, without Unicode spaces, control characters or '+'.
    #[error("invalid key name {0:?}: must be non-empty, without spaces, control characters or '+'")]
    InvalidKeyName(String),
    /// The verifier key text is not `<name>+<8 hex digits>+<base64(0x01 || 32-byte key)>`.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// The text is not a signed note (or a note text that could be signed).
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// No signature line is from the expected key (`<name>+<key id>`).
    #[error("note has no signature by key {0}")]
    NotSigned(String),
    /// A signature line of the expected key does not verify.
    #[error("invalid signature by key {0}")]
    InvalidSignature(String),
    /// The note text is not a checkpoint of the accepted form.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
}

/// True when `name` can be a key name: non-empty, no Unicode spaces, control characters or '+'.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName(name.to_owned()))
    }
}

/// The key id of an Ed25519 key under `name`: SHA-256(name || "\n" || 0x01 || public)[..4],
/// big-endian.
pub fn key_hash(name: &str, public: &[u8; 32]) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([ALG_ED25519])
        .chain_update(public)
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The verifier key (vkey) text that clients configure to check notes signed under `name` by
/// the key whose public half is `public`.
pub fn verifier_key(name: &str, public: &[u8; 32]) -> Result<String, NoteError> {
    check_key_name(name)?;
    let mut key = Vec::with_capacity(33);
    key.push(ALG_ED25519);
    key.extend_from_slice(public);
    Ok(format!(
        "{name}+{:08x}+{}",
        key_hash(name, public),
        STANDARD.encode(key)
    ))
}

/// Parses a vkey into (name, key id, Ed25519 public key). Refuses other signature types,
/// non-canonical encodings, keys that are not curve points, and key ids that do not match.
pub fn parse_verifier_key(vkey: &str) -> Result<(String, u32, [u8; 32]), NoteError> {
    let bad = NoteError::MalformedVerifierKey;
    let (name, rest) = vkey
        .split_once('+')
        .ok_or(bad("expected <name>+<key id>+<key>"))?;
    let (id_hex, key_b64) = rest
        .split_once('+')
        .ok_or(bad("expected <name>+<key id>+<key>"))?;
    check_key_name(name)?;
    if id_hex.len() != 8
        || !id_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad("key id must be 8 lowercase hex digits"));
    }
    let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad("key id must be 8 lowercase hex digits"))?;
    let key = decode_base64(key_b64).ok_or(bad("key is not canonical base64"))?;
    let Some((&ALG_ED25519, public)) = key.split_first() else {
        return Err(bad("only Ed25519 keys (type 0x01) are supported"));
    };
    let public: [u8; 32] = public
        .try_into()
        .map_err(|_| bad("an Ed25519 key has 32 bytes"))?;
    VerifyingKey::from_bytes(&public).map_err(|_| bad("not a valid Ed25519 public key"))?;
    if key_hash(name, &public) != id {
        return Err(bad("key id does not match the name and key"));
    }
    Ok((name.to_owned(), id, public))
}

/// Standard base64 with padding, refusing any text that is not the canonical encoding.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(text).ok()?;
    (STANDARD.encode(&bytes) == text).then_some(bytes)
}

/// Checks that `body` can be the text of a note: non-empty, ends in a newline, and has no
/// control characters other than newlines.
fn check_note_text(body: &str) -> Result<(), NoteError> {
    if !body.ends_with('\n') {
        return Err(NoteError::MalformedNote("the text must end with a newline"));
    }
    if body.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::MalformedNote("control characters other than newline"));
    }
    Ok(())
}

/// Signs `body` as a note under key name `name`: returns `body`, a blank line and the signature
/// line `— <name> <base64(key id || Ed25519 signature of body)>`.
pub fn sign_note(body: &str, name: &str, key: &SigningKey) -> Result<String, NoteError> {
    check_note_text(body)?;
    check_key_name(name)?;
    let id = key_hash(name, &key.verifying_key().to_bytes());
    let mut signature = Vec::with_capacity(68);
    signature.extend_from_slice(&id.to_be_bytes());
    signature.extend_from_slice(&key.sign(body.as_bytes()).to_bytes());
    Ok(format!(
        "{body}\n{SIGNATURE_PREFIX}{name} {}\n",
        STANDARD.encode(signature)
    ))
}

/// Checks a signed note against one trusted vkey and returns its text (with its final newline).
///
/// Signature lines of other keys (other name or key id) are ignored, as the spec requires;
/// every line of the trusted key must verify (Ed25519 `verify_strict`), and there must be one.
pub fn verify_note<'a>(text: &'a str, vkey: &str) -> Result<&'a str, NoteError> {
    let (name, id, public) = parse_verifier_key(vkey)?;
    let malformed = NoteError::MalformedNote;
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(malformed("control characters other than newline"));
    }
    let split = text
        .rfind("\n\n")
        .ok_or(malformed("no blank line before the signatures"))?;
    let (body, signatures) = (&text[..split + 1], &text[split + 2..]);
    if signatures.is_empty() || !signatures.ends_with('\n') {
        return Err(malformed("signature lines must end with a newline"));
    }
    let key = VerifyingKey::from_bytes(&public).map_err(|_| NoteError::MalformedVerifierKey("bad key"))?;
    let key_label = format!("{name}+{id:08x}");
    let mut signed = false;
    for (count, line) in signatures.split_terminator('\n').enumerate() {
        if count == MAX_SIGNATURES {
            return Err(malformed("too many signatures"));
        }
        let line = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or(malformed("a signature line must start with '— '"))?;
        let (line_name, b64) = line
            .split_once(' ')
            .ok_or(malformed("a signature line is '— <name> <base64>'"))?;
        let bytes = decode_base64(b64).ok_or(malformed("signature is not canonical base64"))?;
        if !is_valid_key_name(line_name) || bytes.len() < 5 {
            return Err(malformed("a signature line is '— <name> <base64>'"));
        }
        let line_id = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if line_name != name || line_id != id {
            continue;
        }
        let signature =
            Signature::from_slice(&bytes[4..]).map_err(|_| NoteError::InvalidSignature(key_label.clone()))?;
        key.verify_strict(body.as_bytes(), &signature)
            .map_err(|_| NoteError::InvalidSignature(key_label.clone()))?;
        signed = true;
    }
    if signed {
        Ok(body)
    } else {
        Err(NoteError::NotSigned(key_label))
    }
}

/// Checks a signed checkpoint against one trusted vkey and parses it. The caller must still
/// compare [`Checkpoint::origin`] with the log it expects.
pub fn open_note(text: &str, vkey: &str) -> Result<Checkpoint, NoteError> {
    Checkpoint::from_body(verify_note(text, vkey)?)
}

/// A tree head of the log: `size` entries (`log_index` 0..size) whose RFC 9162 Merkle root is
/// `root`, as stated by the log named `origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Identity of the log, e.g. `registry.example.org/log`; one non-empty line.
    pub origin: String,
    /// Number of entries in the tree.
    pub size: u64,
    /// Merkle tree hash of those entries.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: `<origin>\n<size>\n<base64 root>\n`, with no extension lines.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root))
    }

    /// Parses a checkpoint note text. Accepts exactly three lines, each ending in a newline: a
    /// non-empty origin, a decimal size without sign or leading zeros, and the standard base64
    /// of a 32-byte root. Extension lines are refused (this log writes none).
    pub fn from_body(body: &str) -> Result<Self, NoteError> {
        let bad = NoteError::MalformedCheckpoint;
        check_note_text(body)
            .map_err(|_| bad("the text must end with a newline and have no control characters"))?;
        let lines: Vec<&str> = body[..body.len() - 1].split('\n').collect();
        let [origin, size, root] = lines[..] else {
            return Err(bad(
                "expected exactly three lines: origin, size, root (no extension lines)",
            ));
        };
        if origin.is_empty() {
            return Err(bad("the origin line is empty"));
        }
        let canonical = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        if !canonical {
            return Err(bad(
                "the size must be a decimal number without sign or leading zeros",
            ));
        }
        let size = size
            .parse::<u64>()
            .map_err(|_| bad("the size does not fit in 64 bits"))?;
        let root = decode_base64(root).ok_or(bad("the root is not canonical base64"))?;
        let root: Hash = root.try_into().map_err(|_| bad("the root must be 32 bytes"))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// Signs this checkpoint as a note under key name `name` (normally the origin). Fails if
    /// the origin would not read back (empty, or containing a newline or control character).
    pub fn sign(&self, name: &str, key: &SigningKey) -> Result<String, NoteError> {
        let body = self.body();
        if Self::from_body(&body).as_ref() != Ok(self) {
            return Err(NoteError::MalformedCheckpoint(
                "the origin must be one non-empty line",
            ));
        }
        sign_note(&body, name, key)
    }
}

#[cfg(test)]
mod tests;

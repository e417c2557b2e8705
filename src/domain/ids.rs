//! Registry ids: stable, public, minted by the registry and never reused.
//!
//! An id is `<kind prefix>_<20 base32 characters>`, derived from a SHA-256 digest of what
//! created the object (for signed writes, the envelope), so replaying the log mints the same ids.
//!
//! Ids of objects created by signed writes begin with the second their command was issued at
//! (`mint_at`): the alphabet is in ASCII order, so ids sort by creation time. New rows then go
//! to the end of every index that holds the id instead of to a random page of it, which keeps
//! a large import's working set small; and lists ordered by id come out oldest first. The time
//! they reveal is the signed `issued_at` that the public log shows anyway.

use super::error::FieldPath;
use sha2::{Digest, Sha256};

use super::Timestamp;
use super::error::DomainError;

/// The kinds of objects the registry mints ids for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Provider,
    QaAgency,
    RecognitionBody,
    Accreditation,
    Qualification,
    Recognition,
}

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const BODY_LEN: usize = 20;

impl IdKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::Provider => "prov",
            Self::QaAgency => "qaag",
            Self::RecognitionBody => "rbod",
            Self::Accreditation => "accr",
            Self::Qualification => "qual",
            Self::Recognition => "reco",
        }
    }

    pub const fn noun(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::QaAgency => "QA agency",
            Self::RecognitionBody => "recognition body",
            Self::Accreditation => "accreditation",
            Self::Qualification => "qualification",
            Self::Recognition => "recognition",
        }
    }

    /// Mints the id of an object of this kind from the bytes that create it: 100 bits of their
    /// digest.
    pub fn mint(self, seed: &[u8]) -> String {
        self.format(self.digest_bits(seed) >> 4)
    }

    /// Mints the id of an object created at `at` from the bytes that create it: the whole
    /// seconds since 1970 in the first 7 characters (35 bits, clamped to 0..2^35, i.e. up to
    /// the year 3058), then 65 bits of the digest.
    pub fn mint_at(self, at: Timestamp, seed: &[u8]) -> String {
        const TIME_BITS: u32 = 35;
        let seconds = at
            .as_micros()
            .div_euclid(1_000_000)
            .clamp(0, (1 << TIME_BITS) - 1) as u128;
        let random = self.digest_bits(seed) >> (104 - (100 - TIME_BITS));
        self.format((seconds << (100 - TIME_BITS)) | random)
    }

    /// The first 104 bits (13 bytes) of the digest of this kind's prefix and `seed`.
    fn digest_bits(self, seed: &[u8]) -> u128 {
        let digest = Sha256::new()
            .chain_update(self.prefix())
            .chain_update(seed)
            .finalize();
        digest[..13]
            .iter()
            .fold(0u128, |acc, byte| (acc << 8) | u128::from(*byte))
    }

    /// `<prefix>_` and the low 100 bits of `bits` as 20 characters, most significant first.
    fn format(self, bits: u128) -> String {
        let mut id = String::with_capacity(self.prefix().len() + 1 + BODY_LEN);
        id.push_str(self.prefix());
        id.push('_');
        for i in 0..BODY_LEN {
            let shift = 100 - 5 * (i + 1);
            id.push(ALPHABET[((bits >> shift) & 31) as usize] as char);
        }
        id
    }

    /// Checks that `id` has the form of an id of this kind; `field` names the request field.
    pub fn check(self, field: impl FieldPath, id: &str) -> Result<(), DomainError> {
        if id.is_empty() {
            return Err(DomainError::invalid(field, "is required"));
        }
        let well_formed = id
            .strip_prefix(self.prefix())
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|body| body.len() == BODY_LEN && body.bytes().all(|b| ALPHABET.contains(&b)));
        if well_formed {
            Ok(())
        } else {
            Err(DomainError::invalid(
                field,
                format!(
                    "must be a {} id of the form {}_ followed by {BODY_LEN} base32 characters",
                    self.noun(),
                    self.prefix()
                ),
            ))
        }
    }
}

/// Checks a framework id: lowercase letters, digits and dashes, 1 to 64 characters.
pub fn check_framework_id(field: impl FieldPath, id: &str) -> Result<(), DomainError> {
    if id.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    let ok = id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            field,
            "must be 1-64 lowercase letters, digits or dashes, e.g. \"ie-nfq\"",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_are_stable_and_well_formed() {
        let a = IdKind::Provider.mint(b"seed");
        assert_eq!(a, IdKind::Provider.mint(b"seed"));
        assert_ne!(a, IdKind::Provider.mint(b"other seed"));
        assert!(a.starts_with("prov_"));
        IdKind::Provider.check("id", &a).unwrap();
        assert!(IdKind::Qualification.check("id", &a).is_err());
        assert!(IdKind::Provider.check("id", "prov_UPPERCASE0000000000").is_err());
        assert!(IdKind::Provider.check("id", "").is_err());
    }

    #[test]
    fn ids_minted_from_bytes_alone_keep_their_form() {
        // The first 100 bits of SHA-256("prov" || "seed") in the id alphabet, as minted before
        // ids carried a time (computed apart from this code).
        assert_eq!(IdKind::Provider.mint(b"seed"), "prov_xr1s3css3gz478f286q7");
    }

    #[test]
    fn ids_minted_at_a_time_sort_by_that_time_and_stay_distinct_within_a_second() {
        let at = |s| Timestamp::from_unix_seconds(s);
        let kind = IdKind::Qualification;
        let a = kind.mint_at(at(1_700_000_000), b"envelope a");
        assert_eq!(a, kind.mint_at(at(1_700_000_000), b"envelope a"), "stable");
        kind.check("id", &a).unwrap();
        // Same second: same 7 leading characters, different rest.
        let b = kind.mint_at(Timestamp::from_micros(1_700_000_000_999_999), b"envelope b");
        assert_eq!(a[..5 + 7], b[..5 + 7]);
        assert_ne!(a, b);
        // Later seconds sort after, whatever the digest; so do years apart.
        let mut ids: Vec<(i64, String)> = [0, 1, 59, 3_600, 86_400 * 365, 2_000_000_000]
            .into_iter()
            .enumerate()
            .map(|(n, s)| {
                (
                    s,
                    kind.mint_at(at(1_700_000_000 + s), format!("seed {n}").as_bytes()),
                )
            })
            .collect();
        let by_time = ids.clone();
        ids.sort_by(|x, y| x.1.cmp(&y.1));
        assert_eq!(ids, by_time);
        // Times outside 1970..3058 are clamped, not wrapped.
        let before = kind.mint_at(Timestamp::from_unix_seconds(-5), b"x");
        assert!(before.starts_with("qual_0000000"), "{before}");
        let after = kind.mint_at(Timestamp::from_micros(i64::MAX), b"x");
        assert!(after.starts_with("qual_zzzzzzz"), "{after}");
        kind.check("id", &after).unwrap();
    }
}

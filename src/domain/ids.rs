//! Registry ids: stable, public, minted by the registry and never reused.
//!
//! An id is `<kind prefix>_<20 base32 characters>`, derived from a SHA-256 digest of what
//! created the object (for signed writes, the envelope), so replaying the log mints the same ids.

use sha2::{Digest, Sha256};

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

    /// Mints the id of an object of this kind from the bytes that create it.
    pub fn mint(self, seed: &[u8]) -> String {
        let digest = Sha256::new()
            .chain_update(self.prefix())
            .chain_update(seed)
            .finalize();
        let mut body = String::with_capacity(BODY_LEN);
        // 20 characters x 5 bits = 100 bits from the first 13 bytes of the digest.
        let mut acc: u128 = 0;
        for byte in &digest[..13] {
            acc = (acc << 8) | u128::from(*byte);
        }
        for i in 0..BODY_LEN {
            let shift = 104 - 5 * (i + 1);
            body.push(ALPHABET[((acc >> shift) & 31) as usize] as char);
        }
        format!("{}_{}", self.prefix(), body)
    }

    /// Checks that `id` has the form of an id of this kind; `field` names the request field.
    pub fn check(self, field: &str, id: &str) -> Result<(), DomainError> {
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
pub fn check_framework_id(field: &str, id: &str) -> Result<(), DomainError> {
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
}

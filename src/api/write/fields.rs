//! Field rules for commands: every error names the field path and the rule.

use crate::api::convert::{FromPbEnum, from_timestamp};
use crate::api::request::MAX_URI;
use crate::domain::model::{ActorKey, ExternalIdentifier, LocalizedString};
use crate::domain::{DomainError, Timestamp};
use crate::pb;

pub use crate::domain::error::{Child, FieldPath, Item};

pub type Result<T> = std::result::Result<T, DomainError>;

/// Longest name or title, in characters.
pub const MAX_NAME: usize = 300;
/// Longest free text (descriptions, reasons, conditions), in characters.
pub const MAX_TEXT: usize = 8_000;
/// Most entries in a repeated field.
pub const MAX_ITEMS: usize = 100;

pub fn text(field: impl FieldPath, value: String, max: usize) -> Result<String> {
    if value.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(DomainError::invalid(field, "must not contain control characters"));
    }
    Ok(value)
}

pub fn required_text(field: impl FieldPath, value: String, max: usize) -> Result<String> {
    if value.trim().is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    text(field, value, max)
}

pub fn at_most<T>(field: impl FieldPath, items: Vec<T>, max: usize) -> Result<Vec<T>> {
    if items.len() > max {
        return Err(DomainError::invalid(
            field,
            format!("must have at most {max} entries"),
        ));
    }
    Ok(items)
}

pub fn required_enum<T: FromPbEnum>(field: impl FieldPath, value: i32) -> Result<T> {
    T::from_pb(field, value)?.ok_or_else(|| DomainError::invalid(field, "is required (not UNSPECIFIED)"))
}

pub fn time_or(
    field: impl FieldPath,
    value: Option<pbjson_types::Timestamp>,
    default: Timestamp,
) -> Result<Timestamp> {
    Ok(from_timestamp(field, value.as_ref())?.unwrap_or(default))
}

pub fn required_time(field: impl FieldPath, value: Option<pbjson_types::Timestamp>) -> Result<Timestamp> {
    from_timestamp(field, value.as_ref())?.ok_or_else(|| DomainError::invalid(field, "is required"))
}

/// An end of validity: optional, and after `start` when given.
pub fn end_after(
    field: impl FieldPath,
    value: Option<pbjson_types::Timestamp>,
    start: Timestamp,
) -> Result<Option<Timestamp>> {
    let end = from_timestamp(field, value.as_ref())?;
    if end.is_some_and(|end| end <= start) {
        return Err(DomainError::invalid(field, "must be after the start of validity"));
    }
    Ok(end)
}

/// An ISO 3166-1 alpha-2 code, upper-case.
pub fn country(field: impl FieldPath, value: &str) -> Result<String> {
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(value.to_owned())
    } else {
        Err(DomainError::invalid(
            field,
            "must be an upper-case ISO 3166-1 alpha-2 code such as \"IE\"",
        ))
    }
}

pub fn countries(field: impl FieldPath, values: Vec<String>) -> Result<Vec<String>> {
    let values = at_most(field, values, MAX_ITEMS)?;
    for (i, value) in values.iter().enumerate() {
        country(Item(field, i), value)?;
    }
    Ok(values)
}

/// A BCP 47 language tag in its common form: letters, digits and dashes, starting with 2-3 letters.
pub fn language(field: impl FieldPath, value: &str) -> Result<()> {
    let primary = value.split('-').next().unwrap_or("");
    let ok = (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && value.len() <= 35
        && value
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            field,
            "must be a BCP 47 language tag such as \"en\" or \"ga-IE\"",
        ))
    }
}

pub fn languages(field: impl FieldPath, values: Vec<String>) -> Result<Vec<String>> {
    let values = at_most(field, values, MAX_ITEMS)?;
    for (i, value) in values.iter().enumerate() {
        language(Item(field, i), value)?;
    }
    Ok(values)
}

/// Names or titles: at least one, each with a language and a text.
pub fn names(field: impl FieldPath, values: Vec<pb::LocalizedString>) -> Result<Vec<LocalizedString>> {
    if values.is_empty() {
        return Err(DomainError::invalid(field, "needs at least one entry"));
    }
    at_most(field, values, MAX_ITEMS)?
        .into_iter()
        .enumerate()
        .map(
            |(
                i,
                pb::LocalizedString {
                    language: lang,
                    value,
                },
            )| {
                language(Child(Item(field, i), "language"), &lang)?;
                let value = required_text(Child(Item(field, i), "value"), value, MAX_NAME)?;
                Ok(LocalizedString {
                    language: lang,
                    value,
                })
            },
        )
        .collect()
}

/// An absolute URI (http, https, urn, did ...), or empty when `optional`.
pub fn uri(field: impl FieldPath, value: String, optional: bool) -> Result<String> {
    if value.is_empty() && optional {
        return Ok(value);
    }
    match crate::api::request::optional_uri(field, &value)? {
        Some(uri) => Ok(uri),
        None => Err(DomainError::invalid(field, "is required")),
    }
}

pub fn uris(field: impl FieldPath, values: Vec<String>) -> Result<Vec<String>> {
    at_most(field, values, MAX_ITEMS)?
        .into_iter()
        .enumerate()
        .map(|(i, value)| uri(Item(field, i), value, false))
        .collect()
}

/// A field of study: a URI, and in the ISCED-F vocabulary one ending in a field code.
pub fn field_of_study(field: impl FieldPath, value: String, optional: bool) -> Result<String> {
    let value = uri(field, value, optional)?;
    crate::domain::trust::check_field_of_study(&value).map_err(|rule| DomainError::invalid(field, rule))?;
    Ok(value)
}

/// Fields of study (see [`field_of_study`]).
pub fn fields_of_study(field: impl FieldPath, values: Vec<String>) -> Result<Vec<String>> {
    at_most(field, values, MAX_ITEMS)?
        .into_iter()
        .enumerate()
        .map(|(i, value)| field_of_study(Item(field, i), value, false))
        .collect()
}

/// A web address: empty, or http(s) and at most MAX_URI bytes.
pub fn web_url(field: impl FieldPath, value: String) -> Result<String> {
    if value.is_empty() {
        return Ok(value);
    }
    if value.len() <= MAX_URI
        && (value.starts_with("https://") || value.starts_with("http://"))
        && !value.chars().any(char::is_whitespace)
    {
        Ok(value)
    } else {
        Err(DomainError::invalid(
            field,
            format!("must be an http(s) URL of at most {MAX_URI} bytes"),
        ))
    }
}

pub fn identifiers(
    field: impl FieldPath,
    values: Vec<pb::ExternalIdentifier>,
) -> Result<Vec<ExternalIdentifier>> {
    at_most(field, values, MAX_ITEMS)?
        .into_iter()
        .enumerate()
        .map(
            |(
                i,
                pb::ExternalIdentifier {
                    scheme,
                    value,
                    valid_from,
                    valid_until,
                },
            )| {
                let f = |name| Child(Item(field, i), name);
                let scheme = required_enum(f("scheme"), scheme)?;
                let value = required_text(f("value"), value, 512)?;
                let valid_from = from_timestamp(f("valid_from"), valid_from.as_ref())?;
                let valid_until = from_timestamp(f("valid_until"), valid_until.as_ref())?;
                if let (Some(from), Some(until)) = (valid_from, valid_until)
                    && until <= from
                {
                    return Err(DomainError::invalid(f("valid_until"), "must be after valid_from"));
                }
                Ok(ExternalIdentifier {
                    scheme,
                    value,
                    valid_from,
                    valid_until,
                })
            },
        )
        .collect()
}

/// A 32-byte Ed25519 public key that is a valid curve point.
pub fn public_key(field: impl FieldPath, bytes: &[u8]) -> Result<[u8; 32]> {
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| DomainError::invalid(field, "must be a 32-byte Ed25519 public key"))?;
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|_| DomainError::invalid(field, "is not a valid Ed25519 public key"))?;
    Ok(key)
}

pub fn key(field: impl FieldPath, spec: pb::KeySpec, default_from: Timestamp) -> Result<ActorKey> {
    let pb::KeySpec {
        public_key: bytes,
        valid_from,
        valid_until,
    } = spec;
    let public = public_key(Child(field, "public_key"), &bytes)?;
    let valid_from = time_or(Child(field, "valid_from"), valid_from, default_from)?;
    let mut key = ActorKey::new(public, valid_from);
    key.valid_until = end_after(Child(field, "valid_until"), valid_until, valid_from)?;
    Ok(key)
}

/// One or more keys, without repeats.
pub fn keys(
    field: impl FieldPath,
    specs: Vec<pb::KeySpec>,
    default_from: Timestamp,
) -> Result<Vec<ActorKey>> {
    if specs.is_empty() {
        return Err(DomainError::invalid(field, "needs at least one key"));
    }
    let keys = at_most(field, specs, 10)?
        .into_iter()
        .enumerate()
        .map(|(i, spec)| key(Item(field, i), spec, default_from))
        .collect::<Result<Vec<_>>>()?;
    for (i, key) in keys.iter().enumerate() {
        if keys[..i].iter().any(|k| k.key_id == key.key_id) {
            return Err(DomainError::invalid(Item(field, i), "repeats a key"));
        }
    }
    Ok(keys)
}

/// A non-negative, finite number.
pub fn amount(field: impl FieldPath, value: f64) -> Result<f64> {
    if value.is_finite() && (0.0..=1e6).contains(&value) {
        Ok(value)
    } else {
        Err(DomainError::invalid(
            field,
            "must be a finite number between 0 and 1000000",
        ))
    }
}

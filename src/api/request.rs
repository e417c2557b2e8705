//! Validation of request fields shared by the services.

use crate::domain::DomainError;
use crate::domain::error::FieldPath;
use crate::domain::ids::IdKind;

/// Longest accepted free-text filter, in characters.
pub const MAX_TEXT_FILTER: usize = 200;
/// Longest accepted URI filter, in bytes.
pub const MAX_URI: usize = 2048;

/// A required registry id of `kind`.
pub fn required_id(kind: IdKind, field: impl FieldPath, id: &str) -> Result<String, DomainError> {
    kind.check(field, id)?;
    Ok(id.to_owned())
}

/// An optional registry id filter: empty means "any".
pub fn optional_id(kind: IdKind, field: impl FieldPath, id: &str) -> Result<Option<String>, DomainError> {
    if id.is_empty() {
        Ok(None)
    } else {
        required_id(kind, field, id).map(Some)
    }
}

/// An optional ISO 3166-1 alpha-2 country filter, upper-cased.
pub fn optional_country(field: impl FieldPath, country: &str) -> Result<Option<String>, DomainError> {
    if country.is_empty() {
        return Ok(None);
    }
    if country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(Some(country.to_ascii_uppercase()))
    } else {
        Err(DomainError::invalid(
            field,
            "must be an ISO 3166-1 alpha-2 country code such as \"IE\"",
        ))
    }
}

/// An optional free-text filter, trimmed and lower-cased for case-insensitive matching.
pub fn optional_text(field: impl FieldPath, text: &str) -> Result<Option<String>, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > MAX_TEXT_FILTER {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {MAX_TEXT_FILTER} characters"),
        ));
    }
    Ok(Some(text.to_lowercase()))
}

/// An optional URI filter (e.g. an ESCO skill URI): absolute, without spaces.
pub fn optional_uri(field: impl FieldPath, uri: &str) -> Result<Option<String>, DomainError> {
    if uri.is_empty() {
        return Ok(None);
    }
    let has_scheme = uri.split_once(':').is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && !rest.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    });
    if uri.len() > MAX_URI || !has_scheme || uri.chars().any(char::is_whitespace) {
        return Err(DomainError::invalid(
            field,
            format!("must be an absolute URI of at most {MAX_URI} bytes"),
        ));
    }
    Ok(Some(uri.to_owned()))
}

/// A field of study: an absolute URI ([`optional_uri`]) and, in the ISCED-F vocabulary, one
/// ending in a field code; `None` when empty.
pub fn optional_field_of_study(field: impl FieldPath, uri: &str) -> Result<Option<String>, DomainError> {
    let uri = optional_uri(field, uri)?;
    if let Some(uri) = &uri {
        crate::domain::trust::check_field_of_study(uri).map_err(|rule| DomainError::invalid(field, rule))?;
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_validate() {
        assert_eq!(optional_country("c", "ie").unwrap().as_deref(), Some("IE"));
        assert!(optional_country("c", "IRL").is_err());
        assert_eq!(optional_text("t", "  Data ").unwrap().as_deref(), Some("data"));
        assert!(optional_text("t", &"x".repeat(201)).is_err());
        assert!(optional_uri("u", "http://data.europa.eu/esco/skill/1").is_ok());
        assert!(optional_uri("u", "not a uri").is_err());
    }
}

//! Whether an accreditation's scope covers what a credential claims: EQF levels, credential
//! types, ISCED-F fields of study (hierarchically) and jurisdictions.

use super::ScopeQuery;
use crate::domain::model::AccreditationScope;

/// Whether a scope value list allows `asked` (an empty list puts no limit).
fn allows(list: &[String], asked: Option<&String>, matches: impl Fn(&str, &str) -> bool) -> bool {
    match asked {
        None => true,
        Some(asked) => list.is_empty() || list.iter().any(|allowed| matches(allowed, asked)),
    }
}

/// The ISCED-F code a field URI ends with (`.../isced-f/0613` -> `0613`), with the URI before
/// it; `None` for a URI outside that vocabulary.
fn isced_f(uri: &str) -> Option<(&str, &str)> {
    uri.rsplit_once('/')
        .filter(|(base, _)| base.ends_with("/isced-f"))
}

/// Whether `code` is an ISCED-F 2013 field code: 2 digits (broad), 3 (narrow) or 4 (detailed).
fn isced_f_code(code: &str) -> bool {
    (2..=4).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

/// Refuses a field URI in the ISCED-F vocabulary whose code is not a field code (empty, one
/// digit, letters, more than four digits): such a value would match nothing, or everything.
pub fn check_field_of_study(uri: &str) -> Result<(), &'static str> {
    match isced_f(uri) {
        Some((_, code)) if !isced_f_code(code) => {
            Err("an ISCED-F field URI must end in a field code of 2 to 4 digits (e.g. .../isced-f/0613)")
        }
        _ => Ok(()),
    }
}

/// ISCED-F fields are hierarchical (broad 2 digits, narrow 3, detailed 4): an accreditation for
/// a broader field covers its narrower ones, e.g. `.../isced-f/06` covers `.../isced-f/0613`.
/// Only field codes cover others: an empty or malformed code stored before codes were checked
/// covers nothing but itself.
pub(super) fn field_covers(allowed: &str, asked: &str) -> bool {
    if allowed == asked {
        return true;
    }
    match (isced_f(allowed), isced_f(asked)) {
        (Some((base_a, code_a)), Some((base_b, code_b))) => {
            base_a == base_b
                && isced_f_code(code_a)
                && isced_f_code(code_b)
                && code_b.len() > code_a.len()
                && code_b.starts_with(code_a)
        }
        _ => false,
    }
}

/// Why `scope` does not cover `asked`, if it does not.
pub fn out_of_scope(scope: &AccreditationScope, asked: &ScopeQuery) -> Option<String> {
    if let Some(level) = asked.eqf_level
        && !scope.eqf_levels.is_empty()
        && !scope.eqf_levels.contains(&level)
    {
        return Some(format!(
            "EQF level {level} is outside the accredited levels {:?}",
            scope.eqf_levels
        ));
    }
    if !allows(&scope.credential_types, asked.credential_type.as_ref(), |a, b| {
        a == b
    }) {
        return Some(format!(
            "credential type {} is not accredited",
            asked.credential_type.as_deref().unwrap_or("")
        ));
    }
    if !allows(
        &scope.fields_of_study,
        asked.field_of_study.as_ref(),
        field_covers,
    ) {
        return Some(format!(
            "field of study {} is not accredited",
            asked.field_of_study.as_deref().unwrap_or("")
        ));
    }
    if !allows(&scope.jurisdictions, asked.jurisdiction.as_ref(), |a, b| a == b) {
        return Some(format!(
            "jurisdiction {} is not accredited",
            asked.jurisdiction.as_deref().unwrap_or("")
        ));
    }
    None
}

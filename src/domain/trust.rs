//! The rule that decides whether an issuer is trusted at a time T, for a scope.
//!
//! An issuer is TRUSTED at T when every link of the chain held at T: the identifier (and the
//! signing key, if named) was bound to the provider; and at least one accreditation of the
//! provider was in force — by an agency admitted and not retired, with a positive decision,
//! inside `[valid_from, effective_until)`, in a granted or reinstated period, with a scope
//! covering what was asked. Every interval is half-open.

use std::collections::HashMap;
use std::sync::Arc;

use super::enums::{AccreditationStatus, IdentifierScheme};
use super::model::*;
use super::query::Keyed;
use super::time::{Timestamp, within};

/// What a credential claims; `None` is not checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeQuery {
    pub credential_type: Option<String>,
    pub eqf_level: Option<u8>,
    pub field_of_study: Option<String>,
    pub jurisdiction: Option<String>,
}

/// How a query names the issuer.
#[derive(Debug, Clone, PartialEq)]
pub enum IssuerRef {
    ProviderId(String),
    Did(String),
    PublicKey([u8; 32]),
    External(IdentifierScheme, String),
}

/// The key a query names: bound to the provider or not.
#[derive(Debug, Clone, PartialEq)]
pub enum NamedKey {
    Bound(ActorKey),
    NotBound(String),
}

/// Everything the rule looks at, loaded by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustFacts {
    pub provider: Arc<Keyed<Provider>>,
    /// The external identifier the issuer was found by, with its validity.
    pub identifier: Option<ExternalIdentifier>,
    /// When any binding of the identifier the query named begins or ends, whichever provider
    /// it binds: from then on the identifier may name another provider, and the answer change.
    pub identifier_changes: Vec<Timestamp>,
    pub key: Option<NamedKey>,
    pub accreditations: Arc<Vec<AccreditationRecord>>,
    pub agencies: Arc<HashMap<String, Arc<QaAgency>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustStatus {
    Trusted,
    NotTrusted,
    UnknownIssuer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    UnknownIssuer,
    IdentifierNotValid,
    KeyNotBound,
    KeyNotValid,
    KeyRevoked,
    NoAccreditation,
    AccreditationNotYetValid,
    AccreditationExpired,
    AccreditationSuspended,
    AccreditationWithdrawn,
    NegativeDecision,
    OutOfScope,
    AgencyNotAdmitted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub code: ReasonCode,
    pub message: String,
    pub accreditation_id: Option<String>,
}

impl Reason {
    fn new(code: ReasonCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            accreditation_id: None,
        }
    }
    fn about(code: ReasonCode, accreditation: &Accreditation, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            accreditation_id: Some(accreditation.id.clone()),
        }
    }
}

/// The state of a named key at T.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Valid,
    NotYetValid,
    Expired,
    Revoked,
    NotBound,
}

/// An accreditation in force at T, with its status there.
#[derive(Debug, Clone, PartialEq)]
pub struct InForce {
    pub accreditation: Accreditation,
    pub status: AccreditationStatus,
    pub agency_names: Vec<LocalizedString>,
}

/// The outcome of the rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub status: TrustStatus,
    pub reasons: Vec<Reason>,
    pub in_force: Vec<InForce>,
    pub key: Option<(String, KeyState, Option<ActorKey>)>,
    pub next_update: Option<Timestamp>,
}

impl Evaluation {
    /// The answer for an issuer the registry does not know.
    pub fn unknown(message: impl Into<String>) -> Self {
        Self {
            status: TrustStatus::UnknownIssuer,
            reasons: vec![Reason::new(ReasonCode::UnknownIssuer, message)],
            in_force: Vec::new(),
            key: None,
            next_update: None,
        }
    }
}

/// The state of a key at `at`.
pub fn key_state(key: &ActorKey, at: Timestamp) -> KeyState {
    if key.revoked_at.is_some_and(|revoked| revoked <= at) {
        KeyState::Revoked
    } else if at < key.valid_from {
        KeyState::NotYetValid
    } else if key.valid_until.is_some_and(|until| until <= at) {
        KeyState::Expired
    } else {
        KeyState::Valid
    }
}

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
fn field_covers(allowed: &str, asked: &str) -> bool {
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

/// Why one accreditation is not in force for `asked` at `at`, or its status when it is.
fn assess(
    record: &AccreditationRecord,
    agency: Option<&QaAgency>,
    asked: &ScopeQuery,
    at: Timestamp,
) -> Result<AccreditationStatus, Reason> {
    let a = &record.accreditation;
    let when = at.to_rfc3339();
    match agency {
        Some(agency) if within(at, Some(agency.admitted_at), agency.retired_at) => {}
        Some(agency) => {
            return Err(Reason::about(
                ReasonCode::AgencyNotAdmitted,
                a,
                format!("agency {} was not admitted (or was retired) at {when}", agency.id),
            ));
        }
        None => {
            return Err(Reason::about(
                ReasonCode::AgencyNotAdmitted,
                a,
                format!("agency {} is not admitted", a.agency_id),
            ));
        }
    }
    if !a.decision.is_positive() {
        return Err(Reason::about(
            ReasonCode::NegativeDecision,
            a,
            format!("decision of {} is negative", a.id),
        ));
    }
    if at < a.valid_from {
        return Err(Reason::about(
            ReasonCode::AccreditationNotYetValid,
            a,
            format!("{} is valid from {}", a.id, a.valid_from.to_rfc3339()),
        ));
    }
    if a.effective_until() <= at {
        return Err(Reason::about(
            ReasonCode::AccreditationExpired,
            a,
            format!("{} expired at {}", a.id, a.effective_until().to_rfc3339()),
        ));
    }
    let period = record
        .history
        .iter()
        .find(|p| within(at, Some(p.effective_from), p.effective_until));
    let status = match period {
        Some(p) if p.status.in_force() => p.status,
        Some(p) if p.status == AccreditationStatus::Suspended => {
            return Err(Reason::about(
                ReasonCode::AccreditationSuspended,
                a,
                format!(
                    "{} was suspended from {} ({})",
                    a.id,
                    p.effective_from.to_rfc3339(),
                    p.reason
                ),
            ));
        }
        Some(p) => {
            return Err(Reason::about(
                ReasonCode::AccreditationWithdrawn,
                a,
                format!(
                    "{} was withdrawn from {} ({})",
                    a.id,
                    p.effective_from.to_rfc3339(),
                    p.reason
                ),
            ));
        }
        None => {
            return Err(Reason::about(
                ReasonCode::NoAccreditation,
                a,
                format!("{} has no status at {when}", a.id),
            ));
        }
    };
    if let Some(why) = out_of_scope(&a.scope, asked) {
        return Err(Reason::about(
            ReasonCode::OutOfScope,
            a,
            format!("{}: {why}", a.id),
        ));
    }
    Ok(status)
}

/// Applies the rule to the facts at `at`.
pub fn evaluate(facts: &TrustFacts, asked: &ScopeQuery, at: Timestamp) -> Evaluation {
    let mut reasons = Vec::new();
    let mut boundaries: Vec<Timestamp> = Vec::new();

    boundaries.extend(facts.identifier_changes.iter().copied());
    if let Some(identifier) = &facts.identifier {
        boundaries.extend(identifier.valid_from.iter().chain(identifier.valid_until.iter()));
        if !within(at, identifier.valid_from, identifier.valid_until) {
            reasons.push(Reason::new(
                ReasonCode::IdentifierNotValid,
                format!(
                    "identifier {} was not bound to {} at {}",
                    identifier.value,
                    facts.provider.item.id,
                    at.to_rfc3339()
                ),
            ));
        }
    }
    let key = facts.key.as_ref().map(|named| match named {
        NamedKey::NotBound(key_id) => {
            reasons.push(Reason::new(
                ReasonCode::KeyNotBound,
                format!("key {key_id} is not a key of {}", facts.provider.item.id),
            ));
            (key_id.clone(), KeyState::NotBound, None)
        }
        NamedKey::Bound(key) => {
            boundaries.push(key.valid_from);
            boundaries.extend(key.valid_until.iter().chain(key.revoked_at.iter()));
            let state = key_state(key, at);
            match state {
                KeyState::Valid => {}
                KeyState::Revoked => reasons.push(Reason::new(
                    ReasonCode::KeyRevoked,
                    format!(
                        "key {} was revoked at {}",
                        key.key_id,
                        key.revoked_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                    ),
                )),
                _ => reasons.push(Reason::new(
                    ReasonCode::KeyNotValid,
                    format!("key {} was not valid at {}", key.key_id, at.to_rfc3339()),
                )),
            }
            (key.key_id.clone(), state, Some(key.clone()))
        }
    });

    let mut in_force = Vec::new();
    let mut accreditation_reasons = Vec::new();
    for record in facts.accreditations.iter() {
        let a = &record.accreditation;
        let agency = facts.agencies.get(&a.agency_id).map(Arc::as_ref);
        boundaries.extend([a.valid_from, a.effective_until()]);
        for period in &record.history {
            boundaries.push(period.effective_from);
            boundaries.extend(period.effective_until.iter());
        }
        if let Some(agency) = agency {
            boundaries.push(agency.admitted_at);
            boundaries.extend(agency.retired_at.iter());
        }
        match assess(record, agency, asked, at) {
            Ok(status) => in_force.push(InForce {
                accreditation: a.clone(),
                status,
                agency_names: agency.map(|g| g.names.clone()).unwrap_or_default(),
            }),
            Err(reason) => accreditation_reasons.push(reason),
        }
    }
    if facts.accreditations.is_empty() {
        accreditation_reasons.push(Reason::new(
            ReasonCode::NoAccreditation,
            format!("{} has no accreditation", facts.provider.item.id),
        ));
    }
    if in_force.is_empty() {
        reasons.extend(accreditation_reasons);
    }
    let status = if reasons.is_empty() {
        TrustStatus::Trusted
    } else {
        TrustStatus::NotTrusted
    };
    let next_update = boundaries.into_iter().filter(|b| *b > at).min();
    Evaluation {
        status,
        reasons,
        in_force,
        key,
        next_update,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::enums::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn facts(history: Vec<StatusPeriod>, scope: AccreditationScope) -> TrustFacts {
        let agency = QaAgency {
            id: "qaag_a".into(),
            names: vec![],
            country: "IE".into(),
            operating_countries: vec![],
            identifiers: vec![],
            website: String::new(),
            admitted_at: t("2020-01-01T00:00:00Z"),
            retired_at: Some(t("2030-01-01T00:00:00Z")),
        };
        let accreditation = Accreditation {
            id: "accr_a".into(),
            agency_id: agency.id.clone(),
            provider_id: "prov_p".into(),
            kind: AccreditationKind::InstitutionalReview,
            decision: Decision::Positive,
            scope,
            valid_from: t("2021-01-01T00:00:00Z"),
            valid_until: Some(t("2027-01-01T00:00:00Z")),
            report_url: String::new(),
            conditions: String::new(),
            recorded_at: t("2021-01-01T00:00:00Z"),
        };
        TrustFacts {
            provider: Arc::new(Keyed {
                item: Provider {
                    id: "prov_p".into(),
                    names: vec![],
                    country: "IE".into(),
                    kind: ProviderKind::HigherEducation,
                    identifiers: vec![],
                    website: String::new(),
                    registered_by: agency.id.clone(),
                    registered_at: t("2021-01-01T00:00:00Z"),
                },
                keys: vec![],
            }),
            identifier: None,
            identifier_changes: vec![],
            key: None,
            accreditations: Arc::new(vec![AccreditationRecord {
                accreditation,
                history,
            }]),
            agencies: Arc::new(HashMap::from([(agency.id.clone(), Arc::new(agency))])),
        }
    }

    fn period(status: AccreditationStatus, from: &str, until: Option<&str>) -> StatusPeriod {
        StatusPeriod {
            status,
            effective_from: t(from),
            effective_until: until.map(t),
            reason: "r".into(),
        }
    }

    #[test]
    fn suspension_interval_is_half_open_and_next_update_points_at_its_end() {
        use AccreditationStatus::*;
        let f = facts(
            vec![
                period(Granted, "2021-01-01T00:00:00Z", Some("2024-03-01T00:00:00Z")),
                period(Suspended, "2024-03-01T00:00:00Z", Some("2024-06-01T00:00:00Z")),
                period(Reinstated, "2024-06-01T00:00:00Z", None),
            ],
            AccreditationScope::default(),
        );
        let q = ScopeQuery::default();
        let before = evaluate(&f, &q, t("2024-02-29T23:59:59Z"));
        assert_eq!(before.status, TrustStatus::Trusted);
        assert_eq!(before.next_update, Some(t("2024-03-01T00:00:00Z")));
        let at_start = evaluate(&f, &q, t("2024-03-01T00:00:00Z"));
        assert_eq!(at_start.status, TrustStatus::NotTrusted);
        assert_eq!(at_start.reasons[0].code, ReasonCode::AccreditationSuspended);
        assert_eq!(at_start.next_update, Some(t("2024-06-01T00:00:00Z")));
        assert_eq!(
            evaluate(&f, &q, t("2024-06-01T00:00:00Z")).status,
            TrustStatus::Trusted
        );
        let expired = evaluate(&f, &q, t("2027-01-01T00:00:00Z"));
        assert_eq!(expired.reasons[0].code, ReasonCode::AccreditationExpired);
        assert_eq!(
            evaluate(&f, &q, t("2026-12-31T23:59:59Z")).status,
            TrustStatus::Trusted
        );
    }

    #[test]
    fn scope_levels_types_and_isced_hierarchy() {
        let scope = AccreditationScope {
            eqf_levels: vec![5, 6],
            credential_types: vec![],
            fields_of_study: vec!["http://data.europa.eu/snb/isced-f/06".into()],
            jurisdictions: vec!["IE".into()],
        };
        let f = facts(
            vec![period(AccreditationStatus::Granted, "2021-01-01T00:00:00Z", None)],
            scope,
        );
        let at = t("2022-01-01T00:00:00Z");
        let ask = |level: u8, field: &str, j: &str| ScopeQuery {
            eqf_level: Some(level),
            field_of_study: Some(format!("http://data.europa.eu/snb/isced-f/{field}")),
            jurisdiction: Some(j.into()),
            credential_type: Some("http://any".into()),
        };
        assert_eq!(
            evaluate(&f, &ask(6, "0613", "IE"), at).status,
            TrustStatus::Trusted
        );
        assert_eq!(
            evaluate(&f, &ask(7, "0613", "IE"), at).reasons[0].code,
            ReasonCode::OutOfScope
        );
        assert_eq!(
            evaluate(&f, &ask(6, "0913", "IE"), at).reasons[0].code,
            ReasonCode::OutOfScope
        );
        assert_eq!(
            evaluate(&f, &ask(6, "0613", "FR"), at).reasons[0].code,
            ReasonCode::OutOfScope
        );
    }

    /// A field code covers its narrower codes and itself, and nothing else: not broader codes,
    /// not codes with other characters, and an empty or malformed code (which writes refuse
    /// now) covers nothing but itself.
    #[test]
    fn only_field_codes_cover_narrower_fields() {
        let field = |code: &str| format!("http://data.europa.eu/snb/isced-f/{code}");
        for (allowed, asked, covers) in [
            ("06", "06", true),
            ("06", "061", true),
            ("06", "0613", true),
            ("061", "0613", true),
            ("0613", "06", false),
            ("06", "0713", false),
            ("06", "06abc", false),
            ("06", "061234", false),
            ("", "0613", false),
            ("", "0", false),
            ("0", "0613", false),
            ("0", "01", false),
        ] {
            assert_eq!(
                field_covers(&field(allowed), &field(asked)),
                covers,
                "{allowed:?} covers {asked:?}"
            );
        }
        assert!(!field_covers(
            "http://data.europa.eu/snb/isced-f/06",
            "http://example.org/isced-f/0613"
        ));
        for code in ["", "0", "12345", "06a", "x6"] {
            assert!(check_field_of_study(&field(code)).is_err(), "{code:?}");
        }
        for ok in [
            field("06"),
            field("061"),
            field("0613"),
            "http://example.org/fields/robotics".into(),
        ] {
            assert!(check_field_of_study(&ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn retired_agency_and_revoked_key() {
        let mut f = facts(
            vec![period(AccreditationStatus::Granted, "2021-01-01T00:00:00Z", None)],
            AccreditationScope::default(),
        );
        assert_eq!(
            evaluate(&f, &ScopeQuery::default(), t("2030-01-01T00:00:00Z")).reasons[0].code,
            ReasonCode::AgencyNotAdmitted
        );
        let mut key = ActorKey::new([1; 32], t("2021-01-01T00:00:00Z"));
        key.revoked_at = Some(t("2023-01-01T00:00:00Z"));
        f.key = Some(NamedKey::Bound(key));
        assert_eq!(
            evaluate(&f, &ScopeQuery::default(), t("2022-12-31T23:59:59Z")).status,
            TrustStatus::Trusted
        );
        let revoked = evaluate(&f, &ScopeQuery::default(), t("2023-01-01T00:00:00Z"));
        assert_eq!(revoked.status, TrustStatus::NotTrusted);
        assert_eq!(revoked.reasons[0].code, ReasonCode::KeyRevoked);
    }
}

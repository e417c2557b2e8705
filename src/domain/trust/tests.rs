//! Unit tests of [`super`] (trust.rs).

use super::scope::field_covers;
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
        accreditations: Arc::from(vec![AccreditationRecord {
            accreditation,
            history,
        }]),
        agencies: Arc::from([Arc::new(agency)]),
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

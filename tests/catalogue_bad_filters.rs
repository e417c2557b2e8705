//! Bad filters on every CatalogueService RPC that takes any, through a real gRPC channel on
//! SQLite and PostgreSQL: unknown enum numbers, page sizes out of 0..=500 and broken filter
//! rules are INVALID_ARGUMENT naming the field, with a google.rpc.BadRequest field violation.
//! None of it changes what is stored.

mod common;

use common::TestApp;
use common::checks::{expect_invalid, snapshot};
use trust_registry::pb;

async fn load_demo(app: &TestApp) {
    trust_registry::demo::load(&app.store)
        .await
        .expect("demo loads")
        .expect("store was empty");
}

/// Numbers that are not values of an enum whose largest value is `max`.
fn not_values(max: i32) -> [i32; 4] {
    [max + 1, 99, -1, i32::MIN]
}

async fn check_unknown_enum_numbers(app: &TestApp) {
    let mut client = app.catalogue.clone();
    for n in not_values(pb::ProviderKind::AssessmentCentre as i32) {
        let request = pb::SearchProvidersRequest {
            kind: n,
            ..Default::default()
        };
        expect_invalid(client.search_providers(request).await, "kind");
    }
    for n in not_values(pb::IdentifierScheme::Lei as i32) {
        let request = pb::SearchProvidersRequest {
            identifier_scheme: n,
            identifier_value: "DEMO-1".into(),
            ..Default::default()
        };
        expect_invalid(client.search_providers(request).await, "identifier_scheme");
    }
    for n in not_values(pb::Stackability::Integrated as i32) {
        let request = pb::SearchQualificationsRequest {
            stackability: n,
            ..Default::default()
        };
        expect_invalid(client.search_qualifications(request).await, "stackability");
    }
    for n in not_values(pb::Decision::Negative as i32) {
        let request = pb::ListAccreditationsRequest {
            decision: n,
            ..Default::default()
        };
        expect_invalid(client.list_accreditations(request).await, "decision");
    }
    for n in not_values(pb::AccreditationKind::EmployerEndorsement as i32) {
        let request = pb::ListAccreditationsRequest {
            kind: n,
            ..Default::default()
        };
        expect_invalid(client.list_accreditations(request).await, "kind");
    }
    for n in not_values(pb::RecognitionPurpose::ContinuingProfessionalDevelopment as i32) {
        let request = pb::SearchRecognitionsRequest {
            purpose: n,
            ..Default::default()
        };
        expect_invalid(client.search_recognitions(request).await, "purpose");
    }
    for n in not_values(pb::RecognitionRoute::GlobalConvention as i32) {
        let request = pb::SearchRecognitionsRequest {
            route: n,
            ..Default::default()
        };
        expect_invalid(client.search_recognitions(request).await, "route");
    }
    for n in not_values(pb::RecognitionOutcome::Refused as i32) {
        let request = pb::SearchRecognitionsRequest {
            outcome: n,
            ..Default::default()
        };
        expect_invalid(client.search_recognitions(request).await, "outcome");
    }
    for n in not_values(pb::RecognitionBodyKind::PublicAuthority as i32) {
        let request = pb::ListRecognitionBodiesRequest {
            kind: n,
            ..Default::default()
        };
        expect_invalid(client.list_recognition_bodies(request).await, "kind");
    }
}

async fn check_page_sizes(app: &TestApp) {
    let mut client = app.catalogue.clone();
    for page_size in [501, 10_000, i32::MAX, -1, i32::MIN] {
        let f = "page_size";
        expect_invalid(
            client
                .search_providers(pb::SearchProvidersRequest {
                    page_size,
                    ..Default::default()
                })
                .await,
            f,
        );
        let request = pb::SearchQualificationsRequest {
            page_size,
            ..Default::default()
        };
        expect_invalid(client.search_qualifications(request).await, f);
        let request = pb::ListFrameworksRequest {
            page_size,
            page_token: String::new(),
        };
        expect_invalid(client.list_frameworks(request).await, f);
        let request = pb::ListAccreditationsRequest {
            page_size,
            ..Default::default()
        };
        expect_invalid(client.list_accreditations(request).await, f);
        let request = pb::SearchRecognitionsRequest {
            page_size,
            ..Default::default()
        };
        expect_invalid(client.search_recognitions(request).await, f);
        let request = pb::ListQaAgenciesRequest {
            page_size,
            ..Default::default()
        };
        expect_invalid(client.list_qa_agencies(request).await, f);
        let request = pb::ListRecognitionBodiesRequest {
            page_size,
            ..Default::default()
        };
        expect_invalid(client.list_recognition_bodies(request).await, f);
    }
    // 500 is the largest page.
    let request = pb::SearchProvidersRequest {
        page_size: 500,
        ..Default::default()
    };
    assert!(client.search_providers(request).await.is_ok());
}

async fn check_qualification_filter_rules(app: &TestApp) {
    let mut client = app.catalogue.clone();
    let mut search =
        async |request: pb::SearchQualificationsRequest| client.search_qualifications(request).await;
    let ects = |min: Option<f64>, max: Option<f64>| pb::SearchQualificationsRequest {
        ects_min: min,
        ects_max: max,
        ..Default::default()
    };
    let status = expect_invalid(search(ects(Some(10.0), Some(5.0))).await, "ects_min");
    assert!(status.message().contains("ects_max"), "{}", status.message());
    expect_invalid(search(ects(Some(5.000001), Some(5.0))).await, "ects_min");
    expect_invalid(search(ects(Some(-1.0), None)).await, "ects_min");
    expect_invalid(search(ects(Some(f64::INFINITY), None)).await, "ects_min");
    expect_invalid(search(ects(None, Some(f64::NAN))).await, "ects_max");
    expect_invalid(search(ects(None, Some(-0.5))).await, "ects_max");
    for level in [0, 9, u32::MAX] {
        let request = pb::SearchQualificationsRequest {
            eqf_level: Some(level),
            ..Default::default()
        };
        expect_invalid(search(request).await, "eqf_level");
    }
    let request = pb::SearchQualificationsRequest {
        level_code: "8".into(),
        ..Default::default()
    };
    let status = expect_invalid(search(request).await, "level_code");
    assert!(status.message().contains("framework_id"), "{}", status.message());
    let request = pb::SearchQualificationsRequest {
        framework_id: "ie-nfq".into(),
        level_code: "8".repeat(17),
        ..Default::default()
    };
    expect_invalid(search(request).await, "level_code");
    for uri in [
        "not a uri",
        "esco-skill",
        ":nothing",
        "http://data.europa.eu/esco/skill/a b",
    ] {
        let request = pb::SearchQualificationsRequest {
            skill_uri: uri.into(),
            ..Default::default()
        };
        expect_invalid(search(request).await, "skill_uri");
    }
    let request = pb::SearchQualificationsRequest {
        text: "x".repeat(201),
        ..Default::default()
    };
    expect_invalid(search(request).await, "text");
    // The bounds themselves are accepted: 200 characters (not bytes), equal ECTS bounds.
    let request = pb::SearchQualificationsRequest {
        text: "é".repeat(200),
        ..Default::default()
    };
    assert!(
        search(request)
            .await
            .expect("200 characters are accepted")
            .into_inner()
            .qualifications
            .is_empty()
    );
    assert!(search(ects(Some(0.0), Some(0.0))).await.is_ok());
}

async fn check_provider_filter_rules(app: &TestApp) {
    let mut client = app.catalogue.clone();
    let mut search = async |request: pb::SearchProvidersRequest| client.search_providers(request).await;
    let request = pb::SearchProvidersRequest {
        identifier_value: "DEMO-DEQARINST-0001".into(),
        ..Default::default()
    };
    let status = expect_invalid(search(request).await, "identifier_scheme");
    assert!(
        status.message().contains("identifier_value"),
        "{}",
        status.message()
    );
    let request = pb::SearchProvidersRequest {
        identifier_scheme: pb::IdentifierScheme::Deqar as i32,
        ..Default::default()
    };
    expect_invalid(search(request).await, "identifier_value");
    for country in ["IRL", "I", "1E", "I ", "ÉI", "E\0"] {
        let request = pb::SearchProvidersRequest {
            country: country.into(),
            ..Default::default()
        };
        expect_invalid(search(request).await, "country");
    }
    let request = pb::SearchProvidersRequest {
        text: "x".repeat(201),
        ..Default::default()
    };
    expect_invalid(search(request).await, "text");
    for (seconds, nanos) in [
        (0, -1),
        (0, 1_000_000_000),
        (253_402_300_800, 0),
        (-62_135_596_801, 0),
    ] {
        let mut request = pb::SearchProvidersRequest::default();
        let mut stamp = request.accredited_at.take().unwrap_or_default();
        (stamp.seconds, stamp.nanos) = (seconds, nanos);
        request.accredited_at = Some(stamp);
        expect_invalid(search(request).await, "accredited_at");
    }
}

async fn check_organisation_filter_rules(app: &TestApp) {
    let mut client = app.catalogue.clone();
    for country in ["IRL", "I", "12"] {
        let request = pb::ListQaAgenciesRequest {
            country: country.into(),
            ..Default::default()
        };
        expect_invalid(client.list_qa_agencies(request).await, "country");
        let request = pb::ListRecognitionBodiesRequest {
            country: country.into(),
            ..Default::default()
        };
        expect_invalid(client.list_recognition_bodies(request).await, "country");
    }
}

/// Control characters in a text filter are refused: PostgreSQL cannot compare text with NUL
/// (it failed the call as INTERNAL), SQLite cut the pattern at NUL ("a\0b" found every name
/// with an "a"), and U+001F, which separates the names in the stored search text, matched
/// across two names.
async fn check_control_characters(app: &TestApp) {
    let mut client = app.catalogue.clone();
    for text in ["a\0b", "\0", "\u{1f}", "institute\u{1f}institi", "data\u{7}"] {
        let request = pb::SearchProvidersRequest {
            text: text.into(),
            ..Default::default()
        };
        expect_invalid(client.search_providers(request).await, "text");
        let request = pb::SearchQualificationsRequest {
            text: text.into(),
            ..Default::default()
        };
        expect_invalid(client.search_qualifications(request).await, "text");
        let request = pb::SearchProvidersRequest {
            identifier_scheme: pb::IdentifierScheme::Deqar as i32,
            identifier_value: text.into(),
            ..Default::default()
        };
        expect_invalid(client.search_providers(request).await, "identifier_value");
        let request = pb::SearchQualificationsRequest {
            framework_id: "ie-nfq".into(),
            level_code: text.into(),
            ..Default::default()
        };
        expect_invalid(client.search_qualifications(request).await, "level_code");
        let request = pb::SearchQualificationsRequest {
            skill_uri: format!("http://data.europa.eu/esco/skill/{text}"),
            ..Default::default()
        };
        expect_invalid(client.search_qualifications(request).await, "skill_uri");
    }
}

/// Quotes, SQL and unusual but valid characters are plain text that matches nothing here.
async fn check_awkward_text(app: &TestApp) {
    let mut client = app.catalogue.clone();
    for text in [
        "'; DROP TABLE provider; --",
        "\"",
        "'%'",
        "\u{feff}",
        "\u{10ffff}",
        "e\u{301}",
    ] {
        let request = pb::SearchProvidersRequest {
            text: text.into(),
            ..Default::default()
        };
        let found = client
            .search_providers(request)
            .await
            .expect("SearchProviders")
            .into_inner()
            .providers;
        assert!(found.is_empty(), "{text:?} matches no provider");
        let request = pb::SearchQualificationsRequest {
            text: text.into(),
            ..Default::default()
        };
        let found = client
            .search_qualifications(request)
            .await
            .expect("SearchQualifications")
            .into_inner();
        assert!(
            found.qualifications.is_empty(),
            "{text:?} matches no qualification"
        );
        let request = pb::SearchProvidersRequest {
            identifier_scheme: pb::IdentifierScheme::Deqar as i32,
            identifier_value: text.into(),
            ..Default::default()
        };
        let found = client
            .search_providers(request)
            .await
            .expect("SearchProviders")
            .into_inner()
            .providers;
        assert!(found.is_empty(), "{text:?} is no identifier");
    }
    // Surrounding whitespace, newlines included, is trimmed away.
    let request = pb::SearchProvidersRequest {
        text: "\n Northbridge\t\n".into(),
        ..Default::default()
    };
    let found = client
        .search_providers(request)
        .await
        .expect("SearchProviders")
        .into_inner()
        .providers;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].names[0].value, "Northbridge Institute of Technology");
}

both_backends!(
    unknown_enum_numbers_are_invalid_arguments,
    async |app: &TestApp| {
        check_unknown_enum_numbers(app).await;
    }
);

both_backends!(
    page_sizes_above_500_or_negative_are_invalid_arguments,
    async |app: &TestApp| {
        check_page_sizes(app).await;
    }
);

both_backends!(
    search_qualifications_refuses_broken_filter_rules,
    async |app: &TestApp| {
        load_demo(app).await;
        check_qualification_filter_rules(app).await;
    }
);

both_backends!(
    search_providers_refuses_broken_filter_rules,
    async |app: &TestApp| {
        check_provider_filter_rules(app).await;
    }
);

both_backends!(organisation_lists_refuse_bad_countries, async |app: &TestApp| {
    check_organisation_filter_rules(app).await;
});

both_backends!(
    control_characters_in_filters_are_invalid_arguments,
    async |app: &TestApp| {
        load_demo(app).await;
        check_control_characters(app).await;
    }
);

both_backends!(quotes_and_sql_in_filters_are_plain_text, async |app: &TestApp| {
    load_demo(app).await;
    check_awkward_text(app).await;
});

both_backends!(bad_filters_change_no_stored_data, async |app: &TestApp| {
    load_demo(app).await;
    let before = snapshot(app).await;
    assert_eq!(before.counts(), [20, 50, 26, 20, 5, 3, 4]);
    check_unknown_enum_numbers(app).await;
    check_page_sizes(app).await;
    check_qualification_filter_rules(app).await;
    check_provider_filter_rules(app).await;
    check_organisation_filter_rules(app).await;
    check_control_characters(app).await;
    check_awkward_text(app).await;
    assert!(
        before == snapshot(app).await,
        "a bad request changed the catalogue"
    );
});

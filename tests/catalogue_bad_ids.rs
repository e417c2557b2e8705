//! Bad ids on every CatalogueService RPC that takes one, through a real gRPC channel on SQLite
//! and PostgreSQL: a well-formed unknown id is NOT_FOUND; an empty or malformed id, in a lookup
//! or as a filter, is INVALID_ARGUMENT naming the field, with a google.rpc.BadRequest field
//! violation. None of it changes what is stored.

mod common;

use common::TestApp;
use common::checks::{expect_invalid, expect_not_found, snapshot};
use trust_registry::domain::ids::IdKind;
use trust_registry::pb;

async fn load_demo(app: &TestApp) {
    trust_registry::demo::load(&app.store)
        .await
        .expect("demo loads")
        .expect("store was empty");
}

/// Ids that are not ids of `kind`, each for its own reason.
fn malformed_ids(kind: IdKind) -> Vec<String> {
    let prefix = kind.prefix();
    let good = kind.mint(b"well formed");
    let body = &good[prefix.len() + 1..];
    let other_kind = if kind == IdKind::Provider {
        IdKind::Qualification
    } else {
        IdKind::Provider
    };
    vec![
        String::new(),
        format!("{prefix}_short"),
        other_kind.mint(b"well formed"),
        good.to_uppercase(),
        format!("{prefix}-{body}"),
        format!("{good} "),
        format!(" {good}"),
        format!("{good}0"),
        // Crockford base32 has no i, l, o or u.
        format!("{prefix}_{}", "i".repeat(20)),
        format!("{prefix}_{}", "!".repeat(20)),
        format!("{prefix}_{}", "a".repeat(1000)),
        format!("{prefix}_{}\0", &body[..19]),
    ]
}

fn unknown_id(kind: IdKind) -> String {
    kind.mint(b"no such object")
}

async fn check_unknown_ids(app: &TestApp) {
    let mut client = app.catalogue.clone();
    let id = unknown_id(IdKind::Provider);
    expect_not_found(
        client
            .get_provider(pb::GetProviderRequest { id: id.clone() })
            .await,
        &id,
    );
    let id = unknown_id(IdKind::Qualification);
    expect_not_found(
        client
            .get_qualification(pb::GetQualificationRequest { id: id.clone() })
            .await,
        &id,
    );
    let id = unknown_id(IdKind::Accreditation);
    expect_not_found(
        client
            .get_accreditation(pb::GetAccreditationRequest { id: id.clone() })
            .await,
        &id,
    );
    let id = unknown_id(IdKind::Recognition);
    expect_not_found(
        client
            .get_recognition(pb::GetRecognitionRequest { id: id.clone() })
            .await,
        &id,
    );
    let id = unknown_id(IdKind::QaAgency);
    expect_not_found(
        client
            .get_qa_agency(pb::GetQaAgencyRequest { id: id.clone() })
            .await,
        &id,
    );
    let id = unknown_id(IdKind::RecognitionBody);
    expect_not_found(
        client
            .get_recognition_body(pb::GetRecognitionBodyRequest { id: id.clone() })
            .await,
        &id,
    );
    for id in ["xx-unknown", "ie-nfq-2"] {
        expect_not_found(
            client
                .get_framework(pb::GetFrameworkRequest { id: id.into() })
                .await,
            id,
        );
    }
}

async fn check_malformed_ids(app: &TestApp) {
    let mut client = app.catalogue.clone();
    for id in malformed_ids(IdKind::Provider) {
        expect_invalid(client.get_provider(pb::GetProviderRequest { id }).await, "id");
    }
    for id in malformed_ids(IdKind::Qualification) {
        expect_invalid(
            client.get_qualification(pb::GetQualificationRequest { id }).await,
            "id",
        );
    }
    for id in malformed_ids(IdKind::Accreditation) {
        expect_invalid(
            client.get_accreditation(pb::GetAccreditationRequest { id }).await,
            "id",
        );
    }
    for id in malformed_ids(IdKind::Recognition) {
        expect_invalid(
            client.get_recognition(pb::GetRecognitionRequest { id }).await,
            "id",
        );
    }
    for id in malformed_ids(IdKind::QaAgency) {
        expect_invalid(client.get_qa_agency(pb::GetQaAgencyRequest { id }).await, "id");
    }
    for id in malformed_ids(IdKind::RecognitionBody) {
        expect_invalid(
            client
                .get_recognition_body(pb::GetRecognitionBodyRequest { id })
                .await,
            "id",
        );
    }
    let long = "a".repeat(65);
    for id in [
        "",
        "IE-NFQ",
        "ie nfq",
        "ie_nfq",
        "-ie-nfq",
        "ie-nfq\0",
        "ie-nfq/levels",
        long.as_str(),
    ] {
        expect_invalid(
            client
                .get_framework(pb::GetFrameworkRequest { id: id.into() })
                .await,
            "id",
        );
    }
}

/// Id filters of the searches and lists are checked like the ids of the lookups.
async fn check_malformed_id_filters(app: &TestApp) {
    let mut client = app.catalogue.clone();
    for id in malformed_ids(IdKind::Provider).into_iter().skip(1) {
        let request = pb::SearchQualificationsRequest {
            provider_id: id.clone(),
            ..Default::default()
        };
        expect_invalid(client.search_qualifications(request).await, "provider_id");
        let request = pb::ListAccreditationsRequest {
            provider_id: id,
            ..Default::default()
        };
        expect_invalid(client.list_accreditations(request).await, "provider_id");
    }
    for id in malformed_ids(IdKind::QaAgency).into_iter().skip(1) {
        let request = pb::ListAccreditationsRequest {
            agency_id: id,
            ..Default::default()
        };
        expect_invalid(client.list_accreditations(request).await, "agency_id");
    }
    for id in malformed_ids(IdKind::Qualification).into_iter().skip(1) {
        let request = pb::SearchRecognitionsRequest {
            qualification_id: id,
            ..Default::default()
        };
        expect_invalid(client.search_recognitions(request).await, "qualification_id");
    }
    for id in malformed_ids(IdKind::RecognitionBody).into_iter().skip(1) {
        let request = pb::SearchRecognitionsRequest {
            body_id: id,
            ..Default::default()
        };
        expect_invalid(client.search_recognitions(request).await, "body_id");
    }
    for id in ["IE-NFQ", "ie nfq", "-x"] {
        let request = pb::SearchQualificationsRequest {
            framework_id: id.into(),
            ..Default::default()
        };
        expect_invalid(client.search_qualifications(request).await, "framework_id");
    }
}

both_backends!(unknown_ids_are_not_found, async |app: &TestApp| {
    load_demo(app).await;
    check_unknown_ids(app).await;
});

both_backends!(
    malformed_ids_are_invalid_arguments_naming_the_field,
    async |app: &TestApp| {
        load_demo(app).await;
        check_malformed_ids(app).await;
        check_malformed_id_filters(app).await;
    }
);

both_backends!(bad_ids_change_no_stored_data, async |app: &TestApp| {
    load_demo(app).await;
    let before = snapshot(app).await;
    assert_eq!(before.counts(), [20, 50, 26, 20, 5, 3, 4]);
    check_unknown_ids(app).await;
    check_malformed_ids(app).await;
    check_malformed_id_filters(app).await;
    assert!(
        before == snapshot(app).await,
        "a bad request changed the catalogue"
    );
});

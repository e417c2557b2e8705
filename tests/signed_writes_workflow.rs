//! The whole signed-write workflow over gRPC, on SQLite and PostgreSQL: the operator admits an
//! agency and a recognition body; the agency registers and accredits a provider; the provider
//! publishes a micro-credential; the body publishes a recognition; the catalogue shows it all;
//! then suspension, reinstatement, withdrawal, key rotation, revocation and retirement.

mod common;

use common::TestApp;
use common::signed::*;
use tonic::Code;
use trust_registry::api::convert::timestamp;
use trust_registry::domain::{Timestamp, envelope};
use trust_registry::pb;

fn ts(text: &str) -> Option<pbjson_types::Timestamp> {
    Some(timestamp(Timestamp::parse_rfc3339(text).unwrap()))
}

async fn accredited_now(app: &TestApp, at: Timestamp) -> Vec<String> {
    let response = app
        .catalogue
        .clone()
        .search_providers(pb::SearchProvidersRequest {
            accredited_at: Some(timestamp(at)),
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("SearchProviders")
        .into_inner();
    response.providers.into_iter().map(|p| p.id).collect()
}

both_backends!(full_workflow, async |app: &TestApp| {
    let (agency_key, body_key, p1) = (key("agency"), key("body"), key("provider-1"));
    let agency_id = app
        .admit_agency("Harbour Quality Agency", "IE", &agency_key)
        .await;
    let body_id = app
        .admit_body("Harbour Recognition Centre", "IE", &body_key)
        .await;
    let provider_id = app
        .register_provider(&agency_key, "Harbour Test College", "IE", &p1)
        .await;

    // The agency accredits the provider.
    let record = pb::RecordAccreditationCommand {
        header: header(),
        provider_id: provider_id.clone(),
        kind: pb::AccreditationKind::InstitutionalReview as i32,
        decision: pb::Decision::Positive as i32,
        scope: Some(pb::AccreditationScope {
            eqf_levels: vec![5, 6, 7],
            ..Default::default()
        }),
        valid_from: ts("2021-01-01T00:00:00Z"),
        valid_until: ts("2031-01-01T00:00:00Z"),
        report_url: "https://harbour-qa.example/reports/1".into(),
        conditions: String::new(),
    };
    let response = app
        .accreditations()
        .record_accreditation(pb::RecordAccreditationRequest {
            envelope: envelope(
                &agency_key,
                "AccreditationService",
                "RecordAccreditation",
                &record,
            ),
        })
        .await
        .expect("RecordAccreditation")
        .into_inner();
    let accreditation = response.accreditation.expect("accreditation");
    assert_eq!(accreditation.agency_id, agency_id);
    assert_eq!(accreditation.status_history.len(), 1);
    let receipt = response.receipt.expect("receipt");
    assert!(!receipt.replayed);
    assert_eq!(receipt.signer_id, agency_id);

    // The provider publishes a micro-credential under that accreditation.
    let mut described = description("Relational Database Design");
    described.quality_assurance.as_mut().unwrap().accreditation_ids = vec![accreditation.id.clone()];
    let publish = pb::PublishQualificationCommand {
        header: header(),
        description: Some(described),
    };
    let qualification = app
        .providers()
        .publish_qualification(pb::PublishQualificationRequest {
            envelope: envelope(&p1, "ProviderService", "PublishQualification", &publish),
        })
        .await
        .expect("PublishQualification")
        .into_inner()
        .qualification
        .expect("qualification");
    assert_eq!(qualification.provider_id, provider_id);
    assert_eq!(
        qualification.level.as_ref().unwrap().eqf_level,
        Some(6),
        "IE NFQ 8 is referenced to EQF 6"
    );
    assert_eq!(qualification.version, 1);

    // The body publishes a completed recognition decision.
    let recognise = pb::PublishRecognitionCommand {
        header: header(),
        qualification_id: qualification.id.clone(),
        purpose: pb::RecognitionPurpose::CreditTransfer as i32,
        route: pb::RecognitionRoute::FreeElective as i32,
        outcome: pb::RecognitionOutcome::Recognised as i32,
        credits_granted: 5.0,
        credit_system: pb::CreditSystem::Ects as i32,
        decided_at: ts("2025-03-01T00:00:00Z"),
        ..Default::default()
    };
    let recognition_envelope = envelope(&body_key, "RecognitionService", "PublishRecognition", &recognise);
    let published = app
        .recognitions()
        .publish_recognition(pb::PublishRecognitionRequest {
            envelope: recognition_envelope.clone(),
        })
        .await
        .expect("PublishRecognition")
        .into_inner();
    let recognition = published.recognition.expect("recognition");
    assert_eq!(recognition.body_id, body_id);

    // Resending the identical envelope returns the first result and writes nothing.
    let again = app
        .recognitions()
        .publish_recognition(pb::PublishRecognitionRequest {
            envelope: recognition_envelope.clone(),
        })
        .await
        .expect("resent envelope")
        .into_inner();
    assert!(again.receipt.as_ref().unwrap().replayed);
    assert_eq!(again.recognition.unwrap().id, recognition.id);
    assert_eq!(
        again.receipt.as_ref().unwrap().log_index,
        published.receipt.as_ref().unwrap().log_index
    );

    // The catalogue shows all of it.
    let mut catalogue = app.catalogue.clone();
    let provider = catalogue
        .get_provider(pb::GetProviderRequest {
            id: provider_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .provider
        .unwrap();
    assert_eq!(provider.registered_by, agency_id);
    assert_eq!(provider.keys.len(), 1);
    let got = catalogue
        .get_qualification(pb::GetQualificationRequest {
            id: qualification.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .qualification
        .unwrap();
    assert_eq!(got, qualification);
    let recognitions = catalogue
        .search_recognitions(pb::SearchRecognitionsRequest {
            qualification_id: qualification.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .recognitions;
    assert_eq!(recognitions.len(), 1, "the resent envelope wrote nothing");
    let now = Timestamp::now();
    assert_eq!(accredited_now(app, now).await, vec![provider_id.clone()]);

    // The stored envelope can be fetched back and re-verified by anyone.
    let stored = app
        .log()
        .get_signed_write(pb::GetSignedWriteRequest {
            envelope_id: published.receipt.unwrap().envelope_id,
        })
        .await
        .expect("GetSignedWrite")
        .into_inner()
        .signed_write
        .unwrap();
    let sent = recognition_envelope.unwrap();
    assert_eq!(stored.envelope.as_ref().unwrap(), &sent);
    envelope::verify(
        &body_key.verifying_key().to_bytes(),
        &stored.rpc,
        &sent.command,
        &sent.signature,
    )
    .expect("stored envelope verifies");

    // Suspension, reinstatement, withdrawal: history grows, trust at each time follows it.
    let change =
        |status: pb::AccreditationStatus, at: Timestamp, reason: &str| pb::ChangeAccreditationStatusCommand {
            header: header(),
            accreditation_id: accreditation.id.clone(),
            status: status as i32,
            effective_at: Some(timestamp(at)),
            reason: reason.into(),
        };
    let suspended_at = now.plus_seconds(-3600);
    let command = change(
        pb::AccreditationStatus::Suspended,
        suspended_at,
        "complaint under review",
    );
    app.accreditations()
        .change_accreditation_status(pb::ChangeAccreditationStatusRequest {
            envelope: envelope(
                &agency_key,
                "AccreditationService",
                "ChangeAccreditationStatus",
                &command,
            ),
        })
        .await
        .expect("suspend");
    assert!(accredited_now(app, now).await.is_empty(), "suspended now");
    assert_eq!(
        accredited_now(app, suspended_at.plus_seconds(-1)).await,
        vec![provider_id.clone()],
        "in force before the suspension"
    );
    assert!(
        accredited_now(app, suspended_at).await.is_empty(),
        "the suspension's first instant is suspended"
    );

    let reinstated_at = now.plus_seconds(-1800);
    let command = change(
        pb::AccreditationStatus::Reinstated,
        reinstated_at,
        "complaint dismissed",
    );
    app.accreditations()
        .change_accreditation_status(pb::ChangeAccreditationStatusRequest {
            envelope: envelope(
                &agency_key,
                "AccreditationService",
                "ChangeAccreditationStatus",
                &command,
            ),
        })
        .await
        .expect("reinstate");
    assert_eq!(accredited_now(app, now).await, vec![provider_id.clone()]);

    let withdrawn_at = now.plus_seconds(-60);
    let command = change(
        pb::AccreditationStatus::Withdrawn,
        withdrawn_at,
        "provider closed the programme",
    );
    let withdrawn = app
        .accreditations()
        .change_accreditation_status(pb::ChangeAccreditationStatusRequest {
            envelope: envelope(
                &agency_key,
                "AccreditationService",
                "ChangeAccreditationStatus",
                &command,
            ),
        })
        .await
        .expect("withdraw")
        .into_inner()
        .accreditation
        .unwrap();
    let statuses: Vec<i32> = withdrawn.status_history.iter().map(|p| p.status).collect();
    assert_eq!(
        statuses,
        [
            pb::AccreditationStatus::Granted,
            pb::AccreditationStatus::Suspended,
            pb::AccreditationStatus::Reinstated,
            pb::AccreditationStatus::Withdrawn
        ]
        .map(|s| s as i32)
    );
    assert!(accredited_now(app, now).await.is_empty(), "withdrawn now");
    assert_eq!(
        accredited_now(app, withdrawn_at.plus_seconds(-1)).await,
        vec![provider_id.clone()],
        "still accredited before withdrawal"
    );

    // A withdrawn status cannot be suspended again.
    let command = change(pb::AccreditationStatus::Suspended, now, "late");
    let err = app
        .accreditations()
        .change_accreditation_status(pb::ChangeAccreditationStatusRequest {
            envelope: envelope(
                &agency_key,
                "AccreditationService",
                "ChangeAccreditationStatus",
                &command,
            ),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{}", err.message());

    // Key rotation: the old key signs nothing after the rotation, the new key does.
    let p2 = key("provider-2");
    let rotate = pb::RotateKeyCommand {
        header: header(),
        actor_id: String::new(),
        old_key_id: provider.keys[0].key_id.clone(),
        new_key: Some(key_spec(&p2)),
        rotate_at: None,
    };
    let rotated = app
        .keys()
        .rotate_key(pb::RotateKeyRequest {
            envelope: envelope(&p1, "KeyService", "RotateKey", &rotate),
        })
        .await
        .expect("RotateKey")
        .into_inner();
    assert!(rotated.old_key.unwrap().valid_until.is_some());
    let publish_with = |signer: &ed25519_dalek::SigningKey, title: &str| {
        let command = pb::PublishQualificationCommand {
            header: header(),
            description: Some(description(title)),
        };
        pb::PublishQualificationRequest {
            envelope: envelope(signer, "ProviderService", "PublishQualification", &command),
        }
    };
    let err = app
        .providers()
        .publish_qualification(publish_with(&p1, "Old key"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{}", err.message());
    app.providers()
        .publish_qualification(publish_with(&p2, "New key"))
        .await
        .expect("the new key signs");

    // Revocation: a revoked key signs nothing from its revocation on.
    let revoke = pb::RevokeKeyCommand {
        header: header(),
        actor_id: String::new(),
        key_id: trust_registry::domain::keys::key_id(&p2.verifying_key().to_bytes()),
        revoked_at: None,
        reason: "laptop stolen".into(),
    };
    let revoked = app
        .keys()
        .revoke_key(pb::RevokeKeyRequest {
            envelope: envelope(&p2, "KeyService", "RevokeKey", &revoke),
        })
        .await
        .expect("RevokeKey")
        .into_inner()
        .key
        .unwrap();
    assert_eq!(revoked.revocation_reason, "laptop stolen");
    let err = app
        .providers()
        .publish_qualification(publish_with(&p2, "Revoked key"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{}", err.message());
    assert!(err.message().contains("revoked"), "{}", err.message());

    // The operator restores the provider with a new key.
    let p3 = key("provider-3");
    let add = pb::AddKeyCommand {
        header: header(),
        actor_id: provider_id.clone(),
        key: Some(key_spec(&p3)),
    };
    app.keys()
        .add_key(pb::AddKeyRequest {
            envelope: envelope(&operator_key(), "KeyService", "AddKey", &add),
        })
        .await
        .expect("operator adds a key");
    app.providers()
        .publish_qualification(publish_with(&p3, "Restored key"))
        .await
        .expect("the added key signs");
    let provider = catalogue
        .get_provider(pb::GetProviderRequest {
            id: provider_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .provider
        .unwrap();
    assert_eq!(provider.keys.len(), 3);

    // Retirement: the agency's keys sign nothing afterwards.
    let retire = pb::RetireQaAgencyCommand {
        header: header(),
        agency_id: agency_id.clone(),
        retired_at: None,
        reason: "merged".into(),
    };
    app.governance()
        .retire_qa_agency(pb::RetireQaAgencyRequest {
            envelope: envelope(&operator_key(), "GovernanceService", "RetireQaAgency", &retire),
        })
        .await
        .expect("RetireQaAgency");
    let register = pb::RegisterProviderCommand {
        header: header(),
        names: en("After Retirement College"),
        country: "IE".into(),
        kind: pb::ProviderKind::HigherEducation as i32,
        keys: vec![key_spec(&key("late"))],
        ..Default::default()
    };
    let err = app
        .accreditations()
        .register_provider(pb::RegisterProviderRequest {
            envelope: envelope(&agency_key, "AccreditationService", "RegisterProvider", &register),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{}", err.message());
});

//! State rules: writes the registry's current state does not allow.

use ed25519_dalek::SigningKey;
use prost::Message;
use tonic::Code;
use trust_registry::api::convert::timestamp;
use trust_registry::domain::Timestamp;
use trust_registry::domain::ids::IdKind;
use trust_registry::pb;

use crate::both_backends;
use crate::commands::*;
use crate::common::TestApp;
use crate::common::checks::get_qualification;
use crate::common::signed::{header, header_at, key_spec};
use crate::world::*;

/// One write of a state-rule row.
struct Step {
    method: &'static str,
    key: SigningKey,
    bytes: Vec<u8>,
}

fn step(method: &'static str, key: &SigningKey, command: impl Message) -> Step {
    Step {
        method,
        key: key.clone(),
        bytes: command.encode_to_vec(),
    }
}

/// A write the registry's state does not allow, after an optional accepted setup write.
/// Rows run in order on one world; later rows build on what earlier ones did.
struct StateRule {
    what: &'static str,
    setup: Option<fn(&World) -> Step>,
    attempt: fn(&World) -> Step,
    code: Code,
    message: &'static str,
}

use pb::AccreditationStatus::{Reinstated, Suspended, Withdrawn};

const STATE_RULES: &[StateRule] = &[
    StateRule {
        what: "suspend a withdrawn accreditation",
        setup: Some(|w| {
            step(
                "ChangeAccreditationStatus",
                &w.agency.key,
                change_status(&w.accreditation, Withdrawn, None),
            )
        }),
        attempt: |w| {
            step(
                "ChangeAccreditationStatus",
                &w.agency.key,
                change_status(&w.accreditation, Suspended, None),
            )
        },
        code: Code::FailedPrecondition,
        message: "cannot change status from withdrawn to suspended",
    },
    StateRule {
        what: "withdraw a withdrawn accreditation",
        setup: None,
        attempt: |w| {
            step(
                "ChangeAccreditationStatus",
                &w.agency.key,
                change_status(&w.accreditation, Withdrawn, None),
            )
        },
        code: Code::FailedPrecondition,
        message: "cannot change status from withdrawn to withdrawn",
    },
    StateRule {
        what: "reinstate a granted accreditation",
        setup: None,
        attempt: |w| {
            step(
                "ChangeAccreditationStatus",
                &w.agency2.key,
                change_status(&w.accreditation2, Reinstated, None),
            )
        },
        code: Code::FailedPrecondition,
        message: "cannot change status from granted to reinstated",
    },
    StateRule {
        what: "suspend before the granted status began",
        setup: None,
        attempt: |w| {
            let command = change_status(&w.accreditation2, Suspended, at("2020-06-01T00:00:00Z"));
            step("ChangeAccreditationStatus", &w.agency2.key, command)
        },
        code: Code::FailedPrecondition,
        message: "effective_at must be after the current status began",
    },
    StateRule {
        what: "suspend at the instant the granted status began",
        setup: None,
        attempt: |w| {
            let command = change_status(&w.accreditation2, Suspended, at("2021-01-01T00:00:00Z"));
            step("ChangeAccreditationStatus", &w.agency2.key, command)
        },
        code: Code::FailedPrecondition,
        message: "effective_at must be after the current status began",
    },
    StateRule {
        what: "reinstate before the suspension began",
        setup: Some(|w| {
            step(
                "ChangeAccreditationStatus",
                &w.agency2.key,
                change_status(&w.accreditation2, Suspended, secs_from_now(-3600)),
            )
        }),
        attempt: |w| {
            step(
                "ChangeAccreditationStatus",
                &w.agency2.key,
                change_status(&w.accreditation2, Reinstated, secs_from_now(-7200)),
            )
        },
        code: Code::FailedPrecondition,
        message: "effective_at must be after the current status began",
    },
    StateRule {
        what: "suspend a suspended accreditation",
        setup: None,
        attempt: |w| {
            step(
                "ChangeAccreditationStatus",
                &w.agency2.key,
                change_status(&w.accreditation2, Suspended, None),
            )
        },
        code: Code::FailedPrecondition,
        message: "cannot change status from suspended to suspended",
    },
    StateRule {
        what: "revise a withdrawn qualification",
        setup: Some(|w| {
            step(
                "WithdrawQualification",
                &w.provider.key,
                withdraw_qualification(&w.withdrawable),
            )
        }),
        attempt: |w| {
            step(
                "ReviseQualification",
                &w.provider.key,
                revise_qualification(&w.withdrawable),
            )
        },
        code: Code::FailedPrecondition,
        message: "is withdrawn",
    },
    StateRule {
        what: "withdraw a withdrawn qualification",
        setup: None,
        attempt: |w| {
            step(
                "WithdrawQualification",
                &w.provider.key,
                withdraw_qualification(&w.withdrawable),
            )
        },
        code: Code::FailedPrecondition,
        message: "is withdrawn already",
    },
    StateRule {
        what: "retract a retracted recognition",
        setup: Some(|w| {
            step(
                "RetractRecognition",
                &w.body.key,
                retract_recognition(&w.retractable),
            )
        }),
        attempt: |w| {
            step(
                "RetractRecognition",
                &w.body.key,
                retract_recognition(&w.retractable),
            )
        },
        code: Code::FailedPrecondition,
        message: "is retracted already",
    },
    StateRule {
        what: "revoke a revoked key",
        setup: Some(|w| Step {
            method: "RevokeKey",
            key: w.provider.key.clone(),
            bytes: key_command("RevokeKey", "", &key_id_of(&w.provider.spares[0])),
        }),
        attempt: |w| Step {
            method: "RevokeKey",
            key: w.provider.key.clone(),
            bytes: key_command("RevokeKey", "", &key_id_of(&w.provider.spares[0])),
        },
        code: Code::FailedPrecondition,
        message: "is revoked already",
    },
    StateRule {
        what: "rotate a revoked key",
        setup: None,
        attempt: |w| Step {
            method: "RotateKey",
            key: w.provider.key.clone(),
            bytes: key_command("RotateKey", "", &key_id_of(&w.provider.spares[0])),
        },
        code: Code::FailedPrecondition,
        message: "is not valid at",
    },
    StateRule {
        what: "rotate a key rotated out before",
        setup: Some(|w| Step {
            method: "RotateKey",
            key: w.provider.key.clone(),
            bytes: key_command("RotateKey", "", &key_id_of(&w.provider.spares[1])),
        }),
        attempt: |w| Step {
            method: "RotateKey",
            key: w.provider.key.clone(),
            bytes: key_command("RotateKey", "", &key_id_of(&w.provider.spares[1])),
        },
        code: Code::FailedPrecondition,
        message: "is not valid at",
    },
    StateRule {
        what: "retire an agency twice",
        setup: Some(|w| {
            step(
                "RetireQaAgency",
                w.signer(Who::Operator),
                retire_qa_agency(&w.retirable_agency.id),
            )
        }),
        attempt: |w| {
            step(
                "RetireQaAgency",
                w.signer(Who::Operator),
                retire_qa_agency(&w.retirable_agency.id),
            )
        },
        code: Code::FailedPrecondition,
        message: "retired already",
    },
    StateRule {
        what: "retire a recognition body twice",
        setup: Some(|w| {
            step(
                "RetireRecognitionBody",
                w.signer(Who::Operator),
                retire_recognition_body(&w.retirable_body.id),
            )
        }),
        attempt: |w| {
            step(
                "RetireRecognitionBody",
                w.signer(Who::Operator),
                retire_recognition_body(&w.retirable_body.id),
            )
        },
        code: Code::FailedPrecondition,
        message: "retired already",
    },
    StateRule {
        what: "the operator adds a key to itself",
        setup: None,
        attempt: |w| Step {
            method: "AddKey",
            key: w.signer(Who::Operator).clone(),
            bytes: key_command("AddKey", "", ""),
        },
        code: Code::FailedPrecondition,
        message: "the operator key comes from configuration",
    },
    StateRule {
        what: "add a key registered to another actor",
        setup: None,
        attempt: |w| {
            let command = pb::AddKeyCommand {
                header: header(),
                actor_id: String::new(),
                key: Some(key_spec(&w.provider.key)),
            };
            step("AddKey", &w.body.key, command)
        },
        code: Code::AlreadyExists,
        message: "is registered already",
    },
    StateRule {
        what: "register a provider with an agency's key",
        setup: None,
        attempt: |w| {
            let command = pb::RegisterProviderCommand {
                keys: vec![key_spec(&w.agency2.key)],
                ..register_provider()
            };
            step("RegisterProvider", &w.agency.key, command)
        },
        code: Code::AlreadyExists,
        message: "is registered already",
    },
    StateRule {
        what: "admit an agency with a body's key",
        setup: None,
        attempt: |w| {
            let command = pb::AdmitQaAgencyCommand {
                keys: vec![key_spec(&fresh_key()), key_spec(&w.body.key)],
                ..admit_qa_agency()
            };
            step("AdmitQaAgency", w.signer(Who::Operator), command)
        },
        code: Code::AlreadyExists,
        message: "is registered already",
    },
    StateRule {
        what: "rotate to a key that is registered",
        setup: None,
        attempt: |w| {
            let command = pb::RotateKeyCommand {
                header: header(),
                actor_id: String::new(),
                old_key_id: key_id_of(&w.provider.spares[2]),
                new_key: Some(key_spec(&w.body2.key)),
                rotate_at: None,
            };
            step("RotateKey", &w.provider.key, command)
        },
        code: Code::AlreadyExists,
        message: "is registered already",
    },
    StateRule {
        what: "add a framework that exists",
        setup: None,
        attempt: |w| {
            let mut command = add_framework();
            command.framework.as_mut().unwrap().id = "ie-nfq".into();
            step("AddFramework", w.signer(Who::Operator), command)
        },
        code: Code::AlreadyExists,
        message: "framework ie-nfq exists already",
    },
    StateRule {
        what: "retire an unknown agency",
        setup: None,
        attempt: |w| {
            step(
                "RetireQaAgency",
                w.signer(Who::Operator),
                retire_qa_agency(&unknown(IdKind::QaAgency)),
            )
        },
        code: Code::NotFound,
        message: "QA agency qaag_",
    },
    StateRule {
        what: "revise an unknown qualification",
        setup: None,
        attempt: |w| {
            step(
                "ReviseQualification",
                &w.provider.key,
                revise_qualification(&unknown(IdKind::Qualification)),
            )
        },
        code: Code::NotFound,
        message: "qualification qual_",
    },
    StateRule {
        what: "suspend an unknown accreditation",
        setup: None,
        attempt: |w| {
            step(
                "ChangeAccreditationStatus",
                &w.agency.key,
                change_status(&unknown(IdKind::Accreditation), Suspended, None),
            )
        },
        code: Code::NotFound,
        message: "accreditation accr_",
    },
    StateRule {
        what: "retract an unknown recognition",
        setup: None,
        attempt: |w| {
            step(
                "RetractRecognition",
                &w.body.key,
                retract_recognition(&unknown(IdKind::Recognition)),
            )
        },
        code: Code::NotFound,
        message: "recognition ",
    },
    StateRule {
        what: "the operator adds a key to an unknown provider",
        setup: None,
        attempt: |w| Step {
            method: "AddKey",
            key: w.signer(Who::Operator).clone(),
            bytes: key_command("AddKey", &unknown(IdKind::Provider), ""),
        },
        code: Code::NotFound,
        message: "actor prov_",
    },
];

// State rules: writes the registry's current state does not allow -> FAILED_PRECONDITION,
// ALREADY_EXISTS or NOT_FOUND with a message naming the rule, changing nothing.
both_backends!(state_rules, async |app: &TestApp| {
    let w = World::build(app).await;
    for rule in STATE_RULES {
        if let Some(setup) = rule.setup {
            let Step { method, key, bytes } = setup(&w);
            w.ok(app, &key, method, bytes).await;
        }
        let Step { method, key, bytes } = (rule.attempt)(&w);
        let status = w
            .refused(
                app,
                method,
                Some(seal(&key, method, bytes)),
                rule.code,
                rule.message,
            )
            .await;
        eprintln!("{}: {}", rule.what, status.message());
    }
    // The objects refused above are still usable where the rules allow it.
    let reinstate = change_status(&w.accreditation2, Reinstated, None);
    w.ok(
        app,
        &w.agency2.key,
        "ChangeAccreditationStatus",
        reinstate.encode_to_vec(),
    )
    .await;
    let rotate = key_command("RotateKey", "", &key_id_of(&w.provider.spares[2]));
    w.ok(app, &w.provider.key, "RotateKey", rotate).await;
});

fn did(value: &str, from: Option<&str>, until: Option<&str>) -> pb::ExternalIdentifier {
    pb::ExternalIdentifier {
        scheme: pb::IdentifierScheme::Did as i32,
        value: value.into(),
        valid_from: from.and_then(at),
        valid_until: until.and_then(at),
    }
}

fn registration_with(identifiers: Vec<pb::ExternalIdentifier>) -> Vec<u8> {
    pb::RegisterProviderCommand {
        identifiers,
        ..register_provider()
    }
    .encode_to_vec()
}

// An external identifier names one actor at a time: registering another actor under an
// identifier held by someone else for an overlapping time -> ALREADY_EXISTS naming the entry,
// changing nothing. A binding that follows the other one's end is accepted.
both_backends!(identifier_held_by_another_actor, async |app: &TestApp| {
    let w = World::build(app).await;
    let held = "did:web:held.example";
    let from_2022 = registration_with(vec![did(held, Some("2022-01-01T00:00:00Z"), None)]);
    w.ok(app, &w.agency.key, "RegisterProvider", from_2022).await;

    // Another agency's provider claiming the DID without end, or for a time reaching into 2022.
    for identifiers in [
        vec![did(held, None, None)],
        vec![
            did("did:web:other.example", None, None),
            did(held, Some("2015-01-01T00:00:00Z"), Some("2022-01-02T00:00:00Z")),
        ],
    ] {
        let index = identifiers.len() - 1;
        let bytes = registration_with(identifiers);
        w.refused(
            app,
            "RegisterProvider",
            Some(seal(&w.agency2.key, "RegisterProvider", bytes)),
            Code::AlreadyExists,
            &format!("identifiers[{index}]: did {held} is bound to prov_"),
        )
        .await;
    }
    // The operator cannot admit an agency under it either.
    let admit = pb::AdmitQaAgencyCommand {
        identifiers: vec![did(held, None, None)],
        ..admit_qa_agency()
    };
    w.refused(
        app,
        "AdmitQaAgency",
        Some(seal(
            w.signer(Who::Operator),
            "AdmitQaAgency",
            admit.encode_to_vec(),
        )),
        Code::AlreadyExists,
        "identifiers[0]: did",
    )
    .await;

    // Held before 2022 by another provider: the periods meet without overlapping.
    let until_2022 = registration_with(vec![did(
        held,
        Some("2015-01-01T00:00:00Z"),
        Some("2022-01-01T00:00:00Z"),
    )]);
    w.ok(app, &w.agency2.key, "RegisterProvider", until_2022).await;
});

// A withdrawal without `withdrawn_at` takes effect at its issue time, or at the publication
// when that is later: a publication is stamped with the registry's clock, and a signer whose
// clock runs a minute behind (inside the accepted window) can still withdraw what it has just
// published. A `withdrawn_at` the signer gives must still not be before the publication.
both_backends!(
    withdrawal_by_a_clock_behind_the_registry,
    async |app: &TestApp| {
        let w = World::build(app).await;
        let published = w
            .ok(
                app,
                &w.provider.key,
                "PublishQualification",
                publish_qualification("Just Published Course").encode_to_vec(),
            )
            .await
            .id;
        let published_at = get_qualification(app, &published)
            .await
            .published_at
            .expect("a publication time");
        let behind = Timestamp::now().plus_seconds(-60);

        let explicit = pb::WithdrawQualificationCommand {
            header: header_at(behind),
            withdrawn_at: Some(timestamp(behind)),
            ..withdraw_qualification(&published)
        };
        w.refused(
            app,
            "WithdrawQualification",
            Some(seal(
                &w.provider.key,
                "WithdrawQualification",
                explicit.encode_to_vec(),
            )),
            Code::InvalidArgument,
            "withdrawn_at: must not be before the publication",
        )
        .await;

        let defaulted = pb::WithdrawQualificationCommand {
            header: header_at(behind),
            ..withdraw_qualification(&published)
        };
        w.ok(
            app,
            &w.provider.key,
            "WithdrawQualification",
            defaulted.encode_to_vec(),
        )
        .await;
        let withdrawn = get_qualification(app, &published).await;
        assert_eq!(withdrawn.withdrawn_at, Some(published_at));
    }
);

fn revoke_at(key_id: &str, revoked_at: Timestamp) -> Vec<u8> {
    pb::RevokeKeyCommand {
        header: header(),
        actor_id: String::new(),
        key_id: key_id.into(),
        revoked_at: Some(timestamp(revoked_at)),
        reason: "compromised".into(),
    }
    .encode_to_vec()
}

async fn revoked_at(app: &TestApp, provider_id: &str, key_id: &str) -> Option<pbjson_types::Timestamp> {
    app.catalogue()
        .get_provider(pb::GetProviderRequest {
            id: provider_id.into(),
        })
        .await
        .expect("GetProvider")
        .into_inner()
        .provider
        .expect("the provider")
        .keys
        .into_iter()
        .find(|k| k.key_id == key_id)
        .expect("the key")
        .revoked_at
}

// A revocation or a retirement dated in the future can be brought forward (a key scheduled to
// be revoked and then compromised must stop signing now), never put off.
both_backends!(
    revocations_and_retirements_come_forward_only,
    async |app: &TestApp| {
        let w = World::build(app).await;
        let spare = key_id_of(&w.provider.spares[3]);
        let now = Timestamp::now();
        let (later, sooner) = (now.plus_seconds(30 * 86_400), now.plus_seconds(86_400));
        w.ok(app, &w.provider.key, "RevokeKey", revoke_at(&spare, later))
            .await;
        assert_eq!(
            revoked_at(app, &w.provider.id, &spare).await,
            Some(timestamp(later))
        );
        w.ok(app, &w.provider.key, "RevokeKey", revoke_at(&spare, sooner))
            .await;
        assert_eq!(
            revoked_at(app, &w.provider.id, &spare).await,
            Some(timestamp(sooner))
        );
        for put_off in [sooner, later] {
            w.refused(
                app,
                "RevokeKey",
                Some(seal(&w.provider.key, "RevokeKey", revoke_at(&spare, put_off))),
                Code::FailedPrecondition,
                "a revocation can only be brought forward",
            )
            .await;
        }

        let retire = |at: Timestamp| pb::RetireQaAgencyCommand {
            retired_at: Some(timestamp(at)),
            ..retire_qa_agency(&w.retirable_agency.id)
        };
        let retired_at = async || {
            app.catalogue()
                .get_qa_agency(pb::GetQaAgencyRequest {
                    id: w.retirable_agency.id.clone(),
                })
                .await
                .expect("GetQaAgency")
                .into_inner()
                .qa_agency
                .expect("the agency")
                .retired_at
        };
        let operator = w.signer(Who::Operator);
        w.ok(app, operator, "RetireQaAgency", retire(later).encode_to_vec())
            .await;
        w.ok(app, operator, "RetireQaAgency", retire(sooner).encode_to_vec())
            .await;
        assert_eq!(retired_at().await, Some(timestamp(sooner)));
        w.refused(
            app,
            "RetireQaAgency",
            Some(seal(operator, "RetireQaAgency", retire(later).encode_to_vec())),
            Code::FailedPrecondition,
            "a retirement can only be brought forward",
        )
        .await;
    }
);

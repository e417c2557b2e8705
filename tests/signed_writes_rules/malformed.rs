//! Malformed envelopes and commands: INVALID_ARGUMENT naming the field, changing nothing.

use prost::Message;
use trust_registry::domain::envelope::MAX_COMMAND_BYTES;
use trust_registry::domain::ids::IdKind;
use trust_registry::pb;

use crate::both_backends;
use crate::commands::*;
use crate::common::TestApp;
use crate::common::signed::{description, header, key_spec};
use crate::world::*;

const PUBLISH: &str = "PublishQualification";

/// An envelope-level fault, on a PublishQualification of the provider: (what, the envelope,
/// the field named).
type EnvelopeRow = (
    &'static str,
    fn(&World) -> Option<pb::SignedEnvelope>,
    &'static str,
);

const BAD_ENVELOPES: &[EnvelopeRow] = &[
    ("no envelope", |_| None, "envelope"),
    (
        "empty command bytes",
        |w| Some(seal(&w.provider.key, PUBLISH, vec![])),
        "envelope.command",
    ),
    (
        "truncated protobuf",
        |w| Some(seal(&w.provider.key, PUBLISH, vec![0x0a, 0x05, 0x01])),
        "envelope.command",
    ),
    (
        "invalid wire type",
        |w| Some(seal(&w.provider.key, PUBLISH, vec![0x0f, 0x00])),
        "envelope.command",
    ),
    (
        "header encoded as a number",
        |w| Some(seal(&w.provider.key, PUBLISH, vec![0x08, 0x01])),
        "envelope.command",
    ),
    (
        "command larger than the limit",
        |w| {
            let mut command = publish_qualification("Too large");
            command.description.as_mut().unwrap().further_information = "x".repeat(MAX_COMMAND_BYTES);
            Some(seal(&w.provider.key, PUBLISH, command.encode_to_vec()))
        },
        "envelope.command",
    ),
];

// Envelopes that are missing, empty or not a command -> INVALID_ARGUMENT naming the field.
both_backends!(malformed_envelopes, async |app: &TestApp| {
    let w = World::build(app).await;
    for (what, envelope, field) in BAD_ENVELOPES {
        let status = w.invalid(app, PUBLISH, envelope(&w), field).await;
        eprintln!("{what}: {}", status.message());
    }
});

/// A command that breaks a field rule, the role that signs it, and the field path refused.
struct Bad {
    method: &'static str,
    who: Who,
    command: fn(&World) -> Vec<u8>,
    field: &'static str,
}

fn publish_with(change: fn(&mut pb::QualificationDescription)) -> Vec<u8> {
    let mut described = description("Bad description");
    change(&mut described);
    pb::PublishQualificationCommand {
        header: header(),
        description: Some(described),
    }
    .encode_to_vec()
}

fn short_key() -> pb::KeySpec {
    pb::KeySpec {
        public_key: vec![7; 31],
        ..Default::default()
    }
}

const BAD_COMMANDS: &[Bad] = &[
    Bad {
        method: "RegisterProvider",
        who: Who::Agency,
        command: |_| {
            pb::RegisterProviderCommand {
                country: "ie".into(),
                ..register_provider()
            }
            .encode_to_vec()
        },
        field: "country",
    },
    Bad {
        method: "RegisterProvider",
        who: Who::Agency,
        command: |_| {
            pb::RegisterProviderCommand {
                names: vec![],
                ..register_provider()
            }
            .encode_to_vec()
        },
        field: "names",
    },
    Bad {
        method: "RegisterProvider",
        who: Who::Agency,
        command: |_| {
            pb::RegisterProviderCommand {
                keys: vec![short_key()],
                ..register_provider()
            }
            .encode_to_vec()
        },
        field: "keys[0].public_key",
    },
    Bad {
        method: "RegisterProvider",
        who: Who::Agency,
        command: |_| {
            pb::RegisterProviderCommand {
                keys: vec![],
                ..register_provider()
            }
            .encode_to_vec()
        },
        field: "keys",
    },
    Bad {
        method: "RegisterProvider",
        who: Who::Agency,
        command: |_| {
            let key = key_spec(&fresh_key());
            pb::RegisterProviderCommand {
                keys: vec![key.clone(), key],
                ..register_provider()
            }
            .encode_to_vec()
        },
        field: "keys[1]",
    },
    Bad {
        method: "RegisterProvider",
        who: Who::Agency,
        command: |_| {
            pb::RegisterProviderCommand {
                kind: 0,
                ..register_provider()
            }
            .encode_to_vec()
        },
        field: "kind",
    },
    Bad {
        method: "RegisterProvider",
        who: Who::Agency,
        command: |_| {
            pb::RegisterProviderCommand {
                website: "ftp://college.example".into(),
                ..register_provider()
            }
            .encode_to_vec()
        },
        field: "website",
    },
    Bad {
        method: "RecordAccreditation",
        who: Who::Agency,
        command: |w| {
            let valid_until = at("2020-12-31T00:00:00Z");
            pb::RecordAccreditationCommand {
                valid_until,
                ..record_accreditation_for(&w.provider.id)
            }
            .encode_to_vec()
        },
        field: "valid_until",
    },
    Bad {
        method: "RecordAccreditation",
        who: Who::Agency,
        command: |w| {
            let scope = Some(pb::AccreditationScope {
                eqf_levels: vec![9],
                ..Default::default()
            });
            pb::RecordAccreditationCommand {
                scope,
                ..record_accreditation_for(&w.provider.id)
            }
            .encode_to_vec()
        },
        field: "scope.eqf_levels[0]",
    },
    Bad {
        method: "RecordAccreditation",
        who: Who::Agency,
        command: |w| {
            let scope = Some(pb::AccreditationScope {
                eqf_levels: vec![6, 0],
                ..Default::default()
            });
            pb::RecordAccreditationCommand {
                scope,
                ..record_accreditation_for(&w.provider.id)
            }
            .encode_to_vec()
        },
        field: "scope.eqf_levels[1]",
    },
    Bad {
        method: "RecordAccreditation",
        who: Who::Agency,
        command: |w| {
            let scope = Some(pb::AccreditationScope {
                fields_of_study: vec![
                    "http://data.europa.eu/snb/isced-f/06".into(),
                    "http://data.europa.eu/snb/isced-f/".into(),
                ],
                ..Default::default()
            });
            pb::RecordAccreditationCommand {
                scope,
                ..record_accreditation_for(&w.provider.id)
            }
            .encode_to_vec()
        },
        field: "scope.fields_of_study[1]",
    },
    Bad {
        method: "RecordAccreditation",
        who: Who::Agency,
        command: |w| {
            pb::RecordAccreditationCommand {
                decision: 99,
                ..record_accreditation_for(&w.provider.id)
            }
            .encode_to_vec()
        },
        field: "decision",
    },
    Bad {
        method: "RecordAccreditation",
        who: Who::Agency,
        command: |w| {
            pb::RecordAccreditationCommand {
                valid_from: None,
                ..record_accreditation_for(&w.provider.id)
            }
            .encode_to_vec()
        },
        field: "valid_from",
    },
    Bad {
        method: "RecordAccreditation",
        who: Who::Agency,
        command: |_| record_accreditation_for(&unknown(IdKind::Provider)).encode_to_vec(),
        field: "provider_id",
    },
    Bad {
        method: "RecordAccreditation",
        who: Who::Agency,
        command: |_| record_accreditation_for("prov_nope").encode_to_vec(),
        field: "provider_id",
    },
    Bad {
        method: "ChangeAccreditationStatus",
        who: Who::Agency,
        command: |w| change_status(&w.accreditation, pb::AccreditationStatus::Granted, None).encode_to_vec(),
        field: "status",
    },
    Bad {
        method: "ChangeAccreditationStatus",
        who: Who::Agency,
        command: |w| {
            pb::ChangeAccreditationStatusCommand {
                status: 99,
                ..change_status(&w.accreditation, pb::AccreditationStatus::Suspended, None)
            }
            .encode_to_vec()
        },
        field: "status",
    },
    Bad {
        method: "ChangeAccreditationStatus",
        who: Who::Agency,
        command: |w| {
            let command = change_status(&w.accreditation, pb::AccreditationStatus::Suspended, None);
            pb::ChangeAccreditationStatusCommand {
                reason: "  ".into(),
                ..command
            }
            .encode_to_vec()
        },
        field: "reason",
    },
    Bad {
        method: PUBLISH,
        who: Who::Provider,
        command: |_| publish_with(|d| d.learning_outcomes.clear()),
        field: "description.learning_outcomes",
    },
    Bad {
        method: PUBLISH,
        who: Who::Provider,
        command: |_| publish_with(|d| d.framework_id = "xx-none".into()),
        field: "description.framework_id",
    },
    Bad {
        method: PUBLISH,
        who: Who::Provider,
        command: |_| publish_with(|d| d.level_code = "99".into()),
        field: "description.level_code",
    },
    Bad {
        method: PUBLISH,
        who: Who::Provider,
        command: |_| publish_with(|d| d.workload.as_mut().unwrap().value = 0.0),
        field: "description.workload.value",
    },
    Bad {
        method: PUBLISH,
        who: Who::Provider,
        command: |_| publish_with(|d| d.workload.as_mut().unwrap().ects = Some(3.0)),
        field: "description.workload.ects",
    },
    Bad {
        method: PUBLISH,
        who: Who::Provider,
        command: |_| publish_with(|d| d.countries.clear()),
        field: "description.countries",
    },
    // Paths of nested and repeated fields are composed only when an error names them: each
    // level must still appear in the refusal.
    Bad {
        method: PUBLISH,
        who: Who::Provider,
        command: |_| {
            publish_with(|d| {
                d.learning_outcomes[0].skill_uris =
                    vec!["https://skills.example/ok".into(), "not a uri".into()]
            })
        },
        field: "description.learning_outcomes[0].skill_uris[1]",
    },
    Bad {
        method: PUBLISH,
        who: Who::Provider,
        command: |_| publish_with(|d| d.titles[0].language = "english!".into()),
        field: "description.titles[0].language",
    },
    Bad {
        method: PUBLISH,
        who: Who::Provider,
        command: |_| publish_with(|d| d.assessment_types = vec![pb::AssessmentType::Project as i32, 99]),
        field: "description.assessment_types[1]",
    },
    Bad {
        method: PUBLISH,
        who: Who::Provider,
        command: |_| publish_with(|d| d.workload.as_mut().unwrap().value = -1.0),
        field: "description.workload.value",
    },
    Bad {
        method: PUBLISH,
        who: Who::Provider,
        command: |_| {
            pb::PublishQualificationCommand {
                header: header(),
                description: None,
            }
            .encode_to_vec()
        },
        field: "description",
    },
    Bad {
        method: PUBLISH,
        who: Who::Provider,
        command: |w| {
            let mut described = description("Under another provider's accreditation");
            described.quality_assurance.as_mut().unwrap().accreditation_ids = vec![w.accreditation2.clone()];
            pb::PublishQualificationCommand {
                header: header(),
                description: Some(described),
            }
            .encode_to_vec()
        },
        field: "description.quality_assurance.accreditation_ids[0]",
    },
    Bad {
        method: "ReviseQualification",
        who: Who::Provider,
        command: |w| {
            let mut command = revise_qualification(&w.qualification);
            command.description.as_mut().unwrap().learning_outcomes.clear();
            command.encode_to_vec()
        },
        field: "description.learning_outcomes",
    },
    Bad {
        method: "ReviseQualification",
        who: Who::Provider,
        command: |w| {
            let mut command = revise_qualification(&w.qualification);
            command.description.as_mut().unwrap().stackability = Some(pb::StackabilityOptions {
                stackability: pb::Stackability::Stackable as i32,
                description: String::new(),
                stacks_into: vec![w.qualification2.clone(), w.qualification.clone()],
            });
            command.encode_to_vec()
        },
        field: "description.stackability.stacks_into[1]",
    },
    Bad {
        method: "WithdrawQualification",
        who: Who::Provider,
        command: |w| {
            let withdrawn_at = at("2020-06-01T00:00:00Z");
            pb::WithdrawQualificationCommand {
                withdrawn_at,
                ..withdraw_qualification(&w.withdrawable)
            }
            .encode_to_vec()
        },
        field: "withdrawn_at",
    },
    Bad {
        method: "PublishRecognition",
        who: Who::Body,
        command: |w| {
            let decided_at = secs_from_now(120);
            pb::PublishRecognitionCommand {
                decided_at,
                ..publish_recognition_of(&w.qualification)
            }
            .encode_to_vec()
        },
        field: "decided_at",
    },
    Bad {
        method: "PublishRecognition",
        who: Who::Body,
        command: |w| {
            let outcome = pb::RecognitionOutcome::RecognisedWithConditions as i32;
            pb::PublishRecognitionCommand {
                outcome,
                ..publish_recognition_of(&w.qualification)
            }
            .encode_to_vec()
        },
        field: "conditions",
    },
    Bad {
        method: "PublishRecognition",
        who: Who::Body,
        command: |w| {
            // A refusal that grants credits says two contradictory things.
            let outcome = pb::RecognitionOutcome::Refused as i32;
            pb::PublishRecognitionCommand {
                outcome,
                ..publish_recognition_of(&w.qualification)
            }
            .encode_to_vec()
        },
        field: "credits_granted",
    },
    Bad {
        method: "PublishRecognition",
        who: Who::Body,
        command: |w| {
            // Five credits of no named system cannot be read.
            let credit_system = pb::CreditSystem::Unspecified as i32;
            pb::PublishRecognitionCommand {
                credit_system,
                ..publish_recognition_of(&w.qualification)
            }
            .encode_to_vec()
        },
        field: "credit_system",
    },
    Bad {
        method: "PublishRecognition",
        who: Who::Body,
        command: |_| publish_recognition_of(&unknown(IdKind::Qualification)).encode_to_vec(),
        field: "qualification_id",
    },
    Bad {
        method: "RetractRecognition",
        who: Who::Body,
        command: |w| {
            // The recognition was decided on 2025-03-01: it cannot be retracted before it existed.
            let retracted_at = at("2025-02-28T00:00:00Z");
            pb::RetractRecognitionCommand {
                retracted_at,
                ..retract_recognition(&w.retractable)
            }
            .encode_to_vec()
        },
        field: "retracted_at",
    },
    Bad {
        method: "AdmitQaAgency",
        who: Who::Operator,
        command: |_| {
            pb::AdmitQaAgencyCommand {
                operating_countries: vec!["xx".into()],
                ..admit_qa_agency()
            }
            .encode_to_vec()
        },
        field: "operating_countries[0]",
    },
    Bad {
        method: "RetireQaAgency",
        who: Who::Operator,
        command: |_| retire_qa_agency("qaag_bad").encode_to_vec(),
        field: "agency_id",
    },
    Bad {
        method: "AddFramework",
        who: Who::Operator,
        command: |_| {
            let mut command = add_framework();
            command.framework.as_mut().unwrap().sources.clear();
            command.encode_to_vec()
        },
        field: "framework.sources",
    },
    Bad {
        method: "AddFramework",
        who: Who::Operator,
        command: |_| {
            let mut command = add_framework();
            command.framework.as_mut().unwrap().id = "Bad Id".into();
            command.encode_to_vec()
        },
        field: "framework.id",
    },
    Bad {
        method: "AddFramework",
        who: Who::Operator,
        command: |_| {
            let mut command = add_framework();
            let levels = &mut command.framework.as_mut().unwrap().levels;
            levels.push(levels[0].clone());
            command.encode_to_vec()
        },
        field: "framework.levels[1].code",
    },
    Bad {
        method: "AddFramework",
        who: Who::Operator,
        command: |_| {
            // Georgia's case: the referencing report is in preparation, so no level has an
            // EQF level yet; one given anyway would be a guess.
            let mut command = add_framework();
            command.framework.as_mut().unwrap().referencing = pb::ReferencingStatus::InPreparation as i32;
            command.encode_to_vec()
        },
        field: "framework.levels[0].eqf_level",
    },
    Bad {
        method: "AddFramework",
        who: Who::Operator,
        command: |_| {
            let mut command = add_framework();
            let framework = command.framework.as_mut().unwrap();
            framework.referencing = pb::ReferencingStatus::None as i32;
            framework.levels.insert(
                0,
                pb::FrameworkLevel {
                    code: "0".into(),
                    ordinal: 1,
                    title: "Entry level".into(),
                    ..Default::default()
                },
            );
            command.encode_to_vec()
        },
        field: "framework.levels[1].eqf_level",
    },
    Bad {
        method: "AddFramework",
        who: Who::Operator,
        command: |_| {
            let mut command = add_framework();
            command.framework.as_mut().unwrap().is_eqf = true;
            command.encode_to_vec()
        },
        field: "framework.is_eqf",
    },
    Bad {
        method: "AddKey",
        who: Who::Provider,
        command: |_| {
            pb::AddKeyCommand {
                header: header(),
                actor_id: String::new(),
                key: None,
            }
            .encode_to_vec()
        },
        field: "key",
    },
    Bad {
        method: "AddKey",
        who: Who::Provider,
        command: |_| {
            pb::AddKeyCommand {
                header: header(),
                actor_id: String::new(),
                key: Some(short_key()),
            }
            .encode_to_vec()
        },
        field: "key.public_key",
    },
    Bad {
        method: "AddKey",
        who: Who::Operator,
        command: |_| {
            pb::AddKeyCommand {
                header: header(),
                actor_id: "operator".into(),
                key: Some(key_spec(&fresh_key())),
            }
            .encode_to_vec()
        },
        field: "actor_id",
    },
    Bad {
        method: "RotateKey",
        who: Who::Provider,
        command: |w| key_command("RotateKey", "", &w.body.key_id()),
        field: "old_key_id",
    },
    Bad {
        method: "RevokeKey",
        who: Who::Provider,
        command: |w| {
            let key_id = key_id_of(&w.provider.spares[0]);
            pb::RevokeKeyCommand {
                header: header(),
                actor_id: String::new(),
                key_id,
                revoked_at: None,
                reason: String::new(),
            }
            .encode_to_vec()
        },
        field: "reason",
    },
];

// Commands that break a field rule -> INVALID_ARGUMENT whose message starts with the field path
// (with a google.rpc.BadRequest naming it), changing nothing.
both_backends!(malformed_commands, async |app: &TestApp| {
    let w = World::build(app).await;
    for bad in BAD_COMMANDS {
        let envelope = seal(w.signer(bad.who), bad.method, (bad.command)(&w));
        w.invalid(app, bad.method, Some(envelope), bad.field).await;
    }
    // The valid commands the rows were made from are accepted.
    for case in &RPCS {
        let who = case.allowed[0];
        w.ok(app, w.signer(who), case.method, (case.command)(&w, who))
            .await;
    }
});

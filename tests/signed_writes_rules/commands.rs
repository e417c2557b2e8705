//! The table of write RPCs with a valid command for the fixture world, and builders of valid
//! commands that the other tables start from.

use prost::Message;
use trust_registry::domain::ids::IdKind;
use trust_registry::pb;

/// Shared with the other suites (see tests/common/signed.rs).
pub use crate::common::signed::publish_recognition_of;
use crate::common::signed::{description, en, framework_command, header, key_spec};
use crate::world::*;

/// A well-formed id under which nothing is registered.
pub fn unknown(kind: IdKind) -> String {
    kind.mint(b"nothing registered under this id")
}

/// One row of the RPC table: a write method, a valid command for the fixture world when signed
/// by the given role, and the roles allowed to send it.
pub struct RpcCase {
    pub method: &'static str,
    pub command: fn(&World, Who) -> Vec<u8>,
    pub allowed: &'static [Who],
}

const OPERATOR: &[Who] = &[Who::Operator];
const AGENCY: &[Who] = &[Who::Agency];
const PROVIDER: &[Who] = &[Who::Provider];
const BODY: &[Who] = &[Who::Body];
const ANY: &[Who] = &EVERY_ROLE;

/// Every write RPC, with a valid command for the fixture world.
pub const RPCS: [RpcCase; 16] = [
    RpcCase {
        method: "AdmitQaAgency",
        command: |_, _| admit_qa_agency().encode_to_vec(),
        allowed: OPERATOR,
    },
    RpcCase {
        method: "RetireQaAgency",
        command: |w, _| retire_qa_agency(&w.retirable_agency.id).encode_to_vec(),
        allowed: OPERATOR,
    },
    RpcCase {
        method: "AdmitRecognitionBody",
        command: |_, _| admit_recognition_body().encode_to_vec(),
        allowed: OPERATOR,
    },
    RpcCase {
        method: "RetireRecognitionBody",
        command: |w, _| retire_recognition_body(&w.retirable_body.id).encode_to_vec(),
        allowed: OPERATOR,
    },
    RpcCase {
        method: "AddFramework",
        command: |_, _| add_framework().encode_to_vec(),
        allowed: OPERATOR,
    },
    RpcCase {
        method: "RegisterProvider",
        command: |_, _| register_provider().encode_to_vec(),
        allowed: AGENCY,
    },
    RpcCase {
        method: "RecordAccreditation",
        command: |w, _| record_accreditation_for(&w.provider.id).encode_to_vec(),
        allowed: AGENCY,
    },
    RpcCase {
        method: "ChangeAccreditationStatus",
        command: |w, _| {
            change_status(&w.accreditation, pb::AccreditationStatus::Suspended, None).encode_to_vec()
        },
        allowed: AGENCY,
    },
    RpcCase {
        method: "PublishQualification",
        command: |_, _| publish_qualification("New Course").encode_to_vec(),
        allowed: PROVIDER,
    },
    RpcCase {
        method: "ReviseQualification",
        command: |w, _| revise_qualification(&w.qualification).encode_to_vec(),
        allowed: PROVIDER,
    },
    RpcCase {
        method: "WithdrawQualification",
        command: |w, _| withdraw_qualification(&w.withdrawable).encode_to_vec(),
        allowed: PROVIDER,
    },
    RpcCase {
        method: "PublishRecognition",
        command: |w, _| publish_recognition_of(&w.qualification).encode_to_vec(),
        allowed: BODY,
    },
    RpcCase {
        method: "RetractRecognition",
        command: |w, _| retract_recognition(&w.retractable).encode_to_vec(),
        allowed: BODY,
    },
    RpcCase {
        method: "AddKey",
        command: |w, who| own_key_command(w, who, "AddKey"),
        allowed: ANY,
    },
    RpcCase {
        method: "RotateKey",
        command: |w, who| own_key_command(w, who, "RotateKey"),
        allowed: ANY,
    },
    RpcCase {
        method: "RevokeKey",
        command: |w, who| own_key_command(w, who, "RevokeKey"),
        allowed: ANY,
    },
];

/// A key command of `who` on its own keys; the operator, which has no registry keys, manages
/// the provider's. Rotation and revocation use a spare key.
fn own_key_command(w: &World, who: Who, method: &str) -> Vec<u8> {
    let (actor, actor_id) = match who {
        Who::Operator => (&w.provider, w.provider.id.as_str()),
        Who::Agency => (&w.agency, ""),
        Who::Provider => (&w.provider, ""),
        Who::Body => (&w.body, ""),
    };
    let key_id = if method == "AddKey" {
        String::new()
    } else {
        key_id_of(actor.spare())
    };
    key_command(method, actor_id, &key_id)
}

/// AddKey (a fresh key), RotateKey (`key_id` to a fresh key) or RevokeKey (`key_id`) for the
/// keys of `actor_id` (empty: the signer's own).
pub fn key_command(method: &str, actor_id: &str, key_id: &str) -> Vec<u8> {
    let actor_id = actor_id.to_owned();
    match method {
        "AddKey" => pb::AddKeyCommand {
            header: header(),
            actor_id,
            key: Some(key_spec(&fresh_key())),
        }
        .encode_to_vec(),
        "RotateKey" => pb::RotateKeyCommand {
            header: header(),
            actor_id,
            old_key_id: key_id.into(),
            new_key: Some(key_spec(&fresh_key())),
            rotate_at: None,
        }
        .encode_to_vec(),
        "RevokeKey" => pb::RevokeKeyCommand {
            header: header(),
            actor_id,
            key_id: key_id.into(),
            revoked_at: None,
            reason: "key retired".into(),
        }
        .encode_to_vec(),
        other => panic!("{other} is not a key RPC"),
    }
}

pub fn admit_qa_agency() -> pb::AdmitQaAgencyCommand {
    pb::AdmitQaAgencyCommand {
        header: header(),
        names: en("New Quality Agency"),
        country: "DE".into(),
        operating_countries: vec!["AT".into()],
        keys: vec![key_spec(&fresh_key())],
        ..Default::default()
    }
}

pub fn retire_qa_agency(agency_id: &str) -> pb::RetireQaAgencyCommand {
    pb::RetireQaAgencyCommand {
        header: header(),
        agency_id: agency_id.into(),
        retired_at: None,
        reason: "merged".into(),
    }
}

pub fn admit_recognition_body() -> pb::AdmitRecognitionBodyCommand {
    pb::AdmitRecognitionBodyCommand {
        header: header(),
        names: en("New Recognition Centre"),
        country: "FR".into(),
        kind: pb::RecognitionBodyKind::EnicNaric as i32,
        keys: vec![key_spec(&fresh_key())],
        ..Default::default()
    }
}

pub fn retire_recognition_body(body_id: &str) -> pb::RetireRecognitionBodyCommand {
    pb::RetireRecognitionBodyCommand {
        header: header(),
        body_id: body_id.into(),
        retired_at: None,
        reason: "closed".into(),
    }
}

pub fn add_framework() -> pb::AddFrameworkCommand {
    framework_command("rules-test-nqf")
}

pub fn register_provider() -> pb::RegisterProviderCommand {
    pb::RegisterProviderCommand {
        header: header(),
        names: en("New Test College"),
        country: "IE".into(),
        kind: pb::ProviderKind::HigherEducation as i32,
        keys: vec![key_spec(&fresh_key())],
        ..Default::default()
    }
}

pub fn record_accreditation_for(provider_id: &str) -> pb::RecordAccreditationCommand {
    pb::RecordAccreditationCommand {
        header: header(),
        provider_id: provider_id.into(),
        kind: pb::AccreditationKind::InstitutionalReview as i32,
        decision: pb::Decision::Positive as i32,
        scope: Some(pb::AccreditationScope {
            eqf_levels: vec![5, 6],
            ..Default::default()
        }),
        valid_from: at("2021-01-01T00:00:00Z"),
        valid_until: at("2031-01-01T00:00:00Z"),
        report_url: "https://qa.example/reports/1".into(),
        conditions: String::new(),
    }
}

pub fn change_status(
    accreditation_id: &str,
    status: pb::AccreditationStatus,
    effective_at: Option<pbjson_types::Timestamp>,
) -> pb::ChangeAccreditationStatusCommand {
    pb::ChangeAccreditationStatusCommand {
        header: header(),
        accreditation_id: accreditation_id.into(),
        status: status as i32,
        effective_at,
        reason: "complaint under review".into(),
    }
}

pub fn publish_qualification(title: &str) -> pb::PublishQualificationCommand {
    pb::PublishQualificationCommand {
        header: header(),
        description: Some(description(title)),
    }
}

pub fn revise_qualification(qualification_id: &str) -> pb::ReviseQualificationCommand {
    pb::ReviseQualificationCommand {
        header: header(),
        qualification_id: qualification_id.into(),
        description: Some(description("Revised Course")),
    }
}

pub fn withdraw_qualification(qualification_id: &str) -> pb::WithdrawQualificationCommand {
    pb::WithdrawQualificationCommand {
        header: header(),
        qualification_id: qualification_id.into(),
        withdrawn_at: None,
        reason: "no longer offered".into(),
    }
}

pub fn retract_recognition(recognition_id: &str) -> pb::RetractRecognitionCommand {
    pb::RetractRecognitionCommand {
        header: header(),
        recognition_id: recognition_id.into(),
        retracted_at: None,
        reason: "decided in error".into(),
    }
}

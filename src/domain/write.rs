//! Writes: who signs them, what they ask for, and what they produced.

use serde::{Deserialize, Serialize};

use super::enums::AccreditationStatus;
use super::error::DomainError;
use super::model::*;
use super::query::Keyed;
use super::time::Timestamp;

/// The roles that may sign writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Operator,
    QaAgency,
    Provider,
    RecognitionBody,
}

impl Role {
    pub const fn noun(self) -> &'static str {
        match self {
            Self::Operator => "the registry operator",
            Self::QaAgency => "a QA agency",
            Self::Provider => "a provider",
            Self::RecognitionBody => "a recognition body",
        }
    }
}

/// The roles allowed to sign writes to each RPC, by full RPC name.
pub fn rpc_roles(rpc: &str) -> Option<&'static [Role]> {
    const ANY: &[Role] = &[
        Role::Operator,
        Role::QaAgency,
        Role::Provider,
        Role::RecognitionBody,
    ];
    let (service, _method) = rpc.strip_prefix("/trustregistry.v1.")?.split_once('/')?;
    Some(match service {
        "GovernanceService" => &[Role::Operator],
        "AccreditationService" => &[Role::QaAgency],
        "ProviderService" => &[Role::Provider],
        "RecognitionService" => &[Role::RecognitionBody],
        "KeyService" => ANY,
        _ => return None,
    })
}

/// Registry id the operator signs as.
pub const OPERATOR_ID: &str = "operator";

/// Who signed a write: the key and the actor that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub key_id: String,
    pub role: Role,
    /// Registry id of the actor, or [`OPERATOR_ID`].
    pub actor_id: String,
}

impl Signer {
    /// Refuses the write unless the signer has one of `roles`.
    pub fn require(&self, rpc: &str, roles: &[Role]) -> Result<(), DomainError> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        let allowed: Vec<&str> = roles.iter().map(|r| r.noun()).collect();
        Err(DomainError::PermissionDenied(format!(
            "{rpc} must be signed by {}; key {} belongs to {} {}",
            allowed.join(" or "),
            self.key_id,
            self.role.noun(),
            self.actor_id
        )))
    }

    /// Refuses the write unless the signer is `owner_id` (the actor an object belongs to).
    pub fn require_owner(&self, what: impl std::fmt::Display, owner_id: &str) -> Result<(), DomainError> {
        if self.actor_id == owner_id {
            Ok(())
        } else {
            Err(DomainError::PermissionDenied(format!(
                "{what} belongs to {owner_id}; {} may not change it",
                self.actor_id
            )))
        }
    }
}

/// The refusal of a write signed by an agency or body that is not admitted or has been retired.
pub fn retired_signer(actor_id: &str) -> DomainError {
    DomainError::PermissionDenied(format!(
        "{actor_id} is not admitted or has been retired; its keys sign nothing"
    ))
}

/// The role of an actor, from the prefix of its registry id.
pub fn role_of_actor(actor_id: &str) -> Option<Role> {
    match actor_id.split_once('_')?.0 {
        "qaag" => Some(Role::QaAgency),
        "prov" => Some(Role::Provider),
        "rbod" => Some(Role::RecognitionBody),
        _ => None,
    }
}

/// A signed envelope as received, with what its header says.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeRecord {
    pub id: String,
    pub rpc: String,
    pub command: Vec<u8>,
    pub key_id: String,
    pub signature: Vec<u8>,
    pub signer_id: String,
    pub nonce: String,
    pub issued_at: Timestamp,
    pub received_at: Timestamp,
    /// RFC 9162 leaf hash of the log entry this write becomes.
    pub leaf_hash: super::merkle::Hash,
}

/// A validated write, with ids already minted from the envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    AdmitQaAgency {
        agency: QaAgency,
        keys: Vec<ActorKey>,
    },
    RetireQaAgency {
        agency_id: String,
        retired_at: Timestamp,
        reason: String,
    },
    AdmitRecognitionBody {
        body: RecognitionBody,
        keys: Vec<ActorKey>,
    },
    RetireRecognitionBody {
        body_id: String,
        retired_at: Timestamp,
        reason: String,
    },
    AddFramework(Framework),
    /// `registered_by` is set from the signer when applied.
    RegisterProvider {
        provider: Provider,
        keys: Vec<ActorKey>,
    },
    /// `agency_id` is set from the signer when applied.
    RecordAccreditation(Accreditation),
    ChangeAccreditationStatus {
        accreditation_id: String,
        status: AccreditationStatus,
        effective_at: Timestamp,
        reason: String,
    },
    /// `provider_id` and the EQF level are set when applied.
    PublishQualification(Qualification),
    ReviseQualification {
        qualification_id: String,
        description: Qualification,
    },
    WithdrawQualification {
        qualification_id: String,
        /// `None`: the command's issue time, or the publication when that is later (a
        /// publication is stamped with the registry's clock, which may run ahead of the
        /// signer's).
        withdrawn_at: Option<Timestamp>,
        reason: String,
    },
    /// `body_id` is set from the signer when applied.
    PublishRecognition(Recognition),
    RetractRecognition {
        recognition_id: String,
        retracted_at: Timestamp,
        reason: String,
    },
    AddKey {
        actor_id: Option<String>,
        key: ActorKey,
    },
    RotateKey {
        actor_id: Option<String>,
        old_key_id: String,
        new_key: ActorKey,
        rotate_at: Timestamp,
    },
    RevokeKey {
        actor_id: Option<String>,
        key_id: String,
        revoked_at: Timestamp,
        reason: String,
    },
}

/// What an accepted write produced; stored with the envelope so that a resent envelope gets
/// the first result back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(
    clippy::large_enum_variant,
    reason = "one value per write, moved a few times: boxing would not save anything measurable"
)]
pub enum Applied {
    QaAgency(Keyed<QaAgency>),
    RecognitionBody(Keyed<RecognitionBody>),
    Framework(Framework),
    Provider(Keyed<Provider>),
    Accreditation(AccreditationRecord),
    Qualification(Qualification),
    Recognition(Recognition),
    Key(ActorKey),
    KeyRotation { old_key: ActorKey, new_key: ActorKey },
}

/// An accepted write: its result and its place in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub envelope_id: String,
    pub accepted_at: Timestamp,
    pub replayed: bool,
    pub signer_key_id: String,
    pub signer_id: String,
    pub log_index: u64,
    pub applied: Applied,
}

//! Commands of the public contract -> domain commands. Ids of new objects are minted from the
//! command's issued_at and the envelope id, so that replaying the log mints the same ids.

use super::fields::*;
use crate::api::convert::{FromPbEnum, from_timestamp};
use crate::domain::enums::*;
use crate::domain::ids::{IdKind, check_framework_id};
use crate::domain::model::*;
use crate::domain::write::Command;
use crate::domain::{DomainError, Timestamp};
use crate::pb;

// The commands of each part of the registry.
mod governance;
mod keys;
mod providers;
mod qualifications;
mod recognitions;

/// What a command is converted against.
pub struct Context<'a> {
    pub envelope_id: &'a str,
    pub issued_at: Timestamp,
}

impl Context<'_> {
    fn mint(&self, kind: IdKind) -> String {
        kind.mint_at(self.issued_at, self.envelope_id.as_bytes())
    }
}

/// A command message with the common header.
pub trait SignedCommand: prost::Message + Default {
    fn header(&self) -> Option<&pb::CommandHeader>;
    fn into_command(self, context: &Context<'_>) -> Result<Command>;
}

fn id(kind: IdKind, field: impl FieldPath, value: String) -> Result<String> {
    kind.check(field, &value)?;
    Ok(value)
}

fn optional_actor(field: impl FieldPath, value: String) -> Result<Option<String>> {
    if value.is_empty() {
        return Ok(None);
    }
    let ok = [IdKind::Provider, IdKind::QaAgency, IdKind::RecognitionBody]
        .iter()
        .any(|k| k.check(field, &value).is_ok());
    if ok {
        Ok(Some(value))
    } else {
        Err(DomainError::invalid(
            field,
            "must be a provider, QA agency or recognition body id",
        ))
    }
}

macro_rules! header {
    ($($command:ident),+ $(,)?) => {
        $(impl SignedCommand for pb::$command {
            fn header(&self) -> Option<&pb::CommandHeader> {
                self.header.as_ref()
            }
            fn into_command(self, context: &Context<'_>) -> Result<Command> {
                convert::$command(self, context)
            }
        })+
    };
}

header!(
    AdmitQaAgencyCommand,
    RetireQaAgencyCommand,
    AdmitRecognitionBodyCommand,
    RetireRecognitionBodyCommand,
    AddFrameworkCommand,
    RegisterProviderCommand,
    RecordAccreditationCommand,
    ChangeAccreditationStatusCommand,
    PublishQualificationCommand,
    ReviseQualificationCommand,
    WithdrawQualificationCommand,
    PublishRecognitionCommand,
    RetractRecognitionCommand,
    AddKeyCommand,
    RotateKeyCommand,
    RevokeKeyCommand,
);

/// One function per command, named after its message, for `header!`.
mod convert {
    pub use super::governance::*;
    pub use super::keys::*;
    pub use super::providers::*;
    pub use super::qualifications::*;
    pub use super::recognitions::*;
}

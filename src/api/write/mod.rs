//! The signed-write pipeline shared by every write RPC:
//! authenticate (key, signature) -> decode -> replay/nonce -> clock -> role -> validate -> apply.

mod batch;
mod commands;
mod fields;
pub mod services;

use prost::Message;

pub use commands::{Context, SignedCommand};

use crate::api::convert::from_timestamp;
use crate::domain::envelope::{self, MAX_COMMAND_BYTES};
use crate::domain::keys::key_id;
use crate::domain::write::*;
use crate::domain::{DomainError, Timestamp};
use crate::pb;
use crate::store::{Store, WriteTarget};

pub use batch::{BatchOutcome, Prechecked};

/// The registry operator's public key, from configuration.
#[derive(Debug, Clone)]
pub struct OperatorKey {
    pub public_key: [u8; 32],
    pub key_id: String,
}

impl OperatorKey {
    pub fn new(public_key: [u8; 32]) -> Self {
        Self {
            key_id: key_id(&public_key),
            public_key,
        }
    }
}

/// Accepts signed writes into a store.
#[derive(Clone)]
pub struct Writes {
    store: Store,
    operator: Option<OperatorKey>,
}

impl Writes {
    pub fn new(store: Store, operator: Option<OperatorKey>) -> Self {
        Self { store, operator }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Authenticates, checks and applies one signed envelope sent to `rpc`.
    pub async fn submit<C: SignedCommand>(
        &self,
        rpc: &str,
        envelope: Option<pb::SignedEnvelope>,
    ) -> Result<Receipt, DomainError> {
        self.submit_received_at::<C>(rpc, envelope, Timestamp::now())
            .await
    }

    /// As [`Writes::submit`], for an envelope received at `received_at`. Replaying a log
    /// passes each entry's original time, so that every check decides as it did then.
    pub async fn submit_received_at<C: SignedCommand>(
        &self,
        rpc: &str,
        envelope: Option<pb::SignedEnvelope>,
        received_at: Timestamp,
    ) -> Result<Receipt, DomainError> {
        self.submit_to::<C>(WriteTarget::Single(&self.store), rpc, envelope, received_at)
            .await
    }

    /// The pipeline, reading and writing through `target` (a write of its own or a batch).
    async fn submit_to<C: SignedCommand>(
        &self,
        target: WriteTarget<'_>,
        rpc: &str,
        envelope: Option<pb::SignedEnvelope>,
        received_at: Timestamp,
    ) -> Result<Receipt, DomainError> {
        match self.check_to::<C>(target, rpc, envelope, received_at).await? {
            Checked::Replayed(receipt) => Ok(receipt),
            Checked::Ready(write) => Self::apply_to(target, write).await,
        }
    }

    /// Applies a checked write through `target`. A write of its own waits for the write lock
    /// here, and what may have changed while it waited is checked again under it.
    async fn apply_to(target: WriteTarget<'_>, write: CheckedWrite) -> Result<Receipt, DomainError> {
        let CheckedWrite {
            record,
            signer,
            command,
        } = write;
        let (stored, replayed) = target.apply(&record, &signer, command).await?;
        Ok(stored.receipt(replayed))
    }

    /// The pipeline up to the write lock: authenticates, decodes and checks the envelope.
    async fn check_to<C: SignedCommand>(
        &self,
        target: WriteTarget<'_>,
        rpc: &str,
        envelope: Option<pb::SignedEnvelope>,
        received_at: Timestamp,
    ) -> Result<Checked, DomainError> {
        let pb::SignedEnvelope {
            command: bytes,
            key_id,
            signature,
        } = envelope.ok_or_else(|| DomainError::invalid("envelope", "is required"))?;
        check_command_size(&bytes)?;
        let roles = rpc_roles(rpc).ok_or_else(|| DomainError::Storage(format!("no roles for {rpc}")))?;

        // Who signed: the operator key from configuration, or a registered actor key.
        let (signer, key) = self.signer(target, &key_id).await?;
        let id = envelope::envelope_id(rpc, &bytes, &key_id, &signature);
        target.verify(&id, &key.public_key, rpc, &bytes, &signature)?;

        let command = C::decode(bytes.as_slice()).map_err(|err| {
            DomainError::invalid(
                "envelope.command",
                format!("is not a valid encoded command for {rpc}: {err}"),
            )
        })?;
        let header = command
            .header()
            .ok_or_else(|| DomainError::invalid("header", "is required"))?;
        let issued_at = from_timestamp("header.issued_at", header.issued_at.as_ref())?
            .ok_or_else(|| DomainError::invalid("header.issued_at", "is required"))?;
        envelope::check_nonce(&header.nonce)?;
        let mut record = EnvelopeRecord {
            id,
            rpc: rpc.to_owned(),
            nonce: header.nonce.clone(),
            command: bytes,
            key_id,
            signature,
            signer_id: signer.actor_id.clone(),
            issued_at,
            received_at,
            leaf_hash: [0; 32],
        };
        record.leaf_hash = crate::domain::merkle::leaf_hash(&log_entry(&record));

        // A resent envelope gets its first result back, whatever the time now.
        if let Some(previous) = target
            .signed_write_by_nonce(&record.signer_id, &record.nonce)
            .await?
        {
            if previous.envelope.id == record.id {
                return Ok(Checked::Replayed(previous.receipt(true)));
            }
            return Err(crate::store::nonce_reused(&previous.envelope.id));
        }
        envelope::check_issued_at(issued_at, record.received_at)?;
        key.check_signs(issued_at, record.received_at)?;
        signer.require(rpc, roles)?;
        if signer.role != Role::Operator
            && !target
                .actor_active_at(&signer.actor_id, record.received_at)
                .await?
        {
            return Err(crate::domain::write::retired_signer(&signer.actor_id));
        }

        let context = Context {
            envelope_id: &record.id,
            issued_at,
        };
        let command = command.into_command(&context)?;
        Ok(Checked::Ready(CheckedWrite {
            record,
            signer,
            command,
        }))
    }

    async fn signer(
        &self,
        target: WriteTarget<'_>,
        key_id: &str,
    ) -> Result<(Signer, crate::domain::model::ActorKey), DomainError> {
        if key_id.is_empty() {
            return Err(DomainError::Unauthenticated(
                "envelope.key_id: is required".into(),
            ));
        }
        if let Some(operator) = self.operator.as_ref().filter(|op| op.key_id == key_id) {
            let key =
                crate::domain::model::ActorKey::new(operator.public_key, Timestamp::from_micros(i64::MIN));
            let signer = Signer {
                key_id: key_id.to_owned(),
                role: Role::Operator,
                actor_id: OPERATOR_ID.to_owned(),
            };
            return Ok((signer, key));
        }
        let Some((owner, key)) = target.key(key_id).await? else {
            let hint = if self.operator.is_none() {
                "; no operator key is configured"
            } else {
                ""
            };
            return Err(DomainError::Unauthenticated(format!(
                "envelope.key_id: {key_id} is not a registered key{hint}"
            )));
        };
        let role = role_of_actor(&owner)
            .ok_or_else(|| DomainError::Storage(format!("key {key_id} has owner {owner}")))?;
        Ok((
            Signer {
                key_id: key_id.to_owned(),
                role,
                actor_id: owner,
            },
            key,
        ))
    }
}

/// What the pipeline makes of an envelope before the write lock.
pub enum Checked {
    /// Authenticated, decoded and checked: ready to apply.
    Ready(CheckedWrite),
    /// Accepted before: its first answer.
    Replayed(Receipt),
}

/// A write that passed the pipeline's checks, not yet applied.
pub struct CheckedWrite {
    record: EnvelopeRecord,
    signer: Signer,
    command: Command,
}

/// Refuses an empty command or one larger than [`MAX_COMMAND_BYTES`].
fn check_command_size(command: &[u8]) -> Result<(), DomainError> {
    if command.is_empty() {
        return Err(DomainError::invalid("envelope.command", "is required"));
    }
    if command.len() > MAX_COMMAND_BYTES {
        return Err(DomainError::invalid(
            "envelope.command",
            format!("must be at most {MAX_COMMAND_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The checks of a write that need nothing but the write itself: a write RPC, a command of an
/// accepted size, a key id and a signature of an Ed25519 signature's length. An import checks
/// each write with these as it arrives, before it holds more of them; the pipeline makes the
/// same checks again, with the same errors.
pub fn check_form(rpc: &str, envelope: &pb::SignedEnvelope) -> Result<(), DomainError> {
    if rpc_roles(rpc).is_none() {
        return Err(DomainError::invalid("rpc", format!("{rpc} is not a write RPC")));
    }
    check_command_size(&envelope.command)?;
    if envelope.key_id.is_empty() {
        return Err(DomainError::Unauthenticated(
            "envelope.key_id: is required".into(),
        ));
    }
    if envelope.signature.len() != ed25519_dalek::SIGNATURE_LENGTH {
        return Err(DomainError::Unauthenticated(
            "envelope.signature: must be a 64-byte Ed25519 signature".into(),
        ));
    }
    Ok(())
}

/// The log entry a write becomes: the encoded `LogEntry` (RPC name, envelope as received,
/// time of receipt). Its RFC 9162 leaf hash is what the Merkle log commits to.
pub fn log_entry(record: &EnvelopeRecord) -> Vec<u8> {
    pb::LogEntry {
        rpc: record.rpc.clone(),
        envelope: Some(pb::SignedEnvelope {
            command: record.command.clone(),
            key_id: record.key_id.clone(),
            signature: record.signature.clone(),
        }),
        received_at: Some(crate::api::convert::timestamp(record.received_at)),
    }
    .encode_to_vec()
}

/// Encodes a command and wraps it in a signed envelope (CLI, demo loader, tests).
pub fn seal(key: &ed25519_dalek::SigningKey, rpc: &str, command: &impl Message) -> pb::SignedEnvelope {
    let bytes = command.encode_to_vec();
    let signature = envelope::sign(key, rpc, &bytes);
    pb::SignedEnvelope {
        command: bytes,
        key_id: key_id(&key.verifying_key().to_bytes()),
        signature: signature.to_vec(),
    }
}

/// Calls [`Writes::check_to`] with the command type of `rpc` (a full RPC name).
macro_rules! by_rpc {
    ($writes:expr, $target:expr, $rpc:expr, $envelope:expr, $at:expr, $($service:literal / $method:literal => $command:ident),+ $(,)?) => {
        match $rpc {
            $(concat!("/trustregistry.v1.", $service, "/", $method) =>
                $writes.check_to::<pb::$command>($target, $rpc, $envelope, $at).await,)+
            other => Err(DomainError::invalid("rpc", format!("{other} is not a write RPC"))),
        }
    };
}

impl Writes {
    /// Re-submits any write RPC through `target`.
    async fn submit_any(
        &self,
        target: WriteTarget<'_>,
        rpc: &str,
        envelope: pb::SignedEnvelope,
        received_at: Timestamp,
    ) -> Result<Receipt, DomainError> {
        match self.check_any(target, rpc, envelope, received_at).await? {
            Checked::Replayed(receipt) => Ok(receipt),
            Checked::Ready(write) => Self::apply_to(target, write).await,
        }
    }

    /// Checks an envelope sent to any write RPC, received now, without applying it: the first
    /// half of a write of its own. [`Writes::apply`] is the second. Between the two the write
    /// waits for nothing here; a caller that holds a checked write while other writes commit
    /// (as a write waiting for the write lock does) gets it checked again when applied.
    pub async fn check(&self, rpc: &str, envelope: pb::SignedEnvelope) -> Result<Checked, DomainError> {
        self.check_any(WriteTarget::Single(&self.store), rpc, envelope, Timestamp::now())
            .await
    }

    /// Applies a write checked by [`Writes::check`], in a transaction of its own.
    pub async fn apply(&self, write: CheckedWrite) -> Result<Receipt, DomainError> {
        Self::apply_to(WriteTarget::Single(&self.store), write).await
    }

    /// Checks an envelope sent to any write RPC through `target`.
    async fn check_any(
        &self,
        target: WriteTarget<'_>,
        rpc: &str,
        envelope: pb::SignedEnvelope,
        received_at: Timestamp,
    ) -> Result<Checked, DomainError> {
        let envelope = Some(envelope);
        by_rpc!(self, target, rpc, envelope, received_at,
            "GovernanceService" / "AdmitQaAgency" => AdmitQaAgencyCommand,
            "GovernanceService" / "RetireQaAgency" => RetireQaAgencyCommand,
            "GovernanceService" / "AdmitRecognitionBody" => AdmitRecognitionBodyCommand,
            "GovernanceService" / "RetireRecognitionBody" => RetireRecognitionBodyCommand,
            "GovernanceService" / "AddFramework" => AddFrameworkCommand,
            "AccreditationService" / "RegisterProvider" => RegisterProviderCommand,
            "AccreditationService" / "RecordAccreditation" => RecordAccreditationCommand,
            "AccreditationService" / "ChangeAccreditationStatus" => ChangeAccreditationStatusCommand,
            "ProviderService" / "PublishQualification" => PublishQualificationCommand,
            "ProviderService" / "ReviseQualification" => ReviseQualificationCommand,
            "ProviderService" / "WithdrawQualification" => WithdrawQualificationCommand,
            "RecognitionService" / "PublishRecognition" => PublishRecognitionCommand,
            "RecognitionService" / "RetractRecognition" => RetractRecognitionCommand,
            "KeyService" / "AddKey" => AddKeyCommand,
            "KeyService" / "RotateKey" => RotateKeyCommand,
            "KeyService" / "RevokeKey" => RevokeKeyCommand,
        )
    }
}

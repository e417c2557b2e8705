//! The signed-write pipeline shared by every write RPC:
//! authenticate (key, signature) -> decode -> replay/nonce -> clock -> role -> validate -> apply.

mod commands;
mod fields;
pub mod services;

use std::collections::HashSet;

use prost::Message;

pub use commands::{Context, SignedCommand};

use crate::api::convert::from_timestamp;
use crate::domain::envelope::{self, MAX_COMMAND_BYTES};
use crate::domain::keys::key_id;
use crate::domain::write::*;
use crate::domain::{DomainError, Timestamp};
use crate::pb;
use crate::store::{CHECKS_PER_TASK, SignatureCheck, Store, WriteTarget, verify_on_blocking_thread};

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

/// The signatures of a batch verified before it takes the write lock (see
/// [`Writes::precheck`]); none when the batch is to be applied write by write.
pub struct Prechecked(Option<HashSet<String>>);

/// What a batch did: the receipts of the writes applied, in order, and the first refused write
/// (its index in the batch and why), after which nothing was applied.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub receipts: Vec<Receipt>,
    pub refused: Option<(usize, DomainError)>,
    /// Whether the first, optimistic try (rows and signature checks deferred) was rolled back
    /// and the writes applied again, each with every check: the batch cost about twice.
    pub retried: bool,
}

/// When the writes of a batch were received: all at once (an import), or each at its own time
/// (a replayed log).
#[derive(Clone, Copy)]
enum Received<'a> {
    All(Timestamp),
    Each(&'a [Timestamp]),
}

impl Received<'_> {
    fn of(self, index: usize) -> Timestamp {
        match self {
            Self::All(at) => at,
            Self::Each(times) => times[index],
        }
    }
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
    /// Re-submits a logged write (any write RPC) as received at `received_at`: used to replay
    /// the log into a scratch store (audit) or a new one (rebuild).
    pub async fn resubmit(
        &self,
        rpc: &str,
        envelope: pb::SignedEnvelope,
        received_at: Timestamp,
    ) -> Result<Receipt, DomainError> {
        self.submit_any(WriteTarget::Single(&self.store), rpc, envelope, received_at)
            .await
    }

    /// Applies `writes` (RPC name and envelope each) in order, as received at `received_at`, in
    /// one transaction: the same checks as single writes, each against the registry as the
    /// earlier writes of the batch left it. Stops at the first refused write: the writes
    /// before it are committed, it and the rest are not.
    pub async fn import_batch(
        &self,
        writes: &[(String, pb::SignedEnvelope)],
        received_at: Timestamp,
    ) -> Result<BatchOutcome, DomainError> {
        let checked = self.precheck(writes).await?;
        self.apply_batch(writes, Received::All(received_at), checked)
            .await
    }

    /// [`Writes::import_batch`] for logged writes, each as received at its own time (the same
    /// index in `received_at`): a page of another registry's log replayed into a mirror.
    pub async fn replay_batch(
        &self,
        writes: &[(String, pb::SignedEnvelope)],
        received_at: &[Timestamp],
    ) -> Result<BatchOutcome, DomainError> {
        if received_at.len() != writes.len() {
            return Err(DomainError::Storage(format!(
                "{} writes replayed with {} times of receipt",
                writes.len(),
                received_at.len()
            )));
        }
        let checked = self.precheck(writes).await?;
        self.apply_batch(writes, Received::Each(received_at), checked)
            .await
    }

    /// What [`Writes::import_batch`] checks before it takes the write lock (see
    /// `verify_ahead`). An importer may check the next batch while the last one is applied:
    /// the check stays sound whatever is applied meanwhile, and at worst sends the batch the
    /// slower way.
    pub async fn precheck(&self, writes: &[(String, pb::SignedEnvelope)]) -> Result<Prechecked, DomainError> {
        if writes.len() < 2 {
            return Ok(Prechecked(None));
        }
        Ok(Prechecked(self.verify_ahead(writes).await?))
    }

    /// [`Writes::import_batch`] with its check made beforehand by [`Writes::precheck`] on the
    /// same writes.
    pub async fn import_prechecked(
        &self,
        writes: &[(String, pb::SignedEnvelope)],
        received_at: Timestamp,
        checked: Prechecked,
    ) -> Result<BatchOutcome, DomainError> {
        self.apply_batch(writes, Received::All(received_at), checked)
            .await
    }

    async fn apply_batch(
        &self,
        writes: &[(String, pb::SignedEnvelope)],
        received_at: Received<'_>,
        checked: Prechecked,
    ) -> Result<BatchOutcome, DomainError> {
        // First the fast way, when every signature that can be checked before the batch
        // verifies and no write is in the log already (see `verify_ahead`): inserted rows
        // queued and sent a table at a time, nonces and new key ids checked by the unique
        // indexes (see `Store::begin_batch`). Anything else than every write accepted (a
        // refusal, a reused nonce or key, a bad signature by a key the batch registers) rolls it
        // back, and the writes are applied again with every check at once.
        let mut retried = false;
        if writes.len() > 1
            && let Some(verified) = checked.0
        {
            if let Some(outcome) = self.import_deferred(writes, received_at, verified).await? {
                return Ok(outcome);
            }
            retried = true;
            tracing::debug!(writes = writes.len(), "batch applied again, write by write");
        }
        let batch = self.store.begin_batch(false, HashSet::new()).await?;
        let mut receipts = Vec::with_capacity(writes.len());
        for (index, (rpc, envelope)) in writes.iter().enumerate() {
            match self
                .submit_any(
                    WriteTarget::Batch(&batch),
                    rpc,
                    envelope.clone(),
                    received_at.of(index),
                )
                .await
            {
                Ok(receipt) => receipts.push(receipt),
                Err(refusal) => {
                    // The refused write may have changed rows before failing: roll the whole
                    // batch back and apply the writes before it again, which succeed as before.
                    drop(batch);
                    let mut outcome = if index == 0 {
                        BatchOutcome::default()
                    } else {
                        let before = &writes[..index];
                        let checked = self.precheck(before).await?;
                        Box::pin(self.apply_batch(before, received_at, checked)).await?
                    };
                    // Unless the writes before it were refused in turn (a write committed
                    // meanwhile changed what they rely on): then that refusal is the first.
                    outcome.refused.get_or_insert((index, refusal));
                    outcome.retried = retried;
                    return Ok(outcome);
                }
            }
        }
        batch.commit().await?;
        Ok(BatchOutcome {
            receipts,
            refused: None,
            retried,
        })
    }

    /// Applies every write in one batch with deferred rows; `None` (everything rolled
    /// back) unless all of them were accepted and the batch committed.
    async fn import_deferred(
        &self,
        writes: &[(String, pb::SignedEnvelope)],
        received_at: Received<'_>,
        verified: HashSet<String>,
    ) -> Result<Option<BatchOutcome>, DomainError> {
        let batch = self.store.begin_batch(true, verified).await?;
        let mut receipts = Vec::with_capacity(writes.len());
        for (index, (rpc, envelope)) in writes.iter().enumerate() {
            match self
                .submit_any(
                    WriteTarget::Batch(&batch),
                    rpc,
                    envelope.clone(),
                    received_at.of(index),
                )
                .await
            {
                Ok(receipt) => receipts.push(receipt),
                Err(_) => return Ok(None),
            }
        }
        Ok(batch.commit().await.is_ok().then_some(BatchOutcome {
            receipts,
            refused: None,
            retried: false,
        }))
    }

    /// Verifies, before a batch takes the write lock, the signature of every write signed with
    /// a registered key (or the operator's), on blocking threads. `None` when one does not verify
    /// or a write is in the log already: the batch is then applied write by write, each checked
    /// at once, so a refused or replayed write costs no more than itself. Without this a batch
    /// of forged writes, or of writes copied from the public log, was applied in full under the
    /// write lock and only rolled back at its commit. The other writes sign with keys that
    /// earlier writes of the same batch register (verified here, and fresh); the batch checks
    /// those on other threads while it goes on, before it commits.
    async fn verify_ahead(
        &self,
        writes: &[(String, pb::SignedEnvelope)],
    ) -> Result<Option<HashSet<String>>, DomainError> {
        let ids: Vec<String> = writes
            .iter()
            .map(|(rpc, e)| envelope::envelope_id(rpc, &e.command, &e.key_id, &e.signature))
            .collect();
        if self
            .store
            .any_logged(&ids.iter().map(String::as_str).collect::<Vec<_>>())
            .await?
        {
            return Ok(None);
        }
        let mut key_ids: Vec<&str> = writes.iter().map(|(_, e)| e.key_id.as_str()).collect();
        key_ids.sort_unstable();
        key_ids.dedup();
        let mut keys = self.store.registered_keys(&key_ids).await?;
        if let Some(operator) = &self.operator {
            keys.insert(operator.key_id.clone(), operator.public_key);
        }
        let mut verified = HashSet::new();
        let mut checks = Vec::new();
        for ((rpc, e), id) in writes.iter().zip(ids) {
            let Some(public_key) = keys.get(&e.key_id) else {
                continue;
            };
            verified.insert(id);
            checks.push(SignatureCheck {
                public_key: *public_key,
                rpc: rpc.clone(),
                command: e.command.clone(),
                signature: e.signature.clone(),
            });
        }
        let mut tasks = Vec::new();
        while !checks.is_empty() {
            let rest = checks.split_off(checks.len().min(CHECKS_PER_TASK));
            tasks.push(verify_on_blocking_thread(std::mem::replace(&mut checks, rest)));
        }
        for task in tasks {
            let all_verify = task
                .await
                .map_err(|e| DomainError::Storage(format!("a signature check stopped: {e}")))?;
            if !all_verify {
                return Ok(None);
            }
        }
        Ok(Some(verified))
    }

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

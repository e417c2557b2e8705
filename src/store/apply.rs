//! Applying accepted writes: each in one transaction together with its stored envelope, so
//! that no write is acknowledged without its record and no record exists without its write.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use super::catalogue::period_from_row;
use super::entity::*;
use super::rows::{Background, Deferring, InFlight, Pending, QueuedAccreditation, Rows};
use super::write::*;
use super::{Store, from_doc, to_doc};
use crate::domain::accreditation::{change_status, initial_history};
use crate::domain::error::Item;
use crate::domain::model::*;
use crate::domain::query::Keyed;
use crate::domain::write::*;
use crate::domain::{DomainError, Timestamp};

type Result<T> = std::result::Result<T, DomainError>;

/// A stored signed write: the envelope as received and what it produced.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWrite {
    pub envelope: EnvelopeRecord,
    pub log_index: u64,
    pub applied: Applied,
}

pub(super) fn stored_from_row(row: signed_write::Model) -> Result<StoredWrite> {
    Ok(StoredWrite {
        applied: from_doc(&row.applied)?,
        log_index: row.log_index as u64,
        envelope: EnvelopeRecord {
            id: row.id,
            rpc: row.rpc,
            command: row.command,
            key_id: row.key_id,
            signature: row.signature,
            signer_id: row.signer_id,
            nonce: row.nonce,
            issued_at: Timestamp::from_micros(row.issued_at),
            received_at: Timestamp::from_micros(row.received_at),
            leaf_hash: row.leaf_hash.as_slice().try_into().map_err(|_| {
                DomainError::Storage(format!("write {} has a malformed leaf hash", row.log_index))
            })?,
        },
    })
}

impl StoredWrite {
    pub fn receipt(self, replayed: bool) -> Receipt {
        Receipt {
            envelope_id: self.envelope.id,
            accepted_at: self.envelope.received_at,
            replayed,
            signer_key_id: self.envelope.key_id,
            signer_id: self.envelope.signer_id,
            log_index: self.log_index,
            applied: self.applied,
        }
    }
}

/// A registered key and the actor that holds it.
async fn key_on(db: &impl ConnectionTrait, key_id: &str) -> Result<Option<(String, ActorKey)>> {
    let Some(row) = actor_key::Entity::find_by_id(key_id).one(db).await? else {
        return Ok(None);
    };
    let owner = row.owner_id.clone();
    Ok(Some((owner, super::catalogue::key_from_row(row)?)))
}

/// The write a signer sent with `nonce`, if any.
async fn by_nonce_on(db: &impl ConnectionTrait, signer_id: &str, nonce: &str) -> Result<Option<StoredWrite>> {
    let row = signed_write::Entity::find()
        .filter(signed_write::Column::SignerId.eq(signer_id))
        .filter(signed_write::Column::Nonce.eq(nonce))
        .one(db)
        .await?;
    row.map(stored_from_row).transpose()
}

/// Whether an actor (agency or recognition body) is admitted and not retired at `at`.
async fn active_on(db: &impl ConnectionTrait, actor_id: &str, at: Timestamp) -> Result<bool> {
    let window = match role_of_actor(actor_id) {
        Some(Role::QaAgency) => qa_agency::Entity::find_by_id(actor_id)
            .one(db)
            .await?
            .map(|row| (row.admitted_at, row.retired_at)),
        Some(Role::RecognitionBody) => recognition_body::Entity::find_by_id(actor_id)
            .one(db)
            .await?
            .map(|row| (row.admitted_at, row.retired_at)),
        Some(Role::Provider) => provider::Entity::find_by_id(actor_id)
            .one(db)
            .await?
            .map(|_| (i64::MIN, None)),
        _ => None,
    };
    Ok(window.is_some_and(|(from, until)| {
        crate::domain::time::within(
            at,
            Some(Timestamp::from_micros(from)),
            until.map(Timestamp::from_micros),
        )
    }))
}

/// The index the next write takes: one past the last, which is also the log's size.
pub(super) async fn next_log_index(db: &impl ConnectionTrait) -> Result<i64> {
    let last: Option<i64> = signed_write::Entity::find()
        .select_only()
        .column(signed_write::Column::LogIndex)
        .order_by_desc(signed_write::Column::LogIndex)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(last.map_or(0, |i| i + 1))
}

/// Applies a write inside `tx` at `log_index` and stores its envelope. A write of its own
/// (`known` None) checks its nonce here: an envelope accepted before (same id) returns the
/// first result and writes nothing, and another envelope with the same signer and nonce is
/// refused (in a batch the pipeline checked it, or the commit does). A batch lends the facts it
/// knows; when its rows are deferred, the envelope's log row waits with them.
async fn apply_in(
    tx: &Deferring<'_>,
    envelope: &EnvelopeRecord,
    signer: &Signer,
    command: Command,
    log_index: i64,
    in_batch: Option<&Known>,
) -> Result<(StoredWrite, bool)> {
    let fresh = Known::default();
    let known = in_batch.unwrap_or(&fresh);
    if in_batch.is_none()
        && let Some(previous) = by_nonce_on(tx, &envelope.signer_id, &envelope.nonce).await?
    {
        return if previous.envelope.id == envelope.id {
            Ok((previous, true))
        } else {
            Err(nonce_reused(&previous.envelope.id))
        };
    }
    if in_batch.is_none() {
        still_may_sign(tx, envelope, signer).await?;
    }
    let applied = apply_command(tx, envelope, signer, command, known).await?;
    let row = signed_write::ActiveModel {
        log_index: Set(log_index),
        id: Set(envelope.id.clone()),
        rpc: Set(envelope.rpc.clone()),
        command: Set(envelope.command.clone()),
        key_id: Set(envelope.key_id.clone()),
        signature: Set(envelope.signature.clone()),
        signer_id: Set(envelope.signer_id.clone()),
        nonce: Set(envelope.nonce.clone()),
        issued_at: Set(envelope.issued_at.as_micros()),
        received_at: Set(envelope.received_at.as_micros()),
        applied: Set(to_doc(&applied)?),
        leaf_hash: Set(envelope.leaf_hash.to_vec()),
    };
    tx.insert_rows(vec![row]).await?;
    Ok((
        StoredWrite {
            envelope: envelope.clone(),
            log_index: log_index as u64,
            applied,
        },
        false,
    ))
}

/// Checks again, under the write lock, what the pipeline checked before it waited for the lock
/// and a write committed meanwhile may have changed: that the signing key is still its signer's
/// and may sign at the write's issue and receipt times (not revoked or rotated out since), and
/// that the signer is still admitted (not retired since). Without this a write checked just
/// before its key's revocation was applied after it, and the log no longer replayed. A batch's
/// writes are checked inside its transaction, which holds the lock from its start. The
/// operator's key comes from configuration and is not stored.
async fn still_may_sign(db: &impl ConnectionTrait, envelope: &EnvelopeRecord, signer: &Signer) -> Result<()> {
    if signer.role == Role::Operator {
        return Ok(());
    }
    let key = match key_on(db, &signer.key_id).await? {
        Some((owner, key)) if owner == signer.actor_id => key,
        _ => {
            return Err(DomainError::Unauthenticated(format!(
                "envelope.key_id: {} is not a registered key of {}",
                signer.key_id, signer.actor_id
            )));
        }
    };
    key.check_signs(envelope.issued_at, envelope.received_at)?;
    if !active_on(db, &signer.actor_id, envelope.received_at).await? {
        return Err(crate::domain::write::retired_signer(&signer.actor_id));
    }
    Ok(())
}

/// Facts a batch has looked up that no write can change afterwards, so its later writes need
/// not read them again: frameworks are only ever added, providers never removed, and an
/// accreditation's provider never changes. Only facts found are kept. A write of its own starts
/// with an empty one.
#[derive(Default)]
pub(super) struct Known {
    frameworks: std::sync::Mutex<HashMap<String, Framework>>,
    providers: std::sync::Mutex<HashMap<String, ()>>,
    accreditation_providers: std::sync::Mutex<HashMap<String, String>>,
}

/// The value under `id` in `known` if found before, else loads it and keeps it if found.
async fn remembered<V: Clone>(
    known: &std::sync::Mutex<HashMap<String, V>>,
    id: &str,
    load: impl Future<Output = Result<Option<V>>>,
) -> Result<Option<V>> {
    if let Some(found) = known.lock().expect("known lock").get(id) {
        return Ok(Some(found.clone()));
    }
    let found = load.await?;
    if let Some(found) = &found {
        known
            .lock()
            .expect("known lock")
            .insert(id.to_owned(), found.clone());
    }
    Ok(found)
}

impl Known {
    /// Remembers the provider a write registered, and the provider of an accreditation.
    fn learn(&self, applied: &Applied) {
        match applied {
            Applied::Provider(Keyed { item, .. }) => {
                self.providers
                    .lock()
                    .expect("known lock")
                    .insert(item.id.clone(), ());
            }
            Applied::Accreditation(record) => {
                self.accreditation_providers.lock().expect("known lock").insert(
                    record.accreditation.id.clone(),
                    record.accreditation.provider_id.clone(),
                );
            }
            _ => {}
        }
    }

    async fn framework(&self, tx: &impl ConnectionTrait, id: &str) -> Result<Option<Framework>> {
        remembered(&self.frameworks, id, async {
            framework::Entity::find_by_id(id)
                .one(tx)
                .await?
                .map(|row| from_doc(&row.doc))
                .transpose()
        })
        .await
    }

    async fn provider_exists(&self, tx: &impl ConnectionTrait, id: &str) -> Result<bool> {
        let found = remembered(&self.providers, id, async {
            Ok(provider::Entity::find_by_id(id).one(tx).await?.map(|_| ()))
        })
        .await?;
        Ok(found.is_some())
    }

    async fn accreditation_provider(&self, tx: &impl ConnectionTrait, id: &str) -> Result<Option<String>> {
        remembered(&self.accreditation_providers, id, async {
            Ok(accreditation::Entity::find_by_id(id)
                .one(tx)
                .await?
                .map(|row| row.provider_id))
        })
        .await
    }
}

impl Store {
    /// A registered key and the actor that holds it.
    pub async fn key(&self, key_id: &str) -> Result<Option<(String, ActorKey)>> {
        key_on(&self.db, key_id).await
    }

    /// The write a signer sent with `nonce`, if any.
    pub async fn signed_write_by_nonce(&self, signer_id: &str, nonce: &str) -> Result<Option<StoredWrite>> {
        by_nonce_on(&self.db, signer_id, nonce).await
    }

    /// A stored write by envelope id.
    pub async fn signed_write(&self, envelope_id: &str) -> Result<Option<StoredWrite>> {
        let row = signed_write::Entity::find()
            .filter(signed_write::Column::Id.eq(envelope_id))
            .one(&self.db)
            .await?;
        row.map(stored_from_row).transpose()
    }

    /// Whether an actor (agency or recognition body) is admitted and not retired at `at`.
    pub async fn actor_active_at(&self, actor_id: &str, at: Timestamp) -> Result<bool> {
        active_on(&self.db, actor_id, at).await
    }

    /// A transaction holding the database's write lock from its start, so that writers in other
    /// processes (replicas on the same database) take turns as this process's writers do.
    /// Otherwise two replicas read the same last log index and PostgreSQL refuses the second
    /// insert, or SQLite cannot turn a reading transaction into a writing one ("database is
    /// locked"). Readers are not blocked.
    async fn begin_write(&self) -> Result<DatabaseTransaction> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let db = self.write_db.as_ref().unwrap_or(&self.db);
        let tx = db.begin_with_options(options).await?;
        if self.backend() == DbBackend::Postgres {
            tx.execute_unprepared("LOCK TABLE signed_write IN EXCLUSIVE MODE")
                .await?;
        }
        Ok(tx)
    }

    /// Applies a validated, authenticated write and stores its envelope, atomically.
    /// An envelope accepted before (same id) returns the first result and writes nothing; another
    /// envelope with the same signer and nonce is refused. Checked here, under the write lock,
    /// so that racing duplicates cannot both be applied.
    pub async fn apply(
        &self,
        envelope: &EnvelopeRecord,
        signer: &Signer,
        command: Command,
    ) -> Result<(StoredWrite, bool)> {
        let turn = self.writer.clone().lock_owned().await;
        let tx = self.begin_write().await?;
        let log_index = next_log_index(&tx).await?;
        let now = Deferring {
            tx: &tx,
            queue: None,
            background: None,
        };
        let (stored, replayed) = apply_in(&now, envelope, signer, command, log_index, None).await?;
        if replayed {
            return Ok((stored, true));
        }
        self.commit_counted(tx, turn).await?;
        self.sync_log().await?;
        Ok((stored, false))
    }

    /// Commits a write transaction, counted for the other processes on the database (see
    /// commits.rs) before the caller acknowledges anything, and releases the write lock `turn`
    /// once the commit has ended.
    ///
    /// The commit runs in a task of its own, which ends whatever becomes of the caller: a caller
    /// dropped while it waits (a client that cancels its call, or whose deadline passes) no
    /// longer counts the commit as finished while the database's driver still carries it out.
    /// Counted early, the commit let a read take the log size from before it under the count
    /// after it, and every later read served that old state until the next write.
    async fn commit_counted<T: Send + 'static>(&self, tx: DatabaseTransaction, turn: T) -> Result<()> {
        let commits = self.commits.clone();
        let committed = tokio::spawn(async move {
            let counted = commits.begin();
            let committed = tx.commit().await;
            drop(counted);
            drop(turn);
            committed
        });
        committed
            .await
            .map_err(|e| DomainError::Storage(format!("a commit stopped: {e}")))?
            .map_err(Into::into)
    }

    /// Opens a batch: many writes in one transaction under the write lock, committed together.
    ///
    /// With `defer`, the batch queues the rows its writes insert, log rows included, and sends
    /// them as one multi-row insert a table before its next other statement and at commit (see
    /// rows.rs). It does not look nonces or new key ids up: the unique indexes on envelope id,
    /// on signer and nonce, and on key id refuse the batch if any write repeats one (a replay,
    /// a reused nonce, a registered key). The caller then applies the writes again in a batch
    /// without `defer`, which tells replays from refusals write by write.
    ///
    /// `verified` holds the ids of envelopes whose signatures the caller verified before the
    /// batch (see [`Store::registered_keys`]); a deferred batch checks the others' signatures on
    /// other threads while it goes on, before it commits.
    pub async fn begin_batch(&self, defer: bool, verified: HashSet<String>) -> Result<WriteBatch> {
        let turn = self.writer.clone().lock_owned().await;
        let tx = self.begin_write().await?;
        let next = next_log_index(&tx).await?;
        Ok(WriteBatch {
            store: self.clone(),
            tx: Arc::new(tx),
            next: std::sync::atomic::AtomicI64::new(next),
            memo: Default::default(),
            known: Default::default(),
            queue: defer.then(Default::default),
            in_flight: Default::default(),
            checks: Default::default(),
            verified,
            turn: Arc::new(turn),
        })
    }

    /// The public keys registered under `key_ids`, by key id (ids not registered are left out).
    pub async fn registered_keys(&self, key_ids: &[&str]) -> Result<HashMap<String, [u8; 32]>> {
        let mut found = HashMap::new();
        for chunk in key_ids.chunks(IN_LIST_MAX) {
            let rows = actor_key::Entity::find()
                .filter(actor_key::Column::KeyId.is_in(chunk.iter().copied()))
                .all(&self.db)
                .await?;
            for row in rows {
                let key = super::catalogue::key_from_row(row)?;
                found.insert(key.key_id, key.public_key);
            }
        }
        Ok(found)
    }

    /// Whether any of the envelopes `ids` is in the log already.
    pub async fn any_logged(&self, ids: &[&str]) -> Result<bool> {
        for chunk in ids.chunks(IN_LIST_MAX) {
            let logged = signed_write::Entity::find()
                .select_only()
                .column(signed_write::Column::LogIndex)
                .filter(signed_write::Column::Id.is_in(chunk.iter().copied()))
                .limit(1)
                .into_tuple::<i64>()
                .one(&self.db)
                .await?;
            if logged.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Most values in one `IN (...)` list: within every backend's limit on bound parameters.
const IN_LIST_MAX: usize = 500;

/// Writes applied in one transaction, holding the write lock until committed or dropped
/// (dropping rolls every write in it back). Its reads see its own writes, so each write is
/// checked against the registry as the batch's earlier writes left it.
pub struct WriteBatch {
    store: Store,
    /// Shared with a background send of queued rows while one runs (see rows.rs).
    tx: Arc<DatabaseTransaction>,
    next: std::sync::atomic::AtomicI64,
    memo: std::sync::Mutex<Memo>,
    known: Known,
    /// Rows waiting to be inserted (see [`Store::begin_batch`]).
    queue: Option<std::sync::Mutex<Pending>>,
    /// Queued rows being sent in the background (SQLite).
    in_flight: InFlight,
    /// With deferred rows, the writes' signature checks, run on blocking threads while the
    /// batch goes on; all of them must pass before it commits.
    checks: std::sync::Mutex<SignatureChecks>,
    /// Envelopes (by id) whose signatures were verified before the batch began.
    verified: HashSet<String>,
    /// The write lock, held until the batch and any background send of its rows are done.
    turn: Arc<tokio::sync::OwnedMutexGuard<()>>,
}

/// Signatures a deferred batch checks on other threads.
#[derive(Default)]
struct SignatureChecks {
    waiting: Vec<SignatureCheck>,
    running: Vec<tokio::task::JoinHandle<bool>>,
}

/// What one signature check needs.
pub struct SignatureCheck {
    pub public_key: [u8; 32],
    pub rpc: String,
    pub command: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Signatures checked by one blocking task: enough that starting it costs little beside them.
pub const CHECKS_PER_TASK: usize = 32;

/// Checks `checks` on a blocking thread: whether every signature verifies.
pub fn verify_on_blocking_thread(checks: Vec<SignatureCheck>) -> tokio::task::JoinHandle<bool> {
    tokio::task::spawn_blocking(move || {
        checks.iter().all(|check| {
            crate::domain::envelope::verify(&check.public_key, &check.rpc, &check.command, &check.signature)
                .is_ok()
        })
    })
}

impl SignatureChecks {
    /// Starts checking the waiting signatures on a blocking thread.
    fn start(&mut self) {
        if self.waiting.is_empty() {
            return;
        }
        self.running
            .push(verify_on_blocking_thread(std::mem::take(&mut self.waiting)));
    }
}

/// Signer lookups made in a batch, reused by its later writes (most writes of a batch share a
/// few signers), and the keys and providers its writes registered.
#[derive(Default)]
struct Memo {
    keys: HashMap<String, Option<(String, ActorKey)>>,
    active: HashMap<(String, i64), bool>,
}

impl Memo {
    /// Forgets what `command` may change: nothing for a command that touches no key or actor;
    /// for one that only adds keys or actors, the keys not found and actors not active (a key or
    /// actor found before stays as it was); for any other, everything.
    fn before(&mut self, command: &Command) {
        match command {
            Command::AddFramework(_)
            | Command::RecordAccreditation(_)
            | Command::ChangeAccreditationStatus { .. }
            | Command::PublishQualification(_)
            | Command::ReviseQualification { .. }
            | Command::WithdrawQualification { .. }
            | Command::PublishRecognition(_)
            | Command::RetractRecognition { .. } => {}
            Command::AdmitQaAgency { .. }
            | Command::AdmitRecognitionBody { .. }
            | Command::RegisterProvider { .. }
            | Command::AddKey { .. } => {
                self.keys.retain(|_, found| found.is_some());
                self.active.retain(|_, active| *active);
            }
            _ => *self = Memo::default(),
        }
    }

    /// Remembers the keys a write registered with their actor, and a new provider as active
    /// at `at` (a provider is active from its registration on).
    fn learn(&mut self, applied: &Applied, at: Timestamp) {
        let (owner, keys) = match applied {
            Applied::Provider(Keyed { item, keys }) => {
                self.active.insert((item.id.clone(), at.as_micros()), true);
                (&item.id, keys)
            }
            Applied::QaAgency(Keyed { item, keys }) => (&item.id, keys),
            Applied::RecognitionBody(Keyed { item, keys }) => (&item.id, keys),
            _ => return,
        };
        for key in keys {
            self.keys
                .insert(key.key_id.clone(), Some((owner.clone(), key.clone())));
        }
    }
}

impl WriteBatch {
    /// The batch's transaction as its writes use it.
    fn view(&self) -> Deferring<'_> {
        let background = (self.queue.is_some() && self.tx.get_database_backend() == DbBackend::Sqlite)
            .then_some(Background {
                tx: &self.tx,
                turn: &self.turn,
                in_flight: &self.in_flight,
            });
        Deferring {
            tx: &self.tx,
            queue: self.queue.as_ref(),
            background,
        }
    }

    /// Commits every write of the batch and brings the in-memory log up to date. With deferred
    /// rows, fails (and rolls everything back) unless every signature checked on another thread
    /// verified.
    pub async fn commit(self) -> Result<()> {
        let running = {
            let mut checks = self.checks.lock().expect("signature checks");
            checks.start();
            std::mem::take(&mut checks.running)
        };
        // The last rows go to the database while the last signatures are checked.
        self.view().send().await?;
        for task in running {
            let verified = task
                .await
                .map_err(|e| DomainError::Storage(format!("a signature check stopped: {e}")))?;
            if !verified {
                return Err(DomainError::Unauthenticated(
                    "envelope.signature: a write of the batch does not verify".into(),
                ));
            }
        }
        let WriteBatch { store, tx, turn, .. } = self;
        // Every background send finished in `send` above, and dropped its share.
        let tx = Arc::try_unwrap(tx)
            .map_err(|_| DomainError::Storage("a send of queued rows still holds the batch".into()))?;
        store.commit_counted(tx, turn).await?;
        store.sync_log().await?;
        Ok(())
    }
}

/// Where a write's checks read and its change goes: a transaction of its own, or a batch.
#[derive(Clone, Copy)]
pub enum WriteTarget<'a> {
    Single(&'a Store),
    Batch(&'a WriteBatch),
}

impl WriteTarget<'_> {
    /// Checks the signature of envelope `envelope_id`: at once; or, in a batch with deferred
    /// rows, not again if it was verified before the batch began, else on another thread before
    /// the batch commits (a signature that does not verify then fails the batch, and the caller
    /// applies its writes again, each checked at once).
    pub fn verify(
        &self,
        envelope_id: &str,
        public_key: &[u8; 32],
        rpc: &str,
        command: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        match self {
            WriteTarget::Batch(batch) if batch.queue.is_some() && batch.verified.contains(envelope_id) => {
                Ok(())
            }
            WriteTarget::Batch(batch) if batch.queue.is_some() => {
                let mut checks = batch.checks.lock().expect("signature checks");
                checks.waiting.push(SignatureCheck {
                    public_key: *public_key,
                    rpc: rpc.to_owned(),
                    command: command.to_vec(),
                    signature: signature.to_vec(),
                });
                if checks.waiting.len() >= CHECKS_PER_TASK {
                    checks.start();
                }
                Ok(())
            }
            _ => crate::domain::envelope::verify(public_key, rpc, command, signature),
        }
    }

    pub async fn key(&self, key_id: &str) -> Result<Option<(String, ActorKey)>> {
        match self {
            WriteTarget::Single(store) => key_on(&store.db, key_id).await,
            WriteTarget::Batch(batch) => {
                if let Some(found) = batch.memo.lock().expect("memo lock").keys.get(key_id) {
                    return Ok(found.clone());
                }
                let found = key_on(&batch.view(), key_id).await?;
                let mut memo = batch.memo.lock().expect("memo lock");
                memo.keys.insert(key_id.to_owned(), found.clone());
                Ok(found)
            }
        }
    }

    pub async fn signed_write_by_nonce(&self, signer_id: &str, nonce: &str) -> Result<Option<StoredWrite>> {
        match self {
            WriteTarget::Single(store) => by_nonce_on(&store.db, signer_id, nonce).await,
            // A batch with deferred rows leaves the check to the unique index at commit.
            WriteTarget::Batch(batch) if batch.queue.is_some() => Ok(None),
            WriteTarget::Batch(batch) => by_nonce_on(&batch.view(), signer_id, nonce).await,
        }
    }

    pub async fn actor_active_at(&self, actor_id: &str, at: Timestamp) -> Result<bool> {
        match self {
            WriteTarget::Single(store) => active_on(&store.db, actor_id, at).await,
            WriteTarget::Batch(batch) => {
                let memo_key = (actor_id.to_owned(), at.as_micros());
                if let Some(active) = batch.memo.lock().expect("memo lock").active.get(&memo_key) {
                    return Ok(*active);
                }
                let active = active_on(&batch.view(), actor_id, at).await?;
                batch
                    .memo
                    .lock()
                    .expect("memo lock")
                    .active
                    .insert(memo_key, active);
                Ok(active)
            }
        }
    }

    /// Applies a write whose nonce the pipeline checked through this same target.
    pub async fn apply(
        &self,
        envelope: &EnvelopeRecord,
        signer: &Signer,
        command: Command,
    ) -> Result<(StoredWrite, bool)> {
        match self {
            WriteTarget::Single(store) => store.apply(envelope, signer, command).await,
            WriteTarget::Batch(batch) => {
                use std::sync::atomic::Ordering;
                // The pipeline read the nonce inside this transaction: no second look needed.
                batch.memo.lock().expect("memo lock").before(&command);
                let index = batch.next.load(Ordering::SeqCst);
                let result = apply_in(
                    &batch.view(),
                    envelope,
                    signer,
                    command,
                    index,
                    Some(&batch.known),
                )
                .await?;
                batch.next.store(index + 1, Ordering::SeqCst);
                let applied = &result.0.applied;
                batch
                    .memo
                    .lock()
                    .expect("memo lock")
                    .learn(applied, envelope.received_at);
                batch.known.learn(applied);
                Ok(result)
            }
        }
    }
}

/// The refusal of a nonce used before with other bytes.
pub fn nonce_reused(previous_envelope_id: &str) -> DomainError {
    DomainError::AlreadyExists(format!(
        "header.nonce was already used by this signer (envelope {previous_envelope_id}) with a different command; \
         use a fresh nonce"
    ))
}

async fn apply_command(
    tx: &impl Rows,
    envelope: &EnvelopeRecord,
    signer: &Signer,
    command: Command,
    known: &Known,
) -> Result<Applied> {
    let now = envelope.received_at;
    match command {
        Command::AdmitQaAgency { agency, keys } => {
            ensure_new_keys(tx, &keys).await?;
            ensure_free_identifiers(tx, &agency.identifiers).await?;
            insert_qa_agency(tx, &agency, &keys).await?;
            Ok(Applied::QaAgency(Keyed { item: agency, keys }))
        }
        Command::RetireQaAgency {
            agency_id,
            retired_at,
            reason: _,
        } => {
            let mut agency: QaAgency = doc_by_id::<qa_agency::Entity, _>(tx, &agency_id, "QA agency").await?;
            check_retirement(agency.admitted_at, agency.retired_at, retired_at)?;
            agency.retired_at = Some(retired_at);
            update_qa_agency(tx, &agency).await?;
            let keys = keys_of(tx, &agency.id).await?;
            Ok(Applied::QaAgency(Keyed { item: agency, keys }))
        }
        Command::AdmitRecognitionBody { body, keys } => {
            ensure_new_keys(tx, &keys).await?;
            ensure_free_identifiers(tx, &body.identifiers).await?;
            insert_recognition_body(tx, &body, &keys).await?;
            Ok(Applied::RecognitionBody(Keyed { item: body, keys }))
        }
        Command::RetireRecognitionBody {
            body_id,
            retired_at,
            reason: _,
        } => {
            let mut body: RecognitionBody =
                doc_by_id::<recognition_body::Entity, _>(tx, &body_id, "recognition body").await?;
            check_retirement(body.admitted_at, body.retired_at, retired_at)?;
            body.retired_at = Some(retired_at);
            update_recognition_body(tx, &body).await?;
            let keys = keys_of(tx, &body.id).await?;
            Ok(Applied::RecognitionBody(Keyed { item: body, keys }))
        }
        Command::AddFramework(framework) => {
            if framework::Entity::find_by_id(framework.id.as_str())
                .one(tx)
                .await?
                .is_some()
            {
                return Err(DomainError::AlreadyExists(format!(
                    "framework {} exists already",
                    framework.id
                )));
            }
            insert_framework(tx, &framework).await?;
            Ok(Applied::Framework(framework))
        }
        Command::RegisterProvider { mut provider, keys } => {
            ensure_new_keys(tx, &keys).await?;
            ensure_free_identifiers(tx, &provider.identifiers).await?;
            provider.registered_by = signer.actor_id.clone();
            provider.registered_at = now;
            insert_provider(tx, &provider, &keys).await?;
            Ok(Applied::Provider(Keyed { item: provider, keys }))
        }
        Command::RecordAccreditation(mut accreditation) => {
            if !known.provider_exists(tx, &accreditation.provider_id).await? {
                return Err(not_registered("provider_id", "provider"));
            }
            accreditation.agency_id = signer.actor_id.clone();
            accreditation.recorded_at = now;
            let history = initial_history(&accreditation);
            insert_accreditation(tx, &accreditation, &history).await?;
            Ok(Applied::Accreditation(AccreditationRecord {
                accreditation,
                history,
            }))
        }
        Command::ChangeAccreditationStatus {
            accreditation_id,
            status,
            effective_at,
            reason,
        } => {
            // Recorded earlier in this batch and still queued: replaced in the queue, nothing
            // read or deleted. (A refused write fails a batch with a queue as a whole, so rows
            // taken out here never need putting back.)
            let queued = tx.take_queued_accreditation(&accreditation_id);
            let (accreditation, history) = match queued.as_ref() {
                Some(QueuedAccreditation { row, statuses }) => {
                    let doc = row.doc.try_as_ref().ok_or_else(|| {
                        DomainError::Storage(format!(
                            "queued accreditation {accreditation_id} has no document"
                        ))
                    })?;
                    let history = statuses
                        .iter()
                        .map(|status| {
                            period_from_row(&sea_orm::TryIntoModel::try_into_model(status.clone())?)
                        })
                        .collect::<Result<Vec<_>>>()?;
                    (from_doc::<Accreditation>(doc)?, history)
                }
                None => {
                    let accreditation: Accreditation =
                        doc_by_id::<accreditation::Entity, _>(tx, &accreditation_id, "accreditation").await?;
                    let history = history_of(tx, &accreditation.id).await?;
                    (accreditation, history)
                }
            };
            signer.require_owner(
                format_args!("accreditation {accreditation_id}"),
                &accreditation.agency_id,
            )?;
            let history = change_status(accreditation.decision, &history, status, effective_at, &reason)?;
            if queued.is_some() {
                insert_accreditation(tx, &accreditation, &history).await?;
            } else {
                replace_history(tx, &accreditation, &history).await?;
            }
            Ok(Applied::Accreditation(AccreditationRecord {
                accreditation,
                history,
            }))
        }
        Command::PublishQualification(mut qualification) => {
            qualification.provider_id = signer.actor_id.clone();
            if !qualification
                .awarding_body_ids
                .contains(&qualification.provider_id)
            {
                qualification
                    .awarding_body_ids
                    .insert(0, qualification.provider_id.clone());
            }
            qualification.published_at = now;
            qualification.version = 1;
            check_description(tx, &mut qualification, known).await?;
            insert_qualification(tx, &qualification).await?;
            Ok(Applied::Qualification(qualification))
        }
        Command::ReviseQualification {
            qualification_id,
            description,
        } => {
            let current: Qualification =
                doc_by_id::<qualification::Entity, _>(tx, &qualification_id, "qualification").await?;
            signer.require_owner(
                format_args!("qualification {qualification_id}"),
                &current.provider_id,
            )?;
            if current.withdrawn_at.is_some() {
                return Err(DomainError::FailedPrecondition(format!(
                    "qualification {qualification_id} is withdrawn"
                )));
            }
            let mut revised = description;
            revised.id = current.id.clone();
            revised.provider_id = current.provider_id.clone();
            if !revised.awarding_body_ids.contains(&revised.provider_id) {
                revised.awarding_body_ids.insert(0, revised.provider_id.clone());
            }
            revised.published_at = current.published_at;
            revised.withdrawn_at = None;
            revised.version = current.version + 1;
            check_description(tx, &mut revised, known).await?;
            replace_qualification(tx, &revised).await?;
            Ok(Applied::Qualification(revised))
        }
        Command::WithdrawQualification {
            qualification_id,
            withdrawn_at,
            reason: _,
        } => {
            let mut qualification: Qualification =
                doc_by_id::<qualification::Entity, _>(tx, &qualification_id, "qualification").await?;
            signer.require_owner(
                format_args!("qualification {qualification_id}"),
                &qualification.provider_id,
            )?;
            if qualification.withdrawn_at.is_some() {
                return Err(DomainError::FailedPrecondition(format!(
                    "qualification {qualification_id} is withdrawn already"
                )));
            }
            let withdrawn_at =
                withdrawn_at.unwrap_or_else(|| envelope.issued_at.max(qualification.published_at));
            if withdrawn_at < qualification.published_at {
                return Err(DomainError::invalid(
                    "withdrawn_at",
                    "must not be before the publication",
                ));
            }
            qualification.withdrawn_at = Some(withdrawn_at);
            replace_qualification(tx, &qualification).await?;
            Ok(Applied::Qualification(qualification))
        }
        Command::PublishRecognition(mut recognition) => {
            exists(
                tx,
                qualification::Entity::find_by_id(recognition.qualification_id.as_str()),
                "qualification_id",
                "qualification",
            )
            .await?;
            recognition.body_id = signer.actor_id.clone();
            insert_recognition(tx, &recognition).await?;
            Ok(Applied::Recognition(recognition))
        }
        Command::RetractRecognition {
            recognition_id,
            retracted_at,
            reason: _,
        } => {
            let mut recognition: Recognition =
                doc_by_id::<recognition::Entity, _>(tx, &recognition_id, "recognition").await?;
            signer.require_owner(format_args!("recognition {recognition_id}"), &recognition.body_id)?;
            if recognition.retracted_at.is_some() {
                return Err(DomainError::FailedPrecondition(format!(
                    "recognition {recognition_id} is retracted already"
                )));
            }
            if retracted_at < recognition.decided_at {
                return Err(DomainError::invalid(
                    "retracted_at",
                    format!(
                        "must not be before the decision (decided_at {})",
                        recognition.decided_at.to_rfc3339()
                    ),
                ));
            }
            recognition.retracted_at = Some(retracted_at);
            update_recognition(tx, &recognition).await?;
            Ok(Applied::Recognition(recognition))
        }
        Command::AddKey { actor_id, key } => {
            let owner = key_target(tx, signer, actor_id).await?;
            ensure_new_keys(tx, std::slice::from_ref(&key)).await?;
            add_keys(tx, &owner, std::slice::from_ref(&key)).await?;
            Ok(Applied::Key(key))
        }
        Command::RotateKey {
            actor_id,
            old_key_id,
            mut new_key,
            rotate_at,
        } => {
            let owner = key_target(tx, signer, actor_id).await?;
            let mut old_key = owned_key(tx, &owner, &old_key_id, "old_key_id").await?;
            if !old_key.usable_at(rotate_at) {
                return Err(DomainError::FailedPrecondition(format!(
                    "key {old_key_id} is not valid at {}; revoke it or add a key instead",
                    rotate_at.to_rfc3339()
                )));
            }
            ensure_new_keys(tx, std::slice::from_ref(&new_key)).await?;
            old_key.valid_until = Some(rotate_at);
            new_key.valid_from = rotate_at;
            update_key(tx, &owner, &old_key).await?;
            add_keys(tx, &owner, std::slice::from_ref(&new_key)).await?;
            Ok(Applied::KeyRotation { old_key, new_key })
        }
        Command::RevokeKey {
            actor_id,
            key_id,
            revoked_at,
            reason,
        } => {
            let owner = key_target(tx, signer, actor_id).await?;
            let mut key = owned_key(tx, &owner, &key_id, "key_id").await?;
            // A revocation may be brought forward (a key revoked from a future date and then
            // compromised must stop signing now), never put off.
            if let Some(revoked) = key.revoked_at
                && revoked_at >= revoked
            {
                return Err(DomainError::FailedPrecondition(format!(
                    "key {key_id} is revoked already, from {}; a revocation can only be brought forward",
                    revoked.to_rfc3339()
                )));
            }
            key.revoked_at = Some(revoked_at);
            key.revocation_reason = reason;
            update_key(tx, &owner, &key).await?;
            Ok(Applied::Key(key))
        }
    }
}

/// The stored document of the `kind` with primary key `id` (its `doc` column alone), decoded;
/// not found when there is none.
async fn doc_by_id<E, T>(tx: &impl ConnectionTrait, id: &str, kind: &'static str) -> Result<T>
where
    E: EntityTrait,
    String: Into<<E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType>,
    T: serde::de::DeserializeOwned,
{
    let doc: Option<String> = E::find_by_id(id.to_owned())
        .select_only()
        .column_as(
            sea_orm::sea_query::Expr::col(sea_orm::sea_query::Alias::new("doc")),
            "doc",
        )
        .into_tuple()
        .one(tx)
        .await?;
    from_doc(&doc.ok_or_else(|| DomainError::not_found(kind, id))?)
}

async fn exists<E: EntityTrait>(
    tx: &impl ConnectionTrait,
    select: sea_orm::Select<E>,
    field: impl std::fmt::Display,
    kind: &str,
) -> Result<()> {
    if select.one(tx).await?.is_some() {
        Ok(())
    } else {
        Err(not_registered(field, kind))
    }
}

/// The refusal of a `field` that names no registered `kind`.
fn not_registered(field: impl std::fmt::Display, kind: &str) -> DomainError {
    DomainError::invalid(field, format!("names no registered {kind}"))
}

/// A retirement may be brought forward (an agency or body retired from a future date whose
/// decisions must stop counting sooner), never put off.
fn check_retirement(admitted_at: Timestamp, retired_at: Option<Timestamp>, at: Timestamp) -> Result<()> {
    if let Some(retired) = retired_at
        && at >= retired
    {
        return Err(DomainError::FailedPrecondition(format!(
            "retired already, from {}; a retirement can only be brought forward",
            retired.to_rfc3339()
        )));
    }
    if at <= admitted_at {
        return Err(DomainError::invalid("retired_at", "must be after the admission"));
    }
    Ok(())
}

/// Refuses a key whose id is registered already. Left to the unique index on key id when the
/// insert is deferred (see rows.rs): a repeated id then fails the batch.
async fn ensure_new_keys(tx: &impl Rows, keys: &[ActorKey]) -> Result<()> {
    if tx.defers() {
        return Ok(());
    }
    for key in keys {
        if actor_key::Entity::find_by_id(key.key_id.as_str())
            .one(tx)
            .await?
            .is_some()
        {
            return Err(DomainError::AlreadyExists(format!(
                "key {} is registered already",
                key.key_id
            )));
        }
    }
    Ok(())
}

/// Refuses an external identifier that another actor holds for a time that overlaps the new
/// binding's validity. An identifier (a DID, a DEQAR id ...) names the issuer in trust queries:
/// two actors holding it at once would let the later registration answer for the earlier one
/// wherever the earlier binding does not cover the time asked about.
async fn ensure_free_identifiers(
    tx: &impl ConnectionTrait,
    identifiers: &[ExternalIdentifier],
) -> Result<()> {
    for (index, identifier) in identifiers.iter().enumerate() {
        let bound = external_identifier::Entity::find()
            .filter(external_identifier::Column::Scheme.eq(identifier.scheme.as_str()))
            .filter(external_identifier::Column::Value.eq(identifier.value.as_str()))
            .all(tx)
            .await?;
        let overlapping = bound.into_iter().find(|row| {
            let starts_before_end = match (row.valid_from, identifier.valid_until) {
                (Some(from), Some(until)) => from < until.as_micros(),
                _ => true,
            };
            let ends_after_start = match (row.valid_until, identifier.valid_from) {
                (Some(until), Some(from)) => from.as_micros() < until,
                _ => true,
            };
            starts_before_end && ends_after_start
        });
        if let Some(row) = overlapping {
            return Err(DomainError::AlreadyExists(format!(
                "{}: {} {} is bound to {} for a time that overlaps this binding's validity; \
                 an identifier names one actor at a time",
                Item("identifiers", index),
                identifier.scheme.as_str(),
                identifier.value,
                row.owner_id
            )));
        }
    }
    Ok(())
}

async fn keys_of(tx: &impl ConnectionTrait, owner_id: &str) -> Result<Vec<ActorKey>> {
    let rows = actor_key::Entity::find()
        .filter(actor_key::Column::OwnerId.eq(owner_id))
        .order_by_asc(actor_key::Column::ValidFrom)
        .order_by_asc(actor_key::Column::KeyId)
        .all(tx)
        .await?;
    rows.into_iter().map(super::catalogue::key_from_row).collect()
}

async fn history_of(tx: &impl ConnectionTrait, accreditation_id: &str) -> Result<Vec<StatusPeriod>> {
    let rows = accreditation_status::Entity::find()
        .filter(accreditation_status::Column::AccreditationId.eq(accreditation_id))
        .order_by_asc(accreditation_status::Column::Seq)
        .all(tx)
        .await?;
    rows.iter().map(period_from_row).collect()
}

/// The actor whose keys a key command changes: the signer's own, or any for the operator.
async fn key_target(tx: &impl ConnectionTrait, signer: &Signer, actor_id: Option<String>) -> Result<String> {
    let target = actor_id.unwrap_or_else(|| signer.actor_id.clone());
    if target != signer.actor_id && signer.role != Role::Operator {
        return Err(DomainError::PermissionDenied(format!(
            "{} may manage only its own keys, not those of {target}",
            signer.actor_id
        )));
    }
    let found = match role_of_actor(&target) {
        Some(Role::QaAgency) => qa_agency::Entity::find_by_id(target.as_str())
            .one(tx)
            .await?
            .is_some(),
        Some(Role::Provider) => provider::Entity::find_by_id(target.as_str())
            .one(tx)
            .await?
            .is_some(),
        Some(Role::RecognitionBody) => recognition_body::Entity::find_by_id(target.as_str())
            .one(tx)
            .await?
            .is_some(),
        _ => {
            return Err(DomainError::FailedPrecondition(
                "the operator key comes from configuration; change it there".into(),
            ));
        }
    };
    if found {
        Ok(target)
    } else {
        Err(DomainError::not_found("actor", target))
    }
}

async fn owned_key(tx: &impl ConnectionTrait, owner: &str, key_id: &str, field: &str) -> Result<ActorKey> {
    let row = actor_key::Entity::find_by_id(key_id).one(tx).await?;
    match row {
        Some(row) if row.owner_id == owner => super::catalogue::key_from_row(row),
        _ => Err(DomainError::invalid(field, format!("names no key of {owner}"))),
    }
}

/// Checks a qualification description against the registry and fills in the EQF level.
async fn check_description(
    tx: &impl ConnectionTrait,
    qualification: &mut Qualification,
    known: &Known,
) -> Result<()> {
    if let Some(level) = qualification.level.as_mut() {
        let framework = match known.framework(tx, &level.framework_id).await? {
            Some(framework) => framework,
            None => {
                return Err(DomainError::invalid(
                    "description.framework_id",
                    "names no registered framework",
                ));
            }
        };
        let found = framework.level(&level.level_code).ok_or_else(|| {
            DomainError::invalid(
                "description.level_code",
                format!("is not a level of framework {}", framework.id),
            )
        })?;
        level.eqf_level = found.eqf_level;
    }
    for (index, awarding) in qualification.awarding_body_ids.iter().enumerate() {
        if *awarding == qualification.provider_id {
            // The publisher: an active provider, checked before the write was applied.
            continue;
        }
        exists(
            tx,
            provider::Entity::find_by_id(awarding.as_str()),
            Item("description.awarding_body_ids", index),
            "provider",
        )
        .await?;
    }
    for (index, accreditation_id) in qualification
        .quality_assurance
        .accreditation_ids
        .iter()
        .enumerate()
    {
        let provider = known.accreditation_provider(tx, accreditation_id).await?;
        if provider.as_deref() != Some(qualification.provider_id.as_str()) {
            return Err(DomainError::invalid(
                Item("description.quality_assurance.accreditation_ids", index),
                "names no accreditation of this provider",
            ));
        }
    }
    for (index, target) in qualification.stackability.stacks_into.iter().enumerate() {
        if *target == qualification.id {
            return Err(DomainError::invalid(
                Item("description.stackability.stacks_into", index),
                "must not name the qualification itself",
            ));
        }
        exists(
            tx,
            qualification::Entity::find_by_id(target.as_str()),
            Item("description.stackability.stacks_into", index),
            "qualification",
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::task::Poll;

    use super::*;

    /// Inserts log entry `index` (a bare row: the freshness check reads the log's size alone).
    async fn log_row(tx: &DatabaseTransaction, index: i64) {
        let row = signed_write::ActiveModel {
            log_index: Set(index),
            id: Set(format!("envelope {index}")),
            rpc: Set("rpc".into()),
            command: Set(vec![1]),
            key_id: Set("key".into()),
            signature: Set(vec![0; 64]),
            signer_id: Set("signer".into()),
            nonce: Set(format!("nonce {index}")),
            issued_at: Set(0),
            received_at: Set(0),
            applied: Set("null".into()),
            leaf_hash: Set(vec![7; 32]),
        };
        signed_write::Entity::insert(row).exec(tx).await.unwrap();
    }

    /// A write whose caller is dropped while its commit is under way (a cancelled call) is
    /// still seen by the reads after that commit: the commit was counted as finished when the
    /// caller was dropped, while SQLite's driver thread still had it to do, so a read at that
    /// moment took the log size from before it under the count after it, and every later read
    /// trusted that old size until the next write.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_commit_whose_caller_is_dropped_is_seen_by_later_reads() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("r.db").display());
        let store = Store::open(&url, &super::super::StoreOptions::default())
            .await
            .unwrap();
        for index in 0..20 {
            assert_eq!(store.generation().await.unwrap().log_size, index as u64);
            let turn = store.writer.clone().lock_owned().await;
            let tx = store.begin_write().await.unwrap();
            log_row(&tx, index).await;
            let mut commit = Box::pin(store.commit_counted(tx, turn));
            // Polled once, so that the commit is under way (or done), then dropped.
            let _ = std::future::poll_fn(|cx| Poll::Ready(commit.as_mut().poll(cx))).await;
            drop(commit);
            // A read while the commit is under way may or may not see it.
            store.generation().await.unwrap();
            // Once it has been carried out and counted, every read sees it.
            while next_log_index(&store.db).await.unwrap() <= index || store.commits.settled().is_none() {
                tokio::task::yield_now().await;
            }
            assert_eq!(
                store.generation().await.unwrap().log_size,
                index as u64 + 1,
                "write {index}, committed after its caller was dropped, is seen"
            );
        }
    }

    /// A database opened by two names (one a symbolic link to the file, which SQLite follows)
    /// counts its commits in one place: a write through one name is seen by the next read
    /// through the other, whose generation was taken before it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_through_one_name_of_the_file_is_seen_through_another() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("r.db");
        let link = dir.path().join("link.db");
        let options = super::super::StoreOptions::default();
        let writer = Store::open(&format!("sqlite://{}?mode=rwc", file.display()), &options)
            .await
            .unwrap();
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let reader = Store::open(&format!("sqlite://{}", link.display()), &options)
            .await
            .unwrap();
        assert_eq!(reader.generation().await.unwrap().log_size, 0);
        let turn = writer.writer.clone().lock_owned().await;
        let tx = writer.begin_write().await.unwrap();
        log_row(&tx, 0).await;
        writer.commit_counted(tx, turn).await.unwrap();
        assert_eq!(
            next_log_index(&reader.db).await.unwrap(),
            1,
            "the reader's database has it"
        );
        assert_eq!(
            reader.generation().await.unwrap().log_size,
            1,
            "and its next read sees it"
        );
    }
}

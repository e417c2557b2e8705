//! Many writes in one transaction: the batch, its memo of signer lookups, its signature
//! checks on other threads, and the target (a write of its own or a batch) a write goes to.

use super::*;

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

impl Store {
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
            known: Known::reading_committed(self.direct.clone()),
            queue: defer.then(Default::default),
            in_flight: Default::default(),
            checks: Default::default(),
            verified,
            turn: Arc::new(turn),
        })
    }
}

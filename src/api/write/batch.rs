//! Batches of writes in one transaction: the import's, and a replayed log's.

use std::collections::HashSet;

use super::{Receipt, Writes};
use crate::domain::envelope;
use crate::domain::{DomainError, Timestamp};
use crate::pb;
use crate::store::{CHECKS_PER_TASK, SignatureCheck, WriteBatch, WriteTarget, verify_on_blocking_thread};

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

impl Writes {
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
        let receipts = match self.submit_all(&batch, writes, received_at).await {
            Ok(receipts) => receipts,
            Err((index, refusal)) => {
                // The refused write may have changed rows before failing: roll the whole batch
                // back and apply the writes before it again, which succeed as before.
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
        };
        batch.commit().await?;
        Ok(BatchOutcome {
            receipts,
            refused: None,
            retried,
        })
    }

    /// Submits `writes` in order into `batch`: their receipts, or the index of the first one
    /// refused with its refusal (the batch then holds whatever the writes before it changed).
    async fn submit_all(
        &self,
        batch: &WriteBatch,
        writes: &[(String, pb::SignedEnvelope)],
        received_at: Received<'_>,
    ) -> Result<Vec<Receipt>, (usize, DomainError)> {
        let mut receipts = Vec::with_capacity(writes.len());
        for (index, (rpc, envelope)) in writes.iter().enumerate() {
            let receipt = self
                .submit_any(
                    WriteTarget::Batch(batch),
                    rpc,
                    envelope.clone(),
                    received_at.of(index),
                )
                .await
                .map_err(|refusal| (index, refusal))?;
            receipts.push(receipt);
        }
        Ok(receipts)
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
        let Ok(receipts) = self.submit_all(&batch, writes, received_at).await else {
            return Ok(None);
        };
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
}

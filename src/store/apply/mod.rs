//! Applying accepted writes: each in one transaction together with its stored envelope, so
//! that no write is acknowledged without its record and no record exists without its write.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use super::accreditations::period_from_row;
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

mod batch;
mod checks;
mod command;
mod known;

pub use batch::{
    CHECKS_PER_TASK, SignatureCheck, WriteBatch, WriteTarget, nonce_reused, verify_on_blocking_thread,
};
use command::apply_command;
use known::Known;

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

#[cfg(test)]
mod tests;

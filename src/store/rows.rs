//! Where a write's inserted rows go: to the database at once, or, in a batch with deferred rows,
//! into a queue that is sent as one multi-row `INSERT` per table before the batch's next other
//! statement and at its commit.
//!
//! A deferred batch is the optimistic first try of an import (see
//! [`Store::begin_batch`](super::Store::begin_batch)): any failure of a queued insert (a key, id,
//! envelope or nonce that exists already) fails the batch, which is then rolled back and applied
//! again without deferral, write by write. Statements other than inserts (reads, updates,
//! deletes) send the queue first, so every read of the batch sees every earlier write of it.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, ExecResult, QueryResult, Statement,
};

use super::entity::*;

/// Most rows in one multi-row insert: at most 12 columns a table, so at most 12,000 bound values,
/// inside the limits of SQLite (32,766) and PostgreSQL (65,535).
const ROWS_PER_INSERT: usize = 1_000;

/// A row type that can wait in [`Pending`].
pub(super) trait Queued: ActiveModelTrait + Send + Sync + 'static {
    fn slot(pending: &mut Pending) -> &mut Vec<Self>;
}

macro_rules! pending_tables {
    ($($table:ident),+ $(,)?) => {
        /// Rows inserted by a deferred batch and not yet sent, by table.
        #[derive(Default)]
        pub(super) struct Pending {
            $($table: Vec<$table::ActiveModel>,)+
        }

        $(impl Queued for $table::ActiveModel {
            fn slot(pending: &mut Pending) -> &mut Vec<Self> {
                &mut pending.$table
            }
        })+

        impl Pending {
            pub(super) fn is_empty(&self) -> bool {
                true $(&& self.$table.is_empty())+
            }

            /// Sends every queued row, table by table (no table references another's rows).
            async fn send(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
                $(insert_now(db, self.$table).await?;)+
                Ok(())
            }
        }
    };
}

pending_tables!(
    framework,
    qa_agency,
    recognition_body,
    provider,
    external_identifier,
    actor_key,
    accreditation,
    accreditation_status,
    qualification,
    qualification_skill,
    recognition,
    signed_write,
);

/// Inserts `rows` now, in statements of at most [`ROWS_PER_INSERT`] rows.
async fn insert_now<A: Queued>(db: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), DbErr> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// A connection that inserts rows, at once or deferred.
#[async_trait::async_trait]
pub(super) trait Rows: ConnectionTrait {
    /// Inserts `rows` (all of one table), or queues them.
    async fn insert_rows<A: Queued>(&self, rows: Vec<A>) -> Result<(), DbErr>;

    /// Whether inserts wait for the batch's next statement or commit, so that a check that a
    /// unique index repeats (a new key's id) may be left to the index.
    fn defers(&self) -> bool {
        false
    }
}

#[async_trait::async_trait]
impl Rows for DatabaseConnection {
    async fn insert_rows<A: Queued>(&self, rows: Vec<A>) -> Result<(), DbErr> {
        insert_now(self, rows).await
    }
}

#[async_trait::async_trait]
impl Rows for DatabaseTransaction {
    async fn insert_rows<A: Queued>(&self, rows: Vec<A>) -> Result<(), DbErr> {
        insert_now(self, rows).await
    }
}

/// A write transaction as a batch's writes use it: with a queue, inserts wait in it and every
/// other statement sends it first.
///
/// On PostgreSQL only the log rows wait (for the commit; no write of a batch reads the log) and
/// other rows are inserted at once: queueing every table there made the bench's import three
/// times slower (363 against 1,177 writes/s at 1,000 providers), for reasons not yet found.
pub(super) struct Deferring<'a> {
    pub tx: &'a DatabaseTransaction,
    pub queue: Option<&'a std::sync::Mutex<Pending>>,
}

impl Deferring<'_> {
    /// Whether rows of every table wait in the queue (SQLite), or only log rows.
    fn holds_all(&self) -> bool {
        self.tx.get_database_backend() == DbBackend::Sqlite
    }

    /// Sends the queue before another statement, if rows of every table wait in it.
    async fn send_before_statement(&self) -> Result<(), DbErr> {
        if self.holds_all() {
            self.send().await?;
        }
        Ok(())
    }

    /// Sends the queued rows, if any.
    pub(super) async fn send(&self) -> Result<(), DbErr> {
        let Some(queue) = self.queue else {
            return Ok(());
        };
        let pending = std::mem::take(&mut *queue.lock().expect("row queue"));
        if pending.is_empty() {
            return Ok(());
        }
        pending.send(self.tx).await
    }
}

#[async_trait::async_trait]
impl Rows for Deferring<'_> {
    async fn insert_rows<A: Queued>(&self, rows: Vec<A>) -> Result<(), DbErr> {
        let log_rows = std::any::TypeId::of::<A>() == std::any::TypeId::of::<signed_write::ActiveModel>();
        match self.queue {
            Some(queue) if log_rows || self.holds_all() => {
                A::slot(&mut queue.lock().expect("row queue")).extend(rows);
                Ok(())
            }
            _ => insert_now(self.tx, rows).await,
        }
    }

    fn defers(&self) -> bool {
        self.queue.is_some()
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Deferring<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.tx.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.send_before_statement().await?;
        self.tx.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.send_before_statement().await?;
        self.tx.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.send_before_statement().await?;
        self.tx.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.send_before_statement().await?;
        self.tx.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.tx.support_returning()
    }
}

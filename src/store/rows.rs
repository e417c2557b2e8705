//! Where a write's inserted rows go: to the database at once, or, in a batch with deferred rows,
//! into a queue that is sent as one multi-row `INSERT` per table.
//!
//! A deferred batch is the optimistic first try of an import (see
//! [`Store::begin_batch`](super::Store::begin_batch)): any failure of a queued insert (a key, id,
//! envelope or nonce that exists already) fails the batch, which is then rolled back and applied
//! again without deferral, write by write.
//!
//! Every table's rows wait. A statement other than an insert (a read, an update, a delete) first
//! sends the queued rows of the tables it names, so every read of the batch sees every earlier
//! write of it; the rows of other tables keep waiting. On SQLite, once [`FLUSH_ROWS`] rows wait,
//! they are sent from a task of their own while the batch goes on computing its next writes;
//! the batch's next statement, and its commit, wait for that task first (and fail if its insert
//! failed). On PostgreSQL they wait for the next statement or the commit: sending them in the
//! background there made the bench's import slower (2,126-2,168 against 3,394-3,561 writes/s at
//! 3,000 providers, alternated), and still does with TCP_NODELAY set on the connections
//! (sqlx 0.9.1): 3,805-4,122 against 4,318-4,373 writes/s at 10,000 providers, alternated.

use std::sync::{Arc, Mutex};

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityName,
    EntityTrait, ExecResult, QueryResult, Statement,
};

use super::entity::*;

/// Most rows in one multi-row insert: at most 12 columns a table, so at most 12,000 bound values,
/// inside the limits of SQLite (32,766) and PostgreSQL (65,535).
const ROWS_PER_INSERT: usize = 1_000;

/// Queued rows (all tables together) at which a batch sends them in the background.
const FLUSH_ROWS: usize = 1_000;

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

            /// Rows waiting, all tables together.
            fn rows(&self) -> usize {
                0 $(+ self.$table.len())+
            }

            /// Takes the waiting rows of the tables `sql` names.
            fn take_named(&mut self, sql: &str) -> Pending {
                let mut taken = Pending::default();
                $(if !self.$table.is_empty() && names_table(sql, $table::Entity.table_name()) {
                    taken.$table = std::mem::take(&mut self.$table);
                })+
                taken
            }

            /// Sends every queued row, table by table (no table references another's rows).
            async fn send(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
                $(insert_queued(db, self.$table).await?;)+
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

/// Whether `sql` mentions `table` as a whole identifier (quoted or not): a statement can only
/// read or change a table it names. A mention that is not a table reference (in a string
/// literal, say) only sends rows earlier than needed.
fn names_table(sql: &str, table: &str) -> bool {
    let identifier = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let bytes = sql.as_bytes();
    sql.match_indices(table).any(|(at, _)| {
        let end = at + table.len();
        (at == 0 || !identifier(bytes[at - 1])) && (end == bytes.len() || !identifier(bytes[end]))
    })
}

/// Inserts `rows` now, in statements of at most [`ROWS_PER_INSERT`] rows.
async fn insert_now<A: Queued>(db: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), DbErr> {
    insert_in_statements(db, rows, false).await
}

/// Inserts queued rows inside a batch's transaction. On SQLite as `INSERT OR FAIL`: a constraint
/// failure stops the statement without undoing the rows it inserted before, which spares SQLite
/// the statement journal it otherwise keeps for every multi-row insert in a transaction; the
/// failure fails the batch, whose transaction is then rolled back whole. Measured at 10,000
/// providers: 7,686-7,851 writes/s against 6,611-7,482 with plain inserts, alternated.
async fn insert_queued<A: Queued>(db: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), DbErr> {
    let or_fail = db.get_database_backend() == DbBackend::Sqlite;
    insert_in_statements(db, rows, or_fail).await
}

/// Inserts `rows` in statements of at most [`ROWS_PER_INSERT`] rows; `or_fail` (SQLite only)
/// makes them `INSERT OR FAIL`.
async fn insert_in_statements<A: Queued>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    or_fail: bool,
) -> Result<(), DbErr> {
    use sea_orm::QueryTrait;
    let backend = db.get_database_backend();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        let mut statement = <A::Entity as EntityTrait>::insert_many(chunk).build(backend);
        if or_fail {
            statement.sql = statement.sql.replacen("INSERT INTO", "INSERT OR FAIL INTO", 1);
        }
        db.execute_raw(statement).await?;
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

    /// Takes the rows of accreditation `id` (its row and its status rows, in order) out of the
    /// queue if they still wait there, so that a later write of the batch can replace them
    /// without reading or deleting anything; `None` if they do not wait (sent, or never queued).
    fn take_queued_accreditation(&self, _id: &str) -> Option<QueuedAccreditation> {
        None
    }
}

/// An accreditation's rows taken back out of a queue.
pub(super) struct QueuedAccreditation {
    pub row: accreditation::ActiveModel,
    pub statuses: Vec<accreditation_status::ActiveModel>,
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

/// A send of queued rows running in a task of its own (see [`Deferring::insert_rows`]).
pub(super) type InFlight = Mutex<Option<tokio::task::JoinHandle<Result<(), DbErr>>>>;

/// What a batch's background sends need: the transaction, shared with the task (with the
/// write lock's guard, so that the lock outlives the transaction), and the send in flight.
pub(super) struct Background<'a> {
    pub tx: &'a Arc<DatabaseTransaction>,
    pub turn: &'a Arc<tokio::sync::OwnedMutexGuard<()>>,
    pub in_flight: &'a InFlight,
}

/// A write transaction as a batch's writes use it: with a queue, inserts wait in it (see the
/// module documentation).
///
/// On PostgreSQL only the log rows used to wait: an early version that queued every table there
/// made the bench's import three times slower. Measured again once ids were time-ordered and
/// queued accreditations were replaced in the queue, queueing every table took it from
/// 2,562-2,694 to 3,394-3,561 writes/s at 3,000 providers (alternated), and the statements it
/// sends from ~13,000 to ~900 at 300 providers.
pub(super) struct Deferring<'a> {
    pub tx: &'a DatabaseTransaction,
    pub queue: Option<&'a Mutex<Pending>>,
    /// Where queued rows may be sent in the background; `None`: only before a statement.
    pub background: Option<Background<'a>>,
}

impl Deferring<'_> {
    /// Waits for the background send in flight, if any; its error, if it failed.
    async fn settle(&self) -> Result<(), DbErr> {
        let Some(background) = &self.background else {
            return Ok(());
        };
        let running = background.in_flight.lock().expect("rows in flight").take();
        match running {
            Some(task) => task
                .await
                .map_err(|err| DbErr::Custom(format!("sending queued rows stopped: {err}")))?,
            None => Ok(()),
        }
    }

    /// Before another statement: waits for the rows in flight and sends the queued rows of the
    /// tables `sql` names.
    async fn send_before_statement(&self, sql: &str) -> Result<(), DbErr> {
        self.settle().await?;
        if let Some(queue) = self.queue {
            let named = queue.lock().expect("row queue").take_named(sql);
            if !named.is_empty() {
                named.send(self.tx).await?;
            }
        }
        Ok(())
    }

    /// Sends every queued row, after the rows in flight.
    pub(super) async fn send(&self) -> Result<(), DbErr> {
        self.settle().await?;
        let Some(queue) = self.queue else {
            return Ok(());
        };
        let pending = std::mem::take(&mut *queue.lock().expect("row queue"));
        if pending.is_empty() {
            return Ok(());
        }
        pending.send(self.tx).await
    }

    /// Starts sending the queued rows in the background once [`FLUSH_ROWS`] wait and no earlier
    /// send is still running.
    async fn send_in_background(&self) -> Result<(), DbErr> {
        let (Some(background), Some(queue)) = (&self.background, self.queue) else {
            return Ok(());
        };
        if queue.lock().expect("row queue").rows() < FLUSH_ROWS {
            return Ok(());
        }
        let finished = background
            .in_flight
            .lock()
            .expect("rows in flight")
            .as_ref()
            .is_none_or(|task| task.is_finished());
        if !finished {
            return Ok(());
        }
        // The finished send's outcome (at once), then the next one.
        self.settle().await?;
        let pending = std::mem::take(&mut *queue.lock().expect("row queue"));
        let tx = background.tx.clone();
        let turn = background.turn.clone();
        let task = tokio::spawn(async move {
            let sent = pending.send(&*tx).await;
            drop(tx);
            drop(turn);
            sent
        });
        *background.in_flight.lock().expect("rows in flight") = Some(task);
        Ok(())
    }
}

#[async_trait::async_trait]
impl Rows for Deferring<'_> {
    async fn insert_rows<A: Queued>(&self, rows: Vec<A>) -> Result<(), DbErr> {
        match self.queue {
            Some(queue) => {
                A::slot(&mut queue.lock().expect("row queue")).extend(rows);
                self.send_in_background().await
            }
            None => {
                self.settle().await?;
                insert_now(self.tx, rows).await
            }
        }
    }

    fn defers(&self) -> bool {
        self.queue.is_some()
    }

    fn take_queued_accreditation(&self, id: &str) -> Option<QueuedAccreditation> {
        let mut pending = self.queue?.lock().expect("row queue");
        let is = |value: &sea_orm::ActiveValue<String>| value.try_as_ref().is_some_and(|v| v == id);
        let at = pending.accreditation.iter().position(|row| is(&row.id))?;
        let row = pending.accreditation.remove(at);
        let (mut statuses, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut pending.accreditation_status)
            .into_iter()
            .partition(|status| is(&status.accreditation_id));
        pending.accreditation_status = rest;
        statuses.sort_by_key(|status| status.seq.try_as_ref().copied());
        Some(QueuedAccreditation { row, statuses })
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Deferring<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.tx.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.send_before_statement(&stmt.sql).await?;
        self.tx.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.send_before_statement(sql).await?;
        self.tx.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.send_before_statement(&stmt.sql).await?;
        self.tx.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.send_before_statement(&stmt.sql).await?;
        self.tx.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.tx.support_returning()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_names_the_tables_it_reads() {
        let select = r#"SELECT "accreditation_status"."doc" FROM "accreditation_status" WHERE "accreditation_status"."accreditation_id" = ?"#;
        assert!(names_table(select, "accreditation_status"));
        // A prefix of a name is not the name.
        assert!(!names_table(select, "accreditation"));
        assert!(names_table(
            "SELECT doc FROM accreditation WHERE id = ?",
            "accreditation"
        ));
        assert!(names_table("accreditation", "accreditation"));
        assert!(!names_table(
            r#"SELECT * FROM "qualification_skill""#,
            "qualification"
        ));
        assert!(!names_table(
            r#"SELECT * FROM "my_qualification""#,
            "qualification"
        ));
        assert!(names_table(
            r#"DELETE FROM "qualification" WHERE id = ?"#,
            "qualification"
        ));
    }

    #[test]
    fn queued_rows_of_named_tables_are_taken_and_the_rest_wait() {
        use sea_orm::ActiveValue::Set;
        let mut pending = Pending::default();
        pending.framework.push(framework::ActiveModel {
            id: Set("f".into()),
            ..Default::default()
        });
        pending.qualification.push(qualification::ActiveModel {
            id: Set("q".into()),
            ..Default::default()
        });
        assert_eq!(pending.rows(), 2);
        let taken = pending.take_named(r#"SELECT "doc" FROM "qualification" WHERE "id" = ?"#);
        assert_eq!((taken.rows(), taken.qualification.len()), (1, 1));
        assert_eq!((pending.rows(), pending.framework.len()), (1, 1));
        assert!(pending.take_named(r#"SELECT 1 FROM "provider""#).is_empty());
    }
}

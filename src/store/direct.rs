//! Reads on a SQLite file that run on the calling thread.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every statement over to it
//! and the rows back: two thread wake-ups per statement, which on a small virtual machine cost
//! more than the lookup itself. The hot reads (documents by id, filtered searches) instead take
//! a connection of their own from a small pool here and step it where they are called. The
//! searches run the statements SeaORM builds for the sqlx path, so both paths ask the same
//! question. GetQualification's lookup is written here for SQLite: it reads the row by its rowid
//! where a row hint gives one (see row_hints.rs).
//!
//! Each statement runs outside any transaction, so it reads the newest committed state of the
//! file: a write acknowledged by any process is visible to the next read (WAL readers never
//! wait for the writer). The connections are opened `query_only`: they cannot change anything.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OpenFlags};
use sea_orm::Statement;
use sea_orm::sea_query::Value;

use crate::domain::DomainError;
use crate::domain::page::PageTexts;

use super::row_hints::RowHints;

/// Idle connections kept: one per runtime worker and a few for searches moved off them.
const MAX_IDLE: usize = 8;
/// Page cache of each connection, KiB (SQLite's default is 2,000 KiB). A lookup descends the
/// interior pages of an index and a table, which this holds, to leaves picked at random from a
/// file far larger than any cache: a larger cache mostly keeps leaves that are not asked for
/// again. On a 100,000-provider registry (a 5.3 GB file) 64 MiB each made no more
/// GetQualification or SearchQualifications calls a second than 4 MiB, and the server's RSS
/// 125 MiB larger.
const CACHE_KIB: i64 = 8 * 1024;

/// A pool of reading connections to one SQLite file.
pub struct DirectReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Where qualification rows are (see row_hints.rs).
    hints: Arc<RowHints>,
}

/// GetQualification's lookup by a row hint: the row must still hold the id (row_hints.rs).
const DOC_BY_ROWID: &str = r#"SELECT "doc" FROM "qualification" WHERE "rowid" = ?1 AND "id" = ?2"#;
/// GetQualification's lookup through the id index, which also learns the row's rowid.
const DOC_BY_ID: &str = r#"SELECT "rowid", "doc" FROM "qualification" WHERE "id" = ?1"#;
/// Ids and rowids of qualifications in id order, a chunk at a time, from the id index alone.
const ROWIDS_AFTER: &str =
    r#"SELECT "id", "rowid" FROM "qualification" WHERE "id" > ?1 ORDER BY "id" LIMIT ?2"#;
/// Rows each chunk of the hints' first load reads: each chunk is a read transaction of its own,
/// short enough not to hold back the WAL's checkpoints.
const LOAD_CHUNK: i64 = 20_000;

fn storage(err: rusqlite::Error) -> DomainError {
    DomainError::Storage(format!("reading the SQLite file: {err}"))
}

impl DirectReads {
    /// Opens one connection to check that the file can be read, and starts loading up to
    /// `row_hints` qualification row hints on a thread of its own (lookups meanwhile learn the
    /// rowids they find).
    pub fn open(path: &Path, row_hints: usize) -> Result<Self, DomainError> {
        let reads = Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
            hints: Arc::new(RowHints::new(row_hints)),
        };
        let first = reads.connect().map_err(storage)?;
        reads.idle.lock().expect("direct reads pool").push(first);
        if row_hints > 0 {
            let connection = reads.connect().map_err(storage)?;
            let hints = Arc::clone(&reads.hints);
            std::thread::Builder::new()
                .name("row-hints".into())
                .spawn(move || load_hints(&connection, &hints))
                .map_err(|e| DomainError::Storage(format!("starting the row hints' loader: {e}")))?;
        }
        Ok(reads)
    }

    /// How the qualification row hints stand.
    pub fn hint_stats(&self) -> super::cache::CacheStats {
        self.hints.stats()
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(5))?;
        connection.pragma_update(None, "query_only", true)?;
        connection.pragma_update(None, "cache_size", -CACHE_KIB)?;
        // Keep each cached statement's plan: without this, a bundled SQLite (STAT4) compiles a
        // statement again whenever a bound value that could change its plan changes.
        connection.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        Ok(connection)
    }

    /// Runs `read` on an idle connection (a new one if none is idle) and keeps the connection
    /// for the next read.
    fn with_connection<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DomainError> {
        let connection = self.idle.lock().expect("direct reads pool").pop();
        let connection = match connection {
            Some(connection) => connection,
            None => self.connect().map_err(storage)?,
        };
        let answer = read(&connection);
        let mut idle = self.idle.lock().expect("direct reads pool");
        if idle.len() < MAX_IDLE {
            idle.push(connection);
        }
        answer.map_err(storage)
    }

    /// Runs `statement` (built by SeaORM for SQLite) and returns its first column as text, one
    /// value per row, stopping after the row that brings the total over `max_bytes`.
    pub fn texts(&self, statement: &Statement, max_bytes: usize) -> Result<Vec<String>, DomainError> {
        let params = statement
            .values
            .iter()
            .flat_map(|values| values.0.iter())
            .map(sql_value)
            .collect::<Result<Vec<Sql>, DomainError>>()?;
        self.with_connection(|connection| {
            let mut prepared = connection.prepare_cached(&statement.sql)?;
            let mut rows = prepared.query(rusqlite::params_from_iter(params))?;
            let mut texts = PageTexts::new(max_bytes);
            while let Some(row) = rows.next()? {
                if !texts.push(row.get(0)?) {
                    break;
                }
            }
            Ok(texts.into_texts())
        })
    }

    /// The stored document of qualification `id`: by its row hint when there is one that still
    /// holds, else through the id index (learning the row's rowid).
    pub fn qualification_doc(&self, id: &str) -> Result<Option<String>, DomainError> {
        use rusqlite::OptionalExtension as _;
        let hint = self.hints.get(id);
        self.with_connection(|connection| {
            if let Some(rowid) = hint {
                let doc = connection
                    .prepare_cached(DOC_BY_ROWID)?
                    .query_row(rusqlite::params![rowid, id], |row| row.get::<_, String>(0))
                    .optional()?;
                if doc.is_some() {
                    self.hints.held();
                    return Ok(doc);
                }
                self.hints.stale(id);
            }
            let found = connection
                .prepare_cached(DOC_BY_ID)?
                .query_row([id], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))
                .optional()?;
            Ok(found.map(|(rowid, doc)| {
                self.hints.learn(id, rowid);
                doc
            }))
        })
    }
}

/// Loads the hints of every qualification stored (up to the map's bound), a chunk of the id
/// index at a time. Runs once, on a thread of its own, when the reads open; a failure is logged
/// and leaves the lookups to learn the rowids as they go.
fn load_hints(connection: &Connection, hints: &RowHints) {
    let started = std::time::Instant::now();
    let mut after = String::new();
    let mut loaded = 0_usize;
    let outcome = (|| -> rusqlite::Result<()> {
        let mut chunk = connection.prepare(ROWIDS_AFTER)?;
        while !hints.is_full() {
            let mut rows = chunk.query(rusqlite::params![after, LOAD_CHUNK])?;
            let mut last = None;
            while let Some(row) = rows.next()? {
                let id: String = row.get(0)?;
                hints.learn(&id, row.get(1)?);
                loaded += 1;
                last = Some(id);
            }
            match last {
                Some(id) => after = id,
                None => break,
            }
        }
        Ok(())
    })();
    match outcome {
        Ok(()) => tracing::info!(
            loaded,
            capacity = hints.capacity(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "qualification row hints loaded"
        ),
        Err(error) => tracing::warn!(%error, loaded, "loading the qualification row hints stopped"),
    }
}

/// Makes every connection of a SQLite pool keep each prepared statement's plan whatever values
/// are bound (`SQLITE_DBCONFIG_ENABLE_QPSG`), as the direct reads' connections do. Without it the
/// bundled SQLite marks a statement to be compiled again whenever a parameter that could change
/// its plan is bound again, even to the same value: SeaORM binds every `LIMIT` as a parameter
/// (`.one()` included), so those statements were parsed and planned anew on each run. SQLite's
/// plans here come from its index rules (no `ANALYZE` statistics are kept), and the `LIKE`
/// patterns are substring ones that no index serves, so fixed plans are the same plans.
/// Applies to SQLite URLs only; PostgreSQL pools ignore it.
pub fn keep_plans(connect: &mut sea_orm::ConnectOptions) {
    connect.map_sqlx_sqlite_pool_opts(|pool| {
        pool.after_connect(|connection, _| {
            Box::pin(async move {
                let mut handle = connection.lock_handle().await?;
                let db = handle.as_raw_handle().as_ptr();
                // SAFETY: the handle is locked out of the connection's worker thread for the
                // call; `sqlite3_db_config` with this option takes an int and an int pointer.
                let rc = unsafe {
                    rusqlite::ffi::sqlite3_db_config(
                        db,
                        rusqlite::ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                        1 as std::ffi::c_int,
                        std::ptr::null_mut::<std::ffi::c_int>(),
                    )
                };
                if rc == rusqlite::ffi::SQLITE_OK {
                    Ok(())
                } else {
                    Err(sea_orm::sqlx::Error::Configuration(
                        format!("SQLite refused SQLITE_DBCONFIG_ENABLE_QPSG (code {rc})").into(),
                    ))
                }
            })
        })
    });
}

/// A bound value as SQLite stores it, as sqlx binds it.
fn sql_value(value: &Value) -> Result<Sql, DomainError> {
    fn int(v: Option<i64>) -> Sql {
        v.map_or(Sql::Null, Sql::Integer)
    }
    Ok(match value {
        Value::Bool(v) => int(v.map(i64::from)),
        Value::TinyInt(v) => int(v.map(i64::from)),
        Value::SmallInt(v) => int(v.map(i64::from)),
        Value::Int(v) => int(v.map(i64::from)),
        Value::BigInt(v) => int(*v),
        Value::TinyUnsigned(v) => int(v.map(i64::from)),
        Value::SmallUnsigned(v) => int(v.map(i64::from)),
        Value::Unsigned(v) => int(v.map(i64::from)),
        Value::BigUnsigned(Some(v)) => Sql::Integer(
            i64::try_from(*v)
                .map_err(|_| DomainError::Storage(format!("{v} does not fit a SQLite integer")))?,
        ),
        Value::BigUnsigned(None) => Sql::Null,
        Value::Float(v) => v.map_or(Sql::Null, |v| Sql::Real(f64::from(v))),
        Value::Double(v) => v.map_or(Sql::Null, Sql::Real),
        Value::String(v) => v.clone().map_or(Sql::Null, Sql::Text),
        Value::Char(v) => v.map_or(Sql::Null, |c| Sql::Text(c.to_string())),
        Value::Bytes(v) => v.clone().map_or(Sql::Null, Sql::Blob),
        other => {
            return Err(DomainError::Storage(format!(
                "no direct SQLite binding for {other:?}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_see_every_committed_write_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER);")
            .unwrap();
        let reads = DirectReads::open(&path, 0).unwrap();
        let select = |n: i64| Statement {
            sql: "SELECT id FROM t WHERE n >= ? ORDER BY id".into(),
            values: Some(sea_orm::sea_query::Values(vec![Value::BigInt(Some(n))])),
            db_backend: sea_orm::DbBackend::Sqlite,
        };
        assert!(reads.texts(&select(0), usize::MAX).unwrap().is_empty());
        writer
            .execute("INSERT INTO t VALUES ('a', 1), ('b', 2)", [])
            .unwrap();
        assert_eq!(reads.texts(&select(2), usize::MAX).unwrap(), ["b"]);
        writer.execute("UPDATE t SET n = 3 WHERE id = 'a'", []).unwrap();
        assert_eq!(reads.texts(&select(2), usize::MAX).unwrap(), ["a", "b"]);
        let write = Statement {
            sql: "DELETE FROM t RETURNING id".into(),
            values: None,
            db_backend: sea_orm::DbBackend::Sqlite,
        };
        let refused = reads.texts(&write, usize::MAX).unwrap_err().to_string();
        assert!(
            refused.contains("readonly") || refused.contains("read-only"),
            "{refused}"
        );
        let count: i64 = writer
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 2);
    }

    /// The value of `SQLITE_DBCONFIG_ENABLE_QPSG` on a connection.
    async fn plans_kept(connection: &mut sea_orm::sqlx::SqliteConnection) -> bool {
        let mut handle = connection.lock_handle().await.unwrap();
        let mut value: std::ffi::c_int = -1;
        // SAFETY: the handle is locked for the call; -1 reads the option without changing it.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_db_config(
                handle.as_raw_handle().as_ptr(),
                rusqlite::ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                -1 as std::ffi::c_int,
                &mut value as *mut std::ffi::c_int,
            )
        };
        assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
        value == 1
    }

    #[tokio::test]
    async fn pooled_connections_keep_their_plans() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
        let mut plain = sea_orm::ConnectOptions::new(url.clone());
        plain.max_connections(2);
        let plain = sea_orm::Database::connect(plain).await.unwrap();
        let mut connection = plain.get_sqlite_connection_pool().acquire().await.unwrap();
        assert!(
            !plans_kept(&mut connection).await,
            "SQLite's default changed: the check means nothing"
        );
        let mut kept = sea_orm::ConnectOptions::new(url);
        kept.max_connections(2);
        keep_plans(&mut kept);
        let kept = sea_orm::Database::connect(kept).await.unwrap();
        // Both connections of the pool: the second is opened while the first is held.
        let pool = kept.get_sqlite_connection_pool();
        let mut first = pool.acquire().await.unwrap();
        let mut second = pool.acquire().await.unwrap();
        assert!(plans_kept(&mut first).await);
        assert!(plans_kept(&mut second).await);
    }

    #[tokio::test]
    async fn the_stores_pools_keep_their_plans() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
        let store = crate::store::Store::open(&url, &crate::store::StoreOptions::default())
            .await
            .unwrap();
        let mut reading = store.db.get_sqlite_connection_pool().acquire().await.unwrap();
        assert!(plans_kept(&mut reading).await);
        let write_db = store
            .write_db
            .as_ref()
            .expect("a SQLite file has a writing connection");
        let mut writing = write_db.get_sqlite_connection_pool().acquire().await.unwrap();
        assert!(plans_kept(&mut writing).await);
    }

    #[test]
    fn reads_stop_after_the_row_that_crosses_the_byte_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (id TEXT PRIMARY KEY, doc TEXT);
                 INSERT INTO t VALUES ('a', 'xxxx'), ('b', 'yyyy'), ('c', 'zzzz'), ('d', 'wwww');",
            )
            .unwrap();
        let reads = DirectReads::open(&path, 0).unwrap();
        let all = Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT doc FROM t ORDER BY id");
        assert_eq!(reads.texts(&all, usize::MAX).unwrap().len(), 4);
        // 4 + 4 bytes fit in 8; the third row crosses 8 and is the last one read.
        assert_eq!(reads.texts(&all, 8).unwrap(), ["xxxx", "yyyy", "zzzz"]);
        assert_eq!(reads.texts(&all, 7).unwrap(), ["xxxx", "yyyy"]);
        assert_eq!(reads.texts(&all, 0).unwrap(), ["xxxx"]);
    }

    /// Waits for the row hints' loader to have loaded `n` hints.
    fn loaded(reads: &DirectReads, n: u64) {
        let started = std::time::Instant::now();
        while reads.hint_stats().entries < n {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{:?}",
                reads.hint_stats()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A SQLite file in `dir` with a `qualification` table as GetQualification reads it (an id
    /// and a document), in WAL mode, and the connection that made it, to write with.
    fn qualification_file(dir: &Path) -> (PathBuf, Connection) {
        let path = dir.join("q.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE qualification (id TEXT PRIMARY KEY, doc TEXT NOT NULL);",
            )
            .unwrap();
        (path, writer)
    }

    #[test]
    fn qualification_lookups_by_row_hint_never_answer_for_another_row() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = qualification_file(dir.path());
        writer
            .execute(
                "INSERT INTO qualification VALUES ('qual_a', 'A'), ('qual_b', 'B'), ('qual_c', 'C')",
                [],
            )
            .unwrap();
        let plan = |sql: &str| -> String {
            let mut explain = writer.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            // Parameters left unbound: the plan does not depend on their values.
            let mut rows = explain.raw_query();
            let mut steps = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                steps.push(row.get::<_, String>(3).unwrap());
            }
            steps.join("; ")
        };
        // One descent of the table, not of the id index; the load reads the index alone.
        assert!(
            plan(DOC_BY_ROWID).contains("INTEGER PRIMARY KEY (rowid=?)"),
            "{}",
            plan(DOC_BY_ROWID)
        );
        assert!(
            plan(ROWIDS_AFTER).contains("COVERING INDEX"),
            "{}",
            plan(ROWIDS_AFTER)
        );

        let reads = DirectReads::open(&path, 100).unwrap();
        loaded(&reads, 3);
        let doc = |id: &str| reads.qualification_doc(id).unwrap();
        assert_eq!(doc("qual_b").as_deref(), Some("B"));
        assert_eq!(reads.hint_stats().hits, 1, "read by its hint");
        // A change to the row is seen by the next lookup.
        writer
            .execute("UPDATE qualification SET doc = 'B2' WHERE id = 'qual_b'", [])
            .unwrap();
        assert_eq!(doc("qual_b").as_deref(), Some("B2"));

        // qual_c's row goes, and the next row inserted takes its rowid (the largest + 1).
        writer
            .execute("DELETE FROM qualification WHERE id = 'qual_c'", [])
            .unwrap();
        writer
            .execute("INSERT INTO qualification VALUES ('qual_d', 'D')", [])
            .unwrap();
        let rowid_of = |id: &str| -> i64 {
            writer
                .query_row("SELECT rowid FROM qualification WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        assert_eq!(
            rowid_of("qual_d"),
            3,
            "the rowid was not reused: the case is not tested"
        );
        assert_eq!(doc("qual_c"), None, "qual_c's hint names qual_d's row now");
        assert_eq!(reads.hint_stats().stale, 1);
        assert_eq!(doc("qual_c"), None);
        assert_eq!(doc("qual_d").as_deref(), Some("D"));
        assert_eq!(doc("qual_d").as_deref(), Some("D"));

        // Rows that trade rowids (as a renumbering might leave them): each hint names the
        // other's row now, and neither answers for the other.
        writer
            .execute_batch(
                "UPDATE qualification SET rowid = 100 WHERE id = 'qual_b';
                 UPDATE qualification SET rowid = 2 WHERE id = 'qual_d';
                 UPDATE qualification SET rowid = 3 WHERE id = 'qual_b';",
            )
            .unwrap();
        assert_eq!((rowid_of("qual_b"), rowid_of("qual_d")), (3, 2));
        let stale = reads.hint_stats().stale;
        assert_eq!(doc("qual_b").as_deref(), Some("B2"));
        assert_eq!(doc("qual_d").as_deref(), Some("D"));
        assert_eq!(reads.hint_stats().stale, stale + 2);
        assert_eq!(doc("qual_b").as_deref(), Some("B2"));
        assert_eq!(doc("qual_d").as_deref(), Some("D"));
        assert_eq!(reads.hint_stats().stale, stale + 2, "both learned their new rows");
        assert_eq!(doc("qual_x"), None);

        // Without hints the same answers, through the index.
        let plain = DirectReads::open(&path, 0).unwrap();
        for (id, want) in [("qual_c", None), ("qual_b", Some("B2")), ("qual_d", Some("D"))] {
            assert_eq!(plain.qualification_doc(id).unwrap().as_deref(), want);
        }
        assert_eq!(plain.hint_stats().hits, 0);
    }

    #[test]
    fn the_hints_load_in_chunks_up_to_their_bound() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = qualification_file(dir.path());
        let rows = LOAD_CHUNK as usize * 2 + 7;
        let insert = (0..rows)
            .map(|i| format!("('qual_{i:06}', 'doc {i}')"))
            .collect::<Vec<_>>()
            .join(", ");
        writer
            .execute_batch(&format!("INSERT INTO qualification VALUES {insert};"))
            .unwrap();
        let all = DirectReads::open(&path, rows + 10).unwrap();
        loaded(&all, rows as u64);
        for i in [0, LOAD_CHUNK as usize, rows - 1] {
            let id = format!("qual_{i:06}");
            assert_eq!(all.qualification_doc(&id).unwrap(), Some(format!("doc {i}")));
        }
        assert_eq!((all.hint_stats().hits, all.hint_stats().misses), (3, 0));

        let some = DirectReads::open(&path, 100).unwrap();
        loaded(&some, 100);
        // The loader stops at the bound; a lookup past it still answers, through the index.
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(some.hint_stats().entries, 100);
        let last = format!("qual_{:06}", rows - 1);
        assert_eq!(
            some.qualification_doc(&last).unwrap(),
            Some(format!("doc {}", rows - 1))
        );
        assert_eq!(some.hint_stats().misses, 1);
    }

    #[test]
    fn values_bind_as_sqlite_stores_them() {
        assert_eq!(sql_value(&Value::SmallInt(Some(5))).unwrap(), Sql::Integer(5));
        assert_eq!(sql_value(&Value::String(None)).unwrap(), Sql::Null);
        assert_eq!(sql_value(&Value::Bool(Some(true))).unwrap(), Sql::Integer(1));
        // LIMIT is bound as an unsigned 64-bit value.
        assert_eq!(
            sql_value(&Value::BigUnsigned(Some(21))).unwrap(),
            Sql::Integer(21)
        );
        assert!(sql_value(&Value::BigUnsigned(Some(u64::MAX))).is_err());
        assert_eq!(
            sql_value(&Value::String(Some("x".into()))).unwrap(),
            Sql::Text("x".into())
        );
    }
}

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
mod tests;

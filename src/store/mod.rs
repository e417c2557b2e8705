//! Storage on SeaORM: embedded SQLite by default, PostgreSQL in production, same schema.

mod apply;
mod cache;
mod changes;
mod coalesce;
mod commits;
mod compact;
mod direct;
pub mod documents;
mod documents_load;
mod row_hints;
pub use apply::{
    CHECKS_PER_TASK, SignatureCheck, StoredWrite, WriteBatch, WriteTarget, nonce_reused,
    verify_on_blocking_thread,
};
pub use cache::{CacheStats, Generation, QualificationScope};
mod accreditations;
mod catalogue;
mod log;
mod qualification_search;
mod tables;
pub use tables::{TABLES, TableRow, Tables};
mod trust;
pub use trust::Resolved;
mod entity;
mod rows;
mod write;

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    PaginatorTrait, QueryTrait, Select,
};
use serde::{Serialize, de::DeserializeOwned};

use crate::domain::DomainError;
use crate::domain::page::{MAX_PAGE_BYTES, PageTexts};

/// `serve --document-cache-mib`'s default.
pub const DEFAULT_DOCUMENT_CACHE_MIB: u64 = 320;

/// Connection settings of the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// Values of each kind the read cache holds (keys, identifiers, providers' trust facts), and
    /// a quarter as many micro-credentials for VerifyCredential; 0 turns the cache off.
    pub cache_entries: usize,
    /// On a SQLite file, the page cache of the one connection that writes, in MiB (the direct
    /// reading connections keep 8 MiB each). A bulk import inserts into many index pages at once.
    pub write_cache_mib: u32,
    /// On a SQLite file, how many qualifications' row locations are kept, so GetQualification
    /// reads a row without descending the id index (see row_hints.rs); 0 keeps none.
    pub qualification_row_hints: usize,
    /// Memory for the qualifications' documents GetQualification returns, compressed, in MiB
    /// (see documents.rs); 0 keeps none.
    pub document_cache_mib: u64,
}

impl StoreOptions {
    /// For a command that does not answer GetQualification (import, audit, mirror, the bench's
    /// own loading): the defaults, without loading row hints or documents it would not use.
    pub fn without_lookup_caches() -> Self {
        Self {
            qualification_row_hints: 0,
            document_cache_mib: 0,
            ..Self::default()
        }
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            cache_entries: 250_000,
            write_cache_mib: 64,
            qualification_row_hints: 2_000_000,
            document_cache_mib: DEFAULT_DOCUMENT_CACHE_MIB,
        }
    }
}

/// The registry's store. Cheap to clone: it holds a connection pool.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// On a SQLite file, the one connection writes use, which keeps its page cache from one
    /// write to the next; elsewhere writes take a connection from the pool.
    write_db: Option<DatabaseConnection>,
    /// Writes are applied one at a time: SQLite has one writer anyway, and the log needs a
    /// single order of accepted writes.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    log: log::Log,
    cache: std::sync::Arc<cache::ReadCache>,
    point_reads: std::sync::Arc<coalesce::PointReads>,
    /// Commits counted where every process on the database sees them (see commits.rs).
    commits: std::sync::Arc<commits::Commits>,
    /// On a SQLite file, hot reads that run on the calling thread (see direct/mod.rs).
    direct: Option<std::sync::Arc<direct::DirectReads>>,
    /// Qualifications' documents, compressed (see documents.rs); none with a budget of 0.
    documents: Option<std::sync::Arc<documents::Documents>>,
}

impl From<DbErr> for DomainError {
    fn from(err: DbErr) -> Self {
        DomainError::Storage(err.to_string())
    }
}

impl Store {
    /// Connects to `url` (`sqlite://...` or `postgres://...`) and brings the schema up to date.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, DomainError> {
        let mut connect = ConnectOptions::new(url.to_owned());
        connect
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .sqlx_logging(false);
        direct::keep_plans(&mut connect);
        let db = Database::connect(connect).await?;
        let sqlite = db.get_database_backend() == DbBackend::Sqlite;
        if sqlite {
            // Readers never wait for the writer; a writer waits for another up to 5 s.
            db.execute_unprepared("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")
                .await?;
        }
        migrate(&db).await?;
        let file = sqlite_file(url);
        let commits = commits::Commits::for_database(file.as_deref(), sqlite)?;
        // A database in a file of its own (not in-memory): direct reads and a writing connection.
        let own_file = file.as_deref().filter(|file| sqlite && file.is_file());
        let direct = match own_file {
            Some(file) => match direct::DirectReads::open(file, options.qualification_row_hints) {
                Ok(reads) => Some(std::sync::Arc::new(reads)),
                Err(err) => {
                    // Reads still work, through the pool.
                    tracing::warn!(error = %err, "no direct SQLite reads; reading through the pool");
                    None
                }
            },
            _ => None,
        };
        let write_db = match own_file {
            Some(_) => {
                let cache_kib = i64::from(options.write_cache_mib) * 1024;
                let mut connect = ConnectOptions::new(url.to_owned());
                connect
                    .max_connections(1)
                    .acquire_timeout(options.acquire_timeout)
                    .sqlx_logging(false)
                    .map_sqlx_sqlite_opts(move |sqlite| {
                        sqlite
                            .pragma("cache_size", format!("-{cache_kib}"))
                            .pragma("wal_autocheckpoint", "10000")
                    });
                direct::keep_plans(&mut connect);
                Some(Database::connect(connect).await?)
            }
            _ => None,
        };
        let store = Self {
            db,
            write_db,
            writer: Default::default(),
            log: Default::default(),
            cache: std::sync::Arc::new(cache::ReadCache::new(options.cache_entries)),
            point_reads: Default::default(),
            commits: std::sync::Arc::new(commits),
            direct,
            documents: (options.document_cache_mib > 0)
                .then(|| std::sync::Arc::new(documents::Documents::new(options.document_cache_mib << 20))),
        };
        let log_size = store.sync_log().await?;
        // Every value the caches will hold is loaded under this log size or a later one.
        store.cache.changes.start(log_size);
        if store.documents.is_some() {
            store.start_loading_documents();
        }
        Ok(store)
    }

    /// Brings the query planner's statistics up to date after a bulk load. PostgreSQL plans
    /// from sampled statistics, which its autovacuum refreshes only minutes into a large import
    /// and never for a table with fewer than 50 changed rows: without them it guesses thousands
    /// of rows for a skill that has twenty and may start parallel workers for a twenty-row
    /// page (about 10 ms a search instead of 1). SQLite's plans here follow its index rules,
    /// which need no statistics, and an `ANALYZE` of its file would read every index: nothing
    /// is done there. Returns how long it took, `None` where nothing was done.
    pub async fn refresh_statistics(&self) -> Result<Option<Duration>, DomainError> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return Ok(None);
        }
        let started = std::time::Instant::now();
        self.db.execute_unprepared("ANALYZE").await?;
        Ok(Some(started.elapsed()))
    }

    /// The first selected column of each row of `select`, as text, for a page: rows stop
    /// once they hold more than [`MAX_PAGE_BYTES`] (the row that crossed it is the last one
    /// read), so a page of large documents is never held whole, only what one answer can send
    /// and one row more. On a SQLite file the statement runs on this thread; one that may scan
    /// many rows (`may_scan`) first tells a multi-threaded runtime to move its other tasks to
    /// another worker.
    async fn page_texts<E: EntityTrait>(
        &self,
        select: Select<E>,
        may_scan: bool,
    ) -> Result<Vec<String>, DomainError> {
        let Some(direct) = &self.direct else {
            // On the heap: the driver's future is large, and the direct reads below need not
            // carry it.
            return Box::pin(async {
                use tokio_stream::StreamExt as _;
                let mut rows = select.into_tuple::<String>().stream(&self.db).await?;
                let mut texts = PageTexts::new(MAX_PAGE_BYTES);
                while let Some(text) = rows.next().await {
                    if !texts.push(text?) {
                        break;
                    }
                }
                Ok(texts.into_texts())
            })
            .await;
        };
        let statement = select.build(DbBackend::Sqlite);
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if may_scan && multi_thread {
            tokio::task::block_in_place(|| direct.texts(&statement, MAX_PAGE_BYTES))
        } else {
            direct.texts(&statement, MAX_PAGE_BYTES)
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// How full each kind of the read cache is and how its lookups went (none of its kinds when
    /// caching is off, `--cache-entries 0`), and, on a SQLite file, the qualification row hints
    /// as the kind `qualification_rows`.
    pub fn cache_stats(&self) -> Vec<CacheStats> {
        let mut stats = self.cache.stats();
        if let Some(direct) = &self.direct {
            stats.push(direct.hint_stats());
        }
        if let Some(documents) = &self.documents {
            stats.push(documents.stats().lookups);
        }
        stats
    }

    /// How the cache of qualification documents stands; `None` where it is off.
    pub fn document_stats(&self) -> Option<documents::DocumentStats> {
        self.documents.as_ref().map(|documents| documents.stats())
    }

    /// Whether nothing but reference data is stored yet.
    pub async fn is_empty(&self) -> Result<bool, DomainError> {
        let agencies = entity::qa_agency::Entity::find().count(&self.db).await?;
        let bodies = entity::recognition_body::Entity::find().count(&self.db).await?;
        let providers = entity::provider::Entity::find().count(&self.db).await?;
        Ok(agencies + bodies + providers == 0)
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DomainError> {
        self.db.ping().await.map_err(Into::into)
    }

    pub async fn close(self) -> Result<(), DomainError> {
        if let Some(write_db) = self.write_db {
            write_db.close().await?;
        }
        self.db.close().await.map_err(Into::into)
    }
}

/// Brings the schema up to date, one process at a time. Replicas started together on a fresh
/// database each found the migrations pending and ran them: all but the first failed to start
/// ("table already exists"). Here the migrations, and the look at which are pending, run in one
/// transaction that first takes a lock every migrating process takes: an advisory lock on
/// PostgreSQL, the write lock (`BEGIN IMMEDIATE`) on SQLite. The next process waits for the
/// first to commit, then finds nothing pending. A database already up to date is only read
/// (no lock is taken, so a start does not wait for another server's long write).
async fn migrate(db: &DatabaseConnection) -> Result<(), DomainError> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    if pending_migrations(db).await?.is_empty() {
        return Ok(());
    }
    /// The advisory lock's key on PostgreSQL: "trustreg" in ASCII.
    const MIGRATION_LOCK: i64 = 0x7472_7573_7472_6567;
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let tx = db.begin_with_options(options).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        tx.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await?;
    }
    Migrator::up(&tx, None).await?;
    tx.commit().await?;
    Ok(())
}

/// The migrations of this version that the database has not applied, in order, from one read
/// of the table of applied migrations (which is not created here: this only reads).
///
/// Refuses a database that a later version of trust-registry has migrated: its schema holds
/// what this version does not write (a column it leaves empty, a table it does not keep up), so
/// serving it would answer from rows this version lets go stale, and its writes could fail half
/// way through an upgrade. Run the version that migrated it.
pub(crate) async fn pending_migrations(db: &DatabaseConnection) -> Result<Vec<String>, DomainError> {
    use migrations::{SchemaManager, seaql_migrations};
    use sea_orm::{EntityName as _, EntityTrait as _};
    let table = seaql_migrations::Entity.table_name();
    let applied: std::collections::HashSet<String> = if SchemaManager::new(db).has_table(table).await? {
        seaql_migrations::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|applied| applied.version)
            .collect()
    } else {
        Default::default()
    };
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    let mut unknown: Vec<&str> = applied
        .iter()
        .filter(|version| !known.contains(version))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(DomainError::Storage(format!(
            "the database was migrated by a later version of trust-registry than this one ({}): it \
             holds migrations this version does not know ({}); run that version or a later one on it",
            env!("CARGO_PKG_VERSION"),
            unknown.join(", ")
        )));
    }
    Ok(known.into_iter().filter(|name| !applied.contains(name)).collect())
}

/// The file a SQLite URL names (for an in-memory database, a name that is no file).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    use std::str::FromStr as _;
    let options = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_path_buf())
}

fn to_doc<T: Serialize>(value: &T) -> Result<String, DomainError> {
    serde_json::to_string(value).map_err(|e| DomainError::Storage(format!("encoding a document: {e}")))
}

fn from_doc<T: DeserializeOwned>(doc: &str) -> Result<T, DomainError> {
    serde_json::from_str(doc).map_err(|e| DomainError::Storage(format!("decoding a stored document: {e}")))
}

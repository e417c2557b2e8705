//! How a process learns, without a query, that no write has been committed since it last
//! looked at the database.
//!
//! Every writer counts its commits twice: `started` just before the commit, `finished` just after
//! it (whether it succeeded or not), before the write is acknowledged. A reader that sees
//! `started == finished` (reading `finished` first) knows that no commit was under way at that
//! moment and that `finished` counts every commit acknowledged before it looked. A writer that
//! dies between the two leaves `started` ahead, and readers fall back to asking the database
//! until the counters are reconciled by a process that finds itself alone on the database.
//!
//! On a SQLite file, every process that opens it (servers, `trust-registry import`) shares the
//! counters in a memory-mapped file beside it, `<database>-commits`, as SQLite itself shares its
//! WAL index in `<database>-shm`: all of them run on the machine that holds the file. An
//! in-memory SQLite database has one process, and counts in memory. PostgreSQL may be written by
//! replicas on other machines: there is no counter, and reads ask the database.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::DomainError;

/// Where a process counts commits.
pub enum Commits {
    /// Writers may run on other machines: nothing is counted.
    Uncounted,
    /// This process is the only one on the database.
    Local(Box<[AtomicU64; 2]>),
    /// Shared with every process on the same SQLite file.
    Shared(SharedCounters),
}

/// The two counters in a memory-mapped file. The file stays open (and share-locked) while the
/// map lives, which tells a newly starting process that it is not alone.
pub struct SharedCounters {
    map: memmap2::MmapMut,
    _file: File,
}

const STARTED: usize = 0;
const FINISHED: usize = 1;
/// Two little-endian u64 words.
const FILE_LEN: u64 = 16;

impl SharedCounters {
    /// Maps (creating if needed) the counter file of the SQLite database at `database`.
    pub fn open(database: &Path) -> Result<Self, DomainError> {
        // Beside the file itself, whatever name it was opened by: SQLite follows symbolic links
        // to the file and shares its WAL index with every name, so must the counters.
        let database = std::fs::canonicalize(database).map_err(|e| {
            DomainError::Storage(format!("resolving the database path {}: {e}", database.display()))
        })?;
        let path = counter_path(&database);
        let fail = |what: &str, e: std::io::Error| {
            DomainError::Storage(format!("{what} the commit counter file {}: {e}", path.display()))
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| fail("opening", e))?;
        // Alone on the file: no other process can be between its two counts, so a gap left by
        // one that died there can be closed.
        let alone = file.try_lock().is_ok();
        if file.metadata().map_err(|e| fail("reading", e))?.len() < FILE_LEN {
            file.set_len(FILE_LEN).map_err(|e| fail("sizing", e))?;
        }
        // SAFETY: the file is at least FILE_LEN bytes long and is never shrunk; other processes
        // change it only through the same atomic operations (see `word`).
        let map = unsafe { memmap2::MmapMut::map_mut(&file) }.map_err(|e| fail("mapping", e))?;
        let counters = Self { map, _file: file };
        if alone {
            let finished = counters.word(FINISHED).load(Ordering::SeqCst);
            counters.word(STARTED).store(finished, Ordering::SeqCst);
        }
        counters._file.lock_shared().map_err(|e| fail("locking", e))?;
        Ok(counters)
    }

    fn word(&self, index: usize) -> &AtomicU64 {
        let offset = index * 8;
        assert!(offset + 8 <= self.map.len());
        // SAFETY: the map is page-aligned and at least FILE_LEN long, so the word is in bounds
        // and 8-byte aligned; it lives as long as `self`. Every process touches these bytes only
        // through atomics.
        unsafe { &*(self.map.as_ptr().add(offset) as *const AtomicU64) }
    }
}

/// `<database>-commits` beside the database file.
fn counter_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-commits");
    PathBuf::from(name)
}

/// Counts a commit as finished when dropped, whatever became of it.
pub struct CommitGuard<'a>(Option<&'a AtomicU64>);

impl Drop for CommitGuard<'_> {
    fn drop(&mut self) {
        if let Some(finished) = self.0 {
            finished.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Commits {
    /// Chooses the counter for a database: shared for a SQLite file, local for in-memory SQLite,
    /// none for PostgreSQL.
    pub fn for_database(sqlite_file: Option<&Path>, sqlite: bool) -> Result<Self, DomainError> {
        Ok(match (sqlite, sqlite_file) {
            (false, _) => Commits::Uncounted,
            (true, Some(file)) if file.is_file() => Commits::Shared(SharedCounters::open(file)?),
            (true, _) => Commits::Local(Box::new([AtomicU64::new(0), AtomicU64::new(0)])),
        })
    }

    fn words(&self) -> Option<(&AtomicU64, &AtomicU64)> {
        match self {
            Commits::Uncounted => None,
            Commits::Local(words) => Some((&words[STARTED], &words[FINISHED])),
            Commits::Shared(shared) => Some((shared.word(STARTED), shared.word(FINISHED))),
        }
    }

    /// Call just before committing; keep the guard until the commit has returned.
    pub fn begin(&self) -> CommitGuard<'_> {
        CommitGuard(self.words().map(|(started, finished)| {
            started.fetch_add(1, Ordering::SeqCst);
            finished
        }))
    }

    /// The number of finished commits, if no commit is under way (see the module
    /// documentation); `None` when uncounted or a commit is under way.
    pub fn settled(&self) -> Option<u64> {
        let (started, finished) = self.words()?;
        let done = finished.load(Ordering::SeqCst);
        (started.load(Ordering::SeqCst) == done).then_some(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An (empty) database file in a fresh directory, removed with it.
    fn database_file() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.db");
        std::fs::write(&db, b"").unwrap();
        (dir, db)
    }

    #[test]
    fn a_commit_under_way_is_not_settled_and_a_finished_one_moves_the_count() {
        let (_dir, db) = database_file();
        let one = Commits::for_database(Some(&db), true).unwrap();
        let two = Commits::for_database(Some(&db), true).unwrap();
        assert!(matches!(one, Commits::Shared(_)));
        assert_eq!(one.settled(), Some(0));
        let guard = one.begin();
        assert_eq!(two.settled(), None, "a commit under way in another mapping");
        drop(guard);
        assert_eq!(two.settled(), Some(1));
        assert_eq!(one.settled(), Some(1));
    }

    #[test]
    fn a_gap_left_by_a_dead_writer_is_closed_by_the_next_process_alone_on_the_file() {
        let (_dir, db) = database_file();
        let first = Commits::for_database(Some(&db), true).unwrap();
        std::mem::forget(first.begin());
        let second = Commits::for_database(Some(&db), true).unwrap();
        assert_eq!(second.settled(), None, "not alone: the gap stays");
        drop(first);
        drop(second);
        let third = Commits::for_database(Some(&db), true).unwrap();
        assert_eq!(third.settled(), Some(0));
    }

    /// SQLite finds the file behind a symbolic link and shares its WAL index with every name
    /// of it; the commit counters must be shared the same way, or a process that opened the
    /// database by another name never sees this one's commits.
    #[test]
    fn every_name_of_a_database_shares_its_counters() {
        let (dir, db) = database_file();
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&db, &link).unwrap();
        let by_link = Commits::for_database(Some(&link), true).unwrap();
        let by_path = Commits::for_database(Some(&db), true).unwrap();
        drop(by_path.begin());
        assert_eq!(
            by_link.settled(),
            Some(1),
            "a commit through another name is counted"
        );
    }

    #[test]
    fn in_memory_and_postgres() {
        let local = Commits::for_database(Some(Path::new("file:sqlx-in-memory-1")), true).unwrap();
        assert!(matches!(local, Commits::Local(_)));
        drop(local.begin());
        assert_eq!(local.settled(), Some(1));
        let none = Commits::for_database(None, false).unwrap();
        assert_eq!(none.settled(), None);
    }
}

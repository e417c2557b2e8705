//! Where each qualification's row is in the SQLite file, so GetQualification reads it at once.
//!
//! A lookup by id descends the id index to find the row's rowid, then the table to find the
//! row: two leaf pages read at random from a file far larger than any cache, and on a guest
//! that pages out what it sees read rarely, each may wait for the disk. This map remembers the
//! rowid of each id (a 64-bit hash of the id and the rowid, 12 bytes), and the lookup then asks for the row by
//! both: `WHERE rowid = ? AND id = ?`, one descent of the table.
//!
//! A hint is never the answer. The row it names must still hold the id asked for, or the lookup
//! goes through the index as before and learns the rowid it finds there. So a hint gone wrong
//! (SQLite may renumber the rowids of such a table in a `VACUUM`, and reuse the rowid of a
//! deleted row; two ids may share a hash) costs one page read, never another qualification's
//! document. A write by any process is seen by the next lookup: the row is read from the newest
//! committed state, as before.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::cache::{CacheStats, Lookups};

/// Shards of the map, each behind its own lock, so lookups on different threads rarely meet.
const SHARDS: usize = 16;

/// A 64-bit hash of an id, as two halves: with the 32-bit rowid, 12 bytes a hint (a `u64` key
/// would align each to 16).
type Key = [u32; 2];

type Shard = RwLock<HashMap<Key, u32, foldhash::fast::FixedState>>;

fn key(hash: u64) -> Key {
    [(hash >> 32) as u32, hash as u32]
}

/// Rowids of qualification rows by (a hash of) their ids, up to a bound.
pub struct RowHints {
    /// Hashes ids; seeded at random per process, so no one can choose ids that collide.
    ids: foldhash::quality::RandomState,
    shards: Box<[Shard]>,
    capacity: usize,
    len: AtomicUsize,
    /// Hits: lookups that read the row by its hint; stale: lookups whose hint named a row that
    /// no longer held the id; misses: lookups with no hint.
    lookups: Lookups,
}

impl RowHints {
    /// A map that holds at most `capacity` hints (0: none, every lookup uses the index).
    pub fn new(capacity: usize) -> Self {
        Self {
            ids: foldhash::quality::RandomState::default(),
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            capacity,
            len: AtomicUsize::new(0),
            lookups: Lookups::default(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn is_full(&self) -> bool {
        self.len.load(Ordering::Relaxed) >= self.capacity
    }

    fn shard(&self, key: Key) -> &Shard {
        // The shard's own table hashes the key again.
        &self.shards[key[0] as usize % SHARDS]
    }

    fn key(&self, id: &str) -> Key {
        key(self.ids.hash_one(id))
    }

    /// The rowid last seen for `id`, if any; counts a lookup without one as a miss (the caller
    /// reports how one with a hint went: [`RowHints::held`] or [`RowHints::stale`]). Counting
    /// the hit only once the row is read keeps the metric's counters from ever going down.
    pub fn get(&self, id: &str) -> Option<i64> {
        let key = self.key(id);
        let found = self.shard(key).read().expect("row hints lock").get(&key).copied();
        if found.is_none() {
            self.lookups.miss();
        }
        found.map(i64::from)
    }

    /// The hint for a lookup named the row that held its id: counts a hit.
    pub fn held(&self) {
        self.lookups.hit();
    }

    /// The hint for `id` named a row that did not hold it: forgets it (the lookup learns the
    /// right one, if any, through the index).
    pub fn stale(&self, id: &str) {
        self.lookups.stale();
        let key = self.key(id);
        if self
            .shard(key)
            .write()
            .expect("row hints lock")
            .remove(&key)
            .is_some()
        {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Remembers that `id` is in row `rowid`, while there is room (a rowid beyond 32 bits, which
    /// would take 4 billion rows, is not kept).
    pub fn learn(&self, id: &str, rowid: i64) {
        let Ok(rowid) = u32::try_from(rowid) else {
            return;
        };
        let key = self.key(id);
        let mut shard = self.shard(key).write().expect("row hints lock");
        if let Some(kept) = shard.get_mut(&key) {
            *kept = rowid;
        } else if self.len.load(Ordering::Relaxed) < self.capacity {
            shard.insert(key, rowid);
            self.len.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How full the map is and how its lookups went, as a kind of the read cache's statistics.
    pub fn stats(&self) -> CacheStats {
        self.lookups.stats(
            "qualification_rows",
            self.len.load(Ordering::Relaxed) as u64,
            self.capacity as u64,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_forgets_and_stops_at_its_bound() {
        let hints = RowHints::new(2);
        assert_eq!(hints.get("qual_a"), None);
        hints.learn("qual_a", 7);
        hints.learn("qual_b", 9);
        hints.learn("qual_c", 11);
        assert!(hints.is_full());
        assert_eq!(hints.get("qual_a"), Some(7));
        hints.held();
        assert_eq!(hints.get("qual_b"), Some(9));
        hints.held();
        assert_eq!(hints.get("qual_c"), None, "no room was left for it");
        // A known id moves even when full.
        hints.learn("qual_a", 70);
        assert_eq!(hints.get("qual_a"), Some(70));
        hints.stale("qual_a");
        assert_eq!(hints.get("qual_a"), None);
        assert!(!hints.is_full());
        hints.learn("qual_big", i64::from(u32::MAX) + 1);
        assert_eq!(hints.get("qual_big"), None, "a rowid beyond 32 bits is not kept");
        let stats = hints.stats();
        assert_eq!(
            (
                stats.entries,
                stats.capacity,
                stats.hits,
                stats.stale,
                stats.misses
            ),
            (1, 2, 2, 1, 4)
        );
    }

    #[test]
    fn a_map_of_none_keeps_nothing() {
        let hints = RowHints::new(0);
        hints.learn("qual_a", 1);
        assert!(hints.is_full());
        assert_eq!(hints.get("qual_a"), None);
    }
}

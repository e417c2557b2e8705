//! The read cache of trust facts, and the freshness check that keeps it exact.
//!
//! Every cached value is tagged with the [`Generation`] it was loaded under and served only to
//! a read of the same generation. The generation is the database's log size (every accepted
//! write appends to `signed_write` in its own transaction, whichever server or process made
//! it) together with a counter of this process's direct inserts. A read learns the current
//! generation from a probe that *starts after the read arrived*, so a write committed before
//! a read arrives is always seen by it: nothing stale is ever served.
//!
//! Probes are shared: reads that arrive while a probe is running wait for the next one, and
//! one probe (one indexed query for the last log index) answers every read that arrived before it
//! started. Under load this costs a fraction of a query per read. On SQLite no query is needed
//! at all while no commit has been made since the last probe: every process on the file counts
//! its commits in shared memory (commits.rs).

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Store;
use super::changes::{Changes, Subject};
use super::compact::compacted;
use crate::domain::DomainError;
use crate::domain::Timestamp;
use crate::domain::enums::IdentifierScheme;
use crate::domain::model::{
    AccreditationRecord, ActorKey, ExternalIdentifier, Provider, QaAgency, Qualification,
};
use crate::domain::query::Keyed;
use quick_cache::Equivalent;
use quick_cache::sync::Cache;

type Result<T> = std::result::Result<T, DomainError>;

/// The state of the store a read saw: log size and this process's direct inserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    pub log_size: u64,
    local: u64,
}

impl Generation {
    /// The generation of a snapshot of the database: its log size, read in the snapshot, and
    /// this process's direct inserts as counted *before* the snapshot began (so a snapshot that
    /// already holds a later insert is tagged older than it is: its values are loaded again,
    /// never served stale).
    pub(super) fn of_snapshot(log_size: u64, local_before: u64) -> Self {
        Self {
            log_size,
            local: local_before,
        }
    }

    /// Whether both saw the same direct inserts (which the log does not record, so a change in
    /// them may have changed anything).
    pub(super) fn same_local(&self, other: &Generation) -> bool {
        self.local == other.local
    }
}

/// A provider with what decides its trust: keys, accreditations with histories, agencies.
#[derive(Debug)]
pub struct OwnerFacts {
    pub provider: Arc<Keyed<Provider>>,
    pub accreditations: Arc<[AccreditationRecord]>,
    /// The agencies of the accreditations, each once: shared with every other provider's facts
    /// of the same generation (see `agencies`).
    pub agencies: Arc<[Arc<QaAgency>]>,
}

/// What verifying a credential needs of the registered micro-credential it names: who may award
/// it, whether it was withdrawn, and the scope its issuer's accreditation must cover.
#[derive(Debug, PartialEq)]
pub struct QualificationScope {
    pub provider_id: String,
    pub awarding_body_ids: Vec<String>,
    pub withdrawn_at: Option<Timestamp>,
    pub eqf_level: Option<u8>,
    pub credential_type: String,
    pub field_of_study: String,
}

impl From<Qualification> for QualificationScope {
    fn from(q: Qualification) -> Self {
        Self {
            eqf_level: q.eqf_level(),
            provider_id: q.provider_id,
            awarding_body_ids: q.awarding_body_ids,
            withdrawn_at: q.withdrawn_at,
            credential_type: q.credential_type,
            field_of_study: q.field_of_study,
        }
    }
}

/// The bindings of one external identifier: (owner, identifier with validity), oldest first.
pub type Bindings = Arc<[(String, ExternalIdentifier)]>;

/// One kind of cached value: values tagged with the generation they were loaded under (no
/// cache when caching is off), and how the lookups went.
struct Tagged<K, V> {
    name: &'static str,
    cache: Option<Cache<K, (Generation, V)>>,
    lookups: Lookups,
}

impl<K: Eq + Hash, V: Clone> Tagged<K, V> {
    fn new(name: &'static str, entries: usize) -> Self {
        Self {
            name,
            cache: (entries > 0).then(|| Cache::new(entries)),
            lookups: Lookups::default(),
        }
    }

    fn stats(&self) -> Option<CacheStats> {
        let cache = self.cache.as_ref()?;
        Some(
            self.lookups
                .stats(self.name, cache.len() as u64, cache.capacity()),
        )
    }
}

/// How the lookups of one kind of cached value went, counted without locks.
#[derive(Debug, Default)]
pub struct Lookups {
    hits: AtomicU64,
    kept: AtomicU64,
    stale: AtomicU64,
    misses: AtomicU64,
}

impl Lookups {
    /// Found, and still current for the read.
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Found, loaded before later writes that did not change it (changes.rs): served.
    pub fn kept(&self) {
        self.kept.fetch_add(1, Ordering::Relaxed);
    }

    /// Found, but no longer current (loaded before a later write): read again.
    pub fn stale(&self) {
        self.stale.fetch_add(1, Ordering::Relaxed);
    }

    /// Not found (never loaded, or evicted to make room): read.
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far, as the state of the kind `kind`.
    pub fn stats(&self, kind: &'static str, entries: u64, capacity: u64) -> CacheStats {
        CacheStats {
            kind,
            entries,
            capacity,
            hits: self.hits.load(Ordering::Relaxed),
            kept: self.kept.load(Ordering::Relaxed),
            stale: self.stale.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// The state of one kind of the read cache, for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheStats {
    /// `issuer_keys`, `identifiers`, `providers`, `agencies` or `qualifications`.
    pub kind: &'static str,
    pub entries: u64,
    pub capacity: u64,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups answered from the cache with a value loaded before later writes, none of which
    /// changed it (see changes.rs).
    pub kept: u64,
    /// Lookups that found a value loaded before a later write that may have changed it, and
    /// loaded it again.
    pub stale: u64,
    /// Lookups that found nothing and loaded the value.
    pub misses: u64,
}

/// Shared by the clones of a store.
pub struct ReadCache {
    /// Probes started so far.
    started: AtomicU64,
    /// The id and answer of the last completed probe; held while a probe runs.
    last: tokio::sync::Mutex<(u64, Generation)>,
    /// Direct inserts by this process (tests, fixtures): they do not go through the log.
    local: AtomicU64,
    /// The last probe's answer with the commit count and direct inserts it was taken at:
    /// valid while both stay the same (see commits.rs).
    settled: std::sync::RwLock<Option<(u64, u64, Generation)>>,
    keys: Tagged<[u8; 32], Option<(String, ActorKey)>>,
    identifiers: Tagged<(IdentifierScheme, String), Bindings>,
    owners: Tagged<String, Option<Arc<OwnerFacts>>>,
    /// Agencies by id: the providers' facts of one generation hold the same few agencies, so
    /// they share one copy of each instead of one per provider.
    agencies: Tagged<String, Option<Arc<QaAgency>>>,
    /// Qualifications by id, as credential verification needs them: a quarter as many entries
    /// as the other kinds (a few hundred bytes each), for the micro-credentials verified most.
    qualifications: Tagged<String, Option<Arc<QualificationScope>>>,
    /// What the writes since the store opened changed (see changes.rs).
    pub(super) changes: Changes,
}

impl ReadCache {
    /// A cache holding up to `entries` values of each kind; 0 turns caching off (the freshness
    /// probe still runs, for the checkpoint a verdict names).
    pub fn new(entries: usize) -> Self {
        Self {
            started: AtomicU64::new(0),
            last: tokio::sync::Mutex::new((
                0,
                Generation {
                    log_size: u64::MAX,
                    local: u64::MAX,
                },
            )),
            local: AtomicU64::new(0),
            settled: std::sync::RwLock::new(None),
            keys: Tagged::new("issuer_keys", entries),
            identifiers: Tagged::new("identifiers", entries),
            owners: Tagged::new("providers", entries),
            agencies: Tagged::new("agencies", entries),
            qualifications: Tagged::new("qualifications", entries.div_ceil(4)),
            changes: Changes::default(),
        }
    }

    /// Each kind's entries and lookups so far; empty when caching is off.
    pub fn stats(&self) -> Vec<CacheStats> {
        [
            self.keys.stats(),
            self.identifiers.stats(),
            self.owners.stats(),
            self.agencies.stats(),
            self.qualifications.stats(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Direct inserts by this process so far.
    pub(super) fn local_count(&self) -> u64 {
        self.local.load(Ordering::SeqCst)
    }

    /// Counts a change made outside the log.
    pub fn touch(&self) {
        self.local.fetch_add(1, Ordering::SeqCst);
    }
}

/// The value under `key` if it was loaded under `generation`, else loads and caches it (under
/// `owned()`, the key as stored).
///
/// The lookup borrows the key and the load is made only on a miss, on the heap: a warm read
/// allocates nothing here, and the futures of the reads that call this stay small (a load's
/// future holds a whole database query; inline, every call would carry and move its bytes).
async fn through<K, Q, V, F>(
    store: &Store,
    kind: &Tagged<K, V>,
    generation: Generation,
    key: &Q,
    subject: Subject<'_>,
    owned: impl FnOnce() -> K,
    load: impl FnOnce() -> F,
) -> Result<V>
where
    K: Eq + Hash + Clone,
    Q: Hash + Equivalent<K> + ?Sized,
    V: Clone,
    F: Future<Output = Result<V>>,
{
    let Some(cache) = &kind.cache else {
        return Box::pin(load()).await;
    };
    match cache.get(key) {
        Some((tag, value)) if tag == generation => {
            kind.lookups.hit();
            return Ok(value);
        }
        Some((tag, value)) => {
            if Box::pin(store.unchanged_since(subject, tag, generation)).await? {
                kind.lookups.kept();
                // Tagged anew, so that the next read of this generation finds it current. (A
                // value tagged later than the read stays as it is.)
                if generation.log_size > tag.log_size {
                    cache.insert(owned(), (generation, value.clone()));
                }
                return Ok(value);
            }
            kind.lookups.stale();
        }
        None => kind.lookups.miss(),
    }
    let value = Box::pin(load()).await?;
    cache.insert(owned(), (generation, value.clone()));
    Ok(value)
}

/// An external identifier's cache key, borrowed: hashes and compares as the stored key
/// `(scheme, value)` does.
#[derive(Hash)]
struct IdentifierKey<'a>(IdentifierScheme, &'a str);

impl Equivalent<(IdentifierScheme, String)> for IdentifierKey<'_> {
    fn equivalent(&self, key: &(IdentifierScheme, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

impl Store {
    /// The generation of the store as of a moment after this call began (see the module
    /// documentation). Brings the in-memory log up to the probed size.
    ///
    /// Where commits are counted (SQLite, see commits.rs), a read that finds no commit
    /// finished or under way since the last probe takes that probe's answer without a query.
    pub async fn generation(&self) -> Result<Generation> {
        let cache = &self.cache;
        let arrived = cache.started.load(Ordering::SeqCst);
        if let Some(commits) = self.commits.settled() {
            let local = cache.local.load(Ordering::SeqCst);
            if let Some((seen, seen_local, generation)) = *cache.settled.read().expect("settled lock")
                && (seen, seen_local) == (commits, local)
            {
                return Ok(generation);
            }
        }
        // On the heap: the probe's future holds a query, which the reads answered above need
        // not carry.
        Box::pin(self.probe(arrived)).await
    }

    /// The generation from a probe started after probe number `arrived`: this read's own, or
    /// one that another read started later.
    async fn probe(&self, arrived: u64) -> Result<Generation> {
        let cache = &self.cache;
        let mut last = cache.last.lock().await;
        if last.0 > arrived {
            return Ok(last.1);
        }
        let id = cache.started.fetch_add(1, Ordering::SeqCst) + 1;
        // Read before the query: every commit counted here is in the log size it reads.
        let commits = self.commits.settled();
        let local = cache.local.load(Ordering::SeqCst);
        let log_size = super::apply::next_log_index(&self.db).await? as u64;
        if self.log_size().await < log_size {
            self.sync_log().await?;
        }
        let generation = Generation { log_size, local };
        *last = (id, generation);
        *cache.settled.write().expect("settled lock") = commits.map(|commits| (commits, local, generation));
        Ok(generation)
    }

    /// Counts a direct insert (after its commit), here and for the other processes on the
    /// database.
    pub(super) fn touched(&self) {
        drop(self.commits.begin());
        self.cache.touch();
    }

    pub(super) async fn cached_key(
        &self,
        generation: Generation,
        public_key: &[u8; 32],
    ) -> Result<Option<(String, ActorKey)>> {
        through(
            self,
            &self.cache.keys,
            generation,
            public_key,
            Subject::Key(public_key),
            || *public_key,
            || self.key_by_public_key(public_key),
        )
        .await
    }

    pub(super) async fn cached_bindings(
        &self,
        generation: Generation,
        scheme: IdentifierScheme,
        value: &str,
    ) -> Result<Bindings> {
        through(
            self,
            &self.cache.identifiers,
            generation,
            &IdentifierKey(scheme, value),
            Subject::Identifier(scheme, value),
            || (scheme, value.to_owned()),
            || self.identifier_bindings(scheme, value),
        )
        .await
    }

    pub(super) async fn cached_owner(
        &self,
        generation: Generation,
        owner: &str,
    ) -> Result<Option<Arc<OwnerFacts>>> {
        through(
            self,
            &self.cache.owners,
            generation,
            owner,
            Subject::Provider(owner),
            || owner.to_owned(),
            || self.owner_facts(generation, owner),
        )
        .await
    }

    /// The registered qualification `id` as credential verification needs it, as of a moment
    /// after this call began (cached like the trust facts, so never stale).
    pub async fn qualification_scope(&self, id: &str) -> Result<Option<Arc<QualificationScope>>> {
        let load = || async {
            let found = self.qualification(id).await?;
            Ok(found.map(|q| Arc::new(compacted(QualificationScope::from(q)))))
        };
        if self.cache.qualifications.cache.is_none() {
            return load().await;
        }
        let generation = self.generation().await?;
        through(
            self,
            &self.cache.qualifications,
            generation,
            id,
            Subject::Qualification(id),
            || id.to_owned(),
            load,
        )
        .await
    }

    pub(super) async fn cached_agency(
        &self,
        generation: Generation,
        id: &str,
    ) -> Result<Option<Arc<QaAgency>>> {
        use sea_orm::EntityTrait as _;
        through(
            self,
            &self.cache.agencies,
            generation,
            id,
            Subject::Other,
            || id.to_owned(),
            || async {
                let row = super::entity::qa_agency::Entity::find_by_id(id)
                    .one(&self.db)
                    .await?;
                row.map(|row| super::from_doc::<QaAgency>(&row.doc).map(|agency| Arc::new(compacted(agency))))
                    .transpose()
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    /// A borrowed identifier key finds what its stored form was cached under: same hash, equal.
    #[test]
    fn identifier_keys_borrowed_and_stored_agree() {
        let stored = (IdentifierScheme::Did, "did:web:example.org".to_owned());
        let hasher = std::collections::hash_map::RandomState::new();
        let borrowed = IdentifierKey(IdentifierScheme::Did, "did:web:example.org");
        assert_eq!(hasher.hash_one(&borrowed), hasher.hash_one(&stored));
        assert!(borrowed.equivalent(&stored));
        assert!(!IdentifierKey(IdentifierScheme::Deqar, "did:web:example.org").equivalent(&stored));
        assert!(!IdentifierKey(IdentifierScheme::Did, "did:web:example.com").equivalent(&stored));

        let cache: Cache<(IdentifierScheme, String), u32> = Cache::new(4);
        cache.insert(stored.clone(), 7);
        assert_eq!(cache.get(&borrowed), Some(7));
    }
}

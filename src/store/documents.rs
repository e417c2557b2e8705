//! The qualifications' stored documents kept in memory, compressed, for GetQualification.
//!
//! GetQualification reads one document at random from the largest table of the registry (a
//! million micro-credentials take ~1.2 GB of a SQLite file). A page cache that does not hold
//! the whole table turns lookups into reads from the disk, each waiting on the thread that asked
//! and costing the kernel's work besides; a host that reclaims the file pages it sees read
//! rarely (the benchmark's guests reclaim any page unread for a minute) evicts exactly these.
//! The documents themselves are small, and most of each is shared with every other: the JSON
//! keys, enum values, framework and country codes, the text of common fields. Compressed with a
//! dictionary trained on the registry's own documents, each takes a fraction of its stored size,
//! and a budget of process memory (`serve --document-cache-mib`) holds many of them.
//!
//! Exact, as the read cache of trust facts (cache.rs): each document is tagged with the
//! [`Generation`] it was read under and served only to a read of the same generation, so a
//! write by any process is seen by the next read.
//!
//! Filled two ways. When the store opens, a task reads the table in chunks, each chunk in a read
//! transaction of its own together with the log size it was read at, until the budget is full;
//! the dictionary is trained on the first chunk. A lookup that misses reads the row and keeps
//! its document. A registry that starts empty trains its dictionary once lookups have kept
//! enough documents; until then documents are kept as stored.
//!
//! Entries are keyed by a 64-bit hash of the id (seeded at random per process); a document
//! found under an id's hash must still name that id, or the lookup reads the row.

use std::cell::RefCell;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use quick_cache::Weighter;
use quick_cache::sync::Cache;
use zstd::zstd_safe::{CCtx, CDict, DCtx, DDict};

use super::cache::{CacheStats, Generation, Lookups};

/// Bytes an entry costs beyond its compressed document's: the key, the tag, the shared pointer
/// and its counts, the allocator's rounding, the cache's own slot and index. Measured: a million
/// of the bench's documents (~100 bytes each compressed) raised the server's RSS by 266 MiB,
/// ~280 bytes an entry.
const ENTRY_OVERHEAD: u64 = 176;
/// Documents the dictionary is trained on (about a megabyte of them at ~1 KB each).
pub(super) const TRAINING_DOCUMENTS: usize = 2_000;
/// Fewest documents worth training a dictionary on.
const MIN_TRAINING_DOCUMENTS: usize = 64;
/// Largest dictionary. zstd's own guidance: about a hundredth of the samples' size.
const DICTIONARY_BYTES: usize = 16 * 1024;
/// zstd's level: each document is compressed once and read many times, and level 3 compresses
/// a kilobyte in a few microseconds.
const LEVEL: i32 = 3;

/// The first bytes of a zstd frame. A kept document is either a frame or the stored JSON, which
/// starts with `{`.
const ZSTD_MAGIC: [u8; 4] = 0xFD2F_B528_u32.to_le_bytes();

#[derive(Clone)]
struct Entry {
    generation: Generation,
    /// A zstd frame, or the document as stored.
    bytes: Arc<[u8]>,
}

#[derive(Clone)]
struct Weight;

impl Weighter<u64, Entry> for Weight {
    fn weight(&self, _key: &u64, entry: &Entry) -> u64 {
        entry.bytes.len() as u64 + ENTRY_OVERHEAD
    }
}

/// The dictionary, prepared for compressing and for decompressing.
struct Codec {
    compress: CDict<'static>,
    decompress: DDict<'static>,
}

thread_local! {
    static CCTX: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

impl Codec {
    fn train(samples: &[impl AsRef<[u8]>]) -> Option<Self> {
        if samples.len() < MIN_TRAINING_DOCUMENTS {
            return None;
        }
        match zstd::dict::from_samples(samples, DICTIONARY_BYTES) {
            Ok(dictionary) => Some(Self {
                compress: CDict::create(&dictionary, LEVEL),
                decompress: DDict::create(&dictionary),
            }),
            Err(err) => {
                tracing::warn!(error = %err, "no dictionary for the document cache; documents kept as stored");
                None
            }
        }
    }

    fn compress(&self, doc: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(doc.len()));
        CCTX.with_borrow_mut(|cctx| cctx.compress_using_cdict(&mut out, doc, &self.compress))
            .ok()?;
        out.shrink_to_fit();
        Some(out)
    }

    fn decompress(&self, frame: &[u8]) -> Option<String> {
        let size = zstd::zstd_safe::get_frame_content_size(frame).ok()??;
        let mut out = Vec::with_capacity(usize::try_from(size).ok()?);
        DCTX.with_borrow_mut(|dctx| dctx.decompress_using_ddict(&mut out, frame, &self.decompress))
            .ok()?;
        String::from_utf8(out).ok()
    }
}

/// How the document cache stands, for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentStats {
    pub lookups: CacheStats,
    /// Bytes the entries take (documents and overhead) and the budget.
    pub bytes: u64,
    pub budget: u64,
    /// Whether documents are compressed with a trained dictionary.
    pub compressed: bool,
}

/// What a lookup found under an id's hash.
#[derive(Debug, PartialEq)]
pub enum Found {
    /// A document read under the read's generation.
    Current(String),
    /// An entry read under another generation: it may still hold (see [`Documents::kept`]).
    Tagged(Generation),
    Missing,
}

/// Qualification documents by id, within a budget of bytes.
pub struct Documents {
    ids: foldhash::quality::RandomState,
    entries: Cache<u64, Entry, Weight>,
    codec: OnceLock<Codec>,
    /// Documents kept for training while there is no dictionary yet.
    samples: Mutex<Vec<Arc<[u8]>>>,
    /// Set once a dictionary was trained or tried.
    trained: AtomicBool,
    lookups: Lookups,
}

impl Documents {
    /// A cache of at most `budget` bytes (at least one entry).
    pub fn new(budget: u64) -> Self {
        let estimated = usize::try_from(budget / (ENTRY_OVERHEAD + 128))
            .unwrap_or(usize::MAX)
            .max(1);
        Self {
            ids: foldhash::quality::RandomState::default(),
            entries: Cache::with_weighter(estimated, budget, Weight),
            codec: OnceLock::new(),
            samples: Mutex::new(Vec::new()),
            trained: AtomicBool::new(false),
            lookups: Lookups::default(),
        }
    }

    fn key(&self, id: &str) -> u64 {
        self.ids.hash_one(id)
    }

    /// What is kept under `id`'s hash: the document if it was read under `generation` (the
    /// caller checks that it is `id`'s), else the generation it was read under.
    pub fn get(&self, id: &str, generation: Generation) -> Found {
        let Some(entry) = self.entries.get(&self.key(id)) else {
            self.lookups.miss();
            return Found::Missing;
        };
        if entry.generation != generation {
            return Found::Tagged(entry.generation);
        }
        match self.decode(&entry.bytes) {
            Some(doc) => {
                self.lookups.hit();
                Found::Current(doc)
            }
            None => {
                self.lookups.miss();
                Found::Missing
            }
        }
    }

    /// The document kept under `id`'s hash if it is still the one read under `tag`, which the
    /// caller found unchanged by the writes since (changes.rs). Once the caller has checked that
    /// it is `id`'s, [`Documents::retag`] tags it with the read's generation.
    pub fn kept(&self, id: &str, tag: Generation) -> Option<String> {
        let doc = self
            .entries
            .get(&self.key(id))
            .filter(|entry| entry.generation == tag)
            .and_then(|entry| self.decode(&entry.bytes));
        match doc {
            Some(_) => self.lookups.kept(),
            // Replaced since, or undecodable: read again.
            None => self.lookups.stale(),
        }
        doc
    }

    /// Tags the document kept under `id`'s hash with `generation` if it is still the one read
    /// under `tag` and `generation` is the later: the next read of `generation` finds it current.
    pub fn retag(&self, id: &str, tag: Generation, generation: Generation) {
        if generation.log_size <= tag.log_size {
            return;
        }
        let key = self.key(id);
        if let Some(entry) = self.entries.get(&key).filter(|entry| entry.generation == tag) {
            self.entries.insert(
                key,
                Entry {
                    generation,
                    bytes: entry.bytes,
                },
            );
        }
    }

    /// Counts a lookup that found a document read before a write that may have changed it.
    pub fn stale(&self) {
        self.lookups.stale();
    }

    fn decode(&self, bytes: &[u8]) -> Option<String> {
        if bytes.starts_with(&ZSTD_MAGIC) {
            self.codec.get().and_then(|codec| codec.decompress(bytes))
        } else {
            std::str::from_utf8(bytes).ok().map(str::to_owned)
        }
    }

    /// Keeps `doc`, read under `generation`, as `id`'s. Without a dictionary yet, the document
    /// also becomes a training sample, and the dictionary is trained once there are enough.
    pub fn insert(self: &Arc<Self>, id: &str, generation: Generation, doc: &str) {
        let bytes: Arc<[u8]> = match self.codec.get() {
            Some(codec) => match codec.compress(doc.as_bytes()) {
                Some(bytes) => bytes.into(),
                None => return,
            },
            None => {
                let bytes: Arc<[u8]> = doc.as_bytes().into();
                self.sample(&bytes);
                bytes
            }
        };
        self.entries.insert(self.key(id), Entry { generation, bytes });
    }

    /// Collects a training sample; once enough are in, trains the dictionary on a thread of
    /// its own (a few hundred milliseconds, not on the lookup that brought the last sample).
    fn sample(self: &Arc<Self>, raw: &Arc<[u8]>) {
        if self.trained.load(Ordering::Relaxed) {
            return;
        }
        let samples = {
            let mut samples = self.samples.lock().expect("document samples");
            samples.push(Arc::clone(raw));
            if samples.len() < TRAINING_DOCUMENTS || self.trained.swap(true, Ordering::SeqCst) {
                return;
            }
            std::mem::take(&mut *samples)
        };
        let documents = Arc::clone(self);
        let started = std::thread::Builder::new()
            .name("document-dictionary".into())
            .spawn(move || {
                let docs: Vec<&[u8]> = samples.iter().map(|s| &s[..]).collect();
                documents.trained_on(&docs);
            });
        if let Err(err) = started {
            tracing::warn!(error = %err, "no dictionary for the document cache; documents kept as stored");
        }
    }

    /// Trains the dictionary on `docs` (at least [`TRAINING_DOCUMENTS`] of them), unless one
    /// was trained or tried before.
    pub fn train(&self, docs: &[&[u8]]) {
        if !self.trained.swap(true, Ordering::SeqCst) {
            self.trained_on(docs);
        }
    }

    fn trained_on(&self, docs: &[&[u8]]) {
        self.samples.lock().expect("document samples").clear();
        if let Some(codec) = Codec::train(docs) {
            let _ = self.codec.set(codec);
        }
    }

    /// Whether documents are compressed with a trained dictionary.
    pub fn compressing(&self) -> bool {
        self.codec.get().is_some()
    }

    /// Whether the documents fill the budget: 95% of it, as the cache's shards each keep their
    /// own share and evict within it, so the whole may stop short of the sum.
    pub fn full(&self) -> bool {
        self.entries.weight() * 20 >= self.entries.capacity() * 19
    }

    pub fn stats(&self) -> DocumentStats {
        DocumentStats {
            lookups: self
                .lookups
                .stats("documents", self.entries.len() as u64, self.entries.capacity()),
            bytes: self.entries.weight(),
            budget: self.entries.capacity(),
            compressed: self.codec.get().is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document shaped like the registry's: shared keys and values, a few unique ones.
    fn doc(i: usize) -> String {
        format!(
            r#"{{"id":"qual_{i:020}","provider_id":"prov_{:020}","titles":[{{"language":"en","value":"Micro-credential number {i}"}}],"countries":["IE"],"framework_id":"eqf","level_code":"{}","learning_outcomes":[{{"text":"Applies the skills of topic {}.","skill_uris":["http://data.europa.eu/esco/skill/{}"]}}],"withdrawn_at":null}}"#,
            i / 10,
            4 + i % 4,
            i % 97,
            i % 89
        )
    }

    fn generation(log_size: u64) -> Generation {
        Generation::of_snapshot(log_size, 0)
    }

    fn wait_for_dictionary(documents: &Documents) {
        for _ in 0..500 {
            if documents.compressing() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("no dictionary trained");
    }

    #[test]
    fn documents_come_back_as_kept_and_only_for_their_generation() {
        let documents = Arc::new(Documents::new(1 << 20));
        documents.insert("a", generation(5), &doc(1));
        assert_eq!(documents.get("a", generation(5)), Found::Current(doc(1)));
        assert_eq!(
            documents.get("a", generation(6)),
            Found::Tagged(generation(5)),
            "a later write came: the caller decides"
        );
        documents.stale();
        assert_eq!(
            documents.get("a", Generation::of_snapshot(5, 1)),
            Found::Tagged(generation(5)),
            "a direct insert came"
        );
        documents.stale();
        assert_eq!(documents.get("b", generation(5)), Found::Missing);
        let stats = documents.stats();
        assert_eq!(
            (stats.lookups.hits, stats.lookups.stale, stats.lookups.misses),
            (1, 2, 1)
        );
        assert!(!stats.compressed);
        // Kept again under the new generation, it is served there.
        documents.insert("a", generation(6), &doc(2));
        assert_eq!(documents.get("a", generation(6)), Found::Current(doc(2)));
    }

    #[test]
    fn a_document_unchanged_by_later_writes_is_served_and_tagged_anew() {
        let documents = Arc::new(Documents::new(1 << 20));
        documents.insert("a", generation(5), &doc(1));
        assert_eq!(
            documents.kept("a", generation(4)),
            None,
            "not the document read under 4"
        );
        assert_eq!(documents.kept("a", generation(5)), Some(doc(1)));
        documents.retag("a", generation(5), generation(8));
        assert_eq!(documents.get("a", generation(8)), Found::Current(doc(1)));
        // Never tagged back to an earlier generation.
        documents.retag("a", generation(8), generation(7));
        assert_eq!(documents.get("a", generation(8)), Found::Current(doc(1)));
        // Nor over a document read since.
        documents.insert("a", generation(9), &doc(2));
        documents.retag("a", generation(8), generation(10));
        assert_eq!(documents.get("a", generation(9)), Found::Current(doc(2)));
        let stats = documents.stats();
        assert_eq!(
            (stats.lookups.hits, stats.lookups.kept, stats.lookups.stale),
            (3, 1, 1)
        );
    }

    #[test]
    fn a_trained_dictionary_compresses_and_every_document_comes_back_whole() {
        let documents = Arc::new(Documents::new(64 << 20));
        let samples: Vec<String> = (0..TRAINING_DOCUMENTS).map(doc).collect();
        let sample_bytes: Vec<&[u8]> = samples.iter().map(|s| s.as_bytes()).collect();
        documents.train(&sample_bytes);
        assert!(documents.compressing());
        let stored: usize = (0..10_000).map(|i| doc(i).len()).sum();
        for i in 0..10_000 {
            documents.insert(&format!("q{i}"), generation(1), &doc(i));
        }
        for i in (0..10_000).step_by(7) {
            assert_eq!(
                documents.get(&format!("q{i}"), generation(1)),
                Found::Current(doc(i))
            );
        }
        let stats = documents.stats();
        assert_eq!(stats.lookups.entries, 10_000);
        let kept = stats.bytes - 10_000 * ENTRY_OVERHEAD;
        assert!(
            kept * 3 < stored as u64,
            "compressed to {kept} bytes from {stored}"
        );
    }

    #[test]
    fn lookups_train_the_dictionary_once_they_kept_enough_documents() {
        let documents = Arc::new(Documents::new(64 << 20));
        for i in 0..TRAINING_DOCUMENTS - 1 {
            documents.insert(&format!("q{i}"), generation(1), &doc(i));
        }
        assert!(!documents.compressing());
        documents.insert("last", generation(1), &doc(TRAINING_DOCUMENTS));
        wait_for_dictionary(&documents);
        // Kept before the dictionary (as stored) and after it (compressed): both come back.
        documents.insert("after", generation(1), &doc(TRAINING_DOCUMENTS + 1));
        assert_eq!(documents.get("q0", generation(1)), Found::Current(doc(0)));
        assert_eq!(
            documents.get("after", generation(1)),
            Found::Current(doc(TRAINING_DOCUMENTS + 1))
        );
    }

    #[test]
    fn the_budget_bounds_what_is_kept() {
        let budget = 256 * 1024;
        let documents = Arc::new(Documents::new(budget));
        for i in 0..5_000 {
            documents.insert(&format!("q{i}"), generation(1), &doc(i));
        }
        let stats = documents.stats();
        assert!(stats.bytes <= budget, "{stats:?}");
        assert!(stats.lookups.entries < 5_000, "{stats:?}");
        assert!(documents.full(), "{stats:?}");
        assert!(!Documents::new(budget).full(), "an empty cache is not full");
    }
}

//! Filling the document cache (documents.rs): when the store opens, and on lookups.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

use super::cache::Generation;
use super::changes::Subject;
use super::documents::{Documents, Found, TRAINING_DOCUMENTS};
use super::{Store, from_doc};
use crate::domain::DomainError;
use crate::domain::model::Qualification;

type Result<T> = std::result::Result<T, DomainError>;

/// Rows each chunk of the first load reads, in a read transaction of its own: short enough not
/// to hold back SQLite's checkpoints or PostgreSQL's vacuum for long.
const CHUNK: i64 = 5_000;

/// Where the first load stands: SQLite reads the table in rowid order (the order of its pages),
/// PostgreSQL in id order (its primary key).
enum Cursor {
    Rowid(i64),
    Id(String),
}

impl Store {
    /// The registered qualification `id`, as of a moment after this call began.
    pub async fn qualification(&self, id: &str) -> Result<Option<Qualification>> {
        let Some(documents) = &self.documents else {
            let doc = self.qualification_doc(id).await?;
            return doc.map(|doc| from_doc(&doc)).transpose();
        };
        let generation = self.generation().await?;
        let (found, tag) = match documents.get(id, generation) {
            Found::Current(doc) => (Some(doc), None),
            Found::Tagged(tag) => {
                if self
                    .unchanged_since(Subject::Qualification(id), tag, generation)
                    .await?
                {
                    (documents.kept(id, tag), Some(tag))
                } else {
                    documents.stale();
                    (None, None)
                }
            }
            Found::Missing => (None, None),
        };
        if let Some(doc) = found {
            let qualification: Qualification = from_doc(&doc)?;
            if qualification.id == id {
                if let Some(tag) = tag {
                    documents.retag(id, tag, generation);
                }
                return Ok(Some(qualification));
            }
            // Another id with the same hash: read the row.
        }
        let Some(doc) = self.qualification_doc(id).await? else {
            return Ok(None);
        };
        let qualification: Qualification = from_doc(&doc)?;
        if qualification.id == id {
            documents.insert(id, generation, &doc);
        }
        Ok(Some(qualification))
    }

    /// Starts reading the qualification table into the document cache, on a task of its own.
    pub(super) fn start_loading_documents(&self) {
        let store = self.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match store.load_documents().await {
                Ok(loaded) => {
                    let stats = store.document_stats();
                    tracing::info!(
                        documents = loaded,
                        bytes = stats.as_ref().map(|s| s.bytes),
                        budget = stats.as_ref().map(|s| s.budget),
                        compressed = stats.as_ref().map(|s| s.compressed),
                        seconds = started.elapsed().as_secs_f64(),
                        "qualification documents loaded into memory"
                    );
                }
                Err(err) => {
                    tracing::warn!(error = %err, "loading qualification documents into memory stopped; lookups still fill the cache");
                }
            }
        });
    }

    /// Reads the qualification table a chunk at a time into the cache until the table ends or
    /// the budget is full. Returns how many documents it kept.
    async fn load_documents(&self) -> Result<usize> {
        let Some(documents) = self.documents.clone() else {
            return Ok(0);
        };
        let backend = self.db.get_database_backend();
        let mut cursor = match backend {
            DbBackend::Sqlite => Cursor::Rowid(-1),
            _ => Cursor::Id(String::new()),
        };
        let mut loaded = 0;
        while !documents.full() {
            // The log size is read before the rows: on SQLite both in one snapshot; on
            // PostgreSQL (read committed) the rows may be newer than it, never older, so a
            // document is at worst tagged older than it is and loaded again, never served stale.
            let local = self.cache.local_count();
            let txn = self.db.begin().await?;
            let log_size = super::apply::next_log_index(&txn).await? as u64;
            let statement = match &cursor {
                Cursor::Rowid(after) => Statement::from_sql_and_values(
                    backend,
                    r#"SELECT "rowid", "id", "doc" FROM "qualification" WHERE "rowid" > ? ORDER BY "rowid" LIMIT ?"#,
                    [(*after).into(), CHUNK.into()],
                ),
                Cursor::Id(after) => Statement::from_sql_and_values(
                    backend,
                    r#"SELECT "id", "doc" FROM "qualification" WHERE "id" > $1 ORDER BY "id" LIMIT $2"#,
                    [after.clone().into(), CHUNK.into()],
                ),
            };
            let rows = txn.query_all_raw(statement).await?;
            txn.commit().await?;
            let Some(last) = rows.last() else {
                break;
            };
            cursor = match cursor {
                Cursor::Rowid(_) => Cursor::Rowid(last.try_get_by_index(0)?),
                Cursor::Id(_) => Cursor::Id(last.try_get_by_index(0)?),
            };
            let first = usize::from(matches!(cursor, Cursor::Rowid(_)));
            let chunk: Vec<(String, String)> = rows
                .iter()
                .map(|row| Ok((row.try_get_by_index(first)?, row.try_get_by_index(first + 1)?)))
                .collect::<std::result::Result<_, sea_orm::DbErr>>()?;
            let generation = Generation::of_snapshot(log_size, local);
            let documents = Arc::clone(&documents);
            // Compressing is CPU work: off the runtime's threads.
            loaded += tokio::task::spawn_blocking(move || keep(&documents, generation, &chunk))
                .await
                .map_err(|e| DomainError::Storage(format!("loading documents: {e}")))?;
        }
        Ok(loaded)
    }
}

/// Keeps a chunk's documents, training the dictionary on it first if it is the first chunk
/// large enough. Returns how many it kept.
fn keep(documents: &Arc<Documents>, generation: Generation, chunk: &[(String, String)]) -> usize {
    if !documents.compressing() && chunk.len() >= TRAINING_DOCUMENTS {
        let docs: Vec<&[u8]> = chunk
            .iter()
            .take(TRAINING_DOCUMENTS)
            .map(|(_, doc)| doc.as_bytes())
            .collect();
        documents.train(&docs);
    }
    let mut kept = 0;
    for (n, (id, doc)) in chunk.iter().enumerate() {
        // Reading the cache's weight visits all its shards: now and then.
        if n % 256 == 0 && documents.full() {
            break;
        }
        documents.insert(id, generation, doc);
        kept += 1;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    /// A stored qualification document with id `id`, as the store writes them.
    fn doc(id: &str, title: &str) -> String {
        format!(
            r#"{{"id":"{id}","provider_id":"prov_1nhdghn61yhc95w0pfra","titles":[{{"language":"en","value":"{title}"}}],"awarding_body_ids":["prov_1nhdghn61yhc95w0pfra"],"countries":["IE"],"learning_outcomes":[],"workload":{{"credit_system":"ects","value":1.0,"other_system":"","ects":1.0}},"level":null,"assessment_types":["project"],"assessment_description":"","participation":"online","quality_assurance":{{"description":"","accreditation_ids":[]}},"prerequisites":"","supervision":null,"grading_scheme":"","stackability":{{"stackability":"standalone","description":"","stacks_into":[]}},"further_information":"","credential_type":"","field_of_study":"","languages":["en"],"published_at":1796653623084555,"withdrawn_at":null,"version":1}}"#
        )
    }

    async fn insert(store: &Store, id: &str, title: &str) {
        store
            .db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                r#"INSERT INTO "qualification" ("id", "provider_id", "search_text", "stackability", "doc") VALUES (?, 'prov_1nhdghn61yhc95w0pfra', ?, 'standalone', ?)"#,
                [id.into(), title.into(), doc(id, title).into()],
            ))
            .await
            .unwrap();
        store.touched();
    }

    async fn store_on(url: &str) -> Store {
        Store::open(url, &StoreOptions::default()).await.unwrap()
    }

    /// A document found under an id's hash that names another id (two ids whose hashes meet)
    /// is not served: the row is read, and its document kept in its place.
    #[tokio::test]
    async fn a_document_kept_under_another_ids_hash_is_never_served() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = store_on(&url).await;
        insert(&store, "qual_aaaaaaaaaaaaaaaaaaaa", "First").await;
        insert(&store, "qual_bbbbbbbbbbbbbbbbbbbb", "Second").await;
        let documents = store.documents.clone().unwrap();
        let generation = store.generation().await.unwrap();
        documents.insert(
            "qual_bbbbbbbbbbbbbbbbbbbb",
            generation,
            &doc("qual_aaaaaaaaaaaaaaaaaaaa", "First"),
        );
        let found = store
            .qualification("qual_bbbbbbbbbbbbbbbbbbbb")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.id.as_str(), found.titles[0].value.as_str()),
            ("qual_bbbbbbbbbbbbbbbbbbbb", "Second")
        );
        // Its own document is kept now, and served.
        let hits = documents.stats().lookups.hits;
        let again = store
            .qualification("qual_bbbbbbbbbbbbbbbbbbbb")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again, found);
        assert_eq!(documents.stats().lookups.hits, hits + 1);
        assert!(
            store
                .qualification("qual_cccccccccccccccccccc")
                .await
                .unwrap()
                .is_none()
        );
    }

    /// A store that opens on qualifications reads them into memory and serves them from there;
    /// one opened with a budget of 0 keeps none.
    #[tokio::test]
    async fn opening_loads_the_documents_within_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let writer = store_on(&url).await;
        for i in 0..40 {
            insert(&writer, &format!("qual_{i:020}"), &format!("Loaded {i}")).await;
        }
        let reader = store_on(&url).await;
        let documents = reader.documents.clone().unwrap();
        for _ in 0..500 {
            if documents.stats().lookups.entries == 40 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(documents.stats().lookups.entries, 40);
        for i in 0..40 {
            let found = reader
                .qualification(&format!("qual_{i:020}"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(found.titles[0].value, format!("Loaded {i}"));
        }
        let stats = documents.stats().lookups;
        assert_eq!((stats.hits, stats.misses, stats.stale), (40, 0, 0));

        let off = Store::open(
            &url,
            &StoreOptions {
                document_cache_mib: 0,
                ..StoreOptions::default()
            },
        )
        .await
        .unwrap();
        assert!(off.document_stats().is_none());
        assert_eq!(
            off.qualification("qual_00000000000000000007")
                .await
                .unwrap()
                .unwrap()
                .titles[0]
                .value,
            "Loaded 7"
        );
    }
}

//! What a batch has learned that no later write can change.

use std::sync::LazyLock;

use sea_orm::{QueryTrait, Statement};

use super::*;
use crate::store::direct::DirectReads;

/// Facts a batch has looked up that no write can change afterwards, so its later writes need
/// not read them again: frameworks are only ever added, providers never removed, and an
/// accreditation's provider never changes. Only facts found are kept. A write of its own starts
/// with an empty one.
#[derive(Default)]
pub(super) struct Known {
    frameworks: std::sync::Mutex<HashMap<String, Framework>>,
    providers: std::sync::Mutex<HashMap<String, ()>>,
    accreditation_providers: std::sync::Mutex<HashMap<String, String>>,
    /// On a SQLite file, the committed state, read on connections of the direct reads: a fact
    /// that no write can undo and that is found committed holds in the batch too.
    committed: Option<Arc<DirectReads>>,
}

/// The value under `id` in `known` if found before, else loads it and keeps it if found.
async fn remembered<V: Clone>(
    known: &std::sync::Mutex<HashMap<String, V>>,
    id: &str,
    load: impl Future<Output = Result<Option<V>>>,
) -> Result<Option<V>> {
    if let Some(found) = known.lock().expect("known lock").get(id) {
        return Ok(Some(found.clone()));
    }
    let found = load.await?;
    if let Some(found) = &found {
        known
            .lock()
            .expect("known lock")
            .insert(id.to_owned(), found.clone());
    }
    Ok(found)
}

impl Known {
    /// An empty one that may look facts up in the committed state through `committed`.
    pub(super) fn reading_committed(committed: Option<Arc<DirectReads>>) -> Self {
        Self {
            committed,
            ..Self::default()
        }
    }

    /// Whether qualification `id` exists. A qualification is never removed (a new version
    /// replaces its row within the one write that makes it), so one found in the committed
    /// state exists in the batch as well. On SQLite that lookup runs on a connection of its own
    /// (an index-only read): it does not wait behind the rows the batch is sending on its
    /// transaction, as a recognition's check of its qualification did, one at a time. Only a
    /// qualification not committed yet (published earlier in the batch, or not at all) is
    /// looked up in the batch's transaction.
    pub(super) async fn qualification_exists(&self, tx: &impl ConnectionTrait, id: &str) -> Result<bool> {
        if let Some(committed) = &self.committed {
            static ID_BY_ID: LazyLock<String> = LazyLock::new(|| {
                qualification::Entity::find_by_id("")
                    .select_only()
                    .column(qualification::Column::Id)
                    .build(DbBackend::Sqlite)
                    .sql
            });
            let statement = Statement::from_sql_and_values(DbBackend::Sqlite, ID_BY_ID.as_str(), [id.into()]);
            if !committed.texts(&statement, usize::MAX)?.is_empty() {
                return Ok(true);
            }
        }
        Ok(qualification::Entity::find_by_id(id)
            .select_only()
            .column(qualification::Column::Id)
            .into_tuple::<String>()
            .one(tx)
            .await?
            .is_some())
    }

    /// Remembers the provider a write registered, and the provider of an accreditation.
    pub(super) fn learn(&self, applied: &Applied) {
        match applied {
            Applied::Provider(Keyed { item, .. }) => {
                self.providers
                    .lock()
                    .expect("known lock")
                    .insert(item.id.clone(), ());
            }
            Applied::Accreditation(record) => {
                self.accreditation_providers.lock().expect("known lock").insert(
                    record.accreditation.id.clone(),
                    record.accreditation.provider_id.clone(),
                );
            }
            _ => {}
        }
    }

    pub(super) async fn framework(&self, tx: &impl ConnectionTrait, id: &str) -> Result<Option<Framework>> {
        remembered(&self.frameworks, id, async {
            framework::Entity::find_by_id(id)
                .one(tx)
                .await?
                .map(|row| from_doc(&row.doc))
                .transpose()
        })
        .await
    }

    pub(super) async fn provider_exists(&self, tx: &impl ConnectionTrait, id: &str) -> Result<bool> {
        let found = remembered(&self.providers, id, async {
            Ok(provider::Entity::find_by_id(id).one(tx).await?.map(|_| ()))
        })
        .await?;
        Ok(found.is_some())
    }

    pub(super) async fn accreditation_provider(
        &self,
        tx: &impl ConnectionTrait,
        id: &str,
    ) -> Result<Option<String>> {
        remembered(&self.accreditation_providers, id, async {
            Ok(accreditation::Entity::find_by_id(id)
                .one(tx)
                .await?
                .map(|row| row.provider_id))
        })
        .await
    }
}

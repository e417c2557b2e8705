//! The Merkle log over accepted writes, kept in memory as leaf hashes (32 bytes a write) and
//! brought up to date from the database, which holds the entries and their leaf hashes.

use std::sync::Arc;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::RwLock;

use super::Store;
use super::entity::signed_write;
use crate::domain::DomainError;
use crate::domain::merkle::{Hash, Tree};
use crate::domain::write::EnvelopeRecord;

type Result<T> = std::result::Result<T, DomainError>;

/// Most entries read from the database at once.
const SYNC_BATCH: u64 = 10_000;

/// The in-memory tree, shared by the clones of a store.
#[derive(Clone, Default)]
pub struct Log {
    tree: Arc<RwLock<Tree>>,
    /// The last root computed, with the size it is the root of. The log only grows, so the
    /// root of a size never changes: it is computed once per size, not once per read (every
    /// verdict names the current checkpoint).
    head: Arc<std::sync::Mutex<Option<(u64, Hash)>>>,
}

impl Store {
    /// Appends to the in-memory tree every leaf the database has beyond it (written by this
    /// process or by another replica).
    pub async fn sync_log(&self) -> Result<u64> {
        let mut tree = self.log.tree.write().await;
        loop {
            let from = tree.len() as i64;
            let rows: Vec<(i64, Vec<u8>)> = signed_write::Entity::find()
                .select_only()
                .column(signed_write::Column::LogIndex)
                .column(signed_write::Column::LeafHash)
                .filter(signed_write::Column::LogIndex.gte(from))
                .order_by_asc(signed_write::Column::LogIndex)
                .limit(SYNC_BATCH)
                .into_tuple()
                .all(&self.db)
                .await?;
            if rows.is_empty() {
                return Ok(tree.len());
            }
            for (index, leaf) in rows {
                let leaf: Hash = leaf.as_slice().try_into().map_err(|_| {
                    DomainError::Storage(format!("log entry {index} has a malformed leaf hash"))
                })?;
                if index as u64 != tree.len() {
                    return Err(DomainError::Storage(format!(
                        "log entry {} is missing",
                        tree.len()
                    )));
                }
                tree.push(leaf);
            }
        }
    }

    /// The number of entries in the in-memory tree (as last synced).
    pub async fn log_size(&self) -> u64 {
        self.log.tree.read().await.len()
    }

    /// The current size and root of the log (as last synced).
    pub async fn log_head(&self) -> Result<(u64, Hash)> {
        let tree = self.log.tree.read().await;
        let size = tree.len();
        let mut head = self.log.head.lock().expect("log head lock");
        if let Some((known, root)) = *head
            && known == size
        {
            return Ok((size, root));
        }
        let root = tree.root(size).map_err(|e| DomainError::Storage(e.to_string()))?;
        *head = Some((size, root));
        Ok((size, root))
    }

    /// The root of the first `size` entries of the log; `size` must not exceed the size the log
    /// was last synced to (a generation's log size never does).
    pub async fn log_root(&self, size: u64) -> Result<Hash> {
        if let Some((known, root)) = *self.log.head.lock().expect("log head lock")
            && known == size
        {
            return Ok(root);
        }
        let tree = self.log.tree.read().await;
        tree.root(size).map_err(|e| DomainError::Storage(e.to_string()))
    }

    /// Runs `f` on the tree after bringing it up to date.
    pub async fn with_log<T>(&self, f: impl FnOnce(&Tree) -> T) -> Result<T> {
        self.sync_log().await?;
        let tree = self.log.tree.read().await;
        Ok(f(&tree))
    }

    /// Entries `[start, end)` as stored: the envelope records in log order.
    pub async fn log_entries(&self, start: u64, end: u64) -> Result<Vec<EnvelopeRecord>> {
        let rows = signed_write::Entity::find()
            .filter(signed_write::Column::LogIndex.gte(start as i64))
            .filter(signed_write::Column::LogIndex.lt(end as i64))
            .order_by_asc(signed_write::Column::LogIndex)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|row| super::apply::stored_from_row(row).map(|s| s.envelope))
            .collect()
    }
}

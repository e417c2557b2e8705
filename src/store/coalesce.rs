//! Coalesced point reads: lookups by id that arrive while a read is running wait for the next
//! one, which fetches all of them with one `WHERE id IN (...)` query. Under load this turns
//! many round trips to the database (each a hand-over to the driver's thread and back) into
//! one; alone, a lookup costs one query as before.
//!
//! Each query starts after every lookup it answers arrived, so it sees every write committed
//! before the lookup: nothing stale is served.

use std::collections::HashMap;
use std::sync::Mutex;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use tokio::sync::oneshot;

use super::Store;
use super::entity::qualification;
use crate::domain::DomainError;

type Result<T> = std::result::Result<T, DomainError>;

/// Most ids in one query.
const MAX_IDS: usize = 256;

type Waiter = (String, oneshot::Sender<Result<Option<String>>>);

/// Lookups of qualification documents by id.
#[derive(Default)]
pub struct PointReads {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Whether a reader task is running (it drains `waiting` until empty).
    running: bool,
    waiting: Vec<Waiter>,
}

impl Store {
    /// The stored document of qualification `id`.
    pub(super) async fn qualification_doc(&self, id: &str) -> Result<Option<String>> {
        if let Some(direct) = &self.direct {
            // Nothing to gain from waiting for others: the lookup costs no hand-over.
            return direct.qualification_doc(id);
        }
        let (sender, receiver) = oneshot::channel();
        let lead = {
            let mut state = self.point_reads.state.lock().expect("point reads lock");
            state.waiting.push((id.to_owned(), sender));
            !std::mem::replace(&mut state.running, true)
        };
        if lead {
            let store = self.clone();
            tokio::spawn(async move { store.drain_point_reads().await });
        }
        receiver
            .await
            .map_err(|_| DomainError::Storage("a coalesced read was dropped".into()))?
    }

    async fn drain_point_reads(&self) {
        loop {
            let batch: Vec<Waiter> = {
                let mut state = self.point_reads.state.lock().expect("point reads lock");
                if state.waiting.is_empty() {
                    state.running = false;
                    return;
                }
                let take = state.waiting.len().min(MAX_IDS);
                state.waiting.drain(..take).collect()
            };
            let mut ids: Vec<&str> = batch.iter().map(|(id, _)| id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            let found: Result<HashMap<String, String>> = qualification::Entity::find()
                .select_only()
                .column(qualification::Column::Id)
                .column(qualification::Column::Doc)
                .filter(qualification::Column::Id.is_in(ids))
                .into_tuple::<(String, String)>()
                .all(&self.db)
                .await
                .map(|rows| rows.into_iter().collect())
                .map_err(Into::into);
            match found {
                Ok(docs) => {
                    for (id, sender) in batch {
                        let _ = sender.send(Ok(docs.get(&id).cloned()));
                    }
                }
                Err(error) => {
                    let message = error.to_string();
                    for (_, sender) in batch {
                        let _ = sender.send(Err(DomainError::Storage(message.clone())));
                    }
                }
            }
        }
    }
}

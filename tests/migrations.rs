//! Migrations on a database that other servers open at the same time, and again.

mod common;

use common::Backend;
use common::replica::with_database;
use trust_registry::store::{Store, StoreOptions};

/// Servers started together on a fresh database (replicas deployed at once) all start: one
/// brings the schema up, the others find it done; opening it again changes nothing.
async fn servers_started_together_all_open(backend: Backend) {
    with_database(backend, async |url: String| {
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { Store::open(&url, &StoreOptions::default()).await })
            })
            .collect();
        let mut stores = Vec::new();
        for open in opens {
            match open.await.expect("open task") {
                Ok(store) => stores.push(store),
                Err(err) => panic!("a server started with the others failed to open the store: {err}"),
            }
        }
        let again = Store::open(&url, &StoreOptions::default())
            .await
            .expect("opens again");
        stores.push(again);
        for store in stores {
            store.close().await.expect("closes");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_started_together_on_sqlite() {
    servers_started_together_all_open(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_started_together_on_postgres() {
    servers_started_together_all_open(Backend::Postgres).await;
}

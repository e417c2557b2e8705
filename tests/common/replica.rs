//! Replicas: servers of their own on one database, as a deployment with several servers runs.

use tonic::transport::Channel;
use trust_registry::store::{Store, StoreOptions};

/// A server of its own on `url`, signing with the test registry key, as a replica would.
pub struct Replica {
    pub store: Store,
    pub channel: Channel,
    served: super::Served,
}

impl Replica {
    pub async fn start(url: &str) -> Self {
        let store = Store::open(url, &StoreOptions::default())
            .await
            .expect("store opens");
        let served = super::serve_store(&store).await;
        Self {
            store,
            channel: served.channel.clone(),
            served,
        }
    }

    pub async fn stop(self) {
        self.served.stop().await;
        self.store.close().await.expect("store closes");
    }
}

/// Runs `body` on the URL of a fresh database of `backend`: a SQLite file, or a PostgreSQL
/// database from `TRUST_REGISTRY_TEST_POSTGRES_URL` (skipped without it, except under CI).
pub async fn with_database<F: Future<Output = ()>>(backend: super::Backend, body: impl FnOnce(String) -> F) {
    match backend {
        super::Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            body(format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("registry.db").display()
            ))
            .await;
        }
        super::Backend::Postgres => {
            let Some((url, admin_url, name)) = super::fresh_postgres_database().await else {
                return;
            };
            body(url).await;
            super::drop_postgres_database(&admin_url, &name).await;
        }
    }
}

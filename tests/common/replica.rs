//! Replicas: servers of their own on one database, as a deployment with several servers runs.

use sea_orm::{ConnectionTrait, Database};
use tonic::transport::Channel;
use trust_registry::api::write::OperatorKey;
use trust_registry::domain::verdict::RegistryKey;
use trust_registry::server::{self, ServerOptions};
use trust_registry::store::{Store, StoreOptions};

use super::signed::{operator_key, registry_key};

fn public(key: &ed25519_dalek::SigningKey) -> [u8; 32] {
    key.verifying_key().to_bytes()
}

/// A server of its own on `url`, signing with the test registry key, as a replica would.
pub struct Replica {
    pub store: Store,
    pub channel: Channel,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    pub async fn start(url: &str) -> Self {
        let store = Store::open(url, &StoreOptions::default())
            .await
            .expect("store opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let options = ServerOptions {
            operator_key: Some(OperatorKey::new(public(&operator_key()))),
            registry_key: Some(RegistryKey::new(registry_key())),
            ..ServerOptions::default()
        };
        let server = tokio::spawn(server::serve(listener, store.clone(), options, async {
            let _ = shutdown_rx.await;
        }));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect to the replica");
        Self {
            store,
            channel,
            shutdown,
            server,
        }
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        self.server
            .await
            .expect("server task")
            .expect("the replica ran without error");
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
            let Ok(admin_url) = std::env::var("TRUST_REGISTRY_TEST_POSTGRES_URL") else {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "TRUST_REGISTRY_TEST_POSTGRES_URL is not set"
                );
                eprintln!("skipped on PostgreSQL: set TRUST_REGISTRY_TEST_POSTGRES_URL");
                return;
            };
            let name = format!("trtest_replicas_{}_{}", std::process::id(), rand_suffix());
            let admin = Database::connect(admin_url.as_str())
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create database");
            let (base, query) = match admin_url.split_once('?') {
                Some((base, query)) => (base, format!("?{query}")),
                None => (admin_url.as_str(), String::new()),
            };
            let server = base.rsplit_once('/').map(|(server, _)| server).unwrap_or(base);
            body(format!("{server}/{name}{query}")).await;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .expect("drop test database");
        }
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos()
}

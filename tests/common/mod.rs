//! Test harness: a real server on a loopback port over a fresh SQLite file or a fresh
//! PostgreSQL database, and a client talking gRPC to it.
//!
//! PostgreSQL tests use `TRUST_REGISTRY_TEST_POSTGRES_URL` (a URL to a database the tests may
//! create databases from). Without it they are skipped with a notice, except under CI
//! (`CI` set), where a missing URL fails the run so that PostgreSQL is never skipped silently.

#![allow(dead_code)]

pub mod builders;
pub mod checks;
pub mod replica;
pub mod signed;

use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ConnectionTrait, Database};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use trust_registry::api::write::OperatorKey;
use trust_registry::pb::catalogue_service_client::CatalogueServiceClient;
use trust_registry::server::{self, ServerOptions};
use trust_registry::store::{Store, StoreOptions};

/// The verdict a signed verdict carries: its signed bytes, decoded.
#[track_caller]
pub fn decoded(signed: &trust_registry::pb::SignedVerdict) -> trust_registry::pb::Verdict {
    <trust_registry::pb::Verdict as prost::Message>::decode(signed.verdict_bytes.as_slice())
        .expect("verdict_bytes decode as a Verdict")
}

/// The verdict CheckIssuer gives about `issuer` now, through `channel`, decoded from its
/// signed bytes.
pub async fn verdict_about(
    channel: &tonic::transport::Channel,
    issuer: trust_registry::pb::issuer_query::Issuer,
) -> trust_registry::pb::Verdict {
    use trust_registry::pb;
    pb::trust_service_client::TrustServiceClient::new(channel.clone())
        .check_issuer(pb::CheckIssuerRequest {
            query: Some(pb::IssuerQuery {
                issuer: Some(issuer),
                ..Default::default()
            }),
        })
        .await
        .expect("CheckIssuer")
        .into_inner()
        .verdict
        .map(|signed| decoded(&signed))
        .expect("a signed verdict")
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const POSTGRES_URL_VAR: &str = "TRUST_REGISTRY_TEST_POSTGRES_URL";

/// A running server with its own store, and clients connected to it.
pub struct TestApp {
    pub backend: Backend,
    pub store: Store,
    pub channel: Channel,
    pub catalogue: CatalogueServiceClient<Channel>,
    pub addr: std::net::SocketAddr,
    /// The store's database URL, for tests that touch the database behind the server's back.
    pub database_url: String,
    database: TestDatabase,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestApp {
    /// Starts a server on `backend`; `None` when PostgreSQL is not configured outside CI.
    pub async fn start(backend: Backend) -> Option<Self> {
        let (url, database) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("registry.db").display());
                (url, TestDatabase::Sqlite(dir))
            }
            Backend::Postgres => {
                let (url, admin_url, name) = fresh_postgres_database().await?;
                (url, TestDatabase::Postgres { admin_url, name })
            }
        };
        let store = Store::open(&url, &StoreOptions::default())
            .await
            .expect("store opens and migrates");
        let Served {
            addr,
            channel,
            shutdown,
            server,
        } = serve_store(&store).await;
        Some(Self {
            backend,
            catalogue: CatalogueServiceClient::new(channel.clone()),
            channel,
            store,
            addr,
            database_url: url.clone(),
            database,
            shutdown: Some(shutdown),
            server: Some(server),
        })
    }

    /// Stops the server, waits for it to drain, and drops a PostgreSQL test database.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server ran without error");
        }
        self.store.clone().close().await.expect("store closes");
        if let TestDatabase::Postgres { admin_url, name } = &self.database {
            drop_postgres_database(admin_url, name).await;
        }
    }
}

/// A server over `store` on a loopback port, with the test operator and registry keys, and a
/// channel to it (a plain-text one, which a TLS server does not answer).
pub struct Served {
    pub addr: std::net::SocketAddr,
    pub channel: Channel,
    pub shutdown: oneshot::Sender<()>,
    pub server: JoinHandle<anyhow::Result<()>>,
}

pub async fn serve_store(store: &Store) -> Served {
    serve_store_with(store, |_| {}).await
}

/// As [`serve_store`], with the server's options changed by `adjust` first.
pub async fn serve_store_with(store: &Store, adjust: impl FnOnce(&mut ServerOptions)) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local address");
    let (shutdown, shutdown_rx) = oneshot::channel::<()>();
    let mut options = ServerOptions {
        operator_key: Some(OperatorKey::new(
            signed::operator_key().verifying_key().to_bytes(),
        )),
        registry_key: Some(trust_registry::domain::verdict::RegistryKey::new(
            signed::registry_key(),
        )),
        ..ServerOptions::default()
    };
    adjust(&mut options);
    let tls = options.tls.is_some();
    let server = tokio::spawn(server::serve(listener, store.clone(), options, async {
        let _ = shutdown_rx.await;
    }));
    let endpoint = Channel::from_shared(format!("http://{addr}")).expect("endpoint");
    // A plain-text channel to a TLS server would never connect: the test makes its own.
    let channel = if tls {
        endpoint.connect_lazy()
    } else {
        endpoint.connect().await.expect("connect to the test server")
    };
    Served {
        addr,
        channel,
        shutdown,
        server,
    }
}

/// The log's checkpoint as `channel`'s server answers it.
pub async fn checkpoint(
    channel: &Channel,
) -> Result<trust_registry::pb::GetCheckpointResponse, tonic::Status> {
    trust_registry::pb::log_service_client::LogServiceClient::new(channel.clone())
        .get_checkpoint(trust_registry::pb::GetCheckpointRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

/// The log's size as `app`'s server states it in its checkpoint (the second line).
pub async fn log_size(app: &TestApp) -> u64 {
    checkpoint(&app.channel)
        .await
        .expect("GetCheckpoint")
        .checkpoint
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("checkpoint size line")
}

/// A rate limit of `per_second` calls a second in bursts of `burst` (both above 0).
pub fn rate_limit(per_second: u32, burst: u32) -> trust_registry::api::rate_limit::RateLimit {
    trust_registry::api::rate_limit::RateLimit {
        per_second: std::num::NonZeroU32::new(per_second).expect("a rate above 0"),
        burst: std::num::NonZeroU32::new(burst).expect("a burst above 0"),
    }
}

impl Served {
    /// Stops the server and waits for it to drain.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        self.server
            .await
            .expect("server task")
            .expect("server ran without error");
    }
}

/// Removes every `TRUST_REGISTRY_*` setting of the test's environment from `command`, so that
/// the binary runs with its flags and defaults only.
pub fn without_registry_settings(command: &mut tokio::process::Command) -> &mut tokio::process::Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TRUST_REGISTRY_") {
            command.env_remove(name);
        }
    }
    command
}

/// Runs the `trust-registry` binary with `args`, none of the settings it reads from the
/// environment that the commands under test also take as flags; (success, stdout, stderr).
pub async fn cli(args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_trust-registry"))
        .args(args)
        .env_remove("TRUST_REGISTRY_DATABASE_URL")
        .env_remove("TRUST_REGISTRY_VERIFIER_KEY")
        .env_remove("TRUST_REGISTRY_OPERATOR_KEY")
        .output()
        .await
        .expect("run trust-registry");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

/// A fresh PostgreSQL database: (its URL, the admin URL, its name); `None` when PostgreSQL is
/// not configured outside CI.
pub async fn fresh_postgres_database() -> Option<(String, String, String)> {
    let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
        if std::env::var_os("CI").is_some() {
            panic!("{POSTGRES_URL_VAR} is not set: PostgreSQL tests must run in CI");
        }
        eprintln!(
            "skipped on PostgreSQL: set {POSTGRES_URL_VAR} (e.g. postgres://postgres@127.0.0.1:5432/test)"
        );
        return None;
    };
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "trtest_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos()
    );
    let admin = Database::connect(admin_url.as_str())
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    admin.close().await.expect("close admin connection");
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url.as_str(), String::new()),
    };
    let server = base.rsplit_once('/').map(|(server, _)| server).unwrap_or(base);
    Some((format!("{server}/{name}{query}"), admin_url, name))
}

/// Drops test database `name` (made by [`fresh_postgres_database`]) through `admin_url`.
pub async fn drop_postgres_database(admin_url: &str, name: &str) {
    let admin = Database::connect(admin_url).await.expect("connect to PostgreSQL");
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop test database");
}

/// Defines a test that runs once on SQLite and once on PostgreSQL:
/// `both_backends!(name, |app| async move { ... });` where `app: &TestApp`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            async fn run(backend: $crate::common::Backend) {
                let Some(app) = $crate::common::TestApp::start(backend).await else {
                    return;
                };
                let body = $body;
                body(&app).await;
                app.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::common::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::common::Backend::Postgres).await;
            }
        }
    };
}

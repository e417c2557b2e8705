//! `trust-registry mirror` and `serve --read-only`, on SQLite and PostgreSQL (the registry and
//! its mirror on the same backend): a first copy, then only the new entries; `--follow` keeps
//! up as the registry takes writes; a mirror served read-only refuses writes and answers
//! reads; a store whose log the registry's does not extend (a fork, or a registry that rolled
//! back) is refused and left as it was; a following mirror waits out a registry that stops
//! answering.

mod common;

use std::time::Duration;

use common::signed::*;
use common::{TestApp, cli, serve_store, serve_store_with};
use trust_registry::api::write::OperatorKey;
use trust_registry::cli::audit::{MirrorArgs, mirror_until};
use trust_registry::domain::merkle::Hash;
use trust_registry::domain::{keys, note};
use trust_registry::pb;
use trust_registry::store::{Store, StoreOptions};

fn verifier_key() -> String {
    note::verifier_key("trust-registry", &registry_key().verifying_key().to_bytes()).unwrap()
}

fn operator() -> String {
    keys::multibase(&operator_key().verifying_key().to_bytes())
}

/// `mirror` from `origin` into `mirror`'s database, once.
async fn mirror_once(origin: &TestApp, mirror: &TestApp) -> (bool, String, String) {
    let server = format!("http://{}", origin.addr);
    cli(&[
        "mirror",
        "--from-log",
        &server,
        "--database-url",
        &mirror.database_url,
        "--verifier-key",
        &verifier_key(),
        "--operator-key",
        &operator(),
    ])
    .await
}

/// The log's size and root as the database holds them now (another process may have grown it).
async fn head(store: &Store) -> (u64, Hash) {
    store.sync_log().await.expect("sync log");
    store.log_head().await.expect("log head")
}

/// `mirror --follow` every 100 ms from the registry at `from` into `database_url`, in-process.
fn follow(from: std::net::SocketAddr, database_url: String) -> Following {
    let args = MirrorArgs {
        from_log: format!("http://{from}"),
        database_url,
        verifier_key: verifier_key(),
        operator_key: OperatorKey::new(operator_key().verifying_key().to_bytes()),
        follow: true,
        interval: Duration::from_millis(100),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        mirror_until(&args, async {
            let _ = stopped.await;
        })
        .await
    });
    Following { stop, task }
}

/// A mirror following in the background, and what stops it.
struct Following {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Waits (at most 30 s) until `store`'s log is `expected`.
async fn wait_for_head(store: &Store, expected: (u64, Hash)) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while head(store).await != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the following mirror did not reach {} entries",
            expected.0
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn provider(app: &TestApp, id: &str) -> pb::Provider {
    app.catalogue()
        .get_provider(pb::GetProviderRequest { id: id.into() })
        .await
        .expect("GetProvider")
        .into_inner()
        .provider
        .expect("provider")
}

both_backends!(
    mirror_copies_then_follows_and_refuses_a_log_that_does_not_extend_its_own,
    async |app: &TestApp| {
        let one = app.populate("one").await;
        let mirror = TestApp::start(app.backend)
            .await
            .expect("a second database on the same backend");

        // A first copy: every entry, and the same catalogue.
        let (ok, stdout, stderr) = mirror_once(app, &mirror).await;
        assert!(ok, "{stdout}{stderr}");
        assert!(stdout.contains("mirrored entries 0..4"), "{stdout}");
        assert_eq!(head(&mirror.store).await, head(&app.store).await);
        assert_eq!(provider(&mirror, &one).await, provider(app, &one).await);

        // Then only what is new; then nothing.
        let two = app.populate("two").await;
        let (ok, stdout, stderr) = mirror_once(app, &mirror).await;
        assert!(ok, "{stdout}{stderr}");
        assert!(stdout.contains("mirrored entries 4..8"), "{stdout}");
        assert_eq!(head(&mirror.store).await, head(&app.store).await);
        assert_eq!(provider(&mirror, &two).await, provider(app, &two).await);
        let (ok, stdout, stderr) = mirror_once(app, &mirror).await;
        assert!(ok, "{stdout}{stderr}");
        assert!(stdout.contains("is up to date at 8 entries"), "{stdout}");

        // --follow keeps up with writes as the registry takes them, until stopped.
        let following = follow(app.addr, mirror.database_url.clone());
        let three = app.populate("three").await;
        let expected = head(&app.store).await;
        wait_for_head(&mirror.store, expected).await;
        assert!(
            !following.task.is_finished(),
            "a following mirror runs until stopped"
        );
        following.stop.send(()).expect("mirror still running");
        following
            .task
            .await
            .expect("mirror task")
            .expect("the mirror stops cleanly");
        assert_eq!(provider(&mirror, &three).await, provider(app, &three).await);

        // Served read-only, the mirror answers reads and refuses writes, naming why, before
        // anything reaches its store; health checks see its write services as not serving.
        let read_only = serve_store_with(&mirror.store, |options| options.read_only = true).await;
        let served = read_only.channel.clone();
        let answer = pb::catalogue_service_client::CatalogueServiceClient::new(served.clone())
            .get_provider(pb::GetProviderRequest { id: one.clone() })
            .await
            .expect("a read-only registry answers reads")
            .into_inner();
        assert_eq!(answer.provider.expect("provider"), provider(app, &one).await);
        let command = pb::AdmitQaAgencyCommand {
            header: header(),
            names: en("Agency Written To A Mirror"),
            country: "IE".into(),
            keys: vec![key_spec(&key("mirror agency"))],
            ..Default::default()
        };
        let refused = pb::governance_service_client::GovernanceServiceClient::new(served.clone())
            .admit_qa_agency(pb::AdmitQaAgencyRequest {
                envelope: envelope(&operator_key(), "GovernanceService", "AdmitQaAgency", &command),
            })
            .await
            .expect_err("a read-only registry refuses writes");
        assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{refused:?}");
        assert!(refused.message().contains("--read-only"), "{refused:?}");
        let imported = pb::import_service_client::ImportServiceClient::new(served.clone())
            .import(tokio_stream::iter(Vec::<pb::ImportRequest>::new()))
            .await
            .expect_err("a read-only registry refuses imports");
        assert_eq!(imported.code(), tonic::Code::FailedPrecondition, "{imported:?}");
        use tonic_health::pb::health_check_response::ServingStatus;
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let mut health = HealthClient::new(served);
        for (service, status) in [
            ("trustregistry.v1.GovernanceService", ServingStatus::NotServing),
            ("trustregistry.v1.ImportService", ServingStatus::NotServing),
            ("trustregistry.v1.TrustService", ServingStatus::Serving),
            ("trustregistry.v1.CatalogueService", ServingStatus::Serving),
        ] {
            let answer = health
                .check(HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .expect("health check")
                .into_inner();
            assert_eq!(answer.status, status as i32, "{service}");
        }
        read_only.stop().await;
        assert_eq!(
            head(&mirror.store).await,
            expected,
            "the refused write changed nothing"
        );

        // A write taken by the mirror's own (writable) server forks its log: it now holds
        // entries the registry never had, and is refused, unchanged, whether the registry's
        // log is shorter or as long.
        mirror.populate("fork").await;
        let forked = head(&mirror.store).await;
        assert_eq!(forked.0, expected.0 + 4);
        let (ok, stdout, stderr) = mirror_once(app, &mirror).await;
        assert!(!ok, "{stdout}{stderr}");
        assert!(
            stderr.contains("MISMATCH") && stderr.contains("fewer than"),
            "{stderr}"
        );
        assert_eq!(head(&mirror.store).await, forked);
        app.populate("four").await;
        let (ok, stdout, stderr) = mirror_once(app, &mirror).await;
        assert!(!ok, "{stdout}{stderr}");
        assert!(
            stderr.contains("MISMATCH") && stderr.contains("does not extend"),
            "{stderr}"
        );
        assert_eq!(head(&mirror.store).await, forked);

        mirror.stop().await;
    }
);

both_backends!(
    a_following_mirror_waits_out_a_registry_that_does_not_answer,
    async |app: &TestApp| {
        app.populate("one").await;
        // The mirror follows a second server on the registry's store, which then goes away.
        let origin = serve_store(&app.store).await;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("mirror.db").display());
        let mirror = Store::open(&url, &StoreOptions::default()).await.unwrap();
        let following = follow(origin.addr, url);
        let expected = head(&app.store).await;
        wait_for_head(&mirror, expected).await;
        origin.stop().await;
        // Several intervals without an answer: the mirror waits, it does not give up.
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(
            !following.task.is_finished(),
            "a following mirror ended when the registry stopped answering: {:?}",
            following.task.await
        );
        following.stop.send(()).expect("mirror still running");
        following
            .task
            .await
            .expect("mirror task")
            .expect("the mirror stops cleanly");
        assert_eq!(head(&mirror).await, expected);
    }
);

#[tokio::test]
async fn mirror_needs_a_verifier_key_and_a_sensible_interval() {
    let operator = operator();
    let (ok, _, stderr) = cli(&[
        "mirror",
        "--from-log",
        "http://127.0.0.1:1",
        "--database-url",
        "sqlite://unused.db?mode=rwc",
        "--operator-key",
        &operator,
    ])
    .await;
    assert!(!ok);
    assert!(stderr.contains("--verifier-key"), "{stderr}");
    let (ok, _, stderr) = cli(&[
        "mirror",
        "--from-log",
        "http://127.0.0.1:1",
        "--database-url",
        "sqlite://unused.db?mode=rwc",
        "--operator-key",
        &operator,
        "--verifier-key",
        &verifier_key(),
        "--follow",
        "--interval",
        "1ms",
    ])
    .await;
    assert!(!ok);
    assert!(
        stderr.contains("--interval") && stderr.contains("at least 100ms"),
        "{stderr}"
    );
}

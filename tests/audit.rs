//! `trust-registry audit` and `rebuild` against a real server, on SQLite and PostgreSQL: a
//! clean registry passes; a row changed directly in the database, or a checkpoint checked
//! with another key, is caught; a rebuilt store has the same log root.

mod common;

use common::TestApp;
use common::signed::*;
use sea_orm::{ConnectionTrait, Database};
use trust_registry::domain::{keys, note};
use trust_registry::pb;
use trust_registry::store::{Store, StoreOptions};

const BIN: &str = env!("CARGO_BIN_EXE_trust-registry");

async fn cli(args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(BIN)
        .args(args)
        .output()
        .await
        .expect("run trust-registry");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

/// A few writes of every kind of actor.
async fn populate(app: &TestApp, suffix: &str) -> String {
    let agency = key(&format!("audit agency {suffix}"));
    let provider = key(&format!("audit provider {suffix}"));
    app.admit_agency(&format!("Audit Agency {suffix}"), "IE", &agency)
        .await;
    let provider_id = app
        .register_provider(&agency, &format!("Audit College {suffix}"), "IE", &provider)
        .await;
    let record = pb::RecordAccreditationCommand {
        header: header(),
        provider_id: provider_id.clone(),
        kind: pb::AccreditationKind::InstitutionalReview as i32,
        decision: pb::Decision::Positive as i32,
        valid_from: Some(trust_registry::api::convert::timestamp(
            trust_registry::domain::Timestamp::parse_rfc3339("2022-01-01T00:00:00Z").unwrap(),
        )),
        ..Default::default()
    };
    app.record_accreditation(&agency, &record).await;
    let publish = pb::PublishQualificationCommand {
        header: header(),
        description: Some(description(&format!("Audited Course {suffix}"))),
    };
    app.providers()
        .publish_qualification(pb::PublishQualificationRequest {
            envelope: envelope(&provider, "ProviderService", "PublishQualification", &publish),
        })
        .await
        .expect("publish");
    provider_id
}

both_backends!(
    audit_passes_then_catches_tampering_and_rebuild_matches,
    async |app: &TestApp| {
        let provider_id = populate(app, "one").await;
        let server = format!("http://{}", app.addr);
        let operator = keys::multibase(&operator_key().verifying_key().to_bytes());
        let vkey = note::verifier_key("trust-registry", &registry_key().verifying_key().to_bytes()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let saved = dir.path().join("checkpoint.txt");
        let saved = saved.to_str().unwrap();

        let (ok, stdout, stderr) = cli(&[
            "audit",
            "--server",
            &server,
            "--operator-key",
            &operator,
            "--verifier-key",
            &vkey,
            "--save",
            saved,
        ])
        .await;
        assert!(ok, "a clean registry passes the audit: {stdout}{stderr}");
        assert!(stdout.contains("checkpoint: 4 entries"), "{stdout}");
        assert!(stdout.contains("audit OK"), "{stdout}");

        // The log grows; the audit checks the new log extends the saved checkpoint.
        populate(app, "two").await;
        let (ok, stdout, stderr) = cli(&[
            "audit",
            "--server",
            &server,
            "--operator-key",
            &operator,
            "--verifier-key",
            &vkey,
            "--since",
            saved,
        ])
        .await;
        assert!(ok, "{stdout}{stderr}");
        assert!(
            stdout.contains("consistent with the saved checkpoint of 4 entries"),
            "{stdout}"
        );

        // A checkpoint checked against another key is refused.
        let other =
            note::verifier_key("trust-registry", &key("impostor").verifying_key().to_bytes()).unwrap();
        let (ok, _, stderr) = cli(&[
            "audit",
            "--server",
            &server,
            "--operator-key",
            &operator,
            "--verifier-key",
            &other,
        ])
        .await;
        assert!(!ok);
        assert!(stderr.contains("checkpoint signature"), "{stderr}");

        // Rebuilding from the log gives a store with the same log root.
        let rebuilt_dir = tempfile::tempdir().unwrap();
        let rebuilt_url = format!(
            "sqlite://{}?mode=rwc",
            rebuilt_dir.path().join("rebuilt.db").display()
        );
        let (ok, stdout, stderr) = cli(&[
            "rebuild",
            "--from-log",
            &server,
            "--database-url",
            &rebuilt_url,
            "--operator-key",
            &operator,
            "--verifier-key",
            &vkey,
        ])
        .await;
        assert!(ok, "{stdout}{stderr}");
        let rebuilt = Store::open(&rebuilt_url, &StoreOptions::default()).await.unwrap();
        assert_eq!(
            rebuilt.log_head().await.unwrap(),
            app.store.log_head().await.unwrap()
        );
        let original = app.store.provider(&provider_id).await.unwrap().unwrap();
        assert_eq!(rebuilt.provider(&provider_id).await.unwrap().unwrap(), original);

        // A row changed directly in the database is caught, and named.
        let db = Database::connect(app.database_url.as_str()).await.unwrap();
        db.execute_unprepared(&format!("UPDATE provider SET doc = REPLACE(doc, 'Audit College one', 'Audit College ONE') WHERE id = '{provider_id}'"))
        .await
        .unwrap();
        db.close().await.unwrap();
        let (ok, stdout, stderr) = cli(&[
            "audit",
            "--server",
            &server,
            "--operator-key",
            &operator,
            "--verifier-key",
            &vkey,
        ])
        .await;
        assert!(!ok, "tampering must fail the audit: {stdout}");
        assert!(
            stderr.contains("MISMATCH in providers") && stderr.contains(&provider_id),
            "{stderr}"
        );
    }
);

//! `trust-registry audit` and `rebuild` against a real server, on SQLite and PostgreSQL: a
//! clean registry passes; a row changed directly in the database, or a checkpoint checked
//! with another key, is caught; a rebuilt store has the same log root. With the live database
//! (`--database-url`), a row that trust decisions read, changed outside the log, is caught and
//! its table named, though every document stays as the log made it. Writes accepted while the
//! audit reads the live registry are followed, not reported as tampering.

mod common;

use common::signed::*;
use common::{TestApp, cli};
use sea_orm::{ConnectionTrait, Database};
use trust_registry::api::write::OperatorKey;
use trust_registry::cli::audit::{AuditArgs, audit_with};
use trust_registry::domain::{keys, note};
use trust_registry::pb;
use trust_registry::store::{Store, StoreOptions};

both_backends!(
    audit_passes_then_catches_tampering_and_rebuild_matches,
    async |app: &TestApp| {
        let provider_id = app.populate("one").await;
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
        app.populate("two").await;
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

/// Audits `app` with its live database; returns (success, stdout, stderr).
async fn audit_database(app: &TestApp) -> (bool, String, String) {
    let server = format!("http://{}", app.addr);
    let operator = keys::multibase(&operator_key().verifying_key().to_bytes());
    let vkey = note::verifier_key("trust-registry", &registry_key().verifying_key().to_bytes()).unwrap();
    cli(&[
        "audit",
        "--server",
        &server,
        "--operator-key",
        &operator,
        "--verifier-key",
        &vkey,
        "--database-url",
        &app.database_url,
    ])
    .await
}

/// Runs `sql` on the live database, behind the server's back.
async fn tamper(app: &TestApp, sql: &str) {
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    db.execute_unprepared(sql).await.unwrap();
    db.close().await.unwrap();
}

/// Audits a clean registry (which must pass), tampers with it by `sql`, audits again, and
/// returns the failing audit's report.
async fn audit_after_tampering(app: &TestApp, sql: &str) -> String {
    let (ok, stdout, stderr) = audit_database(app).await;
    assert!(ok, "a clean registry passes the database audit: {stdout}{stderr}");
    assert!(stdout.contains("the live database matches the log"), "{stdout}");
    tamper(app, sql).await;
    let (ok, stdout, stderr) = audit_database(app).await;
    assert!(!ok, "tampering must fail the audit: {stdout}");
    stderr
}

both_backends!(
    database_audit_catches_an_identifier_bound_outside_the_log,
    async |app: &TestApp| {
        let provider_id = app.populate("one").await;
        let stderr = audit_after_tampering(
            app,
            &format!(
                "INSERT INTO external_identifier (owner_id, scheme, value) VALUES ('{provider_id}', 'did', 'did:web:diploma-mill.example')"
            ),
        )
        .await;
        // What the unlogged row does: the mill's DID is now a trusted issuer.
        let signed = app
            .trust()
            .check_issuer(pb::CheckIssuerRequest {
                query: Some(pb::IssuerQuery {
                    issuer: Some(pb::issuer_query::Issuer::Did(
                        "did:web:diploma-mill.example".into(),
                    )),
                    ..Default::default()
                }),
            })
            .await
            .expect("CheckIssuer")
            .into_inner()
            .verdict
            .expect("verdict");
        assert_eq!(common::decoded(&signed).status, pb::TrustStatus::Trusted as i32);
        assert!(
            stderr.contains("MISMATCH in table external_identifier")
                && stderr.contains("did:web:diploma-mill.example"),
            "{stderr}"
        );
    }
);

both_backends!(
    database_audit_catches_a_summary_changed_outside_the_log,
    async |app: &TestApp| {
        app.populate("one").await;
        let stderr = audit_after_tampering(
            app,
            "UPDATE qualification_skill SET summary = REPLACE(summary, 'Audited Course one', 'Doctorate in Everything')",
        )
        .await;
        // What the unlogged change does: searches answer the forged title.
        let found = app
            .catalogue
            .clone()
            .search_qualifications(pb::SearchQualificationsRequest {
                skill_uri: "http://data.europa.eu/esco/skill/test-skill-1".into(),
                ..Default::default()
            })
            .await
            .expect("SearchQualifications")
            .into_inner()
            .qualifications;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].titles[0].value, "Doctorate in Everything");
        assert!(
            stderr.contains("MISMATCH in table qualification_skill")
                && stderr.contains("Doctorate in Everything"),
            "{stderr}"
        );
    }
);

both_backends!(
    database_audit_catches_an_accreditation_moved_to_another_provider,
    async |app: &TestApp| {
        let one = app.populate("one").await;
        let two = app.populate("two").await;
        let stderr = audit_after_tampering(
            app,
            &format!("UPDATE accreditation SET provider_id = '{two}' WHERE provider_id = '{one}'"),
        )
        .await;
        assert!(
            stderr.contains("MISMATCH in table accreditation, row accr_")
                && stderr.contains("column provider_id"),
            "{stderr}"
        );
    }
);

both_backends!(
    database_audit_catches_a_key_revocation_cleared,
    async |app: &TestApp| {
        app.populate("one").await;
        let provider = key("audit provider one");
        let key_id = keys::key_id(&provider.verifying_key().to_bytes());
        let revoke = pb::RevokeKeyCommand {
            header: header(),
            actor_id: String::new(),
            key_id: key_id.clone(),
            revoked_at: None,
            reason: "key leaked".into(),
        };
        app.keys()
            .revoke_key(pb::RevokeKeyRequest {
                envelope: envelope(&provider, "KeyService", "RevokeKey", &revoke),
            })
            .await
            .expect("RevokeKey");
        let stderr = audit_after_tampering(
            app,
            &format!(
                "UPDATE actor_key SET revoked_at = NULL, revocation_reason = '' WHERE key_id = '{key_id}'"
            ),
        )
        .await;
        assert!(
            stderr.contains(&format!("MISMATCH in table actor_key, row {key_id}")),
            "{stderr}"
        );
    }
);

both_backends!(database_audit_compares_every_table, async |app: &TestApp| {
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let sql = match app.backend {
        common::Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        common::Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = 'public'"
        }
    };
    let mut tables: Vec<String> = db
        .query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .filter(|name| name != "seaql_migrations")
        .collect();
    db.close().await.unwrap();
    tables.sort();
    let mut compared: Vec<String> = trust_registry::store::TABLES
        .iter()
        .map(|t| t.to_string())
        .collect();
    compared.sort();
    assert_eq!(
        tables, compared,
        "every table of the schema is compared by the audit"
    );
});

/// The audit's arguments for `app`, with its live database.
fn audit_args(app: &TestApp) -> AuditArgs {
    AuditArgs {
        server: format!("http://{}", app.addr),
        since: None,
        save: None,
        verifier_key: Some(
            note::verifier_key("trust-registry", &registry_key().verifying_key().to_bytes()).unwrap(),
        ),
        operator_key: OperatorKey::new(operator_key().verifying_key().to_bytes()),
        database_url: Some(app.database_url.clone()),
    }
}

/// A write accepted while the audit runs: the agency of `app.populate("one")` registers a
/// provider.
async fn late_write(app: &TestApp, n: u32) {
    let name = format!("Late College {n}");
    app.register_provider(&key("audit agency one"), &name, "IE", &key(&name))
        .await;
}

both_backends!(
    audit_follows_writes_accepted_while_it_reads,
    async |app: &TestApp| {
        app.populate("one").await;
        let dir = tempfile::tempdir().unwrap();
        let saved = dir.path().join("checkpoint.txt");
        let mut size = 4;
        // With the live database, then through the API alone.
        for database_url in [Some(app.database_url.clone()), None] {
            let args = AuditArgs {
                save: Some(saved.clone()),
                database_url,
                ..audit_args(app)
            };
            // Writes accepted after the audit fetched the log and replayed it, before it reads
            // the live registry, in its first two readings.
            let mut readings = 0;
            audit_with(&args, async |reading| {
                readings = reading;
                if reading <= 2 {
                    late_write(app, size + reading).await;
                }
            })
            .await
            .expect("a registry taking writes passes the audit");
            assert_eq!(readings, 3, "read again after each reading the log grew during");
            size += 2;
            let vkey = args.verifier_key.as_deref().unwrap();
            let saved = note::open_note(&std::fs::read_to_string(&saved).unwrap(), vkey).unwrap();
            assert_eq!(
                saved.size, size as u64,
                "the checkpoint saved is the one the audit ended on"
            );
        }
    }
);

both_backends!(
    audit_reports_tampering_while_writes_are_accepted,
    async |app: &TestApp| {
        let provider_id = app.populate("one").await;
        tamper(
            app,
            &format!(
                "INSERT INTO external_identifier (owner_id, scheme, value) VALUES ('{provider_id}', 'did', 'did:web:diploma-mill.example')"
            ),
        )
        .await;
        let err = audit_with(&audit_args(app), async |reading| {
            if reading == 1 {
                late_write(app, reading).await;
            }
        })
        .await
        .expect_err("tampering fails the audit");
        assert!(
            format!("{err:#}").contains("MISMATCH in table external_identifier"),
            "{err:#}"
        );
    }
);

both_backends!(
    audit_gives_up_when_the_log_grows_during_every_reading,
    async |app: &TestApp| {
        app.populate("one").await;
        let err = audit_with(&audit_args(app), async |reading| late_write(app, reading).await)
            .await
            .expect_err("no reading shows one checkpoint's state");
        assert!(
            format!("{err:#}").contains("the log grew during each of 5 readings"),
            "{err:#}"
        );
    }
);

//! Import calls: batches applied in order, replays, a refused write stopping the call with its
//! index and field, nonces within a call, and `trust-registry import` through the server and
//! in-process.

use super::*;
use crate::both_backends;

both_backends!(
    writes_in_batches_apply_in_order_and_replay,
    async |app: &TestApp| {
        let agency_key = key("import agency");
        // Two transactions, the second of 201 writes; the providers' writes need the agency
        // admitted by the first write of the same call.
        let providers = BATCH_WRITES + 200;
        let all = providers as u64 + 1;
        let requests = writes(&agency_key, providers);
        let before = log_size(app).await;
        let response = import(app, requests.clone()).await.expect("Import");
        assert_eq!(response.accepted, all);
        assert_eq!(response.replayed, 0);
        assert_eq!(response.first_log_index, before);
        assert_eq!(response.last_log_index, before + all - 1);
        assert_eq!(response.log_size, before + all);
        assert_eq!(log_size(app).await, before + all);
        assert_eq!(providers_named(app, "Import Test College").await, providers);
        assert!(known(app, 0).await && known(app, 777).await && known(app, providers - 1).await);

        // Sent again: every write is answered as a replay and nothing is written.
        let again = import(app, requests).await.expect("Import again");
        assert_eq!((again.accepted, again.replayed), (all, all));
        assert_eq!(again.log_size, before + all);
        assert_eq!(providers_named(app, "Import Test College").await, providers);
    }
);

both_backends!(
    a_refused_write_stops_the_call_after_the_writes_before_it,
    async |app: &TestApp| {
        let agency_key = key("import agency");
        let mut requests = writes(&agency_key, BATCH_WRITES + 200);
        // A write in the second transaction carries a signature by another key.
        let n = BATCH_WRITES + 100;
        let bad = &mut requests[n];
        bad.envelope.as_mut().unwrap().signature = seal(
            &key("intruder"),
            &bad.rpc,
            &pb::RegisterProviderCommand::default(),
        )
        .signature;
        let before = log_size(app).await;
        let status = import(app, requests)
            .await
            .expect_err("a forged write is refused");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert!(
            status.message().starts_with(&format!(
                "writes[{n}] (/trustregistry.v1.AccreditationService/RegisterProvider): "
            )),
            "{}",
            status.message()
        );
        assert!(
            status
                .message()
                .contains(&format!("{n} writes before it were applied")),
            "{}",
            status.message()
        );
        assert_eq!(
            log_size(app).await,
            before + n as u64,
            "exactly the writes before it are applied"
        );
        // Write i + 1 registers provider i.
        assert_eq!(providers_named(app, "Import Test College").await, n - 1);
        assert!(
            known(app, n - 2).await,
            "the last write before the refused one is applied"
        );
        assert!(
            !known(app, n - 1).await && !known(app, n).await,
            "the refused write and the rest are not"
        );
    }
);

both_backends!(field_errors_name_the_write, async |app: &TestApp| {
    let agency_key = key("import agency");
    let mut requests = writes(&agency_key, 3);
    // Write 2: a provider without a name.
    let command = pb::RegisterProviderCommand {
        header: header(),
        names: vec![],
        country: "IE".into(),
        kind: pb::ProviderKind::HigherEducation as i32,
        ..Default::default()
    };
    requests[2] = request(&agency_key, "AccreditationService", "RegisterProvider", &command);
    let status = import(app, requests.clone())
        .await
        .expect_err("a write without names");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let violation = &status
        .get_details_bad_request()
        .expect("BadRequest")
        .field_violations[0];
    assert_eq!(violation.field, "writes[2].names", "{status:?}");
    assert!(
        status.message().starts_with("writes[2].names: "),
        "{}",
        status.message()
    );

    // An unknown RPC name, and a missing envelope.
    let mut unknown = requests[..2].to_vec();
    unknown.push(pb::ImportRequest {
        rpc: "/trustregistry.v1.CatalogueService/GetProvider".into(),
        envelope: requests[3].envelope.clone(),
    });
    let status = import(app, unknown).await.expect_err("not a write RPC");
    assert_eq!(
        status.get_details_bad_request().unwrap().field_violations[0].field,
        "writes[2].rpc"
    );
    let missing = vec![pb::ImportRequest {
        rpc: rpc("AccreditationService", "RegisterProvider"),
        envelope: None,
    }];
    let status = import(app, missing).await.expect_err("no envelope");
    assert_eq!(
        status.get_details_bad_request().unwrap().field_violations[0].field,
        "writes[0].envelope"
    );
});

// `trust-registry import FILE` through the server (`--server`) and in-process on the server's
// database from another process: the server's next read sees the other process's writes; a
// refused line is named by its number and the lines before it stay applied.
both_backends!(
    import_command_through_the_server_and_in_process,
    async |app: &TestApp| {
        let agency_key = key("import agency");
        let requests = writes(&agency_key, 6);
        let lines = |items: &[pb::ImportRequest]| {
            items
                .iter()
                .map(|r| {
                    trust_registry::cli::import::import_line(&r.rpc, r.envelope.as_ref().unwrap()) + "\n"
                })
                .collect::<String>()
        };
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first.jsonl");
        std::fs::write(&first, lines(&requests[..4])).unwrap();
        let run = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_trust-registry"))
                .args(args)
                .output()
                .expect("run trust-registry import")
        };
        let server = format!("http://{}", app.addr);
        let out = run(&["import", first.to_str().unwrap(), "--server", &server]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("imported 4 writes"),
            "{out:?}"
        );
        assert!(known(app, 2).await && !known(app, 3).await);

        // The rest, in-process on the same database (another process than the server).
        let second = dir.path().join("second.jsonl");
        std::fs::write(&second, lines(&requests[4..])).unwrap();
        let out = run(&[
            "import",
            second.to_str().unwrap(),
            "--database-url",
            &app.database_url,
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("imported 3 writes"),
            "{out:?}"
        );
        assert!(
            known(app, 3).await && known(app, 5).await,
            "the server sees the other process's writes at once"
        );
        // On PostgreSQL the in-process import ends with ANALYZE, so that the planner does not
        // plan the next reads blind; `last_analyze` is set by an explicit ANALYZE only (the
        // autovacuum's own sets `last_autoanalyze`, and would not run for a few rows anyway).
        let stdout = String::from_utf8_lossy(&out.stdout);
        if app.backend == common::Backend::Postgres {
            assert!(stdout.contains("query planner statistics refreshed"), "{stdout}");
            use sea_orm::ConnectionTrait as _;
            let db = sea_orm::Database::connect(app.database_url.as_str())
                .await
                .unwrap();
            let analyzed = db
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT count(*) AS n FROM pg_stat_user_tables \
                     WHERE relname IN ('provider', 'signed_write') AND last_analyze IS NOT NULL",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap();
            db.close().await.unwrap();
            assert_eq!(analyzed, 2, "the import analyzed the tables it wrote");
        } else {
            assert!(!stdout.contains("statistics"), "{stdout}");
        }

        // A forged third line: lines 1-2 applied, the command names line 3 and fails.
        let mut more = writes(&agency_key, 9)[7..].to_vec();
        more.insert(0, requests[0].clone());
        more[2].envelope.as_mut().unwrap().signature = seal(
            &key("intruder"),
            &more[2].rpc,
            &pb::RegisterProviderCommand::default(),
        )
        .signature;
        let third = dir.path().join("third.jsonl");
        std::fs::write(&third, lines(&more)).unwrap();
        let before = log_size(app).await;
        let out = run(&["import", third.to_str().unwrap(), "--server", &server]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("line 1") && stderr.contains("writes[2]"),
            "{stderr}"
        );
        assert_eq!(
            log_size(app).await,
            before + 1,
            "the replayed line 1 adds nothing; line 2 is applied"
        );
        assert!(known(app, 6).await && !known(app, 7).await && !known(app, 8).await);
    }
);

both_backends!(
    a_nonce_reused_within_a_call_is_refused_there,
    async |app: &TestApp| {
        // Nothing in the batch looks the nonce up before its commit, where the unique index
        // catches the repeat; the batch is then applied again write by write.
        let agency_key = key("import agency");
        let mut requests = writes(&agency_key, 300);
        {
            let command = pb::RegisterProviderCommand {
                header: Some(pb::CommandHeader {
                    nonce: "import-reused-nonce".into(),
                    ..header().unwrap()
                }),
                names: en("Import Test College reused A"),
                country: "IE".into(),
                kind: pb::ProviderKind::HigherEducation as i32,
                keys: vec![key_spec(&key("reused a"))],
                ..Default::default()
            };
            let mut other = command.clone();
            other.names = en("Import Test College reused B");
            other.keys = vec![key_spec(&key("reused b"))];
            requests[100] = request(&agency_key, "AccreditationService", "RegisterProvider", &command);
            requests[250] = request(&agency_key, "AccreditationService", "RegisterProvider", &other);
        }
        let before = log_size(app).await;
        let status = import(app, requests.clone())
            .await
            .expect_err("a reused nonce is refused");
        assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
        assert!(
            status
                .message()
                .starts_with("writes[250] (/trustregistry.v1.AccreditationService/RegisterProvider): ")
                && status.message().contains("header.nonce"),
            "{}",
            status.message()
        );
        assert_eq!(
            log_size(app).await,
            before + 250,
            "the writes before it stay applied"
        );
        assert_eq!(providers_named(app, "reused A").await, 1);
        assert_eq!(providers_named(app, "reused B").await, 0);

        // The same call again without the offending write (300 writes): the first 250 are
        // replays, the rest new, in one call.
        requests.remove(250);
        let response = import(app, requests).await.expect("Import");
        assert_eq!((response.accepted, response.replayed), (300, 250));
        assert_eq!(response.log_size, before + 300);
        // 300 providers less the two replaced (100 and 250) plus "reused A".
        assert_eq!(providers_named(app, "Import Test College").await, 299);
    }
);

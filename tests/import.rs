//! ImportService.Import on SQLite and PostgreSQL: many signed writes a call, in batches, with
//! the checks of single writes; later writes of a call may depend on earlier ones (an agency
//! admitted, then registering providers with its key); resending is a replay; a refused write
//! stops the call with its index, and exactly the writes before it stay applied.

mod common;

use ed25519_dalek::SigningKey;
use tonic::Code;
use tonic_types::StatusExt;
use trust_registry::api::import::BATCH_WRITES;
use trust_registry::api::write::seal;
use trust_registry::domain::keys::multibase;
use trust_registry::pb;
use trust_registry::pb::import_service_client::ImportServiceClient;
use trust_registry::pb::issuer_query::Issuer;

use common::TestApp;
use common::signed::*;

/// The operator admits an agency; the agency registers `providers` providers, each with its own
/// key, and accredits the first one: 2 + providers writes.
fn writes(agency_key: &SigningKey, providers: usize) -> Vec<pb::ImportRequest> {
    let admit = pb::AdmitQaAgencyCommand {
        header: header(),
        names: en("Import Test Agency"),
        country: "IE".into(),
        keys: vec![key_spec(agency_key)],
        admitted_at: Some(trust_registry::api::convert::timestamp(
            trust_registry::domain::Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").unwrap(),
        )),
        ..Default::default()
    };
    let mut list = vec![request(
        &operator_key(),
        "GovernanceService",
        "AdmitQaAgency",
        &admit,
    )];
    for i in 0..providers {
        list.push(registration(
            agency_key,
            &format!("Import Test College {i}"),
            &provider_key(i),
        ));
    }
    list
}

/// The agency registers a provider named `name` with one key.
fn registration(agency_key: &SigningKey, name: &str, provider_key: &SigningKey) -> pb::ImportRequest {
    let command = provider_registration(name, vec![key_spec(provider_key)]);
    request(agency_key, "AccreditationService", "RegisterProvider", &command)
}

fn provider_key(i: usize) -> SigningKey {
    key(&format!("import provider {i}"))
}

fn request(
    signer: &SigningKey,
    service: &str,
    method: &str,
    command: &impl prost::Message,
) -> pb::ImportRequest {
    let rpc = rpc(service, method);
    pb::ImportRequest {
        envelope: Some(seal(signer, &rpc, command)),
        rpc,
    }
}

async fn import(
    app: &TestApp,
    requests: Vec<pb::ImportRequest>,
) -> Result<pb::ImportResponse, tonic::Status> {
    ImportServiceClient::new(app.channel.clone())
        .import(tokio_stream::iter(requests))
        .await
        .map(|r| r.into_inner())
}

async fn log_size(app: &TestApp) -> u64 {
    app.log()
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .expect("GetCheckpoint")
        .into_inner()
        .checkpoint
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("checkpoint size line")
}

async fn providers_named(app: &TestApp, text: &str) -> usize {
    let mut catalogue = app.catalogue.clone();
    let mut count = 0;
    let mut page_token = String::new();
    loop {
        let page = catalogue
            .search_providers(pb::SearchProvidersRequest {
                text: text.into(),
                page_size: 500,
                page_token,
                ..Default::default()
            })
            .await
            .expect("SearchProviders")
            .into_inner();
        count += page.providers.len();
        if page.next_page_token.is_empty() {
            return count;
        }
        page_token = page.next_page_token;
    }
}

/// The provider with key `i` is known to CheckIssuer (by its public key).
async fn known(app: &TestApp, i: usize) -> bool {
    let verdict = app
        .trust()
        .check_issuer(pb::CheckIssuerRequest {
            query: Some(pb::IssuerQuery {
                issuer: Some(Issuer::PublicKeyMultibase(multibase(
                    &provider_key(i).verifying_key().to_bytes(),
                ))),
                ..Default::default()
            }),
        })
        .await
        .expect("CheckIssuer")
        .into_inner()
        .verdict
        .map(|signed| common::decoded(&signed))
        .unwrap();
    verdict.status() != pb::TrustStatus::UnknownIssuer
}

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

/// The request signed by `signer`, and the id minted for what it creates.
fn minting(
    signer: &SigningKey,
    service: &str,
    method: &str,
    command: &impl trust_registry::api::write::SignedCommand,
    kind: trust_registry::domain::ids::IdKind,
) -> (pb::ImportRequest, String) {
    // As the registry reads it before minting.
    let issued_at = trust_registry::api::convert::from_timestamp(
        "header.issued_at",
        command.header().and_then(|h| h.issued_at.as_ref()),
    )
    .expect("issued_at in range")
    .expect("a header with issued_at");
    let request = request(signer, service, method, command);
    let envelope = request.envelope.as_ref().unwrap();
    let id = trust_registry::domain::envelope::envelope_id(
        &request.rpc,
        &envelope.command,
        &envelope.key_id,
        &envelope.signature,
    );
    (request, kind.mint_at(issued_at, id.as_bytes()))
}

/// An importer on the test's store, knowing the operator's key, as `trust-registry import` is.
fn importer(app: &TestApp) -> trust_registry::api::write::Writes {
    use trust_registry::api::write::{OperatorKey, Writes};
    Writes::new(
        app.store.clone(),
        Some(OperatorKey::new(operator_key().verifying_key().to_bytes())),
    )
}

/// The writes as `Writes::import_batch` takes them.
fn pairs(requests: &[pb::ImportRequest]) -> Vec<(String, pb::SignedEnvelope)> {
    requests
        .iter()
        .map(|r| (r.rpc.clone(), r.envelope.clone().unwrap()))
        .collect()
}

// One batch whose writes read what its earlier writes inserted, still queued or sent in the
// background: 400 providers first (over 1,000 rows, enough for a background send on SQLite),
// then a provider registered and accredited, 400 more providers (the accreditation's rows are
// sent), the accreditation suspended (read back inside the transaction) and reinstated (its
// rows, queued again, replaced in the queue), a qualification of the provider naming it. The
// batch commits on its first, deferred try. A key registered twice in a batch, left to the
// unique index on the first try, fails it (the repeat is among the rows sent in the
// background); the second try names the write.
both_backends!(a_batch_reads_the_rows_it_queued, async |app: &TestApp| {
    use trust_registry::domain::ids::IdKind;
    use trust_registry::domain::{DomainError, Timestamp};

    let importer = importer(app);
    let agency_key = key("queued agency");
    let college_key = key("queued college");
    let mut requests = writes(&agency_key, 400);
    let register = pb::RegisterProviderCommand {
        header: header(),
        names: en("Queued Test College"),
        country: "IE".into(),
        kind: pb::ProviderKind::HigherEducation as i32,
        keys: vec![key_spec(&college_key)],
        ..Default::default()
    };
    let (write, provider_id) = minting(
        &agency_key,
        "AccreditationService",
        "RegisterProvider",
        &register,
        IdKind::Provider,
    );
    requests.push(write);
    let valid_from = Timestamp::parse_rfc3339("2021-01-01T00:00:00Z").unwrap();
    let record = pb::RecordAccreditationCommand {
        header: header(),
        provider_id: provider_id.clone(),
        kind: pb::AccreditationKind::InstitutionalReview as i32,
        decision: pb::Decision::Positive as i32,
        valid_from: Some(trust_registry::api::convert::timestamp(valid_from)),
        ..Default::default()
    };
    let (write, accreditation_id) = minting(
        &agency_key,
        "AccreditationService",
        "RecordAccreditation",
        &record,
        IdKind::Accreditation,
    );
    requests.push(write);
    // 400 more providers: the accreditation's rows leave the queue in a background send, so
    // the suspension reads them back, after waiting for that send.
    requests.extend((0..400).map(|i| {
        let name = format!("Queued Later College {i}");
        registration(&agency_key, &name, &key(&name))
    }));
    // Suspended, then reinstated: the second change replaces the rows the first queued again.
    for (status, at, reason) in [
        (
            pb::AccreditationStatus::Suspended,
            "2024-01-01T00:00:00Z",
            "queued test",
        ),
        (
            pb::AccreditationStatus::Reinstated,
            "2024-06-01T00:00:00Z",
            "queued test, reinstated",
        ),
    ] {
        let change = pb::ChangeAccreditationStatusCommand {
            header: header(),
            accreditation_id: accreditation_id.clone(),
            status: status as i32,
            effective_at: Some(trust_registry::api::convert::timestamp(
                Timestamp::parse_rfc3339(at).unwrap(),
            )),
            reason: reason.into(),
        };
        requests.push(request(
            &agency_key,
            "AccreditationService",
            "ChangeAccreditationStatus",
            &change,
        ));
    }
    let mut described = description("Queued Test Course");
    described.quality_assurance.as_mut().unwrap().accreditation_ids = vec![accreditation_id.clone()];
    let publish = pb::PublishQualificationCommand {
        header: header(),
        description: Some(described),
    };
    let (write, qualification_id) = minting(
        &college_key,
        "ProviderService",
        "PublishQualification",
        &publish,
        IdKind::Qualification,
    );
    requests.push(write);

    let before = log_size(app).await;
    let outcome = importer
        .import_batch(&pairs(&requests), Timestamp::now())
        .await
        .expect("import_batch");
    assert!(outcome.refused.is_none(), "{:?}", outcome.refused);
    assert!(!outcome.retried, "the deferred first try commits");
    assert_eq!(outcome.receipts.len(), 806);
    assert_eq!(log_size(app).await, before + 806);
    assert_eq!(providers_named(app, "Import Test College").await, 400);
    assert_eq!(providers_named(app, "Queued Later College").await, 400);
    assert!(known(app, 0).await && known(app, 399).await);
    let mut catalogue = app.catalogue.clone();
    let accreditation = catalogue
        .get_accreditation(pb::GetAccreditationRequest {
            id: accreditation_id.clone(),
        })
        .await
        .expect("GetAccreditation")
        .into_inner()
        .accreditation
        .unwrap();
    let statuses: Vec<_> = accreditation
        .status_history
        .iter()
        .map(|period| period.status())
        .collect();
    assert_eq!(
        statuses,
        [
            pb::AccreditationStatus::Granted,
            pb::AccreditationStatus::Suspended,
            pb::AccreditationStatus::Reinstated
        ]
    );
    let reasons: Vec<_> = accreditation
        .status_history
        .iter()
        .map(|period| period.reason.as_str())
        .collect();
    assert_eq!(reasons[1..], ["queued test", "queued test, reinstated"]);
    let qualification = catalogue
        .get_qualification(pb::GetQualificationRequest { id: qualification_id })
        .await
        .expect("GetQualification")
        .into_inner()
        .qualification
        .unwrap();
    assert_eq!(qualification.provider_id, provider_id);

    // Two providers with one key in one batch: the second is refused, the first applied.
    let twice = key("queued twice");
    let mut requests = Vec::new();
    let names = ["Queued Twin One".to_owned(), "Queued Twin Two".to_owned()]
        .into_iter()
        .chain((0..400).map(|i| format!("Queued Filler {i}")));
    for (i, name) in names.enumerate() {
        let provider_key = if i < 2 { twice.clone() } else { key(&name) };
        requests.push(registration(&agency_key, &name, &provider_key));
    }
    let before = log_size(app).await;
    let outcome = importer
        .import_batch(&pairs(&requests), Timestamp::now())
        .await
        .expect("import_batch");
    assert!(outcome.retried, "the repeated key fails the deferred try");
    match &outcome.refused {
        Some((1, DomainError::AlreadyExists(message))) => {
            assert!(message.contains("is registered already"), "{message}")
        }
        other => panic!("the second write is refused as a repeated key: {other:?}"),
    }
    assert_eq!(outcome.receipts.len(), 1);
    assert_eq!(log_size(app).await, before + 1);
    assert_eq!(providers_named(app, "Queued Twin").await, 1);
    assert_eq!(providers_named(app, "Queued Filler").await, 0);
});

// Signatures by registered keys are verified before a batch takes the write lock, and copies
// of logged writes are found then too: a batch holding either is not applied as a whole and
// rolled back at its commit (`retried`), but write by write at once. The writes before a
// forged one stay applied and it is refused; copies are answered as replays.
both_backends!(
    forged_or_copied_writes_are_found_before_the_lock,
    async |app: &TestApp| {
        use trust_registry::domain::{DomainError, Timestamp};

        let importer = importer(app);
        let agency_key = key("ahead agency");
        let setup = writes(&agency_key, 2);
        let outcome = importer
            .import_batch(&pairs(&setup), Timestamp::now())
            .await
            .expect("import_batch");
        assert!(outcome.refused.is_none() && !outcome.retried, "{outcome:?}");

        // Control: fresh writes by the registered agency go the fast way, in one try.
        let fresh: Vec<_> = (0..3)
            .map(|i| {
                registration(
                    &agency_key,
                    &format!("Ahead Control {i}"),
                    &key(&format!("ahead control {i}")),
                )
            })
            .collect();
        let outcome = importer
            .import_batch(&pairs(&fresh), Timestamp::now())
            .await
            .expect("import_batch");
        assert!(outcome.refused.is_none() && !outcome.retried, "{outcome:?}");

        // A forged signature by the agency's registered key, third of five.
        let mut forged: Vec<_> = (0..5)
            .map(|i| {
                registration(
                    &agency_key,
                    &format!("Ahead Forged {i}"),
                    &key(&format!("ahead forged {i}")),
                )
            })
            .collect();
        forged[2].envelope.as_mut().unwrap().signature[0] ^= 1;
        let before = log_size(app).await;
        let outcome = importer
            .import_batch(&pairs(&forged), Timestamp::now())
            .await
            .expect("import_batch");
        assert!(
            !outcome.retried,
            "the forged signature is found before the batch: {outcome:?}"
        );
        match &outcome.refused {
            Some((2, DomainError::Unauthenticated(message))) => {
                assert!(message.contains("envelope.signature"), "{message}")
            }
            other => panic!("the forged write is refused: {other:?}"),
        }
        assert_eq!(outcome.receipts.len(), 2);
        assert_eq!(log_size(app).await, before + 2);
        assert_eq!(providers_named(app, "Ahead Forged").await, 2);

        // The control's writes again, with a new one: the copies are replays, nothing twice.
        let mut again = fresh.clone();
        again.push(registration(&agency_key, "Ahead Late", &key("ahead late")));
        let before = log_size(app).await;
        let outcome = importer
            .import_batch(&pairs(&again), Timestamp::now())
            .await
            .expect("import_batch");
        assert!(outcome.refused.is_none() && !outcome.retried, "{outcome:?}");
        let replayed: Vec<bool> = outcome.receipts.iter().map(|r| r.replayed).collect();
        assert_eq!(replayed, [true, true, true, false]);
        assert_eq!(log_size(app).await, before + 1);
    }
);

/// A call whose writes are sent through the returned sender, the stream open until it is dropped.
fn open_call(
    app: &TestApp,
) -> (
    tokio::sync::mpsc::UnboundedSender<pb::ImportRequest>,
    tokio::task::JoinHandle<Result<pb::ImportResponse, tonic::Status>>,
) {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let channel = app.channel.clone();
    let call = tokio::spawn(async move {
        ImportServiceClient::new(channel)
            .import(tokio_stream::wrappers::UnboundedReceiverStream::new(receiver))
            .await
            .map(|r| r.into_inner())
    });
    (sender, call)
}

/// Waits, within a minute, until the log holds `size` writes.
async fn log_reaches(app: &TestApp, size: u64) {
    for _ in 0..600 {
        if log_size(app).await >= size {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the log did not reach {size} writes (it has {})",
        log_size(app).await
    );
}

// A call holds at most BATCH_BYTES of commands before applying them, and a write that cannot
// be applied whatever the registry holds (here a signature of the wrong length) stops the call
// when it arrives, not when the sender closes the stream.
both_backends!(
    a_call_applies_large_writes_early_and_stops_at_a_bad_one_at_once,
    async |app: &TestApp| {
        use trust_registry::api::import::BATCH_BYTES;

        let agency_key = key("large import agency");
        let before = log_size(app).await;
        let setup = import(app, writes(&agency_key, 1)).await.expect("setup");
        let college = provider_key(0);
        let big = |i: usize| {
            let command = pb::PublishQualificationCommand {
                header: header(),
                description: Some(large_description(&format!("Large Import Course {i}"))),
            };
            request(&college, "ProviderService", "PublishQualification", &command)
        };
        let size = big(0).envelope.unwrap().command.len();
        let enough = BATCH_BYTES.div_ceil(size);
        assert!(
            enough < BATCH_WRITES,
            "{enough} writes of {size} bytes fill BATCH_BYTES"
        );
        let after_setup = before + setup.accepted;
        assert_eq!(log_size(app).await, after_setup);

        let (sender, call) = open_call(app);
        for i in 0..enough {
            sender.send(big(i)).unwrap();
        }
        // Applied while the stream is still open.
        log_reaches(app, after_setup + enough as u64).await;
        let mut bad = big(enough);
        bad.envelope.as_mut().unwrap().signature.truncate(10);
        sender.send(bad).unwrap();
        let status = tokio::time::timeout(std::time::Duration::from_secs(60), call)
            .await
            .expect("the call ends while its stream is open")
            .unwrap()
            .expect_err("the short signature is refused");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert!(
            status.message().starts_with(&format!("writes[{enough}] "))
                && status.message().contains("64-byte"),
            "{status:?}"
        );
        assert_eq!(log_size(app).await, after_setup + enough as u64);
        drop(sender);
    }
);

// At most MAX_CALLS calls are served at once; one more is refused with RESOURCE_EXHAUSTED,
// and served again once a call has ended.
both_backends!(calls_beyond_the_limit_are_refused, async |app: &TestApp| {
    use trust_registry::api::import::MAX_CALLS;

    // The server ends a call after its 10 s deadline: on a loaded machine the open calls are
    // started again until a probe finds all of them served.
    let empty = || import(app, Vec::new());
    let mut ended = Vec::new();
    let mut found = None;
    'attempts: for _ in 0..10 {
        let open: Vec<_> = (0..MAX_CALLS).map(|_| open_call(app)).collect();
        for _ in 0..40 {
            match empty().await {
                Err(status) if status.code() == Code::ResourceExhausted => {
                    found = Some((open, status));
                    break 'attempts;
                }
                Err(status) => panic!("{status:?}"),
                // Not all the open calls are being served yet.
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
        for (sender, call) in open {
            drop(sender);
            ended.push(format!("{:?}", call.await.unwrap().map(|r| r.accepted)));
        }
    }
    let Some((open, refused)) = found else {
        panic!("no call beyond the limit was refused; the open calls ended with {ended:?}");
    };
    assert!(
        refused.message().contains(&format!("{MAX_CALLS} Import calls")),
        "{refused:?}"
    );
    let mut open = open.into_iter();
    let (sender, call) = open.next().unwrap();
    drop(sender);
    let ended = call.await.unwrap().expect("the closed call ends");
    assert_eq!(ended.accepted, 0);
    let mut served = false;
    for _ in 0..600 {
        match empty().await {
            Ok(response) => {
                assert_eq!(response.accepted, 0);
                served = true;
                break;
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    assert!(served, "a call is served once another has ended");
    drop(open);
});

/// Recognition decisions of `qualification_id` in the registry.
async fn recognitions_of(app: &TestApp, qualification_id: &str) -> usize {
    app.catalogue
        .clone()
        .search_recognitions(pb::SearchRecognitionsRequest {
            page_size: 100,
            qualification_id: qualification_id.into(),
            ..Default::default()
        })
        .await
        .expect("SearchRecognitions")
        .into_inner()
        .recognitions
        .len()
}

// A batch's recognitions look their qualification up in the committed registry first (on
// SQLite on a connection of their own) and only then in the batch: a qualification committed
// before the batch, one published earlier in the same batch (its rows still queued) and one
// never published must be told apart, whichever way the lookup goes.
both_backends!(
    a_batch_finds_the_qualifications_its_recognitions_name,
    async |app: &TestApp| {
        use trust_registry::domain::ids::IdKind;
        use trust_registry::domain::{DomainError, Timestamp};

        let importer = importer(app);
        let agency_key = key("recognising agency");
        let college_key = key("recognised college");
        let body_key = key("recognising body");
        app.admit_agency("Recognising Agency", "IE", &agency_key).await;
        app.register_provider(&agency_key, "Recognised College", "IE", &college_key)
            .await;
        app.admit_body("Recognising Body", "IE", &body_key).await;
        let committed = app
            .providers()
            .publish_qualification(pb::PublishQualificationRequest {
                envelope: envelope(
                    &college_key,
                    "ProviderService",
                    "PublishQualification",
                    &pb::PublishQualificationCommand {
                        header: header(),
                        description: Some(description("Committed Course")),
                    },
                ),
            })
            .await
            .expect("PublishQualification")
            .into_inner()
            .qualification
            .unwrap()
            .id;

        let (publish, in_batch) = minting(
            &college_key,
            "ProviderService",
            "PublishQualification",
            &pb::PublishQualificationCommand {
                header: header(),
                description: Some(description("Batch Course")),
            },
            IdKind::Qualification,
        );
        let mut requests = vec![publish];
        for id in [&committed, &in_batch, &committed] {
            requests.push(request(
                &body_key,
                "RecognitionService",
                "PublishRecognition",
                &publish_recognition_of(id),
            ));
        }
        let outcome = importer
            .import_batch(&pairs(&requests), Timestamp::now())
            .await
            .expect("import_batch");
        assert!(outcome.refused.is_none(), "{:?}", outcome.refused);
        assert!(!outcome.retried, "the deferred first try commits");
        assert_eq!(outcome.receipts.len(), 4);
        assert_eq!(recognitions_of(app, &committed).await, 2);
        assert_eq!(recognitions_of(app, &in_batch).await, 1);

        // A qualification id of the right form that nothing published: refused by name, and
        // the recognition before it stays applied.
        let never = IdKind::Qualification.mint(b"never published");
        let requests = [&committed, &never].map(|id| {
            request(
                &body_key,
                "RecognitionService",
                "PublishRecognition",
                &publish_recognition_of(id),
            )
        });
        let before = log_size(app).await;
        let outcome = importer
            .import_batch(&pairs(&requests), Timestamp::now())
            .await
            .expect("import_batch");
        match &outcome.refused {
            Some((1, DomainError::InvalidArgument { field, rule })) => {
                assert_eq!(field, "qualification_id");
                assert_eq!(rule, "names no registered qualification");
            }
            other => panic!("the recognition of an unknown qualification is refused: {other:?}"),
        }
        assert_eq!(outcome.receipts.len(), 1);
        assert_eq!(log_size(app).await, before + 1);
        assert_eq!(recognitions_of(app, &committed).await, 3);
        assert_eq!(recognitions_of(app, &never).await, 0);
    }
);

//! Prometheus metrics through a real server on SQLite and PostgreSQL: every call is counted by
//! method and gRPC status (refusals by the rate limit and unknown methods too) and timed, the
//! log's size and the read cache's state are read at the scrape, and the endpoint answers only
//! `GET /metrics` on its own listener, not on the gRPC port.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::checks::{expect_invalid, expect_not_found};
use common::{TestApp, checkpoint, log_size, rate_limit, serve_store_with, signed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trust_registry::domain::ids::IdKind;
use trust_registry::metrics::{Metrics, endpoint};
use trust_registry::pb;

/// `request` sent over one HTTP/1.1 connection to `addr`: (status line, headers, body).
async fn http(addr: std::net::SocketAddr, request: &str) -> (String, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read the answer");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_owned(), headers.to_ascii_lowercase(), body.to_owned())
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

/// The samples of an OpenMetrics text, by series (name with labels).
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample is a series and a value");
            (
                series.to_owned(),
                value.parse::<f64>().expect("a sample's value is a number"),
            )
        })
        .collect()
}

fn calls(method: &str, code: &str) -> String {
    format!("trust_registry_calls_total{{method=\"{method}\",code=\"{code}\"}}")
}

const CHECKPOINT: &str = "/trustregistry.v1.LogService/GetCheckpoint";
const GET_QUALIFICATION: &str = "/trustregistry.v1.CatalogueService/GetQualification";

both_backends!(
    calls_are_counted_by_method_and_status_and_timed,
    async |app: &TestApp| {
        // A write, so that the log is not empty.
        app.admit_agency("Metrics Test Agency", "IE", &signed::key("metrics agency"))
            .await;
        let metrics = Arc::new(Metrics::new());
        let served = serve_store_with(&app.store, |options| {
            options.metrics = Some(metrics.clone());
            options.rate_limit = Some(rate_limit(1, 4));
        })
        .await;
        let scrape_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scrape = scrape_listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let scraper = tokio::spawn(endpoint::serve(
            scrape_listener,
            metrics.clone(),
            app.store.clone(),
            async {
                let _ = stopped.await;
            },
        ));

        // Within the burst of 4: a malformed id, an unknown id.
        let mut catalogue = pb::catalogue_service_client::CatalogueServiceClient::new(served.channel.clone());
        expect_invalid(
            catalogue
                .get_qualification(pb::GetQualificationRequest {
                    id: "not-an-id".into(),
                })
                .await,
            "id",
        );
        let unknown = IdKind::Qualification.mint(b"metrics: never registered");
        expect_not_found(
            catalogue
                .get_qualification(pb::GetQualificationRequest { id: unknown.clone() })
                .await,
            &unknown,
        );
        // Checkpoints until the rate limit refuses one (the rest of the burst, and whatever the
        // limit of one a second added meanwhile).
        let mut answered = 0;
        let refused = loop {
            match checkpoint(&served.channel).await {
                Ok(_) => answered += 1,
                Err(status) => break status,
            }
            assert!(answered < 50, "the rate limit never refused a call");
        };
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
        assert!(answered >= 2, "the burst of 4 allowed {answered} checkpoints");
        // A method no service has (health checks are not rate-limited, so its path is sent as
        // one: the rate limit passes it, and the router answers UNIMPLEMENTED).
        let mut raw = tonic::client::Grpc::new(served.channel.clone());
        raw.ready().await.expect("ready");
        let unknown_method: Result<tonic::Response<pb::GetCheckpointResponse>, _> = raw
            .unary(
                tonic::Request::new(pb::GetCheckpointRequest::default()),
                http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/NoSuchMethod"),
                tonic_prost::ProstCodec::default(),
            )
            .await;
        assert_eq!(
            unknown_method.expect_err("no such method").code(),
            tonic::Code::Unimplemented
        );

        let (status, headers, body) = http(scrape, &get("/metrics")).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        assert!(
            headers.contains("content-type: application/openmetrics-text; version=1.0.0"),
            "{headers}"
        );
        assert!(body.ends_with("# EOF\n"), "{body}");
        let values = samples(&body);
        let value = |series: &str| {
            *values
                .get(series)
                .unwrap_or_else(|| panic!("no sample {series} in:\n{body}"))
        };
        assert_eq!(value(&calls(CHECKPOINT, "OK")), f64::from(answered));
        assert_eq!(value(&calls(CHECKPOINT, "RESOURCE_EXHAUSTED")), 1.0);
        assert_eq!(value(&calls(GET_QUALIFICATION, "INVALID_ARGUMENT")), 1.0);
        assert_eq!(value(&calls(GET_QUALIFICATION, "NOT_FOUND")), 1.0);
        assert_eq!(value(&calls("other", "UNIMPLEMENTED")), 1.0);
        assert!(
            !body.contains("NoSuchMethod"),
            "an unknown path must not become a label:\n{body}"
        );
        let durations = |method: &str, suffix: &str| {
            value(&format!(
                "trust_registry_call_duration_seconds_{suffix}{{method=\"{method}\"}}"
            ))
        };
        assert_eq!(durations(CHECKPOINT, "count"), f64::from(answered + 1));
        assert!(durations(CHECKPOINT, "sum") > 0.0);
        assert_eq!(durations(GET_QUALIFICATION, "count"), 2.0);
        // Every call is in the last bucket, whichever order the encoder puts the labels in.
        let method_label = format!("method=\"{CHECKPOINT}\"");
        let last_bucket = values
            .iter()
            .find(|(series, _)| {
                series.starts_with("trust_registry_call_duration_seconds_bucket{")
                    && series.contains(&method_label)
                    && series.contains("le=\"+Inf\"")
            })
            .unwrap_or_else(|| panic!("no +Inf bucket for {CHECKPOINT} in:\n{body}"));
        assert_eq!(*last_bucket.1, f64::from(answered + 1));
        assert_eq!(value("trust_registry_calls_in_flight"), 0.0);
        assert_eq!(value("trust_registry_store_up"), 1.0);
        // The log's size as the checkpoint states it (its second line).
        let size = log_size(app).await as f64;
        assert!(size >= 1.0, "the admission was logged");
        assert_eq!(value("trust_registry_log_entries"), size);
        assert_eq!(
            value(&format!(
                "trust_registry_build_info{{version=\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            )),
            1.0
        );

        // A write through another server on the same store shows at the next scrape.
        app.admit_agency(
            "Metrics Test Agency Two",
            "IE",
            &signed::key("metrics agency two"),
        )
        .await;
        let (_, _, body) = http(scrape, &get("/metrics")).await;
        assert_eq!(samples(&body)["trust_registry_log_entries"], size + 1.0);

        // Only GET and HEAD of /metrics, and only on the metrics listener.
        let (status, _, _) = http(scrape, &get("/")).await;
        assert!(status.starts_with("HTTP/1.1 404"), "{status}");
        let (status, headers, _) = http(
            scrape,
            "POST /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(status.starts_with("HTTP/1.1 405"), "{status}");
        assert!(headers.contains("allow: get, head"), "{headers}");
        let (status, _, body) = http(served.addr, &get("/metrics")).await;
        assert!(
            !body.contains("trust_registry_calls_total"),
            "the gRPC port answered the metrics ({status})"
        );

        let _ = stop.send(());
        scraper
            .await
            .expect("metrics task")
            .expect("metrics endpoint ran");
        served.stop().await;
    }
);

/// A free loopback address: bound, read and released (the server binds it again at once).
fn free_address() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("local address")
}

both_backends!(
    serve_with_metrics_listen_answers_scrapes,
    async |app: &TestApp| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (grpc, scrape) = (free_address(), free_address());
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_trust-registry"));
        command
            .args(["serve", "--listen", &grpc.to_string()])
            .args(["--metrics-listen", &scrape.to_string()])
            .args(["--worker-threads", "3"])
            .args(["--database-url", &app.database_url])
            .arg("--registry-key-file")
            .arg(dir.path().join("registry.key"))
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true);
        common::without_registry_settings(&mut command);
        let mut server = command.spawn().expect("start trust-registry serve");
        // A child process binds its own ports, so it is asked until it answers (the in-process
        // servers of the other tests are bound before they are spawned).
        let channel = {
            let started = std::time::Instant::now();
            loop {
                if let Ok(channel) = tonic::transport::Channel::from_shared(format!("http://{grpc}"))
                    .unwrap()
                    .connect()
                    .await
                {
                    break channel;
                }
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(30),
                    "serve did not listen on {grpc}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        };
        checkpoint(&channel).await.expect("checkpoint");
        let (status, _, body) = http(scrape, &get("/metrics")).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        assert_eq!(samples(&body).get(&calls(CHECKPOINT, "OK")), Some(&1.0), "{body}");
        assert_eq!(
            samples(&body).get("trust_registry_store_up"),
            Some(&1.0),
            "{body}"
        );
        assert_eq!(
            samples(&body).get("trust_registry_worker_threads"),
            Some(&3.0),
            "--worker-threads sizes the runtime: {body}"
        );
        server.kill().await.expect("stop the server");
    }
);

both_backends!(
    the_read_cache_is_reported_by_kind_and_outcome,
    async |app: &TestApp| {
        let metrics = Metrics::new();
        let unknown = IdKind::Provider.mint(b"metrics: no such provider");
        let ask = async || {
            app.trust()
                .check_issuer(pb::CheckIssuerRequest {
                    query: Some(pb::IssuerQuery {
                        issuer: Some(pb::issuer_query::Issuer::ProviderId(unknown.clone())),
                        ..Default::default()
                    }),
                })
                .await
                .expect("CheckIssuer")
        };
        let lookups = |text: &str, outcome: &str| {
            let series =
                format!("trust_registry_cache_lookups_total{{kind=\"providers\",outcome=\"{outcome}\"}}");
            samples(text)
                .get(&series)
                .copied()
                .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
        };
        let before = metrics.render(&app.store).await;
        ask().await;
        ask().await;
        let after = metrics.render(&app.store).await;
        assert_eq!(lookups(&after, "miss") - lookups(&before, "miss"), 1.0, "{after}");
        assert_eq!(lookups(&after, "hit") - lookups(&before, "hit"), 1.0, "{after}");
        let values = samples(&after);
        assert!(
            values["trust_registry_cache_entries{kind=\"providers\"}"] >= 1.0,
            "{after}"
        );
        assert_eq!(
            values["trust_registry_cache_capacity{kind=\"providers\"}"],
            trust_registry::store::StoreOptions::default().cache_entries as f64
        );
        // A write makes what was cached before it stale: the next lookup loads it again.
        app.admit_agency("Metrics Cache Agency", "IE", &signed::key("metrics cache agency"))
            .await;
        ask().await;
        let written = metrics.render(&app.store).await;
        assert_eq!(
            lookups(&written, "stale") - lookups(&after, "stale"),
            1.0,
            "{written}"
        );
        assert_eq!(lookups(&written, "hit"), lookups(&after, "hit"), "{written}");
    }
);

both_backends!(qualification_lookups_are_reported, async |app: &TestApp| {
    let metrics = Metrics::new();
    let provider = app.provider("Metrics Hint College").insert().await;
    let published = app.qualification(&provider, "Metrics hint course").insert().await;
    let lookups = |text: &str, kind: &str, outcome: &str| {
        let series = format!("trust_registry_cache_lookups_total{{kind=\"{kind}\",outcome=\"{outcome}\"}}");
        samples(text).get(&series).copied()
    };
    let before = metrics.render(&app.store).await;
    for _ in 0..3 {
        let found = common::checks::get_qualification(app, &published.id).await;
        assert_eq!(found.id, published.id);
    }
    let after = metrics.render(&app.store).await;
    let delta = |kind: &str, outcome: &str| {
        lookups(&after, kind, outcome).unwrap() - lookups(&before, kind, outcome).unwrap()
    };
    // The first lookup reads the row and keeps its document (unless the store's first load
    // ran after the insert and kept it, under the generation before the insert: stale, or
    // after it: a hit); the other two are answered from memory.
    let documents = ["hit", "miss", "stale"].map(|outcome| delta("documents", outcome));
    assert!(documents[0] >= 2.0, "{after}");
    assert_eq!(documents.iter().sum::<f64>(), 3.0, "{after}");
    let values = samples(&after);
    assert!(values["trust_registry_cache_entries{kind=\"documents\"}"] >= 1.0);
    assert_eq!(
        values["trust_registry_cache_capacity{kind=\"documents\"}"],
        (trust_registry::store::StoreOptions::default().document_cache_mib << 20) as f64
    );
    if app.backend == common::Backend::Postgres {
        // No direct reads there, so no row hints: nothing is reported for them.
        assert_eq!(lookups(&after, "qualification_rows", "hit"), None, "{after}");
        return;
    }
    // The lookups that read the row (one, or none) found it by the id index or by a hint the
    // hints' loader had (it may have run after the insert), and no hint was wrong.
    assert_eq!(
        delta("qualification_rows", "hit") + delta("qualification_rows", "miss"),
        3.0 - documents[0],
        "{after}"
    );
    assert_eq!(delta("qualification_rows", "stale"), 0.0, "{after}");
    assert_eq!(
        values["trust_registry_cache_capacity{kind=\"qualification_rows\"}"],
        trust_registry::store::StoreOptions::default().qualification_row_hints as f64
    );
});

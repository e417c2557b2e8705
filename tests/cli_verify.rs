//! The CLI for people who ask the registry: `check-issuer` and `verify FILE`, run as the built
//! binary against a real server on SQLite and PostgreSQL, with credentials from
//! `tests/fixtures/credentials.json` (see `tests/fixtures/make_credentials.py`); and against a
//! TrustService in the middle that answers with genuine verdicts the registry signed for other
//! questions.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use common::TestApp;
use common::builders::at;
use serde_json::Value;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};
use trust_registry::api::signing::{VerdictSigner, verify_signed_verdict};
use trust_registry::domain::enums::IdentifierScheme;
use trust_registry::domain::keys;
use trust_registry::domain::verdict::RegistryKey;
use trust_registry::pb;
use trust_registry::pb::trust_service_server::{TrustService, TrustServiceServer};

const BIN: &str = env!("CARGO_BIN_EXE_trust-registry");
const FIXTURE: &str = include_str!("fixtures/credentials.json");
const VERIFY_AT: &str = "2025-06-01T00:00:00Z";
const ISSUED_AT: &str = "2025-01-15T09:00:00Z";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn cli(server: &str, args: &[&str]) -> Run {
    let output = tokio::process::Command::new(BIN)
        .args(args)
        .env("TRUST_REGISTRY_SERVER", server)
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("run trust-registry");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into(),
        stderr: String::from_utf8_lossy(&output.stderr).into(),
    }
}

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("fixture parses")
}

fn credential(fixture: &Value, name: &str) -> String {
    fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("fixture case {name}"))["credential"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn public_key(fixture: &Value, name: &str) -> [u8; 32] {
    let hex = fixture["keys"][name]["public_key_hex"].as_str().unwrap();
    (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .try_into()
        .unwrap()
}

/// Harbour Test College as the fixture names it: its did:web, its current key B, an
/// accreditation for EQF 5-6 and its micro-credentials (EQF 6 and 7) with the fixture's ids.
async fn harbour(app: &TestApp, fixture: &Value) -> String {
    let spec = &fixture["registry"]["providers"]["harbour"];
    let agency = app.agency("Harbour Quality Agency", "IE").await;
    let provider = app
        .provider(spec["name"].as_str().unwrap())
        .identifier(IdentifierScheme::Did, spec["did"].as_str().unwrap())
        .key(public_key(fixture, "B"), at("2020-01-01T00:00:00Z"))
        .insert()
        .await;
    app.accreditation(&agency, &provider)
        .valid("2021-01-01T00:00:00Z", Some("2031-01-01T00:00:00Z"))
        .eqf_levels(&[5, 6])
        .insert()
        .await;
    for q in spec["qualifications"].as_array().unwrap() {
        let mut builder = app
            .qualification(&provider, q["title"].as_str().unwrap())
            .level("ie-nfq", q["level"].as_str().unwrap())
            .await;
        builder.qualification.id = q["id"].as_str().unwrap().to_owned();
        builder.insert().await;
    }
    provider.id
}

fn line<'a>(stdout: &'a str, start: &str) -> &'a str {
    stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?} in:\n{stdout}"))
}

both_backends!(
    verify_prints_every_check_and_exits_by_result,
    async |app: &TestApp| {
        let fixture = fixture();
        let provider_id = harbour(app, &fixture).await;
        let server = format!("http://{}", app.addr);
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| -> PathBuf {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let valid = write("valid.jwt", &credential(&fixture, "jws_valid"));
        let di = write("valid.json", &credential(&fixture, "di_valid"));
        let expired = write("expired.jwt", &credential(&fixture, "jws_expired"));
        let oversized = write("oversized.jwt", &credential(&fixture, "oversized"));

        // Trusted: exit 0, every check PASSED with its detail.
        for file in [&valid, &di] {
            let out = cli(&server, &["verify", file.to_str().unwrap(), "--at", VERIFY_AT]).await;
            assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
            assert_eq!(line(&out.stdout, "result:"), "result: PASSED");
            for kind in [
                "FORMAT",
                "SIGNATURE",
                "ISSUER_KEY",
                "ISSUER_ACCREDITATION",
                "QUALIFICATION",
                "VALIDITY",
            ] {
                let check = line(&out.stdout, kind);
                let words: Vec<&str> = check.split_whitespace().collect();
                assert_eq!(words[..2], [kind, "PASSED"], "{check}");
                assert!(words.len() > 2, "{kind} has a detail: {check}");
            }
            assert!(
                line(&out.stdout, "SIGNATURE")
                    .contains(fixture["keys"]["B"]["public_key_multibase"].as_str().unwrap())
            );
            assert!(
                line(&out.stdout, "issuer (registry):").contains(&provider_id),
                "{}",
                out.stdout
            );
            assert!(line(&out.stdout, "issuer (registry):").contains("Harbour Test College"));
            assert_eq!(
                line(&out.stdout, "issued at:"),
                format!("issued at:         {ISSUED_AT}")
            );
        }

        // Failing: exit 1, the failed check says why.
        let out = cli(&server, &["verify", expired.to_str().unwrap(), "--at", VERIFY_AT]).await;
        assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
        assert_eq!(line(&out.stdout, "result:"), "result: FAILED");
        let validity = line(&out.stdout, "VALIDITY");
        assert!(
            validity.contains("FAILED") && validity.contains("expired at 2025-03-01T00:00:00Z"),
            "{validity}"
        );
        assert!(line(&out.stdout, "SIGNATURE").contains("PASSED"));

        // The verification time matters: the expired credential passed before its validUntil.
        let out = cli(
            &server,
            &[
                "verify",
                expired.to_str().unwrap(),
                "--at",
                "2025-01-01T00:00:00Z",
            ],
        )
        .await;
        assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);

        // A JWS read as Data Integrity fails FORMAT and skips the rest.
        let out = cli(
            &server,
            &[
                "verify",
                valid.to_str().unwrap(),
                "--format",
                "data-integrity",
                "--at",
                VERIFY_AT,
            ],
        )
        .await;
        assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
        assert!(line(&out.stdout, "FORMAT").contains("FAILED"));
        assert!(line(&out.stdout, "VALIDITY").contains("SKIPPED"));

        // --json is the proto3 JSON of the response.
        let out = cli(
            &server,
            &["verify", "--json", valid.to_str().unwrap(), "--at", VERIFY_AT],
        )
        .await;
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let json: Value = serde_json::from_str(&out.stdout).expect("JSON output");
        assert_eq!(json["result"], "CHECK_RESULT_PASSED");
        assert_eq!(json["checks"].as_array().unwrap().len(), 6);
        assert_eq!(json["checks"][0]["kind"], "CHECK_KIND_FORMAT");
        assert_eq!(json["issuer"]["id"], provider_id.as_str());
        // pbjson writes "+00:00" where proto3 JSON prefers "Z"; the instant is what matters.
        assert_eq!(at(json["issuedAt"].as_str().unwrap()), at(ISSUED_AT));
        let response: pb::VerifyCredentialResponse = serde_json::from_value(json).expect("parses back");
        assert_eq!(response.result, pb::CheckResult::Passed as i32);

        // The issuer verdict in the answer must verify with the registry key given out of band.
        let other = keys::multibase(&public_key(&fixture, "A"));
        let args = ["verify", valid.to_str().unwrap(), "--at", VERIFY_AT];
        let out = cli(&server, &[&args[..], &["--registry-key", &other]].concat()).await;
        assert_eq!(out.code, Some(2), "{}\n{}", out.stdout, out.stderr);
        assert!(
            out.stdout.is_empty() && out.stderr.contains("refused"),
            "{}",
            out.stderr
        );

        // Standard input.
        let stdin_run = {
            use tokio::io::AsyncWriteExt as _;
            let mut child = tokio::process::Command::new(BIN)
                .args(["verify", "-", "--at", VERIFY_AT])
                .env("TRUST_REGISTRY_SERVER", &server)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            stdin
                .write_all(credential(&fixture, "jws_valid").as_bytes())
                .await
                .unwrap();
            drop(stdin);
            child.wait_with_output().await.unwrap()
        };
        assert_eq!(
            stdin_run.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&stdin_run.stdout)
        );

        // No answer: exit 2 with the reason on stderr.
        let out = cli(&server, &["verify", oversized.to_str().unwrap()]).await;
        assert_eq!(out.code, Some(2), "{}\n{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("InvalidArgument") && out.stderr.contains("credential"),
            "{}",
            out.stderr
        );
        assert!(out.stdout.is_empty());
        let missing = dir.path().join("missing.jwt");
        let out = cli(&server, &["verify", missing.to_str().unwrap()]).await;
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(out.stderr.contains("missing.jwt"), "{}", out.stderr);
        let out = cli(&server, &["verify", valid.to_str().unwrap(), "--at", "yesterday"]).await;
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        let out = cli("http://127.0.0.1:1", &["verify", valid.to_str().unwrap()]).await;
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(out.stderr.contains("connecting to"), "{}", out.stderr);
    }
);

both_backends!(
    check_issuer_summarises_the_signed_verdict,
    async |app: &TestApp| {
        let fixture = fixture();
        let provider_id = harbour(app, &fixture).await;
        let server = format!("http://{}", app.addr);
        let did = fixture["registry"]["providers"]["harbour"]["did"]
            .as_str()
            .unwrap();
        let key_b = fixture["keys"]["B"]["key_id"].as_str().unwrap();

        // Trusted: exit 0, with the accreditation in force and when the answer may change.
        let out = cli(
            &server,
            &[
                "check-issuer",
                "--did",
                did,
                "--key-id",
                key_b,
                "--eqf-level",
                "6",
                "--at",
                ISSUED_AT,
            ],
        )
        .await;
        assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
        assert_eq!(line(&out.stdout, "status:"), "status:        TRUSTED");
        assert!(line(&out.stdout, "provider:").contains(&provider_id));
        assert!(line(&out.stdout, "provider:").contains("Harbour Test College (IE)"));
        assert_eq!(
            line(&out.stdout, "evaluated at:"),
            format!("evaluated at:  {ISSUED_AT}")
        );
        assert!(line(&out.stdout, "key:").contains(&format!("{key_b} VALID")));
        assert_eq!(line(&out.stdout, "reasons:"), "reasons:       none");
        assert_eq!(
            line(&out.stdout, "accreditations in force:"),
            "accreditations in force: 1"
        );
        let accreditation = line(&out.stdout, "- accr_");
        assert!(
            accreditation.contains("Harbour Quality Agency") && accreditation.contains("GRANTED"),
            "{accreditation}"
        );
        assert_eq!(line(&out.stdout, "scope:"), "scope: EQF 5, 6");
        assert!(
            line(&out.stdout, "next update:").contains("2031-01-01T00:00:00Z"),
            "{}",
            out.stdout
        );

        // The same issuer by public key (hex) and by provider id.
        let hex: String = fixture["keys"]["B"]["public_key_hex"].as_str().unwrap().into();
        let out = cli(
            &server,
            &["check-issuer", "--public-key", &hex, "--at", ISSUED_AT],
        )
        .await;
        assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
        assert!(line(&out.stdout, "key:").contains(key_b));

        // Not trusted: exit 1 with the reason.
        let out = cli(
            &server,
            &[
                "check-issuer",
                "--provider-id",
                &provider_id,
                "--eqf-level",
                "7",
                "--at",
                ISSUED_AT,
            ],
        )
        .await;
        assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
        assert_eq!(line(&out.stdout, "status:"), "status:        NOT_TRUSTED");
        let reason = line(&out.stdout, "- OUT_OF_SCOPE:");
        assert!(reason.contains("EQF level 7"), "{reason}");
        assert_eq!(
            line(&out.stdout, "accreditations in force:"),
            "accreditations in force: 0"
        );
        let out = cli(
            &server,
            &["check-issuer", "--did", "did:web:unknown-college.example"],
        )
        .await;
        assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
        assert_eq!(line(&out.stdout, "status:"), "status:        UNKNOWN_ISSUER");
        let out = cli(&server, &["check-issuer", "--deqar-id", "DEQARINST9999"]).await;
        assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
        assert!(line(&out.stdout, "- UNKNOWN_ISSUER:").len() > 20);

        // --json: the verified verdict and the signed verdict as proto3 JSON; the signed one
        // verifies offline.
        let asked = [
            "check-issuer",
            "--did",
            did,
            "--eqf-level",
            "6",
            "--at",
            ISSUED_AT,
        ];
        let out = cli(&server, &[&asked[..], &["--json"]].concat()).await;
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let json: Value = serde_json::from_str(&out.stdout).expect("JSON output");
        assert_eq!(json["verdict"]["status"], "TRUST_STATUS_TRUSTED");
        assert_eq!(json["verdict"]["query"]["did"], did);
        assert_eq!(json["verdict"]["query"]["scope"]["eqfLevel"], 6);
        // Both are proto3 JSON: they read back, and the verdict is the one the bytes hold.
        let signed: pb::SignedVerdict =
            serde_json::from_value(json["signedVerdict"].clone()).expect("a SignedVerdict");
        let verdict: pb::Verdict = serde_json::from_value(json["verdict"].clone()).expect("a Verdict");
        assert_eq!(common::decoded(&signed), verdict);
        let registry = app
            .trust()
            .get_registry_key(pb::GetRegistryKeyRequest {})
            .await
            .unwrap()
            .into_inner();
        let registry_key: [u8; 32] = registry.public_key.try_into().unwrap();
        assert_eq!(
            json["signedVerdict"]["registryKeyId"],
            keys::key_id(&registry_key).as_str()
        );
        assert!(verify_signed_verdict(&registry_key, &signed));
        let cut = pb::SignedVerdict {
            verdict_bytes: signed.verdict_bytes[1..].to_vec(),
            ..signed.clone()
        };
        assert!(!verify_signed_verdict(&registry_key, &cut));

        // A registry key given out of band: the verdict must verify with it, or there is no
        // answer (exit 2), whatever the verdict says.
        let pinned = keys::multibase(&registry_key);
        let out = cli(&server, &[&asked[..], &["--registry-key", &pinned]].concat()).await;
        assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
        assert_eq!(line(&out.stdout, "status:"), "status:        TRUSTED");
        let other = keys::multibase(&public_key(&fixture, "A"));
        let out = cli(&server, &[&asked[..], &["--registry-key", &other]].concat()).await;
        assert_eq!(out.code, Some(2), "{}\n{}", out.stdout, out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert!(
            out.stderr.contains("refused") && out.stderr.contains(&keys::key_id(&registry_key)),
            "{}",
            out.stderr
        );

        // No answer: exit 2.
        for args in [
            vec!["check-issuer"],
            vec!["check-issuer", "--did", did, "--provider-id", &provider_id],
            vec!["check-issuer", "--did", did, "--eqf-level", "9"],
            vec!["check-issuer", "--did", did, "--at", "soon"],
            vec!["check-issuer", "--public-key", "z6MkNotAKey"],
            vec!["check-issuer", "--provider-id", "nonsense"],
            vec!["check-issuer", "--did", did, "--key-id", "key-1"],
        ] {
            let out = cli(&server, &args).await;
            assert_eq!(out.code, Some(2), "{args:?}: {}\n{}", out.stdout, out.stderr);
            assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
            assert!(!out.stderr.is_empty(), "{args:?}");
        }
        let out = cli(&server, &["check-issuer", "--provider-id", "nonsense"]).await;
        assert!(
            out.stderr.contains("InvalidArgument") && out.stderr.contains("query.provider_id"),
            "{}",
            out.stderr
        );
    }
);

/// The answers the registry in the middle gives, whatever it is asked.
#[derive(Default)]
struct Answers {
    check_issuer: Option<pb::CheckIssuerResponse>,
    verify_credential: Option<pb::VerifyCredentialResponse>,
}

/// A TrustService between the command line and the registry: it answers CheckIssuer and
/// VerifyCredential with answers of its choice, made of genuine signed verdicts the registry
/// gave for other questions, and names the registry's real key.
#[derive(Clone)]
struct Replayer {
    answers: Arc<Mutex<Answers>>,
    registry_key: pb::GetRegistryKeyResponse,
}

#[tonic::async_trait]
impl TrustService for Replayer {
    async fn check_issuer(
        &self,
        _request: Request<pb::CheckIssuerRequest>,
    ) -> Result<Response<pb::CheckIssuerResponse>, Status> {
        let answer = self.answers.lock().unwrap().check_issuer.clone();
        answer
            .map(Response::new)
            .ok_or_else(|| Status::unimplemented("no CheckIssuer answer set"))
    }

    async fn check_issuers(
        &self,
        _request: Request<pb::CheckIssuersRequest>,
    ) -> Result<Response<pb::CheckIssuersResponse>, Status> {
        Err(Status::unimplemented("CheckIssuers"))
    }

    async fn verify_credential(
        &self,
        _request: Request<pb::VerifyCredentialRequest>,
    ) -> Result<Response<pb::VerifyCredentialResponse>, Status> {
        let answer = self.answers.lock().unwrap().verify_credential.clone();
        answer
            .map(Response::new)
            .ok_or_else(|| Status::unimplemented("no VerifyCredential answer set"))
    }

    async fn get_registry_key(
        &self,
        _request: Request<pb::GetRegistryKeyRequest>,
    ) -> Result<Response<pb::GetRegistryKeyResponse>, Status> {
        Ok(Response::new(self.registry_key.clone()))
    }
}

/// The [`Replayer`] serving on a loopback port.
struct Middle {
    url: String,
    answers: Arc<Mutex<Answers>>,
    shutdown: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Middle {
    async fn start(app: &TestApp) -> Self {
        let registry_key = app
            .trust()
            .get_registry_key(pb::GetRegistryKeyRequest {})
            .await
            .unwrap()
            .into_inner();
        let answers = Arc::new(Mutex::new(Answers::default()));
        let replayer = Replayer {
            answers: answers.clone(),
            registry_key,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TrustServiceServer::new(replayer))
                .serve_with_incoming_shutdown(tonic::transport::server::TcpIncoming::from(listener), async {
                    let _ = stopped.await;
                }),
        );
        Middle {
            url,
            answers,
            shutdown,
            server,
        }
    }

    fn answer_check_issuer(&self, signed: pb::SignedVerdict) {
        self.answers.lock().unwrap().check_issuer = Some(pb::CheckIssuerResponse {
            verdict: Some(signed),
        });
    }

    fn answer_verify_credential(&self, response: pb::VerifyCredentialResponse) {
        self.answers.lock().unwrap().verify_credential = Some(response);
    }

    async fn stop(self) {
        let _ = self.shutdown.send(());
        self.server.await.unwrap().unwrap();
    }
}

/// The registry's verdict key as `--registry-key` takes it.
async fn pinned_key(app: &TestApp) -> String {
    let named = app
        .trust()
        .get_registry_key(pb::GetRegistryKeyRequest {})
        .await
        .unwrap()
        .into_inner();
    keys::multibase(&named.public_key.try_into().unwrap())
}

/// Northgate Institute as the fixture names it, registered but never accredited.
async fn northgate(app: &TestApp, fixture: &Value) -> String {
    let spec = &fixture["registry"]["providers"]["northgate"];
    app.provider(spec["name"].as_str().unwrap())
        .identifier(IdentifierScheme::Did, spec["did"].as_str().unwrap())
        .key(public_key(fixture, "D"), at("2020-01-01T00:00:00Z"))
        .insert()
        .await
        .id
}

/// The signed verdict `check-issuer` printed with `--json`: genuine, as the registry signed it.
fn printed_verdict(out: &Run) -> pb::SignedVerdict {
    assert_eq!(out.stderr, "", "{}", out.stdout);
    let json: Value = serde_json::from_str(&out.stdout).expect("JSON output");
    serde_json::from_value(json["signedVerdict"].clone()).expect("a SignedVerdict")
}

fn asking<'a>(did: &'a str, eqf_level: &'a str, at: &'a str) -> [&'a str; 7] {
    ["check-issuer", "--did", did, "--eqf-level", eqf_level, "--at", at]
}

#[track_caller]
fn assert_refused(out: &Run, why: &str) {
    assert_eq!(out.code, Some(2), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.contains("refused") && out.stderr.contains(why),
        "expected {why:?} in: {}",
        out.stderr
    );
}

both_backends!(
    check_issuer_refuses_a_verdict_that_answers_another_question,
    async |app: &TestApp| {
        let fixture = fixture();
        harbour(app, &fixture).await;
        northgate(app, &fixture).await;
        let server = format!("http://{}", app.addr);
        let providers = &fixture["registry"]["providers"];
        let harbour_did = providers["harbour"]["did"].as_str().unwrap();
        let northgate_did = providers["northgate"]["did"].as_str().unwrap();
        let pinned = pinned_key(app).await;
        let pin = ["--registry-key", pinned.as_str()];

        // A genuine TRUSTED verdict, for Harbour at EQF 6 at the issuance time.
        let trusted = asking(harbour_did, "6", ISSUED_AT);
        let genuine = printed_verdict(&cli(&server, &[&trusted[..], &["--json"]].concat()).await);
        let middle = Middle::start(app).await;
        middle.answer_check_issuer(genuine.clone());

        // It is the answer to its own question, pinned key or not.
        for extra in [&pin[..], &[]] {
            let out = cli(&middle.url, &[&trusted[..], extra].concat()).await;
            assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
            assert_eq!(line(&out.stdout, "status:"), "status:        TRUSTED");
        }

        // Not to another issuer's, level's or time's, whose true answer is negative.
        for question in [
            asking(northgate_did, "6", ISSUED_AT),
            asking(harbour_did, "7", ISSUED_AT),
            asking(harbour_did, "6", "2020-06-01T00:00:00Z"),
        ] {
            let out = cli(&server, &question).await;
            assert_eq!(out.code, Some(1), "{question:?}: {}\n{}", out.stdout, out.stderr);
            for extra in [&pin[..], &[]] {
                let out = cli(&middle.url, &[&question[..], extra].concat()).await;
                assert_refused(&out, "answers another question");
            }
        }

        // A verdict whose query echoes the question but whose query_hash is another question's
        // (which only the registry key could sign) is no answer either.
        let mut forged = common::decoded(&genuine);
        if let Some(query) = forged.query.as_mut() {
            query.issuer = Some(pb::issuer_query::Issuer::Did(northgate_did.to_owned()));
        }
        let signer = VerdictSigner::new(RegistryKey::new(common::signed::registry_key()));
        middle.answer_check_issuer(signer.sign(&forged).await);
        let question = asking(northgate_did, "6", ISSUED_AT);
        let out = cli(&middle.url, &[&question[..], &pin[..]].concat()).await;
        assert_refused(&out, "query_hash");
        middle.stop().await;
    }
);

both_backends!(
    verify_holds_the_issuer_verdict_to_the_credential,
    async |app: &TestApp| {
        let fixture = fixture();
        harbour(app, &fixture).await;
        let northgate_id = northgate(app, &fixture).await;
        let server = format!("http://{}", app.addr);
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| -> String {
            let path = dir.path().join(format!("{name}.txt"));
            std::fs::write(&path, credential(&fixture, name)).unwrap();
            path.to_str().unwrap().to_owned()
        };
        let valid = file("jws_valid");
        let out_of_scope = file("jws_eqf_out_of_scope");
        let unknown_issuer = file("jws_unknown_issuer");
        let pinned = pinned_key(app).await;
        let verify =
            |file: &str| ["verify", file, "--at", VERIFY_AT, "--registry-key", &pinned].map(str::to_owned);
        let answer = |out: Run| -> pb::VerifyCredentialResponse {
            assert!(out.stderr.is_empty(), "{}", out.stderr);
            serde_json::from_str(&out.stdout).expect("JSON output")
        };
        let run = async |url: &str, args: &[String]| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cli(url, &args).await
        };

        // Genuine answers: PASSED with a TRUSTED verdict, FAILED with a NOT_TRUSTED one (the
        // accreditation does not cover EQF 7), FAILED without a verdict (unknown issuer).
        let passed = answer(run(&server, &[&verify(&valid)[..], &["--json".into()]].concat()).await);
        let out = run(&server, &verify(&out_of_scope)).await;
        assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
        let not_trusted = answer(
            run(
                &server,
                &[&verify(&out_of_scope)[..], &["--json".into()]].concat(),
            )
            .await,
        );
        assert_eq!(
            common::decoded(not_trusted.issuer_verdict.as_ref().unwrap()).status,
            pb::TrustStatus::NotTrusted as i32
        );
        let out = run(&server, &verify(&unknown_issuer)).await;
        assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
        // A genuine TRUSTED verdict about Harbour, but at the verification time.
        let harbour_did = fixture["registry"]["providers"]["harbour"]["did"]
            .as_str()
            .unwrap();
        let later = printed_verdict(
            &cli(
                &server,
                &[&asking(harbour_did, "6", VERIFY_AT)[..], &["--json"]].concat(),
            )
            .await,
        );

        let middle = Middle::start(app).await;
        // The genuine answer passes through, and the summary shows what the verdict vouches for.
        middle.answer_verify_credential(passed.clone());
        let out = run(&middle.url, &verify(&valid)).await;
        assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
        let vouched = line(&out.stdout, "issuer verdict:");
        assert!(vouched.contains("TRUSTED for EQF level 6"), "{vouched}");

        // Harbour's PASSED answer for another issuer's credential, pinned key or not.
        let out = run(&middle.url, &verify(&unknown_issuer)).await;
        assert_refused(&out, "not about the credential's issuer");
        let out = run(&middle.url, &verify(&unknown_issuer)[..4]).await;
        assert_refused(&out, "not about the credential's issuer");

        // The unsigned result and checks turned to PASSED over a NOT_TRUSTED verdict.
        let mut flipped = not_trusted.clone();
        flipped.result = pb::CheckResult::Passed as i32;
        for check in &mut flipped.checks {
            check.result = pb::CheckResult::Passed as i32;
        }
        middle.answer_verify_credential(flipped);
        let out = run(&middle.url, &verify(&out_of_scope)).await;
        assert_refused(&out, "signed issuer verdict says NOT_TRUSTED");

        // The PASSED answer with its verdict swapped (for one about another time, or one whose
        // query_hash is another question's, which only the registry key could sign), dropped,
        // or its unsigned fields changed.
        let mut other_hash = common::decoded(passed.issuer_verdict.as_ref().unwrap());
        other_hash.query_hash = common::decoded(&later).query_hash;
        let signer = VerdictSigner::new(RegistryKey::new(common::signed::registry_key()));
        let other_hash = signer.sign(&other_hash).await;
        let tampered = [
            (
                pb::VerifyCredentialResponse {
                    issuer_verdict: Some(other_hash),
                    ..passed.clone()
                },
                "query_hash",
            ),
            (
                pb::VerifyCredentialResponse {
                    issuer_verdict: Some(later),
                    ..passed.clone()
                },
                "not the credential's issuance",
            ),
            (
                pb::VerifyCredentialResponse {
                    issuer_verdict: None,
                    ..passed.clone()
                },
                "carries no signed issuer verdict",
            ),
            (
                pb::VerifyCredentialResponse {
                    issued_at: Some(trust_registry::api::convert::timestamp(at(VERIFY_AT))),
                    ..passed.clone()
                },
                "issuance time",
            ),
            (
                pb::VerifyCredentialResponse {
                    issuer: Some(pb::ProviderSummary {
                        id: northgate_id.clone(),
                        ..passed.issuer.clone().unwrap()
                    }),
                    ..passed.clone()
                },
                "names the issuer",
            ),
        ];
        for (response, why) in tampered {
            middle.answer_verify_credential(response);
            let out = run(&middle.url, &verify(&valid)).await;
            assert_refused(&out, why);
        }
        middle.stop().await;
    }
);

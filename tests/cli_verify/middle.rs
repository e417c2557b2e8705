//! A TrustService in the middle that answers with genuine verdicts the registry signed for
//! other questions: the CLI refuses them.

use super::*;
use crate::both_backends;

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

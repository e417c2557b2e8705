//! `verify FILE`: every check printed, the exit code by the result.

use super::*;
use crate::both_backends;

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

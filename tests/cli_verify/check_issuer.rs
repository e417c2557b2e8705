//! `check-issuer`: the signed verdict summarised, refusals explained.

use super::*;
use crate::both_backends;

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

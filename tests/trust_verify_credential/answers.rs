//! What an answer holds: the registry's own names, a verdict that verifies offline, FAILED or
//! INVALID_ARGUMENT for unreadable input, and validity judged now by default.

use super::*;
use crate::both_backends;

// The issuer the registry reports is its own provider record, whatever the credential claims.
both_backends!(registry_names_win_over_claimed_names, async |app: &TestApp| {
    let fixture = fixture();
    let built = build(app, &fixture).await;
    let case = fixture
        .cases
        .iter()
        .find(|c| c.name == "jws_claimed_name_differs")
        .unwrap();
    let (_, payload, _) = {
        let mut parts = case.credential.split('.');
        (parts.next(), parts.next().unwrap(), parts.next())
    };
    let claimed: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap(),
    )
    .unwrap();
    assert_eq!(claimed["issuer"]["name"], "Totally Legit University");
    let response = verify(app, &case.credential, "AUTO", &fixture.verify_at)
        .await
        .unwrap();
    assert_eq!(response.result, CheckResult::Passed as i32, "{response:?}");
    let issuer = response.issuer.expect("issuer");
    assert_eq!(issuer.id, built.providers["harbour"].id);
    assert_eq!(issuer.country, "IE");
    let names: Vec<&str> = issuer.names.iter().map(|n| n.value.as_str()).collect();
    assert_eq!(names, ["Harbour Test College"]);
    let verdict = common::decoded(&response.issuer_verdict.unwrap());
    assert_eq!(verdict.provider.unwrap().names, issuer.names);
});

// The verdict inside a response is the registry's signed answer at the issuance time; it
// verifies offline with the registry key and with nothing else.
both_backends!(issuer_verdict_verifies_offline, async |app: &TestApp| {
    let fixture = fixture();
    let built = build(app, &fixture).await;
    for (name, status, key) in [
        ("jws_valid", pb::TrustStatus::Trusted, "B"),
        ("jws_old_key_before_rotation", pb::TrustStatus::Trusted, "A"),
        ("jws_old_key_after_rotation", pb::TrustStatus::NotTrusted, "A"),
        (
            "jws_revoked_key_after_revocation",
            pb::TrustStatus::NotTrusted,
            "R",
        ),
    ] {
        let case = fixture.cases.iter().find(|c| c.name == name).unwrap();
        let response = verify(app, &case.credential, "AUTO", &fixture.verify_at)
            .await
            .unwrap();
        let signed = response
            .issuer_verdict
            .unwrap_or_else(|| panic!("{name}: verdict"));
        assert!(
            verify_signed_verdict(&built.registry_public_key, &signed),
            "{name}"
        );
        assert!(
            !verify_signed_verdict(&fixture.keys["A"].public(), &signed),
            "{name}: not with another key"
        );
        assert_eq!(signed.registry_key_id, keys::key_id(&built.registry_public_key));
        let verdict = common::decoded(&signed);
        assert_eq!(verdict.status, status as i32, "{name}: {:?}", verdict.reasons);
        let query = verdict.query.unwrap();
        assert_eq!(
            query.key_id, fixture.keys[key].key_id,
            "{name}: the signing key is in the query"
        );
        assert_eq!(query.at, response.issued_at, "{name}");
        assert_eq!(
            verdict.key.map(|k| k.key_id),
            Some(fixture.keys[key].key_id.clone())
        );
        if status == pb::TrustStatus::Trusted {
            assert_eq!(verdict.accreditations.len(), 1, "{name}");
            assert_eq!(
                query.scope.unwrap().eqf_level,
                Some(6),
                "{name}: the qualification's EQF level is asked"
            );
        }
    }
    let revoked = fixture
        .cases
        .iter()
        .find(|c| c.name == "jws_revoked_key_after_revocation")
        .unwrap();
    let response = verify(app, &revoked.credential, "AUTO", &fixture.verify_at)
        .await
        .unwrap();
    let verdict = common::decoded(&response.issuer_verdict.unwrap());
    assert_eq!(
        verdict.reasons.iter().map(|r| r.code).collect::<Vec<_>>(),
        [pb::TrustReasonCode::KeyRevoked as i32]
    );
});

// Unreadable input never passes: every answer is FAILED with a failed check, or an
// INVALID_ARGUMENT error naming the field.
both_backends!(malformed_input_never_passes, async |app: &TestApp| {
    let fixture = fixture();
    build(app, &fixture).await;
    let valid = &fixture
        .cases
        .iter()
        .find(|c| c.name == "jws_valid")
        .unwrap()
        .credential;
    let (header, rest) = valid.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let inputs = [
        "{}".to_owned(),
        "[]".to_owned(),
        "null".to_owned(),
        "\"a string\"".to_owned(),
        "{\"proof\": {}}".to_owned(),
        "a.b.c".to_owned(),
        "...".to_owned(),
        "\u{feff}{}".to_owned(),
        "\u{0}".to_owned(),
        format!("{header}.{payload}"),
        format!("{header}.{payload}.{signature}.{signature}"),
        format!("{header}.{payload}."),
        format!("{header}..{signature}"),
        format!(".{payload}.{signature}"),
        format!("{header}.{payload}.{signature}="),
        format!("{header}.{payload}.{}", &signature[..signature.len() - 4]),
        format!("{payload}.{header}.{signature}"),
        valid.replace('.', ". "),
    ];
    for input in &inputs {
        for format in ["AUTO", "JWS", "DATA_INTEGRITY"] {
            let response = verify(app, input, format, &fixture.verify_at).await.unwrap();
            assert_eq!(
                response.result,
                CheckResult::Failed as i32,
                "{input:?} as {format}: {response:?}"
            );
            let failed: Vec<i32> = response
                .checks
                .iter()
                .filter(|c| c.result == CheckResult::Failed as i32)
                .map(|c| c.kind)
                .collect();
            assert!(!failed.is_empty(), "{input:?} as {format}: something failed");
            assert!(
                response
                    .checks
                    .iter()
                    .all(|c| c.result != CheckResult::Unspecified as i32),
                "{input:?}: every check has a result"
            );
        }
    }
    for (input, field) in [("", "credential"), ("   \n", "credential")] {
        let status = verify(app, input, "AUTO", &fixture.verify_at).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{input:?}");
        assert!(status.message().starts_with(field), "{}", status.message());
    }
    let status = app
        .trust()
        .verify_credential(pb::VerifyCredentialRequest {
            credential: valid.clone(),
            format: 99,
            at: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("format"), "{}", status.message());
    // Exactly 64 KiB is accepted (and read); one byte more is refused.
    let padded = format!("{valid}{}", " ".repeat(vc::MAX_CREDENTIAL_BYTES - valid.len()));
    let response = verify(app, &padded, "AUTO", &fixture.verify_at).await.unwrap();
    assert_eq!(
        response.result,
        CheckResult::Passed as i32,
        "{:?}",
        response.checks
    );
    let status = verify(app, &format!("{padded} "), "AUTO", &fixture.verify_at)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
});

// Without `at`, validity is judged now: a credential with no validUntil passes, the expired one
// does not, and the detail names the present time.
both_backends!(verification_time_defaults_to_now, async |app: &TestApp| {
    let fixture = fixture();
    build(app, &fixture).await;
    for (name, validity) in [
        ("jws_no_valid_until", CheckResult::Passed),
        ("jws_expired", CheckResult::Failed),
    ] {
        let case = fixture.cases.iter().find(|c| c.name == name).unwrap();
        let before = Timestamp::now();
        let response = app
            .trust()
            .verify_credential(pb::VerifyCredentialRequest {
                credential: case.credential.clone(),
                format: 0,
                at: None,
            })
            .await
            .unwrap()
            .into_inner();
        let after = Timestamp::now();
        let check = response
            .checks
            .iter()
            .find(|c| c.kind == CheckKind::Validity as i32)
            .unwrap();
        assert_eq!(check.result, validity as i32, "{name}: {}", check.detail);
        if validity == CheckResult::Passed {
            let stated = check.detail.strip_prefix("valid at ").expect("valid at <time>");
            let stated = at(stated);
            assert!(
                before <= stated && stated <= after,
                "{name}: {} is now",
                check.detail
            );
        }
    }
});

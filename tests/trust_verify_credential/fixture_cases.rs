//! The fixture itself, and every one of its cases: the overall result, each check's result and
//! words of its detail.

use super::*;
use crate::both_backends;

/// Every way `response` differs from what `case` expects.
fn mismatches(
    case: &Case,
    response: &pb::VerifyCredentialResponse,
    fixture: &Fixture,
    built: &Built,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut say = |text: String| out.push(format!("{}: {text}", case.name));
    let expected = case.result.as_deref().expect("result");
    if response.result != check_result(expected) as i32 {
        say(format!(
            "result {} (expected {expected})",
            result_name(response.result)
        ));
    }
    let kinds: Vec<i32> = response.checks.iter().map(|c| c.kind).collect();
    let all: Vec<i32> = (1..=6).collect();
    if kinds != all {
        say(format!("checks are {kinds:?}, not one of each kind in order"));
    }
    if case.checks.len() != 6 {
        say(format!("the fixture states {} checks, not 6", case.checks.len()));
    }
    for (kind, want) in &case.checks {
        let Some(check) = response.checks.iter().find(|c| c.kind == check_kind(kind) as i32) else {
            say(format!("no {kind} check"));
            continue;
        };
        if check.result != check_result(want) as i32 {
            say(format!(
                "{kind} {} (expected {want}): {}",
                result_name(check.result),
                check.detail
            ));
        }
        if check.detail.trim().is_empty() {
            say(format!("{kind} has no detail"));
        }
        for word in case.details.get(kind).into_iter().flatten() {
            if !check.detail.contains(word.as_str()) {
                say(format!("{kind} detail {:?} lacks {word:?}", check.detail));
            }
        }
    }
    if let Some(key) = &case.signing_key {
        let multibase = &fixture.keys[key].public_key_multibase;
        let signature = response
            .checks
            .iter()
            .find(|c| c.kind == CheckKind::Signature as i32);
        if !signature.is_some_and(|c| c.detail.contains(multibase.as_str())) {
            say(format!(
                "SIGNATURE does not name key {key} ({multibase}): {signature:?}"
            ));
        }
    }
    // FORMAT failed: nothing else may pass, and nothing is reported about an issuer.
    let format_failed = case.checks.get("FORMAT").map(String::as_str) == Some("FAILED");
    if format_failed {
        if response.issuer.is_some() || response.issuer_verdict.is_some() {
            say("an unreadable credential resolved an issuer".into());
        }
    } else if response.issued_at.is_none() {
        say("issued_at is unset".into());
    }
    // The issuer is the registry's provider, with the registry's names and a verdict about it.
    match &case.issuer {
        None => {
            if let Some(issuer) = &response.issuer {
                say(format!(
                    "resolved an issuer ({}) that should be unknown",
                    issuer.id
                ));
            }
            if response.issuer_verdict.is_some() {
                say("a verdict about an unknown issuer".into());
            }
        }
        Some(name) => {
            let provider = &built.providers[name];
            match &response.issuer {
                None => say(format!("issuer unresolved (expected {})", provider.id)),
                Some(issuer) => {
                    if issuer.id != provider.id {
                        say(format!("issuer {} (expected {})", issuer.id, provider.id));
                    }
                    let names: Vec<&str> = issuer.names.iter().map(|n| n.value.as_str()).collect();
                    let registered = fixture.registry.providers[name].name.as_str();
                    if names != [registered] {
                        say(format!(
                            "issuer names {names:?} (expected the registry's {registered:?})"
                        ));
                    }
                }
            }
            match &response.issuer_verdict {
                None => say("no issuer_verdict".into()),
                Some(signed) => {
                    if !verify_signed_verdict(&built.registry_public_key, signed) {
                        say("issuer_verdict signature does not verify offline".into());
                    }
                    let mut flipped = signed.clone();
                    if let Some(last) = flipped.verdict_bytes.last_mut() {
                        *last ^= 1;
                    }
                    if verify_signed_verdict(&built.registry_public_key, &flipped) {
                        say("issuer_verdict signature verifies over altered bytes".into());
                    }
                    let decoded = <pb::Verdict as prost::Message>::decode(signed.verdict_bytes.as_slice());
                    if decoded.is_err() {
                        say("verdict_bytes do not decode as a verdict".into());
                    }
                    if let Ok(verdict) = &decoded {
                        let query = verdict.query.as_ref();
                        let asked = query.and_then(|q| q.issuer.as_ref());
                        // About the issuer as the credential names it (these name DIDs).
                        let named = vc::parse(&case.credential).map(|c| c.issuer_id);
                        let expected = named.clone().ok().map(pb::issuer_query::Issuer::Did);
                        if named.as_ref().is_ok_and(|id| !id.starts_with("did:"))
                            || asked != expected.as_ref()
                        {
                            say(format!(
                                "verdict asked about {asked:?}, the credential names {named:?}"
                            ));
                        }
                        if query.and_then(|q| q.at) != response.issued_at
                            || verdict.evaluated_at != response.issued_at
                        {
                            say("the verdict is not at the credential's issuance".into());
                        }
                        let trusted = verdict.status == pb::TrustStatus::Trusted as i32;
                        let accreditation = case.checks.get("ISSUER_ACCREDITATION").map(String::as_str);
                        if trusted != (accreditation == Some("PASSED")) {
                            say(format!(
                                "verdict status {} vs ISSUER_ACCREDITATION {accreditation:?}",
                                verdict.status
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn fixture_keys_agree_with_the_registry_derivation() {
    let fixture = fixture();
    assert!(fixture.keys.len() >= 5);
    for (name, key) in &fixture.keys {
        let public = key.signing_key().verifying_key().to_bytes();
        assert_eq!(public, key.public(), "key {name}: public key from seed");
        assert_eq!(keys::multibase(&public), key.public_key_multibase, "key {name}");
        assert_eq!(keys::did_key(&public), key.did_key, "key {name}");
        assert_eq!(keys::key_id(&public), key.key_id, "key {name}");
    }
    let a = &fixture.keys["A"];
    assert_eq!(a.seed_hex, "01".repeat(32), "key A is the seed bytes([1] * 32)");
}

/// The published eddsa-jcs-2022 vector: the registry's own parsing reproduces the published
/// hash data (SHA-256 of the JCS proof configuration, then of the JCS document) and signature,
/// and the signature verifies with the published key.
#[test]
fn w3c_vector_hash_data_matches_the_published_value() {
    let fixture = fixture();
    let case = fixture
        .cases
        .iter()
        .find(|c| c.name == "w3c_eddsa_jcs_2022_vector")
        .expect("the W3C vector is a case");
    let parsed = vc::parse(&case.credential).expect("the W3C vector parses");
    let Securing::DataIntegrity {
        hash_data,
        signature,
        verification_method,
    } = &parsed.securing
    else {
        panic!("a Data Integrity proof: {:?}", parsed.securing);
    };
    assert_eq!(to_hex(hash_data), fixture.w3c_vector.hash_data_hex);
    assert_eq!(to_hex(signature), fixture.w3c_vector.signature_hex);
    assert!(verification_method.contains(&fixture.w3c_vector.public_key_multibase));
    let public = keys::parse_multibase("key", &fixture.w3c_vector.public_key_multibase).unwrap();
    assert_eq!(parsed.did_key(), Some(public));
    assert!(parsed.signature_verifies(&public));
    assert!(!parsed.signature_verifies(&fixture.keys["A"].public()));
    assert_eq!(parsed.issued_at, at("2023-01-01T00:00:00Z"));
}

/// The fixture is complete: every case the tests rely on is there, each with an expectation.
#[test]
fn fixture_has_every_case() {
    let fixture = fixture();
    let names: Vec<&str> = fixture.cases.iter().map(|c| c.name.as_str()).collect();
    for required in [
        "jws_valid",
        "di_valid",
        "vc_jwt_valid",
        "jws_tampered_payload",
        "di_tampered_document",
        "jws_wrong_key",
        "jws_alg_none",
        "jws_alg_hs256",
        "jws_expired",
        "jws_not_yet_valid",
        "jws_old_key_before_rotation",
        "jws_old_key_after_rotation",
        "jws_revoked_key_before_revocation",
        "jws_revoked_key_after_revocation",
        "jws_unknown_issuer",
        "jws_claimed_name_differs",
        "jws_other_providers_qualification",
        "jws_eqf_out_of_scope",
        "di_json_bomb",
        "jws_json_bomb",
        "oversized",
        "w3c_eddsa_jcs_2022_vector",
    ] {
        assert!(names.contains(&required), "the fixture has no case {required}");
    }
    for case in &fixture.cases {
        assert!(
            case.error.is_some() != case.result.is_some(),
            "{}: either an error or a result",
            case.name
        );
    }
    let passing = fixture
        .cases
        .iter()
        .filter(|c| c.result.as_deref() == Some("PASSED"))
        .count();
    let failing = fixture
        .cases
        .iter()
        .filter(|c| c.result.as_deref() == Some("FAILED"))
        .count();
    assert!(
        passing >= 8 && failing >= 25,
        "{passing} passing, {failing} failing cases"
    );
    assert!(fixture.qualification_urn.ends_with(':'));
}

both_backends!(every_fixture_case, async |app: &TestApp| {
    let fixture = fixture();
    let built = build(app, &fixture).await;
    let mut failures = Vec::new();
    for case in &fixture.cases {
        let answer = verify(app, &case.credential, &case.format, &fixture.verify_at).await;
        match (&case.error, answer) {
            (Some(expected), Err(status)) => {
                let code = format!("{:?}", status.code());
                if code != expected.code {
                    failures.push(format!("{}: code {code} (expected {})", case.name, expected.code));
                }
                let fields: Vec<String> = status
                    .get_details_bad_request()
                    .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
                    .unwrap_or_default();
                if fields != [expected.field.clone()] {
                    failures.push(format!(
                        "{}: violations name {fields:?} (expected {})",
                        case.name, expected.field
                    ));
                }
            }
            (Some(_), Ok(response)) => {
                failures.push(format!("{}: answered {response:?}, expected an error", case.name))
            }
            (None, Err(status)) => failures.push(format!("{}: error {status:?}", case.name)),
            (None, Ok(response)) => failures.extend(mismatches(case, &response, &fixture, &built)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
});

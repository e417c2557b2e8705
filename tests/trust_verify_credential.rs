//! `TrustService.VerifyCredential` against credentials made by an independent implementation:
//! `tests/fixtures/credentials.json`, written by `tests/fixtures/make_credentials.py` (PyJWT for
//! compact JWS, eddsa-jcs-2022 implemented in Python from the W3C specification, and the
//! published W3C test vector). Every case states the overall result, each check's result and
//! words of its detail; the registry it needs is described in the fixture and built here, on
//! SQLite and PostgreSQL.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::TestApp;
use common::builders::at;
use common::signed::{envelope, header};
use ed25519_dalek::SigningKey;
use serde::Deserialize;
use tonic::Code;
use tonic_types::StatusExt;
use trust_registry::api::convert::timestamp;
use trust_registry::api::signing::verify_signed_verdict;
use trust_registry::domain::credential::{self as vc, Securing};
use trust_registry::domain::enums::IdentifierScheme;
use trust_registry::domain::model::Provider;
use trust_registry::domain::{Timestamp, keys};
use trust_registry::pb::{self, CheckKind, CheckResult};

const FIXTURE: &str = include_str!("fixtures/credentials.json");

#[derive(Debug, Deserialize)]
struct Fixture {
    verify_at: String,
    qualification_urn: String,
    keys: BTreeMap<String, FixtureKey>,
    registry: Registry,
    w3c_vector: W3cVector,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct FixtureKey {
    seed_hex: String,
    public_key_hex: String,
    public_key_multibase: String,
    did_key: String,
    key_id: String,
}

#[derive(Debug, Deserialize)]
struct Registry {
    agency: Named,
    accreditation: AccreditationSpec,
    providers: BTreeMap<String, ProviderSpec>,
}

#[derive(Debug, Deserialize)]
struct Named {
    name: String,
    country: String,
}

#[derive(Debug, Deserialize)]
struct AccreditationSpec {
    valid_from: String,
    valid_until: String,
    eqf_levels: Vec<u8>,
}

#[derive(Debug, Deserialize)]
struct ProviderSpec {
    name: String,
    did: String,
    key: String,
    keys_valid_from: String,
    rotated_to: Option<String>,
    rotate_at: Option<String>,
    revoked_at: Option<String>,
    qualifications: Vec<QualificationSpec>,
}

#[derive(Debug, Deserialize)]
struct QualificationSpec {
    id: String,
    title: String,
    framework: String,
    level: String,
    eqf_level: u8,
}

#[derive(Debug, Deserialize)]
struct W3cVector {
    public_key_multibase: String,
    signature_hex: String,
    hash_data_hex: String,
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    credential: String,
    format: String,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    checks: BTreeMap<String, String>,
    #[serde(default)]
    details: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    signing_key: Option<String>,
    #[serde(default)]
    error: Option<ExpectedError>,
}

#[derive(Debug, Deserialize)]
struct ExpectedError {
    code: String,
    field: String,
}

fn fixture() -> Fixture {
    serde_json::from_str(FIXTURE).expect("tests/fixtures/credentials.json parses")
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "hex of even length: {text}");
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex digit"))
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl FixtureKey {
    fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(&hex(&self.seed_hex).try_into().expect("32-byte seed"))
    }
    fn public(&self) -> [u8; 32] {
        hex(&self.public_key_hex).try_into().expect("32-byte public key")
    }
}

fn check_kind(name: &str) -> CheckKind {
    CheckKind::from_str_name(&format!("CHECK_KIND_{name}")).unwrap_or_else(|| panic!("check kind {name}"))
}

fn check_result(name: &str) -> CheckResult {
    CheckResult::from_str_name(&format!("CHECK_RESULT_{name}"))
        .unwrap_or_else(|| panic!("check result {name}"))
}

fn result_name(value: i32) -> &'static str {
    CheckResult::try_from(value)
        .map(|r| r.as_str_name().trim_start_matches("CHECK_RESULT_"))
        .unwrap_or("?")
}

/// What the test built, by the fixture's provider names.
struct Built {
    providers: HashMap<String, Provider>,
    registry_public_key: [u8; 32],
}

/// Builds the registry the fixture describes: one agency; each provider with its DID as a
/// registered identifier and its first key; an accreditation with the EQF scope; qualifications
/// with the fixture's fixed ids; then the key rotation and the revocation as signed writes, at
/// the fixture's fixed instants.
async fn build(app: &TestApp, fixture: &Fixture) -> Built {
    let registry = &fixture.registry;
    let agency = app.agency(&registry.agency.name, &registry.agency.country).await;
    let mut providers = HashMap::new();
    for (name, spec) in &registry.providers {
        let key = &fixture.keys[&spec.key];
        let provider = app
            .provider(&spec.name)
            .identifier(IdentifierScheme::Did, &spec.did)
            .key(key.public(), at(&spec.keys_valid_from))
            .insert()
            .await;
        app.accreditation(&agency, &provider)
            .valid(
                &registry.accreditation.valid_from,
                Some(&registry.accreditation.valid_until),
            )
            .eqf_levels(&registry.accreditation.eqf_levels)
            .insert()
            .await;
        for q in &spec.qualifications {
            let mut builder = app
                .qualification(&provider, &q.title)
                .level(&q.framework, &q.level)
                .await;
            builder.qualification.id = q.id.clone();
            let inserted = builder.insert().await;
            assert_eq!(
                inserted.level.as_ref().and_then(|l| l.eqf_level),
                Some(q.eqf_level),
                "{} {} is EQF {} as the fixture says",
                q.framework,
                q.level,
                q.eqf_level
            );
        }
        if let (Some(new), Some(rotate_at)) = (&spec.rotated_to, &spec.rotate_at) {
            let command = pb::RotateKeyCommand {
                header: header(),
                actor_id: String::new(),
                old_key_id: key.key_id.clone(),
                new_key: Some(pb::KeySpec {
                    public_key: fixture.keys[new].public().to_vec(),
                    valid_from: None,
                    valid_until: None,
                }),
                rotate_at: Some(timestamp(at(rotate_at))),
            };
            app.keys()
                .rotate_key(pb::RotateKeyRequest {
                    envelope: envelope(&key.signing_key(), "KeyService", "RotateKey", &command),
                })
                .await
                .expect("RotateKey at the fixture's instant");
        }
        if let Some(revoked_at) = &spec.revoked_at {
            let command = pb::RevokeKeyCommand {
                header: header(),
                actor_id: String::new(),
                key_id: key.key_id.clone(),
                revoked_at: Some(timestamp(at(revoked_at))),
                reason: "private key published by mistake".into(),
            };
            app.keys()
                .revoke_key(pb::RevokeKeyRequest {
                    envelope: envelope(&key.signing_key(), "KeyService", "RevokeKey", &command),
                })
                .await
                .expect("RevokeKey at the fixture's instant");
        }
        providers.insert(name.clone(), provider);
    }

    // The key history is what the fixture assumes.
    let harbour = &providers["harbour"];
    let keys = app
        .catalogue
        .clone()
        .get_provider(pb::GetProviderRequest {
            id: harbour.id.clone(),
        })
        .await
        .expect("GetProvider")
        .into_inner()
        .provider
        .expect("provider")
        .keys;
    let rotate_at = registry.providers["harbour"]
        .rotate_at
        .as_deref()
        .expect("rotation");
    assert_eq!(keys.len(), 2, "key A and the rotated-in key B");
    assert_eq!(keys[0].key_id, fixture.keys["A"].key_id);
    assert_eq!(keys[0].valid_until, Some(timestamp(at(rotate_at))));
    assert_eq!(keys[1].key_id, fixture.keys["B"].key_id);
    assert_eq!(keys[1].valid_from, Some(timestamp(at(rotate_at))));

    let registry_key = app
        .trust()
        .get_registry_key(pb::GetRegistryKeyRequest {})
        .await
        .expect("GetRegistryKey")
        .into_inner();
    Built {
        providers,
        registry_public_key: registry_key.public_key.try_into().expect("32-byte registry key"),
    }
}

async fn verify(
    app: &TestApp,
    credential: &str,
    format: &str,
    at_time: &str,
) -> Result<pb::VerifyCredentialResponse, tonic::Status> {
    let format = pb::CredentialFormat::from_str_name(&format!("CREDENTIAL_FORMAT_{format}"))
        .unwrap_or_else(|| panic!("format {format}"));
    app.trust()
        .verify_credential(pb::VerifyCredentialRequest {
            credential: credential.to_owned(),
            format: format as i32,
            at: Some(timestamp(at(at_time))),
        })
        .await
        .map(tonic::Response::into_inner)
}

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

/// The checks of a response, by kind: (result, detail).
fn checks_of(response: &pb::VerifyCredentialResponse) -> HashMap<i32, (i32, String)> {
    response
        .checks
        .iter()
        .map(|c| (c.kind, (c.result, c.detail.clone())))
        .collect()
}

// The issuer a credential names must have been the provider's at issuance, as CheckIssuer asks
// (trust rule 4): a DID bound to the provider until 2023 does not vouch for a credential issued
// with it in 2024, and a credential naming a did:key as its issuer is that key's, not signed by
// another key of the same provider. Controls: the same credentials while the binding and the
// key held pass.
both_backends!(issuer_as_named_must_hold_at_issuance, async |app: &TestApp| {
    let old = SigningKey::from_bytes(&[71; 32]);
    let new = SigningKey::from_bytes(&[72; 32]);
    let agency = app.agency("Identifier Test Agency", "IE").await;
    let mut old_key = trust_registry::domain::model::ActorKey::new(
        old.verifying_key().to_bytes(),
        at("2020-01-01T00:00:00Z"),
    );
    old_key.valid_until = Some(at("2024-09-01T00:00:00Z"));
    let provider = app
        .provider("Lapsed Domain College")
        .identifier_valid(
            IdentifierScheme::Did,
            "did:web:lapsed-domain.example",
            Some("2020-01-01T00:00:00Z"),
            Some("2023-01-01T00:00:00Z"),
        )
        .actor_key(old_key)
        .key(new.verifying_key().to_bytes(), at("2024-09-01T00:00:00Z"))
        .insert()
        .await;
    app.accreditation(&agency, &provider)
        .valid("2020-01-01T00:00:00Z", Some("2030-01-01T00:00:00Z"))
        .insert()
        .await;
    let credential = |signer: &SigningKey, kid: Option<String>, issuer: &str, valid_from: &str| {
        let mut header = serde_json::json!({"alg": "EdDSA", "typ": "vc+jwt"});
        if let Some(kid) = kid {
            header["kid"] = kid.into();
        }
        let payload = serde_json::json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": issuer,
            "validFrom": valid_from,
            "credentialSubject": {"id": "did:example:learner"},
        });
        vc::sign_jws(signer, &header, &payload)
    };
    let did_key = |key: &SigningKey| keys::did_key(&key.verifying_key().to_bytes());
    let kid = |key: &SigningKey| Some(format!("{}#key-1", did_key(key)));
    let web = "did:web:lapsed-domain.example";
    let cases = [
        (
            "DID while bound",
            credential(&old, None, web, "2022-06-01T00:00:00Z"),
            true,
            "",
        ),
        (
            "DID after its binding ended",
            credential(&old, None, web, "2024-06-01T00:00:00Z"),
            false,
            "identifier",
        ),
        (
            "did:key issuer, its own key",
            credential(&new, kid(&new), &did_key(&new), "2024-10-01T00:00:00Z"),
            true,
            "",
        ),
        (
            "did:key issuer, signed by another key of the provider",
            credential(&new, kid(&new), &did_key(&old), "2024-10-01T00:00:00Z"),
            false,
            "key",
        ),
    ];
    for (what, text, passes, reason) in cases {
        let response = verify(app, &text, "AUTO", "2025-06-01T00:00:00Z")
            .await
            .expect(what);
        let checks = checks_of(&response);
        assert_eq!(
            checks[&(CheckKind::Signature as i32)].0,
            CheckResult::Passed as i32,
            "{what}: {checks:?}"
        );
        let (accreditation, detail) = &checks[&(CheckKind::IssuerAccreditation as i32)];
        let verdict = common::decoded(response.issuer_verdict.as_ref().expect(what));
        if passes {
            assert_eq!(response.result, CheckResult::Passed as i32, "{what}: {checks:?}");
            assert_eq!(verdict.status, pb::TrustStatus::Trusted as i32, "{what}");
        } else {
            assert_eq!(response.result, CheckResult::Failed as i32, "{what}: {checks:?}");
            assert_eq!(*accreditation, CheckResult::Failed as i32, "{what}: {checks:?}");
            assert!(detail.to_lowercase().contains(reason), "{what}: {detail}");
            assert_eq!(verdict.status, pb::TrustStatus::NotTrusted as i32, "{what}");
        }
        assert_eq!(response.issuer.expect(what).id, provider.id, "{what}");
    }
});

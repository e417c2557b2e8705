//! `TrustService.VerifyCredential` against credentials made by an independent implementation:
//! `tests/fixtures/credentials.json`, written by `tests/fixtures/make_credentials.py` (PyJWT for
//! compact JWS, eddsa-jcs-2022 implemented in Python from the W3C specification, and the
//! published W3C test vector). Every case states the overall result, each check's result and
//! words of its detail; the registry it needs is described in the fixture and built here, on
//! SQLite and PostgreSQL.

#[path = "../common/mod.rs"]
mod common;

mod answers;
mod fixture_cases;
mod issuance;

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

const FIXTURE: &str = include_str!("../fixtures/credentials.json");

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

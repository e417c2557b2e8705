//! CheckIssuer and CheckIssuers on SQLite and PostgreSQL, through a real server:
//! - `accreditations`: validity (the DEQAR six-year rule included), status histories,
//!   decisions, scopes and agency admission, each at and around its boundary instants;
//! - `issuers`: signing keys (rotated, revoked, of another provider), issuers named by registry
//!   id, DID, public key or external identifier, and unknown issuers;
//! - `input`: batches, refused queries, the query hash;
//! - here: the time a verdict is about.
//!
//! Every verdict is checked offline: its signature verifies with the key GetRegistryKey
//! publishes, over `verdict_bytes`, and those bytes (the answer's only copy of the verdict)
//! decode to it.

mod common;

#[path = "trust_check_issuer/accreditations.rs"]
mod accreditations;
#[path = "trust_check_issuer/input.rs"]
mod input;
#[path = "trust_check_issuer/issuers.rs"]
mod issuers;

use common::TestApp;
use common::builders::at;
use common::signed::*;
use ed25519_dalek::SigningKey;
use pb::TrustReasonCode as R;
use pb::TrustStatus::{NotTrusted, Trusted, UnknownIssuer};
use pb::issuer_query::Issuer;
use prost::Message;
use trust_registry::api::convert::timestamp;
use trust_registry::api::signing::verify_signed_verdict;
use trust_registry::domain::enums::{AccreditationStatus as S, Decision, IdentifierScheme};
use trust_registry::domain::ids::IdKind;
use trust_registry::domain::model::Provider;
use trust_registry::domain::{Timestamp, keys};
use trust_registry::pb;

// ---------------------------------------------------------------------------------------------
// Queries

pub fn by_provider(provider: &Provider) -> pb::IssuerQuery {
    issuer(Issuer::ProviderId(provider.id.clone()))
}

pub fn issuer(issuer: Issuer) -> pb::IssuerQuery {
    pb::IssuerQuery {
        issuer: Some(issuer),
        ..Default::default()
    }
}

pub fn by_did(did: &str) -> pb::IssuerQuery {
    issuer(Issuer::Did(did.into()))
}

pub fn by_public_key(key: &SigningKey) -> pb::IssuerQuery {
    issuer(Issuer::PublicKeyMultibase(keys::multibase(&public(key))))
}

pub fn by_external(scheme: pb::IdentifierScheme, value: &str) -> pb::IssuerQuery {
    issuer(Issuer::ExternalIdentifier(pb::ExternalIdentifier {
        scheme: scheme as i32,
        value: value.into(),
        valid_from: None,
        valid_until: None,
    }))
}

pub fn public(key: &SigningKey) -> [u8; 32] {
    key.verifying_key().to_bytes()
}

pub fn key_id_of(key: &SigningKey) -> String {
    keys::key_id(&public(key))
}

/// One microsecond before `text`.
pub fn just_before(text: &str) -> Timestamp {
    Timestamp::from_micros(at(text).as_micros() - 1)
}

pub fn scope(
    eqf_level: Option<u32>,
    credential_type: &str,
    field: &str,
    jurisdiction: &str,
) -> pb::TrustScope {
    pb::TrustScope {
        credential_type: credential_type.into(),
        eqf_level,
        field_of_study: field.into(),
        jurisdiction: jurisdiction.into(),
    }
}

/// Fluent settings of a query.
pub trait Ask: Sized {
    fn at(self, text: &str) -> Self;
    fn at_instant(self, t: Timestamp) -> Self;
    fn key_id(self, key_id: &str) -> Self;
    fn scope(self, scope: pb::TrustScope) -> Self;
}

impl Ask for pb::IssuerQuery {
    fn at(self, text: &str) -> Self {
        self.at_instant(at(text))
    }
    fn at_instant(mut self, t: Timestamp) -> Self {
        self.at = Some(timestamp(t));
        self
    }
    fn key_id(mut self, key_id: &str) -> Self {
        self.key_id = key_id.into();
        self
    }
    fn scope(mut self, scope: pb::TrustScope) -> Self {
        self.scope = Some(scope);
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Verdicts

/// The verdict key as GetRegistryKey publishes it: public key and key id.
pub struct RegistryKey {
    pub public_key: [u8; 32],
    pub key_id: String,
}

pub async fn registry_key_of(app: &TestApp) -> RegistryKey {
    let answer = app
        .trust()
        .get_registry_key(pb::GetRegistryKeyRequest {})
        .await
        .expect("GetRegistryKey")
        .into_inner();
    let public_key: [u8; 32] = answer.public_key.as_slice().try_into().expect("a 32-byte key");
    assert_eq!(answer.key_id, keys::key_id(&public_key));
    assert_eq!(answer.public_key_multibase, keys::multibase(&public_key));
    RegistryKey {
        public_key,
        key_id: answer.key_id,
    }
}

/// Checks a signed verdict offline and returns its verdict: the signature verifies with the
/// registry's public key over `verdict_bytes` (and not over altered bytes, nor as another
/// verdict's signature), and the bytes decode to a verdict.
#[track_caller]
pub fn verified(signed: pb::SignedVerdict, registry: &RegistryKey) -> pb::Verdict {
    assert_eq!(signed.registry_key_id, registry.key_id);
    assert!(
        verify_signed_verdict(&registry.public_key, &signed),
        "the verdict signature verifies with the registry key"
    );
    let mut altered = signed.clone();
    let last = altered.verdict_bytes.len() - 1;
    altered.verdict_bytes[last] ^= 0x01;
    assert!(!verify_signed_verdict(&registry.public_key, &altered));
    let verdict = pb::Verdict::decode(signed.verdict_bytes.as_slice()).expect("verdict_bytes decode");
    assert_eq!(verdict.blinding.len(), 16, "16 random blinding bytes");
    verdict
}

/// What every verdict to `query` asked between `before` and `after` must satisfy: it echoes the
/// query; it is about the time asked (or the time it was issued, when none was); a trusted
/// issuer has no reason against it and an accreditation in force; an unknown issuer has nothing
/// else.
#[track_caller]
pub fn consistent(query: &pb::IssuerQuery, v: &pb::Verdict, before: Timestamp, after: Timestamp) {
    assert_eq!(v.query.as_ref(), Some(query), "the verdict echoes the query");
    assert_eq!(v.query_hash.len(), 64);
    let issued = instant!(v.issued_at).expect("issued_at");
    assert!(before <= issued && issued <= after, "issued now: {issued:?}");
    match &query.at {
        Some(asked) => {
            assert_eq!(v.requested_at.as_ref(), Some(asked));
            assert_eq!(v.evaluated_at.as_ref(), Some(asked));
        }
        None => {
            assert_eq!(v.requested_at, None, "no time was asked");
            assert_eq!(instant!(v.evaluated_at), Some(issued), "evaluated when issued");
        }
    }
    match v.status() {
        Trusted => {
            assert!(v.reasons.is_empty(), "{v:#?}");
            assert!(!v.accreditations.is_empty(), "{v:#?}");
            assert!(v.provider.is_some());
        }
        NotTrusted => {
            assert!(!v.reasons.is_empty(), "{v:#?}");
            assert!(v.provider.is_some());
        }
        UnknownIssuer => {
            assert_eq!(codes(v), vec![R::UnknownIssuer]);
            assert_eq!(v.provider, None);
            assert!(v.accreditations.is_empty());
            assert_eq!(v.key, None);
            assert_eq!(v.next_update, None);
        }
        other => panic!("status {other:?}: {v:#?}"),
    }
    if let Some(next) = instant!(v.next_update) {
        assert!(next > instant!(v.evaluated_at).unwrap(), "next_update is after T");
    }
}

/// Asks CheckIssuer, checks the verdict offline and for consistency, and returns it.
pub async fn check(app: &TestApp, query: pb::IssuerQuery) -> pb::Verdict {
    let registry = registry_key_of(app).await;
    let before = Timestamp::now();
    let signed = app
        .trust()
        .check_issuer(pb::CheckIssuerRequest {
            query: Some(query.clone()),
        })
        .await
        .unwrap_or_else(|status| panic!("CheckIssuer {query:?}: {status:?}"))
        .into_inner()
        .verdict
        .expect("a signed verdict");
    let after = Timestamp::now();
    let verdict = verified(signed, &registry);
    consistent(&query, &verdict, before, after);
    verdict
}

pub fn codes(v: &pb::Verdict) -> Vec<R> {
    v.reasons.iter().map(|r| r.code()).collect()
}

/// Asserts the status and the reason codes, in order.
#[track_caller]
pub fn expect(v: &pb::Verdict, status: pb::TrustStatus, reasons: &[R]) {
    assert_eq!((v.status(), codes(v)), (status, reasons.to_vec()), "{v:#?}");
}

/// Asserts NOT_TRUSTED with these reasons about these accreditations, in any order.
#[track_caller]
pub fn expect_about(v: &pb::Verdict, reasons: &[(R, &str)]) {
    let mut got: Vec<(R, String)> = v
        .reasons
        .iter()
        .map(|r| (r.code(), r.accreditation_id.clone()))
        .collect();
    let mut want: Vec<(R, String)> = reasons.iter().map(|(c, id)| (*c, id.to_string())).collect();
    got.sort_by_key(|(c, id)| (*c as i32, id.clone()));
    want.sort_by_key(|(c, id)| (*c as i32, id.clone()));
    assert_eq!((v.status(), got), (NotTrusted, want), "{v:#?}");
    assert!(
        v.reasons.iter().all(|r| !r.message.is_empty()),
        "every reason says why"
    );
}

/// The accreditations a verdict lists as in force.
pub fn listed(v: &pb::Verdict) -> Vec<&str> {
    v.accreditations
        .iter()
        .map(|a| a.accreditation_id.as_str())
        .collect()
}

pub fn next_update(v: &pb::Verdict) -> Option<Timestamp> {
    instant!(v.next_update)
}

/// Asserts the key status of a verdict and returns it.
#[track_caller]
pub fn expect_key<'v>(v: &'v pb::Verdict, key_id: &str, state: pb::KeyState) -> &'v pb::KeyStatus {
    let key = v.key.as_ref().unwrap_or_else(|| panic!("no key status: {v:#?}"));
    assert_eq!((key.key_id.as_str(), key.state()), (key_id, state), "{v:#?}");
    key
}

pub fn resolved(v: &pb::Verdict) -> &str {
    v.provider.as_ref().map(|p| p.id.as_str()).unwrap_or("")
}

// ---------------------------------------------------------------------------------------------
// Scope

const MICRO: &str = "http://data.europa.eu/snb/credential/e34929035b";
const OTHER_TYPE: &str = "http://data.europa.eu/snb/credential/other";

fn isced(code: &str) -> String {
    format!("http://data.europa.eu/snb/isced-f/{code}")
}

// ---------------------------------------------------------------------------------------------
// The time a verdict is about

both_backends!(evaluated_at_is_the_time_asked_or_now, async |app: &TestApp| {
    let agency = app.agency("Harbour Quality Agency", "IE").await;
    let provider = app.provider("Harbour College").insert().await;
    app.accreditation(&agency, &provider)
        .valid("2021-01-01T00:00:00Z", Some("2099-01-01T00:00:00Z"))
        .insert()
        .await;

    // Unset: now, and no requested time.
    let before = Timestamp::now();
    let v = check(app, by_provider(&provider)).await;
    let after = Timestamp::now();
    expect(&v, Trusted, &[]);
    assert_eq!(v.requested_at, None);
    let evaluated = instant!(v.evaluated_at).unwrap();
    assert!(before <= evaluated && evaluated <= after, "{evaluated:?} is now");
    assert_eq!(v.evaluated_at, v.issued_at);
    assert_eq!(next_update(&v), Some(at("2099-01-01T00:00:00Z")));

    // Set: both equal to it, to the microsecond, while issued_at is now.
    for t in [
        at("2024-05-01T12:30:45.123456Z"),
        at("2021-01-01T00:00:00Z"),
        at("2019-01-01T00:00:00Z"),
    ] {
        let v = check(app, by_provider(&provider).at_instant(t)).await;
        assert_eq!(instant!(v.requested_at), Some(t));
        assert_eq!(instant!(v.evaluated_at), Some(t));
        let issued = instant!(v.issued_at).unwrap();
        assert!(issued >= before && issued != t);
    }
    let v = check(app, by_provider(&provider).at("2019-01-01T00:00:00Z")).await;
    expect(&v, NotTrusted, &[R::AgencyNotAdmitted]);
});

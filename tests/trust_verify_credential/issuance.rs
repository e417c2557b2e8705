//! The issuer a credential names must have been the provider's at issuance (trust rule 4).

use super::*;
use crate::both_backends;

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

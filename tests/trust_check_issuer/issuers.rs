//! The issuer side of the rule: signing keys, identifiers, unknown issuers.

use super::*;
use trust_registry::domain::model::ActorKey;

use crate::{both_backends, instant};

// ---------------------------------------------------------------------------------------------
// Keys

/// Signs `command` with `signer` for KeyService/`method` and sends it.
async fn key_write(app: &TestApp, signer: &SigningKey, method: &str, command: impl prost::Message) {
    let envelope = envelope(signer, "KeyService", method, &command);
    let mut client = app.keys();
    let result = match method {
        "RotateKey" => client
            .rotate_key(pb::RotateKeyRequest { envelope })
            .await
            .map(drop),
        "AddKey" => client.add_key(pb::AddKeyRequest { envelope }).await.map(drop),
        "RevokeKey" => client
            .revoke_key(pb::RevokeKeyRequest { envelope })
            .await
            .map(drop),
        _ => unreachable!(),
    };
    result.unwrap_or_else(|status| panic!("{method}: {status:?}"));
}

both_backends!(
    signing_keys_bound_valid_rotated_and_revoked,
    async |app: &TestApp| {
        let (agency_key, p1, p2, p3, q1) = (key("agency"), key("p1"), key("p2"), key("p3"), key("q1"));
        let agency_id = app
            .admit_agency("Harbour Quality Agency", "IE", &agency_key)
            .await;
        let provider_id = app
            .register_provider(&agency_key, "Harbour College", "IE", &p1)
            .await;
        let other_id = app
            .register_provider(&agency_key, "Other College", "IE", &q1)
            .await;
        let record = pb::RecordAccreditationCommand {
            header: header(),
            provider_id: provider_id.clone(),
            kind: pb::AccreditationKind::InstitutionalReview as i32,
            decision: pb::Decision::Positive as i32,
            scope: Some(pb::AccreditationScope::default()),
            valid_from: Some(timestamp(at("2021-01-01T00:00:00Z"))),
            valid_until: Some(timestamp(at("2031-01-01T00:00:00Z"))),
            ..Default::default()
        };
        let accreditation = app.record_accreditation(&agency_key, &record).await;
        assert_eq!(accreditation.agency_id, agency_id);
        let accredited = vec![accreditation.id.as_str()];
        // p1 rotates to p2 on 2024-06-01; p3, valid from 2022, is revoked on 2025-03-01.
        let rotate = pb::RotateKeyCommand {
            header: header(),
            old_key_id: key_id_of(&p1),
            new_key: Some(key_spec(&p2)),
            rotate_at: Some(timestamp(at("2024-06-01T00:00:00Z"))),
            ..Default::default()
        };
        key_write(app, &p1, "RotateKey", rotate).await;
        let add = pb::AddKeyCommand {
            header: header(),
            key: Some(pb::KeySpec {
                valid_from: Some(timestamp(at("2022-01-01T00:00:00Z"))),
                ..key_spec(&p3)
            }),
            ..Default::default()
        };
        key_write(app, &p2, "AddKey", add).await;
        let revoke = pb::RevokeKeyCommand {
            header: header(),
            key_id: key_id_of(&p3),
            revoked_at: Some(timestamp(at("2025-03-01T00:00:00Z"))),
            reason: "laptop lost".into(),
            ..Default::default()
        };
        key_write(app, &p2, "RevokeKey", revoke).await;
        let ask = |key: &SigningKey, t: Timestamp| {
            issuer(Issuer::ProviderId(provider_id.clone()))
                .key_id(&key_id_of(key))
                .at_instant(t)
        };

        // The old key before its end: TRUSTED, VALID, with its validity.
        let v = check(app, ask(&p1, just_before("2024-06-01T00:00:00Z"))).await;
        expect(&v, Trusted, &[]);
        assert_eq!(listed(&v), accredited);
        let k = expect_key(&v, &key_id_of(&p1), pb::KeyState::Valid);
        assert_eq!(instant!(k.valid_from), Some(at("2020-01-01T00:00:00Z")));
        assert_eq!(instant!(k.valid_until), Some(at("2024-06-01T00:00:00Z")));
        assert_eq!(k.revoked_at, None);
        assert_eq!(next_update(&v), Some(at("2024-06-01T00:00:00Z")));
        // From the rotation on: KEY_NOT_VALID (expired), though the accreditation is in force.
        for t in [at("2024-06-01T00:00:00Z"), at("2026-01-01T00:00:00Z")] {
            let v = check(app, ask(&p1, t)).await;
            expect(&v, NotTrusted, &[R::KeyNotValid]);
            expect_key(&v, &key_id_of(&p1), pb::KeyState::Expired);
            assert_eq!(listed(&v), accredited);
            assert_eq!(next_update(&v), Some(at("2031-01-01T00:00:00Z")));
        }
        // The new key: not yet valid before the rotation, valid from it.
        let v = check(app, ask(&p2, just_before("2024-06-01T00:00:00Z"))).await;
        expect(&v, NotTrusted, &[R::KeyNotValid]);
        expect_key(&v, &key_id_of(&p2), pb::KeyState::NotYetValid);
        assert_eq!(next_update(&v), Some(at("2024-06-01T00:00:00Z")));
        let v = check(app, ask(&p2, at("2024-06-01T00:00:00Z"))).await;
        expect(&v, Trusted, &[]);
        let k = expect_key(&v, &key_id_of(&p2), pb::KeyState::Valid);
        assert_eq!(instant!(k.valid_from), Some(at("2024-06-01T00:00:00Z")));
        assert_eq!(k.valid_until, None);

        // A revoked key: valid until the revocation, KEY_REVOKED at and after it.
        let v = check(app, ask(&p3, just_before("2025-03-01T00:00:00Z"))).await;
        expect(&v, Trusted, &[]);
        expect_key(&v, &key_id_of(&p3), pb::KeyState::Valid);
        assert_eq!(next_update(&v), Some(at("2025-03-01T00:00:00Z")));
        for t in [at("2025-03-01T00:00:00Z"), at("2026-01-01T00:00:00Z")] {
            let v = check(app, ask(&p3, t)).await;
            expect(&v, NotTrusted, &[R::KeyRevoked]);
            let k = expect_key(&v, &key_id_of(&p3), pb::KeyState::Revoked);
            assert_eq!(instant!(k.revoked_at), Some(at("2025-03-01T00:00:00Z")));
            assert_eq!(instant!(k.valid_from), Some(at("2022-01-01T00:00:00Z")));
        }

        // A key of another provider, or of nobody: KEY_NOT_BOUND.
        for stranger in [&q1, &key("nobody")] {
            let v = check(app, ask(stranger, at("2024-01-01T00:00:00Z"))).await;
            expect(&v, NotTrusted, &[R::KeyNotBound]);
            let k = expect_key(&v, &key_id_of(stranger), pb::KeyState::NotBound);
            assert_eq!((k.valid_from, k.valid_until, k.revoked_at), (None, None, None));
            assert_eq!(resolved(&v), provider_id);
            assert_eq!(listed(&v), accredited);
        }
        // The other provider's own key is valid, but that provider is not accredited.
        let v = check(
            app,
            issuer(Issuer::ProviderId(other_id.clone()))
                .key_id(&key_id_of(&q1))
                .at("2024-01-01T00:00:00Z"),
        )
        .await;
        expect(&v, NotTrusted, &[R::NoAccreditation]);
        expect_key(&v, &key_id_of(&q1), pb::KeyState::Valid);

        // A public key or a did:key names the provider and implies the key.
        let v = check(app, by_public_key(&p1).at("2024-01-01T00:00:00Z")).await;
        expect(&v, Trusted, &[]);
        assert_eq!(resolved(&v), provider_id);
        expect_key(&v, &key_id_of(&p1), pb::KeyState::Valid);
        assert_eq!(next_update(&v), Some(at("2024-06-01T00:00:00Z")));
        let v = check(app, by_public_key(&p1).at("2024-06-01T00:00:00Z")).await;
        expect(&v, NotTrusted, &[R::KeyNotValid]);
        expect_key(&v, &key_id_of(&p1), pb::KeyState::Expired);
        let did_p2 = keys::did_key(&public(&p2));
        for did in [
            did_p2.clone(),
            format!("{did_p2}#{}", keys::multibase(&public(&p2))),
        ] {
            let v = check(app, by_did(&did).at("2025-01-01T00:00:00Z")).await;
            expect(&v, Trusted, &[]);
            assert_eq!(resolved(&v), provider_id);
            expect_key(&v, &key_id_of(&p2), pb::KeyState::Valid);
        }
        let v = check(
            app,
            by_did(&keys::did_key(&public(&p3))).at("2025-03-01T00:00:00Z"),
        )
        .await;
        expect(&v, NotTrusted, &[R::KeyRevoked]);
        let v = check(
            app,
            by_did(&keys::did_key(&public(&q1))).at("2024-01-01T00:00:00Z"),
        )
        .await;
        assert_eq!(resolved(&v), other_id);
        // With a key id too: the same key is fine; another key is not the one that signed.
        let v = check(
            app,
            by_public_key(&p1)
                .key_id(&key_id_of(&p1))
                .at("2024-01-01T00:00:00Z"),
        )
        .await;
        expect(&v, Trusted, &[]);
        let v = check(
            app,
            by_public_key(&p1)
                .key_id(&key_id_of(&p3))
                .at("2024-01-01T00:00:00Z"),
        )
        .await;
        expect(&v, NotTrusted, &[R::KeyNotBound]);
        expect_key(&v, &key_id_of(&p3), pb::KeyState::NotBound);
    }
);

// ---------------------------------------------------------------------------------------------
// Identifiers

both_backends!(identifiers_resolve_with_their_validity, async |app: &TestApp| {
    let agency = app.agency("Harbour Quality Agency", "IE").await;
    let provider = app
        .provider("Harbour College")
        .identifier(IdentifierScheme::Deqar, "DEQARINST0042")
        .identifier_valid(
            IdentifierScheme::Did,
            "did:web:harbour.example",
            Some("2022-01-01T00:00:00Z"),
            Some("2025-01-01T00:00:00Z"),
        )
        .identifier_valid(
            IdentifierScheme::Deqar,
            "DEQARINST0777",
            None,
            Some("2023-01-01T00:00:00Z"),
        )
        .identifier_valid(
            IdentifierScheme::Did,
            "did:web:gap.example",
            None,
            Some("2023-01-01T00:00:00Z"),
        )
        .insert()
        .await;
    let successor = app
        .provider("Successor College")
        .identifier_valid(
            IdentifierScheme::Deqar,
            "DEQARINST0777",
            Some("2023-01-01T00:00:00Z"),
            None,
        )
        .identifier_valid(
            IdentifierScheme::Did,
            "did:web:gap.example",
            Some("2026-01-01T00:00:00Z"),
            None,
        )
        .insert()
        .await;
    let id = app
        .accreditation(&agency, &provider)
        .valid("2021-01-01T00:00:00Z", Some("2028-01-01T00:00:00Z"))
        .insert()
        .await
        .accreditation
        .id;
    let accredited = vec![id.as_str()];

    for query in [
        by_provider(&provider),
        by_external(pb::IdentifierScheme::Deqar, "DEQARINST0042"),
    ] {
        let v = check(app, query.at("2024-01-01T00:00:00Z")).await;
        expect(&v, Trusted, &[]);
        assert_eq!(resolved(&v), provider.id);
        assert_eq!(listed(&v), accredited);
        assert_eq!(v.key, None);
        assert_eq!(next_update(&v), Some(at("2028-01-01T00:00:00Z")));
    }

    // A registered did:web, as a DID or as an external identifier of scheme DID.
    for query in [
        by_did("did:web:harbour.example"),
        by_external(pb::IdentifierScheme::Did, "did:web:harbour.example"),
    ] {
        let v = check(app, query.clone().at("2023-01-01T00:00:00Z")).await;
        expect(&v, Trusted, &[]);
        assert_eq!(resolved(&v), provider.id);
        assert_eq!(next_update(&v), Some(at("2025-01-01T00:00:00Z")));
        let v = check(app, query.clone().at_instant(just_before("2025-01-01T00:00:00Z"))).await;
        expect(&v, Trusted, &[]);
        // Outside the identifier's validity: IDENTIFIER_NOT_VALID, accreditations or not.
        let v = check(app, query.clone().at("2025-01-01T00:00:00Z")).await;
        expect(&v, NotTrusted, &[R::IdentifierNotValid]);
        assert_eq!(resolved(&v), provider.id);
        assert_eq!(listed(&v), accredited);
        assert_eq!(next_update(&v), Some(at("2028-01-01T00:00:00Z")));
        let v = check(app, query.at("2021-06-01T00:00:00Z")).await;
        expect(&v, NotTrusted, &[R::IdentifierNotValid]);
        assert_eq!(next_update(&v), Some(at("2022-01-01T00:00:00Z")));
    }

    // An identifier that changed hands names its holder at T.
    let v = check(
        app,
        by_external(pb::IdentifierScheme::Deqar, "DEQARINST0777").at("2022-06-01T00:00:00Z"),
    )
    .await;
    expect(&v, Trusted, &[]);
    assert_eq!(resolved(&v), provider.id);
    assert_eq!(next_update(&v), Some(at("2023-01-01T00:00:00Z")));
    let v = check(
        app,
        by_external(pb::IdentifierScheme::Deqar, "DEQARINST0777").at("2024-01-01T00:00:00Z"),
    )
    .await;
    expect(&v, NotTrusted, &[R::NoAccreditation]);
    assert_eq!(resolved(&v), successor.id);

    // Between two holders: the first one's, out of its validity, until the next one's begins,
    // which is when the answer may change (whatever the first holder's own facts).
    let v = check(app, by_did("did:web:gap.example").at("2024-01-01T00:00:00Z")).await;
    expect(&v, NotTrusted, &[R::IdentifierNotValid]);
    assert_eq!(resolved(&v), provider.id);
    assert_eq!(next_update(&v), Some(at("2026-01-01T00:00:00Z")));
    let v = check(app, by_did("did:web:gap.example").at("2026-01-01T00:00:00Z")).await;
    expect(&v, NotTrusted, &[R::NoAccreditation]);
    assert_eq!(resolved(&v), successor.id);

    // The scheme is part of the identifier.
    let v = check(
        app,
        by_external(pb::IdentifierScheme::ErasmusCode, "DEQARINST0042").at("2024-01-01T00:00:00Z"),
    )
    .await;
    expect(&v, UnknownIssuer, &[R::UnknownIssuer]);
});

// A did:key is decoded locally: registering it as a provider's DID does not take its key's
// history out of the verdict (the registration's validity counts too).
both_backends!(a_registered_did_key_still_names_its_key, async |app: &TestApp| {
    let agency = app.agency("Harbour Quality Agency", "IE").await;
    let p1 = key("p1");
    let mut compromised = ActorKey::new(public(&p1), at("2020-01-01T00:00:00Z"));
    compromised.revoked_at = Some(at("2024-01-01T00:00:00Z"));
    compromised.revocation_reason = "compromised".into();
    let did = keys::did_key(&public(&p1));
    let provider = app
        .provider("Harbour College")
        .identifier_valid(IdentifierScheme::Did, &did, None, Some("2023-06-01T00:00:00Z"))
        .actor_key(compromised)
        .insert()
        .await;
    app.accreditation(&agency, &provider)
        .valid("2021-01-01T00:00:00Z", Some("2028-01-01T00:00:00Z"))
        .insert()
        .await;

    let v = check(app, by_did(&did).at("2023-01-01T00:00:00Z")).await;
    expect(&v, Trusted, &[]);
    assert_eq!(resolved(&v), provider.id);
    expect_key(&v, &key_id_of(&p1), pb::KeyState::Valid);
    assert_eq!(next_update(&v), Some(at("2023-06-01T00:00:00Z")));
    let v = check(app, by_did(&did).at("2023-09-01T00:00:00Z")).await;
    expect(&v, NotTrusted, &[R::IdentifierNotValid]);
    expect_key(&v, &key_id_of(&p1), pb::KeyState::Valid);
    assert_eq!(next_update(&v), Some(at("2024-01-01T00:00:00Z")));
    // The same DID given as an external identifier of scheme DID.
    for query in [by_did(&did), by_external(pb::IdentifierScheme::Did, &did)] {
        let v = check(app, query.at("2024-06-01T00:00:00Z")).await;
        expect(&v, NotTrusted, &[R::IdentifierNotValid, R::KeyRevoked]);
        assert_eq!(resolved(&v), provider.id);
        expect_key(&v, &key_id_of(&p1), pb::KeyState::Revoked);
    }
    let v = check(app, by_public_key(&p1).at("2024-06-01T00:00:00Z")).await;
    expect(&v, NotTrusted, &[R::KeyRevoked]);
    expect_key(&v, &key_id_of(&p1), pb::KeyState::Revoked);
});

// ---------------------------------------------------------------------------------------------
// Unknown issuers

both_backends!(unknown_issuers_are_answered_not_refused, async |app: &TestApp| {
    let agency_key = key("agency");
    let agency = app
        .qa_agency("Harbour Quality Agency", "IE")
        .identifier(IdentifierScheme::Did, "did:web:agency.example")
        .key(public(&agency_key), at("2020-01-01T00:00:00Z"))
        .insert()
        .await;
    let provider_key = key("provider");
    let provider = app
        .provider("Harbour College")
        .key(public(&provider_key), at("2020-01-01T00:00:00Z"))
        .insert()
        .await;
    app.accreditation(&agency, &provider).insert().await;
    let known = check(app, by_provider(&provider).at("2022-01-01T00:00:00Z")).await;
    expect(&known, Trusted, &[]);

    let stranger = key("stranger");
    for query in [
        by_did("did:web:nowhere.example"),
        by_did("did:example:123456"),
        by_did(&keys::did_key(&public(&stranger))),
        issuer(Issuer::ProviderId(IdKind::Provider.mint(b"nobody"))),
        by_public_key(&stranger),
        by_external(pb::IdentifierScheme::Deqar, "DEQARINST9999"),
        // A QA agency is not an issuer, whichever way it is named.
        by_public_key(&agency_key),
        by_did(&keys::did_key(&public(&agency_key))),
        by_did("did:web:agency.example"),
        // A named key does not make an unknown issuer known.
        by_did("did:web:nowhere.example").key_id(&key_id_of(&provider_key)),
    ] {
        for t in [Some(at("2022-01-01T00:00:00Z")), None] {
            let query = match t {
                Some(t) => query.clone().at_instant(t),
                None => query.clone(),
            };
            let v = check(app, query).await;
            expect(&v, UnknownIssuer, &[R::UnknownIssuer]);
            assert!(!v.reasons[0].message.is_empty());
        }
    }
});

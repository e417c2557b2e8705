//! CheckIssuers batches, refused queries and the query hash, on SQLite and PostgreSQL.

use sha2::{Digest, Sha256};
use trust_registry::api::trust::MAX_BATCH;

use super::*;
use crate::common::checks::expect_invalid;
use crate::{both_backends, instant};

/// A provider trusted in 2024 for EQF 5-6 micro-credentials in ISCED-F 06 in Ireland, with its
/// key; a provider with a negative decision.
struct World {
    trusted: Provider,
    key: SigningKey,
    refused: Provider,
}

const T: &str = "2024-01-01T00:00:00Z";

async fn world(app: &TestApp) -> World {
    let agency = app.agency("Harbour Quality Agency", "IE").await;
    let key = key("harbour");
    let trusted = app
        .provider("Harbour College")
        .key(public(&key), at("2020-01-01T00:00:00Z"))
        .insert()
        .await;
    app.accreditation(&agency, &trusted)
        .eqf_levels(&[5, 6])
        .credential_types(&[MICRO])
        .fields_of_study(&[&isced("06")])
        .jurisdictions(&["IE"])
        .insert()
        .await;
    let refused = app.provider("Refused College").insert().await;
    app.accreditation(&agency, &refused)
        .decision(Decision::Negative)
        .insert()
        .await;
    World {
        trusted,
        key,
        refused,
    }
}

/// Asks CheckIssuers; checks one verdict per query, in order, each verified offline and
/// consistent with its query, and no signature valid for another verdict's bytes.
async fn check_batch(app: &TestApp, queries: Vec<pb::IssuerQuery>) -> Vec<pb::Verdict> {
    let registry = registry_key_of(app).await;
    let before = Timestamp::now();
    let signed = app
        .trust()
        .check_issuers(pb::CheckIssuersRequest {
            queries: queries.clone(),
        })
        .await
        .expect("CheckIssuers")
        .into_inner()
        .verdicts;
    let after = Timestamp::now();
    assert_eq!(signed.len(), queries.len(), "one verdict per query");
    // One signed tree holds the call's verdicts, in order; a verdict does not verify in
    // another's place.
    for (index, verdict) in signed.iter().enumerate() {
        assert_eq!(verdict.signature, signed[0].signature);
        assert_eq!(
            (verdict.tree_index, verdict.tree_size),
            (index as u64, queries.len() as u64)
        );
    }
    for pair in signed.windows(2) {
        // Even the answers to the same query differ: each has blinding bytes of its own.
        assert_ne!(
            crate::common::decoded(&pair[0]).blinding,
            crate::common::decoded(&pair[1]).blinding
        );
        if pair[0].verdict_bytes != pair[1].verdict_bytes {
            let moved = pb::SignedVerdict {
                verdict_bytes: pair[1].verdict_bytes.clone(),
                ..pair[0].clone()
            };
            assert!(!verify_signed_verdict(&registry.public_key, &moved));
        }
    }
    signed
        .into_iter()
        .zip(&queries)
        .map(|(signed, query)| {
            let verdict = verified(signed, &registry);
            consistent(query, &verdict, before, after);
            verdict
        })
        .collect()
}

/// A verdict without what differs between two answers to one question: when it was given, the
/// log state, and its random blinding bytes.
fn timeless(mut v: pb::Verdict) -> pb::Verdict {
    v.issued_at = None;
    v.checkpoint.clear();
    v.blinding.clear();
    v
}

fn statuses(verdicts: &[pb::Verdict]) -> Vec<pb::TrustStatus> {
    verdicts.iter().map(|v| v.status()).collect()
}

both_backends!(check_issuers_answers_in_order, async |app: &TestApp| {
    let w = world(app).await;
    let queries = vec![
        by_provider(&w.trusted)
            .key_id(&key_id_of(&w.key))
            .scope(scope(Some(6), MICRO, &isced("0613"), "IE"))
            .at(T),
        by_did("did:web:nowhere.example").at(T),
        by_provider(&w.refused).at(T),
    ];
    let verdicts = check_batch(app, queries.clone()).await;
    assert_eq!(statuses(&verdicts), vec![Trusted, UnknownIssuer, NotTrusted]);
    expect(&verdicts[0], Trusted, &[]);
    expect_key(&verdicts[0], &key_id_of(&w.key), pb::KeyState::Valid);
    assert_eq!(resolved(&verdicts[0]), w.trusted.id);
    expect(&verdicts[1], UnknownIssuer, &[R::UnknownIssuer]);
    expect(&verdicts[2], NotTrusted, &[R::NegativeDecision]);
    assert_eq!(resolved(&verdicts[2]), w.refused.id);

    // Each answer is the one CheckIssuer gives to its query alone.
    for (query, verdict) in queries.iter().zip(&verdicts) {
        let alone = check(app, query.clone()).await;
        assert_eq!(timeless(alone), timeless(verdict.clone()));
    }

    // In another order, the answers follow.
    let mut reversed = queries.clone();
    reversed.reverse();
    let verdicts = check_batch(app, reversed).await;
    assert_eq!(statuses(&verdicts), vec![NotTrusted, UnknownIssuer, Trusted]);

    assert!(check_batch(app, vec![]).await.is_empty());
});

both_backends!(check_issuers_holds_at_most_1000_queries, async |app: &TestApp| {
    let w = world(app).await;
    assert_eq!(MAX_BATCH, 1_000);
    let trusted = by_provider(&w.trusted).at(T);
    let refused = by_provider(&w.refused).at(T);
    let full: Vec<_> = (0..MAX_BATCH)
        .map(|i| {
            if i % 2 == 0 {
                trusted.clone()
            } else {
                refused.clone()
            }
        })
        .collect();
    let verdicts = check_batch(app, full).await;
    assert_eq!(verdicts.len(), 1_000);
    for (i, v) in verdicts.iter().enumerate() {
        assert_eq!(v.status(), if i % 2 == 0 { Trusted } else { NotTrusted }, "{i}");
    }

    let over = vec![trusted.clone(); MAX_BATCH + 1];
    let result = app
        .trust()
        .check_issuers(pb::CheckIssuersRequest { queries: over })
        .await;
    expect_invalid(result, "queries");
});

both_backends!(
    check_issuers_refuses_a_batch_naming_the_bad_query,
    async |app: &TestApp| {
        let w = world(app).await;
        let good = by_provider(&w.trusted).at(T);
        for (bad, field) in [
            (
                good.clone().scope(scope(Some(9), "", "", "")),
                "queries[2].scope.eqf_level",
            ),
            (pb::IssuerQuery::default(), "queries[2].issuer"),
            (by_did("notadid"), "queries[2].did"),
            (good.clone().key_id("ed25519:abc"), "queries[2].key_id"),
        ] {
            let queries = vec![good.clone(), good.clone(), bad, good.clone()];
            let result = app
                .trust()
                .check_issuers(pb::CheckIssuersRequest { queries })
                .await;
            expect_invalid(result, field);
        }
    }
);

/// Asserts CheckIssuer refuses `query` with INVALID_ARGUMENT naming `field`.
async fn refused(app: &TestApp, query: Option<pb::IssuerQuery>, field: &str) {
    let result = app
        .trust()
        .check_issuer(pb::CheckIssuerRequest { query: query.clone() })
        .await;
    let status = match result {
        Ok(answer) => panic!("{query:?} was answered, not refused naming {field}: {answer:?}"),
        Err(status) => status,
    };
    expect_invalid::<()>(Err(status), field);
}

/// A multibase base58btc value of `bytes` behind a multicodec `prefix`.
fn multibase(prefix: &[u8], bytes: &[u8]) -> String {
    format!("z{}", bs58::encode([prefix, bytes].concat()).into_string())
}

both_backends!(bad_queries_are_refused_naming_the_field, async |app: &TestApp| {
    let w = world(app).await;
    // Every bad query below differs from this trusted one in one field only.
    let base = by_provider(&w.trusted)
        .key_id(&key_id_of(&w.key))
        .scope(scope(Some(6), MICRO, &isced("0613"), "IE"))
        .at(T);
    expect(&check(app, base.clone()).await, Trusted, &[]);

    refused(app, None, "query").await;
    refused(
        app,
        Some(pb::IssuerQuery {
            issuer: None,
            ..base.clone()
        }),
        "query.issuer",
    )
    .await;

    let with_issuer = |issuer: Issuer| pb::IssuerQuery {
        issuer: Some(issuer),
        ..base.clone()
    };
    let key = public(&w.key);
    let x25519 = multibase(&[0xec, 0x01], &key);
    let short = multibase(&[0xed, 0x01], &key[..31]);
    for did in [
        "did:".to_owned(),
        "notadid".to_owned(),
        "did:key:zBAD".to_owned(),
        String::new(),
        "did:web:".to_owned(),
        "did:Web:harbour.example".to_owned(),
        "did:web:harbour example".to_owned(),
        format!("did:key:{x25519}"),
        format!("did:key:{}", &keys::multibase(&key)[1..]),
    ] {
        refused(app, Some(with_issuer(Issuer::Did(did))), "query.did").await;
    }
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    for text in [
        "z123".to_owned(),
        String::new(),
        keys::multibase(&key)[1..].to_owned(),
        hex.clone(),
        x25519,
        short,
        format!("{}0", keys::multibase(&key)),
    ] {
        let query = with_issuer(Issuer::PublicKeyMultibase(text));
        refused(app, Some(query), "query.public_key_multibase").await;
    }
    for key_id in [
        "ed25519:abc".to_owned(),
        format!("ed25519:{}", "g".repeat(32)),
        format!("ed25519:{}", &hex[..31]),
        format!("ed25519:{}", &hex[..33]),
        format!("x25519:{}", &hex[..32]),
        hex[..32].to_owned(),
        key_id_of(&w.key).replace("ed25519", "ED25519"),
        format!(" {}", key_id_of(&w.key)),
    ] {
        refused(app, Some(base.clone().key_id(&key_id)), "query.key_id").await;
    }

    let scope_of = |scope: pb::TrustScope| base.clone().scope(scope);
    for level in [0, 9, 100] {
        let query = scope_of(scope(Some(level), MICRO, &isced("0613"), "IE"));
        refused(app, Some(query), "query.scope.eqf_level").await;
    }
    for jurisdiction in ["IRL", "I", "1E", "I E"] {
        let query = scope_of(scope(Some(6), MICRO, &isced("0613"), jurisdiction));
        refused(app, Some(query), "query.scope.jurisdiction").await;
    }
    for credential_type in ["not a uri", "e34929035b"] {
        let query = scope_of(scope(Some(6), credential_type, &isced("0613"), "IE"));
        refused(app, Some(query), "query.scope.credential_type").await;
    }
    for field in ["0613".to_owned(), isced(""), isced("0"), isced("06x")] {
        let query = scope_of(scope(Some(6), MICRO, &field, "IE"));
        refused(app, Some(query), "query.scope.field_of_study").await;
    }

    let external = |scheme: i32, value: &str| {
        with_issuer(Issuer::ExternalIdentifier(pb::ExternalIdentifier {
            scheme,
            value: value.into(),
            valid_from: None,
            valid_until: None,
        }))
    };
    for scheme in [99, 0, -1] {
        let query = external(scheme, "DEQARINST0042");
        refused(app, Some(query), "query.external_identifier.scheme").await;
    }
    for value in [String::new(), "D".repeat(513)] {
        let query = external(pb::IdentifierScheme::Deqar as i32, &value);
        refused(app, Some(query), "query.external_identifier.value").await;
    }

    for id in [
        "prov_x".to_owned(),
        String::new(),
        IdKind::QaAgency.mint(b"Harbour Quality Agency"),
        w.trusted.id.to_uppercase(),
    ] {
        refused(
            app,
            Some(with_issuer(Issuer::ProviderId(id))),
            "query.provider_id",
        )
        .await;
    }

    for (seconds, nanos) in [
        (253_402_300_800, 0),
        (0, -1),
        (0, 1_000_000_000),
        (-62_135_596_801, 0),
    ] {
        let query = pb::IssuerQuery {
            at: Some(pbjson_types::Timestamp { seconds, nanos }),
            ..base.clone()
        };
        refused(app, Some(query), "query.at").await;
    }
});

/// Hex SHA-256 of the canonical lines `name=value\n`.
fn canonical_hash(lines: [(&str, &str); 7]) -> String {
    let mut text = String::new();
    for (name, value) in lines {
        text.push_str(&format!("{name}={value}\n"));
    }
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

both_backends!(
    query_hash_is_the_hash_of_the_canonical_form,
    async |app: &TestApp| {
        let w = world(app).await;
        let key_id = key_id_of(&w.key);
        let field = isced("0613");
        let full = by_provider(&w.trusted)
            .key_id(&key_id)
            .scope(scope(Some(6), MICRO, &field, "IE"))
            .at("2024-05-01T12:00:00Z");
        let expected = canonical_hash([
            ("issuer", &format!("provider_id:{}", w.trusted.id)),
            ("key_id", &key_id),
            ("credential_type", MICRO),
            ("eqf_level", "6"),
            ("field_of_study", &field),
            ("jurisdiction", "IE"),
            ("at", "2024-05-01T12:00:00Z"),
        ]);
        let alone = check(app, full.clone()).await;
        expect(&alone, Trusted, &[]);
        assert_eq!(alone.query_hash, expected);
        let again = check(app, full.clone()).await;
        assert_eq!(again.query_hash, expected);
        let batch = check_batch(app, vec![full.clone().at("2024-05-01T12:00:01Z"), full]).await;
        assert_eq!(batch[1].query_hash, expected);
        assert_ne!(
            batch[0].query_hash, expected,
            "the asked time is part of the query"
        );

        // Unset fields are empty lines, the asked time included; every way of naming the issuer.
        let empty = |issuer: String| {
            canonical_hash([
                ("issuer", &issuer),
                ("key_id", ""),
                ("credential_type", ""),
                ("eqf_level", ""),
                ("field_of_study", ""),
                ("jurisdiction", ""),
                ("at", ""),
            ])
        };
        let multibase = keys::multibase(&public(&w.key));
        for (query, issuer) in [
            (
                by_did("did:web:nowhere.example"),
                "did:did:web:nowhere.example".to_owned(),
            ),
            (by_public_key(&w.key), format!("public_key_multibase:{multibase}")),
            (
                by_external(pb::IdentifierScheme::Deqar, "DEQARINST0042"),
                "external:deqar:DEQARINST0042".to_owned(),
            ),
            (by_provider(&w.refused), format!("provider_id:{}", w.refused.id)),
        ] {
            let v = check(app, query).await;
            assert_eq!(v.requested_at, None);
            assert!(instant!(v.evaluated_at).is_some());
            assert_eq!(v.query_hash, empty(issuer));
        }
    }
);

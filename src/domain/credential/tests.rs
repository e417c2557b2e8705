//! Unit tests of [`super`] (credential.rs).

use super::*;

/// What `sign_jws` issues, `parse_jws` reads back: the claims, and a signature that verifies
/// with the signer's key and with no other.
#[test]
fn signed_jws_parses_and_verifies_with_its_key_only() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let other = ed25519_dalek::SigningKey::from_bytes(&[6; 32]);
    let header = serde_json::json!({"alg": "EdDSA", "typ": "vc+jwt"});
    let payload = serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": "did:web:college.example",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    });
    let credential = parse_jws(&sign_jws(&key, &header, &payload)).expect("parses");
    assert_eq!(credential.issuer_id, "did:web:college.example");
    assert_eq!(
        credential.issued_at,
        Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap()
    );
    assert!(credential.signature_verifies(&key.verifying_key().to_bytes()));
    assert!(!credential.signature_verifies(&other.verifying_key().to_bytes()));
}

/// A proofValue longer than any Ed25519 signature encodes to is refused, like one that is
/// not base58, while one of a signature's length gets as far as the signature check.
#[test]
fn proof_values_longer_than_a_signature_are_refused() {
    let credential = |proof_value: &str| {
        serde_json::json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": "did:web:college.example",
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:learner"},
            "proof": {
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-jcs-2022",
                "verificationMethod": "did:web:college.example#key-1",
                "proofPurpose": "assertionMethod",
                "proofValue": proof_value,
            },
        })
        .to_string()
    };
    let refused = "proofValue must be a multibase base58btc (z...) Ed25519 signature";
    let longest = format!("z{}", bs58::encode([0xff; 64]).into_string());
    assert!(parse_data_integrity(&credential(&longest)).is_ok());
    for proof_value in [format!("z{}", "z".repeat(20_000)), "z0OIl".to_owned()] {
        assert_eq!(
            parse_data_integrity(&credential(&proof_value)).unwrap_err(),
            refused
        );
    }
}

/// A signature that verified is kept, and a kept signature is only taken again with the
/// same key over the same bytes: over other bytes, or with another key, it is checked in
/// full and refused.
#[test]
fn kept_signatures_need_the_same_key_and_bytes() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[11; 32]);
    let public = key.verifying_key().to_bytes();
    let other = ed25519_dalek::SigningKey::from_bytes(&[12; 32])
        .verifying_key()
        .to_bytes();
    let header = serde_json::json!({"alg": "EdDSA", "typ": "vc+jwt"});
    let claims = |issuer: &str| {
        serde_json::json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": issuer,
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:learner"},
        })
    };
    let genuine = parse_jws(&sign_jws(&key, &header, &claims("did:web:kept.example"))).unwrap();
    let Securing::Jws {
        signing_input,
        signature,
        ..
    } = &genuine.securing
    else {
        panic!("a JWS");
    };
    let verified = VERIFIED.as_ref().expect("the salt is drawn");
    let kept = |public: &[u8; 32], message: &[u8]| {
        verified
            .cache
            .get(&verified.digest(public, signature, message))
            .is_some()
    };
    assert!(!kept(&public, signing_input));
    assert!(genuine.signature_verifies(&public));
    assert!(kept(&public, signing_input));
    assert!(genuine.signature_verifies(&public), "and again, from the cache");

    // The same signature with another key: refused, and not kept.
    assert!(!genuine.signature_verifies(&other));
    assert!(!kept(&other, signing_input));

    // The same signature over other bytes (another issuer's claims): refused, and not kept.
    let forged_input = sign_jws(&key, &header, &claims("did:web:mill.example"))
        .rsplit_once('.')
        .map(|(input, _)| input.to_owned())
        .unwrap();
    let mut forged = genuine.clone();
    forged.securing = Securing::Jws {
        signing_input: forged_input.clone().into_bytes(),
        signature: signature.clone(),
        kid: None,
    };
    assert!(!forged.signature_verifies(&public));
    assert!(!kept(&public, forged_input.as_bytes()));
}

#[test]
fn decompressed_keys_are_the_keys_of_their_bytes() {
    let bytes = ed25519_dalek::SigningKey::from_bytes(&[9; 32])
        .verifying_key()
        .to_bytes();
    let expected = VerifyingKey::from_bytes(&bytes).unwrap();
    assert_eq!(verifying_key(&bytes), Some(expected));
    assert_eq!(KEYS.get(&bytes), Some(expected));
    assert_eq!(verifying_key(&bytes), Some(expected));
    // Bytes that are no point on the curve are refused each time, and never kept.
    let not_a_point = (0..=255u8)
        .map(|b| [b; 32])
        .find(|b| VerifyingKey::from_bytes(b).is_err())
        .expect("some repeated byte is no point");
    assert_eq!(verifying_key(&not_a_point), None);
    assert_eq!(KEYS.get(&not_a_point), None);
}

#[test]
fn refuses_alg_none_and_json_bombs() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    let payload = URL_SAFE_NO_PAD.encode(br#"{"type":["VerifiableCredential"]}"#);
    let err = parse(&format!("{header}.{payload}.")).unwrap_err();
    assert!(err.contains("none"), "{err}");
    let bomb = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert!(parse(&format!(r#"{{"a": {bomb}}}"#)).is_err());
    assert!(parse(&"x".repeat(MAX_CREDENTIAL_BYTES + 1)).is_err());
    assert!(parse("a.b").is_err());
}

//! Authentication: forged or damaged envelopes, and keys that may not sign.

use ed25519_dalek::{Signer as _, SigningKey};
use prost::Message;
use tonic::Code;
use trust_registry::api::write::{Checked, CheckedWrite, OperatorKey, Writes};
use trust_registry::domain::DomainError;
use trust_registry::pb;

use crate::both_backends;
use crate::commands::*;
use crate::common::TestApp;
use crate::common::checks::snapshot;
use crate::common::signed::{key, key_spec};
use crate::world::*;

/// A forged or damaged envelope, made from a valid PublishQualification envelope of the provider.
struct Forgery {
    what: &'static str,
    forge: fn(&World, pb::SignedEnvelope) -> pb::SignedEnvelope,
    message: &'static str,
}

const PUBLISH: &str = "PublishQualification";
const DOES_NOT_VERIFY: &str = "envelope.signature: does not verify";
const NOT_64_BYTES: &str = "envelope.signature: must be a 64-byte Ed25519 signature";

/// Ed25519 group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

const FORGERIES: &[Forgery] = &[
    Forgery {
        what: "unknown key id",
        forge: |_, e| pb::SignedEnvelope {
            key_id: key_id_of(&key("never registered")),
            ..e
        },
        message: "is not a registered key",
    },
    Forgery {
        what: "empty key id",
        forge: |_, e| pb::SignedEnvelope {
            key_id: String::new(),
            ..e
        },
        message: "envelope.key_id: is required",
    },
    Forgery {
        what: "random 64-byte signature",
        forge: |_, e| {
            let mut signature = [0u8; 64];
            getrandom::fill(&mut signature).expect("random bytes");
            pb::SignedEnvelope {
                signature: signature.to_vec(),
                ..e
            }
        },
        message: DOES_NOT_VERIFY,
    },
    Forgery {
        what: "tampered command bytes (one byte flipped after signing)",
        forge: |_, mut e| {
            let middle = e.command.len() / 2;
            e.command[middle] ^= 0x01;
            e
        },
        message: DOES_NOT_VERIFY,
    },
    Forgery {
        what: "signature made for another RPC",
        forge: |w, e| seal_other_rpc(&w.provider.key, e),
        message: DOES_NOT_VERIFY,
    },
    Forgery {
        what: "right key and bytes, other context string",
        forge: |w, e| {
            let mut message = b"other context\0".to_vec();
            message.extend_from_slice(rpc_name(PUBLISH).as_bytes());
            message.push(0);
            message.extend_from_slice(&e.command);
            pb::SignedEnvelope {
                signature: w.provider.key.sign(&message).to_bytes().to_vec(),
                ..e
            }
        },
        message: DOES_NOT_VERIFY,
    },
    Forgery {
        what: "right key, bare command bytes without context",
        forge: |w, e| pb::SignedEnvelope {
            signature: w.provider.key.sign(&e.command).to_bytes().to_vec(),
            ..e
        },
        message: DOES_NOT_VERIFY,
    },
    Forgery {
        what: "signed by another registered key under the provider's key id",
        forge: |w, e| pb::SignedEnvelope {
            key_id: e.key_id,
            ..seal(&w.provider2.key, PUBLISH, e.command)
        },
        message: DOES_NOT_VERIFY,
    },
    Forgery {
        what: "non-canonical signature (S + L), refused by verify_strict",
        forge: |_, mut e| {
            let mut carry = 0u16;
            for (byte, l) in e.signature[32..].iter_mut().zip(L) {
                let sum = *byte as u16 + l as u16 + carry;
                *byte = sum as u8;
                carry = sum >> 8;
            }
            e
        },
        message: DOES_NOT_VERIFY,
    },
    Forgery {
        what: "truncated 63-byte signature",
        forge: |_, mut e| {
            e.signature.truncate(63);
            e
        },
        message: NOT_64_BYTES,
    },
    Forgery {
        what: "65-byte signature",
        forge: |_, mut e| {
            e.signature.push(0);
            e
        },
        message: NOT_64_BYTES,
    },
    Forgery {
        what: "no signature",
        forge: |_, e| pb::SignedEnvelope {
            signature: vec![],
            ..e
        },
        message: NOT_64_BYTES,
    },
];

fn seal_other_rpc(key: &SigningKey, e: pb::SignedEnvelope) -> pb::SignedEnvelope {
    seal(key, "ReviseQualification", e.command)
}

// Forged or damaged envelopes -> UNAUTHENTICATED, changing nothing; the same command sealed
// properly is accepted.
both_backends!(authentication_failures, async |app: &TestApp| {
    let w = World::build(app).await;
    for forgery in FORGERIES {
        let bytes = publish_qualification(forgery.what).encode_to_vec();
        let genuine = seal(&w.provider.key, PUBLISH, bytes);
        let forged = (forgery.forge)(&w, genuine.clone());
        assert!(forged != genuine, "{}: the forgery differs", forgery.what);
        let status = w
            .refused(app, PUBLISH, Some(forged), Code::Unauthenticated, forgery.message)
            .await;
        assert!(
            status.message().starts_with("envelope."),
            "{}: {status:?}",
            forgery.what
        );
        w.accept(app, PUBLISH, genuine).await;
    }
});

/// A write signed with a key that may not sign it: (what, key, method, command, code, message).
type KeyRow<'a> = (&'a str, &'a SigningKey, &'a str, Vec<u8>, Code, &'a str);

// Keys that are known but may not sign: expired, not yet valid, revoked, rotated out ->
// UNAUTHENTICATED; keys of retired agencies and bodies -> PERMISSION_DENIED.
both_backends!(key_states, async |app: &TestApp| {
    let w = World::build(app).await;
    let op = w.signer(Who::Operator).clone();
    // Positive controls: these keys sign before the changes below.
    let revoked = w.provider.spare().clone();
    let rotated = w.provider.spare().clone();
    for signer in [&revoked, &rotated] {
        w.ok(
            app,
            signer,
            PUBLISH,
            publish_qualification("Before").encode_to_vec(),
        )
        .await;
    }
    w.ok(
        app,
        &w.retirable_agency.key,
        "RegisterProvider",
        register_provider().encode_to_vec(),
    )
    .await;
    w.ok(
        app,
        &w.retirable_body.key,
        "PublishRecognition",
        publish_recognition_of(&w.qualification).encode_to_vec(),
    )
    .await;

    w.ok(
        app,
        &w.provider.key,
        "RevokeKey",
        key_command("RevokeKey", "", &key_id_of(&revoked)),
    )
    .await;
    let successor = fresh_key();
    let rotate = pb::RotateKeyCommand {
        header: crate::common::signed::header(),
        actor_id: String::new(),
        old_key_id: key_id_of(&rotated),
        new_key: Some(key_spec(&successor)),
        rotate_at: None,
    };
    w.ok(app, &w.provider.key, "RotateKey", rotate.encode_to_vec())
        .await;
    let future = fresh_key();
    let add = pb::AddKeyCommand {
        header: crate::common::signed::header(),
        actor_id: w.provider.id.clone(),
        key: Some(pb::KeySpec {
            valid_from: secs_from_now(3600),
            ..key_spec(&future)
        }),
    };
    w.ok(app, &op, "AddKey", add.encode_to_vec()).await;
    w.ok(
        app,
        &op,
        "RetireQaAgency",
        retire_qa_agency(&w.retirable_agency.id).encode_to_vec(),
    )
    .await;
    w.ok(
        app,
        &op,
        "RetireRecognitionBody",
        retire_recognition_body(&w.retirable_body.id).encode_to_vec(),
    )
    .await;

    let retired_agency = &w.retirable_agency.key;
    let retired_body = &w.retirable_body.key;
    let publish = || publish_qualification("After").encode_to_vec();
    let rows: Vec<KeyRow> = vec![
        (
            "expired key",
            &w.expired_key,
            PUBLISH,
            publish(),
            Code::Unauthenticated,
            "is not valid at header.issued_at",
        ),
        (
            "key valid only from next hour",
            &future,
            PUBLISH,
            publish(),
            Code::Unauthenticated,
            "is not valid at header.issued_at",
        ),
        (
            "revoked key",
            &revoked,
            PUBLISH,
            publish(),
            Code::Unauthenticated,
            "revoked at",
        ),
        (
            "rotated-out key",
            &rotated,
            PUBLISH,
            publish(),
            Code::Unauthenticated,
            "is not valid at",
        ),
        (
            "retired agency registers",
            retired_agency,
            "RegisterProvider",
            register_provider().encode_to_vec(),
            Code::PermissionDenied,
            "retired",
        ),
        (
            "retired agency accredits",
            retired_agency,
            "RecordAccreditation",
            record_accreditation_for(&w.provider.id).encode_to_vec(),
            Code::PermissionDenied,
            "retired",
        ),
        (
            "retired agency adds a key",
            retired_agency,
            "AddKey",
            key_command("AddKey", "", ""),
            Code::PermissionDenied,
            "retired",
        ),
        (
            "retired body publishes",
            retired_body,
            "PublishRecognition",
            publish_recognition_of(&w.qualification).encode_to_vec(),
            Code::PermissionDenied,
            "retired",
        ),
    ];
    for (what, signer, method, bytes, code, fragment) in rows {
        let status = w
            .refused(app, method, Some(seal(signer, method, bytes)), code, fragment)
            .await;
        if code == Code::Unauthenticated {
            assert!(
                status.message().contains(&key_id_of(signer)),
                "{what}: {status:?}"
            );
        }
    }
    w.ok(app, &successor, PUBLISH, publish()).await;
});

// The identical envelope sent twice, for every write RPC: the second answer is the first one
// again (replayed), at the same log position, and nothing is written twice.

/// The pipeline's first half for `method`: the envelope checked and ready to apply.
async fn checked(writes: &Writes, key: &SigningKey, method: &str, bytes: Vec<u8>) -> CheckedWrite {
    match writes.check(&rpc_name(method), seal(key, method, bytes)).await {
        Ok(Checked::Ready(write)) => write,
        Ok(Checked::Replayed(receipt)) => {
            panic!("{method}: a fresh envelope was taken for a replay: {receipt:?}")
        }
        Err(refusal) => panic!("{method}: refused before any change: {refusal}"),
    }
}

// A write checked just before its key is revoked, or its agency retired, as from a minute ago
// (a key found compromised since then), and applied after (as a write waiting for the write lock
// meanwhile is): it is checked again under the lock and refused, as it would have been had it
// arrived after the change, and nothing is written. Applied, it would stand in the log after a
// revocation that covers its time of receipt, and replaying the log would refuse it.
both_backends!(
    checked_before_a_revocation_applied_after,
    async |app: &TestApp| {
        let w = World::build(app).await;
        let op = w.signer(Who::Operator).clone();
        let writes = Writes::new(
            app.store.clone(),
            Some(OperatorKey::new(op.verifying_key().to_bytes())),
        );
        let doomed = w.provider.spare().clone();
        let by_revoked_key = checked(
            &writes,
            &doomed,
            PUBLISH,
            publish_qualification("Late").encode_to_vec(),
        )
        .await;
        let by_retired_agency = checked(
            &writes,
            &w.retirable_agency.key,
            "RegisterProvider",
            register_provider().encode_to_vec(),
        )
        .await;
        let revoke = pb::RevokeKeyCommand {
            revoked_at: secs_from_now(-60),
            ..pb::RevokeKeyCommand::decode(key_command("RevokeKey", "", &key_id_of(&doomed)).as_slice())
                .expect("a RevokeKey command")
        };
        w.ok(app, &w.provider.key, "RevokeKey", revoke.encode_to_vec())
            .await;
        let retire = pb::RetireQaAgencyCommand {
            retired_at: secs_from_now(-60),
            ..retire_qa_agency(&w.retirable_agency.id)
        };
        w.ok(app, &op, "RetireQaAgency", retire.encode_to_vec()).await;

        let before = snapshot(app).await;
        let log_size = app.store.log_head().await.expect("log head").0;
        match writes.apply(by_revoked_key).await {
            Err(DomainError::Unauthenticated(message)) => assert!(
                message.contains(&key_id_of(&doomed)) && message.contains("revoked at"),
                "{message}"
            ),
            other => panic!("a write by a key revoked after its check: {other:?}"),
        }
        match writes.apply(by_retired_agency).await {
            Err(DomainError::PermissionDenied(message)) => assert!(message.contains("retired"), "{message}"),
            other => panic!("a write by an agency retired after its check: {other:?}"),
        }
        assert!(
            snapshot(app).await == before,
            "a refused write changed the catalogue"
        );
        assert_eq!(app.store.log_head().await.expect("log head").0, log_size);

        // Control: checked and applied with nothing changed between, the same kind of write is
        // applied, at the next position in the log.
        let fine = checked(
            &writes,
            &w.provider.key,
            PUBLISH,
            publish_qualification("On time").encode_to_vec(),
        )
        .await;
        let receipt = writes.apply(fine).await.expect("applied");
        assert_eq!(receipt.log_index, log_size);
    }
);

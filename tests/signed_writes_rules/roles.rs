//! Who may write what: every write RPC signed by every role; objects of other actors; keys of
//! other actors.

use ed25519_dalek::SigningKey;
use prost::Message;
use tonic::Code;
use trust_registry::pb;

use crate::both_backends;
use crate::commands::*;
use crate::common::TestApp;
use crate::world::*;

// Every write RPC x every role: the valid command is accepted from an allowed role and refused
// with PERMISSION_DENIED, naming the RPC, from any other, changing nothing.
both_backends!(every_rpc_by_every_role, async |app: &TestApp| {
    let w = World::build(app).await;
    let (mut accepted, mut denied) = (0, 0);
    for case in &RPCS {
        for who in EVERY_ROLE {
            let envelope = seal(w.signer(who), case.method, (case.command)(&w, who));
            let what = format!("{} signed by {who:?}", case.method);
            if case.allowed.contains(&who) {
                let before = snapshot(app).await;
                let written = w.accept(app, case.method, envelope).await;
                assert_eq!(written.receipt.signer_id, w.signer_id(who), "{what}");
                assert_eq!(written.receipt.signer_key_id, key_id_of(w.signer(who)), "{what}");
                assert!(
                    snapshot(app).await != before,
                    "{what} was accepted and shows in the catalogue"
                );
                accepted += 1;
            } else {
                let status = w
                    .refused(
                        app,
                        case.method,
                        Some(envelope),
                        Code::PermissionDenied,
                        "must be signed by",
                    )
                    .await;
                assert!(
                    status.message().contains(&rpc_name(case.method)),
                    "{what}: {status:?}"
                );
                denied += 1;
            }
        }
    }
    // Governance 5 by the operator, 3 + 3 + 2 by agencies, providers and bodies, 3 key RPCs by all.
    assert_eq!((accepted, denied), (13 + 3 * 4, 3 * 13));
});

/// A write on an object of one actor, signed by another actor of the same role.
struct Foreign {
    what: &'static str,
    method: &'static str,
    command: fn(&World) -> Vec<u8>,
    object: fn(&World) -> &str,
    intruder: fn(&World) -> &SigningKey,
    owner: fn(&World) -> &SigningKey,
}

const FOREIGN: &[Foreign] = &[
    Foreign {
        what: "an agency suspends another agency's accreditation",
        method: "ChangeAccreditationStatus",
        command: |w| {
            change_status(&w.accreditation2, pb::AccreditationStatus::Suspended, None).encode_to_vec()
        },
        object: |w| &w.accreditation2,
        intruder: |w| &w.agency.key,
        owner: |w| &w.agency2.key,
    },
    Foreign {
        what: "an agency withdraws another agency's accreditation",
        method: "ChangeAccreditationStatus",
        command: |w| {
            change_status(&w.accreditation, pb::AccreditationStatus::Withdrawn, None).encode_to_vec()
        },
        object: |w| &w.accreditation,
        intruder: |w| &w.agency2.key,
        owner: |w| &w.agency.key,
    },
    Foreign {
        what: "a provider revises another provider's qualification",
        method: "ReviseQualification",
        command: |w| revise_qualification(&w.qualification2).encode_to_vec(),
        object: |w| &w.qualification2,
        intruder: |w| &w.provider.key,
        owner: |w| &w.provider2.key,
    },
    Foreign {
        what: "a provider withdraws another provider's qualification",
        method: "WithdrawQualification",
        command: |w| withdraw_qualification(&w.withdrawable).encode_to_vec(),
        object: |w| &w.withdrawable,
        intruder: |w| &w.provider2.key,
        owner: |w| &w.provider.key,
    },
    Foreign {
        what: "a body retracts another body's recognition",
        method: "RetractRecognition",
        command: |w| retract_recognition(&w.recognition2).encode_to_vec(),
        object: |w| &w.recognition2,
        intruder: |w| &w.body.key,
        owner: |w| &w.body2.key,
    },
    Foreign {
        what: "a body retracts another body's recognition (the other way round)",
        method: "RetractRecognition",
        command: |w| retract_recognition(&w.recognition).encode_to_vec(),
        object: |w| &w.recognition,
        intruder: |w| &w.body2.key,
        owner: |w| &w.body.key,
    },
];

// Not its object: the right role, but another actor's accreditation, qualification or
// recognition -> PERMISSION_DENIED naming the object; the owner may make the same write.
both_backends!(objects_of_other_actors, async |app: &TestApp| {
    let w = World::build(app).await;
    for row in FOREIGN {
        let object = (row.object)(&w);
        let envelope = seal((row.intruder)(&w), row.method, (row.command)(&w));
        let status = w
            .refused(
                app,
                row.method,
                Some(envelope),
                Code::PermissionDenied,
                "belongs to",
            )
            .await;
        assert!(status.message().contains(object), "{}: {status:?}", row.what);
        let written = w.ok(app, (row.owner)(&w), row.method, (row.command)(&w)).await;
        assert_eq!(
            written.id, object,
            "{}: the owner's write changes the same object",
            row.what
        );
    }
});

// Keys: an actor changing another actor's keys -> PERMISSION_DENIED; the operator may change
// any actor's keys; an actor may name itself explicitly.
both_backends!(keys_of_other_actors, async |app: &TestApp| {
    let w = World::build(app).await;
    let (agency, provider, body) = (&w.agency, &w.provider, &w.body);
    let pairs: [(&Actor, &Actor); 9] = [
        (agency, provider),
        (agency, body),
        (agency, &w.agency2),
        (provider, agency),
        (provider, body),
        (provider, &w.provider2),
        (body, agency),
        (body, provider),
        (body, &w.body2),
    ];
    for method in ["AddKey", "RotateKey", "RevokeKey"] {
        for (signer, target) in pairs {
            let bytes = key_command(method, &target.id, &target.key_id());
            let status = w
                .refused(
                    app,
                    method,
                    Some(seal(&signer.key, method, bytes)),
                    Code::PermissionDenied,
                    "only its own keys",
                )
                .await;
            assert!(
                status.message().contains(&target.id),
                "{method} on {}: {status:?}",
                target.id
            );
        }
        for target in [agency, provider, body, &w.agency2] {
            let key_id = if method == "AddKey" {
                String::new()
            } else {
                key_id_of(target.spare())
            };
            let before = keys_of(&snapshot(app).await, &target.id);
            let written = w
                .ok(
                    app,
                    w.signer(Who::Operator),
                    method,
                    key_command(method, &target.id, &key_id),
                )
                .await;
            assert_eq!(written.receipt.signer_id, "operator");
            let after = keys_of(&snapshot(app).await, &target.id);
            assert!(
                after != before,
                "the operator's {method} changed the keys of {}",
                target.id
            );
            if method != "AddKey" {
                assert!(
                    after.iter().any(|k| k.key_id == key_id),
                    "{method}: {key_id} is still listed"
                );
            }
        }
        for actor in [agency, provider, body] {
            let key_id = if method == "AddKey" {
                String::new()
            } else {
                key_id_of(actor.spare())
            };
            w.ok(app, &actor.key, method, key_command(method, &actor.id, &key_id))
                .await;
        }
    }
});

/// The keys of an actor as the catalogue lists them.
fn keys_of(snapshot: &Snapshot, actor_id: &str) -> Vec<pb::ActorKey> {
    let found = snapshot
        .agencies
        .iter()
        .filter(|a| a.id == actor_id)
        .map(|a| a.keys.clone())
        .chain(
            snapshot
                .providers
                .iter()
                .filter(|p| p.id == actor_id)
                .map(|p| p.keys.clone()),
        )
        .chain(
            snapshot
                .bodies
                .iter()
                .filter(|b| b.id == actor_id)
                .map(|b| b.keys.clone()),
        )
        .next();
    found.unwrap_or_else(|| panic!("{actor_id} is listed"))
}

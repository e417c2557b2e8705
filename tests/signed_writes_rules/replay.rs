//! Replay, nonces, the clock window and the header.

use prost::Message;
use tonic::Code;
use trust_registry::domain::Timestamp;
use trust_registry::pb;

use crate::both_backends;
use crate::commands::*;
use crate::common::TestApp;
use crate::common::signed::{description, key_spec, nonce};
use crate::world::*;

const PUBLISH: &str = "PublishQualification";

both_backends!(replay_of_every_rpc, async |app: &TestApp| {
    let w = World::build(app).await;
    for case in &RPCS {
        let who = case.allowed[0];
        let envelope = seal(w.signer(who), case.method, (case.command)(&w, who));
        let first = w.accept(app, case.method, envelope.clone()).await;
        let after_first = snapshot(app).await;
        let again = send(app, case.method, Some(envelope.clone()))
            .await
            .unwrap_or_else(|s| panic!("{}: {s:?}", case.method));
        assert!(
            again.receipt.replayed,
            "{}: the resent envelope is a replay",
            case.method
        );
        assert_eq!(
            pb::WriteReceipt {
                replayed: false,
                ..again.receipt.clone()
            },
            first.receipt,
            "{}: same envelope id, log index, signer and time",
            case.method
        );
        assert_eq!(
            again.result, first.result,
            "{}: the first result is returned again",
            case.method
        );
        let after_replay = snapshot(app).await;
        assert_eq!(
            after_replay.counts(),
            after_first.counts(),
            "{}: nothing written twice",
            case.method
        );
        assert!(
            after_replay == after_first,
            "{}: the replay wrote nothing",
            case.method
        );
        let stored = app
            .log()
            .get_signed_write(pb::GetSignedWriteRequest {
                envelope_id: first.receipt.envelope_id.clone(),
            })
            .await
            .expect("GetSignedWrite")
            .into_inner()
            .signed_write
            .expect("signed write");
        assert_eq!(
            (stored.rpc, stored.envelope, stored.log_index),
            (rpc_name(case.method), Some(envelope), first.receipt.log_index)
        );
    }
    // The next write takes the position after the last first write: replays took none.
    w.ok(
        app,
        &w.provider.key,
        PUBLISH,
        publish_qualification("After replays").encode_to_vec(),
    )
    .await;
});

fn with_nonce<C: Message>(
    mut command: C,
    set: impl FnOnce(&mut C) -> &mut Option<pb::CommandHeader>,
    nonce: &str,
) -> Vec<u8> {
    set(&mut command).as_mut().expect("header").nonce = nonce.into();
    command.encode_to_vec()
}

fn publish_with(nonce: &str, title: &str) -> Vec<u8> {
    with_nonce(publish_qualification(title), |c| &mut c.header, nonce)
}

// Nonces: reused by the same signer with other bytes -> ALREADY_EXISTS naming header.nonce and
// the first envelope; the same nonce by different signers is fine; a refused write does not use
// its nonce up.
both_backends!(nonce_reuse, async |app: &TestApp| {
    let w = World::build(app).await;
    let p = &w.provider.key;

    let n = nonce();
    let first = w.ok(app, p, PUBLISH, publish_with(&n, "First")).await;
    for (method, bytes) in [
        (PUBLISH, publish_with(&n, "Second")),
        (
            "WithdrawQualification",
            with_nonce(withdraw_qualification(&w.withdrawable), |c| &mut c.header, &n),
        ),
        (
            "AddKey",
            with_nonce(
                pb::AddKeyCommand {
                    header: crate::common::signed::header(),
                    actor_id: String::new(),
                    key: Some(key_spec(&fresh_key())),
                },
                |c| &mut c.header,
                &n,
            ),
        ),
    ] {
        let status = w
            .refused(
                app,
                method,
                Some(seal(p, method, bytes)),
                Code::AlreadyExists,
                "header.nonce",
            )
            .await;
        assert!(
            status.message().contains(&first.receipt.envelope_id),
            "{method}: names the first envelope: {status:?}"
        );
    }
    // Another of the provider's keys is the same signer (the provider).
    let spare = w.provider.spare();
    w.refused(
        app,
        PUBLISH,
        Some(seal(spare, PUBLISH, publish_with(&n, "Third"))),
        Code::AlreadyExists,
        "header.nonce",
    )
    .await;

    // The same nonce by every other signer: all accepted.
    let shared = nonce();
    w.ok(app, p, PUBLISH, publish_with(&shared, "Shared nonce")).await;
    w.ok(
        app,
        &w.provider2.key,
        PUBLISH,
        publish_with(&shared, "Shared nonce"),
    )
    .await;
    let register = with_nonce(register_provider(), |c| &mut c.header, &shared);
    w.ok(app, &w.agency.key, "RegisterProvider", register).await;
    let recognise = with_nonce(
        publish_recognition_of(&w.qualification),
        |c| &mut c.header,
        &shared,
    );
    w.ok(app, &w.body.key, "PublishRecognition", recognise).await;
    let admit = with_nonce(admit_qa_agency(), |c| &mut c.header, &shared);
    w.ok(app, w.signer(Who::Operator), "AdmitQaAgency", admit).await;

    // Refused writes leave their nonce unused.
    let fresh = nonce();
    let mut bad = publish_qualification("No outcomes");
    bad.description.as_mut().unwrap().learning_outcomes.clear();
    let bad = with_nonce(bad, |c| &mut c.header, &fresh);
    w.invalid(
        app,
        PUBLISH,
        Some(seal(p, PUBLISH, bad)),
        "description.learning_outcomes",
    )
    .await;
    let denied = with_nonce(admit_qa_agency(), |c| &mut c.header, &fresh);
    w.refused(
        app,
        "AdmitQaAgency",
        Some(seal(p, "AdmitQaAgency", denied)),
        Code::PermissionDenied,
        "must be signed by",
    )
    .await;
    w.ok(app, p, PUBLISH, publish_with(&fresh, "Nonce still free"))
        .await;
});

/// How a header row is expected to end.
enum Expect {
    Accepted,
    Refused(Code, &'static str),
    Invalid(&'static str),
}

fn skewed(seconds: i64) -> Option<pb::CommandHeader> {
    crate::common::signed::header_at(Timestamp::now().plus_seconds(seconds))
}

fn with_nonce_text(nonce: String) -> Option<pb::CommandHeader> {
    Some(pb::CommandHeader {
        nonce,
        ..crate::common::signed::header().unwrap()
    })
}

/// A fresh nonce cut or padded to `len` characters; its counter keeps it unique within the run.
fn nonce_of_len(len: usize) -> String {
    let n = nonce();
    if len <= n.len() {
        n[n.len() - len..].to_owned()
    } else {
        format!("{n:_<len$}")
    }
}

/// (what, the header, the outcome expected).
type HeaderRow = (&'static str, fn() -> Option<pb::CommandHeader>, Expect);

const HEADERS: &[HeaderRow] = &[
    (
        "issued 301 s ago",
        || skewed(-301),
        Expect::Refused(Code::FailedPrecondition, "header.issued_at is stale"),
    ),
    (
        "issued an hour ago",
        || skewed(-3600),
        Expect::Refused(Code::FailedPrecondition, "header.issued_at is stale"),
    ),
    (
        "issued 301 s ahead",
        || skewed(301),
        Expect::Refused(Code::FailedPrecondition, "header.issued_at is in the future"),
    ),
    (
        "issued a day ahead",
        || skewed(86_400),
        Expect::Refused(Code::FailedPrecondition, "header.issued_at is in the future"),
    ),
    ("issued 290 s ago", || skewed(-290), Expect::Accepted),
    ("issued 290 s ahead", || skewed(290), Expect::Accepted),
    (
        "no issued_at",
        || {
            Some(pb::CommandHeader {
                issued_at: None,
                nonce: nonce(),
            })
        },
        Expect::Invalid("header.issued_at"),
    ),
    (
        "issued_at out of range",
        || {
            Some(pb::CommandHeader {
                issued_at: Some(pbjson_types::Timestamp {
                    seconds: 0,
                    nanos: 2_000_000_000,
                }),
                nonce: nonce(),
            })
        },
        Expect::Invalid("header.issued_at"),
    ),
    ("no header", || None, Expect::Invalid("header")),
    (
        "empty nonce",
        || with_nonce_text(String::new()),
        Expect::Invalid("header.nonce"),
    ),
    (
        "15-character nonce",
        || with_nonce_text(nonce_of_len(15)),
        Expect::Invalid("header.nonce"),
    ),
    (
        "129-character nonce",
        || with_nonce_text(nonce_of_len(129)),
        Expect::Invalid("header.nonce"),
    ),
    (
        "nonce with a space",
        || with_nonce_text(format!("{} x", nonce())),
        Expect::Invalid("header.nonce"),
    ),
    (
        "nonce with a dot",
        || with_nonce_text(format!("{}.x", nonce())),
        Expect::Invalid("header.nonce"),
    ),
    (
        "16-character nonce",
        || with_nonce_text(nonce_of_len(16)),
        Expect::Accepted,
    ),
    (
        "128-character nonce",
        || with_nonce_text(nonce_of_len(128)),
        Expect::Accepted,
    ),
];

// The header: issued_at within +-300 s of the registry's clock, a well-formed nonce.
both_backends!(clock_window_and_header, async |app: &TestApp| {
    let w = World::build(app).await;
    for (what, header, expect) in HEADERS {
        let command = pb::PublishQualificationCommand {
            header: header(),
            description: Some(description(what)),
        };
        let envelope = seal(&w.provider.key, PUBLISH, command.encode_to_vec());
        match expect {
            Expect::Accepted => {
                let written = w.accept(app, PUBLISH, envelope).await;
                assert!(
                    written.result.contains(what),
                    "{what}: the description was published"
                );
            }
            Expect::Refused(code, fragment) => {
                w.refused(app, PUBLISH, Some(envelope), *code, fragment).await;
            }
            Expect::Invalid(field) => {
                w.invalid(app, PUBLISH, Some(envelope), field).await;
            }
        }
    }
    // Issue times count for every signer and RPC, not just providers.
    let stale = pb::AdmitQaAgencyCommand {
        header: skewed(-301),
        ..admit_qa_agency()
    };
    let envelope = seal(w.signer(Who::Operator), "AdmitQaAgency", stale.encode_to_vec());
    w.refused(
        app,
        "AdmitQaAgency",
        Some(envelope),
        Code::FailedPrecondition,
        "stale",
    )
    .await;
    let ahead = pb::RevokeKeyCommand {
        header: skewed(301),
        actor_id: String::new(),
        key_id: key_id_of(w.body.spare()),
        revoked_at: None,
        reason: "ahead".into(),
    };
    let envelope = seal(&w.body.key, "RevokeKey", ahead.encode_to_vec());
    w.refused(
        app,
        "RevokeKey",
        Some(envelope),
        Code::FailedPrecondition,
        "future",
    )
    .await;
});

//! Bad ranges and ids are INVALID_ARGUMENT, with the bound in the message.

use super::*;
use crate::both_backends;

#[track_caller]
fn expect_bound<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, tonic::Status>,
    field: &str,
    bound: &str,
) {
    let status = expect_invalid(result.map(|r| r.into_inner()), field);
    assert!(
        status.message().contains(bound),
        "the message states the bound {bound:?}: {:?}",
        status.message()
    );
}

both_backends!(bad_ranges_are_invalid_arguments, async |app: &TestApp| {
    let written = writes(app, "bounds", 3).await;
    let mut log = app.log();
    let inclusion = |leaf_index, tree_size| pb::GetInclusionProofRequest {
        leaf_index,
        tree_size,
    };
    let consistency = |old_size, new_size| pb::GetConsistencyProofRequest { old_size, new_size };
    let range = |start, end| pb::GetEntriesRequest { start, end };

    // Inclusion: the leaf inside the tree, the tree inside the log.
    expect_bound(
        log.get_inclusion_proof(inclusion(3, 3)).await,
        "leaf_index",
        "less than tree_size 3",
    );
    expect_bound(
        log.get_inclusion_proof(inclusion(7, 2)).await,
        "leaf_index",
        "less than tree_size 2",
    );
    expect_bound(
        log.get_inclusion_proof(inclusion(0, 0)).await,
        "tree_size",
        "between 1 and the log size 3",
    );
    expect_bound(
        log.get_inclusion_proof(inclusion(0, 4)).await,
        "tree_size",
        "between 1 and the log size 3",
    );
    expect_bound(
        log.get_inclusion_proof(inclusion(u64::MAX, u64::MAX)).await,
        "tree_size",
        "between 1 and the log size 3",
    );
    assert_eq!(
        log.get_inclusion_proof(inclusion(2, 3))
            .await
            .expect("the last leaf")
            .into_inner()
            .tree_size,
        3
    );

    // Consistency: 1 <= old_size <= new_size <= log size.
    expect_bound(
        log.get_consistency_proof(consistency(3, 2)).await,
        "old_size",
        "not exceed new_size 2",
    );
    expect_bound(
        log.get_consistency_proof(consistency(0, 2)).await,
        "old_size",
        "at least 1",
    );
    expect_bound(
        log.get_consistency_proof(consistency(1, 4)).await,
        "new_size",
        "at most the log size 3",
    );
    expect_bound(
        log.get_consistency_proof(consistency(4, 4)).await,
        "new_size",
        "at most the log size 3",
    );
    let same = log
        .get_consistency_proof(consistency(3, 3))
        .await
        .expect("equal sizes")
        .into_inner();
    assert!(same.hashes.is_empty());

    // Entries: start < end <= log size.
    expect_bound(log.get_entries(range(2, 2)).await, "start", "less than end 2");
    expect_bound(log.get_entries(range(3, 1)).await, "start", "less than end 1");
    expect_bound(log.get_entries(range(0, 0)).await, "start", "less than end 0");
    expect_bound(
        log.get_entries(range(0, 4)).await,
        "end",
        "at most the log size 3",
    );
    expect_bound(
        log.get_entries(range(5, 9)).await,
        "end",
        "at most the log size 3",
    );
    assert_eq!(
        log.get_entries(range(2, 3))
            .await
            .expect("the last entry")
            .into_inner()
            .entries
            .len(),
        1
    );

    // Envelope ids: 64 lowercase hex characters.
    let id = written[0].receipt.envelope_id.clone();
    for bad in [
        "not-hex".to_owned(),
        String::new(),
        id.to_uppercase(),
        id[..63].to_owned(),
        format!("{id}0"),
        format!("{}g", &id[..63]),
    ] {
        expect_bound(
            log.get_signed_write(pb::GetSignedWriteRequest { envelope_id: bad })
                .await,
            "envelope_id",
            "64 lowercase hex characters",
        );
    }
    let unknown = "0".repeat(64);
    let status = log
        .get_signed_write(pb::GetSignedWriteRequest {
            envelope_id: unknown.clone(),
        })
        .await
        .expect_err("an unknown id");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let found = log
        .get_signed_write(pb::GetSignedWriteRequest { envelope_id: id })
        .await
        .expect("a stored write")
        .into_inner();
    assert_eq!(found.signed_write.expect("the write").log_index, 0);
});

/// Writes `count` agencies, eight writers at a time (the test of the 1,000-entry bound needs a
/// log longer than that).
async fn many_agencies(app: &TestApp, count: usize) {
    let mut tasks = Vec::new();
    for t in 0..8 {
        let governance = app.governance();
        tasks.push(tokio::spawn(async move {
            for i in (t..count).step_by(8) {
                let agency = key(&format!("bulk agency {i}"));
                let command = pb::AdmitQaAgencyCommand {
                    header: header(),
                    names: en(&format!("Bulk Agency {i}")),
                    country: "IE".into(),
                    keys: vec![key_spec(&agency)],
                    ..Default::default()
                };
                governance
                    .clone()
                    .admit_qa_agency(pb::AdmitQaAgencyRequest {
                        envelope: envelope(&operator_key(), "GovernanceService", "AdmitQaAgency", &command),
                    })
                    .await
                    .expect("AdmitQaAgency");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
}

both_backends!(entries_come_at_most_1000_at_a_time, async |app: &TestApp| {
    many_agencies(app, 1_001).await;
    let head = checkpoint(app).await;
    assert_eq!(head.size, 1_001);
    let mut log = app.log();
    let range = |start, end| pb::GetEntriesRequest { start, end };
    expect_bound(
        log.get_entries(range(0, 1_001)).await,
        "end",
        "at most start + 1000",
    );
    let first = log
        .get_entries(range(0, 1_000))
        .await
        .expect("1,000 entries")
        .into_inner();
    assert_eq!(first.entries.len(), 1_000);
    let rest = log
        .get_entries(range(1_000, 1_001))
        .await
        .expect("the last entry")
        .into_inner();
    assert_eq!((rest.start, rest.entries.len()), (1_000, 1));
    let tail = log
        .get_entries(range(1, 1_001))
        .await
        .expect("1,000 entries")
        .into_inner();
    assert_eq!(tail.entries[..999], first.entries[1..]);
    let leaves = leaf_hashes(&[first.entries, rest.entries].concat());
    assert_eq!(merkle::root(&leaves), head.root);
});

//! Replicas: two servers on one database write one log.

use super::*;
use crate::both_backends;

/// The signed checkpoint a replica serves, opened with its verifier key.
async fn replica_checkpoint(replica: &Replica) -> Checkpoint {
    let mut log = LogServiceClient::new(replica.channel.clone());
    let vkey = log
        .get_verifier_key(pb::GetVerifierKeyRequest {})
        .await
        .expect("GetVerifierKey")
        .into_inner()
        .verifier_key;
    assert_eq!(
        vkey,
        note::verifier_key(ORIGIN, &public(&registry_key())).expect("a vkey")
    );
    let text = log
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .expect("GetCheckpoint")
        .into_inner()
        .checkpoint;
    note::open_note(&text, &vkey).expect("the replica's checkpoint opens")
}

/// Writers on two replicas at once: every write is accepted (none is refused because the other
/// replica was writing), the log has no gap or duplicate, and both replicas serve the same
/// checkpoint over the same entries.
async fn replicas_share_one_log(backend: common::Backend) {
    with_database(backend, async |url: String| {
        let replicas = [Replica::start(&url).await, Replica::start(&url).await];
        let agencies: Vec<SigningKey> = (0..WRITERS)
            .map(|t| key(&format!("replica agency {t}")))
            .collect();
        let mut tasks = Vec::new();
        for (t, agency) in agencies.into_iter().enumerate() {
            let replica = replicas[t % 2].channel.clone();
            tasks.push(tokio::spawn(async move {
                let command = pb::AdmitQaAgencyCommand {
                    header: header(),
                    names: en(&format!("Replica Agency {t}")),
                    country: "IE".into(),
                    keys: vec![key_spec(&agency)],
                    ..Default::default()
                };
                let admitted = GovernanceServiceClient::new(replica.clone())
                    .admit_qa_agency(pb::AdmitQaAgencyRequest {
                        envelope: envelope(&operator_key(), "GovernanceService", "AdmitQaAgency", &command),
                    })
                    .await
                    .expect("AdmitQaAgency on a replica")
                    .into_inner();
                let mut out = vec![admitted.receipt.expect("a receipt")];
                let client = AccreditationServiceClient::new(replica);
                for i in 0..WRITES_EACH {
                    let name = format!("replica provider {t}-{i}");
                    out.push(
                        register(client.clone(), &agency, &name, &key(&name))
                            .await
                            .1
                            .receipt,
                    );
                }
                out
            }));
        }
        let mut receipts = Vec::new();
        for task in tasks {
            receipts.extend(task.await.expect("writer task"));
        }
        let total = (WRITERS * (WRITES_EACH + 1)) as u64;
        let mut indexes: Vec<u64> = receipts.iter().map(|r| r.log_index).collect();
        indexes.sort_unstable();
        assert_eq!(
            indexes,
            (0..total).collect::<Vec<_>>(),
            "log indexes without gaps or duplicates"
        );

        let heads = [
            replica_checkpoint(&replicas[0]).await,
            replica_checkpoint(&replicas[1]).await,
        ];
        assert_eq!(heads[0], heads[1], "both replicas serve the same checkpoint");
        assert_eq!(heads[0].size, total);
        let mut log = LogServiceClient::new(replicas[1].channel.clone());
        let mut leaves = Vec::new();
        for start in (0..total).step_by(7) {
            let end = (start + 7).min(total);
            let answer = log
                .get_entries(pb::GetEntriesRequest { start, end })
                .await
                .expect("GetEntries");
            leaves.extend(answer.into_inner().entries.iter().map(|e| merkle::leaf_hash(e)));
        }
        assert_eq!(merkle::root(&leaves), heads[0].root);
        for replica in replicas {
            replica.stop().await;
        }
    })
    .await;
}

mod replicas_share_one_log {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::replicas_share_one_log(super::common::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::replicas_share_one_log(super::common::Backend::Postgres).await;
    }
}

// A range of large writes is answered in parts of at most 3 MiB, and a list of large items in
// shorter pages, each part continuing where the last ended: nothing is refused for its size,
// nothing skipped or repeated. Fourteen descriptions of ~240 KB each take ~3.4 MB.
both_backends!(large_writes_come_in_parts, async |app: &TestApp| {
    use trust_registry::api::log::MAX_ENTRIES_BYTES;

    let agency = key("large entries agency");
    let college = key("large entries college");
    admit(app, "Large Entries Agency", &agency).await;
    let (provider_id, _) = register(app.accreditations(), &agency, "Large Entries College", &college).await;
    let mut published = Vec::new();
    for i in 0..14 {
        let command = pb::PublishQualificationCommand {
            header: header(),
            description: Some(large_description(&format!("Large Entries Course {i}"))),
        };
        let answer = app
            .providers()
            .publish_qualification(pb::PublishQualificationRequest {
                envelope: envelope(&college, "ProviderService", "PublishQualification", &command),
            })
            .await
            .expect("PublishQualification")
            .into_inner();
        published.push(answer.qualification.expect("the qualification").id);
    }
    published.sort();

    let size = checkpoint(app).await.size;
    let mut start = 0;
    let mut parts = Vec::new();
    let mut all = Vec::new();
    while start < size {
        let answer = app
            .log()
            .get_entries(pb::GetEntriesRequest { start, end: size })
            .await
            .unwrap_or_else(|e| panic!("GetEntries [{start}, {size}): {e}"))
            .into_inner();
        assert_eq!(answer.start, start);
        assert!(!answer.entries.is_empty());
        let bytes: usize = answer.entries.iter().map(Vec::len).sum();
        assert!(bytes <= MAX_ENTRIES_BYTES, "{bytes} bytes in one answer");
        parts.push(answer.entries.len());
        start += answer.entries.len() as u64;
        all.extend(answer.entries);
    }
    assert!(parts.len() >= 2, "one answer for ~3.4 MB of entries: {parts:?}");
    let from_entries: Vec<Hash> = leaf_hashes(&all);
    assert_eq!(merkle::root(&from_entries), checkpoint(app).await.root);

    let mut pages = Vec::new();
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .catalogue
            .clone()
            .search_qualifications(pb::SearchQualificationsRequest {
                provider_id: provider_id.clone(),
                page_size: 500,
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("SearchQualifications")
            .into_inner();
        assert!(
            page.encoded_len() <= 4 * 1024 * 1024,
            "{} bytes",
            page.encoded_len()
        );
        pages.push(page.qualifications.len());
        ids.extend(page.qualifications.into_iter().map(|q| q.id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert!(
        pages.len() >= 2,
        "one page for ~3.4 MB of descriptions: {pages:?}"
    );
    assert_eq!(ids, published);
});

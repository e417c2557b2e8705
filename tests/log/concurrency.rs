//! Concurrent writers: every acknowledged write is logged exactly once, without gaps.

use super::*;
use crate::both_backends;

both_backends!(concurrent_writes_are_each_logged_once, async |app: &TestApp| {
    // Setup: one agency per writer.
    let agencies: Vec<SigningKey> = (0..WRITERS)
        .map(|t| key(&format!("concurrent agency {t}")))
        .collect();
    let mut setup = Vec::new();
    for (t, agency) in agencies.iter().enumerate() {
        setup.push(admit(app, &format!("Concurrent Agency {t}"), agency).await.1);
    }
    assert_positions(&setup);

    // A reader takes checkpoints while the writers write.
    let (done_tx, mut done_rx) = tokio::sync::watch::channel(false);
    let reader = {
        let mut log = app.log();
        tokio::spawn(async move {
            let mut notes = Vec::new();
            while !*done_rx.borrow_and_update() {
                let note = log
                    .get_checkpoint(pb::GetCheckpointRequest {})
                    .await
                    .expect("GetCheckpoint during writes")
                    .into_inner()
                    .checkpoint;
                notes.push(note);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            notes
        })
    };

    // Each writer on its own connection, with its own agency key and fresh nonces.
    let mut tasks = Vec::new();
    for (t, agency) in agencies.iter().cloned().enumerate() {
        let channel = Channel::from_shared(format!("http://{}", app.addr))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        tasks.push(tokio::spawn(async move {
            let client = AccreditationServiceClient::new(channel);
            let mut out = Vec::new();
            for i in 0..WRITES_EACH {
                let name = format!("concurrent provider {t}-{i}");
                out.push(register(client.clone(), &agency, &name, &key(&name)).await);
            }
            out
        }));
    }
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.expect("writer task"));
    }
    done_tx.send(true).expect("the reader listens");
    let notes = reader.await.expect("reader task");

    let total = setup.len() + acknowledged.len();
    assert_eq!(acknowledged.len(), WRITERS * WRITES_EACH);
    let mut indexes: Vec<u64> = setup
        .iter()
        .chain(acknowledged.iter().map(|(_, w)| w))
        .map(|w| w.receipt.log_index)
        .collect();
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (0..total as u64).collect::<Vec<_>>(),
        "log indexes without gaps or duplicates"
    );

    let head = checkpoint(app).await;
    assert_eq!(head.size, total as u64, "one entry per acknowledged write");
    let entries = entries(app, head.size, 7).await;
    let leaves = leaf_hashes(&entries);
    assert_eq!(merkle::root(&leaves), head.root);

    // Every acknowledged write is the entry at its index, and appears nowhere else.
    let mut positions: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, bytes) in entries.iter().enumerate() {
        positions
            .entry(entry_envelope_id(&decode(bytes)))
            .or_default()
            .push(index);
    }
    for w in setup.iter().chain(acknowledged.iter().map(|(_, w)| w)) {
        assert_eq!(
            positions.get(&w.receipt.envelope_id),
            Some(&vec![w.receipt.log_index as usize]),
            "write {} is logged once, at its index",
            w.receipt.envelope_id
        );
    }

    // No entry without its write: as many RegisterProvider entries as providers in the catalogue.
    let logged = entries
        .iter()
        .filter(|e| decode(e).rpc == REGISTER_PROVIDER)
        .count();
    let providers = app
        .catalogue
        .clone()
        .search_providers(pb::SearchProvidersRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("SearchProviders")
        .into_inner();
    assert!(providers.next_page_token.is_empty());
    let mut created: Vec<String> = providers.providers.into_iter().map(|p| p.id).collect();
    created.sort();
    let mut ids: Vec<String> = acknowledged.iter().map(|(id, _)| id.clone()).collect();
    ids.sort();
    assert_eq!(
        created, ids,
        "the catalogue holds exactly the acknowledged providers"
    );
    assert_eq!(
        logged,
        created.len(),
        "RegisterProvider entries vs providers created"
    );
    let per_signer: BTreeMap<String, usize> = entries
        .iter()
        .filter_map(|e| {
            let entry = decode(e);
            (entry.rpc == REGISTER_PROVIDER).then(|| entry.envelope.expect("an envelope").key_id)
        })
        .fold(BTreeMap::new(), |mut counts, k| {
            *counts.entry(k).or_default() += 1;
            counts
        });
    assert_eq!(per_signer.len(), WRITERS);
    assert!(per_signer.values().all(|&n| n == WRITES_EACH), "{per_signer:?}");

    // Every checkpoint seen during the writes is a prefix of the final log.
    let vkey = verifier_key(app).await;
    assert!(!notes.is_empty());
    let mut last = 0;
    for note_text in &notes {
        let seen = note::open_note(note_text, &vkey).expect("a checkpoint taken during writes opens");
        assert!(
            seen.size >= last,
            "checkpoints never shrink: {} after {last}",
            seen.size
        );
        last = seen.size;
        assert!(seen.size >= setup.len() as u64 && seen.size <= head.size);
        assert_eq!(
            merkle::root(&leaves[..seen.size as usize]),
            seen.root,
            "checkpoint {}",
            seen.size
        );
    }
});

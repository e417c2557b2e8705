//! Checkpoints are signed notes under the registry key; entries recompute them.

use super::*;
use crate::both_backends;

both_backends!(checkpoint_is_signed_by_the_registry_key, async |app: &TestApp| {
    let vkey = verifier_key(app).await;
    assert_eq!(
        vkey,
        note::verifier_key(ORIGIN, &registry_public_key(app).await).expect("a verifier key"),
        "the checkpoint key is the registry key, named after the origin"
    );
    assert_eq!(
        vkey,
        note::verifier_key(ORIGIN, &public(&registry_key())).expect("a verifier key"),
        "the server signs checkpoints with the registry key it was configured with"
    );
    assert_eq!(
        note::parse_verifier_key(&vkey).expect("a well-formed vkey").0,
        ORIGIN
    );

    // The empty log: size 0 and the hash of the empty string.
    let empty = checkpoint(app).await;
    assert_eq!((empty.size, empty.root), (0, merkle::empty_root()));

    let written = writes(app, "checkpoint", 15).await;
    assert_positions(&written);

    let note_text = checkpoint_note(app).await;
    let head = note::open_note(&note_text, &vkey).expect("the checkpoint opens with the vkey");
    assert_eq!(head.origin, ORIGIN);
    assert_eq!(head.size, 15);
    assert_ne!(head.root, empty.root);
    assert!(note_text.starts_with(&head.body()), "{note_text:?}");

    // The same body signed by another key under the same name is not the registry's.
    let impostor = key("impostor");
    let forged = head.sign(ORIGIN, &impostor).expect("signs");
    assert_ne!(forged, note_text);
    assert!(
        note::open_note(&forged, &vkey).is_err(),
        "a checkpoint signed by another key is refused"
    );
    let impostor_vkey = note::verifier_key(ORIGIN, &public(&impostor)).expect("a vkey");
    assert_eq!(
        note::open_note(&forged, &impostor_vkey),
        Ok(head.clone()),
        "the forgery is well formed"
    );
    assert!(note::open_note(&note_text, &impostor_vkey).is_err());

    // Nor is an altered body under the registry's signature.
    let altered = note_text.replacen("\n15\n", "\n16\n", 1);
    assert_ne!(altered, note_text);
    assert!(
        note::open_note(&altered, &vkey).is_err(),
        "an altered checkpoint is refused"
    );

    // A resent envelope is answered from its first receipt and adds no entry.
    let command = pb::AdmitQaAgencyCommand {
        header: header(),
        names: en("Resent Agency"),
        country: "IE".into(),
        keys: vec![key_spec(&key("resent agency"))],
        ..Default::default()
    };
    let request = pb::AdmitQaAgencyRequest {
        envelope: envelope(&operator_key(), "GovernanceService", "AdmitQaAgency", &command),
    };
    let mut receipts = Vec::new();
    for _ in 0..2 {
        let answer = app
            .governance()
            .admit_qa_agency(request.clone())
            .await
            .expect("AdmitQaAgency");
        receipts.push(answer.into_inner().receipt.expect("a receipt"));
    }
    assert_eq!((receipts[0].log_index, receipts[0].replayed), (15, false));
    assert_eq!((receipts[1].log_index, receipts[1].replayed), (15, true));
    assert_eq!(receipts[1].envelope_id, receipts[0].envelope_id);
    assert_eq!(
        checkpoint(app).await.size,
        16,
        "the resent envelope adds no entry"
    );
});

both_backends!(entries_recompute_the_checkpoint, async |app: &TestApp| {
    let written = writes(app, "entries", 17).await;
    assert_positions(&written);
    let keys = signer_keys(&written);
    let head = checkpoint(app).await;
    assert_eq!(head.size, 17);

    let entries = entries(app, head.size, 7).await;
    assert_eq!(
        merkle::root(&leaf_hashes(&entries)),
        head.root,
        "the entries hash to the checkpoint root"
    );
    assert_ne!(
        merkle::root(&leaf_hashes(&entries[..16])),
        head.root,
        "a prefix does not (the check can fail)"
    );
    // The same entries fetched all at once.
    assert_eq!(self::entries(app, head.size, 1_000).await, entries);

    for (index, (bytes, w)) in entries.iter().zip(&written).enumerate() {
        let entry = decode(bytes);
        assert_eq!(
            &entry.encode_to_vec(),
            bytes,
            "entry {index} is the canonical encoding of its LogEntry"
        );
        let env = entry.envelope.clone().expect("an envelope");
        let signer = keys
            .get(&env.key_id)
            .unwrap_or_else(|| panic!("entry {index} is signed by a known key: {}", env.key_id));
        assert_eq!(*signer, w.signer, "entry {index} is signed by the writer's key");
        envelope::verify(signer, &entry.rpc, &env.command, &env.signature)
            .unwrap_or_else(|e| panic!("entry {index}: {e}"));
        let id = entry_envelope_id(&entry);
        assert_eq!(
            id, w.receipt.envelope_id,
            "entry {index} is the write acknowledged at {index}"
        );

        let stored = app
            .log()
            .get_signed_write(pb::GetSignedWriteRequest {
                envelope_id: id.clone(),
            })
            .await
            .expect("GetSignedWrite")
            .into_inner()
            .signed_write
            .expect("the signed write");
        assert_eq!(stored.envelope_id, id);
        assert_eq!(stored.log_index, index as u64);
        assert_eq!(stored.rpc, entry.rpc);
        assert_eq!(stored.envelope, Some(env));
        assert_eq!(stored.received_at, entry.received_at);
        assert_eq!(stored.received_at, w.receipt.accepted_at);
        assert_eq!(stored.signer_id, w.receipt.signer_id);
    }
});

//! LogService on SQLite and PostgreSQL, through a real server: every accepted write is a leaf of
//! an RFC 9162 Merkle log, checkpoints are C2SP signed notes under the registry key, and the
//! entries, inclusion proofs and consistency proofs the server hands out check out offline —
//! in Rust with `domain::merkle`, and with `tests/fixtures/verify_log.py`, a small verifier
//! written from RFC 9162 with the Python standard library only. Concurrent writers, on one
//! server and on two replicas sharing a database, leave one gapless log.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;
use trust_registry::domain::envelope;
use trust_registry::domain::keys::key_id;
use trust_registry::domain::merkle::{self, Hash};
use trust_registry::domain::note::{self, Checkpoint};
use trust_registry::pb;
use trust_registry::pb::accreditation_service_client::AccreditationServiceClient;
use trust_registry::pb::issuer_query::Issuer;

use trust_registry::pb::governance_service_client::GovernanceServiceClient;
use trust_registry::pb::log_service_client::LogServiceClient;

use common::TestApp;
use common::checks::expect_invalid;
use common::replica::{Replica, with_database};
use common::signed::*;

const ORIGIN: &str = "trust-registry";
const REGISTER_PROVIDER: &str = "/trustregistry.v1.AccreditationService/RegisterProvider";
/// A well-formed provider id the registry never issued.
const UNKNOWN_PROVIDER: &str = "prov_00000000000000000000";

// ---------------------------------------------------------------------------------------------
// Writes that keep their receipts

/// An accepted write as its signer saw it: the receipt and the signer's public key.
#[derive(Debug, Clone)]
struct Written {
    receipt: pb::WriteReceipt,
    signer: [u8; 32],
}

fn public(key: &SigningKey) -> [u8; 32] {
    key.verifying_key().to_bytes()
}

/// The operator admits a QA agency holding `key`.
async fn admit(app: &TestApp, name: &str, key: &SigningKey) -> (String, Written) {
    let command = pb::AdmitQaAgencyCommand {
        header: header(),
        names: en(name),
        country: "IE".into(),
        keys: vec![key_spec(key)],
        admitted_at: Some(trust_registry::api::convert::timestamp(
            trust_registry::domain::Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").unwrap(),
        )),
        ..Default::default()
    };
    let answer = app
        .governance()
        .admit_qa_agency(pb::AdmitQaAgencyRequest {
            envelope: envelope(&operator_key(), "GovernanceService", "AdmitQaAgency", &command),
        })
        .await
        .expect("AdmitQaAgency")
        .into_inner();
    let written = Written {
        receipt: answer.receipt.expect("a receipt"),
        signer: public(&operator_key()),
    };
    (answer.qa_agency.expect("the agency").id, written)
}

/// An agency registers a provider holding `key`, over `client`.
async fn register(
    mut client: AccreditationServiceClient<Channel>,
    agency: &SigningKey,
    name: &str,
    key: &SigningKey,
) -> (String, Written) {
    let command = provider_registration(name, vec![key_spec(key)]);
    let answer = client
        .register_provider(pb::RegisterProviderRequest {
            envelope: envelope(agency, "AccreditationService", "RegisterProvider", &command),
        })
        .await
        .expect("RegisterProvider")
        .into_inner();
    let written = Written {
        receipt: answer.receipt.expect("a receipt"),
        signer: public(agency),
    };
    (answer.provider.expect("the provider").id, written)
}

/// An actor adds `new_key` to its own keys.
async fn add_key(app: &TestApp, signer: &SigningKey, new_key: &SigningKey) -> Written {
    let command = pb::AddKeyCommand {
        header: header(),
        actor_id: String::new(),
        key: Some(key_spec(new_key)),
    };
    let answer = app
        .keys()
        .add_key(pb::AddKeyRequest {
            envelope: envelope(signer, "KeyService", "AddKey", &command),
        })
        .await
        .expect("AddKey")
        .into_inner();
    Written {
        receipt: answer.receipt.expect("a receipt"),
        signer: public(signer),
    }
}

/// `count` writes of three RPCs by three kinds of signer (operator, agency, agency key added
/// later), tagged `tag` so that keys and names never collide.
async fn writes(app: &TestApp, tag: &str, count: usize) -> Vec<Written> {
    let mut agency = key(&format!("{tag} agency 0"));
    let mut out = vec![admit(app, &format!("{tag} agency 0"), &agency).await.1];
    let mut i = 0;
    while out.len() < count {
        let name = format!("{tag} {i}");
        let written = match i % 3 {
            0 => {
                register(app.accreditations(), &agency, &name, &key(&name))
                    .await
                    .1
            }
            1 => {
                // The added key signs the agency's next writes.
                let added = key(&format!("{name} added"));
                let written = add_key(app, &agency, &added).await;
                agency = added;
                written
            }
            _ => {
                agency = key(&format!("{name} agency"));
                admit(app, &name, &agency).await.1
            }
        };
        out.push(written);
        i += 1;
    }
    out
}

/// Public keys of the signers of `written`, by registry key id.
fn signer_keys<'a>(written: impl IntoIterator<Item = &'a Written>) -> HashMap<String, [u8; 32]> {
    written
        .into_iter()
        .map(|w| (key_id(&w.signer), w.signer))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Reading the log

async fn verifier_key(app: &TestApp) -> String {
    app.log()
        .get_verifier_key(pb::GetVerifierKeyRequest {})
        .await
        .expect("GetVerifierKey")
        .into_inner()
        .verifier_key
}

/// The registry's public key as TrustService.GetRegistryKey publishes it.
async fn registry_public_key(app: &TestApp) -> [u8; 32] {
    app.trust()
        .get_registry_key(pb::GetRegistryKeyRequest {})
        .await
        .expect("GetRegistryKey")
        .into_inner()
        .public_key
        .as_slice()
        .try_into()
        .expect("a 32-byte registry key")
}

async fn checkpoint_note(app: &TestApp) -> String {
    app.log()
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .expect("GetCheckpoint")
        .into_inner()
        .checkpoint
}

/// The current checkpoint, opened with the published verifier key.
async fn checkpoint(app: &TestApp) -> Checkpoint {
    let vkey = verifier_key(app).await;
    let note = checkpoint_note(app).await;
    let checkpoint = note::open_note(&note, &vkey)
        .unwrap_or_else(|e| panic!("the checkpoint opens with the verifier key: {e}\n{note}"));
    assert_eq!(checkpoint.origin, ORIGIN);
    checkpoint
}

/// Entries [0, size) fetched `chunk` at a time; each answer starts where asked and is as long
/// as asked.
async fn entries(app: &TestApp, size: u64, chunk: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < size {
        let end = (start + chunk).min(size);
        let answer = app
            .log()
            .get_entries(pb::GetEntriesRequest { start, end })
            .await
            .unwrap_or_else(|e| panic!("GetEntries [{start}, {end}): {e}"))
            .into_inner();
        assert_eq!(answer.start, start);
        assert_eq!(
            answer.entries.len() as u64,
            end - start,
            "GetEntries [{start}, {end})"
        );
        out.extend(answer.entries);
        start = end;
    }
    out
}

fn leaf_hashes(entries: &[Vec<u8>]) -> Vec<Hash> {
    entries.iter().map(|e| merkle::leaf_hash(e)).collect()
}

/// The envelope id of a log entry, as the registry computes it on receipt.
fn entry_envelope_id(entry: &pb::LogEntry) -> String {
    let e = entry.envelope.as_ref().expect("an envelope");
    envelope::envelope_id(&entry.rpc, &e.command, &e.key_id, &e.signature)
}

fn decode(entry: &[u8]) -> pb::LogEntry {
    pb::LogEntry::decode(entry).expect("every entry decodes as a LogEntry")
}

async fn inclusion(app: &TestApp, leaf_index: u64, tree_size: u64) -> pb::GetInclusionProofResponse {
    app.log()
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            leaf_index,
            tree_size,
        })
        .await
        .unwrap_or_else(|e| panic!("GetInclusionProof({leaf_index}, {tree_size}): {e}"))
        .into_inner()
}

async fn consistency(app: &TestApp, old_size: u64, new_size: u64) -> pb::GetConsistencyProofResponse {
    app.log()
        .get_consistency_proof(pb::GetConsistencyProofRequest { old_size, new_size })
        .await
        .unwrap_or_else(|e| panic!("GetConsistencyProof({old_size}, {new_size}): {e}"))
        .into_inner()
}

fn hashes(list: &[Vec<u8>]) -> Vec<Hash> {
    list.iter()
        .map(|h| h.as_slice().try_into().expect("32-byte proof hashes"))
        .collect()
}

/// Asserts that the receipts' log indexes are 0, 1, 2, ... in the order of the writes.
#[track_caller]
fn assert_positions(written: &[Written]) {
    for (position, w) in written.iter().enumerate() {
        assert!(!w.receipt.replayed);
        assert_eq!(
            w.receipt.log_index, position as u64,
            "receipt of write {position}: {:?}",
            w.receipt
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Checkpoints are signed notes under the registry key

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

// ---------------------------------------------------------------------------------------------
// 2. Entries recompute the checkpoint, and are the signed writes as stored

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

// ---------------------------------------------------------------------------------------------
// 3. Every proof checks out, in Rust and in an independent Python verifier

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn run_verifier(file: &Path) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/verify_log.py");
    Command::new("python3")
        .arg(&script)
        .arg(file)
        .output()
        .expect("python3 runs tests/fixtures/verify_log.py")
}

fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Flips one bit of the first hash of the proof at `path` in the JSON document.
fn corrupt(doc: &serde_json::Value, list: &str, at: usize) -> serde_json::Value {
    let mut doc = doc.clone();
    let hash = &mut doc[list][at]["hashes"][0];
    let mut bytes = STANDARD.decode(hash.as_str().expect("a hash")).expect("base64");
    bytes[0] ^= 0x01;
    *hash = serde_json::Value::String(b64(&bytes));
    doc
}

both_backends!(proofs_verify_in_rust_and_python, async |app: &TestApp| {
    let written = writes(app, "proofs", 21).await;
    assert_positions(&written);
    let head = checkpoint(app).await;
    let size = head.size;
    assert_eq!(size, 21);
    let entries = entries(app, size, 7).await;
    let leaves = leaf_hashes(&entries);
    let roots: Vec<Hash> = (0..=size as usize).map(|n| merkle::root(&leaves[..n])).collect();
    assert_eq!(roots[size as usize], head.root);

    // Every leaf in every tree size, and every pair of sizes.
    let mut inclusion_proofs = Vec::new();
    for n in 1..=size {
        for i in 0..n {
            let proof = inclusion(app, i, n).await;
            assert_eq!((proof.leaf_index, proof.tree_size), (i, n));
            assert_eq!(proof.leaf_hash, leaves[i as usize], "leaf hash of entry {i}");
            let path = hashes(&proof.hashes);
            assert!(
                merkle::verify_inclusion(&leaves[i as usize], i, n, &path, &roots[n as usize]),
                "inclusion of {i} in {n}"
            );
            inclusion_proofs.push(serde_json::json!({
                "leaf_index": i,
                "tree_size": n,
                "leaf_hash": b64(&proof.leaf_hash),
                "hashes": proof.hashes.iter().map(|h| b64(h)).collect::<Vec<_>>(),
            }));
        }
    }
    let mut consistency_proofs = Vec::new();
    for m in 1..=size {
        for n in m..=size {
            let proof = consistency(app, m, n).await;
            assert_eq!((proof.old_size, proof.new_size), (m, n));
            let path = hashes(&proof.hashes);
            assert!(
                merkle::verify_consistency(m, n, &roots[m as usize], &roots[n as usize], &path),
                "consistency of {m} with {n}"
            );
            consistency_proofs.push(serde_json::json!({
                "old_size": m,
                "new_size": n,
                "hashes": proof.hashes.iter().map(|h| b64(h)).collect::<Vec<_>>(),
            }));
        }
    }
    let (inclusion_count, consistency_count) = (inclusion_proofs.len(), consistency_proofs.len());
    assert_eq!(inclusion_count, 231);
    assert_eq!(consistency_count, 231);
    let doc = serde_json::json!({
        "size": size,
        "root": b64(&head.root),
        "entries": entries.iter().map(|e| b64(e)).collect::<Vec<_>>(),
        "inclusion": inclusion_proofs,
        "consistency": consistency_proofs,
    });

    let dir = tempfile::tempdir().expect("a temporary directory");
    let write = |name: &str, doc: &serde_json::Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(doc).expect("JSON")).expect("write the proofs");
        path
    };
    let output = run_verifier(&write("proofs.json", &doc));
    assert_eq!(
        output.status.code(),
        Some(0),
        "the Python verifier accepts: {}",
        describe(&output)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!(
            "ok: root of {size} entries, {inclusion_count} inclusion proofs, \
             {consistency_count} consistency proofs"
        ),
        "it checked every proof"
    );

    // One corrupted proof of each kind fails there, and in Rust.
    let (i, n) = (5, size);
    let at = inclusion_proofs_index(i, n);
    let bad = corrupt(&doc, "inclusion", at);
    let output = run_verifier(&write("bad-inclusion.json", &bad));
    assert_eq!(
        output.status.code(),
        Some(1),
        "a corrupted inclusion proof: {}",
        describe(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&format!("inclusion ({i}, {n})")),
        "{}",
        describe(&output)
    );
    let bad_path: Vec<Hash> = bad["inclusion"][at]["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    assert!(!merkle::verify_inclusion(
        &leaves[i as usize],
        i,
        n,
        &bad_path,
        &roots[n as usize]
    ));

    let (m, n) = (6, 19);
    let at = consistency_proofs_index(m, n, size);
    assert_eq!(doc["consistency"][at]["old_size"], m);
    assert_eq!(doc["consistency"][at]["new_size"], n);
    let bad = corrupt(&doc, "consistency", at);
    let output = run_verifier(&write("bad-consistency.json", &bad));
    assert_eq!(
        output.status.code(),
        Some(1),
        "a corrupted consistency proof: {}",
        describe(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&format!("consistency ({m}, {n})")),
        "{}",
        describe(&output)
    );
    let bad_path: Vec<Hash> = bad["consistency"][at]["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    assert!(!merkle::verify_consistency(
        m,
        n,
        &roots[m as usize],
        &roots[n as usize],
        &bad_path
    ));

    // A changed entry no longer hashes to the checkpoint root.
    let mut bad = doc.clone();
    bad["entries"][3] = serde_json::Value::String(b64(b"not the entry"));
    let output = run_verifier(&write("bad-entry.json", &bad));
    assert_eq!(
        output.status.code(),
        Some(1),
        "a changed entry: {}",
        describe(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("do not hash to the checkpoint root"),
        "{}",
        describe(&output)
    );
});

/// Position of the inclusion proof (i, n) in the list built above (n = 1.., i = 0..n).
fn inclusion_proofs_index(i: u64, n: u64) -> usize {
    ((n - 1) * n / 2 + i) as usize
}

/// Position of the consistency proof (m, n) in the list built above (m = 1..=size, n = m..=size).
fn consistency_proofs_index(m: u64, n: u64, size: u64) -> usize {
    let before: u64 = (1..m).map(|k| size - k + 1).sum();
    (before + (n - m)) as usize
}

// ---------------------------------------------------------------------------------------------
// 4. Checkpoints stay consistent as the log grows

both_backends!(
    checkpoints_stay_consistent_as_the_log_grows,
    async |app: &TestApp| {
        let mut heads = Vec::new();
        let mut written = Vec::new();
        for (tag, count) in [("grow a", 1), ("grow b", 4), ("grow c", 3), ("grow d", 6)] {
            written.extend(writes(app, tag, count).await);
            let head = checkpoint(app).await;
            assert_eq!(head.size, written.len() as u64);
            heads.push(head);
        }
        assert_positions(&written);
        assert_eq!(heads.iter().map(|h| h.size).collect::<Vec<_>>(), [1, 5, 8, 14]);

        for (a, old) in heads.iter().enumerate() {
            for new in &heads[a..] {
                let proof = consistency(app, old.size, new.size).await;
                let path = hashes(&proof.hashes);
                assert!(
                    merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &path),
                    "checkpoint {} is a prefix of checkpoint {}",
                    old.size,
                    new.size
                );
                if old.size < new.size {
                    assert!(!merkle::verify_consistency(
                        old.size, new.size, &new.root, &old.root, &path
                    ));
                    let mut forked = old.root;
                    forked[31] ^= 0x80;
                    assert!(
                        !merkle::verify_consistency(old.size, new.size, &forked, &new.root, &path),
                        "the proof does not vouch for another old root"
                    );
                }
            }
        }

        // The saved checkpoints still describe prefixes of the entries now served.
        let leaves = leaf_hashes(&entries(app, 14, 7).await);
        for head in &heads {
            assert_eq!(
                merkle::root(&leaves[..head.size as usize]),
                head.root,
                "checkpoint {}",
                head.size
            );
        }
    }
);

// ---------------------------------------------------------------------------------------------
// 5. Concurrent writers: every acknowledged write is logged exactly once, without gaps

const WRITERS: usize = 6;
const WRITES_EACH: usize = 10;

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

// ---------------------------------------------------------------------------------------------
// 6. Bad ranges and ids are INVALID_ARGUMENT, with the bound in the message

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

// ---------------------------------------------------------------------------------------------
// 7. Verdicts name the checkpoint of the state they were drawn from

async fn verdict_checkpoint(app: &TestApp, provider_id: &str) -> String {
    app.trust()
        .check_issuer(pb::CheckIssuerRequest {
            query: Some(pb::IssuerQuery {
                issuer: Some(Issuer::ProviderId(provider_id.to_owned())),
                ..Default::default()
            }),
        })
        .await
        .expect("CheckIssuer")
        .into_inner()
        .verdict
        .map(|signed| common::decoded(&signed))
        .expect("a signed verdict")
        .checkpoint
}

both_backends!(verdicts_name_their_facts_checkpoint, async |app: &TestApp| {
    // Before any write: the empty tree.
    let empty = verdict_checkpoint(app, UNKNOWN_PROVIDER).await;
    assert_eq!(empty, format!("{ORIGIN}\n0\n{}\n", b64(&merkle::empty_root())));
    assert_eq!(empty, checkpoint(app).await.body());

    let agency = key("verdict agency");
    admit(app, "Verdict Agency", &agency).await;
    let (provider, _) = register(
        app.accreditations(),
        &agency,
        "Verdict College",
        &key("verdict college"),
    )
    .await;
    let first = verdict_checkpoint(app, &provider).await;
    let head = checkpoint(app).await;
    assert_eq!(head.size, 2);
    assert_eq!(first, head.body(), "the verdict names the current checkpoint");
    assert_eq!(Checkpoint::from_body(&first), Ok(head));

    writes(app, "verdict more", 4).await;
    let second = verdict_checkpoint(app, &provider).await;
    let head = checkpoint(app).await;
    assert_eq!(head.size, 6);
    assert_ne!(second, first, "a later verdict names a later checkpoint");
    assert_eq!(second, head.body());
    // An unknown issuer's verdict names it too.
    assert_eq!(verdict_checkpoint(app, UNKNOWN_PROVIDER).await, head.body());

    // A verdict names the log size its facts were loaded under, which the log may have grown
    // past by the time it is signed: the root of an earlier size is the one that size had.
    let earlier = Checkpoint::from_body(&first).expect("a checkpoint body");
    assert_eq!(app.store.log_root(earlier.size).await.ok(), Some(earlier.root));
    assert_eq!(app.store.log_root(head.size).await.ok(), Some(head.root));
    assert!(
        app.store.log_root(head.size + 1).await.is_err(),
        "no root beyond the log"
    );
});

// ---------------------------------------------------------------------------------------------
// 8. Replicas: two servers on one database write one log

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

// ---------------------------------------------------------------------------------------------
// 9. The origin names the checkpoint key, so it must be a key name

/// Origins that cannot name a signed-note key: a space (a Unicode one too), a '+', a newline,
/// nothing.
const BAD_ORIGINS: [&str; 5] = [
    "my registry",
    "registry\u{a0}log",
    "registry+log",
    "registry\nlog",
    "",
];

/// What the refusal says.
const ORIGIN_RULE: &str = "without spaces, control characters or '+'";

#[test]
fn the_command_line_refuses_an_origin_that_cannot_name_the_checkpoint_key() {
    use clap::Parser as _;
    use trust_registry::config::{Cli, Command};
    for command in ["serve", "registry-key"] {
        for origin in BAD_ORIGINS {
            let error = Cli::try_parse_from(["trust-registry", command, "--log-origin", origin])
                .expect_err(&format!("{command} --log-origin {origin:?}"));
            let text = error.to_string();
            assert!(
                text.contains("--log-origin") && text.contains(ORIGIN_RULE),
                "{text}"
            );
        }
        let origin = "registry.example.org/log";
        let cli = Cli::try_parse_from(["trust-registry", command, "--log-origin", origin])
            .unwrap_or_else(|e| panic!("{command} --log-origin {origin}: {e}"));
        let parsed = match cli.command {
            Command::Serve(args) => args.log_origin,
            Command::RegistryKey(args) => args.log_origin,
            other => panic!("parsed as {other:?}"),
        };
        assert_eq!(parsed, origin);
    }
}

both_backends!(
    the_server_refuses_an_origin_that_cannot_name_the_checkpoint_key,
    async |app: &TestApp| {
        use trust_registry::domain::verdict::RegistryKey;
        use trust_registry::server::{self, ServerOptions};
        let options = |origin: &str| ServerOptions {
            registry_key: Some(RegistryKey::new(registry_key())),
            log_origin: origin.to_owned(),
            ..ServerOptions::default()
        };
        let bind = async || tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        for origin in BAD_ORIGINS {
            let error = server::serve(bind().await, app.store.clone(), options(origin), async {})
                .await
                .expect_err(origin);
            let text = format!("{error:#}");
            assert!(
                text.contains("--log-origin") && text.contains(ORIGIN_RULE),
                "{text}"
            );
        }

        // An origin that is a key name: the server names its checkpoint key and its checkpoints
        // after it.
        let origin = "registry.example.org/log";
        let listener = bind().await;
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(server::serve(
            listener,
            app.store.clone(),
            options(origin),
            async {
                let _ = stopped.await;
            },
        ));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .expect("connect to the server");
        let mut log = LogServiceClient::new(channel);
        let vkey = log
            .get_verifier_key(pb::GetVerifierKeyRequest {})
            .await
            .expect("GetVerifierKey")
            .into_inner()
            .verifier_key;
        assert_eq!(note::parse_verifier_key(&vkey).expect("a vkey").0, origin);
        let signed = log
            .get_checkpoint(pb::GetCheckpointRequest {})
            .await
            .expect("GetCheckpoint")
            .into_inner()
            .checkpoint;
        let head = note::open_note(&signed, &vkey).expect("the checkpoint opens with the vkey");
        assert_eq!(head.origin, origin);
        stop.send(()).unwrap();
        running.await.unwrap().expect("the server ran and stopped");
    }
);

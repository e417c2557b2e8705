//! LogService on SQLite and PostgreSQL, through a real server: every accepted write is a leaf of
//! an RFC 9162 Merkle log, checkpoints are C2SP signed notes under the registry key, and the
//! entries, inclusion proofs and consistency proofs the server hands out check out offline —
//! in Rust with `domain::merkle`, and with `tests/fixtures/verify_log.py`, a small verifier
//! written from RFC 9162 with the Python standard library only. Concurrent writers, on one
//! server and on two replicas sharing a database, leave one gapless log.

#[path = "../common/mod.rs"]
mod common;

mod bad_requests;
mod checkpoints;
mod concurrency;
mod origin;
mod proofs;
mod replicas;
mod verdicts;

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
/// Writers, and writes each, of the concurrency tests (one server, and two replicas).
const WRITERS: usize = 6;
const WRITES_EACH: usize = 10;

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

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

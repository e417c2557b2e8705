//! Fetching a registry's log, checking it against its signed checkpoint, and replaying it.

use anyhow::{Context as _, bail};
use prost::Message;
use tonic::transport::Channel;

use crate::api::convert::from_timestamp;
use crate::api::write::{OperatorKey, Writes};
use crate::domain::keys::parse_public_key;
use crate::domain::merkle::{self, Hash};
use crate::domain::note::{self, Checkpoint};
use crate::pb::{self, log_service_client::LogServiceClient};
use crate::store::Store;

/// A verified log: its checkpoint and every entry.
pub(super) struct VerifiedLog {
    pub note: String,
    pub checkpoint: Checkpoint,
    pub entries: Vec<pb::LogEntry>,
    pub leaves: Vec<Hash>,
}

/// Fetches the checkpoint and all entries and checks they agree.
pub(super) async fn fetch_log(channel: Channel, verifier_key: Option<&str>) -> anyhow::Result<VerifiedLog> {
    let mut log = LogServiceClient::new(channel);
    let vkey = match verifier_key {
        Some(vkey) => vkey.to_owned(),
        None => {
            let vkey = log
                .get_verifier_key(pb::GetVerifierKeyRequest {})
                .await?
                .into_inner()
                .verifier_key;
            eprintln!("warning: no --verifier-key given; trusting the key the server presents: {vkey}");
            vkey
        }
    };
    let note_text = log
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await?
        .into_inner()
        .checkpoint;
    let checkpoint =
        note::open_note(&note_text, &vkey).map_err(|e| anyhow::anyhow!("checkpoint signature: {e}"))?;
    let mut entries = Vec::with_capacity(checkpoint.size as usize);
    let mut leaves = Vec::with_capacity(checkpoint.size as usize);
    let mut start = 0;
    while start < checkpoint.size {
        let end = (start + crate::api::log::MAX_ENTRIES).min(checkpoint.size);
        let page = log
            .get_entries(pb::GetEntriesRequest { start, end })
            .await?
            .into_inner();
        if page.entries.is_empty() {
            bail!("the server returned no entries from {start}");
        }
        for bytes in page.entries {
            leaves.push(merkle::leaf_hash(&bytes));
            entries.push(
                pb::LogEntry::decode(bytes.as_slice())
                    .with_context(|| format!("entry {} is not a LogEntry", entries.len()))?,
            );
        }
        start = entries.len() as u64;
    }
    let root = merkle::root(&leaves[..checkpoint.size as usize]);
    if root != checkpoint.root {
        bail!(
            "MISMATCH: the entries 0..{} hash to a root that differs from the signed checkpoint",
            checkpoint.size
        );
    }
    Ok(VerifiedLog {
        note: note_text,
        checkpoint,
        entries,
        leaves,
    })
}

/// Replays entries into `store`; the error names the first entry that is refused.
pub(super) async fn replay(store: &Store, entries: &[pb::LogEntry], operator_key: &str) -> anyhow::Result<()> {
    let writes = Writes::new(
        store.clone(),
        Some(OperatorKey::new(parse_public_key(operator_key)?)),
    );
    for (index, entry) in entries.iter().enumerate() {
        let envelope = entry
            .envelope
            .clone()
            .with_context(|| format!("entry {index} has no envelope"))?;
        let received_at = from_timestamp("received_at", entry.received_at.as_ref())?
            .with_context(|| format!("entry {index} has no time of receipt"))?;
        let receipt = writes
            .resubmit(&entry.rpc, envelope, received_at)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "MISMATCH at entry {index} ({}): the log's envelope is refused on replay: {e}",
                    entry.rpc
                )
            })?;
        if receipt.replayed || receipt.log_index != index as u64 {
            bail!(
                "MISMATCH at entry {index}: replay placed it at {} (replayed: {})",
                receipt.log_index,
                receipt.replayed
            );
        }
    }
    Ok(())
}

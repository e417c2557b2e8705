//! Fetching a registry's log, checking it against its signed checkpoints, following it as it
//! grows, and replaying it.

use std::path::Path;

use anyhow::{Context as _, bail};
use prost::Message;
use tonic::transport::Channel;

use crate::api::convert::from_timestamp;
use crate::api::write::{OperatorKey, Writes};
use crate::domain::merkle::{self, CompactRange, Hash};
use crate::domain::note::{self, Checkpoint};
use crate::pb::{self, log_service_client::LogServiceClient};
use crate::store::Store;

/// A verified log, replayed into a scratch store as it is fetched: its latest checkpoint and
/// the hash of every entry up to it (the entries themselves are not kept).
pub(super) struct VerifiedLog {
    client: LogServiceClient<Channel>,
    /// The verifier key every checkpoint of this audit is checked with.
    vkey: String,
    pub note: String,
    pub checkpoint: Checkpoint,
    pub leaves: Vec<Hash>,
    /// The frontier of `leaves`, for the root of each page's prefix.
    range: CompactRange,
    /// Where every entry is replayed, and the operator key its governance writes are checked with.
    scratch: Store,
    operator_key: OperatorKey,
}

/// Fetches the checkpoint and all entries, checks they agree, and replays them into `scratch`.
pub(super) async fn fetch_log(
    channel: Channel,
    verifier_key: Option<&str>,
    scratch: Store,
    operator_key: OperatorKey,
) -> anyhow::Result<VerifiedLog> {
    let mut client = LogServiceClient::new(channel);
    let vkey = self::verifier_key(&mut client, verifier_key).await?;
    let (note, checkpoint) = signed_checkpoint(&mut client, &vkey).await?;
    let mut log = VerifiedLog {
        client,
        vkey,
        note: String::new(),
        checkpoint: Checkpoint {
            origin: checkpoint.origin.clone(),
            size: 0,
            root: merkle::root(&[]),
        },
        leaves: Vec::new(),
        range: CompactRange::new(),
        scratch,
        operator_key,
    };
    log.advance(note, checkpoint).await?;
    Ok(log)
}

/// The verifier key given, or else the one the server presents, with a warning: that proves
/// consistency but not who signed.
pub(super) async fn verifier_key(
    client: &mut LogServiceClient<Channel>,
    given: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(vkey) = given {
        return Ok(vkey.to_owned());
    }
    let vkey = client
        .get_verifier_key(pb::GetVerifierKeyRequest {})
        .await?
        .into_inner()
        .verifier_key;
    eprintln!("warning: no --verifier-key given; trusting the key the server presents: {vkey}");
    Ok(vkey)
}

/// The server's current checkpoint, as its signed note and its verified body.
pub(super) async fn signed_checkpoint(
    client: &mut LogServiceClient<Channel>,
    vkey: &str,
) -> anyhow::Result<(String, Checkpoint)> {
    let note = client
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await?
        .into_inner()
        .checkpoint;
    let checkpoint =
        note::open_note(&note, vkey).map_err(|e| anyhow::anyhow!("checkpoint signature: {e}"))?;
    Ok((note, checkpoint))
}

/// Entries `[start, end)`, with their leaf hashes.
pub(super) async fn fetch_entries(
    client: &mut LogServiceClient<Channel>,
    start: u64,
    end: u64,
) -> anyhow::Result<(Vec<pb::LogEntry>, Vec<Hash>)> {
    let mut entries = Vec::with_capacity((end - start) as usize);
    let mut leaves = Vec::with_capacity((end - start) as usize);
    let mut next = start;
    while next < end {
        let page_end = (next + crate::api::log::MAX_ENTRIES).min(end);
        let page = client
            .get_entries(pb::GetEntriesRequest {
                start: next,
                end: page_end,
            })
            .await?
            .into_inner();
        check_page(&page, next, page_end)?;
        for bytes in page.entries {
            let index = start + entries.len() as u64;
            leaves.push(merkle::leaf_hash(&bytes));
            entries.push(
                pb::LogEntry::decode(bytes.as_slice())
                    .with_context(|| format!("entry {index} is not a LogEntry"))?,
            );
        }
        next = start + entries.len() as u64;
    }
    Ok((entries, leaves))
}

/// Checks that a page answers the request for entries `[start, end)`: it starts where asked
/// and holds at least one entry and no more than asked for, so that each entry is counted at its
/// own index and a server cannot make the audit hold more than the checkpoint's entries.
fn check_page(page: &pb::GetEntriesResponse, start: u64, end: u64) -> anyhow::Result<()> {
    if page.start != start {
        bail!(
            "the server answered a request for entries from {start} with entries from {}",
            page.start
        );
    }
    if page.entries.is_empty() {
        bail!("the server returned no entries from {start}");
    }
    if page.entries.len() as u64 > end - start {
        bail!(
            "the server returned {} entries from {start} where at most {} were asked for",
            page.entries.len(),
            end - start
        );
    }
    Ok(())
}

impl VerifiedLog {
    /// Fetches the server's checkpoint again and, if the log grew, the new entries, checked
    /// against the new checkpoint and by a consistency proof from the last one; returns the
    /// size the log grew from, `None` if it did not grow.
    pub async fn catch_up(&mut self) -> anyhow::Result<Option<u64>> {
        let (note, latest) = signed_checkpoint(&mut self.client, &self.vkey).await?;
        let old = self.checkpoint.clone();
        if latest.size == old.size {
            if latest != old {
                bail!(
                    "MISMATCH: the registry signed two different checkpoints of {} entries",
                    old.size
                );
            }
            return Ok(None);
        }
        self.advance(note, latest).await?;
        check_extends(&mut self.client, &old, &self.checkpoint, &self.leaves).await?;
        Ok(Some(old.size))
    }

    /// Fetches, checks and replays the entries up to `checkpoint` (see [`replay_pages`]).
    async fn advance(&mut self, note: String, checkpoint: Checkpoint) -> anyhow::Result<()> {
        if checkpoint.origin != self.checkpoint.origin {
            bail!(
                "MISMATCH: the checkpoint is for log {:?}, not {:?}",
                checkpoint.origin,
                self.checkpoint.origin
            );
        }
        if checkpoint.size < self.checkpoint.size {
            bail!(
                "MISMATCH: the log shrank from {} to {} entries",
                self.checkpoint.size,
                checkpoint.size
            );
        }
        let leaves = &mut self.leaves;
        replay_pages(
            &mut self.client,
            &checkpoint,
            &mut self.range,
            &self.scratch,
            &self.operator_key,
            |page| leaves.extend_from_slice(page),
        )
        .await?;
        self.note = note;
        self.checkpoint = checkpoint;
        Ok(())
    }

    /// Checks that the log extends the checkpoint an earlier audit saved at `path`.
    pub async fn check_since(&mut self, path: &Path) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let old =
            note::open_note(&text, &self.vkey).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if old.origin != self.checkpoint.origin {
            bail!(
                "MISMATCH: the saved checkpoint is for log {:?}, not {:?}",
                old.origin,
                self.checkpoint.origin
            );
        }
        if old.size > self.checkpoint.size {
            bail!(
                "MISMATCH: the log shrank from {} to {} entries",
                old.size,
                self.checkpoint.size
            );
        }
        check_extends(&mut self.client, &old, &self.checkpoint, &self.leaves).await?;
        println!("consistent with the saved checkpoint of {} entries", old.size);
        Ok(())
    }
}

/// Checks that `new`, whose `leaves` are verified, extends `old`: by the server's consistency
/// proof between them, and by the root of the first `old.size` leaves.
async fn check_extends(
    client: &mut LogServiceClient<Channel>,
    old: &Checkpoint,
    new: &Checkpoint,
    leaves: &[Hash],
) -> anyhow::Result<()> {
    if old.size == 0 {
        return Ok(());
    }
    if !proves_prefix(client, old.size, &old.root, new.size, &new.root).await?
        || merkle::root(&leaves[..old.size as usize]) != old.root
    {
        bail!(
            "MISMATCH: the log of {} entries is not an extension of the checkpoint of {}",
            new.size,
            old.size
        );
    }
    Ok(())
}

/// Fetches the entries from `range.size()` up to the signed `checkpoint`, a page at a time, and
/// replays each page into `store` once it is shown to belong to the signed log: the entries
/// before it are `range`, and a consistency proof from the prefix the page ends to the
/// checkpoint must verify. After each page the store's own log must have the same root.
/// `on_page` sees each page's leaf hashes.
pub(super) async fn replay_pages(
    client: &mut LogServiceClient<Channel>,
    checkpoint: &Checkpoint,
    range: &mut CompactRange,
    store: &Store,
    operator_key: &OperatorKey,
    mut on_page: impl FnMut(&[Hash]),
) -> anyhow::Result<()> {
    let mut next = range.size();
    while next < checkpoint.size {
        let end = (next + crate::api::log::MAX_ENTRIES).min(checkpoint.size);
        let (entries, leaves) = fetch_entries(client, next, end).await?;
        for leaf in &leaves {
            range.append(*leaf);
        }
        if !proves_prefix(client, end, &range.root(), checkpoint.size, &checkpoint.root).await? {
            bail!(
                "MISMATCH: entries {next}..{end} as served do not belong to the signed log of {} entries",
                checkpoint.size
            );
        }
        on_page(&leaves);
        replay(store, next as usize, &entries, operator_key).await?;
        if store.log_root(end).await? != range.root() {
            bail!(
                "MISMATCH: replaying entries {next}..{end} gave a log whose root differs from the registry's"
            );
        }
        next = end;
    }
    if range.root() != checkpoint.root {
        bail!(
            "MISMATCH: the entries 0..{} hash to a root that differs from the signed checkpoint",
            checkpoint.size
        );
    }
    Ok(())
}

/// Whether the log of `size` entries with `root` is a prefix of the signed one, by the
/// registry's consistency proof (none is needed from the empty log or between equal sizes).
pub(super) async fn proves_prefix(
    client: &mut LogServiceClient<Channel>,
    size: u64,
    root: &Hash,
    signed_size: u64,
    signed_root: &Hash,
) -> anyhow::Result<bool> {
    if size == 0 || size == signed_size {
        return Ok(merkle::verify_consistency(
            size,
            signed_size,
            root,
            signed_root,
            &[],
        ));
    }
    let proof = client
        .get_consistency_proof(pb::GetConsistencyProofRequest {
            old_size: size,
            new_size: signed_size,
        })
        .await?
        .into_inner();
    let hashes: Vec<Hash> = proof
        .hashes
        .iter()
        .map(|h| h.as_slice().try_into())
        .collect::<Result<_, _>>()?;
    Ok(merkle::verify_consistency(
        size,
        signed_size,
        root,
        signed_root,
        &hashes,
    ))
}

/// Entries replayed in one transaction: as the registry's import applies them, each checked
/// against the state the earlier ones left. One write a transaction, rebuilding a 10,000-provider
/// bench registry (171,312 entries) took 287 s; in these batches, 27 s.
const REPLAY_BATCH: usize = 1_000;

/// Replays `entries`, the log's from index `first` on, into `store`; the error names the first
/// entry that is refused (the entries before it stay applied).
async fn replay(
    store: &Store,
    first: usize,
    entries: &[pb::LogEntry],
    operator_key: &OperatorKey,
) -> anyhow::Result<()> {
    let writes = Writes::new(store.clone(), Some(operator_key.clone()));
    for (page, entries) in entries.chunks(REPLAY_BATCH).enumerate() {
        let start = first + page * REPLAY_BATCH;
        let mut batch = Vec::with_capacity(entries.len());
        let mut received = Vec::with_capacity(entries.len());
        for (index, entry) in (start..).zip(entries) {
            let envelope = entry
                .envelope
                .clone()
                .with_context(|| format!("entry {index} has no envelope"))?;
            let received_at = from_timestamp("received_at", entry.received_at.as_ref())?
                .with_context(|| format!("entry {index} has no time of receipt"))?;
            batch.push((entry.rpc.clone(), envelope));
            received.push(received_at);
        }
        let outcome = writes.replay_batch(&batch, &received).await?;
        for (index, receipt) in (start..).zip(&outcome.receipts) {
            if receipt.replayed || receipt.log_index != index as u64 {
                bail!(
                    "MISMATCH at entry {index}: replay placed it at {} (replayed: {})",
                    receipt.log_index,
                    receipt.replayed
                );
            }
        }
        if let Some((offset, refusal)) = outcome.refused {
            bail!(
                "MISMATCH at entry {} ({}): the log's envelope is refused on replay: {refusal}",
                start + offset,
                batch[offset].0
            );
        }
    }
    Ok(())
}

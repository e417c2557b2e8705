//! `trust-registry audit` and `trust-registry rebuild`: check a registry against its own log,
//! and rebuild a store from it.
//!
//! Audit fetches the signed checkpoint and every entry, recomputes the Merkle root, checks the
//! checkpoint signature and its consistency with a saved earlier checkpoint, replays every
//! envelope (re-verifying its signature and every rule as of its time of receipt) into a
//! scratch store, and compares that store with the live catalogue. It reports the first
//! mismatch precisely.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use prost::Message;
use serde_json::Value;
use tonic::transport::Channel;

use crate::api::convert::from_timestamp;
use crate::api::write::{OperatorKey, Writes};
use crate::domain::keys::parse_public_key;
use crate::domain::merkle::{self, Hash};
use crate::domain::note::{self, Checkpoint};
use crate::pb::{
    self, catalogue_service_client::CatalogueServiceClient, log_service_client::LogServiceClient,
};
use crate::store::{Store, StoreOptions};

#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    /// The registry's gRPC address.
    #[arg(long, env = "TRUST_REGISTRY_SERVER", default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// A checkpoint saved by an earlier audit: the log must have grown from it.
    #[arg(long)]
    pub since: Option<PathBuf>,
    /// Where to save the verified checkpoint, for the next `--since`.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// The registry's note verifier key (C2SP vkey), as published out of band. Without it the
    /// key the server presents is used, which proves consistency but not who signed.
    #[arg(long, env = "TRUST_REGISTRY_VERIFIER_KEY")]
    pub verifier_key: Option<String>,
    /// The operator's public key, to re-verify governance writes.
    #[arg(long, env = "TRUST_REGISTRY_OPERATOR_KEY")]
    pub operator_key: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RebuildArgs {
    /// The gRPC address of the registry whose log is replayed.
    #[arg(long)]
    pub from_log: String,
    /// The store to rebuild into; it must hold no writes yet.
    #[arg(long)]
    pub database_url: String,
    /// The registry's note verifier key (C2SP vkey).
    #[arg(long, env = "TRUST_REGISTRY_VERIFIER_KEY")]
    pub verifier_key: Option<String>,
    /// The operator's public key.
    #[arg(long, env = "TRUST_REGISTRY_OPERATOR_KEY")]
    pub operator_key: String,
}

/// A verified log: its checkpoint and every entry.
struct VerifiedLog {
    note: String,
    checkpoint: Checkpoint,
    entries: Vec<pb::LogEntry>,
    leaves: Vec<Hash>,
}

async fn connect(server: &str) -> anyhow::Result<Channel> {
    Channel::from_shared(server.to_owned())
        .context("--server must be a URL such as http://127.0.0.1:50051")?
        .connect()
        .await
        .with_context(|| format!("connecting to {server}"))
}

/// Fetches the checkpoint and all entries and checks they agree.
async fn fetch_log(channel: Channel, verifier_key: Option<&str>) -> anyhow::Result<VerifiedLog> {
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
async fn replay(store: &Store, entries: &[pb::LogEntry], operator_key: &str) -> anyhow::Result<()> {
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

/// Every item of every catalogue list, as proto3 JSON, in list order.
#[allow(
    clippy::field_reassign_with_default,
    reason = "the paging macro sets the page fields of whichever request it is given"
)]
async fn catalogue(channel: Channel) -> anyhow::Result<Vec<(&'static str, Vec<Value>)>> {
    let mut client = CatalogueServiceClient::new(channel);
    macro_rules! all_pages {
        ($method:ident, $request:expr, $field:ident) => {{
            let mut items = Vec::new();
            let mut page_token = String::new();
            loop {
                let mut request = $request;
                request.page_size = 500;
                request.page_token = page_token;
                let response = client.$method(request).await?.into_inner();
                for item in response.$field {
                    items.push(serde_json::to_value(&item)?);
                }
                if response.next_page_token.is_empty() {
                    break items;
                }
                page_token = response.next_page_token;
            }
        }};
    }
    Ok(vec![
        (
            "frameworks",
            all_pages!(list_frameworks, pb::ListFrameworksRequest::default(), frameworks),
        ),
        (
            "qa_agencies",
            all_pages!(
                list_qa_agencies,
                pb::ListQaAgenciesRequest::default(),
                qa_agencies
            ),
        ),
        (
            "recognition_bodies",
            all_pages!(
                list_recognition_bodies,
                pb::ListRecognitionBodiesRequest::default(),
                recognition_bodies
            ),
        ),
        (
            "providers",
            all_pages!(search_providers, pb::SearchProvidersRequest::default(), providers),
        ),
        (
            "accreditations",
            all_pages!(
                list_accreditations,
                pb::ListAccreditationsRequest::default(),
                accreditations
            ),
        ),
        (
            "qualifications",
            all_pages!(
                search_qualifications,
                pb::SearchQualificationsRequest {
                    include_withdrawn: true,
                    ..Default::default()
                },
                qualifications
            ),
        ),
        (
            "recognitions",
            all_pages!(
                search_recognitions,
                pb::SearchRecognitionsRequest {
                    include_retracted: true,
                    ..Default::default()
                },
                recognitions
            ),
        ),
    ])
}

/// The path of the first difference between two JSON values.
fn first_difference(path: &str, live: &Value, replayed: &Value) -> Option<String> {
    match (live, replayed) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                first_difference(
                    &format!("{path}.{k}"),
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                )
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(&format!("{path}[{i}]"), x, y)),
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: live {a}, log replay {b}")),
    }
}

fn compare(live: &[(&str, Vec<Value>)], replayed: &[(&str, Vec<Value>)]) -> anyhow::Result<()> {
    for ((list, live_items), (_, replayed_items)) in live.iter().zip(replayed) {
        for i in 0..live_items.len().max(replayed_items.len()) {
            let id = |v: Option<&Value>| v.and_then(|v| v["id"].as_str()).unwrap_or("(none)").to_owned();
            match (live_items.get(i), replayed_items.get(i)) {
                (Some(a), Some(b)) if a["id"] != b["id"] => bail!(
                    "MISMATCH in {list}: live has {} where the log replay has {} (an object added or removed outside the log)",
                    id(Some(a)),
                    id(Some(b))
                ),
                (Some(a), Some(b)) => {
                    if let Some(diff) = first_difference("", a, b) {
                        bail!("MISMATCH in {list} {}: {diff}", id(Some(a)));
                    }
                }
                (Some(a), None) => bail!(
                    "MISMATCH in {list}: live has {}, which no log entry created",
                    id(Some(a))
                ),
                (None, Some(b)) => bail!(
                    "MISMATCH in {list}: the log creates {}, which the live catalogue lacks",
                    id(Some(b))
                ),
                (None, None) => {}
            }
        }
    }
    Ok(())
}

/// Starts an in-process server over `store` on a loopback port, for reading it back.
async fn serve_scratch(store: Store) -> anyhow::Result<(Channel, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = crate::server::ServerOptions {
        registry_key: Some(crate::domain::verdict::RegistryKey::new(
            ed25519_dalek::SigningKey::from_bytes(&super::random_bytes::<32>()?),
        )),
        ..Default::default()
    };
    tokio::spawn(crate::server::serve(listener, store, options, async {
        let _ = stopped.await;
    }));
    Ok((connect(&format!("http://{addr}")).await?, stop))
}

pub async fn audit(args: &AuditArgs) -> anyhow::Result<()> {
    let channel = connect(&args.server).await?;
    let log = fetch_log(channel.clone(), args.verifier_key.as_deref()).await?;
    println!(
        "checkpoint: {} entries, root {}, signature verified",
        log.checkpoint.size,
        hex::encode(log.checkpoint.root)
    );

    if let Some(path) = &args.since {
        let vkey = match &args.verifier_key {
            Some(vkey) => vkey.clone(),
            None => {
                LogServiceClient::new(channel.clone())
                    .get_verifier_key(pb::GetVerifierKeyRequest {})
                    .await?
                    .into_inner()
                    .verifier_key
            }
        };
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let old = note::open_note(&text, &vkey).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if old.origin != log.checkpoint.origin {
            bail!(
                "MISMATCH: the saved checkpoint is for log {:?}, not {:?}",
                old.origin,
                log.checkpoint.origin
            );
        }
        if old.size > log.checkpoint.size {
            bail!(
                "MISMATCH: the log shrank from {} to {} entries",
                old.size,
                log.checkpoint.size
            );
        }
        if old.size > 0 {
            let proof = LogServiceClient::new(channel.clone())
                .get_consistency_proof(pb::GetConsistencyProofRequest {
                    old_size: old.size,
                    new_size: log.checkpoint.size,
                })
                .await?
                .into_inner();
            let hashes: Vec<Hash> = proof
                .hashes
                .iter()
                .map(|h| h.as_slice().try_into())
                .collect::<Result<_, _>>()?;
            if !merkle::verify_consistency(
                old.size,
                log.checkpoint.size,
                &old.root,
                &log.checkpoint.root,
                &hashes,
            ) || merkle::root(&log.leaves[..old.size as usize]) != old.root
            {
                bail!(
                    "MISMATCH: the log of {} entries is not an extension of the saved checkpoint of {}",
                    log.checkpoint.size,
                    old.size
                );
            }
        }
        println!("consistent with the saved checkpoint of {} entries", old.size);
    }

    let scratch_dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        scratch_dir.path().join("replay.db").display()
    );
    let scratch = Store::open(&url, &StoreOptions::default()).await?;
    replay(&scratch, &log.entries, &args.operator_key).await?;
    println!(
        "replayed {} entries: every signature and rule re-verified",
        log.entries.len()
    );

    let (scratch_channel, stop) = serve_scratch(scratch).await?;
    let replayed = catalogue(scratch_channel).await?;
    let live = catalogue(channel).await?;
    let _ = stop.send(());
    compare(&live, &replayed)?;
    let objects: usize = live.iter().map(|(_, items)| items.len()).sum();
    println!("the live catalogue matches the log: {objects} objects compared");
    if let Some(path) = &args.save {
        std::fs::write(path, &log.note).with_context(|| format!("writing {}", path.display()))?;
        println!("checkpoint saved to {}", path.display());
    }
    println!("audit OK");
    Ok(())
}

pub async fn rebuild(args: &RebuildArgs) -> anyhow::Result<()> {
    let log = fetch_log(connect(&args.from_log).await?, args.verifier_key.as_deref()).await?;
    let store = Store::open(&args.database_url, &StoreOptions::default()).await?;
    if store.sync_log().await? != 0 {
        bail!(
            "{} already holds writes; rebuild into an empty store",
            args.database_url
        );
    }
    replay(&store, &log.entries, &args.operator_key).await?;
    println!(
        "rebuilt {} entries into {}; root {} matches the signed checkpoint",
        log.entries.len(),
        args.database_url,
        hex::encode(log.checkpoint.root)
    );
    Ok(())
}

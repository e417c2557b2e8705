//! `trust-registry audit` and `trust-registry rebuild`: check a registry against its own log,
//! and rebuild a store from it.
//!
//! Audit fetches the signed checkpoint and every entry, recomputes the Merkle root, checks the
//! checkpoint signature and its consistency with a saved earlier checkpoint, replays every
//! envelope (re-verifying its signature and every rule as of its time of receipt) into a
//! scratch store, and compares that store with the live registry. It reports the first
//! mismatch precisely.
//!
//! The live registry is read in two ways. Its catalogue API serves the documents, which anyone
//! can compare. Trust decisions and searches also read rows and columns the API never serves
//! (identifier bindings, the `provider_id` by which accreditations are loaded, index columns),
//! so a row changed there outside the log goes unseen remotely; given the database's URL (`--database-url`, which an operator has),
//! the audit reads that database directly and compares every row of every table. The server
//! does not offer such a comparison itself: a registry whose database was changed behind its
//! back is the very thing under audit, and the operator can check the rows without trusting it.

mod catalogue;
mod log;
mod tables;

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use tonic::transport::Channel;

use crate::domain::merkle::{self, Hash};
use crate::domain::note;
use crate::pb::{self, log_service_client::LogServiceClient};
use crate::store::{Store, StoreOptions, TABLES, Tables};
use catalogue::{catalogue, compare};
use log::{fetch_log, replay};
use tables::compare_tables;

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
    /// The live registry's database (`sqlite://…` or `postgres://…`, as `serve` uses it), to
    /// compare every row of every table with the log's replay; it is only read, never migrated.
    ///
    /// The API serves the catalogue's documents, not the rows and columns trust decisions and
    /// searches read beside them (identifier bindings, the `provider_id` by which accreditations
    /// are loaded, index columns): without this option a row changed in the database outside the
    /// log can pass the audit. An operator
    /// audits with it; a monitor without access to the database checks what the API serves.
    #[arg(long, env = "TRUST_REGISTRY_DATABASE_URL")]
    pub database_url: Option<String>,
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

async fn connect(server: &str) -> anyhow::Result<Channel> {
    Channel::from_shared(server.to_owned())
        .context("--server must be a URL such as http://127.0.0.1:50051")?
        .connect()
        .await
        .with_context(|| format!("connecting to {server}"))
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

/// The live database's tables, or a warning that they will not be compared.
async fn live_tables(database_url: Option<&str>) -> anyhow::Result<Option<Tables>> {
    let Some(url) = database_url else {
        eprintln!(
            "warning: no --database-url given; only what the catalogue API serves is compared, not the identifier bindings and other rows and columns trust decisions read"
        );
        return Ok(None);
    };
    let tables = Tables::connect(url)
        .await
        .with_context(|| format!("opening the live database {url}"))?;
    Ok(Some(tables))
}

pub async fn audit(args: &AuditArgs) -> anyhow::Result<()> {
    let channel = connect(&args.server).await?;
    let live_tables = live_tables(args.database_url.as_deref()).await?;
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

    if let Some(live_tables) = live_tables {
        let rows = compare_tables(&live_tables, &scratch.tables()).await?;
        live_tables.close().await?;
        println!(
            "the live database matches the log: {rows} rows of {} tables compared",
            TABLES.len()
        );
    }
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

//! `trust-registry audit`, `rebuild` and `mirror`: check a registry against its own log, and
//! copy it into a store of one's own by replaying that log (see `mirror.rs`).
//!
//! Audit fetches the signed checkpoint and every entry, recomputes the Merkle root, checks the
//! checkpoint signature and its consistency with a saved earlier checkpoint, replays every
//! envelope (re-verifying its signature and every rule as of its time of receipt) into a
//! scratch store, and compares that store with the live registry. It reports the first
//! mismatch precisely. A registry goes on taking writes meanwhile: when its log grew while it was
//! read, the audit replays the new entries too and reads it again (see `compare_settled`).
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
mod mirror;
mod tables;

pub use mirror::{MirrorArgs, mirror, mirror_until, rebuild};

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use tonic::transport::Channel;

use crate::api::write::OperatorKey;
use crate::store::{Store, StoreOptions, TABLES, Tables};
use catalogue::{catalogue, compare};
use log::{VerifiedLog, fetch_log};
use tables::compare_tables;

#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    /// The registry's gRPC address.
    #[arg(long, env = "TRUST_REGISTRY_SERVER", default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// A checkpoint saved by an earlier audit: the log must have grown from it.
    #[arg(long)]
    pub since: Option<PathBuf>,
    /// Where to save the verified checkpoint (the last one, if the log grew during the audit),
    /// for the next `--since`.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// The registry's note verifier key (C2SP vkey), as published out of band. Without it the
    /// key the server presents is used, which proves consistency but not who signed.
    #[arg(long, env = "TRUST_REGISTRY_VERIFIER_KEY")]
    pub verifier_key: Option<String>,
    /// The operator's public key, to re-verify governance writes.
    #[arg(long, env = "TRUST_REGISTRY_OPERATOR_KEY", value_parser = crate::config::parse_operator_key)]
    pub operator_key: OperatorKey,
    /// The live registry's database (`sqlite://…` or `postgres://…`, as `serve` uses it), to
    /// compare every row of every table with the log's replay; it is only read, never migrated.
    ///
    /// The API serves the catalogue's documents, not the rows and columns trust decisions and
    /// searches read beside them (identifier bindings, the `provider_id` by which accreditations
    /// are loaded, index columns): without this option a row changed in the database outside the
    /// log can pass the audit. An operator audits with it; a monitor without access to the
    /// database checks what the API serves. Given on the command line only (not from
    /// `TRUST_REGISTRY_DATABASE_URL`, which `serve` reads), so that auditing another server
    /// never compares it with a local database by accident.
    #[arg(long)]
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
    #[arg(long, env = "TRUST_REGISTRY_OPERATOR_KEY", value_parser = crate::config::parse_operator_key)]
    pub operator_key: OperatorKey,
}

async fn connect(server: &str) -> anyhow::Result<Channel> {
    crate::cli::connect(server).await
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
        // Only the audit calls it, as fast as it reads: a limit could only fail the audit.
        rate_limit: None,
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
        .with_context(|| format!("opening the live database {}", super::redacted_url(url)))?;
    Ok(Some(tables))
}

/// How many times the live registry is read, at most, while the log grows under the audit.
const MAX_READINGS: u32 = 5;

/// What one reading of the live registry compared.
struct Compared {
    /// Rows of the live database, when it is read.
    rows: Option<usize>,
    /// Objects of the live catalogue.
    objects: usize,
}

/// The replayed log as a store, and the in-process server that lists its catalogue.
struct Scratch {
    store: Store,
    channel: Channel,
}

/// `trust-registry audit`.
pub async fn audit(args: &AuditArgs) -> anyhow::Result<()> {
    audit_with(args, async |_| {}).await
}

/// The audit, awaiting `before_reading_live(reading)` before each reading of the live registry
/// (from 1). A registry keeps taking writes while it is audited; tests take some there.
pub async fn audit_with(args: &AuditArgs, before_reading_live: impl AsyncFnMut(u32)) -> anyhow::Result<()> {
    let channel = connect(&args.server).await?;
    let live_tables = live_tables(args.database_url.as_deref()).await?;
    let scratch_dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        scratch_dir.path().join("replay.db").display()
    );
    let store = Store::open(&url, &StoreOptions::without_lookup_caches()).await?;
    let mut log = fetch_log(
        channel.clone(),
        args.verifier_key.as_deref(),
        store.clone(),
        args.operator_key.clone(),
    )
    .await?;
    println!(
        "checkpoint: {} entries, root {}, signature verified",
        log.checkpoint.size,
        hex::encode(log.checkpoint.root)
    );
    println!(
        "replayed {} entries: every signature and rule re-verified",
        log.checkpoint.size
    );
    if let Some(path) = &args.since {
        log.check_since(path).await?;
    }
    let (scratch_channel, stop) = serve_scratch(store.clone()).await?;
    let scratch = Scratch {
        store,
        channel: scratch_channel,
    };
    let compared = compare_settled(
        &mut log,
        channel,
        live_tables.as_ref(),
        &scratch,
        before_reading_live,
    )
    .await;
    let _ = stop.send(());
    if let Some(live_tables) = live_tables {
        live_tables.close().await?;
    }
    let compared = compared?;
    if let Some(rows) = compared.rows {
        println!(
            "the live database matches the log: {rows} rows of {} tables compared",
            TABLES.len()
        );
    }
    println!(
        "the live catalogue matches the log: {} objects compared",
        compared.objects
    );
    if let Some(path) = &args.save {
        std::fs::write(path, &log.note).with_context(|| format!("writing {}", path.display()))?;
        println!("checkpoint saved to {}", path.display());
    }
    println!("audit OK");
    Ok(())
}

/// Reads the live registry and compares it with the replay until a reading falls between two
/// checkpoints of one size: only then does it show the state of exactly the replayed log, as a
/// write accepted during a reading would otherwise look like a change made outside the log.
/// When the log grew during a reading, its new entries are fetched (checked against the new
/// checkpoint and by a consistency proof from the last), replayed, and the registry read again.
async fn compare_settled(
    log: &mut VerifiedLog,
    live: Channel,
    live_tables: Option<&Tables>,
    scratch: &Scratch,
    mut before_reading_live: impl AsyncFnMut(u32),
) -> anyhow::Result<Compared> {
    for reading in 1..=MAX_READINGS {
        before_reading_live(reading).await;
        let compared = compare_live(live.clone(), live_tables, scratch).await;
        let Some(grown_from) = log.catch_up().await? else {
            return compared;
        };
        println!(
            "the log grew from {grown_from} to {} entries while the live registry was read: replaying the new entries and reading it again",
            log.checkpoint.size
        );
    }
    bail!(
        "the log grew during each of {MAX_READINGS} readings of the live registry (now {} entries), so no reading showed the state of one checkpoint and nothing was compared conclusively; audit again when the registry takes fewer writes",
        log.checkpoint.size
    )
}

/// One reading of the live registry (its database, when given, then its catalogue), compared
/// with the replay; the error names the first mismatch.
async fn compare_live(
    live: Channel,
    live_tables: Option<&Tables>,
    scratch: &Scratch,
) -> anyhow::Result<Compared> {
    let rows = match live_tables {
        Some(live_tables) => Some(compare_tables(live_tables, &scratch.store.tables()).await?),
        None => None,
    };
    let replayed = catalogue(scratch.channel.clone()).await?;
    let live = catalogue(live).await?;
    compare(&live, &replayed)?;
    Ok(Compared {
        rows,
        objects: live.iter().map(|(_, items)| items.len()).sum(),
    })
}

//! `trust-registry mirror` and `rebuild`: a local store kept in step with a registry's log.
//!
//! Verifiers and national registers keep local copies (DESIGN.md, "Mirrors and change feed").
//! Here the change feed is the log itself: every change the registry made is a signed write in
//! it, in order, and an index into it is the cursor. A mirror fetches the entries its store does
//! not hold yet, one page at a time, and checks each page before it applies any of it: against
//! the registry's signed checkpoint, by a consistency proof that the log extends the one the
//! store already holds (so a registry that rewrote or dropped history is caught, not followed),
//! and by the root of everything fetched so far. It then replays the page through the same
//! validation, signatures and rules as the registry's own writes, and checks that its own log
//! came out with the same root. A store copied this way is a registry database like any other:
//! `serve --read-only` answers verifiers from it while `mirror --follow` keeps it current.

use std::future::Future;
use std::time::Duration;

use anyhow::bail;
use tonic::transport::Channel;

use super::log::{proves_prefix, replay_pages, signed_checkpoint};
use crate::api::write::OperatorKey;
use crate::domain::merkle::{Hash, Tree};
use crate::pb::log_service_client::LogServiceClient;
use crate::store::{Store, StoreOptions};

#[derive(Debug, Clone, clap::Args)]
pub struct MirrorArgs {
    /// The gRPC address of the registry to mirror.
    #[arg(long)]
    pub from_log: String,
    /// The local store: empty for a first copy, or a mirror of the same registry. Given on the
    /// command line only (not from `TRUST_REGISTRY_DATABASE_URL`), so that a registry's own
    /// database is never taken for a mirror by accident.
    #[arg(long)]
    pub database_url: String,
    /// The registry's note verifier key (C2SP vkey), as published out of band: every checkpoint
    /// the mirror follows must carry its signature.
    #[arg(long, env = "TRUST_REGISTRY_VERIFIER_KEY")]
    pub verifier_key: String,
    /// The operator's public key, to re-verify governance writes.
    #[arg(long, env = "TRUST_REGISTRY_OPERATOR_KEY", value_parser = crate::config::parse_operator_key)]
    pub operator_key: OperatorKey,
    /// Keep following the log until interrupted, asking for a new checkpoint every `--interval`.
    #[arg(long)]
    pub follow: bool,
    /// How often `--follow` asks for a new checkpoint (e.g. `30s`, `5m`).
    #[arg(long, default_value = "10s", value_parser = parse_interval)]
    pub interval: Duration,
}

/// A duration of at least a tenth of a second, in humantime's notation.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if interval < Duration::from_millis(100) {
        return Err("must be at least 100ms".into());
    }
    Ok(interval)
}

/// The entries a sync brought into the store: `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    pub from: u64,
    pub to: u64,
    pub root: Hash,
}

/// Brings `store` up to the registry's current checkpoint, one checked page at a time.
///
/// Nothing is replayed before the page is shown to belong to the signed log; a store that is
/// not a prefix of that log (another registry's, or one the registry has since rewritten) is
/// refused before anything is written to it.
async fn sync(
    store: &Store,
    client: &mut LogServiceClient<Channel>,
    verifier_key: &str,
    operator_key: &OperatorKey,
) -> anyhow::Result<Synced> {
    let (_, checkpoint) = signed_checkpoint(client, verifier_key).await?;
    let mut range = store.with_log(Tree::frontier).await?;
    let held = range.size();
    if checkpoint.size < held {
        bail!(
            "MISMATCH: the registry's signed checkpoint has {} entries, fewer than the {held} this store holds: the registry rolled its log back, or this store does not mirror it",
            checkpoint.size
        );
    }
    if !proves_prefix(client, held, &range.root(), checkpoint.size, &checkpoint.root).await? {
        bail!(
            "MISMATCH: the registry's log of {} entries does not extend the {held} this store holds: the registry rewrote its history, or this store does not mirror it",
            checkpoint.size
        );
    }
    replay_pages(client, &checkpoint, &mut range, store, operator_key, |_| {}).await?;
    Ok(Synced {
        from: held,
        to: checkpoint.size,
        root: checkpoint.root,
    })
}

/// Whether a failed sync may succeed if tried again: the registry could not be reached or did
/// not answer. What was fetched and failed a check, or could not be replayed, is final.
fn is_transient(err: &anyhow::Error) -> bool {
    err.downcast_ref::<tonic::Status>().is_some() || err.downcast_ref::<tonic::transport::Error>().is_some()
}

/// `trust-registry mirror`, stopped by SIGINT or SIGTERM when it follows.
pub async fn mirror(args: &MirrorArgs) -> anyhow::Result<()> {
    mirror_until(args, crate::server::shutdown_signal()).await
}

/// `trust-registry mirror`, following (with `--follow`) until `stop` completes.
///
/// While following, a registry that cannot be reached is tried again at the next interval; a
/// mismatch ends the mirror with an error, leaving the store at the last page that passed.
pub async fn mirror_until(args: &MirrorArgs, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    let store = Store::open(&args.database_url, &StoreOptions::without_lookup_caches()).await?;
    let mut client = LogServiceClient::new(super::connect(&args.from_log).await?);
    let url = super::super::redacted_url(&args.database_url);
    tokio::pin!(stop);
    loop {
        match sync(&store, &mut client, &args.verifier_key, &args.operator_key).await {
            Ok(synced) if synced.to > synced.from => println!(
                "mirrored entries {}..{} into {url}: checked against the signed checkpoint and replayed; root {}",
                synced.from,
                synced.to,
                hex::encode(synced.root)
            ),
            Ok(synced) => {
                if !args.follow {
                    println!("{url} is up to date at {} entries", synced.to);
                }
            }
            Err(err) if args.follow && is_transient(&err) => {
                eprintln!(
                    "warning: the registry did not answer ({err}); trying again in {:?}",
                    args.interval
                );
            }
            Err(err) => return Err(err),
        }
        if !args.follow {
            return Ok(());
        }
        tokio::select! {
            () = &mut stop => return Ok(()),
            () = tokio::time::sleep(args.interval) => {}
        }
    }
}

/// `trust-registry rebuild`: a first copy into a store that holds no writes yet.
pub async fn rebuild(args: &super::RebuildArgs) -> anyhow::Result<()> {
    let mut client = LogServiceClient::new(super::connect(&args.from_log).await?);
    let verifier_key = super::log::verifier_key(&mut client, args.verifier_key.as_deref()).await?;
    let store = Store::open(&args.database_url, &StoreOptions::without_lookup_caches()).await?;
    if store.sync_log().await? != 0 {
        bail!(
            "{} already holds writes; rebuild into an empty store (or keep a copy current with `mirror`)",
            super::super::redacted_url(&args.database_url)
        );
    }
    let synced = sync(&store, &mut client, &verifier_key, &args.operator_key).await?;
    println!(
        "rebuilt {} entries into {}; root {} matches the signed checkpoint",
        synced.to,
        super::super::redacted_url(&args.database_url),
        hex::encode(synced.root)
    );
    Ok(())
}

//! `trust-registry import FILE.jsonl`: applies a file of signed envelopes, one write per line,
//! through the same pipeline as single writes (authentication, signature, replay and clock
//! checks, roles, validation, the log), in transactions of [`BATCH_WRITES`] writes: in-process
//! against a database, or with `--server` through a running server's `ImportService.Import`.

use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Deserialize;

use crate::api::import::BATCH_WRITES;
use crate::api::write::{OperatorKey, Writes};
use crate::domain::Timestamp;
use crate::pb;
use crate::store::{Store, StoreOptions};

/// Settings of `trust-registry import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// The file: one JSON object a line, `{"rpc": "/trustregistry.v1.Service/Method",
    /// "envelope": <SignedEnvelope in proto3 JSON>}`.
    pub file: PathBuf,

    /// Database: sqlite://FILE?mode=rwc (embedded) or postgres://USER@HOST/DB.
    #[arg(
        long,
        env = "TRUST_REGISTRY_DATABASE_URL",
        default_value = "sqlite://trust-registry.db?mode=rwc"
    )]
    pub database_url: String,

    /// The registry operator's Ed25519 public key (multibase z6Mk..., base64 or hex).
    /// Without it every governance write is refused.
    #[arg(long, env = "TRUST_REGISTRY_OPERATOR_KEY", value_parser = crate::config::parse_operator_key)]
    pub operator_key: Option<OperatorKey>,

    /// Send the writes to a running server (e.g. http://127.0.0.1:50051) with
    /// `ImportService.Import`, 2,000 writes a call, instead of opening the database.
    #[arg(long, conflicts_with = "operator_key")]
    pub server: Option<String>,
}

/// The next (at most) `size` import lines with their line numbers; empty at the end.
fn next_chunk(
    lines: &mut impl Iterator<Item = (usize, std::io::Result<String>)>,
    path: &Path,
    size: usize,
) -> anyhow::Result<Vec<(usize, ImportLine)>> {
    let mut chunk = Vec::with_capacity(size);
    while chunk.len() < size {
        let Some((index, line)) = lines.next() else {
            break;
        };
        let number = index + 1;
        let line = line.with_context(|| format!("{}: reading line {number}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: ImportLine = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {number} is not an import line", path.display()))?;
        chunk.push((number, parsed));
    }
    Ok(chunk)
}

/// Writes sent in one `Import` call by `--server`.
const WRITES_PER_CALL: usize = 2_000;

/// Sends every line of `path` to a server's `ImportService.Import`, in calls of
/// [`WRITES_PER_CALL`] writes.
async fn import_remote(server: &str, path: &Path) -> anyhow::Result<ImportStats> {
    // No per-call limit: a call streams thousands of writes, under the server's deadline.
    let channel = super::endpoint(server)?
        .connect()
        .await
        .with_context(|| format!("connecting to {server}"))?;
    let mut client =
        pb::import_service_client::ImportServiceClient::new(channel).max_encoding_message_size(512 * 1024);
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let started = Instant::now();
    let mut count = 0u64;
    let mut lines = BufReader::new(file).lines().enumerate();
    loop {
        let chunk = next_chunk(&mut lines, path, WRITES_PER_CALL)?;
        let Some(&(first_line, _)) = chunk.first() else {
            break;
        };
        let requests: Vec<pb::ImportRequest> = chunk
            .into_iter()
            .map(|(_, line)| pb::ImportRequest {
                rpc: line.rpc,
                envelope: Some(line.envelope),
            })
            .collect();
        let response = client
            .import(tokio_stream::iter(requests))
            .await
            .map_err(|status| {
                anyhow::anyhow!(
                    "{}: the call starting at line {first_line} failed ({:?}): {}; {count} writes of earlier calls were applied",
                    path.display(),
                    status.code(),
                    status.message()
                )
            })?
            .into_inner();
        count += response.accepted;
        eprintln!(
            "{count} writes applied ({} replays in this call), log size {}",
            response.replayed, response.log_size
        );
    }
    Ok(ImportStats {
        writes: count,
        elapsed: started.elapsed(),
        retried_batches: 0,
    })
}

/// One line of an import file.
#[derive(Debug, Deserialize)]
pub struct ImportLine {
    pub rpc: String,
    pub envelope: pb::SignedEnvelope,
}

/// What an import did.
#[derive(Debug, Clone, Copy)]
pub struct ImportStats {
    pub writes: u64,
    pub elapsed: Duration,
    /// Batches whose optimistic first try was rolled back and applied again write by write.
    pub retried_batches: u64,
}

impl ImportStats {
    pub fn writes_per_second(&self) -> f64 {
        self.writes as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Applies every line of `path` with `writes`, each as received now; stops at the first
/// refused line with an error naming its line number. `progress` shows a progress bar on
/// stderr (only drawn when stderr is a terminal).
pub async fn import_file(writes: &Writes, path: &Path, progress: bool) -> anyhow::Result<ImportStats> {
    let open = || std::fs::File::open(path).with_context(|| format!("opening {}", path.display()));
    let total = BufReader::new(open()?).lines().count() as u64;
    let bar = if progress && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} writes, {per_sec}, eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = Instant::now();
    let (mut count, mut retried_batches) = (0u64, 0u64);
    let mut lines = BufReader::new(open()?).lines().enumerate();
    let read = |lines: &mut std::iter::Enumerate<std::io::Lines<BufReader<std::fs::File>>>| {
        next_chunk(lines, path, BATCH_WRITES).map(|chunk| {
            chunk
                .into_iter()
                .map(|(number, line)| (number, (line.rpc, line.envelope)))
                .unzip::<_, _, Vec<usize>, Vec<(String, pb::SignedEnvelope)>>()
        })
    };
    let (mut numbers, mut pending) = read(&mut lines)?;
    let mut checked = writes.precheck(&pending).await?;
    while !pending.is_empty() {
        // The next chunk is read and its signatures checked while this one is applied.
        let (outcome, next) = tokio::join!(
            writes.import_prechecked(&pending, Timestamp::now(), checked),
            async {
                let (numbers, pending) = read(&mut lines)?;
                let checked = writes.precheck(&pending).await?;
                anyhow::Ok((numbers, pending, checked))
            }
        );
        let outcome = outcome?;
        count += outcome.receipts.len() as u64;
        retried_batches += u64::from(outcome.retried);
        bar.inc(outcome.receipts.len() as u64);
        if let Some((index, error)) = outcome.refused {
            bar.abandon();
            anyhow::bail!(
                "{}: line {} ({}) refused: {error}; the {count} writes before it were applied",
                path.display(),
                numbers[index],
                pending[index].0
            );
        }
        (numbers, pending, checked) = next?;
    }
    bar.finish_and_clear();
    Ok(ImportStats {
        writes: count,
        elapsed: started.elapsed(),
        retried_batches,
    })
}

/// The line `import` and the bench print after refreshing the planner's statistics.
pub fn statistics_refreshed(seconds: f64) -> String {
    format!("query planner statistics refreshed (ANALYZE) in {seconds:.2} s")
}

/// One import line for `rpc` and `envelope`, as JSON (no newline).
pub fn import_line(rpc: &str, envelope: &pb::SignedEnvelope) -> String {
    serde_json::json!({ "rpc": rpc, "envelope": envelope }).to_string()
}

pub async fn run(args: &ImportArgs) -> anyhow::Result<()> {
    if let Some(server) = &args.server {
        let stats = import_remote(server, &args.file).await?;
        println!(
            "imported {} writes in {:.2} s ({:.0} writes/s)",
            stats.writes,
            stats.elapsed.as_secs_f64(),
            stats.writes_per_second()
        );
        return Ok(());
    }
    let store = Store::open(&args.database_url, &StoreOptions::without_lookup_caches()).await?;
    let writes = Writes::new(store.clone(), args.operator_key.clone());
    let result = import_file(&writes, &args.file, true).await;
    // Also after a refused line: the writes before it stay applied.
    let statistics = store.refresh_statistics().await;
    store.close().await?;
    let stats = result?;
    let statistics = statistics.context("refreshing the query planner's statistics after the import")?;
    println!(
        "imported {} writes in {:.2} s ({:.0} writes/s)",
        stats.writes,
        stats.elapsed.as_secs_f64(),
        stats.writes_per_second()
    );
    if let Some(took) = statistics {
        println!("{}", statistics_refreshed(took.as_secs_f64()));
    }
    if stats.retried_batches > 0 {
        println!(
            "{} batches of {BATCH_WRITES} were applied a second time, write by write: they held a replay, \
             a reused nonce or key, or a refused write",
            stats.retried_batches
        );
    }
    Ok(())
}

//! `trust-registry import FILE.jsonl`: applies a file of signed envelopes, one write per line,
//! through the same pipeline as single writes (authentication, signature, replay and clock
//! checks, roles, validation, the log), in-process against a database. A matching RPC is not
//! offered: the import writes to the database directly, as `serve` would.

use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Deserialize;

use crate::api::write::{OperatorKey, Writes};
use crate::domain::Timestamp;
use crate::domain::keys::parse_public_key;
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
    #[arg(long, env = "TRUST_REGISTRY_OPERATOR_KEY")]
    pub operator_key: Option<String>,
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
    let mut count = 0u64;
    for (index, line) in BufReader::new(open()?).lines().enumerate() {
        let number = index + 1;
        let line = line.with_context(|| format!("{}: reading line {number}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let ImportLine { rpc, envelope } = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {number} is not an import line", path.display()))?;
        writes
            .resubmit(&rpc, envelope, Timestamp::now())
            .await
            .map_err(|err| anyhow::anyhow!("{}: line {number} ({rpc}) refused: {err}", path.display()))?;
        count += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(ImportStats {
        writes: count,
        elapsed: started.elapsed(),
    })
}

/// One import line for `rpc` and `envelope`, as JSON (no newline).
pub fn import_line(rpc: &str, envelope: &pb::SignedEnvelope) -> String {
    serde_json::json!({ "rpc": rpc, "envelope": envelope }).to_string()
}

pub async fn run(args: &ImportArgs) -> anyhow::Result<()> {
    let store = Store::open(&args.database_url, &StoreOptions::default()).await?;
    let operator = match &args.operator_key {
        Some(text) => Some(OperatorKey::new(parse_public_key(text)?)),
        None => None,
    };
    let writes = Writes::new(store.clone(), operator);
    let result = import_file(&writes, &args.file, true).await;
    store.close().await?;
    let stats = result?;
    println!(
        "imported {} writes in {:.2} s ({:.0} writes/s)",
        stats.writes,
        stats.elapsed.as_secs_f64(),
        stats.writes_per_second()
    );
    Ok(())
}

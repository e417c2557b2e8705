//! Command line and environment configuration.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use clap::{Parser, Subcommand, ValueEnum};

use crate::api::cors::AllowedOrigins;
use crate::api::rate_limit::RateLimit;
use crate::api::write::OperatorKey;

/// A gRPC registry of trusted issuers and qualifications for micro-credentials.
#[derive(Debug, Parser)]
#[command(name = "trust-registry", version, about)]
pub struct Cli {
    /// Log format; the level comes from RUST_LOG (default "info").
    #[arg(
        long,
        global = true,
        env = "TRUST_REGISTRY_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// For commands that call a registry at an https:// URL: a PEM certificate of an authority
    /// to trust besides the public web roots (a registry whose certificate it issued).
    #[arg(long, global = true, env = "TRUST_REGISTRY_TLS_CA_FILE")]
    pub tls_ca_file: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC server.
    Serve(ServeArgs),
    /// Create an Ed25519 key pair for signing writes.
    Keygen(crate::cli::keygen::KeygenArgs),
    /// Sign a command written as JSON and send it to the registry.
    Submit(crate::cli::submit::SubmitArgs),
    /// Check a registry against its log: checkpoint, consistency, signatures, replayed state
    /// (with --database-url, every row of every table of its database).
    Audit(crate::cli::audit::AuditArgs),
    /// Rebuild a store by replaying a registry's log.
    Rebuild(crate::cli::audit::RebuildArgs),
    /// Copy a registry into a local store, or bring a copy up to date, by verifying and
    /// replaying its log (with --follow, keep doing so).
    Mirror(crate::cli::audit::MirrorArgs),
    /// Print the registry's public verdict-signing key.
    RegistryKey(crate::cli::keygen::RegistryKeyArgs),
    /// Ask the registry whether an issuer was quality-assured, for a kind of credential, at a
    /// time (exit 0 trusted, 1 not, 2 no answer).
    CheckIssuer(crate::cli::verify::CheckIssuerArgs),
    /// Verify a credential file against the registry (exit 0 passed, 1 failed, 2 no answer).
    Verify(crate::cli::verify::VerifyArgs),
    /// Apply a JSONL file of signed envelopes through the write pipeline, in-process.
    Import(crate::cli::import::ImportArgs),
    /// Generate a synthetic registry, serve it in-process and measure calls/s and latencies.
    Bench(crate::bench::BenchArgs),
}

/// Settings of `trust-registry serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TRUST_REGISTRY_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Database: sqlite://FILE?mode=rwc (embedded) or postgres://USER@HOST/DB.
    #[arg(
        long,
        env = "TRUST_REGISTRY_DATABASE_URL",
        default_value = "sqlite://trust-registry.db?mode=rwc"
    )]
    pub database_url: String,

    /// Load the fictional demo dataset into an empty store before serving.
    #[arg(long, env = "TRUST_REGISTRY_DEMO")]
    pub demo: bool,

    /// The registry operator's Ed25519 public key (multibase z6Mk..., base64 or hex).
    /// Without it every governance write is refused.
    #[arg(long, env = "TRUST_REGISTRY_OPERATOR_KEY", value_parser = parse_operator_key)]
    pub operator_key: Option<OperatorKey>,

    /// The registry's own Ed25519 signing key (PKCS#8 PEM), created with mode 0600 when missing.
    #[arg(
        long,
        env = "TRUST_REGISTRY_REGISTRY_KEY_FILE",
        default_value = "trust-registry-registry.key"
    )]
    pub registry_key_file: std::path::PathBuf,

    /// The log's origin in checkpoints (and the checkpoint key's name), e.g. registry.example.org/log:
    /// no spaces, control characters or '+'.
    #[arg(
        long,
        env = "TRUST_REGISTRY_LOG_ORIGIN",
        default_value = crate::server::DEFAULT_LOG_ORIGIN,
        value_parser = parse_log_origin
    )]
    pub log_origin: String,

    /// Largest database connection pool (at least 1: a pool of none cannot be built).
    #[arg(
        long,
        env = "TRUST_REGISTRY_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub db_max_connections: u32,

    /// Entries of each kind in the read cache of trust facts (issuer keys, identifiers,
    /// providers with accreditations), and a quarter as many micro-credentials as
    /// VerifyCredential needs them; 0 turns it off. Cached values are checked against
    /// the database's log size on every read, so a write is seen by the next read.
    #[arg(long, env = "TRUST_REGISTRY_CACHE_ENTRIES", default_value_t = 250_000)]
    pub cache_entries: usize,

    /// On a SQLite file, qualifications whose row GetQualification finds without the id index:
    /// the server keeps where each is in the file (12 bytes and the map's slack: ~25 MiB more
    /// peak RSS for a million, as measured), loaded from the index when it starts. A location is only a hint: the row must
    /// still hold the id asked for, or the lookup uses the index. 0 keeps none.
    #[arg(
        long,
        env = "TRUST_REGISTRY_QUALIFICATION_ROW_HINTS",
        default_value_t = 2_000_000
    )]
    pub qualification_row_hints: usize,

    /// Memory, in MiB, for the qualifications' documents that GetQualification returns, kept
    /// compressed with a dictionary trained on the registry's own documents and read from the
    /// database when the server starts, until the budget is full (a million of the benchmark's
    /// documents, ~1 KB of JSON each, take ~265 MiB). Lookups of the documents kept read no page
    /// of the database file. Each is checked against the database's log size on every read, so
    /// a write is seen by the next read. 0 keeps none.
    #[arg(
        long,
        env = "TRUST_REGISTRY_DOCUMENT_CACHE_MIB",
        default_value_t = crate::store::DEFAULT_DOCUMENT_CACHE_MIB
    )]
    pub document_cache_mib: u64,

    /// Threads that run the calls (default: twice the CPUs this process may use, one on a
    /// single CPU). Reads of a SQLite file run on these threads, and a read of a page the OS no
    /// longer holds in its page cache waits for the disk on its thread; with more threads than
    /// CPUs, the calls that are ready meanwhile run on another. A server on one CPU keeps one
    /// thread: its verdict signer counts on calls not overlapping there (see api/signing.rs),
    /// and two threads on one CPU were not measured.
    #[arg(
        long,
        env = "TRUST_REGISTRY_WORKER_THREADS",
        value_parser = clap::value_parser!(u16).range(1..=1024)
    )]
    pub worker_threads: Option<u16>,

    /// Server-side deadline of every call, in milliseconds (at least 1: with 0 every call that
    /// has to wait for anything, such as the database, would be cancelled).
    #[arg(
        long,
        env = "TRUST_REGISTRY_REQUEST_TIMEOUT_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub request_timeout_ms: u64,

    /// Calls a second allowed from one client address (an IPv6 client's /64), health checks
    /// not counted; a call over it gets RESOURCE_EXHAUSTED with when to retry. 0 turns the
    /// limit off, for a server behind a proxy that limits (every call would come from the
    /// proxy's address). Each server process counts on its own.
    #[arg(
        long,
        env = "TRUST_REGISTRY_RATE_LIMIT",
        default_value_t = RateLimit::DEFAULT.per_second.get()
    )]
    pub rate_limit: u32,

    /// Calls one client address may make at once before --rate-limit applies (at least 1).
    #[arg(
        long,
        env = "TRUST_REGISTRY_RATE_LIMIT_BURST",
        default_value_t = RateLimit::DEFAULT.burst
    )]
    pub rate_limit_burst: NonZeroU32,

    /// Origins whose web pages may call the registry with gRPC-Web: * for any (the default;
    /// writes are authorised by their signatures, not by anything a browser holds), or a
    /// comma-separated list such as https://wallet.example.org,https://verify.example.org.
    #[arg(long, env = "TRUST_REGISTRY_CORS_ALLOWED_ORIGINS", default_value = "*")]
    pub cors_allowed_origins: AllowedOrigins,

    /// Serve over TLS with this certificate chain (PEM); needs --tls-key-file. Without it the
    /// server speaks plain HTTP/2, for a proxy in front of it that terminates TLS.
    #[arg(long, env = "TRUST_REGISTRY_TLS_CERT_FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<std::path::PathBuf>,

    /// The private key (PEM) of --tls-cert-file's certificate.
    #[arg(long, env = "TRUST_REGISTRY_TLS_KEY_FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<std::path::PathBuf>,

    /// Serve reads only: every write RPC (and Import) is refused with FAILED_PRECONDITION. For a
    /// store that `trust-registry mirror` keeps in step with another registry, whose log a write
    /// accepted here would fork.
    #[arg(long, env = "TRUST_REGISTRY_READ_ONLY")]
    pub read_only: bool,

    /// Serve Prometheus metrics (GET /metrics, OpenMetrics text) on this address, over plain
    /// HTTP: calls by method and status, their durations, the log's size. Off without it.
    /// Keep it on the operator's network; the gRPC port does not answer /metrics.
    #[arg(long, env = "TRUST_REGISTRY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

impl ServeArgs {
    /// The TLS identity `--tls-cert-file` and `--tls-key-file` name, read and checked (a
    /// certificate and key that do not load, or do not belong together, are refused here,
    /// before any store is opened); `None` without them.
    pub fn tls_identity(&self) -> anyhow::Result<Option<tonic::transport::Identity>> {
        use anyhow::Context as _;
        let (Some(cert_file), Some(key_file)) = (&self.tls_cert_file, &self.tls_key_file) else {
            return Ok(None);
        };
        let read = |flag: &str, path: &std::path::Path| {
            std::fs::read(path).with_context(|| format!("{flag} {}: cannot read it", path.display()))
        };
        let identity = tonic::transport::Identity::from_pem(
            read("--tls-cert-file", cert_file)?,
            read("--tls-key-file", key_file)?,
        );
        crate::server::check_tls(&identity).with_context(|| {
            format!(
                "--tls-cert-file {} / --tls-key-file {}: not a PEM certificate chain and its private key",
                cert_file.display(),
                key_file.display()
            )
        })?;
        Ok(Some(identity))
    }

    /// The runtime's worker threads: `--worker-threads`, else twice the CPUs the process may
    /// use, or one on a single CPU.
    pub fn worker_threads(&self) -> usize {
        self.worker_threads.map_or_else(
            || match std::thread::available_parallelism().map_or(1, |cpus| cpus.get()) {
                1 => 1,
                cpus => 2 * cpus,
            },
            usize::from,
        )
    }

    /// The rate limit `--rate-limit` and `--rate-limit-burst` ask for; `None` when turned off.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        NonZeroU32::new(self.rate_limit).map(|per_second| RateLimit {
            per_second,
            burst: self.rate_limit_burst,
        })
    }
}

/// Reads `--operator-key`: a text that is not an Ed25519 public key is refused here, naming
/// the flag, before any database is opened, rather than once the server (or an import or an
/// audit) has started working.
pub fn parse_operator_key(text: &str) -> Result<OperatorKey, String> {
    let public = crate::domain::keys::parse_public_key(text).map_err(|err| err.to_string())?;
    ed25519_dalek::VerifyingKey::from_bytes(&public)
        .map_err(|_| "the 32 bytes are not an Ed25519 public key (not a point of the curve)".to_owned())?;
    Ok(OperatorKey::new(public))
}

/// Reads `--log-origin`: refused here, with the rule, when it cannot name the checkpoint key,
/// rather than by every checkpoint call of the running server.
pub fn parse_log_origin(text: &str) -> Result<String, &'static str> {
    crate::server::check_log_origin(text).map(|()| text.to_owned())
}

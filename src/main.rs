use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use trust_registry::config::{Cli, Command, ServeArgs};
use trust_registry::server::{self, ServerOptions};
use trust_registry::store::{Store, StoreOptions};
use trust_registry::{demo, telemetry};

/// mimalloc instead of the system allocator: the server allocates many small short-lived
/// values per call from several threads, where glibc's malloc took ~12% of CPU in profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    // Only `serve` sizes its runtime (see `--worker-threads`); the other commands, the bench's
    // client among them, keep Tokio's default of one worker a CPU.
    if let Command::Serve(args) = &cli.command {
        runtime.worker_threads(args.worker_threads());
    }
    match runtime.build() {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> ExitCode {
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    telemetry::init(cli.log_format, default_level);
    if let Some(path) = &cli.tls_ca_file
        && let Err(err) = trust_registry::cli::trust_certificate_authority(path)
    {
        // check-issuer and verify tell "no answer" by their own exit code, not by failure (1
        // is their "no").
        return match cli.command {
            Command::CheckIssuer(_) | Command::Verify(_) => trust_registry::cli::verify::exit(Err(err)),
            _ => stopped(err),
        };
    }
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Keygen(args) => trust_registry::cli::keygen::run(&args),
        Command::Submit(args) => trust_registry::cli::submit::run(&args).await,
        Command::Audit(args) => trust_registry::cli::audit::audit(&args).await,
        Command::Rebuild(args) => trust_registry::cli::audit::rebuild(&args).await,
        Command::Mirror(args) => trust_registry::cli::audit::mirror(&args).await,
        Command::RegistryKey(args) => trust_registry::cli::keygen::print_registry_key(&args),
        Command::CheckIssuer(args) => return trust_registry::cli::verify::check_issuer(&args).await,
        Command::Verify(args) => return trust_registry::cli::verify::verify(&args).await,
        Command::Import(args) => trust_registry::cli::import::run(&args).await,
        Command::Bench(args) => trust_registry::bench::run(&args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => stopped(err),
    }
}

/// Reports the error a command stopped with, and fails.
fn stopped(err: anyhow::Error) -> ExitCode {
    tracing::error!(error = format!("{err:#}"), "trust-registry stopped with an error");
    eprintln!("error: {err:#}");
    ExitCode::FAILURE
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store_options = StoreOptions {
        max_connections: args.db_max_connections,
        cache_entries: args.cache_entries,
        qualification_row_hints: args.qualification_row_hints,
        document_cache_mib: args.document_cache_mib,
        ..StoreOptions::default()
    };
    let tls = args.tls_identity()?;
    // Bound first: an address already in use is refused before the store is created or migrated.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("--listen {}: cannot listen on this address", args.listen))?;
    // The metrics' listener, and the metrics the server counts into and it serves.
    let metrics = match args.metrics_listen {
        Some(addr) => Some((
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("--metrics-listen {addr}: cannot listen on this address"))?,
            std::sync::Arc::new(trust_registry::metrics::Metrics::new()),
        )),
        None => None,
    };
    let store = Store::open(&args.database_url, &store_options)
        .await
        .context("--database-url: cannot open the store")?;
    tracing::info!(backend = ?store.backend(), "store open, schema up to date");
    if args.demo {
        match demo::load(&store).await? {
            Some(summary) => tracing::info!(
                ?summary,
                demo_operator_key = %trust_registry::domain::keys::multibase(&demo::demo_operator_key().verifying_key().to_bytes()),
                "demo dataset loaded through signed writes (audit it with --operator-key <demo_operator_key>)"
            ),
            None => tracing::info!("store is not empty; demo dataset not loaded"),
        }
    }
    tracing::info!(listen = %listener.local_addr()?, "serving trustregistry.v1");
    let operator_key = args.operator_key.clone();
    if operator_key.is_none() {
        tracing::warn!("no operator key configured (--operator-key): governance writes are refused");
    }
    if let Some(key) = &operator_key {
        tracing::info!(operator_key_id = %key.key_id, "operator key configured");
    }
    let registry_key = trust_registry::cli::load_or_create_registry_key(&args.registry_key_file)?;
    tracing::info!(registry_key_id = %registry_key.key_id(), "registry signing key loaded");
    let options = ServerOptions {
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        operator_key,
        registry_key: Some(registry_key),
        log_origin: args.log_origin.clone(),
        rate_limit: args.rate_limit(),
        allowed_origins: args.cors_allowed_origins.clone(),
        tls,
        read_only: args.read_only,
        metrics: metrics.as_ref().map(|(_, metrics)| metrics.clone()),
    };
    if options.read_only {
        tracing::info!("serving reads only (--read-only): every write is refused");
    }
    if options.tls.is_none() {
        tracing::info!("serving plain HTTP/2 (no --tls-cert-file): terminate TLS in front of this server");
    }
    match options.rate_limit {
        Some(limit) => tracing::info!(
            per_second = limit.per_second.get(),
            burst = limit.burst.get(),
            "calls from one client address are rate-limited"
        ),
        None => tracing::warn!("no rate limit (--rate-limit 0): limit calls in front of this server"),
    }
    let metrics_endpoint = match metrics {
        Some((metrics_at, metrics)) => {
            tracing::info!(listen = %metrics_at.local_addr()?, "serving Prometheus metrics at /metrics");
            Some(tokio::spawn(trust_registry::metrics::endpoint::serve(
                metrics_at,
                metrics,
                store.clone(),
                std::future::pending::<()>(),
            )))
        }
        None => None,
    };
    let served = server::serve(listener, store, options, server::shutdown_signal()).await;
    if let Some(endpoint) = metrics_endpoint {
        endpoint.abort();
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

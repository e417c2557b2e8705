//! `trust-registry bench`: generates a synthetic registry as signed envelopes, imports it with
//! the import code (every write through the signed-write pipeline and the log), starts
//! `trust-registry serve` on it in a child process on a loopback port, and drives it
//! closed-loop with a tonic client from this process.
//!
//! CPU per call and peak RSS of the scenario rows are the server process's alone; the import
//! row's peak RSS is this process's (generator and importer).

mod child;
pub mod drive;
pub mod generate;
mod registry;
pub mod report;

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, Database};
use tonic::transport::{Channel, Endpoint};

use crate::api::write::{OperatorKey, Writes};
use crate::cli::import::import_file;
use crate::store::{Store, StoreOptions};
use drive::{Dataset, Scenario};
use registry::{Ids, ids_from_log, load, scratch_database};
use report::{ImportRow, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Settings of `trust-registry bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Tiny scale and short windows (seconds in all): 50 providers, 4 qualifications each,
    /// 0.2 s warm-up, 1 s windows, in flight 1 and 16 (unless given explicitly).
    #[arg(long)]
    pub quick: bool,

    /// Providers in the synthetic registry [default: 100000; quick: 50].
    #[arg(long)]
    pub providers: Option<usize>,

    /// Qualifications each provider publishes [default: 10; quick: 4].
    #[arg(long)]
    pub qualifications_per_provider: Option<usize>,

    /// Accreditations of each provider, each with its status history [default: 3].
    #[arg(long, default_value_t = 3)]
    pub accreditations_per_provider: usize,

    /// Recognition decisions per provider [default: 2].
    #[arg(long, default_value_t = 2)]
    pub recognitions_per_provider: usize,

    /// Database behind the server: a fresh temporary SQLite file, or a fresh PostgreSQL
    /// database created with --postgres-url (and dropped afterwards).
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: Backend,

    /// SQLite: create the database as DIR/bench.db and keep it afterwards (to inspect the
    /// generated registry, or to serve it with `serve --database-url`), instead of a temporary
    /// file. DIR/bench.db must not exist yet.
    #[arg(long, value_name = "DIR")]
    pub keep_database: Option<std::path::PathBuf>,

    /// Serve and drive DIR/bench.db, kept by an earlier `--keep-database DIR` run, instead of
    /// generating and importing a registry (SQLite only; no import row). The dataset's ids are
    /// read back from its log, so the requests are those of the run that built it.
    #[arg(long, value_name = "DIR", conflicts_with = "keep_database")]
    pub reuse_database: Option<std::path::PathBuf>,

    /// A PostgreSQL URL whose user may create databases (for --backend postgres).
    #[arg(long, env = "TRUST_REGISTRY_BENCH_POSTGRES_URL")]
    pub postgres_url: Option<String>,

    /// Measured window of each scenario and level, in seconds [default: 10; quick: 1].
    #[arg(long)]
    pub duration_secs: Option<f64>,

    /// Warm-up before each window, in seconds [default: 2; quick: 0.2].
    #[arg(long)]
    pub warmup_secs: Option<f64>,

    /// Calls in flight (closed loop), comma separated [default: 1,16,64,256; quick: 1,16].
    #[arg(long, value_delimiter = ',')]
    pub in_flight: Vec<usize>,

    /// Scenarios to run, comma separated [default: all]; baseline always runs.
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,

    /// One JSON object a line instead of a table.
    #[arg(long)]
    pub json: bool,

    /// The server's database connection pool size (as `serve --db-max-connections`).
    #[arg(long, default_value_t = StoreOptions::default().max_connections)]
    pub db_max_connections: u32,

    /// The server's read cache size (as `serve --cache-entries`).
    #[arg(long, default_value_t = StoreOptions::default().cache_entries)]
    pub cache_entries: usize,

    /// The server's memory for qualification documents, in MiB (as `serve
    /// --document-cache-mib`; 0 keeps none, so GetQualification reads the database).
    #[arg(long, default_value_t = StoreOptions::default().document_cache_mib)]
    pub document_cache_mib: u64,

    /// Distinct credentials the VerifyCredential scenario presents, one picked at random for
    /// each call; each is by a random provider about one of its micro-credentials. The server
    /// keeps the signatures it verified (up to 65,536) and the micro-credentials credentials
    /// name (a quarter of --cache-entries): fewer credentials than that measure verifiers that
    /// see the same credentials again, many more measure mostly new ones.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub credentials: u32,

    /// Measure each scenario other than the baseline in N rounds: each round a window of the
    /// empty call, then one of the scenario, at the same calls in flight, each --duration-secs
    /// / N long (the first round after the full warm-up, the others after 1/N of it). The
    /// ratio is then the scenario's calls over the empty call's in the windows between its
    /// own, which cancels the drift of a shared machine's speed between the baseline rows and
    /// a scenario measured minutes later. With 1, the ratio is to the baseline rows.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: u32,

    /// Signed writes a second to send beside the calls of every scenario but the signed-write
    /// mix, the empty calls of its rounds included (each publishes, then withdraws, a
    /// micro-credential, as the mix does), to measure reads on a registry that is taking
    /// writes [default: 0, none]. Their errors count as the row's; their calls and latencies
    /// do not, their server CPU does.
    #[arg(long, default_value_t = 0.0)]
    pub background_writes: f64,

    /// What the background writes do: `qualifications` publish, then withdraw, a
    /// micro-credential; `keys` add a new key to a random provider.
    #[arg(long, value_enum, default_value_t = drive::BackgroundKind::Qualifications)]
    pub background_write_kind: drive::BackgroundKind,

    /// Start the server with Prometheus metrics on (`serve --metrics-listen` on a free loopback
    /// port), to measure what metering every call costs.
    #[arg(long)]
    pub metrics: bool,
}

/// Providers a chunk of import lines covers: each chunk is signed just before its import, so
/// that every envelope's issued_at stays within the registry's +-300 s clock window.
const CHUNK_PROVIDERS: usize = 2_000;

struct Settings {
    providers: usize,
    per_provider: usize,
    accreditations_per_provider: usize,
    recognitions_per_provider: usize,
    window: Duration,
    warmup: Duration,
    in_flight: Vec<usize>,
    scenarios: Vec<Scenario>,
    rounds: u32,
    background_writes: f64,
    background_kind: drive::BackgroundKind,
}

fn settings(args: &BenchArgs) -> anyhow::Result<Settings> {
    let q = args.quick;
    let secs = |v: f64| Duration::from_secs_f64(v.max(0.0));
    let scenarios = if args.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        let mut chosen = vec![Scenario::Baseline];
        for name in &args.scenarios {
            let scenario = Scenario::ALL
                .into_iter()
                .find(|s| s.name() == name)
                .ok_or_else(|| anyhow::anyhow!("unknown scenario {name}"))?;
            if !chosen.contains(&scenario) {
                chosen.push(scenario);
            }
        }
        chosen
    };
    let settings = Settings {
        providers: args.providers.unwrap_or(if q { 50 } else { 100_000 }),
        per_provider: args.qualifications_per_provider.unwrap_or(if q { 4 } else { 10 }),
        accreditations_per_provider: args.accreditations_per_provider,
        recognitions_per_provider: args.recognitions_per_provider,
        window: secs(args.duration_secs.unwrap_or(if q { 1.0 } else { 10.0 })),
        warmup: secs(args.warmup_secs.unwrap_or(if q { 0.2 } else { 2.0 })),
        in_flight: if args.in_flight.is_empty() {
            if q { vec![1, 16] } else { vec![1, 16, 64, 256] }
        } else {
            args.in_flight.clone()
        },
        scenarios,
        rounds: args.rounds,
        background_writes: args.background_writes,
        background_kind: args.background_write_kind,
    };
    anyhow::ensure!(
        settings.background_writes.is_finite() && (0.0..=10_000.0).contains(&settings.background_writes),
        "--background-writes must be from 0 to 10000 writes a second"
    );
    anyhow::ensure!(settings.providers > 0, "--providers must be at least 1");
    anyhow::ensure!(
        settings.accreditations_per_provider > 0,
        "--accreditations-per-provider must be at least 1"
    );
    anyhow::ensure!(
        settings.per_provider > 0,
        "--qualifications-per-provider must be at least 1"
    );
    anyhow::ensure!(
        settings.in_flight.iter().all(|&n| n > 0),
        "--in-flight levels must be at least 1"
    );
    anyhow::ensure!(!settings.window.is_zero(), "--duration-secs must be more than 0");
    anyhow::ensure!(
        args.keep_database.is_none() || args.backend == Backend::Sqlite,
        "--keep-database is for --backend sqlite (a PostgreSQL bench database is dropped afterwards)"
    );
    anyhow::ensure!(
        args.reuse_database.is_none() || args.backend == Backend::Sqlite,
        "--reuse-database is for --backend sqlite"
    );
    Ok(settings)
}

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let settings = settings(args)?;
    let backend = args.backend;
    let (url, scratch) = scratch_database(args).await?;
    let result = bench(args, &settings, &url).await;
    let removed = scratch.remove().await;
    let errors = result?;
    removed.context("removing the bench database")?;
    anyhow::ensure!(
        errors == 0,
        "{errors} calls failed on {}; see the errors column",
        backend.name()
    );
    Ok(())
}

/// Runs the whole bench against a fresh database at `url`; the number of failed calls.
async fn bench(args: &BenchArgs, settings: &Settings, url: &str) -> anyhow::Result<u64> {
    let backend = args.backend;
    let json = args.json;
    let operator = generate::operator_key();
    let operator_key = OperatorKey::new(operator.verifying_key().to_bytes());
    let store_options = StoreOptions {
        max_connections: args.db_max_connections,
        cache_entries: args.cache_entries,
        ..StoreOptions::without_lookup_caches()
    };
    let store = Store::open(url, &store_options).await?;
    let ids = if args.reuse_database.is_some() {
        ids_from_log(&store, settings.accreditations_per_provider).await?
    } else {
        let writes = Writes::new(store.clone(), Some(operator_key.clone()));
        let dir = tempfile::tempdir().context("temporary directory for import files")?;
        let progress = !json && !args.quick;
        let (generator, import) = load(&writes, settings, dir.path(), backend, progress).await?;
        report::print_import(&import, json);
        Ids {
            skills: generator.skills(),
            providers: generator.providers,
            per_provider: generator.per_provider,
            accreditation_ids: generator.accreditation_ids,
            qualification_ids: generator.qualification_ids,
        }
    };

    let mut rng = drive::Rng::new(0xC0FFEE);
    let run = format!("{:x}", rng.next_u64() ^ std::process::id() as u64);
    let mut data = Dataset {
        providers: ids.providers,
        per_provider: ids.per_provider,
        skills: ids.skills,
        accreditation_ids: ids.accreditation_ids,
        qualification_ids: ids.qualification_ids,
        credentials: Vec::new(),
        run,
        nonces: Default::default(),
    };
    data.credentials = drive::credentials(&data, args.credentials as usize, 0xBEEF);
    let data = Arc::new(data);

    // The bench lets go of the database; the server opens it in a process of its own.
    store.close().await?;
    let server = child::ServerProcess::start(&child::ServerSettings {
        database_url: url,
        operator_key: &operator_key,
        db_max_connections: args.db_max_connections,
        cache_entries: args.cache_entries,
        document_cache_mib: args.document_cache_mib,
        metrics: args.metrics,
    })
    .await?;
    let addr = server.addr;
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))?.tcp_nodelay(true);
    let mut channels: Vec<Channel> = Vec::new();
    for _ in 0..4 {
        channels.push(
            endpoint
                .connect()
                .await
                .context("connecting to the bench server")?,
        );
    }

    // A server answering verifiers has its issuers cached. A write keeps the cached values it
    // did not touch (src/store/changes.rs); the signed-write mix runs last all the same.
    if settings
        .scenarios
        .iter()
        .any(|s| matches!(s, Scenario::CheckIssuer | Scenario::VerifyCredential))
    {
        let took = drive::prime(&channels, data.clone()).await?;
        report::print_primed(data.providers, took, json);
    }
    report::print_header(json, settings.background_writes, settings.background_kind.name());
    let mut errors = 0;
    let mut baselines = std::collections::HashMap::new();
    for &scenario in &settings.scenarios {
        for &in_flight in &settings.in_flight {
            // Spread the workers over connections, at most 64 calls in flight on one.
            let used = in_flight.div_ceil(64).min(channels.len());
            let background = (scenario != Scenario::SignedWriteMix && settings.background_writes > 0.0)
                .then_some((settings.background_writes, settings.background_kind));
            let measure = |scenario, warmup, window| {
                drive::measure(
                    &channels[..used],
                    data.clone(),
                    drive::Load {
                        scenario,
                        in_flight,
                        background_writes: background,
                    },
                    warmup,
                    window,
                    server.pid(),
                )
            };
            // One window (the baseline, or every scenario without --rounds), or N rounds.
            let (measured, baseline, rounds) = if scenario == Scenario::Baseline || settings.rounds == 1 {
                let measured = measure(scenario, settings.warmup, settings.window).await?;
                if scenario == Scenario::Baseline {
                    baselines.insert(in_flight, measured.calls_per_s());
                }
                let baseline = baselines.get(&in_flight).copied().unwrap_or(0.0);
                (measured, baseline, 1)
            } else {
                // The first round after the full warm-up, the others after 1/N of it.
                let window = settings.window / settings.rounds;
                let mut baseline = measure(Scenario::Baseline, settings.warmup, window).await?;
                let mut measured = measure(scenario, settings.warmup, window).await?;
                for _ in 1..settings.rounds {
                    let warmup = settings.warmup / settings.rounds;
                    baseline = baseline.merge(measure(Scenario::Baseline, warmup, window).await?)?;
                    measured = measured.merge(measure(scenario, warmup, window).await?)?;
                }
                let baseline_rate = baseline.calls_per_s();
                // The empty calls between the scenario's windows count as the row's calls do:
                // any of them failing fails the run.
                let measured = drive::Measured {
                    errors: measured.errors + baseline.errors,
                    first_error: measured.first_error.or(baseline.first_error),
                    ..measured
                };
                (measured, baseline_rate, settings.rounds)
            };
            let calls_per_s = measured.calls_per_s();
            let h = &measured.histogram;
            let row = Row {
                scenario: scenario.name(),
                backend: backend.name(),
                providers: data.providers,
                qualifications: data.qualification_ids.len(),
                credentials: (scenario == Scenario::VerifyCredential).then_some(data.credentials.len()),
                in_flight,
                background_writes_per_s: background.map(|(per_s, _)| per_s),
                background_write_kind: background.map(|(_, kind)| kind.name()),
                calls: measured.calls,
                calls_per_s,
                p50_us: h.value_at_quantile(0.5),
                p99_us: h.value_at_quantile(0.99),
                p999_us: h.value_at_quantile(0.999),
                rounds,
                baseline_calls_per_s: baseline,
                ratio_to_baseline: if baseline > 0.0 {
                    calls_per_s / baseline
                } else {
                    0.0
                },
                cpu_us_per_call: measured.cpu.as_micros() as f64 / measured.calls.max(1) as f64,
                client_cpu_us_per_call: measured.client_cpu.as_micros() as f64 / measured.calls.max(1) as f64,
                peak_rss_mib: report::peak_rss_mib(server.pid()),
                errors: measured.errors,
                first_error: measured.first_error,
            };
            errors += row.errors;
            report::print_row(&row, json);
        }
    }
    drop(channels);
    server.stop().await?;
    Ok(errors)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// `--credentials`' help states how many verified signatures the server keeps; it must
    /// follow the server's bound.
    #[test]
    fn credentials_help_states_the_servers_bound() {
        let mut cli = crate::config::Cli::command();
        let help = cli
            .find_subcommand_mut("bench")
            .expect("a bench subcommand")
            .render_long_help()
            .to_string();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        let bound = crate::domain::credential::VERIFIED_SIGNATURES;
        let bound = format!("{},{:03}", bound / 1000, bound % 1000);
        assert!(
            help.contains(&format!("keeps the signatures it verified (up to {bound})")),
            "{help}"
        );
    }
}

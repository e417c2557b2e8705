//! The bench's registry: a scratch database for the run, the synthetic registry generated
//! and imported into it, and the ids of a kept one read back from its log.

use super::*;

/// A database for one run, removed afterwards.
pub(super) enum Scratch {
    /// Removed when dropped (None: kept, --keep-database).
    Sqlite(#[allow(dead_code)] Option<tempfile::TempDir>),
    Postgres {
        admin_url: String,
        name: String,
    },
}

pub(super) async fn scratch_database(args: &BenchArgs) -> anyhow::Result<(String, Scratch)> {
    match args.backend {
        Backend::Sqlite => {
            if let Some(dir) = &args.reuse_database {
                let file = dir.join("bench.db");
                anyhow::ensure!(
                    file.is_file(),
                    "{} does not exist: --reuse-database takes the directory of a --keep-database run",
                    file.display()
                );
                return Ok((format!("sqlite://{}", file.display()), Scratch::Sqlite(None)));
            }
            if let Some(dir) = &args.keep_database {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                let file = dir.join("bench.db");
                anyhow::ensure!(
                    !file.exists(),
                    "{} exists already: the bench builds its registry in a new database",
                    file.display()
                );
                return Ok((
                    format!("sqlite://{}?mode=rwc", file.display()),
                    Scratch::Sqlite(None),
                ));
            }
            let dir = tempfile::tempdir().context("temporary directory")?;
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
            Ok((url, Scratch::Sqlite(Some(dir))))
        }
        Backend::Postgres => {
            let admin_url = args
                .postgres_url
                .clone()
                .ok_or_else(|| anyhow::anyhow!("--backend postgres needs --postgres-url"))?;
            let name = format!(
                "trbench_{}_{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis()
            );
            let admin = Database::connect(admin_url.as_str())
                .await
                .context("connecting to --postgres-url")?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .context("creating the bench database")?;
            admin.close().await?;
            let (base, query) = match admin_url.split_once('?') {
                Some((base, query)) => (base, format!("?{query}")),
                None => (admin_url.as_str(), String::new()),
            };
            let server = base.rsplit_once('/').map(|(server, _)| server).unwrap_or(base);
            Ok((
                format!("{server}/{name}{query}"),
                Scratch::Postgres { admin_url, name },
            ))
        }
    }
}

impl Scratch {
    /// Drops the PostgreSQL database (a SQLite directory goes when dropped).
    pub(super) async fn remove(self) -> anyhow::Result<()> {
        if let Scratch::Postgres { admin_url, name } = self {
            let admin = Database::connect(admin_url.as_str()).await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await?;
            admin.close().await?;
        }
        Ok(())
    }
}

/// The ids the driver asks for, by provider index.
pub(super) struct Ids {
    pub(super) providers: usize,
    pub(super) per_provider: usize,
    pub(super) skills: usize,
    /// The first accreditation of each provider.
    pub(super) accreditation_ids: Vec<String>,
    /// Qualification j of provider i at i * per_provider + j.
    pub(super) qualification_ids: Vec<String>,
}

/// The ids of a registry the generator built, read back from its log: the generator writes
/// provider by provider, its accreditations then its qualifications, and every id is minted
/// from the issued_at and envelope id of the write that created it. Writes of an earlier run's
/// signed-write mix (after the generator's) are left out.
pub(super) async fn ids_from_log(store: &Store, accreditations_per_provider: usize) -> anyhow::Result<Ids> {
    use crate::domain::ids::IdKind;
    const CHUNK: u64 = 50_000;
    let size = store.log_size().await;
    let (mut accreditations, mut qualifications) = (Vec::new(), Vec::new());
    for start in (0..size).step_by(CHUNK as usize) {
        for record in store.log_entries(start, (start + CHUNK).min(size)).await? {
            if record.nonce.starts_with(drive::MIX_NONCE_PREFIX) {
                continue;
            }
            match record.rpc.rsplit('/').next() {
                Some("RecordAccreditation") => {
                    accreditations.push(IdKind::Accreditation.mint_at(record.issued_at, record.id.as_bytes()))
                }
                Some("PublishQualification") => {
                    qualifications.push(IdKind::Qualification.mint_at(record.issued_at, record.id.as_bytes()))
                }
                _ => {}
            }
        }
    }
    let providers = accreditations.len() / accreditations_per_provider;
    anyhow::ensure!(
        providers > 0
            && accreditations.len() % accreditations_per_provider == 0
            && qualifications.len() % providers == 0,
        "the log does not hold a registry of the bench's shape ({} accreditations, {} qualifications, \
         {accreditations_per_provider} accreditations per provider)",
        accreditations.len(),
        qualifications.len()
    );
    // Ids minted before they began with the issued_at second (9ff1a42) are not the ones minted
    // here: say so instead of driving lookups of ids that do not exist.
    if let Some(first) = qualifications.first() {
        anyhow::ensure!(
            store.qualification(first).await?.is_some(),
            "the registry's qualification ids are not minted as this binary mints them (kept by a \
             binary older than the time-ordered ids?): generate a new one with --keep-database"
        );
    }
    let per_provider = qualifications.len() / providers;
    Ok(Ids {
        providers,
        per_provider,
        skills: generate::skills(providers * per_provider),
        accreditation_ids: accreditations
            .into_iter()
            .step_by(accreditations_per_provider)
            .collect(),
        qualification_ids: qualifications,
    })
}

/// Generates the synthetic registry chunk by chunk into JSONL files and imports each.
pub(super) async fn load(
    writes: &Writes,
    settings: &Settings,
    dir: &std::path::Path,
    backend: Backend,
    progress: bool,
) -> anyhow::Result<(generate::Generator, ImportRow)> {
    let mut generator = generate::Generator::new(
        settings.providers,
        settings.per_provider,
        settings.accreditations_per_provider,
        settings.recognitions_per_provider,
    );
    let (mut generating, mut importing, mut writes_done) = (Duration::ZERO, Duration::ZERO, 0u64);
    let mut retried_batches = 0u64;
    // None: governance; Some(first): providers from `first`, then recognitions.
    let mut next: Option<usize> = None;
    for chunk in 0usize.. {
        let started = Instant::now();
        let lines = match next {
            None => {
                next = Some(0);
                generator.governance()
            }
            Some(first) if first < settings.providers => {
                let end = (first + CHUNK_PROVIDERS).min(settings.providers);
                next = Some(end);
                generator.providers(first..end)
            }
            Some(first) if first == settings.providers => {
                next = Some(first + 1);
                generator.recognitions()
            }
            Some(_) => break,
        };
        let path = dir.join(format!("registry-{chunk:04}.jsonl"));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for line in &lines {
            writeln!(file, "{line}")?;
        }
        file.flush()?;
        drop(lines);
        generating += started.elapsed();
        let stats = import_file(writes, &path, progress).await?;
        importing += stats.elapsed;
        writes_done += stats.writes;
        retried_batches += stats.retried_batches;
        std::fs::remove_file(&path).ok();
        if progress {
            eprintln!(
                "  {} of {} providers imported, {} writes, {:.0} writes/s",
                generator.provider_ids.len(),
                settings.providers,
                writes_done,
                writes_done as f64 / importing.as_secs_f64().max(1e-9)
            );
        }
    }
    let statistics = writes.store().refresh_statistics().await?;
    let row = ImportRow {
        phase: "import",
        backend: backend.name(),
        providers: settings.providers,
        qualifications: settings.providers * settings.per_provider,
        accreditations: generator.accreditations,
        recognitions: generator.recognitions,
        writes: writes_done,
        generate_s: generating.as_secs_f64(),
        import_s: importing.as_secs_f64(),
        writes_per_s: writes_done as f64 / importing.as_secs_f64().max(1e-9),
        retried_batches,
        statistics_s: statistics.map(|took| took.as_secs_f64()),
        peak_rss_mib: report::peak_rss_mib(std::process::id()),
    };
    Ok((generator, row))
}

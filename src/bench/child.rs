//! The server under test: `trust-registry serve` in a child process of the bench, on a loopback
//! port, over the database the bench imported. Its CPU time and peak RSS are read from
//! /proc/<pid>, so they are the server's alone, not the client's or the generator's.

use std::net::SocketAddr;
use std::os::fd::AsFd as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tonic::transport::Endpoint;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::api::write::OperatorKey;
use crate::domain::keys;

/// How long the server may take to answer its first health check.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long it may take to drain and stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings the server is started with.
pub struct ServerSettings<'a> {
    pub database_url: &'a str,
    pub operator_key: &'a OperatorKey,
    pub db_max_connections: u32,
    pub cache_entries: usize,
    pub document_cache_mib: u64,
    /// Serve Prometheus metrics too (on another free loopback port, never scraped).
    pub metrics: bool,
}

/// A running `trust-registry serve`; killed if dropped without [`ServerProcess::stop`].
pub struct ServerProcess {
    child: tokio::process::Child,
    pid: u32,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// The per-address rate limit of the measured server, in calls a second and in a burst.
const BENCH_RATE_LIMIT: u32 = 1_000_000_000;

/// A free loopback port: bound, read and released (the server binds it again at once).
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?)
}

impl ServerProcess {
    /// Starts this executable's `serve` (or that of the executable named by
    /// `TRUST_REGISTRY_BENCH_SERVER`, to measure another build under the same client) and waits
    /// until its health check answers SERVING.
    pub async fn start(settings: &ServerSettings<'_>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("temporary directory for the registry key")?;
        let addr = free_port()?;
        let exe = match std::env::var_os("TRUST_REGISTRY_BENCH_SERVER") {
            Some(exe) => std::path::PathBuf::from(exe),
            None => std::env::current_exe().context("locating the trust-registry executable")?,
        };
        // The server logs to stderr; its stdout (unused) goes there too, keeping ours for the
        // report.
        let stderr = std::io::stderr().as_fd().try_clone_to_owned()?;
        let mut command = tokio::process::Command::new(exe);
        command
            .arg("serve")
            .args(["--listen", &addr.to_string()])
            .args(["--database-url", settings.database_url])
            .args([
                "--operator-key",
                &keys::multibase(&settings.operator_key.public_key),
            ])
            .arg("--registry-key-file")
            .arg(dir.path().join("registry-key.pem"))
            .args(["--db-max-connections", &settings.db_max_connections.to_string()])
            .args(["--cache-entries", &settings.cache_entries.to_string()])
            .args(["--document-cache-mib", &settings.document_cache_mib.to_string()])
            // Every call comes from 127.0.0.1: the limit stays on, so its cost is measured,
            // but far above what two cores can answer, so no call is refused.
            .args(["--rate-limit", &BENCH_RATE_LIMIT.to_string()])
            .args(["--rate-limit-burst", &BENCH_RATE_LIMIT.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::from(stderr))
            .kill_on_drop(true);
        if settings.metrics {
            command.args(["--metrics-listen", &free_port()?.to_string()]);
        }
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "warn");
        }
        let mut child = command.spawn().context("starting trust-registry serve")?;
        let pid = child.id().context("the server exited at once")?;
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("trust-registry serve exited before serving: {status}");
            }
            if serving(addr).await {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < START_TIMEOUT,
                "trust-registry serve did not answer on {addr} within {START_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self {
            child,
            pid,
            addr,
            _dir: dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// SIGTERM, then waits for the server to drain and exit; an error unless it exits cleanly.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        // SAFETY: kill only sends a signal to the child this value owns.
        unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGTERM) };
        let status = tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .context("trust-registry serve did not stop after SIGTERM")??;
        anyhow::ensure!(status.success(), "trust-registry serve stopped with {status}");
        Ok(())
    }
}

async fn serving(addr: SocketAddr) -> bool {
    let Ok(endpoint) = Endpoint::from_shared(format!("http://{addr}")) else {
        return false;
    };
    let Ok(channel) = endpoint.connect_timeout(Duration::from_secs(1)).connect().await else {
        return false;
    };
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
}

//! Process measurements (/proc) and the bench's output: a table, or JSON lines.

use std::time::Duration;

use serde::Serialize;

/// CPU time (user + system) of process `pid` so far, from /proc/<pid>/stat.
pub fn cpu_time(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = if per_second > 0 { per_second as u64 } else { 100 };
    Duration::from_micros(ticks * 1_000_000 / per_second)
}

/// Peak resident set size of process `pid` (VmHWM), in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

/// One scenario at one in-flight level.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: &'static str,
    pub backend: &'static str,
    pub providers: usize,
    pub qualifications: usize,
    /// VerifyCredential: the distinct credentials presented (`--credentials`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<usize>,
    pub in_flight: usize,
    /// Signed writes a second sent beside the scenario's calls (`--background-writes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_writes_per_s: Option<f64>,
    /// What those writes did (`--background-write-kind`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_write_kind: Option<&'static str>,
    pub calls: u64,
    pub calls_per_s: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    /// The rounds the row was measured in (`--rounds`; 1 for the baseline rows).
    pub rounds: u32,
    /// The empty call's calls/s the ratio is to: the baseline row's at this level, or with
    /// rounds, the empty call's in the windows between the row's own.
    pub baseline_calls_per_s: f64,
    pub ratio_to_baseline: f64,
    pub cpu_us_per_call: f64,
    /// CPU of the bench's client process a call (it shares the machine with the server).
    pub client_cpu_us_per_call: f64,
    pub peak_rss_mib: f64,
    pub errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// The import of the synthetic registry.
#[derive(Debug, Clone, Serialize)]
pub struct ImportRow {
    pub phase: &'static str,
    pub backend: &'static str,
    pub providers: usize,
    pub qualifications: usize,
    pub accreditations: usize,
    pub recognitions: usize,
    pub writes: u64,
    pub generate_s: f64,
    pub import_s: f64,
    pub writes_per_s: f64,
    /// Batches applied a second time, write by write (none in a generated registry).
    pub retried_batches: u64,
    /// Refreshing the query planner's statistics after the import, in seconds (PostgreSQL
    /// only; not counted in `import_s`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistics_s: Option<f64>,
    pub peak_rss_mib: f64,
}

pub fn print_import(row: &ImportRow, json: bool) {
    if json {
        println!("{}", serde_json::to_string(row).unwrap_or_default());
    } else {
        println!(
            "import ({}): {} providers, {} accreditations, {} qualifications, {} recognitions, \
             {} signed writes in {:.1} s = {:.0} writes/s, {} batches retried (generating and signing \
             them took {:.1} s; peak RSS {:.0} MiB)",
            row.backend,
            row.providers,
            row.accreditations,
            row.qualifications,
            row.recognitions,
            row.writes,
            row.import_s,
            row.writes_per_s,
            row.retried_batches,
            row.generate_s,
            row.peak_rss_mib
        );
        if let Some(seconds) = row.statistics_s {
            println!("{}", crate::cli::import::statistics_refreshed(seconds));
        }
    }
}

/// The table's header; `background_writes` is `--background-writes` (0: none) and `kind` what
/// they do, which the JSON rows carry each.
pub fn print_header(json: bool, background_writes: f64, kind: &str) {
    if !json {
        if background_writes > 0.0 {
            println!(
                "every scenario but the signed-write mix ran beside {background_writes} signed writes a second ({kind})"
            );
        }
        println!(
            "{:<22} {:>9} {:>10} {:>9} {:>9} {:>9} {:>8} {:>9} {:>9} {:>9} {:>7}",
            "scenario",
            "in_flight",
            "calls/s",
            "p50 µs",
            "p99 µs",
            "p99.9 µs",
            "ratio",
            "cpu µs/c",
            "client µs",
            "rss MiB",
            "errors"
        );
    }
}

pub fn print_row(row: &Row, json: bool) {
    if json {
        println!("{}", serde_json::to_string(row).unwrap_or_default());
    } else {
        println!(
            "{:<22} {:>9} {:>10.0} {:>9} {:>9} {:>9} {:>8.2} {:>9.0} {:>9.0} {:>9.0} {:>7}",
            row.scenario,
            row.in_flight,
            row.calls_per_s,
            row.p50_us,
            row.p99_us,
            row.p999_us,
            row.ratio_to_baseline,
            row.cpu_us_per_call,
            row.client_cpu_us_per_call,
            row.peak_rss_mib,
            row.errors
        );
        if let Some(error) = &row.first_error {
            println!("    first error: {error}");
        }
    }
}

/// The cache priming before the scenarios.
pub fn print_primed(providers: usize, took: std::time::Duration, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({
                "phase": "prime",
                "check_issuer_calls": providers,
                "seconds": took.as_secs_f64(),
            })
        );
    } else {
        println!(
            "primed the trust-facts cache: CheckIssuer once for each of {providers} providers in {:.1} s",
            took.as_secs_f64()
        );
    }
}

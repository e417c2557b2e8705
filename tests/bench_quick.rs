//! `trust-registry bench --quick --json` end to end: a tiny synthetic registry imported through
//! signed writes, served by `trust-registry serve` in a child process, every scenario driven;
//! on SQLite, and on PostgreSQL when `TRUST_REGISTRY_TEST_POSTGRES_URL` is set (skipped with a
//! notice otherwise, except under CI, where a missing URL fails the run).

use std::process::Command;

use serde_json::Value;

const POSTGRES_URL_VAR: &str = "TRUST_REGISTRY_TEST_POSTGRES_URL";
const SCENARIOS: [&str; 6] = [
    "baseline",
    "check_issuer",
    "get_qualification",
    "search_qualifications",
    "verify_credential",
    "signed_write_mix",
];

/// One bench at a time: both share this machine's cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `bench --quick --json` with `extra`, one bench at a time; its output, whatever it is.
fn bench_quick(extra: &[&str]) -> std::process::Output {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    Command::new(env!("CARGO_BIN_EXE_trust-registry"))
        .args(["bench", "--quick", "--json"])
        .args(extra)
        .env_remove("TRUST_REGISTRY_BENCH_POSTGRES_URL")
        .output()
        .expect("run trust-registry bench")
}

/// Runs `bench --quick --json` with `extra` and checks every scenario row; its JSON lines.
fn run_quick(extra: &[&str]) -> Vec<Value> {
    let started = std::time::Instant::now();
    let output = bench_quick(extra);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let lines: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let rows: Vec<&Value> = lines.iter().filter(|l| l.get("scenario").is_some()).collect();
    for row in &rows {
        for field in [
            "scenario",
            "backend",
            "in_flight",
            "calls_per_s",
            "p50_us",
            "p99_us",
            "p999_us",
            "ratio_to_baseline",
            "errors",
            "cpu_us_per_call",
            "client_cpu_us_per_call",
            "peak_rss_mib",
        ] {
            assert!(row.get(field).is_some(), "{field} missing: {row}");
        }
        assert_eq!(row["errors"].as_u64(), Some(0), "errors: {row}");
        assert!(
            row["calls_per_s"].as_f64().unwrap_or(0.0) > 0.0,
            "no calls: {row}"
        );
    }
    for scenario in SCENARIOS {
        for in_flight in [1, 16] {
            assert!(
                rows.iter()
                    .any(|r| r["scenario"] == scenario && r["in_flight"] == in_flight),
                "no {scenario} row at {in_flight} in flight:\n{stdout}"
            );
        }
    }
    eprintln!(
        "bench --quick {extra:?} took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    lines
}

/// The import line of a bench that built its registry: writes imported at a rate; on
/// PostgreSQL (`analyzed`) followed by a refresh of the planner's statistics, timed apart.
fn assert_imported(lines: &[Value], analyzed: bool) {
    let import = lines
        .iter()
        .find(|l| l["phase"] == "import")
        .unwrap_or_else(|| panic!("no import line: {lines:?}"));
    assert!(import["writes"].as_u64().unwrap_or(0) > 0, "{import}");
    assert!(import["writes_per_s"].as_f64().unwrap_or(0.0) > 0.0, "{import}");
    // The generated writes are all accepted: every batch commits on its first, deferred try.
    assert_eq!(import["retried_batches"], 0, "{import}");
    assert_eq!(
        import["statistics_s"].as_f64().is_some_and(|s| s >= 0.0),
        analyzed,
        "{import}"
    );
}

#[test]
fn quick_bench_on_sqlite() {
    let lines = run_quick(&[]);
    assert_imported(&lines, false);
    assert_credentials(&lines, 1024);
    assert_ratios(&lines, 1);
}

/// Every row's ratio is its calls/s over the empty call's it names. In one round that is the
/// baseline row's at the same level; in more, each row names the rate of the empty calls
/// measured between its own windows.
fn assert_ratios(lines: &[Value], rounds: u64) {
    let rows: Vec<&Value> = lines.iter().filter(|l| l.get("scenario").is_some()).collect();
    let mut own_windows = 0;
    for row in &rows {
        let baseline = row["baseline_calls_per_s"].as_f64().unwrap_or(0.0);
        assert!(baseline > 0.0, "{row}");
        let ratio = row["calls_per_s"].as_f64().unwrap_or(0.0) / baseline;
        let reported = row["ratio_to_baseline"].as_f64().unwrap_or(-1.0);
        assert!((ratio - reported).abs() <= 1e-9 * ratio.max(1.0), "{row}");
        let in_flight = &row["in_flight"];
        let baseline_row = rows
            .iter()
            .find(|r| r["scenario"] == "baseline" && &r["in_flight"] == in_flight)
            .unwrap_or_else(|| panic!("no baseline row at {in_flight} in flight"));
        if row["scenario"] == "baseline" {
            assert_eq!(row["rounds"], 1, "{row}");
            assert_eq!(row["baseline_calls_per_s"], row["calls_per_s"], "{row}");
        } else {
            assert_eq!(row["rounds"], rounds, "{row}");
            if rounds == 1 {
                assert_eq!(row["baseline_calls_per_s"], baseline_row["calls_per_s"], "{row}");
            } else if row["baseline_calls_per_s"] != baseline_row["calls_per_s"] {
                own_windows += 1;
            }
        }
    }
    if rounds > 1 {
        // Measured in windows of their own: one may match the baseline row's count by chance,
        // not all of them.
        assert!(own_windows > 1, "{rows:?}");
    }
}

/// Every VerifyCredential row says how many distinct credentials it presented, and no other
/// row does.
fn assert_credentials(lines: &[Value], expected: u64) {
    for row in lines.iter().filter(|l| l.get("scenario").is_some()) {
        if row["scenario"] == "verify_credential" {
            assert_eq!(row["credentials"], expected, "{row}");
        } else {
            assert!(row.get("credentials").is_none(), "{row}");
        }
    }
}

/// A kept registry, its log holding the signed-write mix's writes after the generator's, is
/// served and driven again without an import.
#[test]
fn quick_bench_reuses_a_kept_registry() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let kept = dir.path().to_str().expect("UTF-8 path");
    assert_imported(&run_quick(&["--keep-database", kept]), false);
    let again = run_quick(&["--reuse-database", kept, "--credentials", "3", "--rounds", "2"]);
    assert_credentials(&again, 3);
    assert_ratios(&again, 2);
    assert!(
        again.iter().all(|l| l["phase"] != "import"),
        "nothing is imported again: {again:?}"
    );

    // Reads measured while the registry takes signed writes, of either kind: the writes are
    // made, none fails, and the rows say how many a second were sent and what they did.
    let mix_writes = |rpc: &str| -> i64 {
        rusqlite::Connection::open(dir.path().join("bench.db"))
            .expect("open the kept registry")
            .query_row(
                "SELECT count(*) FROM signed_write WHERE nonce LIKE 'mix-%' AND rpc LIKE ?1",
                [format!("%/{rpc}")],
                |row| row.get(0),
            )
            .expect("count the mix's writes")
    };
    for (kind, rpc) in [("qualifications", "PublishQualification"), ("keys", "AddKey")] {
        let before = mix_writes(rpc);
        let output = bench_quick(&[
            "--reuse-database",
            kept,
            "--scenarios",
            "get_qualification",
            "--background-writes",
            "40",
            "--background-write-kind",
            kind,
        ]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let rows: Vec<Value> = stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l.get("scenario").is_some())
            .collect();
        assert_eq!(
            rows.len(),
            4,
            "baseline and get_qualification at 1 and 16: {stdout}"
        );
        for row in &rows {
            assert_eq!(row["background_writes_per_s"].as_f64(), Some(40.0), "{row}");
            assert_eq!(row["background_write_kind"].as_str(), Some(kind), "{row}");
            assert_eq!(row["errors"].as_u64(), Some(0), "{row}");
        }
        // Four windows of a second and their warm-ups at 40 a second (the qualifications' half
        // of them publications, the other half withdrawals).
        let written = mix_writes(rpc) - before;
        assert!(written >= 40, "{written} {rpc} writes made beside the reads");
    }

    // Ids minted another way (as by a binary before ids began with their time) are not driven
    // as if they existed: the bench stops and says why.
    let db = rusqlite::Connection::open(dir.path().join("bench.db")).expect("open the kept registry");
    let renamed = db
        .execute(
            "UPDATE qualification SET id = 'qual_0000000' || substr(id, 13)",
            [],
        )
        .expect("rename the qualifications");
    assert!(renamed > 0);
    drop(db);
    let output = bench_quick(&["--reuse-database", kept]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the bench ran on ids that do not exist");
    assert!(
        stderr.contains("qualification ids are not minted as this binary mints them"),
        "{stderr}"
    );
}

#[test]
fn quick_bench_on_postgres() {
    let Ok(url) = std::env::var(POSTGRES_URL_VAR) else {
        if std::env::var_os("CI").is_some() {
            panic!("{POSTGRES_URL_VAR} is not set: PostgreSQL tests must run in CI");
        }
        eprintln!(
            "skipped on PostgreSQL: set {POSTGRES_URL_VAR} (e.g. postgres://postgres@127.0.0.1:5432/test)"
        );
        return;
    };
    assert_imported(
        &run_quick(&["--backend", "postgres", "--postgres-url", &url]),
        true,
    );
}

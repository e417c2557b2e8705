//! What an operator meets when starting and running the service: flags refused at start with
//! the flag named, nothing created before they are checked, the health service covering every
//! service, `registry-key` printing only the key the registry uses, and one meaning for each
//! environment variable.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use clap::Parser as _;
use common::TestApp;
use common::signed::operator_key;
use trust_registry::config::{Cli, Command, ServeArgs};
use trust_registry::domain::keys;

const BIN: &str = env!("CARGO_BIN_EXE_trust-registry");

/// Runs the binary in `dir` with none of the `TRUST_REGISTRY_*` settings of the environment.
async fn run_cli(dir: &Path, args: &[&str]) -> Output {
    run_cli_within(dir, args, Duration::from_secs(60)).await
}

/// As [`run_cli`], failing the test if the command has not stopped after `limit`.
async fn run_cli_within(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let mut command = tokio::process::Command::new(BIN);
    command.args(args).current_dir(dir).kill_on_drop(true);
    common::without_registry_settings(&mut command);
    tokio::time::timeout(limit, command.output())
        .await
        .unwrap_or_else(|_| panic!("trust-registry {args:?} did not stop"))
        .expect("run trust-registry")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// 32 bytes that are not an Ed25519 public key (no point of the curve has them).
fn not_a_point() -> [u8; 32] {
    (0u8..=255)
        .map(|b| [b; 32])
        .find(|bytes| ed25519_dalek::VerifyingKey::from_bytes(bytes).is_err())
        .expect("some repeated byte is not a point")
}

#[test]
fn every_command_taking_an_operator_key_refuses_a_bad_one_when_it_reads_its_flags() {
    let good = keys::multibase(&operator_key().verifying_key().to_bytes());
    let short = base64_of(&[7u8; 16]);
    let off_curve = hex::encode(not_a_point());
    let commands: [&[&str]; 4] = [
        &["serve"],
        &["import", "registry.jsonl"],
        &["audit"],
        &[
            "rebuild",
            "--from-log",
            "http://127.0.0.1:50051",
            "--database-url",
            "sqlite://x.db",
        ],
    ];
    for command in commands {
        for bad in ["nonsense", "z6MkNotAKey", short.as_str(), off_curve.as_str()] {
            let args = [&["trust-registry"], command, &["--operator-key", bad]].concat();
            let error = Cli::try_parse_from(&args).expect_err(&format!("{args:?} is refused"));
            assert!(error.to_string().contains("--operator-key"), "{args:?}: {error}");
        }
        let args = [&["trust-registry"], command, &["--operator-key", good.as_str()]].concat();
        Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `serve FLAG 0` is refused when the command line is read, naming the flag; 1 is accepted.
fn refuses_zero(flag: &str) {
    let error = Cli::try_parse_from(["trust-registry", "serve", flag, "0"])
        .expect_err(&format!("serve {flag} 0 is refused"));
    assert!(error.to_string().contains(flag), "{flag}: {error}");
    Cli::try_parse_from(["trust-registry", "serve", flag, "1"])
        .unwrap_or_else(|e| panic!("serve {flag} 1: {e}"));
}

/// `serve`'s settings as the command line `serve FLAGS...` gives them.
fn serve_args(flags: &[&str]) -> ServeArgs {
    let args = [&["trust-registry", "serve"], flags].concat();
    match Cli::try_parse_from(&args)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
        .command
    {
        Command::Serve(args) => args,
        other => panic!("{other:?}"),
    }
}

#[test]
fn serve_refuses_an_empty_connection_pool_when_it_reads_its_flags() {
    refuses_zero("--db-max-connections");
}

#[test]
fn serve_refuses_a_zero_request_deadline_when_it_reads_its_flags() {
    refuses_zero("--request-timeout-ms");
}

#[test]
fn serve_sizes_its_runtime_by_the_cpus_unless_told_otherwise() {
    let workers = |flags: &[&str]| serve_args(flags).worker_threads();
    let cpus = std::thread::available_parallelism().expect("CPUs").get();
    assert_eq!(workers(&[]), if cpus == 1 { 1 } else { 2 * cpus });
    assert_eq!(workers(&["--worker-threads", "3"]), 3);
    refuses_zero("--worker-threads");
}

#[test]
fn serve_limits_calls_per_address_unless_told_otherwise() {
    use trust_registry::api::rate_limit::RateLimit;
    assert_eq!(serve_args(&[]).rate_limit(), Some(RateLimit::DEFAULT));
    assert_eq!(serve_args(&["--rate-limit", "0"]).rate_limit(), None);
    let chosen = serve_args(&["--rate-limit", "5", "--rate-limit-burst", "7"])
        .rate_limit()
        .expect("a limit");
    assert_eq!((chosen.per_second.get(), chosen.burst.get()), (5, 7));
    refuses_zero("--rate-limit-burst");
}

#[tokio::test]
async fn serve_refuses_bad_flags_before_it_creates_a_store() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = dir.path().join("registry.db");
    let url = sqlite_url(&database);
    let cases: &[&[&str]] = &[
        &["--operator-key", "nonsense"],
        &["--db-max-connections", "0"],
        &["--request-timeout-ms", "0"],
        &["--worker-threads", "0"],
    ];
    for &case in cases {
        let args = [
            &["serve", "--listen", "127.0.0.1:0", "--database-url", url.as_str()],
            case,
        ]
        .concat();
        let output = run_cli(dir.path(), &args).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(case[0]), "{args:?}: {}", stderr(&output));
        assert!(!database.exists(), "{args:?} created the store before refusing");
    }
}

#[tokio::test]
async fn serve_names_the_flag_when_it_cannot_listen_or_open_the_store() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = dir.path().join("registry.db");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let address = taken.local_addr().expect("local address").to_string();
    let url = sqlite_url(&database);
    // The gRPC address taken, then the metrics address.
    for (grpc, metrics) in [(address.as_str(), None), ("127.0.0.1:0", Some(address.as_str()))] {
        let mut args = vec!["serve", "--listen", grpc, "--database-url", url.as_str()];
        args.extend(metrics.iter().flat_map(|metrics| ["--metrics-listen", metrics]));
        let output = run_cli(dir.path(), &args).await;
        assert!(!output.status.success(), "{args:?}");
        let flag = if metrics.is_some() {
            "--metrics-listen"
        } else {
            "--listen"
        };
        let text = stderr(&output);
        assert!(text.contains(&format!("{flag} {address}")), "{args:?}: {text}");
        assert!(
            !database.exists(),
            "the store was created for a server that cannot listen ({args:?})"
        );
    }

    let nowhere = dir.path().join("no-such-directory").join("registry.db");
    let output = run_cli(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &sqlite_url(&nowhere),
        ],
    )
    .await;
    assert!(!output.status.success());
    assert!(stderr(&output).contains("--database-url"), "{}", stderr(&output));
}

#[tokio::test]
async fn registry_key_prints_the_existing_key_and_never_makes_one() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("registry.key");
    let output = run_cli(
        dir.path(),
        &["registry-key", "--registry-key-file", missing.to_str().unwrap()],
    )
    .await;
    assert!(
        !output.status.success(),
        "registry-key printed a key from no file"
    );
    assert!(
        stderr(&output).contains("--registry-key-file"),
        "{}",
        stderr(&output)
    );
    assert!(!missing.exists(), "registry-key created a key file");
    let output = run_cli(dir.path(), &["registry-key"]).await;
    assert!(
        !output.status.success(),
        "registry-key printed a key from no file"
    );
    assert!(!dir.path().join("trust-registry-registry.key").exists());

    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    trust_registry::cli::write_private_key(&missing, &key).expect("write the key");
    let output = run_cli(
        dir.path(),
        &["registry-key", "--registry-key-file", missing.to_str().unwrap()],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let public = key.verifying_key().to_bytes();
    assert!(stdout.contains(&keys::key_id(&public)), "{stdout}");
    assert!(stdout.contains(&keys::multibase(&public)), "{stdout}");
}

/// An environment variable names one setting: a variable that two commands read as different
/// flags (a private key file for one, a public key for the other, say) breaks one of them for
/// whoever sets it for the other.
#[test]
fn each_environment_variable_means_one_setting_in_every_command() {
    use clap::CommandFactory as _;
    use std::collections::BTreeMap;
    fn collect(command: &clap::Command, path: &str, seen: &mut BTreeMap<String, Vec<(String, String)>>) {
        for arg in command.get_arguments() {
            if let Some(env) = arg.get_env() {
                seen.entry(env.to_string_lossy().into_owned())
                    .or_default()
                    .push((path.to_owned(), arg.get_id().to_string()));
            }
        }
        for sub in command.get_subcommands() {
            collect(sub, &format!("{path} {}", sub.get_name()), seen);
        }
    }
    let mut seen = BTreeMap::new();
    collect(&Cli::command(), "trust-registry", &mut seen);
    assert!(seen.contains_key("TRUST_REGISTRY_SERVER"), "{seen:?}");
    for (env, uses) in &seen {
        let first = &uses[0].1;
        assert!(
            uses.iter().all(|(_, id)| id == first),
            "{env} is read as different settings: {uses:?}"
        );
    }
}

both_backends!(
    the_health_service_reports_every_service_serving,
    async |app: &TestApp| {
        use prost::Message as _;
        use tonic_health::pb::health_check_response::ServingStatus;
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let descriptors = prost_types::FileDescriptorSet::decode(trust_registry::pb::FILE_DESCRIPTOR_SET)
            .expect("the descriptor set decodes");
        let services: Vec<String> = descriptors
            .file
            .iter()
            .flat_map(|file| {
                file.service
                    .iter()
                    .map(move |service| format!("{}.{}", file.package(), service.name()))
            })
            .collect();
        assert!(services.len() >= 9, "{services:?}");
        let mut health = HealthClient::new(app.channel.clone());
        for service in [String::new()].into_iter().chain(services) {
            let answer = health
                .check(HealthCheckRequest {
                    service: service.clone(),
                })
                .await
                .unwrap_or_else(|status| panic!("health of {service:?}: {status:?}"))
                .into_inner();
            assert_eq!(answer.status, ServingStatus::Serving as i32, "{service:?}");
        }
    }
);

both_backends!(database_passwords_are_not_printed, async |app: &TestApp| {
    const PASSWORD: &str = "s3cret-pw";
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = format!("http://{}", app.addr);
    let operator = keys::multibase(&operator_key().verifying_key().to_bytes());
    let unreachable = format!("postgres://registry:{PASSWORD}@127.0.0.1:1/registry");
    let output = run_cli(
        dir.path(),
        &[
            "audit",
            "--server",
            &server,
            "--operator-key",
            &operator,
            "--database-url",
            &unreachable,
        ],
    )
    .await;
    assert!(
        !output.status.success(),
        "the audit opened an unreachable database"
    );
    let text = stderr(&output);
    assert!(
        text.contains("postgres://registry:***@127.0.0.1:1/registry"),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "{text}");

    // The test server trusts local connections, so a password in the URL is accepted and
    // ignored: rebuild succeeds and prints the URL it rebuilt into.
    if app.backend == common::Backend::Postgres {
        let (url, admin_url, name) = common::fresh_postgres_database().await.expect("PostgreSQL");
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (user, host) = rest.split_once('@').expect("a user in the test URL");
        let with_password = format!("{scheme}://{user}:{PASSWORD}@{host}");
        let output = run_cli(
            dir.path(),
            &[
                "rebuild",
                "--from-log",
                &server,
                "--database-url",
                &with_password,
                "--operator-key",
                &operator,
            ],
        )
        .await;
        common::drop_postgres_database(&admin_url, &name).await;
        assert!(output.status.success(), "{}", stderr(&output));
        let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), stderr(&output));
        assert!(printed.contains("rebuilt 0 entries into"), "{printed}");
        assert!(!printed.contains(PASSWORD), "{printed}");
    }
});

// Something that accepts connections and never answers (a registry that hangs, a wrong port)
// ends a client command with an error once its call times out (30 s), instead of hanging it.
#[tokio::test]
async fn client_commands_give_up_on_a_registry_that_never_answers() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let dir = tempfile::tempdir().expect("temporary directory");
    // Past the command's own limits (10 s to connect, 30 s for the answer).
    let output = run_cli_within(
        dir.path(),
        &[
            "check-issuer",
            "--server",
            &server,
            "--provider-id",
            "prov_0000000000000000000a",
        ],
        Duration::from_secs(150),
    )
    .await;
    assert!(!output.status.success());
    assert!(stderr(&output).contains("Timeout expired"), "{}", stderr(&output));
}

/// The port of a `postgres://` URL's host (5432 when it names none); `None` for a Unix socket.
fn postgres_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if host.is_empty() || url.contains("host=/") {
        return None;
    }
    Some(match host.rsplit_once(':') {
        Some((_, port)) => port.parse().expect("a port number"),
        None => 5432,
    })
}

/// Whether each TCP socket of this process connected to `port` has Nagle's algorithm off.
fn nodelay_of_connections_to(port: u16) -> Vec<bool> {
    use std::os::fd::{BorrowedFd, RawFd};
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").expect("list /proc/self/fd") {
        let entry = entry.expect("an open descriptor");
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<RawFd>() else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        // SAFETY: only read here, and at worst closed meanwhile by another test's thread, when
        // the calls below fail (EBADF) or read some other socket, which is not counted unless
        // it is connected to the database's port.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&borrowed);
        let to_database = socket
            .peer_addr()
            .ok()
            .and_then(|peer| peer.as_socket())
            .is_some_and(|peer| peer.port() == port);
        if to_database && let Ok(nodelay) = socket.tcp_nodelay() {
            found.push(nodelay);
        }
    }
    found
}

// A write to PostgreSQL sends a batch's rows as large messages. With Nagle's algorithm on, the
// last part of each waited for the server's delayed ACK (~40 ms), which made the bench's import
// three times slower over loopback TCP (1,360 against 4,000-4,400 writes/s at 10,000 providers)
// with sqlx 0.9.0, which stopped setting TCP_NODELAY; 0.9.1 sets it again.
#[tokio::test]
async fn the_store_talks_to_postgresql_without_nagles_delay() {
    let Some((url, admin_url, name)) = common::fresh_postgres_database().await else {
        return;
    };
    let Some(port) = postgres_port(&url) else {
        eprintln!("skipped: {} names no TCP port", common::POSTGRES_URL_VAR);
        return;
    };
    let store = trust_registry::store::Store::open(&url, &Default::default())
        .await
        .expect("open the store");
    store.ping().await.expect("ping");
    let nodelay = nodelay_of_connections_to(port);
    store.close().await.expect("close the store");
    common::drop_postgres_database(&admin_url, &name).await;
    assert!(!nodelay.is_empty(), "no connection to port {port} found");
    assert!(
        nodelay.iter().all(|&on| on),
        "connections to PostgreSQL with Nagle's algorithm on: {nodelay:?}"
    );
}

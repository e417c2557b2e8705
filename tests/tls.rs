//! Serving over TLS: a client that trusts the certificate is answered, a plain-text one is
//! not, the rate limit still tells clients apart by address, and the command-line clients
//! reach an `https://` registry with `--tls-ca-file`.

mod common;

use common::{Served, TestApp, checkpoint, rate_limit, serve_store_with};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

const BIN: &str = env!("CARGO_BIN_EXE_trust-registry");

/// A self-signed certificate for `localhost` and 127.0.0.1: (certificate PEM, key PEM).
fn certificate() -> (String, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("a self-signed certificate");
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

/// A server over the app's store serving TLS with `cert`, and `adjust`ed further.
async fn serve_tls(
    app: &TestApp,
    (cert, key): &(String, String),
    adjust: impl FnOnce(&mut trust_registry::server::ServerOptions),
) -> Served {
    let identity = Identity::from_pem(cert, key);
    serve_store_with(&app.store, |options| {
        options.tls = Some(identity);
        adjust(options);
    })
    .await
}

/// A channel to `served` over TLS, trusting `cert`.
async fn tls_channel(served: &Served, cert: &str) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("https://localhost:{}", served.addr.port()))
        .expect("endpoint")
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(cert)))
        .expect("TLS settings")
        .connect()
        .await
}

both_backends!(
    a_client_that_trusts_the_certificate_is_answered,
    async |app: &TestApp| {
        let pair = certificate();
        let served = serve_tls(app, &pair, |_| {}).await;
        let channel = tls_channel(&served, &pair.0).await.expect("a TLS connection");
        let answer = checkpoint(&channel).await.expect("GetCheckpoint over TLS");
        assert!(!answer.checkpoint.is_empty(), "a signed checkpoint");

        // Plain text to the TLS port gets no answer.
        let plain = Channel::from_shared(format!("http://{}", served.addr))
            .expect("endpoint")
            .connect_lazy();
        checkpoint(&plain)
            .await
            .expect_err("a plain-text call is not answered");

        // Nor does a client that trusts another certificate.
        let stranger = certificate();
        match tls_channel(&served, &stranger.0).await {
            Err(_) => {}
            Ok(channel) => {
                checkpoint(&channel)
                    .await
                    .expect_err("an untrusted certificate is refused");
            }
        }
        served.stop().await;
    }
);

both_backends!(
    the_rate_limit_counts_clients_over_tls_too,
    async |app: &TestApp| {
        let pair = certificate();
        let one_call = rate_limit(1, 1);
        let served = serve_tls(app, &pair, |options| options.rate_limit = Some(one_call)).await;
        let channel = tls_channel(&served, &pair.0).await.expect("a TLS connection");
        checkpoint(&channel)
            .await
            .expect("the first call is within the limit");
        let refused = checkpoint(&channel)
            .await
            .expect_err("the second call at once is over the limit");
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
        served.stop().await;
    }
);

both_backends!(
    the_command_line_reaches_an_https_registry_with_its_authority,
    async |app: &TestApp| {
        let pair = certificate();
        let served = serve_tls(app, &pair, |_| {}).await;
        let dir = tempfile::tempdir().expect("temporary directory");
        let ca_file = dir.path().join("registry-ca.pem");
        std::fs::write(&ca_file, &pair.0).expect("write the certificate");
        let server = format!("https://localhost:{}", served.addr.port());
        let check = |extra: &[&str]| {
            let mut command = std::process::Command::new(BIN);
            command
                .args([
                    "check-issuer",
                    "--did",
                    "did:web:unknown-college.example",
                    "--server",
                    &server,
                ])
                .args(extra)
                .env_remove("TRUST_REGISTRY_TLS_CA_FILE")
                .env_remove("RUST_LOG");
            command
        };
        let trusted = tokio::task::spawn_blocking({
            let mut command = check(&["--tls-ca-file", ca_file.to_str().expect("UTF-8 path")]);
            move || command.output().expect("run check-issuer")
        })
        .await
        .expect("check-issuer task");
        let stdout = String::from_utf8_lossy(&trusted.stdout);
        // Exit 1: answered, not trusted (an unknown issuer); 2 would be "no answer".
        assert_eq!(
            trusted.status.code(),
            Some(1),
            "{stdout}\n{}",
            String::from_utf8_lossy(&trusted.stderr)
        );
        assert!(stdout.contains("UNKNOWN_ISSUER"), "{stdout}");

        let untrusted = tokio::task::spawn_blocking({
            let mut command = check(&[]);
            move || command.output().expect("run check-issuer")
        })
        .await
        .expect("check-issuer task");
        assert_eq!(
            untrusted.status.code(),
            Some(2),
            "without the authority there is no answer"
        );

        // An authority file that cannot be read is "no answer" too (2), never "not trusted" (1).
        let unreadable = tokio::task::spawn_blocking({
            let mut command = check(&["--tls-ca-file", "/nonexistent/registry-ca.pem"]);
            move || command.output().expect("run check-issuer")
        })
        .await
        .expect("check-issuer task");
        let stderr = String::from_utf8_lossy(&unreadable.stderr);
        assert_eq!(unreadable.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("--tls-ca-file"), "{stderr}");
        served.stop().await;
    }
);

#[test]
fn serve_reads_its_certificate_and_key_before_anything_else() {
    use clap::Parser as _;
    use trust_registry::config::{Cli, Command};
    let error = Cli::try_parse_from(["trust-registry", "serve", "--tls-cert-file", "cert.pem"])
        .expect_err("a certificate without its key is refused");
    assert!(error.to_string().contains("--tls-key-file"), "{error}");

    let dir = tempfile::tempdir().expect("temporary directory");
    let (cert, key) = certificate();
    let (other_cert, _) = certificate();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.to_str().expect("UTF-8 path").to_owned()
    };
    let (cert, key, other_cert, junk) = (
        write("cert.pem", &cert),
        write("key.pem", &key),
        write("other.pem", &other_cert),
        write("junk.pem", "not PEM"),
    );
    let identity = |cert: &str, key: &str| {
        let cli = Cli::try_parse_from([
            "trust-registry",
            "serve",
            "--tls-cert-file",
            cert,
            "--tls-key-file",
            key,
        ])
        .expect("the flags parse");
        let Command::Serve(args) = cli.command else {
            panic!("serve");
        };
        args.tls_identity()
    };
    assert!(
        identity(&cert, &key)
            .expect("a certificate and its key")
            .is_some()
    );
    for (cert, key) in [(&junk, &key), (&cert, &junk), (&other_cert, &key)] {
        let error = identity(cert, key).expect_err(&format!("{cert} with {key} is refused"));
        assert!(format!("{error:#}").contains("--tls-cert-file"), "{error:#}");
    }
    let missing = dir.path().join("missing.pem");
    let error = identity(missing.to_str().unwrap(), &key).expect_err("a missing file is refused");
    assert!(format!("{error:#}").contains("cannot read"), "{error:#}");
}

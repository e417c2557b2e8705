//! The origin names the checkpoint key, so it must be a key name.

use super::*;
use crate::both_backends;

/// Origins that cannot name a signed-note key: a space (a Unicode one too), a '+', a newline,
/// nothing.
const BAD_ORIGINS: [&str; 5] = [
    "my registry",
    "registry\u{a0}log",
    "registry+log",
    "registry\nlog",
    "",
];

/// What the refusal says.
const ORIGIN_RULE: &str = "without spaces, control characters or '+'";

#[test]
fn the_command_line_refuses_an_origin_that_cannot_name_the_checkpoint_key() {
    use clap::Parser as _;
    use trust_registry::config::{Cli, Command};
    for command in ["serve", "registry-key"] {
        for origin in BAD_ORIGINS {
            let error = Cli::try_parse_from(["trust-registry", command, "--log-origin", origin])
                .expect_err(&format!("{command} --log-origin {origin:?}"));
            let text = error.to_string();
            assert!(
                text.contains("--log-origin") && text.contains(ORIGIN_RULE),
                "{text}"
            );
        }
        let origin = "registry.example.org/log";
        let cli = Cli::try_parse_from(["trust-registry", command, "--log-origin", origin])
            .unwrap_or_else(|e| panic!("{command} --log-origin {origin}: {e}"));
        let parsed = match cli.command {
            Command::Serve(args) => args.log_origin,
            Command::RegistryKey(args) => args.log_origin,
            other => panic!("parsed as {other:?}"),
        };
        assert_eq!(parsed, origin);
    }
}

both_backends!(
    the_server_refuses_an_origin_that_cannot_name_the_checkpoint_key,
    async |app: &TestApp| {
        use trust_registry::domain::verdict::RegistryKey;
        use trust_registry::server::{self, ServerOptions};
        let options = |origin: &str| ServerOptions {
            registry_key: Some(RegistryKey::new(registry_key())),
            log_origin: origin.to_owned(),
            ..ServerOptions::default()
        };
        let bind = async || tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        for origin in BAD_ORIGINS {
            let error = server::serve(bind().await, app.store.clone(), options(origin), async {})
                .await
                .expect_err(origin);
            let text = format!("{error:#}");
            assert!(
                text.contains("--log-origin") && text.contains(ORIGIN_RULE),
                "{text}"
            );
        }

        // An origin that is a key name: the server names its checkpoint key and its checkpoints
        // after it.
        let origin = "registry.example.org/log";
        let listener = bind().await;
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(server::serve(
            listener,
            app.store.clone(),
            options(origin),
            async {
                let _ = stopped.await;
            },
        ));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .expect("connect to the server");
        let mut log = LogServiceClient::new(channel);
        let vkey = log
            .get_verifier_key(pb::GetVerifierKeyRequest {})
            .await
            .expect("GetVerifierKey")
            .into_inner()
            .verifier_key;
        assert_eq!(note::parse_verifier_key(&vkey).expect("a vkey").0, origin);
        let signed = log
            .get_checkpoint(pb::GetCheckpointRequest {})
            .await
            .expect("GetCheckpoint")
            .into_inner()
            .checkpoint;
        let head = note::open_note(&signed, &vkey).expect("the checkpoint opens with the vkey");
        assert_eq!(head.origin, origin);
        stop.send(()).unwrap();
        running.await.unwrap().expect("the server ran and stopped");
    }
);

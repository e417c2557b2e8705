//! The CLI for writers, end to end: `keygen` makes the keys, and `submit` sends every example
//! under `examples/` in order, against a real server on SQLite and PostgreSQL.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::TestApp;
use common::signed::operator_key;
use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
use trust_registry::pb;

const BIN: &str = env!("CARGO_BIN_EXE_trust-registry");

struct Cli {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
    server: String,
}

impl Cli {
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let output = tokio::process::Command::new(BIN)
            .args(args)
            .envs(&self.env)
            .env("TRUST_REGISTRY_SERVER", &self.server)
            .output()
            .await
            .expect("run trust-registry");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into(),
            String::from_utf8_lossy(&output.stderr).into(),
        )
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `keygen`; returns (base64 public key, key id) as printed.
    async fn keygen(&self, name: &str) -> (String, String) {
        let out = self.path(name);
        let (ok, stdout, stderr) = self.run(&["keygen", "--out", out.to_str().unwrap()]).await;
        assert!(ok, "keygen failed: {stderr}");
        let field = |label: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(label))
                .map(|v| v.trim().to_owned())
                .expect(label)
        };
        (field("base64:"), field("key id:"))
    }

    /// `submit`; returns the response JSON.
    async fn submit(&self, example: &str, key: &str) -> serde_json::Value {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(example);
        let key = self.path(key);
        let (ok, stdout, stderr) = self
            .run(&["submit", file.to_str().unwrap(), "--key", key.to_str().unwrap()])
            .await;
        assert!(ok, "submit {example} failed: {stderr}");
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{example}: output is not JSON ({e}): {stdout}"))
    }
}

fn id(response: &serde_json::Value, object: &str) -> String {
    response[object]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no {object}.id in {response}"))
        .to_owned()
}

both_backends!(every_example_submits_in_order, async |app: &TestApp| {
    let mut cli = Cli {
        dir: tempfile::tempdir().unwrap(),
        env: HashMap::new(),
        server: format!("http://{}", app.addr),
    };
    let pem = operator_key().to_pkcs8_pem(LineEnding::LF).unwrap();
    std::fs::write(cli.path("operator.key"), pem.as_bytes()).unwrap();

    let (agency, _) = cli.keygen("agency.key").await;
    let (body, _) = cli.keygen("body.key").await;
    let (provider, provider_key_id) = cli.keygen("provider.key").await;
    let (second, second_key_id) = cli.keygen("provider-second.key").await;
    let (new, _) = cli.keygen("provider-new.key").await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cli.path("agency.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "private key files are readable by their owner only"
        );
    }
    let (ok, _, stderr) = cli
        .run(&["keygen", "--out", cli.path("agency.key").to_str().unwrap()])
        .await;
    assert!(
        !ok && stderr.contains("must not exist"),
        "keygen refuses to overwrite a key: {stderr}"
    );

    for (name, value) in [
        ("AGENCY_PUBLIC_KEY", agency),
        ("BODY_PUBLIC_KEY", body),
        ("PROVIDER_PUBLIC_KEY", provider),
        ("PROVIDER_KEY_ID", provider_key_id),
        ("PROVIDER_SECOND_PUBLIC_KEY", second),
        ("PROVIDER_SECOND_KEY_ID", second_key_id),
        ("PROVIDER_NEW_PUBLIC_KEY", new),
    ] {
        cli.env.insert(name.into(), value);
    }
    let agency_id = id(
        &cli.submit("01-admit-qa-agency.json", "operator.key").await,
        "qaAgency",
    );
    cli.env.insert("AGENCY_ID".into(), agency_id.clone());
    let body_id = id(
        &cli.submit("02-admit-recognition-body.json", "operator.key").await,
        "recognitionBody",
    );
    cli.env.insert("BODY_ID".into(), body_id);
    let framework = cli.submit("03-add-framework.json", "operator.key").await;
    assert_eq!(framework["framework"]["levels"].as_array().unwrap().len(), 8);
    let provider_id = id(
        &cli.submit("04-register-provider.json", "agency.key").await,
        "provider",
    );
    cli.env.insert("PROVIDER_ID".into(), provider_id.clone());
    let accreditation_id = id(
        &cli.submit("05-record-accreditation.json", "agency.key").await,
        "accreditation",
    );
    cli.env.insert("ACCREDITATION_ID".into(), accreditation_id);
    let published = cli.submit("06-publish-qualification.json", "provider.key").await;
    assert_eq!(published["qualification"]["level"]["eqfLevel"], 6);
    cli.env
        .insert("QUALIFICATION_ID".into(), id(&published, "qualification"));
    let revised = cli.submit("07-revise-qualification.json", "provider.key").await;
    assert_eq!(revised["qualification"]["version"], 2);
    let recognition_id = id(
        &cli.submit("08-publish-recognition.json", "body.key").await,
        "recognition",
    );
    cli.env.insert("RECOGNITION_ID".into(), recognition_id);
    let suspended = cli.submit("09-suspend-accreditation.json", "agency.key").await;
    assert_eq!(
        suspended["accreditation"]["statusHistory"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let reinstated = cli.submit("10-reinstate-accreditation.json", "agency.key").await;
    assert_eq!(
        reinstated["accreditation"]["statusHistory"][2]["status"],
        "ACCREDITATION_STATUS_REINSTATED"
    );
    cli.submit("11-add-key.json", "provider.key").await;
    let rotated = cli.submit("12-rotate-key.json", "provider.key").await;
    assert!(rotated["oldKey"]["validUntil"].is_string());
    let revoked = cli.submit("13-revoke-key.json", "provider-new.key").await;
    assert_eq!(
        revoked["key"]["revocationReason"],
        "Key file exposed in a backup."
    );
    cli.submit("14-retract-recognition.json", "body.key").await;
    let withdrawn = cli
        .submit("15-withdraw-qualification.json", "provider-new.key")
        .await;
    assert!(withdrawn["qualification"]["withdrawnAt"].is_string());
    cli.submit("16-retire-recognition-body.json", "operator.key")
        .await;
    cli.submit("17-retire-qa-agency.json", "operator.key").await;

    // The catalogue agrees with what the CLI printed.
    let provider = app
        .catalogue
        .clone()
        .get_provider(pb::GetProviderRequest { id: provider_id })
        .await
        .unwrap()
        .into_inner()
        .provider
        .unwrap();
    assert_eq!(provider.keys.len(), 3, "first key, added key, rotated-in key");
    assert_eq!(provider.registered_by, agency_id);

    // A command signed by the wrong role is refused with a clear error and a failing exit code.
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/03-add-framework.json");
    let key = cli.path("provider-new.key");
    let (ok, _, stderr) = cli
        .run(&["submit", file.to_str().unwrap(), "--key", key.to_str().unwrap()])
        .await;
    assert!(!ok);
    assert!(stderr.contains("PermissionDenied"), "{stderr}");
});

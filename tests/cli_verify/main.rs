//! The CLI for people who ask the registry: `check-issuer` and `verify FILE`, run as the built
//! binary against a real server on SQLite and PostgreSQL, with credentials from
//! `tests/fixtures/credentials.json` (see `tests/fixtures/make_credentials.py`); and against a
//! TrustService in the middle that answers with genuine verdicts the registry signed for other
//! questions.

#[path = "../common/mod.rs"]
mod common;

mod check_issuer;
mod middle;
mod verify;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use common::TestApp;
use common::builders::at;
use serde_json::Value;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};
use trust_registry::api::signing::{VerdictSigner, verify_signed_verdict};
use trust_registry::domain::enums::IdentifierScheme;
use trust_registry::domain::keys;
use trust_registry::domain::verdict::RegistryKey;
use trust_registry::pb;
use trust_registry::pb::trust_service_server::{TrustService, TrustServiceServer};

const BIN: &str = env!("CARGO_BIN_EXE_trust-registry");
const FIXTURE: &str = include_str!("../fixtures/credentials.json");
const VERIFY_AT: &str = "2025-06-01T00:00:00Z";
const ISSUED_AT: &str = "2025-01-15T09:00:00Z";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn cli(server: &str, args: &[&str]) -> Run {
    let output = tokio::process::Command::new(BIN)
        .args(args)
        .env("TRUST_REGISTRY_SERVER", server)
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("run trust-registry");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into(),
        stderr: String::from_utf8_lossy(&output.stderr).into(),
    }
}

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("fixture parses")
}

fn credential(fixture: &Value, name: &str) -> String {
    fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("fixture case {name}"))["credential"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn public_key(fixture: &Value, name: &str) -> [u8; 32] {
    let hex = fixture["keys"][name]["public_key_hex"].as_str().unwrap();
    (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .try_into()
        .unwrap()
}

/// Harbour Test College as the fixture names it: its did:web, its current key B, an
/// accreditation for EQF 5-6 and its micro-credentials (EQF 6 and 7) with the fixture's ids.
async fn harbour(app: &TestApp, fixture: &Value) -> String {
    let spec = &fixture["registry"]["providers"]["harbour"];
    let agency = app.agency("Harbour Quality Agency", "IE").await;
    let provider = app
        .provider(spec["name"].as_str().unwrap())
        .identifier(IdentifierScheme::Did, spec["did"].as_str().unwrap())
        .key(public_key(fixture, "B"), at("2020-01-01T00:00:00Z"))
        .insert()
        .await;
    app.accreditation(&agency, &provider)
        .valid("2021-01-01T00:00:00Z", Some("2031-01-01T00:00:00Z"))
        .eqf_levels(&[5, 6])
        .insert()
        .await;
    for q in spec["qualifications"].as_array().unwrap() {
        let mut builder = app
            .qualification(&provider, q["title"].as_str().unwrap())
            .level("ie-nfq", q["level"].as_str().unwrap())
            .await;
        builder.qualification.id = q["id"].as_str().unwrap().to_owned();
        builder.insert().await;
    }
    provider.id
}

fn line<'a>(stdout: &'a str, start: &str) -> &'a str {
    stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?} in:\n{stdout}"))
}

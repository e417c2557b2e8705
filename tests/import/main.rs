//! ImportService.Import on SQLite and PostgreSQL: many signed writes a call, in batches, with
//! the checks of single writes; later writes of a call may depend on earlier ones (an agency
//! admitted, then registering providers with its key); resending is a replay; a refused write
//! stops the call with its index, and exactly the writes before it stay applied.

#[path = "../common/mod.rs"]
mod common;

mod batches;
mod calls;
mod limits;
mod recognitions;

use ed25519_dalek::SigningKey;
use tonic::Code;
use tonic_types::StatusExt;
use trust_registry::api::import::BATCH_WRITES;
use trust_registry::api::write::seal;
use trust_registry::domain::keys::multibase;
use trust_registry::pb;
use trust_registry::pb::import_service_client::ImportServiceClient;
use trust_registry::pb::issuer_query::Issuer;

use common::signed::*;
use common::{TestApp, log_size};

/// The operator admits an agency; the agency registers `providers` providers, each with its own
/// key, and accredits the first one: 2 + providers writes.
fn writes(agency_key: &SigningKey, providers: usize) -> Vec<pb::ImportRequest> {
    let admit = pb::AdmitQaAgencyCommand {
        header: header(),
        names: en("Import Test Agency"),
        country: "IE".into(),
        keys: vec![key_spec(agency_key)],
        admitted_at: Some(trust_registry::api::convert::timestamp(
            trust_registry::domain::Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").unwrap(),
        )),
        ..Default::default()
    };
    let mut list = vec![request(
        &operator_key(),
        "GovernanceService",
        "AdmitQaAgency",
        &admit,
    )];
    for i in 0..providers {
        list.push(registration(
            agency_key,
            &format!("Import Test College {i}"),
            &provider_key(i),
        ));
    }
    list
}

/// The agency registers a provider named `name` with one key.
fn registration(agency_key: &SigningKey, name: &str, provider_key: &SigningKey) -> pb::ImportRequest {
    let command = provider_registration(name, vec![key_spec(provider_key)]);
    request(agency_key, "AccreditationService", "RegisterProvider", &command)
}

fn provider_key(i: usize) -> SigningKey {
    key(&format!("import provider {i}"))
}

fn request(
    signer: &SigningKey,
    service: &str,
    method: &str,
    command: &impl prost::Message,
) -> pb::ImportRequest {
    let rpc = rpc(service, method);
    pb::ImportRequest {
        envelope: Some(seal(signer, &rpc, command)),
        rpc,
    }
}

async fn import(
    app: &TestApp,
    requests: Vec<pb::ImportRequest>,
) -> Result<pb::ImportResponse, tonic::Status> {
    ImportServiceClient::new(app.channel.clone())
        .import(tokio_stream::iter(requests))
        .await
        .map(|r| r.into_inner())
}

async fn providers_named(app: &TestApp, text: &str) -> usize {
    let mut catalogue = app.catalogue.clone();
    let mut count = 0;
    let mut page_token = String::new();
    loop {
        let page = catalogue
            .search_providers(pb::SearchProvidersRequest {
                text: text.into(),
                page_size: 500,
                page_token,
                ..Default::default()
            })
            .await
            .expect("SearchProviders")
            .into_inner();
        count += page.providers.len();
        if page.next_page_token.is_empty() {
            return count;
        }
        page_token = page.next_page_token;
    }
}

/// The provider with key `i` is known to CheckIssuer (by its public key).
async fn known(app: &TestApp, i: usize) -> bool {
    let public = provider_key(i).verifying_key().to_bytes();
    let verdict = common::verdict_about(&app.channel, Issuer::PublicKeyMultibase(multibase(&public))).await;
    verdict.status() != pb::TrustStatus::UnknownIssuer
}

/// The request signed by `signer`, and the id minted for what it creates.
fn minting(
    signer: &SigningKey,
    service: &str,
    method: &str,
    command: &impl trust_registry::api::write::SignedCommand,
    kind: trust_registry::domain::ids::IdKind,
) -> (pb::ImportRequest, String) {
    // As the registry reads it before minting.
    let issued_at = trust_registry::api::convert::from_timestamp(
        "header.issued_at",
        command.header().and_then(|h| h.issued_at.as_ref()),
    )
    .expect("issued_at in range")
    .expect("a header with issued_at");
    let request = request(signer, service, method, command);
    let envelope = request.envelope.as_ref().unwrap();
    let id = trust_registry::domain::envelope::envelope_id(
        &request.rpc,
        &envelope.command,
        &envelope.key_id,
        &envelope.signature,
    );
    (request, kind.mint_at(issued_at, id.as_bytes()))
}

/// An importer on the test's store, knowing the operator's key, as `trust-registry import` is.
fn importer(app: &TestApp) -> trust_registry::api::write::Writes {
    use trust_registry::api::write::{OperatorKey, Writes};
    Writes::new(
        app.store.clone(),
        Some(OperatorKey::new(operator_key().verifying_key().to_bytes())),
    )
}

/// The writes as `Writes::import_batch` takes them.
fn pairs(requests: &[pb::ImportRequest]) -> Vec<(String, pb::SignedEnvelope)> {
    requests
        .iter()
        .map(|r| (r.rpc.clone(), r.envelope.clone().unwrap()))
        .collect()
}

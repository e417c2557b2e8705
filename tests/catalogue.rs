//! CatalogueService through a real gRPC channel, on SQLite and PostgreSQL.

mod common;

use common::TestApp;
use common::builders::at;
use tonic::Code;
use trust_registry::domain::enums::*;
use trust_registry::pb;

both_backends!(get_provider_round_trips_and_rejects_bad_ids, async |app: &TestApp| {
    let agency = app.agency("Test Agency", "IE").await;
    let provider = app.provider("Harbour Test College").country("IE").identifier(IdentifierScheme::Deqar, "DEMO-1").insert().await;
    app.accreditation(&agency, &provider).insert().await;

    let mut client = app.catalogue.clone();
    let got = client
        .get_provider(pb::GetProviderRequest { id: provider.id.clone() })
        .await
        .expect("GetProvider")
        .into_inner()
        .provider
        .expect("provider");
    assert_eq!(got.id, provider.id);
    assert_eq!(got.names[0].value, "Harbour Test College");
    assert_eq!(got.identifiers[0].value, "DEMO-1");
    assert_eq!(got.kind, pb::ProviderKind::HigherEducation as i32);

    let unknown = trust_registry::domain::ids::IdKind::Provider.mint(b"nobody");
    let err = client.get_provider(pb::GetProviderRequest { id: unknown }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    for bad in ["", "prov_short", "qual_0000000000000000000a", "prov_!!!!!!!!!!!!!!!!!!!!"] {
        let err = client.get_provider(pb::GetProviderRequest { id: bad.into() }).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "id {bad:?}");
        assert!(err.message().starts_with("id:"), "message names the field: {}", err.message());
    }
    let _ = at("2020-01-01T00:00:00Z");
});

//! `trust-registry audit` against a log server whose pages of entries do not answer what was
//! asked, on SQLite and PostgreSQL: a page that claims another start, or that holds more entries
//! than asked for, is refused and named, even where its entries are the right ones; entries
//! that are not the signed log are refused before any of them is replayed.

mod common;

use common::TestApp;
use common::signed::*;
use tonic::{Request, Response, Status};
use trust_registry::api::CatalogueApi;
use trust_registry::api::log::LogApi;
use trust_registry::api::write::OperatorKey;
use trust_registry::cli::audit::{AuditArgs, audit_with};
use trust_registry::domain::note;
use trust_registry::domain::verdict::RegistryKey;
use trust_registry::pb;
use trust_registry::pb::catalogue_service_server::CatalogueServiceServer;
use trust_registry::pb::log_service_server::{LogService, LogServiceServer};

type Reply<T> = Result<Response<T>, Status>;

/// The test server's log, except that each page of entries is changed by `bad_page`.
struct BadPages {
    log: LogApi,
    bad_page: fn(&mut pb::GetEntriesResponse),
}

#[tonic::async_trait]
impl LogService for BadPages {
    async fn get_signed_write(
        &self,
        r: Request<pb::GetSignedWriteRequest>,
    ) -> Reply<pb::GetSignedWriteResponse> {
        self.log.get_signed_write(r).await
    }
    async fn get_checkpoint(&self, r: Request<pb::GetCheckpointRequest>) -> Reply<pb::GetCheckpointResponse> {
        self.log.get_checkpoint(r).await
    }
    async fn get_verifier_key(
        &self,
        r: Request<pb::GetVerifierKeyRequest>,
    ) -> Reply<pb::GetVerifierKeyResponse> {
        self.log.get_verifier_key(r).await
    }
    async fn get_inclusion_proof(
        &self,
        r: Request<pb::GetInclusionProofRequest>,
    ) -> Reply<pb::GetInclusionProofResponse> {
        self.log.get_inclusion_proof(r).await
    }
    async fn get_consistency_proof(
        &self,
        r: Request<pb::GetConsistencyProofRequest>,
    ) -> Reply<pb::GetConsistencyProofResponse> {
        self.log.get_consistency_proof(r).await
    }
    async fn get_entries(&self, r: Request<pb::GetEntriesRequest>) -> Reply<pb::GetEntriesResponse> {
        let mut page = self.log.get_entries(r).await?.into_inner();
        (self.bad_page)(&mut page);
        Ok(Response::new(page))
    }
}

/// Audits `app` through a server that serves its catalogue, and its log with `bad_page`
/// applied to every page of entries; returns the audit's error.
async fn audit_through(app: &TestApp, bad_page: fn(&mut pb::GetEntriesResponse)) -> String {
    let agency = key("pages agency");
    app.admit_agency("Pages Agency", "IE", &agency).await;
    app.register_provider(&agency, "Pages College", "IE", &key("pages provider"))
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let log = LogApi::new(
        app.store.clone(),
        RegistryKey::new(registry_key()),
        "trust-registry".into(),
    );
    let server = tonic::transport::Server::builder()
        .add_service(LogServiceServer::new(BadPages { log, bad_page }))
        .add_service(CatalogueServiceServer::new(CatalogueApi::new(app.store.clone())))
        .serve_with_incoming_shutdown(tonic::transport::server::TcpIncoming::from(listener), async {
            let _ = stopped.await;
        });
    let server = tokio::spawn(server);
    let args = AuditArgs {
        server: format!("http://{addr}"),
        since: None,
        save: None,
        verifier_key: Some(
            note::verifier_key("trust-registry", &registry_key().verifying_key().to_bytes()).unwrap(),
        ),
        operator_key: OperatorKey::new(operator_key().verifying_key().to_bytes()),
        database_url: None,
    };
    let result = audit_with(&args, async |_| {}).await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    format!("{:#}", result.expect_err("the audit refuses the page"))
}

both_backends!(a_page_claiming_another_start_is_refused, async |app: &TestApp| {
    let err = audit_through(app, |page| page.start += 1).await;
    assert!(
        err.contains("answered a request for entries from 0 with entries from 1"),
        "{err}"
    );
});

both_backends!(
    a_page_holding_more_entries_than_asked_for_is_refused,
    async |app: &TestApp| {
        let err = audit_through(app, |page| {
            let last = page.entries.last().cloned().unwrap();
            page.entries.push(last);
        })
        .await;
        assert!(
            err.contains("returned 3 entries from 0 where at most 2 were asked for"),
            "{err}"
        );
    }
);

both_backends!(
    entries_that_are_not_the_signed_ones_are_refused_before_they_are_replayed,
    async |app: &TestApp| {
        // The right entries in the wrong order: each decodes and is signed, but they are not
        // the log the checkpoint signs. Replayed, the provider's registration would be refused
        // first (its agency not admitted yet), so the error shows the page was checked before.
        let err = audit_through(app, |page| page.entries.reverse()).await;
        assert!(
            err.contains("MISMATCH: entries 0..2 as served do not belong to the signed log of 2 entries"),
            "{err}"
        );
    }
);

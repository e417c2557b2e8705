//! gRPC-Web, as a browser page calls it: over HTTP/1.1 through tonic-web's client layer, with
//! an `Origin`. The answers are the same as over gRPC, statuses included; preflights are
//! answered; every answer says whether the page's origin may read it, refusals by the rate
//! limit too; a list of allowed origins leaves the others out; and the calls are metered as
//! gRPC calls are.

mod common;

use common::{Served, TestApp, rate_limit, serve_store_with};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tonic::codegen::Bytes;
use tonic_web::{GrpcWebCall, GrpcWebClientLayer, GrpcWebClientService};
use trust_registry::api::cors::AllowedOrigins;
use trust_registry::pb;
use trust_registry::pb::log_service_client::LogServiceClient;

/// The page's origin in these tests.
const PAGE: &str = "https://wallet.example.org";

type WebChannel = GrpcWebClientService<Client<HttpConnector, GrpcWebCall<tonic::body::Body>>>;

/// A gRPC-Web channel over HTTP/1.1, as a browser's would be.
fn web() -> WebChannel {
    let http1 = Client::builder(TokioExecutor::new()).build_http();
    tower::ServiceBuilder::new()
        .layer(GrpcWebClientLayer::new())
        .service(http1)
}

/// Where `served` is, for clients made with [`web`].
fn uri(served: &Served) -> http::Uri {
    format!("http://{}", served.addr).parse().expect("a URI")
}

/// A request sent from a page at `origin`.
fn from_page<T>(message: T, origin: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("origin", origin.parse().expect("an origin"));
    request
}

fn allowed_origin(metadata: &tonic::metadata::MetadataMap) -> Option<String> {
    metadata
        .get("access-control-allow-origin")
        .map(|value| value.to_str().expect("ASCII").to_owned())
}

both_backends!(
    a_page_gets_the_same_answers_as_a_grpc_client,
    async |app: &TestApp| {
        let served = serve_store_with(&app.store, |_| {}).await;
        let mut web_log = LogServiceClient::with_origin(web(), uri(&served));
        let answer = web_log
            .get_checkpoint(from_page(pb::GetCheckpointRequest::default(), PAGE))
            .await
            .expect("GetCheckpoint over gRPC-Web");
        assert_eq!(allowed_origin(answer.metadata()).as_deref(), Some("*"));
        let over_web = answer.into_inner();
        let over_grpc = LogServiceClient::new(served.channel.clone())
            .get_checkpoint(pb::GetCheckpointRequest::default())
            .await
            .expect("GetCheckpoint over gRPC")
            .into_inner();
        assert_eq!(over_web, over_grpc);
        assert!(!over_web.checkpoint.is_empty(), "a signed checkpoint");

        // A refusal keeps its code and its message naming the field, readable by the page.
        let mut web_catalogue =
            pb::catalogue_service_client::CatalogueServiceClient::with_origin(web(), uri(&served));
        let refused = web_catalogue
            .get_provider(from_page(
                pb::GetProviderRequest {
                    id: "not-an-id".into(),
                },
                PAGE,
            ))
            .await
            .expect_err("a malformed id is refused");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
        assert!(refused.message().contains("id"), "{}", refused.message());
        assert_eq!(allowed_origin(refused.metadata()).as_deref(), Some("*"));
        let exposed = refused
            .metadata()
            .get("access-control-expose-headers")
            .expect("exposed headers")
            .to_str()
            .expect("ASCII")
            .to_owned();
        assert!(
            exposed.contains("grpc-status") && exposed.contains("grpc-message"),
            "{exposed}"
        );
        served.stop().await;
    }
);

both_backends!(a_browser_s_preflight_is_answered, async |app: &TestApp| {
    let served = serve_store_with(&app.store, |_| {}).await;
    let http1 = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let preflight = http::Request::builder()
        .method(http::Method::OPTIONS)
        .uri(format!(
            "http://{}/trustregistry.v1.TrustService/CheckIssuer",
            served.addr
        ))
        .header("origin", PAGE)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-grpc-web,x-user-agent",
        )
        .body(Empty::new())
        .expect("a request");
    let answer = http1.request(preflight).await.expect("the preflight is answered");
    assert!(answer.status().is_success(), "{:?}", answer.status());
    let header = |name: &str| {
        answer
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("{name} in {:?}", answer.headers()))
            .to_str()
            .expect("ASCII")
            .to_ascii_lowercase()
    };
    assert_eq!(header("access-control-allow-origin"), "*");
    assert!(header("access-control-allow-methods").contains("post"));
    let headers = header("access-control-allow-headers");
    for name in ["content-type", "x-grpc-web", "x-user-agent"] {
        assert!(headers.contains(name), "{name} in {headers}");
    }
    assert_eq!(header("access-control-max-age"), "86400");
    served.stop().await;
});

both_backends!(
    a_refusal_by_the_rate_limit_reaches_the_page,
    async |app: &TestApp| {
        let one_call = rate_limit(1, 1);
        let served = serve_store_with(&app.store, |options| options.rate_limit = Some(one_call)).await;
        let mut web_log = LogServiceClient::with_origin(web(), uri(&served));
        web_log
            .get_checkpoint(from_page(pb::GetCheckpointRequest::default(), PAGE))
            .await
            .expect("the first call is within the limit");
        let refused = web_log
            .get_checkpoint(from_page(pb::GetCheckpointRequest::default(), PAGE))
            .await
            .expect_err("the second call at once is over the limit");
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
        assert!(refused.message().contains("rate limit"), "{}", refused.message());
        assert_eq!(allowed_origin(refused.metadata()).as_deref(), Some("*"));
        served.stop().await;
    }
);

both_backends!(only_listed_origins_may_read_the_answers, async |app: &TestApp| {
    let listed: AllowedOrigins = PAGE.parse().expect("an origin");
    let served = serve_store_with(&app.store, |options| options.allowed_origins = listed).await;
    let mut web_log = LogServiceClient::with_origin(web(), uri(&served));
    let listed_page = web_log
        .get_checkpoint(from_page(pb::GetCheckpointRequest::default(), PAGE))
        .await
        .expect("a call from a listed page");
    assert_eq!(allowed_origin(listed_page.metadata()).as_deref(), Some(PAGE));
    // The server answers (CORS is enforced by the browser), without letting the page read it.
    let other_page = web_log
        .get_checkpoint(from_page(
            pb::GetCheckpointRequest::default(),
            "https://elsewhere.example.net",
        ))
        .await
        .expect("the call is answered");
    assert_eq!(allowed_origin(other_page.metadata()), None);
    served.stop().await;
});

// A page's calls are metered as gRPC calls are: under their method, with their status.
both_backends!(
    a_pages_calls_are_metered_under_their_method,
    async |app: &TestApp| {
        let metrics = std::sync::Arc::new(trust_registry::metrics::Metrics::new());
        let served = serve_store_with(&app.store, |options| options.metrics = Some(metrics.clone())).await;
        LogServiceClient::with_origin(web(), uri(&served))
            .get_checkpoint(from_page(pb::GetCheckpointRequest::default(), PAGE))
            .await
            .expect("GetCheckpoint over gRPC-Web");
        let refused = pb::catalogue_service_client::CatalogueServiceClient::with_origin(web(), uri(&served))
            .get_provider(from_page(
                pb::GetProviderRequest {
                    id: "not-an-id".into(),
                },
                PAGE,
            ))
            .await
            .expect_err("a malformed id");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
        let text = metrics.encode();
        for series in [
            "trust_registry_calls_total{method=\"/trustregistry.v1.LogService/GetCheckpoint\",code=\"OK\"} 1",
            "trust_registry_calls_total{method=\"/trustregistry.v1.CatalogueService/GetProvider\",code=\"INVALID_ARGUMENT\"} 1",
        ] {
            assert!(text.lines().any(|line| line == series), "no {series} in:\n{text}");
        }
        served.stop().await;
    }
);

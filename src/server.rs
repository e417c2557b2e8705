//! The gRPC server: catalogue, health, reflection (v1 and v1alpha) and gRPC-Web, with limits
//! chosen on purpose and graceful shutdown.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::{Request, Status};
use tonic_health::ServingStatus;

use crate::api::CatalogueApi;
use crate::api::cors::AllowedOrigins;
use crate::api::log::LogApi;
use crate::api::rate_limit::{RateLimit, RateLimitLayer};
use crate::api::trust::TrustApi;
use crate::api::write::services::{AccreditationApi, GovernanceApi, KeyApi, ProviderApi, RecognitionApi};
use crate::api::write::{OperatorKey, Writes};
use crate::domain::verdict::RegistryKey;
use crate::pb::{self, catalogue_service_server::CatalogueServiceServer};
use crate::store::Store;

/// Largest request message accepted: reads carry a few filters, never bulk data.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Largest write request accepted: one signed envelope with its command.
pub const MAX_WRITE_REQUEST_BYTES: usize = 512 * 1024;
/// Largest response message sent: a page of 500 qualifications fits with room to spare.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Concurrent calls per HTTP/2 connection.
pub const MAX_CONCURRENT_STREAMS: u32 = 256;

/// The log origin when none is configured.
pub const DEFAULT_LOG_ORIGIN: &str = "trust-registry";

/// What a log origin must be, and why.
pub const LOG_ORIGIN_RULE: &str = "the log origin is also the name of the key that signs \
checkpoints (C2SP signed-note), so it must be non-empty, without spaces, control characters \
or '+', e.g. registry.example.org/log";

/// Checks a log origin. It is the first line of every checkpoint and the name of the checkpoint
/// key in GetVerifierKey and in each checkpoint's signature line, where a space, a newline or a
/// '+' would break the note format: a server started with such an origin would answer every
/// GetCheckpoint and GetVerifierKey with INTERNAL, so it is refused before serving.
pub fn check_log_origin(origin: &str) -> Result<(), &'static str> {
    if crate::domain::note::is_valid_key_name(origin) {
        Ok(())
    } else {
        Err(LOG_ORIGIN_RULE)
    }
}

/// Settings of a running server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Server-side deadline of every call.
    pub request_timeout: Duration,
    /// The operator's public key; without one, governance writes are refused.
    pub operator_key: Option<OperatorKey>,
    /// The registry's signing key; without one, an ephemeral key is generated.
    pub registry_key: Option<RegistryKey>,
    /// The log's origin line in checkpoints, and the checkpoint key's name.
    pub log_origin: String,
    /// Calls allowed from one client address; `None` counts none.
    pub rate_limit: Option<RateLimit>,
    /// The origins whose web pages may call the registry (gRPC-Web across origins).
    pub allowed_origins: AllowedOrigins,
    /// The certificate and key to serve TLS with; `None` serves plain HTTP/2.
    pub tls: Option<tonic::transport::Identity>,
    /// Refuse every write (a mirror's store, which only its log's replay may change).
    pub read_only: bool,
    /// Count and time every call here (see `serve --metrics-listen`); `None` meters nothing.
    pub metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            operator_key: None,
            registry_key: None,
            log_origin: DEFAULT_LOG_ORIGIN.to_owned(),
            rate_limit: Some(RateLimit::DEFAULT),
            allowed_origins: AllowedOrigins::Any,
            tls: None,
            read_only: false,
            metrics: None,
        }
    }
}

/// The server's TLS settings for `identity`.
fn tls_config(identity: &tonic::transport::Identity) -> tonic::transport::ServerTlsConfig {
    tonic::transport::ServerTlsConfig::new().identity(identity.clone())
}

/// Checks that `identity` can serve TLS: a certificate chain and its matching private key.
pub fn check_tls(identity: &tonic::transport::Identity) -> anyhow::Result<()> {
    Server::builder().tls_config(tls_config(identity))?;
    Ok(())
}

/// A write service with its message size limits, behind `writes_allowed` (see `--read-only`).
macro_rules! write_server {
    ($server:ty, $api:expr, $writes_allowed:expr) => {
        tonic::service::interceptor::InterceptedService::new(
            <$server>::new($api)
                .max_decoding_message_size(MAX_WRITE_REQUEST_BYTES)
                .max_encoding_message_size(MAX_RESPONSE_BYTES),
            $writes_allowed,
        )
    };
}

/// Passes every write on, or with `read_only` refuses it before its request is read.
fn writes_allowed(read_only: bool) -> impl Fn(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |request| {
        if read_only {
            Err(Status::failed_precondition(
                "this registry serves reads only (--read-only): a mirror's store changes only by replaying the log of the registry it mirrors; send writes there",
            ))
        } else {
            Ok(request)
        }
    }
}

/// Serves on `listener` until `shutdown` completes, then drains in-flight calls. Refuses to
/// start with a log origin that cannot name the checkpoint key (see [`check_log_origin`]).
pub async fn serve(
    listener: TcpListener,
    store: Store,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    check_log_origin(&options.log_origin)
        .map_err(|rule| anyhow::anyhow!("--log-origin {:?} is refused: {rule}", options.log_origin))?;
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    health_reporter
        .set_serving::<CatalogueServiceServer<CatalogueApi>>()
        .await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let writes = Writes::new(store.clone(), options.operator_key.clone());
    let registry_key = match options.registry_key.clone() {
        Some(key) => key,
        None => {
            tracing::warn!("no registry key given: verdicts are signed with an ephemeral key");
            RegistryKey::new(ed25519_dalek::SigningKey::from_bytes(
                &crate::cli::random_bytes::<32>()?,
            ))
        }
    };
    let trust = pb::trust_service_server::TrustServiceServer::new(TrustApi::new(
        store.clone(),
        registry_key.clone(),
        options.log_origin.clone(),
    ))
    .max_decoding_message_size(MAX_WRITE_REQUEST_BYTES)
    .max_encoding_message_size(MAX_RESPONSE_BYTES);
    health_reporter
        .set_serving::<pb::trust_service_server::TrustServiceServer<TrustApi>>()
        .await;
    let catalogue = CatalogueServiceServer::new(CatalogueApi::new(store.clone()))
        .max_decoding_message_size(MAX_REQUEST_BYTES)
        .max_encoding_message_size(MAX_RESPONSE_BYTES);
    let log = pb::log_service_server::LogServiceServer::new(LogApi::new(
        store.clone(),
        registry_key.clone(),
        options.log_origin.clone(),
    ))
    .max_decoding_message_size(MAX_REQUEST_BYTES)
    .max_encoding_message_size(MAX_RESPONSE_BYTES);
    health_reporter
        .set_serving::<pb::log_service_server::LogServiceServer<LogApi>>()
        .await;
    use crate::api::import::ImportApi;
    use crate::pb::import_service_server::ImportServiceServer;
    use pb::{
        accreditation_service_server::AccreditationServiceServer,
        governance_service_server::GovernanceServiceServer, key_service_server::KeyServiceServer,
        provider_service_server::ProviderServiceServer, recognition_service_server::RecognitionServiceServer,
    };
    // A read-only registry tells health checkers that it does not serve its write services.
    let write_status = if options.read_only {
        ServingStatus::NotServing
    } else {
        ServingStatus::Serving
    };
    use tonic::server::NamedService;
    for name in [
        GovernanceServiceServer::<GovernanceApi>::NAME,
        AccreditationServiceServer::<AccreditationApi>::NAME,
        ProviderServiceServer::<ProviderApi>::NAME,
        RecognitionServiceServer::<RecognitionApi>::NAME,
        KeyServiceServer::<KeyApi>::NAME,
        ImportServiceServer::<ImportApi>::NAME,
    ] {
        health_reporter.set_service_status(name, write_status).await;
    }
    let writes_allowed = writes_allowed(options.read_only);

    // Without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold small responses for ~40 ms.
    let incoming = tonic::transport::server::TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(Duration::from_secs(60)));
    let mut server = Server::builder();
    if let Some(identity) = &options.tls {
        server = server.tls_config(tls_config(identity))?;
    }
    server
        .accept_http1(true)
        .timeout(options.request_timeout)
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        // CORS outermost, so that every answer to a browser (a refusal too) says whether its
        // page may read it; then gRPC-Web, so that what is inside sees gRPC; then the metrics,
        // which count refusals too; then the rate limit, so that a refused call costs no more
        // than its refusal and is not logged one by one.
        .layer(crate::api::cors::layer(&options.allowed_origins))
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(crate::metrics::layer::MetricsLayer::new(options.metrics.clone()))
        .layer(RateLimitLayer::new(options.rate_limit))
        .layer(tower_http::trace::TraceLayer::new_for_grpc().on_failure(crate::telemetry::log_failure))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(catalogue)
        .add_service(log)
        .add_service(trust)
        .add_service(write_server!(
            GovernanceServiceServer<GovernanceApi>,
            GovernanceApi(writes.clone()),
            writes_allowed.clone()
        ))
        .add_service(write_server!(
            AccreditationServiceServer<AccreditationApi>,
            AccreditationApi(writes.clone()),
            writes_allowed.clone()
        ))
        .add_service(write_server!(
            ProviderServiceServer<ProviderApi>,
            ProviderApi(writes.clone()),
            writes_allowed.clone()
        ))
        .add_service(write_server!(
            RecognitionServiceServer<RecognitionApi>,
            RecognitionApi(writes.clone()),
            writes_allowed.clone()
        ))
        .add_service(write_server!(
            KeyServiceServer<KeyApi>,
            KeyApi(writes.clone()),
            writes_allowed.clone()
        ))
        .add_service(write_server!(
            ImportServiceServer<ImportApi>,
            ImportApi::new(writes),
            writes_allowed
        ))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested; draining in-flight calls");
}

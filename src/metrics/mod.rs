//! Prometheus metrics: every call counted by method and gRPC status and timed, the state of the
//! log and of the read cache, served as OpenMetrics text on a listener of their own (`serve --metrics-listen`).
//!
//! Off unless that listener is set; then the layer in [`layer`] meters every call that reaches
//! the gRPC services (rate-limit refusals too), and [`endpoint`] answers `GET /metrics`.

pub mod endpoint;
pub mod layer;

use std::collections::HashSet;
use std::sync::atomic::AtomicI64;
use std::sync::{LazyLock, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use prost::Message as _;

use crate::store::{CacheStats, Store};

/// The `method` label of a call to a path that no service of this server has: anyone can send
/// any path, so unknown ones share one label instead of each making a series.
pub const OTHER_METHOD: &str = "other";

/// Every method path this server serves: its own services', health's and reflection's.
static METHODS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    let mut paths: HashSet<&'static str> = [
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ]
    .into_iter()
    .collect();
    for encoded in [
        crate::pb::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
    ] {
        let set = prost_types::FileDescriptorSet::decode(encoded)
            .expect("the descriptor sets compiled into the binary decode");
        for file in set.file {
            for service in &file.service {
                for method in &service.method {
                    let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                    // Once per process, a few dozen short strings.
                    paths.insert(Box::leak(path.into_boxed_str()));
                }
            }
        }
    }
    paths
});

/// The label a call to `path` is counted under: its method path, or [`OTHER_METHOD`].
pub fn method_label(path: &str) -> &'static str {
    METHODS.get(path).copied().unwrap_or(OTHER_METHOD)
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: &'static str,
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

/// Call durations from 50 µs to ~26 s, doubling: a cached trust query takes tens of
/// microseconds, a page of documents milliseconds, an import stream seconds.
fn durations() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

/// The metrics of one server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    call_seconds: Family<MethodLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge<i64, AtomicI64>,
    log_entries: Gauge<i64, AtomicI64>,
    store_up: Gauge<i64, AtomicI64>,
    cache: std::sync::Arc<CacheMetrics>,
}

/// The read cache's state, as the store gave it at the last scrape.
#[derive(Debug, Default)]
struct CacheMetrics(Mutex<Vec<CacheStats>>);

impl Collector for CacheMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.0.lock().expect("cache metrics lock").clone();
        if stats.is_empty() {
            return Ok(());
        }
        let mut lookups = encoder.encode_descriptor(
            "cache_lookups",
            "Lookups in the read cache by kind and outcome: hit, kept (loaded before later writes that did not change it, so served), stale (loaded before a later write that may have changed it, so loaded again) or miss",
            None,
            MetricType::Counter,
        )?;
        for kind in &stats {
            for (outcome, count) in [
                ("hit", kind.hits),
                ("kept", kind.kept),
                ("stale", kind.stale),
                ("miss", kind.misses),
            ] {
                let labels = [("kind", kind.kind), ("outcome", outcome)];
                ConstCounter::new(count).encode(lookups.encode_family(&labels)?)?;
            }
        }
        for (name, help, value) in [
            (
                "cache_entries",
                "Values held by the read cache, by kind",
                (|kind: &CacheStats| kind.entries) as fn(&CacheStats) -> u64,
            ),
            (
                "cache_capacity",
                "Values the read cache holds at most, by kind (serve --cache-entries; --qualification-row-hints for qualification_rows; for documents, the bytes of --document-cache-mib)",
                |kind: &CacheStats| kind.capacity,
            ),
        ] {
            let mut gauge = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for kind in &stats {
                let labels = [("kind", kind.kind)];
                ConstGauge::new(i64::try_from(value(kind)).unwrap_or(i64::MAX))
                    .encode(gauge.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("trust_registry");
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "calls",
            "Calls answered, by method path and gRPC status code (CANCELLED: the client went away before the answer ended)",
            calls.clone(),
        );
        let call_seconds =
            Family::<MethodLabels, Histogram, fn() -> Histogram>::new_with_constructor(durations);
        registry.register_with_unit(
            "call_duration",
            "Time from a call's arrival to the end of its answer, by method path",
            Unit::Seconds,
            call_seconds.clone(),
        );
        let in_flight = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "calls_in_flight",
            "Calls arrived and not yet answered",
            in_flight.clone(),
        );
        let log_entries = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "log_entries",
            "Entries of the tamper-evident log (accepted signed writes), as of the scrape",
            log_entries.clone(),
        );
        let store_up = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "store_up",
            "1 if the store answered the scrape's query for the log size, 0 if it failed",
            store_up.clone(),
        );
        let cache = std::sync::Arc::new(CacheMetrics::default());
        registry.register_collector(Box::new(cache.clone()));
        // The runtime the server runs on, sized by `serve --worker-threads`.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            registry.register(
                "worker_threads",
                "Threads of the runtime that runs the calls (serve --worker-threads)",
                ConstGauge::new(i64::try_from(runtime.metrics().num_workers()).unwrap_or(i64::MAX)),
            );
        }
        registry.register(
            "build",
            "The server's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        Self {
            registry,
            calls,
            call_seconds,
            in_flight,
            log_entries,
            store_up,
            cache,
        }
    }

    /// Counts a call that arrived and is not yet answered.
    fn started(&self) {
        self.in_flight.inc();
    }

    /// Counts the end of a call begun with [`Self::started`].
    fn finished(&self, method: &'static str, code: tonic::Code, seconds: f64) {
        self.in_flight.dec();
        self.calls
            .get_or_create(&CallLabels {
                method,
                code: code_name(code),
            })
            .inc();
        self.call_seconds
            .get_or_create(&MethodLabels { method })
            .observe(seconds);
    }

    /// The metrics as OpenMetrics text, with the log's size read from `store` now.
    pub async fn render(&self, store: &Store) -> String {
        match store.generation().await {
            Ok(generation) => {
                self.log_entries
                    .set(i64::try_from(generation.log_size).unwrap_or(i64::MAX));
                self.store_up.set(1);
            }
            Err(error) => {
                tracing::warn!(%error, "metrics: the store did not answer the log size");
                self.store_up.set(0);
            }
        }
        *self.cache.0.lock().expect("cache metrics lock") = store.cache_stats();
        self.encode()
    }

    /// The metrics as OpenMetrics text, as they stand.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String does not fail");
        text
    }
}

/// A status code's name as gRPC spells it (`OK`, `INVALID_ARGUMENT` ...).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_methods_keep_their_path_and_others_share_one_label() {
        assert_eq!(
            method_label("/trustregistry.v1.TrustService/CheckIssuer"),
            "/trustregistry.v1.TrustService/CheckIssuer"
        );
        assert_eq!(
            method_label("/grpc.health.v1.Health/Check"),
            "/grpc.health.v1.Health/Check"
        );
        assert_eq!(method_label("/trustregistry.v1.TrustService/Nope"), OTHER_METHOD);
        assert_eq!(method_label("/../../etc/passwd"), OTHER_METHOD);
        assert_eq!(method_label(""), OTHER_METHOD);
    }

    #[test]
    fn every_code_has_its_grpc_name() {
        for number in 0..=16 {
            let code = tonic::Code::from_i32(number);
            let name = code_name(code);
            assert!(name.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{name}");
        }
        assert_eq!(code_name(tonic::Code::from_i32(3)), "INVALID_ARGUMENT");
        assert_eq!(code_name(tonic::Code::from_i32(16)), "UNAUTHENTICATED");
    }
}

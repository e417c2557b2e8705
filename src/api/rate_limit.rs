//! The per-address rate limit. Verifiers call the registry anonymously (DESIGN.md), so the only
//! thing a call can be counted against is where it comes from: the client's IPv4 address, or
//! its IPv6 /64 network. Every call counts, reads and writes alike: a write's signature is
//! checked only after the call has been accepted, so an unsigned flood would otherwise cost
//! the server a signature check each. Health checks are not counted, so that a load
//! balancer's probes are never refused because of the traffic of a client sharing its address.
//!
//! A refused call gets `RESOURCE_EXHAUSTED` naming the limit, with the standard `RetryInfo`
//! (when to try again) and `QuotaFailure` details, before any work is done for it. Refusals are
//! not logged one by one (a flood would flood the log too): once a minute a warning says how
//! many calls were refused. The limiter is governor's GCRA, one cell of state per address,
//! swept of idle addresses at the same pace.

use std::future::Future;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tonic::codegen::{Bytes, StdError};
use tonic_types::{ErrorDetails, StatusExt};

/// Path prefix of the health service's calls, which are never counted.
const HEALTH_PATH: &str = "/grpc.health.v1.Health/";

/// How often idle addresses are forgotten and refusals reported.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Calls allowed from one client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Calls a second, sustained.
    pub per_second: NonZeroU32,
    /// Calls that may come at once (the bucket's size); an idle client regains it at
    /// `per_second`.
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// What `serve` applies when not told otherwise: a thousand calls a second from one
    /// address, in bursts of up to two thousand. One verification takes a few calls, so this
    /// serves a batch verifier at hundreds of credentials a second, while one address cannot
    /// take more than a small share of what two cores answer (tens of thousands a second).
    pub const DEFAULT: RateLimit = RateLimit {
        per_second: NonZeroU32::new(1_000).unwrap(),
        burst: NonZeroU32::new(2_000).unwrap(),
    };
}

/// The address a call is counted under: an IPv4 address as it is (an IPv4-mapped IPv6 address
/// as its IPv4 address), an IPv6 address as its /64 network, because one subscriber is usually
/// given a whole /64 and could otherwise take a fresh budget with every address of it.
pub fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
}

/// The limiter shared by every connection of a server.
#[derive(Debug)]
pub struct Limiter {
    rule: RateLimit,
    cells: DefaultKeyedRateLimiter<IpAddr>,
    /// Calls refused since the last report.
    refused: AtomicU64,
}

impl Limiter {
    pub fn new(rule: RateLimit) -> Self {
        Self {
            rule,
            cells: RateLimiter::keyed(Quota::per_second(rule.per_second).allow_burst(rule.burst)),
            refused: AtomicU64::new(0),
        }
    }

    /// Counts a call from `addr`: `Err` with the status to answer when it is over the limit.
    pub fn check(&self, addr: IpAddr) -> Result<(), tonic::Status> {
        let key = client_key(addr);
        let Err(not_until) = self.cells.check_key(&key) else {
            return Ok(());
        };
        self.refused.fetch_add(1, Ordering::Relaxed);
        let retry_after = not_until.wait_time_from(self.cells.clock().now());
        tracing::debug!(client = %key, retry_after_ms = retry_after.as_millis() as u64, "call refused by the rate limit");
        Err(self.refusal(key, retry_after))
    }

    fn refusal(&self, key: IpAddr, retry_after: Duration) -> tonic::Status {
        let RateLimit { per_second, burst } = self.rule;
        // Whole milliseconds, rounded up, so that a client waiting as told is let in.
        let retry_ms = retry_after.as_micros().div_ceil(1_000).max(1);
        let rule = format!(
            "at most {per_second} calls a second from one client address (an IPv6 client's /64), \
             in bursts of up to {burst}"
        );
        let mut details = ErrorDetails::with_retry_info(Some(Duration::from_millis(retry_ms as u64)));
        details.add_quota_failure_violation(format!("client address {key}"), rule.clone());
        tonic::Status::with_error_details(
            tonic::Code::ResourceExhausted,
            format!("rate limit: {rule}; retry after {retry_ms} ms"),
            details,
        )
    }

    /// Forgets addresses whose budget is full again (they would start afresh anyway) and says
    /// how many calls were refused since the last sweep.
    fn sweep(&self) {
        self.cells.retain_recent();
        self.cells.shrink_to_fit();
        let refused = self.refused.swap(0, Ordering::Relaxed);
        if refused > 0 {
            tracing::warn!(
                refused,
                per_second = self.rule.per_second.get(),
                burst = self.rule.burst.get(),
                addresses = self.cells.len(),
                "calls refused by the per-address rate limit in the last minute"
            );
        }
    }
}

/// A tower layer applying a [`RateLimit`] to every call but health checks; `None` applies none
/// (for a server behind a proxy that limits, where every call comes from the proxy's address).
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    limiter: Option<Arc<Limiter>>,
}

impl RateLimitLayer {
    /// Builds the layer and, with a limit, starts its sweeper on the current runtime; the
    /// sweeper stops once the server's services are gone.
    pub fn new(rule: Option<RateLimit>) -> Self {
        let limiter = rule.map(|rule| Arc::new(Limiter::new(rule)));
        if let Some(limiter) = &limiter {
            tokio::spawn(sweep(Arc::downgrade(limiter)));
        }
        Self { limiter }
    }
}

async fn sweep(limiter: Weak<Limiter>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(limiter) = limiter.upgrade() else {
            return;
        };
        limiter.sweep();
    }
}

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimited {
            inner,
            limiter: self.limiter.clone(),
        }
    }
}

/// The service of [`RateLimitLayer`].
#[derive(Debug, Clone)]
pub struct RateLimited<S> {
    inner: S,
    limiter: Option<Arc<Limiter>>,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for RateLimited<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<StdError>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Answer<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        if let Some(limiter) = &self.limiter
            && !request.uri().path().starts_with(HEALTH_PATH)
            && let Some(addr) = client_address(&request)
            && let Err(status) = limiter.check(addr)
        {
            return Answer::Refused {
                response: Some(status.into_http()),
            };
        }
        Answer::Served {
            inner: self.inner.call(request),
        }
    }
}

/// The address a call came from; `None` on transports other than TCP. Over TLS tonic inserts
/// the TCP connection's information too (`tests/tls.rs` counts clients over TLS).
fn client_address<B>(request: &http::Request<B>) -> Option<IpAddr> {
    request
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(tonic::transport::server::TcpConnectInfo::remote_addr)
        .map(|addr| addr.ip())
}

pin_project_lite::pin_project! {
    /// The answer of [`RateLimited`]: the inner service's, or a refusal made before calling it.
    #[project = AnswerProjection]
    pub enum Answer<F> {
        Served { #[pin] inner: F },
        Refused { response: Option<http::Response<tonic::body::Body>> },
    }
}

impl<F, ResBody, E> Future for Answer<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<StdError>,
{
    type Output = Result<http::Response<tonic::body::Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AnswerProjection::Served { inner } => inner
                .poll(cx)
                .map(|answer| answer.map(|response| response.map(tonic::body::Body::new))),
            // A future is not polled again once ready; if it were, it answers an error.
            AnswerProjection::Refused { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| tonic::Status::internal("a refusal was answered twice").into_http()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn limiter(per_second: u32, burst: u32) -> Limiter {
        Limiter::new(RateLimit {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        })
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_a_mapped_ipv4_one_by_its_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        assert_eq!(client_key(a), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8));
        assert_eq!(client_key(v4), v4);
    }

    #[test]
    fn a_burst_is_served_then_refused_with_when_to_retry() {
        let limiter = limiter(1, 3);
        let client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        for call in 0..3 {
            assert!(limiter.check(client).is_ok(), "call {call} of the burst");
        }
        let status = limiter
            .check(client)
            .expect_err("the fourth call is over the limit");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(
            status.message().contains("at most 1 calls a second"),
            "{}",
            status.message()
        );
        assert!(
            status.message().contains("bursts of up to 3"),
            "{}",
            status.message()
        );
        let details = status.get_error_details();
        let delay = details
            .retry_info()
            .and_then(|info| info.retry_delay)
            .expect("RetryInfo with a delay");
        assert!(
            delay > Duration::ZERO && delay <= Duration::from_secs(1),
            "{delay:?}"
        );
        let quota = details.quota_failure().expect("QuotaFailure");
        assert_eq!(quota.violations[0].subject, "client address 192.0.2.1");
        // Another address has a budget of its own; the refused one is counted.
        assert!(limiter.check(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))).is_ok());
        assert_eq!(limiter.refused.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn the_sweep_forgets_addresses_whose_budget_is_full_again() {
        let limiter = limiter(1_000_000, 1);
        for last in 1..=50u8 {
            limiter.check(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))).unwrap();
        }
        assert_eq!(limiter.cells.len(), 50);
        // At a million a second, one cell refills within a microsecond.
        std::thread::sleep(Duration::from_millis(2));
        limiter.sweep();
        assert_eq!(limiter.cells.len(), 0);
    }
}

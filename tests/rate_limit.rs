//! The per-address rate limit, through a real server: a client over its budget is refused with
//! RESOURCE_EXHAUSTED and when to retry, writes count as reads do, another address and the
//! health service are not affected, and a client that waits as told is served again.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{Served, TestApp, checkpoint, rate_limit, serve_store_with};
use tonic::transport::Channel;
use tonic_types::StatusExt;
use trust_registry::pb;

/// A channel to `served` from the loopback address `from` (127.0.0.0/8 is all loopback on
/// Linux), so that one test can be several clients.
async fn client_from(served: &Served, from: &str) -> Channel {
    Channel::from_shared(format!("http://{}", served.addr))
        .expect("endpoint")
        .local_address(Some(from.parse::<IpAddr>().expect("an address")))
        .connect()
        .await
        .expect("connect to the limited server")
}

/// Asserts a refusal by the rate limit and returns the delay it asks the client to wait.
fn assert_rate_limited(status: &tonic::Status, burst: u32) -> Duration {
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("rate limit")
            && status.message().contains(&format!("bursts of up to {burst}")),
        "{}",
        status.message()
    );
    let details = status.get_error_details();
    let quota = details.quota_failure().expect("a QuotaFailure detail");
    assert_eq!(quota.violations[0].subject, "client address 127.0.0.1");
    details
        .retry_info()
        .and_then(|info| info.retry_delay)
        .expect("a RetryInfo detail with a delay")
}

both_backends!(
    a_client_over_its_budget_is_refused_with_when_to_retry,
    async |app: &TestApp| {
        let server =
            serve_store_with(&app.store, |options| options.rate_limit = Some(rate_limit(20, 3))).await;
        let client = client_from(&server, "127.0.0.1").await;
        for call in 0..3 {
            checkpoint(&client)
                .await
                .unwrap_or_else(|status| panic!("call {call} of the burst: {status:?}"));
        }
        let refused = checkpoint(&client)
            .await
            .expect_err("the fourth call at once is over the limit");
        let delay = assert_rate_limited(&refused, 3);
        assert!(
            delay <= Duration::from_millis(50),
            "one call refills in 1/20 s, asked to wait {delay:?}"
        );

        // A write is counted before its signature is looked at: refused the same way, not judged.
        let write = pb::governance_service_client::GovernanceServiceClient::new(client.clone())
            .add_framework(pb::AddFrameworkRequest::default())
            .await
            .expect_err("a write over the limit is refused");
        assert_rate_limited(&write, 3);

        // Another address has its own budget, and health checks are never counted.
        let other = client_from(&server, "127.0.0.2").await;
        checkpoint(&other).await.expect("another address is served");
        let health = tonic_health::pb::health_client::HealthClient::new(client.clone())
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .expect("a health check from the limited address is served");
        assert_eq!(
            health.into_inner().status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );

        // Waiting as told is enough (the write's refusal above asked for a fresh delay).
        let wait = match checkpoint(&client).await {
            Ok(_) => Duration::ZERO,
            Err(status) => assert_rate_limited(&status, 3),
        };
        tokio::time::sleep(wait).await;
        checkpoint(&client)
            .await
            .expect("served again after waiting as told");
        server.stop().await;
    }
);

//! Limits of a call: large writes applied early, a bad one stopping the call when it arrives, and
//! calls beyond the limit refused.

use super::*;
use crate::both_backends;

/// A call whose writes are sent through the returned sender, the stream open until it is dropped.
fn open_call(
    app: &TestApp,
) -> (
    tokio::sync::mpsc::UnboundedSender<pb::ImportRequest>,
    tokio::task::JoinHandle<Result<pb::ImportResponse, tonic::Status>>,
) {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let channel = app.channel.clone();
    let call = tokio::spawn(async move {
        ImportServiceClient::new(channel)
            .import(tokio_stream::wrappers::UnboundedReceiverStream::new(receiver))
            .await
            .map(|r| r.into_inner())
    });
    (sender, call)
}

/// Waits, within a minute, until the log holds `size` writes.
async fn log_reaches(app: &TestApp, size: u64) {
    for _ in 0..600 {
        if log_size(app).await >= size {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the log did not reach {size} writes (it has {})",
        log_size(app).await
    );
}

// A call holds at most BATCH_BYTES of commands before applying them, and a write that cannot
// be applied whatever the registry holds (here a signature of the wrong length) stops the call
// when it arrives, not when the sender closes the stream.
both_backends!(
    a_call_applies_large_writes_early_and_stops_at_a_bad_one_at_once,
    async |app: &TestApp| {
        use trust_registry::api::import::BATCH_BYTES;

        let agency_key = key("large import agency");
        let before = log_size(app).await;
        let setup = import(app, writes(&agency_key, 1)).await.expect("setup");
        let college = provider_key(0);
        let big = |i: usize| {
            let command = pb::PublishQualificationCommand {
                header: header(),
                description: Some(large_description(&format!("Large Import Course {i}"))),
            };
            request(&college, "ProviderService", "PublishQualification", &command)
        };
        let size = big(0).envelope.unwrap().command.len();
        let enough = BATCH_BYTES.div_ceil(size);
        assert!(
            enough < BATCH_WRITES,
            "{enough} writes of {size} bytes fill BATCH_BYTES"
        );
        let after_setup = before + setup.accepted;
        assert_eq!(log_size(app).await, after_setup);

        let (sender, call) = open_call(app);
        for i in 0..enough {
            sender.send(big(i)).unwrap();
        }
        // Applied while the stream is still open.
        log_reaches(app, after_setup + enough as u64).await;
        let mut bad = big(enough);
        bad.envelope.as_mut().unwrap().signature.truncate(10);
        sender.send(bad).unwrap();
        let status = tokio::time::timeout(std::time::Duration::from_secs(60), call)
            .await
            .expect("the call ends while its stream is open")
            .unwrap()
            .expect_err("the short signature is refused");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert!(
            status.message().starts_with(&format!("writes[{enough}] "))
                && status.message().contains("64-byte"),
            "{status:?}"
        );
        assert_eq!(log_size(app).await, after_setup + enough as u64);
        drop(sender);
    }
);

// At most MAX_CALLS calls are served at once; one more is refused with RESOURCE_EXHAUSTED,
// and served again once a call has ended.
both_backends!(calls_beyond_the_limit_are_refused, async |app: &TestApp| {
    use trust_registry::api::import::MAX_CALLS;

    // The server ends a call after its 10 s deadline: on a loaded machine the open calls are
    // started again until a probe finds all of them served.
    let empty = || import(app, Vec::new());
    let mut ended = Vec::new();
    let mut found = None;
    'attempts: for _ in 0..10 {
        let open: Vec<_> = (0..MAX_CALLS).map(|_| open_call(app)).collect();
        for _ in 0..40 {
            match empty().await {
                Err(status) if status.code() == Code::ResourceExhausted => {
                    found = Some((open, status));
                    break 'attempts;
                }
                Err(status) => panic!("{status:?}"),
                // Not all the open calls are being served yet.
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
        for (sender, call) in open {
            drop(sender);
            ended.push(format!("{:?}", call.await.unwrap().map(|r| r.accepted)));
        }
    }
    let Some((open, refused)) = found else {
        panic!("no call beyond the limit was refused; the open calls ended with {ended:?}");
    };
    assert!(
        refused.message().contains(&format!("{MAX_CALLS} Import calls")),
        "{refused:?}"
    );
    let mut open = open.into_iter();
    let (sender, call) = open.next().unwrap();
    drop(sender);
    let ended = call.await.unwrap().expect("the closed call ends");
    assert_eq!(ended.accepted, 0);
    let mut served = false;
    for _ in 0..600 {
        match empty().await {
            Ok(response) => {
                assert_eq!(response.accepted, 0);
                served = true;
                break;
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    assert!(served, "a call is served once another has ended");
    drop(open);
});

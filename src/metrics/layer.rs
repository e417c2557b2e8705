//! The tower layer that counts and times every call.
//!
//! A gRPC call's status comes in the answer's headers when it fails before answering anything
//! ("trailers only"), and otherwise in the trailers after the body: so a call is counted when
//! its answer's headers carry a status, or else when the trailers pass through, or, if the
//! answer is dropped before its end (the client reset the stream or left), as `CANCELLED`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http_body::{Body, Frame, SizeHint};
use tonic::codegen::{Bytes, StdError};

use super::{Metrics, method_label};

/// Meters the calls of the services inside it; with `None`, passes them through untouched.
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Option<Arc<Metrics>>,
}

impl MetricsLayer {
    pub fn new(metrics: Option<Arc<Metrics>>) -> Self {
        Self { metrics }
    }
}

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Metered {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service of [`MetricsLayer`].
#[derive(Debug, Clone)]
pub struct Metered<S> {
    inner: S,
    metrics: Option<Arc<Metrics>>,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Metered<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<StdError>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Answer<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let call = self.metrics.as_ref().map(|metrics| {
            metrics.started();
            Call {
                metrics: metrics.clone(),
                method: method_label(request.uri().path()),
                start: Instant::now(),
                done: false,
            }
        });
        Answer {
            inner: self.inner.call(request),
            call,
        }
    }
}

/// A call being metered: counted once, when it ends or is dropped.
struct Call {
    metrics: Arc<Metrics>,
    method: &'static str,
    start: Instant,
    done: bool,
}

impl Call {
    fn finish(&mut self, code: tonic::Code) {
        if !std::mem::replace(&mut self.done, true) {
            self.metrics
                .finished(self.method, code, self.start.elapsed().as_secs_f64());
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // Neither a status nor the end of the answer was seen: the answer was abandoned.
        self.finish(tonic::Code::Cancelled);
    }
}

/// The status a `grpc-status` header or trailer holds (`UNKNOWN` if it is not a number).
fn status_of(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers.get("grpc-status").map(|value| {
        value
            .to_str()
            .ok()
            .and_then(|text| text.parse::<i32>().ok())
            .map_or(tonic::Code::Unknown, tonic::Code::from_i32)
    })
}

pin_project_lite::pin_project! {
    /// The answer of [`Metered`].
    pub struct Answer<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }
}

impl<F, ResBody, E> Future for Answer<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<StdError>,
{
    type Output = Result<http::Response<tonic::body::Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = ready!(this.inner.poll(cx));
        let Some(mut call) = this.call.take() else {
            return Poll::Ready(answer.map(|response| response.map(tonic::body::Body::new)));
        };
        let response = match answer {
            Ok(response) => response,
            Err(error) => {
                call.finish(tonic::Code::Unknown);
                return Poll::Ready(Err(error));
            }
        };
        if let Some(code) = status_of(response.headers()) {
            call.finish(code);
            return Poll::Ready(Ok(response.map(tonic::body::Body::new)));
        }
        if response.body().is_end_stream() {
            // An answer without a status and without a body to bring one.
            call.finish(tonic::Code::Unknown);
            return Poll::Ready(Ok(response.map(tonic::body::Body::new)));
        }
        Poll::Ready(Ok(response.map(|body| {
            tonic::body::Body::new(MeteredBody {
                inner: body,
                call: Some(call),
            })
        })))
    }
}

pin_project_lite::pin_project! {
    /// An answer's body that counts its call when the trailers or the end pass through.
    struct MeteredBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }
}

impl<B: Body> Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        let code = match &frame {
            Some(Ok(frame)) => frame
                .trailers_ref()
                .map(|trailers| status_of(trailers).unwrap_or(tonic::Code::Unknown)),
            Some(Err(_)) => Some(tonic::Code::Unknown),
            // The end without trailers: no status was sent.
            None => Some(tonic::Code::Unknown),
        };
        if let Some(code) = code
            && let Some(mut call) = this.call.take()
        {
            call.finish(code);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use http_body_util::BodyExt as _;
    use tower::{Layer as _, ServiceExt as _};

    use super::*;

    const PATH: &str = "/trustregistry.v1.LogService/GetCheckpoint";

    /// A body that yields its frames, then ends; or, if `stalls`, waits for ever after them.
    struct Scripted {
        frames: VecDeque<Frame<Bytes>>,
        stalls: bool,
    }

    impl Body for Scripted {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            match self.frames.pop_front() {
                Some(frame) => Poll::Ready(Some(Ok(frame))),
                None if self.stalls => Poll::Pending,
                None => Poll::Ready(None),
            }
        }

        fn is_end_stream(&self) -> bool {
            self.frames.is_empty() && !self.stalls
        }
    }

    fn trailers(code: i32) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        map.insert("grpc-status", code.to_string().parse().unwrap());
        map
    }

    /// A service answering every call with headers `headers` and a body of `frames`.
    fn answering(
        metrics: &Arc<Metrics>,
        headers: http::HeaderMap,
        frames: Vec<Frame<Bytes>>,
        stalls: bool,
    ) -> Metered<tower::util::BoxService<http::Request<()>, http::Response<Scripted>, std::convert::Infallible>>
    {
        let frames = std::sync::Mutex::new(Some(frames));
        let service = tower::service_fn(move |_: http::Request<()>| {
            let mut response = http::Response::new(Scripted {
                frames: frames.lock().unwrap().take().unwrap_or_default().into(),
                stalls,
            });
            *response.headers_mut() = headers.clone();
            std::future::ready(Ok::<_, std::convert::Infallible>(response))
        });
        MetricsLayer::new(Some(metrics.clone())).layer(tower::util::BoxService::new(service))
    }

    fn request() -> http::Request<()> {
        http::Request::builder().uri(PATH).body(()).unwrap()
    }

    /// The value of `series` in the metrics as they stand, if it has one.
    fn sample(metrics: &Metrics, series: &str) -> Option<String> {
        let prefix = format!("{series} ");
        metrics
            .encode()
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()).map(str::to_owned))
    }

    fn count(metrics: &Metrics, code: &str) -> Option<String> {
        sample(
            metrics,
            &format!("trust_registry_calls_total{{method=\"{PATH}\",code=\"{code}\"}}"),
        )
    }

    fn in_flight(metrics: &Metrics) -> String {
        sample(metrics, "trust_registry_calls_in_flight").expect("the in-flight gauge")
    }

    #[tokio::test]
    async fn a_call_is_counted_with_the_status_of_its_trailers_once_they_pass() {
        let metrics = Arc::new(Metrics::new());
        let frames = vec![
            Frame::data(Bytes::from_static(b"answer")),
            Frame::trailers(trailers(5)),
        ];
        let response = answering(&metrics, http::HeaderMap::new(), frames, false)
            .oneshot(request())
            .await
            .unwrap();
        assert_eq!(in_flight(&metrics), "1", "answered headers, not yet its trailers");
        assert_eq!(count(&metrics, "NOT_FOUND"), None);
        let collected = response.into_body().collect().await.unwrap();
        assert_eq!(collected.trailers().unwrap()["grpc-status"], "5");
        assert_eq!(count(&metrics, "NOT_FOUND").as_deref(), Some("1"));
        assert_eq!(in_flight(&metrics), "0");
    }

    #[tokio::test]
    async fn a_status_in_the_headers_is_counted_at_once() {
        let metrics = Arc::new(Metrics::new());
        let response = answering(&metrics, trailers(3), Vec::new(), false)
            .oneshot(request())
            .await
            .unwrap();
        assert_eq!(count(&metrics, "INVALID_ARGUMENT").as_deref(), Some("1"));
        drop(response);
        assert_eq!(count(&metrics, "CANCELLED"), None, "counted twice");
        assert_eq!(in_flight(&metrics), "0");
    }

    #[tokio::test]
    async fn an_answer_dropped_before_its_end_is_counted_cancelled() {
        let metrics = Arc::new(Metrics::new());
        let frames = vec![Frame::data(Bytes::from_static(b"first part"))];
        let response = answering(&metrics, http::HeaderMap::new(), frames, true)
            .oneshot(request())
            .await
            .unwrap();
        let mut body = response.into_body();
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "first part");
        assert_eq!(in_flight(&metrics), "1");
        drop(body);
        assert_eq!(count(&metrics, "CANCELLED").as_deref(), Some("1"));
        assert_eq!(in_flight(&metrics), "0");
    }

    #[tokio::test]
    async fn an_answer_that_ends_without_a_status_is_unknown() {
        let metrics = Arc::new(Metrics::new());
        let frames = vec![Frame::data(Bytes::from_static(b"no trailers"))];
        let response = answering(&metrics, http::HeaderMap::new(), frames, false)
            .oneshot(request())
            .await
            .unwrap();
        response.into_body().collect().await.unwrap();
        assert_eq!(count(&metrics, "UNKNOWN").as_deref(), Some("1"));
        assert_eq!(count(&metrics, "OK"), None);
    }

    #[tokio::test]
    async fn without_metrics_answers_pass_through_uncounted() {
        let service = tower::service_fn(|_: http::Request<()>| {
            let mut response = http::Response::new(Scripted {
                frames: vec![
                    Frame::data(Bytes::from_static(b"x")),
                    Frame::trailers(trailers(0)),
                ]
                .into(),
                stalls: false,
            });
            response.headers_mut().insert("x-kept", "yes".parse().unwrap());
            std::future::ready(Ok::<_, std::convert::Infallible>(response))
        });
        let response = MetricsLayer::new(None)
            .layer(service)
            .oneshot(request())
            .await
            .unwrap();
        assert_eq!(response.headers()["x-kept"], "yes");
        let collected = response.into_body().collect().await.unwrap();
        assert_eq!(collected.trailers().unwrap()["grpc-status"], "0");
    }
}

//! Tracing set-up: `RUST_LOG` filter (default `info`), text or JSON lines on stderr.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// `default_level` applies when RUST_LOG is unset: `info` for the server, `warn` for commands.
pub fn init(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    // A second init (as in tests) keeps the first subscriber.
    let _ = result;
}

/// How loudly a call that ended with `code` is logged. A caller's mistake (a malformed or
/// refused request, an unknown id) is not the server's failure: logged at ERROR it would page
/// whoever watches the logs for every bad request an anonymous client sends. Refused
/// credentials and limits reached are worth a warning; only what the server failed to do is an
/// error.
pub fn failure_level(code: tonic::Code) -> tracing::Level {
    use tonic::Code::*;
    match code {
        Ok | Cancelled | InvalidArgument | NotFound | AlreadyExists | FailedPrecondition | OutOfRange => {
            tracing::Level::DEBUG
        }
        Unauthenticated | PermissionDenied | ResourceExhausted | DeadlineExceeded => tracing::Level::WARN,
        Unknown | Aborted | Unimplemented | Internal | Unavailable | DataLoss => tracing::Level::ERROR,
    }
}

/// Logs a call that failed, at [`failure_level`] of its status (a transport error is an
/// error).
pub fn log_failure(
    class: tower_http::classify::GrpcFailureClass,
    latency: std::time::Duration,
    _span: &tracing::Span,
) {
    use tower_http::classify::GrpcFailureClass;
    let latency_us = latency.as_micros() as u64;
    let code = match class {
        GrpcFailureClass::Code(code) => tonic::Code::from_i32(code.get()),
        GrpcFailureClass::Error(error) => {
            tracing::error!(%error, latency_us, "call failed");
            return;
        }
    };
    let status = code.description();
    match failure_level(code) {
        tracing::Level::ERROR => tracing::error!(status, latency_us, "call failed"),
        tracing::Level::WARN => tracing::warn!(status, latency_us, "call refused"),
        _ => tracing::debug!(status, latency_us, "call refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_failures_are_errors() {
        use tonic::Code::*;
        for code in [
            InvalidArgument,
            NotFound,
            AlreadyExists,
            FailedPrecondition,
            OutOfRange,
            Cancelled,
        ] {
            assert_eq!(failure_level(code), tracing::Level::DEBUG, "{code:?}");
        }
        for code in [
            Unauthenticated,
            PermissionDenied,
            ResourceExhausted,
            DeadlineExceeded,
        ] {
            assert_eq!(failure_level(code), tracing::Level::WARN, "{code:?}");
        }
        for code in [Internal, Unavailable, DataLoss, Unknown, Unimplemented, Aborted] {
            assert_eq!(failure_level(code), tracing::Level::ERROR, "{code:?}");
        }
    }
}

//! Cross-origin calls from browsers. A web wallet or verifier page calls the registry with
//! gRPC-Web from its own origin, so the browser first asks (a CORS preflight) whether that
//! origin may, and lets the page read the answer's `grpc-status` only if the answer says so.
//!
//! Any origin may by default: the registry keeps no cookies or other ambient credentials (a
//! write is authorised by the signature inside it, wherever it is sent from), so a page on
//! another origin can do nothing through a visitor's browser that it could not do directly.
//! An operator who wants only some pages to call it lists their origins.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Request headers a gRPC-Web client sends beyond the CORS-safe ones.
const ALLOWED_HEADERS: [&str; 5] = [
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "grpc-accept-encoding",
];

/// Response headers a page may read: the call's status, travelling as headers when the answer
/// has no body (a refusal), and the encoding.
const EXPOSED_HEADERS: [&str; 4] = [
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "grpc-encoding",
];

/// The origins whose pages may call the registry from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Every origin (`*`).
    Any,
    /// Only these, each `scheme://host[:port]` as browsers send it.
    List(Vec<HeaderValue>),
}

/// What an origin in the list must look like, and why.
const ORIGIN_RULE: &str = "each origin is http:// or https:// and a host with an optional port, \
without a path or a trailing '/', as browsers send it (e.g. https://wallet.example.org); or * for any";

impl std::str::FromStr for AllowedOrigins {
    type Err = String;

    /// Reads `*` or a comma-separated list of origins.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim() == "*" {
            return Ok(AllowedOrigins::Any);
        }
        let origins = text
            .split(',')
            .map(str::trim)
            .map(|origin| {
                origin_value(origin).ok_or_else(|| format!("{origin:?} is not an origin: {ORIGIN_RULE}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AllowedOrigins::List(origins))
    }
}

/// `origin` as a header value when it is exactly `scheme://host[:port]`.
fn origin_value(origin: &str) -> Option<HeaderValue> {
    let uri: http::Uri = origin.parse().ok()?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let host_ok = uri
        .authority()
        .is_some_and(|a| !a.host().is_empty() && !a.as_str().contains('@'));
    // `Uri` gives "/" as the path of both "https://a" and "https://a/": compare the text.
    let exact = uri
        .scheme()
        .zip(uri.authority())
        .map(|(s, a)| format!("{s}://{a}"))
        .as_deref()
        == Some(origin);
    if !(scheme_ok && host_ok && exact) {
        return None;
    }
    HeaderValue::from_str(origin).ok()
}

/// The CORS layer for `origins`: preflights answered, the gRPC status headers exposed.
pub fn layer(origins: &AllowedOrigins) -> CorsLayer {
    let allow_origin = match origins {
        AllowedOrigins::Any => AllowOrigin::any(),
        AllowedOrigins::List(list) => AllowOrigin::list(list.iter().cloned()),
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::POST])
        .allow_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
        .expose_headers(EXPOSED_HEADERS.map(HeaderName::from_static))
        .max_age(PREFLIGHT_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_read_as_browsers_send_them() {
        assert_eq!("*".parse::<AllowedOrigins>(), Ok(AllowedOrigins::Any));
        assert_eq!(
            "https://wallet.example.org, http://localhost:8080".parse::<AllowedOrigins>(),
            Ok(AllowedOrigins::List(vec![
                HeaderValue::from_static("https://wallet.example.org"),
                HeaderValue::from_static("http://localhost:8080"),
            ]))
        );
        for bad in [
            "https://wallet.example.org/",
            "https://wallet.example.org/verify",
            "wallet.example.org",
            "ftp://wallet.example.org",
            "https://user@wallet.example.org",
            "",
            "https://a.example, *",
        ] {
            let error = bad.parse::<AllowedOrigins>().expect_err(bad);
            assert!(error.contains("is not an origin"), "{bad}: {error}");
        }
    }
}

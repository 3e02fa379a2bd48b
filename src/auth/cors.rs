//! CORS between a public domain's own origins: the headers that let one of them read a
//! response with the user's session, and the answer to a preflight. Which origin qualifies
//! is `gate`'s decision. Pure.

use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Headers that let `origin` read this response with credentials.
pub(crate) fn cors_headers(origin: &str) -> Vec<(HeaderName, String)> {
    vec![
        (
            http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
            origin.to_string(),
        ),
        (
            http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            "true".into(),
        ),
        (http::header::VARY, "Origin".into()),
    ]
}

/// The answer to a CORS preflight from one of the domain's own origins.
pub(crate) fn preflight_headers(origin: &str, headers: &HeaderMap) -> Vec<(HeaderName, String)> {
    let asked = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let mut out = cors_headers(origin);
    let method = asked(http::header::ACCESS_CONTROL_REQUEST_METHOD);
    out.push((
        http::header::ACCESS_CONTROL_ALLOW_METHODS,
        if method.is_empty() {
            "GET, POST, PUT, PATCH, DELETE, OPTIONS".into()
        } else {
            method
        },
    ));
    let wanted = asked(http::header::ACCESS_CONTROL_REQUEST_HEADERS);
    if !wanted.is_empty() {
        out.push((http::header::ACCESS_CONTROL_ALLOW_HEADERS, wanted));
    }
    out.push((http::header::ACCESS_CONTROL_MAX_AGE, "600".into()));
    out
}

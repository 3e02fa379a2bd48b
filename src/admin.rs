//! The admin listener (loopback only): `/healthz`, `/metrics`, `/caddy/ask?domain=NAME`.

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::metrics::METRICS;
use crate::proxy::{decide, App};

pub struct Admin(pub Arc<App>);

#[async_trait]
impl ServeHttp for Admin {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let uri = session.req_header().uri.clone();
        let (status, content_type, body) = match uri.path() {
            "/healthz" => (200, "text/plain", "ok\n".to_string()),
            "/metrics" => (200, "text/plain; version=0.0.4", METRICS.render()),
            "/caddy/ask" => match query_param(uri.query().unwrap_or(""), "domain") {
                None => (400, "text/plain", "missing ?domain=NAME\n".to_string()),
                // Caddy asks before it obtains a certificate: only names we would serve.
                Some(domain) => match decide(&self.0, &domain).await {
                    Ok(_) => (200, "text/plain", format!("ok: {domain}\n")),
                    Err(page) => (
                        403,
                        "text/plain",
                        page.render(crate::proxy::pages::Format::Text).body,
                    ),
                },
            },
            _ => (
                404,
                "text/plain",
                "not found: try /healthz, /metrics or /caddy/ask?domain=NAME\n".to_string(),
            ),
        };
        Response::builder()
            .status(status)
            .header("content-type", content_type)
            .header("content-length", body.len())
            .header("cache-control", "no-store")
            .body(body.into_bytes())
            .expect("static response parts are valid")
    }
}

/// The first `name=value` in a query string, percent-decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_query_params() {
        assert_eq!(
            query_param("domain=5173.localhost", "domain").as_deref(),
            Some("5173.localhost")
        );
        assert_eq!(
            query_param("x=1&domain=a%2Eb", "domain").as_deref(),
            Some("a.b")
        );
        assert_eq!(query_param("domain", "domain"), None);
        assert_eq!(query_param("", "domain"), None);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}

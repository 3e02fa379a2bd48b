//! The admin listener (loopback only): `/healthz`, `/metrics`, `/caddy/ask?domain=NAME`.

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::form;
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
            "/caddy/ask" => match form::param(uri.query().unwrap_or(""), "domain") {
                None => (400, "text/plain", "missing ?domain=NAME\n".to_string()),
                // Caddy asks before it obtains a certificate: only names we would serve.
                Some(domain) => match decide(&self.0, &self.0.config(), &domain).await {
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

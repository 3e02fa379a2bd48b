//! The admin listener (loopback only): `/healthz`, `/metrics`, `/caddy/ask?domain=NAME`.

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::config::Config;
use crate::form;
use crate::metrics::METRICS;
use crate::policy::{self, AllowRule};
use crate::ports;
use crate::proxy::App;
use crate::route::{self, Route, Target};

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
                // Caddy asks before it obtains a certificate: only names people visit.
                Some(domain) => match approves(&domain, &self.0.config(), &ports::listening()) {
                    Ok(()) => (200, "text/plain", format!("ok: {domain}\n")),
                    Err(reason) => (403, "text/plain", format!("{domain}: {reason}\n")),
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

/// Whether Caddy may obtain a certificate for `name`. Each approval on a public domain is a
/// certificate order (Let's Encrypt allows 50 per registered domain a week, and every name
/// lands in the public CT logs), and on a shared listener a remote client could have Caddy
/// mint local ones at will, so the set is bounded: the dashboard; `PORT.domain` and
/// `localhost--PORT.domain` of a port that is listening, public or labelled; `HOST--PORT.domain`
/// only for a host named exactly in `allow_hosts` (wildcards and CIDRs would be unbounded).
pub fn approves(name: &str, config: &Config, listening: &[u16]) -> Result<(), String> {
    let route = route::parse(name, &config.settings.domains).map_err(|e| e.to_string())?;
    let (target, port, domain) = match route {
        Route::Dashboard { .. } => return Ok(()),
        Route::Forward {
            target,
            port,
            domain,
        } => (target, port, domain),
    };
    config
        .policy
        .check(&target, port)
        .map_err(|refusal| format!("refused: {refusal}"))?;
    let name = route::normalize(name).map_err(|e| e.to_string())?;
    match &target {
        Target::Localhost => {
            let canonical = [
                format!("{port}.{domain}"),
                format!("localhost--{port}.{domain}"),
            ];
            if !canonical.contains(&name) {
                return Err(format!("not a canonical name; use {port}.{domain}"));
            }
            let visited = listening.contains(&port)
                || policy::is_public(&config.settings.public_ports, &Target::Localhost, port)
                || config.settings.labels.contains_key(&port);
            if !visited {
                return Err(format!(
                    "nothing listens on port {port}, and it is neither public nor labelled"
                ));
            }
            Ok(())
        }
        Target::Name(host) => {
            let named = config
                .policy
                .allow_hosts
                .iter()
                .any(|rule| matches!(rule, AllowRule::Name(n) if n == host));
            if named {
                Ok(())
            } else {
                Err(format!("{host} is not named exactly in allow_hosts"))
            }
        }
        Target::Ip(_) => Err("certificates are issued only for names, not addresses".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn config() -> Config {
        let mut settings = Settings::default();
        settings.domains = vec!["localhost".into(), "dev.example.com".into()];
        settings.allow_hosts = ["db.internal", "*.corp.example", "10.0.0.0/8"]
            .map(|rule| rule.parse().unwrap())
            .to_vec();
        settings.public_ports = vec!["9000".parse().unwrap()];
        settings.labels = [(7000, "docs".to_string())].into();
        settings.no_auth = true;
        Config::new(settings, None, None)
    }

    /// Finding: the ask endpoint approved closed ports and endless aliases of one port.
    #[test]
    fn ask_approves_only_names_people_visit() {
        let config = config();
        let listening = [5173, 22];
        let rows = [
            ("dev.example.com", true),
            ("localhost", true),
            ("5173.dev.example.com", true),
            ("localhost--5173.dev.example.com", true),
            ("5173.localhost", true),
            ("9000.dev.example.com", true),
            ("7000.dev.example.com", true),
            ("db.internal--5432.dev.example.com", true),
            ("5174.dev.example.com", false),
            ("61234.localhost", false),
            ("127-0-0-1--5173.dev.example.com", false),
            ("127-9-8-7--61234.dev.example.com", false),
            ("x.corp.example--443.dev.example.com", false),
            ("10-0-0-1--80.dev.example.com", false),
            ("22.dev.example.com", false),
            ("evil.example", false),
            ("a.b.5173.dev.example.com", false),
        ];
        for (name, ok) in rows {
            assert_eq!(
                approves(name, &config, &listening).is_ok(),
                ok,
                "{name}: {:?}",
                approves(name, &config, &listening)
            );
        }
    }
}

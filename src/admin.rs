//! The admin listener (loopback only): `/healthz`, `/metrics`, `/caddy/ask?domain=NAME`, and
//! the control channel `/control/*` for this user's commands (`control`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::config::Config;
use crate::control;
use crate::form;
use crate::metrics::METRICS;
use crate::names::Table;
use crate::policy;
use crate::proxy::named::Lookup;
use crate::proxy::share::{make_public, open_off_thread, read_json};
use crate::proxy::App;
use crate::route::{self, Route, Target};
use crate::share::{self, registry::Which};

pub(crate) struct Admin {
    pub(crate) app: Arc<App>,
    /// The control channel's secret, as published in `instance.json`.
    pub(crate) secret: String,
}

#[async_trait]
impl ServeHttp for Admin {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let uri = session.req_header().uri.clone();
        let host = session
            .req_header()
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let port = self.app.config().settings.admin.port();
        let mut proof = None;
        let (status, content_type, body) = match uri.path() {
            // A DNS-rebound page names its own host: it reads nothing here.
            _ if !addressed_by_loopback(host.as_deref(), port) => (
                403,
                "text/plain",
                format!("the admin listener answers only 127.0.0.1:{port}, localhost:{port} and [::1]:{port}\n"),
            ),
            path if path.starts_with("/control/") => {
                let (answer, signed) = self.authorized_control(session, host.as_deref()).await;
                proof = signed;
                answer
            }
            "/healthz" => (200, "text/plain", "ok\n".to_string()),
            "/metrics" => (200, "text/plain; version=0.0.4", METRICS.render()),
            "/caddy/ask" => match form::param(uri.query().unwrap_or(""), "domain") {
                None => (400, "text/plain", "missing ?domain=NAME\n".to_string()),
                // Caddy asks before it obtains a certificate: only names people visit.
                Some(domain) => match self.ask(&domain).await {
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
        reply(status, content_type, body, proof)
    }
}

/// The response, with the control channel's proof when there is one.
fn reply(
    status: u16,
    content_type: &str,
    body: String,
    proof: Option<String>,
) -> Response<Vec<u8>> {
    let mut response = Response::builder();
    if let Some(proof) = proof {
        response = response.header(control::PROOF, proof);
    }
    response
        .status(status)
        .header("content-type", content_type)
        .header("content-length", body.len())
        .header("cache-control", "no-store")
        .body(body.into_bytes())
        .expect("static response parts are valid")
}

/// A JSON answer.
fn json(status: u16, value: serde_json::Value) -> (u16, &'static str, String) {
    (status, "application/json", format!("{value}\n"))
}

/// Whether the request names this listener by a loopback address or `localhost`, with its
/// port, as curl, Caddy's `ask` and the health checks do.
fn addressed_by_loopback(host: Option<&str>, port: u16) -> bool {
    let Some((name, Some(given))) = host.map(route::split_port) else {
        return false;
    };
    route::is_loopback_name(name) && given == port.to_string()
}

/// How old a look at the ports `/caddy/ask` may use: Caddy asks right after the visit that
/// needs the certificate.
const ASK_FRESH: Duration = Duration::from_millis(250);

impl Admin {
    /// `/caddy/ask`, on a look at the ports at most `ASK_FRESH` old.
    async fn ask(&self, domain: &str) -> Result<(), String> {
        let config = self.app.config();
        let now = self.app.names.snapshot(&config, ASK_FRESH).await;
        approves(domain, &config, &now.listening, &now.names)
    }

    /// `/control/url?name=NAME`: the name's URL and port while one listening port answers to
    /// it.
    async fn name_url(&self, name: &str) -> (u16, &'static str, String) {
        let config = self.app.config();
        match self.app.names.lookup(&config, name).await {
            Lookup::Port(port) => json(
                200,
                serde_json::json!({ "url": config.served_url(name), "port": port }),
            ),
            Lookup::Clash(claims) => {
                let ports: Vec<String> = claims.iter().map(|c| c.port.to_string()).collect();
                (
                    409,
                    "text/plain",
                    format!(
                        "several projects are called `{name}`: use a port ({})\n",
                        ports.join(", ")
                    ),
                )
            }
            Lookup::Gone(_) => (
                404,
                "text/plain",
                format!("no listening port is called `{name}` (`portproxy ls` lists the names)\n"),
            ),
        }
    }

    /// A `/control/*` request if `control::authorize` lets it through, and the proof of this
    /// listener's secret when the command asked for one.
    async fn authorized_control(
        &self,
        session: &mut ServerSession,
        host: Option<&str>,
    ) -> ((u16, &'static str, String), Option<String>) {
        let req = session.req_header();
        let authorization = req
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let asked = req
            .uri
            .path_and_query()
            .map_or(req.uri.path(), |p| p.as_str());
        let method = req.method.as_str();
        match control::authorize(host, authorization, method, asked, &self.secret) {
            Err(denied) => ((denied.status(), "text/plain", format!("{denied}\n")), None),
            Ok(nonce) => {
                let proof = nonce.map(|nonce| control::proof(&self.secret, &nonce));
                (self.control(session).await, proof)
            }
        }
    }

    /// A `/control/*` request, once `control::authorize` let it through.
    async fn control(&self, session: &mut ServerSession) -> (u16, &'static str, String) {
        let req = session.req_header();
        let method = req.method.as_str().to_string();
        let path = req.uri.path().to_string();
        let query = req.uri.query().unwrap_or("").to_string();
        match (method.as_str(), path.as_str()) {
            ("GET", "/control/instance") => json(
                200,
                serde_json::json!({ "pid": std::process::id(), "version": env!("CARGO_PKG_VERSION") }),
            ),
            // What `portproxy ls`, `url` and `open` print: what this instance serves.
            ("GET", "/control/ports") => {
                let config = self.app.config();
                let rows = self
                    .app
                    .port_rows(|label| config.served_url(label), true)
                    .await;
                json(200, serde_json::json!({ "ports": rows }))
            }
            ("GET", "/control/url") => match form::param(&query, "name") {
                Some(name) => self.name_url(&name).await,
                None => self.port_url(&query),
            },
            ("GET", "/control/shares") => json(200, self.shares_now()),
            ("POST", "/control/shares") => self.open_share(session).await,
            ("POST", "/control/public") => self.make_port_public(session).await,
            ("DELETE", "/control/shares") => self.revoke(&query),
            (method, path) => (
                404,
                "text/plain",
                format!("no control endpoint {method} {path}\n"),
            ),
        }
    }

    /// `/control/url?port=PORT`: the port's URL.
    fn port_url(&self, query: &str) -> (u16, &'static str, String) {
        match form::param(query, "port").map(|p| p.parse::<u16>()) {
            Some(Ok(port)) if port != 0 => json(
                200,
                serde_json::json!({
                    "url": self.app.config().served_url(&port.to_string()),
                    "port": port,
                }),
            ),
            _ => (
                400,
                "text/plain",
                "give ?port=PORT (1-65535) or ?name=NAME\n".into(),
            ),
        }
    }

    /// `POST /control/shares` (`portproxy share PORT`): a new share link.
    async fn open_share(&self, session: &mut ServerSession) -> (u16, &'static str, String) {
        let request: share::Request = match read_json(session).await {
            Ok(request) => request,
            Err(message) => return (400, "text/plain", message),
        };
        match open_off_thread(self.app.clone(), request).await {
            Ok(listed) => json(201, serde_json::json!(listed)),
            Err(e) => (e.status(), "text/plain", format!("{e}\n")),
        }
    }

    /// `POST /control/public` (`portproxy share --public PORT`): the port public for a while.
    async fn make_port_public(&self, session: &mut ServerSession) -> (u16, &'static str, String) {
        let request: share::Request = match read_json(session).await {
            Ok(request) => request,
            Err(message) => return (400, "text/plain", message),
        };
        match make_public(&self.app, &request) {
            Ok(()) => json(200, self.shares_now()),
            Err(message) => (403, "text/plain", format!("{message}\n")),
        }
    }

    /// `DELETE /control/shares` (`?id=ID`, `?port=PORT`, or neither: all), for `share --revoke`
    /// and `unshare`.
    fn revoke(&self, query: &str) -> (u16, &'static str, String) {
        let which = match Which::from_query(query) {
            Ok(which) => which,
            Err(message) => return (400, "text/plain", format!("{message}\n")),
        };
        match self.app.shares.revoke(&which, SystemTime::now()) {
            Ok(ended) => json(200, serde_json::json!({ "ended": ended })),
            Err(message) => (404, "text/plain", format!("{message}\n")),
        }
    }

    /// The live shares and the ports public for a while.
    fn shares_now(&self) -> serde_json::Value {
        let now = SystemTime::now();
        let shares = &self.app.shares;
        serde_json::json!({
            "shares": shares.list(now),
            "public": shares.public_ports(now),
        })
    }
}

/// Whether Caddy may obtain a certificate for `name`. Each approval on a public domain is a
/// certificate order (Let's Encrypt allows 50 per registered domain a week, and every name
/// lands in the public CT logs), and on a shared listener a remote client could have Caddy
/// mint local ones at will, so the set is bounded by what the user listed: the dashboard;
/// `PORT.domain` of a port that is listening, public or labelled; `HOST--PORT.domain` only for
/// a `HOST:PORT` named in `public_ports`; `NAME.domain` only while a port answers to the name.
/// One canonical name each (`localhost--5173` and `127-0-0-1--5173` are the same port: not
/// approved).
pub(crate) fn approves(
    name: &str,
    config: &Config,
    listening: &[u16],
    names: &Table,
) -> Result<(), String> {
    let route = route::parse(name, &config.settings.domains).map_err(|e| e.to_string())?;
    let (target, port, domain) = match route {
        Route::Dashboard { .. } => return Ok(()),
        Route::Name { name, .. } => {
            return match names.get(&name) {
                Some(_) => Ok(()),
                None => Err(format!("no listening port is called {name}")),
            }
        }
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
    let canonical = match &target {
        Target::Localhost => format!("{port}.{domain}"),
        Target::Ip(ip) => format!("{}--{port}.{domain}", ip.to_string().replace('.', "-")),
        Target::Name(host) => format!("{host}--{port}.{domain}"),
    };
    if route::normalize(name).map_err(|e| e.to_string())? != canonical {
        return Err(format!("not a canonical name; use {canonical}"));
    }
    let public = policy::rules::is_public(&config.settings.public_ports, &target, port);
    match target {
        Target::Localhost => {
            let visited = listening.contains(&port)
                || public
                || config.settings.labels.contains_key(&port);
            if !visited {
                return Err(format!(
                    "nothing listens on port {port}, and it is neither public nor labelled"
                ));
            }
            Ok(())
        }
        _ if public => Ok(()),
        target => Err(format!(
            "{target}:{port} is not listed in public_ports (for other hosts' ports use --tls dns:PROVIDER or --tls internal)"
        )),
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
        settings.public_ports = ["9000", "db.internal:5432", "10.0.0.9:8080"]
            .map(|p| p.parse().unwrap())
            .to_vec();
        settings.labels = [(7000, "docs".to_string())].into();
        settings.no_auth = true;
        Config::new(settings, None, None)
    }

    /// Finding 10 (issue 23): the admin listener answered any Host, so a DNS-rebound page
    /// read `/metrics` and used `/caddy/ask` as an oracle.
    #[test]
    fn finding_10_admin_answers_only_its_loopback_names() {
        let rows = [
            (Some("127.0.0.1:24307"), true),
            (Some("localhost:24307"), true),
            (Some("LOCALHOST:24307"), true),
            (Some("[::1]:24307"), true),
            (Some("127.0.0.2:24307"), true),
            (Some("127.0.0.1:24306"), false),
            (Some("127.0.0.1"), false),
            (Some("evil.example:24307"), false),
            (Some("rebind.evil.example"), false),
            (Some("localhost.evil.example:24307"), false),
            (Some("[::2]:24307"), false),
            (Some(""), false),
            (None, false),
        ];
        for (host, ok) in rows {
            assert_eq!(addressed_by_loopback(host, 24307), ok, "{host:?}");
        }
    }

    /// Finding: the ask endpoint approved closed ports and endless aliases of one port.
    /// Finding 7 (issue 23): it approved every port of an exact `allow_hosts` name, and two
    /// names per listening port.
    #[test]
    fn ask_approves_only_names_people_visit() {
        let config = config();
        let listening = [5173, 22];
        let project = crate::names::Project {
            name: Some("shop-web".into()),
            root: "/src/shop-web".into(),
            ..Default::default()
        };
        let names = Table::build(&[(5173, Some(project))], &config.names);
        let rows = [
            ("dev.example.com", true),
            ("localhost", true),
            ("5173.dev.example.com", true),
            ("5173.localhost", true),
            ("9000.dev.example.com", true),
            ("7000.dev.example.com", true),
            ("db.internal--5432.dev.example.com", true),
            ("10-0-0-9--8080.dev.example.com", true),
            ("localhost--5173.dev.example.com", false),
            ("db.internal--5433.dev.example.com", false),
            ("db.internal--1.dev.example.com", false),
            ("10.0.0.9--8080.dev.example.com", false),
            ("5174.dev.example.com", false),
            ("61234.localhost", false),
            ("127-0-0-1--5173.dev.example.com", false),
            ("127-9-8-7--61234.dev.example.com", false),
            ("x.corp.example--443.dev.example.com", false),
            ("10-0-0-1--80.dev.example.com", false),
            ("22.dev.example.com", false),
            ("evil.example", false),
            ("a.b.5173.dev.example.com", false),
            // Names only while they exist (a label names its port even before it listens).
            ("shop-web.localhost", true),
            ("shop-web.dev.example.com", true),
            ("docs.dev.example.com", true),
            ("feature-login.shop-web.localhost", false),
            ("other.dev.example.com", false),
        ];
        for (name, ok) in rows {
            assert_eq!(
                approves(name, &config, &listening, &names).is_ok(),
                ok,
                "{name}: {:?}",
                approves(name, &config, &listening, &names)
            );
        }
    }
}

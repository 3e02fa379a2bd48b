//! The Pingora glue: each phase asks a pure module what to do and does it.

pub mod dial;
pub mod headers;
pub mod pages;
pub mod signin;

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use log::{info, warn};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorSource, ErrorType, Result};

use crate::config::Config;
use crate::gate::{self, Action, Client};
use crate::metrics::METRICS;
use crate::policy;
use crate::ports;
use crate::route::{self, Route, Target};
use crate::title::{self, Scan, Titles, Watch};
use dial::{Families, Forward};
use headers::{Edit, Forwarding};
use pages::{Format, Page, PortLink};

/// Beyond loopback a dead machine should not hold a request for minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Under Node's 5 s keepAliveTimeout, so a pooled connection is dropped before Node drops it.
const POOL_IDLE: Duration = Duration::from_secs(4);

/// What the proxy and the admin listener share.
pub struct App {
    /// Swapped whole on reload; a request keeps the settings it started with.
    config: RwLock<Arc<Config>>,
    families: Families,
    limiter: crate::auth::Limiter,
    /// Page titles learnt from proxied HTML, for the dashboard.
    titles: Titles,
}

impl App {
    pub fn new(config: Config) -> Self {
        App {
            config: RwLock::new(Arc::new(config)),
            families: Families::default(),
            limiter: crate::auth::Limiter::default(),
            titles: Titles::default(),
        }
    }

    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn replace_config(&self, config: Config) {
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
    }
}

/// The `ProxyHttp` implementation.
pub struct PortProxy(pub Arc<App>);

/// Per-request state: what `request_filter` learnt once, for the later phases.
pub struct Ctx {
    started: Instant,
    counted: bool,
    /// The host as the client named it.
    host: String,
    /// The base domain it matched.
    domain: String,
    /// `http` or `https`, as the client used it.
    scheme: &'static str,
    client: Client,
    format: Format,
    /// The client may see lists of ports and domains (local, or signed in).
    privileged: bool,
    /// The chosen upstream and how the request looks to it.
    upstream: Option<(Forward, Forwarding)>,
    attempt: usize,
    tunnel: bool,
    /// The settings snapshot this request runs on (its `auth` says which credentials to strip
    /// before forwarding): an `Arc`, so no per-request copy of the token.
    config: Option<Arc<Config>>,
    /// The loop guard's count as the request arrived.
    hops: u32,
    /// A private origin of the domain that gets CORS headers on the response.
    cors_origin: Option<String>,
    /// A local port's HTML response whose `<title>` is still to be read.
    title: Option<(u16, Watch)>,
}

impl Ctx {
    fn target(&self) -> String {
        self.upstream
            .as_ref()
            .map_or_else(String::new, |(f, _)| f.authority())
    }
}

/// The host a request names: the URI authority (HTTP/2, absolute-form) or the Host header.
fn request_host(req: &RequestHeader) -> &str {
    req.uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| {
            req.headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .unwrap_or("")
}

/// The peer's IP; None for a Unix-socket peer.
fn peer_ip(session: &Session) -> Option<IpAddr> {
    session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip())
}

/// `5173.localhost:24306` under `localhost` → `localhost:24306`: the dashboard's own authority.
fn base_authority(host: &str, domain: &str) -> String {
    match route::split_port(host) {
        (_, Some(port)) => format!("{domain}:{port}"),
        _ => domain.to_string(),
    }
}

/// A WebSocket upgrade (HMR, Jupyter kernels).
fn is_websocket(req: &RequestHeader) -> bool {
    req.headers
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

impl PortProxy {
    /// The listening ports, linked under `base`, with the process holding each; portproxy's
    /// and Caddy's own are left out. Empty for clients who may not see them. Reading `/proc`
    /// is blocking work, so it runs off the proxy's threads.
    async fn port_links(&self, ctx: &Ctx, base: &str) -> Vec<PortLink> {
        if !ctx.privileged {
            return Vec::new();
        }
        let (listening, holders) = tokio::task::spawn_blocking(ports::listening_and_holders)
            .await
            .unwrap_or_default();
        let titles = self.0.titles.of_listening(&listening);
        let url = |port| format!("{}://{port}.{base}/", ctx.scheme);
        PortLink::rows(&self.0.config(), listening, holders, titles, url)
    }

    /// The gate, then the dashboard or the target decision: Ok(forward) to proxy it, Err(())
    /// once an answer has been written.
    async fn route(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        config: &Config,
    ) -> Result<std::result::Result<Forward, ()>> {
        if ctx.hops >= headers::MAX_HOPS {
            let page = Page::Loop { hops: ctx.hops };
            return self.refuse(session, ctx, page).await.map(Err);
        }
        let route = match route::parse(&ctx.host, &config.settings.domains) {
            Ok(route) => route,
            Err(error) => {
                let req = &session.req_header().headers;
                let domains = if gate::privileged(ctx.client, req, config.auth.as_ref()) {
                    config.settings.domains.clone()
                } else {
                    Vec::new()
                };
                let page = Page::BadHost { error, domains };
                return self.refuse(session, ctx, page).await.map(Err);
            }
        };
        if !self.admit(session, ctx, config, &route).await? {
            return Ok(Err(()));
        }
        match route {
            Route::Dashboard { domain } => {
                self.dashboard(session, ctx, domain).await?;
                Ok(Err(()))
            }
            Route::Forward { target, port, .. } => {
                match dial::resolve(&config.policy, &self.0.families, target, port).await {
                    Ok(forward) => Ok(Ok(forward)),
                    Err(page) => self.refuse(session, ctx, page).await.map(Err),
                }
            }
        }
    }

    /// Asks the gate about this visit and carries out a refusal or a sign-in answer; true if
    /// the request may go on.
    async fn admit(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        config: &Config,
        route: &Route,
    ) -> Result<bool> {
        let public_ports = &config.settings.public_ports;
        let (domain, dashboard, public_port) = match route {
            Route::Dashboard { domain } => (domain.as_str(), true, false),
            Route::Forward {
                domain,
                target,
                port,
            } => (
                domain.as_str(),
                false,
                policy::is_public(public_ports, target, *port),
            ),
        };
        let req = session.req_header();
        let visit = gate::Visit {
            domain,
            host: &ctx.host,
            dashboard,
            public_port,
            public_ports,
            path: req.uri.path(),
            method: &req.method,
            scheme: ctx.scheme,
            client: ctx.client,
            browser: ctx.format == Format::Html,
        };
        match gate::check(&visit, &req.headers, config.auth.as_ref()) {
            Action::Pass {
                cors_origin,
                privileged,
            } => {
                ctx.cors_origin = cors_origin;
                ctx.privileged = privileged;
                ctx.domain = domain.to_string();
                Ok(true)
            }
            Action::LocalOnly => {
                let page = Page::LocalOnly {
                    host: ctx.host.clone(),
                };
                self.refuse(session, ctx, page).await?;
                Ok(false)
            }
            action => {
                // Only public domains with auth answer here.
                if let Some(auth) = &config.auth {
                    let public = self.public_side(session, ctx, domain);
                    signin::answer(session, action, auth, &self.0.limiter, &public).await?;
                }
                Ok(false)
            }
        }
    }

    /// The dashboard: the page, or `/api/ports` as JSON.
    async fn dashboard(&self, session: &mut Session, ctx: &Ctx, domain: String) -> Result<()> {
        let format = if session.req_header().uri.path() == "/api/ports" {
            Format::Json
        } else {
            ctx.format
        };
        let ports = self
            .port_links(ctx, &base_authority(&ctx.host, &domain))
            .await;
        send_page(session, &Page::Dashboard { domain, ports }, format).await
    }

    /// A title watch for this response, if it is a local port's HTML page.
    fn title_watch(
        &self,
        session: &Session,
        resp: &ResponseHeader,
        ctx: &Ctx,
    ) -> Option<(u16, Watch)> {
        let (forward, _) = ctx.upstream.as_ref()?;
        if forward.target != Target::Localhost {
            return None;
        }
        let header = |name| resp.headers.get(name).and_then(|v| v.to_str().ok());
        let encoding = title::worth_watching(
            session.req_header().method.as_str(),
            resp.status.as_u16(),
            header(http::header::CONTENT_TYPE),
            header(http::header::CONTENT_ENCODING),
        )?;
        Some((forward.port, Watch::new(encoding)))
    }

    fn public_side<'a>(&self, session: &Session, ctx: &Ctx, domain: &'a str) -> signin::Public<'a> {
        let path = session
            .req_header()
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str());
        signin::Public {
            domain,
            base_url: format!("{}://{}", ctx.scheme, base_authority(&ctx.host, domain)),
            url: format!("{}://{}{path}", ctx.scheme, ctx.host),
            secure: ctx.scheme == "https",
            format: ctx.format,
            client: ctx.client,
        }
    }

    /// Writes a refusal page and logs it.
    async fn refuse(&self, session: &mut Session, ctx: &Ctx, page: Page) -> Result<()> {
        METRICS.refused();
        info!(
            "refused {} {}{}: {} ({})",
            session.req_header().method,
            ctx.host,
            session.req_header().uri.path(),
            page.kind(),
            page.render(Format::Text).body.trim_end()
        );
        send_page(session, &page, ctx.format).await
    }
}

/// The head of one of our own pages.
fn page_head(rendered: &pages::Rendered) -> Result<ResponseHeader> {
    let mut resp = ResponseHeader::build(rendered.status, Some(4))?;
    resp.insert_header("content-type", rendered.content_type)?;
    resp.insert_header("content-length", rendered.body.len().to_string())?;
    resp.insert_header("cache-control", "no-store")?;
    for (name, value) in &rendered.headers {
        resp.insert_header(*name, value)?;
    }
    Ok(resp)
}

/// Writes one of our own pages.
async fn send_page(session: &mut Session, page: &Page, format: Format) -> Result<()> {
    let rendered = page.render(format);
    let resp = page_head(&rendered)?;
    session.write_response_header(Box::new(resp), false).await?;
    session
        .write_response_body(Some(Bytes::from(rendered.body)), true)
        .await
}

/// Writes one of our pages in place of the response a failed upstream didn't give; its status.
async fn send_error_page(session: &mut Session, page: &Page, format: Format) -> u16 {
    let rendered = page.render(format);
    if let Ok(resp) = page_head(&rendered) {
        let body = Bytes::from(rendered.body);
        let written = session.as_downstream_mut().write_error_response(resp, body);
        if let Err(err) = written.await {
            warn!("could not send the error page: {err}");
        }
    }
    page.status()
}

/// Pingora's request and response headers share no trait; this one lets a list of `Edit`s
/// apply to either, through their case-keeping setters.
trait Editable {
    fn apply(&mut self, edits: Vec<Edit>) -> Result<()>;
}

macro_rules! editable {
    ($header:ty) => {
        impl Editable for $header {
            fn apply(&mut self, edits: Vec<Edit>) -> Result<()> {
                for edit in edits {
                    match edit {
                        Edit::Set(name, value) => self.insert_header(name, value)?,
                        Edit::Append(name, value) => {
                            self.append_header(name, value)?;
                        }
                        Edit::Remove(name) => {
                            self.remove_header(&name);
                        }
                    }
                }
                Ok(())
            }
        }
    };
}

editable!(RequestHeader);
editable!(ResponseHeader);

#[async_trait]
impl ProxyHttp for PortProxy {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx {
            started: Instant::now(),
            counted: false,
            host: String::new(),
            domain: String::new(),
            scheme: "http",
            client: Client {
                ip: None,
                local: false,
            },
            format: Format::Text,
            privileged: false,
            upstream: None,
            attempt: 0,
            tunnel: false,
            config: None,
            hops: 0,
            cors_origin: None,
            title: None,
        }
    }

    /// No downstream modules: the default adds a (disabled) compression module whose
    /// per-request state costs time, and bodies must pass untouched anyway.
    fn init_downstream_modules(&self, _modules: &mut pingora::modules::http::HttpModules) {}

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        METRICS.request_started();
        ctx.counted = true;
        let peer = peer_ip(session);
        let req = session.req_header();
        ctx.format = Format::from_accept(req.headers.get("accept").and_then(|v| v.to_str().ok()));
        ctx.host = request_host(req).to_string();
        ctx.client = Client::new(peer, &req.headers);
        // A Unix-socket or loopback peer is the front proxy (Caddy), which may say https.
        ctx.scheme = headers::client_proto(&req.headers, peer.is_none_or(|p| p.is_loopback()));
        ctx.hops = headers::hops(&req.headers);
        // One snapshot for the whole request, even if a reload lands meanwhile.
        let config = self.0.config();
        let Ok(forward) = self.route(session, ctx, &config).await? else {
            return Ok(true);
        };
        let req = session.req_header();
        let forwarding = Forwarding {
            public_host: ctx.host.clone(),
            proto: ctx.scheme.to_string(),
            client_ip: peer,
            local_authority: forward.authority(),
            port: forward.port,
            preserve_host: config.settings.preserves_host(forward.port),
            hops: ctx.hops,
        };
        if is_websocket(req) {
            // Pingora closes a downstream that sends nothing for 60 s; an idle HMR socket must live.
            session.as_downstream_mut().set_read_timeout(None);
        }
        ctx.upstream = Some((forward, forwarding));
        ctx.config = Some(config);
        Ok(false)
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        let addr = ctx
            .upstream
            .as_ref()
            .and_then(|(f, _)| f.addrs.get(ctx.attempt))
            .ok_or_else(|| Error::explain(ErrorType::InternalError, "no address left to dial"))?;
        // A SocketAddr, never a name: HttpPeer::new resolves names with a blocking lookup.
        let mut peer = HttpPeer::new(*addr, false, String::new());
        peer.options.connection_timeout = Some(CONNECT_TIMEOUT);
        peer.options.idle_timeout = Some(POOL_IDLE);
        Ok(Box::new(peer))
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut Ctx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        let left = ctx.upstream.as_ref().map_or(0, |(f, _)| f.addrs.len());
        if ctx.attempt + 1 < left {
            ctx.attempt += 1;
            e.set_retry(true);
        } else {
            METRICS.connect_failed();
        }
        e
    }

    async fn connected_to_upstream(
        &self,
        _session: &mut Session,
        _reused: bool,
        _peer: &HttpPeer,
        #[cfg(unix)] _fd: std::os::unix::io::RawFd,
        #[cfg(windows)] _sock: std::os::windows::io::RawSocket,
        _digest: Option<&pingora::protocols::Digest>,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if let Some((forward, _)) = &ctx.upstream {
            if forward.target == Target::Localhost {
                self.0.families.remember(forward.addrs[ctx.attempt]);
            }
        }
        Ok(())
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if let Some((_, fw)) = &ctx.upstream {
            let mut edits = headers::rewrite_request(&upstream_request.headers, fw);
            if let Some(auth) = ctx.config.as_ref().and_then(|c| c.auth.as_ref()) {
                edits.extend(auth.strip_credentials(&upstream_request.headers));
            }
            upstream_request.apply(edits)?;
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if resp.status.as_u16() == 101 && !ctx.tunnel {
            ctx.tunnel = true;
            METRICS.tunnel_opened();
        }
        if let Some((_, fw)) = &ctx.upstream {
            let edits = headers::rewrite_response(&resp.headers, fw);
            resp.apply(edits)?;
        }
        ctx.title = self.title_watch(session, resp, ctx);
        // The upstream's own CORS answer wins.
        if let Some(origin) = &ctx.cors_origin {
            if !resp
                .headers
                .contains_key(http::header::ACCESS_CONTROL_ALLOW_ORIGIN)
            {
                for (name, value) in crate::auth::cors_headers(origin) {
                    resp.append_header(name, value)?;
                }
            }
        }
        Ok(())
    }

    /// Reads a page title only from responses `response_filter` flagged, and only until it
    /// is settled: other bodies pass untouched at the cost of one `if`.
    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<Option<Duration>> {
        if let Some((port, watch)) = &mut ctx.title {
            let chunk = body.as_deref().unwrap_or_default();
            match watch.feed(chunk, end_of_stream) {
                Scan::NeedMore => {}
                scan => {
                    self.0.titles.learn(*port, scan);
                    ctx.title = None;
                }
            }
        }
        Ok(None)
    }

    /// Refused and timed-out connects get our own page, and a client that hung up needs no
    /// error; the access line records both. Pingora's error line would say it a second time.
    fn suppress_error_log(&self, _session: &Session, _ctx: &Ctx, error: &Error) -> bool {
        let client_gone = error.esource() == &ErrorSource::Downstream
            && matches!(
                error.etype(),
                ErrorType::ConnectionClosed | ErrorType::ReadError | ErrorType::WriteError
            );
        client_gone
            || matches!(
                error.etype(),
                ErrorType::ConnectRefused | ErrorType::ConnectTimedout
            )
    }

    fn suppress_proxy_warn_log(
        &self,
        _session: &Session,
        _ctx: &Ctx,
        error: &Error,
        _context: pingora::proxy::ProxyWarnLogContext,
    ) -> bool {
        matches!(error.etype(), ErrorType::ConnectRefused)
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
        let error_code = match failure(e.esource(), e.etype(), ctx.target()) {
            Failure::Page(mut page) => {
                if let Page::NotListening { listening, .. } = &mut page {
                    // Nothing listens there now: its title belonged to an earlier server.
                    if let Some((forward, _)) = &ctx.upstream {
                        if forward.target == Target::Localhost {
                            self.0.titles.forget(forward.port);
                        }
                    }
                    let base = base_authority(&ctx.host, &ctx.domain);
                    *listening = self.port_links(ctx, &base).await;
                }
                send_error_page(session, &page, ctx.format).await
            }
            Failure::Plain(status) => {
                let body = Bytes::from(format!("{status} {}\n", e.etype().as_str()));
                session.respond_error_with_body(status, body).await.ok();
                status
            }
            Failure::ClientGone => 0,
        };
        FailToProxy {
            error_code,
            can_reuse_downstream: false,
        }
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut Ctx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        if ctx.counted {
            METRICS.request_finished(status, session.body_bytes_read(), session.body_bytes_sent());
        }
        if ctx.tunnel {
            METRICS.tunnel_closed();
        }
        // The access line is off under load (RUST_LOG=warn): build nothing for it then.
        if !log::log_enabled!(log::Level::Info) {
            return;
        }
        let req = session.req_header();
        let target = match ctx.target() {
            t if t.is_empty() => "-".to_string(),
            t => t,
        };
        let error = e
            .map(|e| format!(" error={}", e.etype().as_str()))
            .unwrap_or_default();
        info!(
            "{} {}{} -> {target} {status} {}B {}ms{error}",
            req.method,
            request_host(req),
            req.uri.path_and_query().map_or("", |p| p.as_str()),
            session.body_bytes_sent(),
            ctx.started.elapsed().as_millis(),
        );
    }
}

/// What a failed request gets.
#[derive(Debug)]
enum Failure {
    /// One of our pages (the port's list is filled in for `NotListening`).
    Page(Page),
    /// A plain status line: a bad request, or our own bug.
    Plain(u16),
    /// The client went away: nothing to write.
    ClientGone,
}

fn failure(source: &ErrorSource, etype: &ErrorType, target: String) -> Failure {
    use ErrorType::*;
    match (source, etype) {
        (_, ConnectRefused) => Failure::Page(Page::NotListening {
            target,
            listening: Vec::new(),
        }),
        (_, ConnectTimedout) => Failure::Page(Page::ConnectTimeout { target }),
        (ErrorSource::Upstream, etype) => Failure::Page(Page::UpstreamFailed {
            target,
            detail: upstream_detail(etype),
        }),
        (_, ReadError | WriteError | ConnectionClosed) => Failure::ClientGone,
        (ErrorSource::Downstream, _) => Failure::Plain(400),
        _ => Failure::Plain(500),
    }
}

fn upstream_detail(etype: &ErrorType) -> String {
    match etype {
        ErrorType::ConnectionClosed => {
            "it closed the connection before the response was complete".into()
        }
        ErrorType::ReadError | ErrorType::WriteError => "the connection was reset".into(),
        ErrorType::ReadTimedout | ErrorType::WriteTimedout => "it stopped responding".into(),
        ErrorType::InvalidHTTPHeader | ErrorType::H1Error => {
            "its response was not valid HTTP".into()
        }
        other => format!("{} error", other.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_get_a_page_a_status_or_nothing() {
        use ErrorSource::{Downstream, Internal, Upstream};
        use ErrorType::*;
        let rows: [(ErrorSource, ErrorType, &str); 8] = [
            (Upstream, ConnectRefused, "Page(NotListening"),
            (Internal, ConnectTimedout, "Page(ConnectTimeout"),
            (Upstream, ReadError, "the connection was reset"),
            (Upstream, H1Error, "its response was not valid HTTP"),
            (Downstream, ReadError, "ClientGone"),
            (Downstream, ConnectionClosed, "ClientGone"),
            (Downstream, InvalidHTTPHeader, "Plain(400)"),
            (Internal, InternalError, "Plain(500)"),
        ];
        for (source, etype, want) in rows {
            let got = format!("{:?}", failure(&source, &etype, "localhost:5173".into()));
            assert!(got.contains(want), "{source:?} {etype:?}: {got}");
        }
    }

    #[test]
    fn dashboard_links_keep_the_client_port() {
        assert_eq!(
            base_authority("5173.localhost:24306", "localhost"),
            "localhost:24306"
        );
        assert_eq!(
            base_authority("localhost:24306", "localhost"),
            "localhost:24306"
        );
        assert_eq!(
            base_authority("5173.dev.example.com", "dev.example.com"),
            "dev.example.com"
        );
    }
}

//! The Pingora glue: each phase asks a pure module what to do and does it.

pub mod dial;
pub mod gate;
pub mod headers;
pub mod pages;

use std::net::SocketAddr;
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
use crate::metrics::METRICS;
use crate::policy::Dial;
use crate::ports;
use crate::route::{self, Route, Target};
use dial::Families;
use headers::{Edit, Forwarding};
use pages::{Format, Page, PortLink};

/// Beyond loopback a dead machine should not hold a request for minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// Under Node's 5 s keepAliveTimeout, so a pooled connection is dropped before Node drops it.
const POOL_IDLE: Duration = Duration::from_secs(4);

/// What the proxy and the admin listener share.
pub struct App {
    /// Swapped whole on reload; a request keeps the settings it started with.
    config: RwLock<Arc<Config>>,
    families: Families,
    limiter: crate::auth::Limiter,
}

impl App {
    pub fn new(config: Config) -> Self {
        App {
            config: RwLock::new(Arc::new(config)),
            families: Families::default(),
            limiter: crate::auth::Limiter::default(),
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

/// Where a host leads, once allowed.
#[derive(Debug)]
pub enum Decision {
    Dashboard { domain: String },
    Forward(Forward),
}

#[derive(Debug)]
pub struct Forward {
    pub target: Target,
    pub port: u16,
    pub domain: String,
    /// Checked addresses, in the order to try them.
    pub addrs: Vec<SocketAddr>,
}

impl Forward {
    /// `localhost:5173`: the target as the dev server knows itself.
    fn authority(&self) -> String {
        format!("{}:{}", self.target, self.port)
    }
}

/// Host → grammar → policy → (lookup → policy) → addresses to dial, or the page to show.
pub async fn decide(app: &App, config: &Config, host: &str) -> std::result::Result<Decision, Page> {
    let bad_host = |error| Page::BadHost {
        error,
        domains: config.domains.clone(),
    };
    let (target, port, domain) = match route::parse(host, &config.domains).map_err(bad_host)? {
        Route::Dashboard { domain } => return Ok(Decision::Dashboard { domain }),
        Route::Forward {
            target,
            port,
            domain,
        } => (target, port, domain),
    };
    let refused = |refusal| Page::Refused {
        target: format!("{target}:{port}"),
        refusal,
    };
    let mut addrs = match config.policy.check(&target, port).map_err(refused)? {
        Dial::Addrs(addrs) => addrs,
        Dial::Resolve { name, port } => {
            let unresolvable = |detail: String| Page::Unresolvable {
                name: name.clone(),
                detail,
            };
            let found = tokio::time::timeout(
                LOOKUP_TIMEOUT,
                tokio::net::lookup_host((name.as_str(), port)),
            )
            .await
            .map_err(|_| unresolvable("the lookup timed out".into()))?
            .map_err(|e| unresolvable(e.to_string()))?;
            let ips: Vec<_> = found.map(|a| a.ip()).collect();
            if ips.is_empty() {
                return Err(unresolvable("no addresses".into()));
            }
            config.policy.check_resolved(&ips, port).map_err(refused)?
        }
    };
    if target == Target::Localhost {
        app.families.order(&mut addrs);
    }
    Ok(Decision::Forward(Forward {
        target,
        port,
        domain,
        addrs,
    }))
}

/// The `ProxyHttp` implementation.
pub struct PortProxy(pub Arc<App>);

/// Per-request state, carried from `request_filter` to the later phases.
pub struct Ctx {
    started: Instant,
    counted: bool,
    forward: Option<Forward>,
    forwarding: Option<Forwarding>,
    attempt: usize,
    tunnel: bool,
    format: Format,
    /// Set on public domains: our credentials are stripped before forwarding.
    auth: Option<crate::auth::Auth>,
    /// A same-domain origin that gets CORS headers on the response.
    cors_origin: Option<String>,
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

/// The client's address: the peer, or behind a loopback front proxy (Caddy) the address that
/// proxy appended last to `X-Forwarded-For`.
fn client_ip(session: &Session) -> Option<std::net::IpAddr> {
    let peer = session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip())?;
    if !peer.is_loopback() {
        return Some(peer);
    }
    let forwarded = session
        .req_header()
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|ip| ip.trim().parse().ok());
    Some(forwarded.unwrap_or(peer))
}

/// `5173.localhost:24306` under `localhost` → `localhost:24306`: the dashboard's own authority.
fn base_authority(host: &str, domain: &str) -> String {
    match host.rsplit_once(':') {
        Some((_, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{domain}:{port}")
        }
        _ => domain.to_string(),
    }
}

impl PortProxy {
    fn port_links(&self, proto: &str, base: &str) -> Vec<PortLink> {
        let config = self.0.config();
        ports::listening()
            .into_iter()
            .map(|port| PortLink {
                port,
                url: format!("{proto}://{port}.{base}/"),
                label: config.labels.get(&port).cloned(),
                refused: config
                    .policy
                    .check(&Target::Localhost, port)
                    .err()
                    .map(|r| r.to_string()),
                public: config.public_ports.contains(&port),
            })
            .collect()
    }

    /// Public domains (not `localhost`) need a session when `auth` is configured.
    async fn gate(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        config: &Config,
        decision: &Decision,
        host: &str,
    ) -> Result<gate::Gate> {
        let (domain, dashboard, port) = match decision {
            Decision::Dashboard { domain } => (domain, true, None),
            Decision::Forward(f) => (&f.domain, false, Some(f.port)),
        };
        let Some(auth) = config.auth.as_ref().filter(|_| !route::is_local(domain)) else {
            return Ok(gate::Gate::Pass { cors_origin: None });
        };
        let proto = Self::proto(session);
        let req = session.req_header();
        let url = format!(
            "{proto}://{host}{}",
            req.uri.path_and_query().map_or("/", |p| p.as_str())
        );
        let visit = gate::Visit {
            auth,
            limiter: &self.0.limiter,
            domain,
            base_url: format!("{proto}://{}", base_authority(host, domain)),
            url,
            dashboard,
            public_port: port.is_some_and(|p| config.public_ports.contains(&p)),
            secure: proto == "https",
            format: ctx.format,
            client: client_ip(session),
        };
        let outcome = gate::check(session, visit).await?;
        if let gate::Gate::Pass { cors_origin } = &outcome {
            ctx.auth = Some(auth.clone());
            ctx.cors_origin = cors_origin.clone();
        }
        Ok(outcome)
    }

    fn proto(session: &Session) -> &'static str {
        let loopback = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .is_some_and(|a| a.ip().is_loopback());
        headers::client_proto(&session.req_header().headers, loopback)
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
            forward: None,
            forwarding: None,
            attempt: 0,
            tunnel: false,
            format: Format::Text,
            auth: None,
            cors_origin: None,
        }
    }

    /// No downstream modules: the default adds a (disabled) compression module whose
    /// per-request state costs time, and bodies must pass untouched anyway.
    fn init_downstream_modules(&self, _modules: &mut pingora::modules::http::HttpModules) {}

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        METRICS.request_started();
        ctx.counted = true;
        let req = session.req_header();
        ctx.format = Format::from_accept(req.headers.get("accept").and_then(|v| v.to_str().ok()));
        let host = request_host(req).to_string();
        let hops = headers::hops(&req.headers);
        // One snapshot for the whole request, even if a reload lands meanwhile.
        let config = self.0.config();

        let decision = if hops >= headers::MAX_HOPS {
            Err(Page::Loop { hops })
        } else {
            decide(&self.0, &config, &host).await
        };
        if let Ok(decision) = &decision {
            if let gate::Gate::Answered = self.gate(session, ctx, &config, decision, &host).await? {
                return Ok(true);
            }
        }
        let forward = match decision {
            Ok(Decision::Forward(forward)) => forward,
            Ok(Decision::Dashboard { domain }) => {
                let format = if session.req_header().uri.path() == "/api/ports" {
                    Format::Json
                } else {
                    ctx.format
                };
                let links = self.port_links(Self::proto(session), &base_authority(&host, &domain));
                let page = Page::Dashboard {
                    domain,
                    ports: links,
                };
                send_page(session, &page, format).await?;
                return Ok(true);
            }
            Err(page) => {
                METRICS.refused();
                info!(
                    "refused {} {host}{}: {} ({})",
                    session.req_header().method,
                    session.req_header().uri.path(),
                    page.kind(),
                    page.render(Format::Text).body.trim_end()
                );
                send_page(session, &page, ctx.format).await?;
                return Ok(true);
            }
        };

        let client_ip = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.ip());
        ctx.forwarding = Some(Forwarding {
            public_host: host,
            proto: Self::proto(session).to_string(),
            client_ip,
            local_authority: forward.authority(),
            port: forward.port,
            preserve_host: config.preserves_host(forward.port),
            hops,
        });
        let websocket = session
            .req_header()
            .headers
            .get(http::header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        if websocket {
            // Pingora closes a downstream that sends nothing for 60 s; an idle HMR socket must live.
            session.as_downstream_mut().set_read_timeout(None);
        }
        ctx.forward = Some(forward);
        Ok(false)
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        let addr = ctx
            .forward
            .as_ref()
            .and_then(|f| f.addrs.get(ctx.attempt))
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
        let left = ctx.forward.as_ref().map_or(0, |f| f.addrs.len());
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
        if let Some(forward) = &ctx.forward {
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
        if let Some(fw) = &ctx.forwarding {
            let mut edits = headers::rewrite_request(&upstream_request.headers, fw);
            if let Some(auth) = &ctx.auth {
                edits.extend(auth.strip_credentials(&upstream_request.headers));
            }
            upstream_request.apply(edits)?;
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if resp.status.as_u16() == 101 && !ctx.tunnel {
            ctx.tunnel = true;
            METRICS.tunnel_opened();
        }
        if let Some(fw) = &ctx.forwarding {
            let edits = headers::rewrite_response(&resp.headers, fw);
            resp.apply(edits)?;
        }
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
        let target = ctx
            .forward
            .as_ref()
            .map_or_else(String::new, Forward::authority);
        let page = match (e.esource(), e.etype()) {
            (_, ErrorType::ConnectRefused) => {
                let domain = ctx
                    .forward
                    .as_ref()
                    .map_or("localhost", |f| f.domain.as_str());
                let host = ctx
                    .forwarding
                    .as_ref()
                    .map_or("", |f| f.public_host.as_str());
                let proto = Self::proto(session);
                Some(Page::NotListening {
                    target,
                    listening: self.port_links(proto, &base_authority(host, domain)),
                })
            }
            (_, ErrorType::ConnectTimedout) => Some(Page::ConnectTimeout { target }),
            (ErrorSource::Upstream, etype) => Some(Page::UpstreamFailed {
                target,
                detail: upstream_detail(etype),
            }),
            _ => None,
        };
        let code = match page {
            Some(page) => {
                let status = page.status();
                let rendered = page.render(ctx.format);
                if let Ok(resp) = page_head(&rendered) {
                    let body = Bytes::from(rendered.body);
                    if let Err(err) = session
                        .as_downstream_mut()
                        .write_error_response(resp, body)
                        .await
                    {
                        warn!("could not send the error page: {err}");
                    }
                }
                status
            }
            // Downstream gone or broken: nothing useful to write.
            None => match e.etype() {
                ErrorType::ReadError | ErrorType::WriteError | ErrorType::ConnectionClosed => 0,
                _ => {
                    let status = if e.esource() == &ErrorSource::Downstream {
                        400
                    } else {
                        500
                    };
                    let body = Bytes::from(format!("{status} {}\n", e.etype().as_str()));
                    session.respond_error_with_body(status, body).await.ok();
                    status
                }
            },
        };
        FailToProxy {
            error_code: code,
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
        let req = session.req_header();
        let target = ctx
            .forward
            .as_ref()
            .map_or_else(|| "-".to_string(), Forward::authority);
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

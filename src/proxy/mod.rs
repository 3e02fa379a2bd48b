//! The Pingora glue: each phase asks a pure module what to do and does it.

mod answer;
mod app;
mod ctx;
mod dashboard;
pub(crate) mod dial;
pub(crate) mod headers;
pub(crate) mod named;
pub(crate) mod pages;
mod routed;
pub(crate) mod share;
pub(crate) mod signin;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use log::info;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorSource, ErrorType, Result};

use crate::config::Config;
use crate::gate::{self, Client};
use crate::metrics::METRICS;
use crate::route::Target;
use crate::title::{self, Scan, Watch};
use answer::{failure, send_error_page, Failure};
pub(crate) use app::App;
use ctx::base_authority;
pub(crate) use ctx::Ctx;
use headers::Edit;
use pages::{Format, Page};
use routed::Routed;

/// Beyond loopback a dead machine should not hold a request for minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Under Node's 5 s keepAliveTimeout, so a pooled connection is dropped before Node drops it.
const POOL_IDLE: Duration = Duration::from_secs(4);

/// The `ProxyHttp` implementation.
pub(crate) struct PortProxy(pub(crate) Arc<App>);

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

/// A WebSocket upgrade (HMR, Jupyter kernels).
/// The log target of access lines and refusals.
const ACCESS: &str = "portproxy::access";

/// Whether requests and refusals get a line: opt-in with `access_log`, or with the log's
/// internals (-v, or RUST_LOG at info), which the made-up target `access` stands for.
fn logs_access(config: Option<&Config>) -> bool {
    config.is_some_and(|c| c.settings.access_log)
        || log::log_enabled!(target: "access", log::Level::Info)
}

impl PortProxy {
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
        Ctx::new()
    }

    /// No downstream modules: the default adds a (disabled) compression module whose
    /// per-request state costs time, and bodies must pass untouched anyway.
    fn init_downstream_modules(&self, _modules: &mut pingora::modules::http::HttpModules) {}

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        METRICS.request_started();
        ctx.counted = true;
        let peer = peer_ip(session);
        // One snapshot for the whole request, even if a reload lands meanwhile.
        let config = self.0.config();
        let req = session.req_header();
        ctx.format = Format::from_accept(req.headers.get("accept").and_then(|v| v.to_str().ok()));
        ctx.host = request_host(req).to_string();
        let secret = config.caddy_in_front.and_then(|caddy| caddy.secret_text());
        let front = gate::trusted_front(
            peer,
            &req.headers,
            &config.settings.trusted_proxies,
            secret.as_deref(),
        );
        ctx.client = Client::new(peer, front, &req.headers);
        ctx.scheme = headers::client_proto(&req.headers, front);
        ctx.hops = headers::hops(&req.headers);
        let forward = match routed::route(&self.0, session, ctx, &config).await? {
            Routed::Forward(forward) => forward,
            Routed::Reply(reply) => {
                answer::send(session, reply, &ctx.host, &config).await?;
                return Ok(true);
            }
        };
        let (public_host, proto) = (ctx.host.clone(), ctx.scheme.to_string());
        ctx.send_on(session, forward, public_host, proto, peer, config);
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
                for (name, value) in crate::auth::cors::cors_headers(origin) {
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
                    // The server behind a name stopped (or moved) since the last look: look
                    // again next time, and say the name is not running, reloading.
                    match ctx.name.clone() {
                        Some(name) => {
                            self.0.names.forget();
                            page = routed::name_page(&self.0, ctx, name, None, &base).await;
                        }
                        None => *listening = routed::port_links(&self.0, ctx, &base).await,
                    }
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
        // Off by default (and under load): build nothing for it then.
        if !logs_access(ctx.config.as_deref()) {
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
            target: ACCESS,
            "{} {}{} -> {target} {status} {}B {}ms{error}",
            req.method,
            request_host(req),
            req.uri.path_and_query().map_or("", |p| p.as_str()),
            session.body_bytes_sent(),
            ctx.started.elapsed().as_millis(),
        );
    }
}

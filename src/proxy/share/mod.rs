//! A share's own listener: the same proxy as the main one (the same dialling, identity
//! rewriting, pages and access line), except that `request_filter` asks `share::decide`
//! instead of the host grammar and the gate. Nothing in a request can name another target:
//! the port is the share's.
//!
//! `open` opens one (its listener, its tunnel), for the control channel and the dashboard.

mod open;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use log::warn;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::protocols::l4::listener::Listener;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, Result};

use super::answer::send_page;
use super::ctx::Ctx;
use super::pages::{Format, Page};
use super::{dial, headers, peer_ip, request_host, Editable, PortProxy};
use crate::gate::Client;
use crate::metrics::METRICS;
use crate::route::Target;
use crate::share::registry::Live;
use crate::share::{self, Verdict};

pub(crate) use open::{make_public, open_off_thread, read_json};

/// Accepts until the share's listener is closed; each connection is served as Pingora's own
/// listeners serve theirs (keep-alive, upgrades), and told to finish when the share stops.
async fn serve(
    listener: Listener,
    proxy: Arc<pingora::proxy::HttpProxy<ShareProxy>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use pingora::apps::ServerApp;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(stream) => {
                    let (proxy, shutdown) = (proxy.clone(), stop.clone());
                    tokio::spawn(async move {
                        let mut next: Option<pingora::protocols::Stream> = Some(Box::new(stream));
                        while let Some(stream) = next {
                            next = proxy.process_new(stream, &shutdown).await;
                        }
                    });
                }
                Err(e) => {
                    warn!("a share listener could not accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// The `ProxyHttp` of one share.
pub(crate) struct ShareProxy {
    main: PortProxy,
    live: Arc<Live>,
}

impl ShareProxy {
    /// The answer when the request is not forwarded; true if one was written.
    async fn answer(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        verdict: Verdict,
        client: Option<IpAddr>,
    ) -> Result<()> {
        let page = match verdict {
            Verdict::Exchange {
                location,
                set_cookie,
            } => {
                self.live.opened_by(client);
                // The secret leaves the address bar (and the access line) here.
                if let Ok(uri) = location.parse() {
                    session.req_header_mut().set_uri(uri);
                }
                let mut resp = ResponseHeader::build(303, Some(4))?;
                resp.insert_header("location", &location)?;
                resp.insert_header("set-cookie", &set_cookie)?;
                resp.insert_header("cache-control", "no-store")?;
                resp.insert_header("referrer-policy", "no-referrer")?;
                resp.insert_header("content-length", "0")?;
                session.write_response_header(Box::new(resp), false).await?;
                return session.write_response_body(Some(Bytes::new()), true).await;
            }
            Verdict::Gone(ended) => Page::ShareEnded { ended },
            Verdict::NeedsLink => Page::ShareNeedsLink,
            Verdict::Forward { .. } => return Ok(()),
        };
        METRICS.refused();
        send_page(session, &page, ctx.format).await
    }

    /// Readies a request the share lets through for the share's port: its path in origin
    /// form, the loop guard, the checked addresses and the identity it is sent with; true if
    /// it was answered instead.
    async fn forward(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        port: u16,
        peer: Option<IpAddr>,
    ) -> Result<bool> {
        // An absolute-form target (Pingora keeps its bytes for the upstream) names nothing
        // here: the app gets the path, as a browser sends it.
        if !session.req_header().raw_path().starts_with(b"/") {
            let uri = session.req_header().uri.clone();
            session.req_header_mut().set_uri(uri);
        }
        if ctx.hops >= headers::MAX_HOPS {
            send_page(session, &Page::Loop { hops: ctx.hops }, ctx.format).await?;
            return Ok(true);
        }
        let config = self.main.0.config();
        let families = &self.main.0.families;
        let forward = match dial::resolve(&config.policy, families, Target::Localhost, port).await {
            Ok(forward) => forward,
            Err(page) => {
                send_page(session, &page, ctx.format).await?;
                return Ok(true);
            }
        };
        let (proto, public_host) = self.public_side(ctx);
        ctx.send_on(session, forward, public_host, proto, peer, config);
        Ok(false)
    }

    /// The origin the browser is on: the tunnel's, or the address it connected to.
    fn public_side(&self, ctx: &Ctx) -> (String, String) {
        match self.live.tunnel_origin() {
            Some(url) => match url.split_once("://") {
                Some((proto, host)) => (proto.to_string(), host.to_string()),
                None => (ctx.scheme.to_string(), ctx.host.clone()),
            },
            None => (ctx.scheme.to_string(), ctx.host.clone()),
        }
    }
}

/// What the context records of a share's request, before the share decides on it: the
/// answer's format, the host, the visitor, the scheme the browser used and the hop count.
fn take_in(ctx: &mut Ctx, req: &RequestHeader, peer: Option<IpAddr>) {
    ctx.format = Format::from_accept(req.headers.get("accept").and_then(|v| v.to_str().ok()));
    ctx.host = request_host(req).to_string();
    // Never "this machine": a share's visitor is a visitor, even through a local tunnel.
    ctx.client = Client {
        ip: peer,
        local: false,
    };
    // A tunnel tool on loopback says whether the browser used https (for the cookie's
    // `Secure` and the identity); it chooses nothing else.
    let loopback_peer = peer.is_some_and(|p| p.is_loopback());
    ctx.scheme = headers::client_proto(&req.headers, loopback_peer);
    ctx.hops = headers::hops(&req.headers);
}

#[async_trait]
impl ProxyHttp for ShareProxy {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        self.main.new_ctx()
    }

    fn init_downstream_modules(&self, modules: &mut pingora::modules::http::HttpModules) {
        self.main.init_downstream_modules(modules)
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        METRICS.request_started();
        ctx.counted = true;
        let peer = peer_ip(session);
        let req = session.req_header();
        take_in(ctx, req, peer);
        let visitor = share::visitor(peer, &req.headers);
        let target = req.uri.to_string();
        let verdict = share::decide(
            &self.live.share,
            self.live.ended(),
            &target,
            &req.headers,
            ctx.scheme == "https",
            SystemTime::now(),
        );
        let redacted = share::redacted(&target);
        if redacted != target {
            if let Ok(uri) = redacted.parse() {
                session.req_header_mut().set_uri(uri);
            }
        }
        let Verdict::Forward { port } = verdict else {
            self.answer(session, ctx, verdict, visitor).await?;
            return Ok(true);
        };
        self.forward(session, ctx, port, peer).await
    }

    async fn upstream_peer(&self, session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        self.main.upstream_peer(session, ctx).await
    }

    fn fail_to_connect(
        &self,
        session: &mut Session,
        peer: &HttpPeer,
        ctx: &mut Ctx,
        e: Box<Error>,
    ) -> Box<Error> {
        self.main.fail_to_connect(session, peer, ctx, e)
    }

    async fn connected_to_upstream(
        &self,
        session: &mut Session,
        reused: bool,
        peer: &HttpPeer,
        #[cfg(unix)] fd: std::os::unix::io::RawFd,
        #[cfg(windows)] sock: std::os::windows::io::RawSocket,
        digest: Option<&pingora::protocols::Digest>,
        ctx: &mut Ctx,
    ) -> Result<()> {
        self.main
            .connected_to_upstream(
                session,
                reused,
                peer,
                #[cfg(unix)]
                fd,
                #[cfg(windows)]
                sock,
                digest,
                ctx,
            )
            .await
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        self.main
            .upstream_request_filter(session, upstream_request, ctx)
            .await?;
        let edits = share::cookie::strip_cookies(&upstream_request.headers);
        upstream_request.apply(edits)
    }

    async fn response_filter(
        &self,
        session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        self.main.response_filter(session, resp, ctx).await
    }

    fn response_body_filter(
        &self,
        session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<Option<Duration>> {
        self.main
            .response_body_filter(session, body, end_of_stream, ctx)
    }

    fn suppress_error_log(&self, session: &Session, ctx: &Ctx, error: &Error) -> bool {
        self.main.suppress_error_log(session, ctx, error)
    }

    fn suppress_proxy_warn_log(
        &self,
        session: &Session,
        ctx: &Ctx,
        error: &Error,
        context: pingora::proxy::ProxyWarnLogContext,
    ) -> bool {
        self.main
            .suppress_proxy_warn_log(session, ctx, error, context)
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
        self.main.fail_to_proxy(session, e, ctx).await
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut Ctx) {
        self.main.logging(session, e, ctx).await
    }
}

//! A request's state: what `request_filter` learnt once, for the later phases.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use pingora::http::RequestHeader;
use pingora::proxy::Session;

use super::dial::Forward;
use super::headers::Forwarding;
use super::pages::Format;
use crate::config::Config;
use crate::gate::Client;
use crate::route;
use crate::title::Watch;

/// The `ProxyHttp` context.
pub(crate) struct Ctx {
    pub(super) started: Instant,
    pub(super) counted: bool,
    /// The host as the client named it.
    pub(super) host: String,
    /// The base domain it matched.
    pub(super) domain: String,
    /// `http` or `https`, as the client used it.
    pub(super) scheme: &'static str,
    pub(super) client: Client,
    pub(super) format: Format,
    /// The client may see lists of ports and domains (local, or signed in).
    pub(super) privileged: bool,
    /// The chosen upstream and how the request looks to it.
    pub(super) upstream: Option<(Forward, Forwarding)>,
    pub(super) attempt: usize,
    pub(super) tunnel: bool,
    /// The settings snapshot this request runs on (its `auth` says which credentials to strip
    /// before forwarding): an `Arc`, so no per-request copy of the token.
    pub(super) config: Option<Arc<Config>>,
    /// The loop guard's count as the request arrived.
    pub(super) hops: u32,
    /// A private origin of the domain that gets CORS headers on the response.
    pub(super) cors_origin: Option<String>,
    /// A local port's HTML response whose `<title>` is still to be read.
    pub(super) title: Option<(u16, Watch)>,
    /// The name the client used (`shop-web`), when it named the port by name.
    pub(super) name: Option<String>,
}

impl Ctx {
    pub(super) fn new() -> Ctx {
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
            name: None,
        }
    }

    /// Readies the request for `forward`, the address it was checked for: how it will look
    /// there (`Forwarding`), and the settings snapshot the later phases use.
    pub(super) fn send_on(
        &mut self,
        session: &mut Session,
        forward: Forward,
        public_host: String,
        proto: String,
        client_ip: Option<IpAddr>,
        config: Arc<Config>,
    ) {
        let forwarding = Forwarding {
            public_host,
            proto,
            client_ip,
            local_authority: forward.authority(),
            port: forward.port,
            preserve_host: config.settings.preserves_host(forward.port),
            hops: self.hops,
        };
        if is_websocket(session.req_header()) {
            // Pingora closes a downstream that sends nothing for 60 s; an idle HMR socket must live.
            session.as_downstream_mut().set_read_timeout(None);
        }
        self.upstream = Some((forward, forwarding));
        self.config = Some(config);
    }

    pub(super) fn target(&self) -> String {
        self.upstream
            .as_ref()
            .map_or_else(String::new, |(f, _)| f.authority())
    }
}

fn is_websocket(req: &RequestHeader) -> bool {
    req.headers
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// `5173.localhost:24306` under `localhost` → `localhost:24306`: the dashboard's own authority.
pub(super) fn base_authority(host: &str, domain: &str) -> String {
    match route::split_port(host) {
        (_, Some(port)) => format!("{domain}:{port}"),
        _ => domain.to_string(),
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

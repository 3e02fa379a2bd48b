//! Opening a share: its listener(s) on loopback or the LAN, its tunnel, its log line; and
//! making a port public for a while. Blocking work runs off the proxy's threads.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use log::{info, warn};
use pingora::protocols::l4::listener::Listener;
use pingora::server::configuration::ServerConf;
use pingora::Result;

use super::{serve, ShareProxy};
use crate::policy;
use crate::proxy::app::App;
use crate::proxy::PortProxy;
use crate::route::Target;
use crate::share::registry::Live;
use crate::share::tunnel::{self, TunnelError};
use crate::share::{self, Listed, Reach, Request, Share};

/// Why a share could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// The port may not be reached through portproxy at all (deny list, our own ports).
    Refused(policy::Refusal),
    /// `--lan` on a machine without a LAN address.
    NoLan,
    /// No time, or more than `share::MAX_FOR`.
    BadDuration(u64),
    Io(std::io::Error),
    Tunnel(TunnelError),
}

impl OpenError {
    pub(crate) fn status(&self) -> u16 {
        match self {
            OpenError::Refused(_) => 403,
            OpenError::BadDuration(_) => 400,
            OpenError::NoLan | OpenError::Tunnel(_) => 424,
            OpenError::Io(_) => 500,
        }
    }
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Refused(refusal) => write!(f, "this port can't be shared: {refusal}"),
            OpenError::NoLan => f.write_str("this machine has no LAN address (no IPv4 interface other than loopback) to share on"),
            OpenError::BadDuration(secs) => write!(
                f,
                "a share lasts from 1 second to {}, not {secs} s",
                share::duration::human(share::MAX_FOR.as_secs())
            ),
            OpenError::Io(e) => write!(f, "could not open the share's listener: {e}"),
            OpenError::Tunnel(e) => e.fmt(f),
        }
    }
}

/// Opens a share: its listener(s), its tunnel, one log line. Blocking (a tunnel takes
/// seconds to say its URL): call it off the proxy's threads.
pub(crate) fn open(app: &Arc<App>, request: &Request) -> Result<Arc<Live>, OpenError> {
    if request.for_secs == 0 || request.for_secs > share::MAX_FOR.as_secs() {
        return Err(OpenError::BadDuration(request.for_secs));
    }
    let config = app.config();
    config
        .policy
        .check(&Target::Localhost, request.port)
        .map_err(OpenError::Refused)?;
    let reach = if request.lan {
        Reach::Lan
    } else {
        Reach::Loopback
    };
    let listeners = bind(reach).map_err(|e| match e {
        None => OpenError::NoLan,
        Some(e) => OpenError::Io(e),
    })?;
    let listening: Vec<SocketAddr> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .collect();
    let now = SystemTime::now();
    let share = Share {
        id: random_hex(4).map_err(OpenError::Io)?,
        port: request.port,
        secret: crate::auth::generate_token().map_err(OpenError::Io)?,
        created: now,
        expires: now + Duration::from_secs(request.for_secs),
        reach,
        via: request.via,
    };
    let links = listening
        .iter()
        .map(|addr| share.link(&format!("http://{addr}")))
        .collect();
    let live = Arc::new(Live::new(share, request.public, listening, links));
    serve_on(app, &live, listeners)?;
    if let Some(via) = request.via {
        let port = live.listening[0].port();
        match tunnel::start(via, port, request.public) {
            Ok(tunnel) => live.attach(tunnel),
            Err(e) => {
                live.end(share::Ended::Revoked, SystemTime::now());
                return Err(OpenError::Tunnel(e));
            }
        }
    }
    app.shares.add(live.clone());
    log_opened(&live.listed(now));
    Ok(live)
}

/// Serves the share on its listeners, on the shares' own runtime (this runs off the proxy's
/// threads), until the share stops.
fn serve_on(
    app: &Arc<App>,
    live: &Arc<Live>,
    listeners: Vec<std::net::TcpListener>,
) -> Result<(), OpenError> {
    let runtime = app.shares.runtime().map_err(OpenError::Io)?;
    let proxy = Arc::new(pingora::proxy::http_proxy(
        &Arc::new(ServerConf::default()),
        ShareProxy {
            main: PortProxy(app.clone()),
            live: live.clone(),
        },
    ));
    for listener in listeners {
        let (proxy, stop) = (proxy.clone(), live.stopped());
        runtime.spawn(async move {
            match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => serve(Listener::from(listener), proxy, stop).await,
                Err(e) => warn!("a share listener could not start: {e}"),
            }
        });
    }
    Ok(())
}

/// The one line a share leaves in the log when it opens: what, for how long, to whom, where.
fn log_opened(listed: &Listed) {
    info!(
        "share {} opened: port {} for {}, {} at {}",
        listed.id,
        listed.port,
        share::duration::human(listed.left),
        listed.who,
        listed
            .listening
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// `open` off the proxy's threads, as the control channel and the dashboard both ask for it.
pub(crate) async fn open_off_thread(app: Arc<App>, request: Request) -> Result<Listed, OpenError> {
    match tokio::task::spawn_blocking(move || open(&app, &request)).await {
        Ok(opened) => opened.map(|live| live.listed(SystemTime::now())),
        Err(e) => Err(OpenError::Io(std::io::Error::other(e))),
    }
}

/// Makes `request.port` public for `request.for_secs` (at most `share::MAX_FOR`), as the
/// control channel (`share PORT --public`) and the dashboard both ask for it; refused for a
/// port the policy refuses. Always this machine's port, never another host's.
pub(crate) fn make_public(app: &App, request: &Request) -> Result<(), String> {
    let config = app.config();
    if let Err(refusal) = config
        .policy
        .check(&crate::route::Target::Localhost, request.port)
    {
        return Err(format!("this port can't be made public: {refusal}"));
    }
    let now = SystemTime::now();
    let until = now + Duration::from_secs(request.for_secs).min(crate::share::MAX_FOR);
    app.shares.publish(request.port, until, now);
    Ok(())
}

/// A JSON request body (at most 64 KiB), for the control channel and the dashboard.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    session: &mut pingora::protocols::http::ServerSession,
) -> Result<T, String> {
    let mut body = Vec::new();
    while let Some(chunk) = session
        .read_request_body()
        .await
        .map_err(|e| format!("could not read the body: {e}\n"))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > 64 << 10 {
            return Err("body too large\n".into());
        }
    }
    serde_json::from_slice(&body).map_err(|e| format!("bad request body: {e}\n"))
}

/// The listener(s): an ephemeral loopback port, or one port on every LAN address (the
/// same port where it is free on each). `Err(None)`: no LAN address.
fn bind(reach: Reach) -> Result<Vec<std::net::TcpListener>, Option<std::io::Error>> {
    let addrs: Vec<IpAddr> = match reach {
        Reach::Loopback => vec![Ipv4Addr::LOCALHOST.into()],
        Reach::Lan => lan_addresses(),
    };
    let mut listeners: Vec<std::net::TcpListener> = Vec::new();
    for ip in addrs {
        let port = listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map_or(0, |a| a.port());
        let listener = std::net::TcpListener::bind((ip, port))
            .or_else(|_| std::net::TcpListener::bind((ip, 0)))
            .map_err(Some)?;
        listener.set_nonblocking(true).map_err(Some)?;
        listeners.push(listener);
    }
    if listeners.is_empty() {
        return Err(None);
    }
    Ok(listeners)
}

/// This machine's IPv4 addresses on its networks: not loopback, not link-local (a phone
/// reaches a Wi-Fi address; IPv6 LAN addresses change and are rarely typed).
fn lan_addresses() -> Vec<IpAddr> {
    let mut addrs: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified(),
            IpAddr::V6(_) => false,
        })
        .collect();
    addrs.sort();
    addrs.dedup();
    addrs
}

fn random_hex(bytes: usize) -> std::io::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(std::io::Error::other)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

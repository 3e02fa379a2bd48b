//! The live shares of this instance: what each one is, whether it has ended, who used it,
//! and the tunnel it runs. Ending a share (revoked or expired) stops its tunnel at once; its
//! listener lingers `LINGER` answering 410 so a phone that still has the page open learns
//! why, then closes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use log::info;

use super::duration::human;
use super::tunnel::Tunnel;
use super::{who, Ended, Listed, Share, Visibility};

/// How long an ended share's listener keeps answering 410.
const LINGER: Duration = Duration::from_secs(600);

/// Which shares to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Which {
    Id(String),
    Port(u16),
    All,
}

impl Which {
    /// From a query: `id=ID`, `port=PORT`, or neither (all).
    pub(crate) fn from_query(query: &str) -> Result<Which, String> {
        match (
            crate::form::param(query, "id"),
            crate::form::param(query, "port"),
        ) {
            (Some(id), _) => Ok(Which::Id(id)),
            (None, Some(port)) => port
                .parse()
                .map(Which::Port)
                .map_err(|_| format!("`{port}` is not a port")),
            (None, None) => Ok(Which::All),
        }
    }
}

/// The shares of this instance, and the ports made public for a while.
#[derive(Default)]
pub(crate) struct Shares {
    live: Mutex<Vec<Arc<Live>>>,
    /// Ports public until a time (`share PORT --public --for 1h`); `unshare` ends it.
    public: Mutex<HashMap<u16, SystemTime>>,
    runtime: OnceLock<tokio::runtime::Handle>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shares {
    /// The runtime the share listeners run on: one thread of their own, started with the
    /// first share, which also ends shares at their expiry.
    pub(crate) fn runtime(self: &Arc<Self>) -> std::io::Result<tokio::runtime::Handle> {
        if let Some(handle) = self.runtime.get() {
            return Ok(handle.clone());
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        if self.runtime.set(handle.clone()).is_err() {
            // Another share started it meanwhile.
            return Ok(self.runtime.get().expect("set").clone());
        }
        let shares = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("shares".into())
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some(shares) = shares.upgrade() {
                        shares.reap(SystemTime::now());
                        drop(shares);
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                })
            })?;
        Ok(handle)
    }

    pub(crate) fn add(&self, live: Arc<Live>) {
        lock(&self.live).push(live);
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Live>> {
        lock(&self.live).iter().find(|l| l.share.id == id).cloned()
    }

    pub(crate) fn list(&self, now: SystemTime) -> Vec<Listed> {
        lock(&self.live).iter().map(|l| l.listed(now)).collect()
    }

    /// Ends the matching live shares (and with `Port` or `All`, the port's public time);
    /// what was ended.
    pub(crate) fn end(&self, which: &Which, how: Ended, now: SystemTime) -> Vec<Listed> {
        match which {
            Which::Port(port) => {
                if lock(&self.public).remove(port).is_some() {
                    info!("port {port} is private again");
                }
            }
            Which::All => lock(&self.public).clear(),
            Which::Id(_) => {}
        }
        // Those whose time is up end as expired, whatever ends them (the reaper runs every
        // quarter second; a revoke may come first).
        self.reap(now);
        let matching: Vec<Arc<Live>> = lock(&self.live)
            .iter()
            .filter(|l| match which {
                Which::Id(id) => &l.share.id == id,
                Which::Port(port) => l.share.port == *port,
                Which::All => true,
            })
            .filter(|l| l.ended().is_none())
            .cloned()
            .collect();
        matching
            .iter()
            .map(|l| {
                l.end(how, now);
                l.listed(now)
            })
            .collect()
    }

    /// Revokes the matching shares: what was ended, or why nothing could be (an unknown id).
    pub(crate) fn revoke(&self, which: &Which, now: SystemTime) -> Result<Vec<Listed>, String> {
        if let Which::Id(id) = which {
            if self.get(id).is_none() {
                return Err(format!(
                    "no share {id}; `portproxy share --list` shows them"
                ));
            }
        }
        Ok(self.end(which, Ended::Revoked, now))
    }

    /// Ends shares whose time is up; forgets those ended more than `LINGER` ago (their
    /// listeners close).
    pub(crate) fn reap(&self, now: SystemTime) {
        let expired: Vec<Arc<Live>> = lock(&self.live)
            .iter()
            .filter(|l| l.ended().is_none() && l.share.expired(now))
            .cloned()
            .collect();
        for live in expired {
            live.end(Ended::Expired, now);
        }
        lock(&self.live).retain(|l| {
            let keep = l
                .ended_at()
                .is_none_or(|at| now.duration_since(at).unwrap_or_default() < LINGER);
            if !keep {
                l.close();
            }
            keep
        });
        lock(&self.public).retain(|port, until| {
            let keep = now < *until;
            if !keep {
                info!("port {port} is private again (its public time is over)");
            }
            keep
        });
    }

    /// Makes `port` public (on public domains, without sign-in) until `until`.
    pub(crate) fn publish(&self, port: u16, until: SystemTime, now: SystemTime) {
        lock(&self.public).insert(port, until);
        let left = until.duration_since(now).unwrap_or_default().as_secs();
        info!("port {port} is public for {}", human(left));
    }

    /// Whether `port` is public now by `share --public`.
    pub(crate) fn is_public(&self, port: u16, now: SystemTime) -> bool {
        lock(&self.public)
            .get(&port)
            .is_some_and(|until| now < *until)
    }

    /// The ports public for a while, with the seconds each has left.
    pub(crate) fn public_ports(&self, now: SystemTime) -> BTreeMap<u16, u64> {
        lock(&self.public)
            .iter()
            .filter_map(|(port, until)| Some((*port, until.duration_since(now).ok()?.as_secs())))
            .collect()
    }

    /// A port's visibility now, given whether the settings make it public.
    pub(crate) fn visibility(
        &self,
        port: u16,
        public_by_settings: bool,
        now: SystemTime,
    ) -> Visibility {
        if public_by_settings || self.is_public(port, now) {
            Visibility::Public
        } else if lock(&self.live)
            .iter()
            .any(|l| l.share.port == port && l.ended().is_none())
        {
            Visibility::Shared
        } else {
            Visibility::Private
        }
    }

    /// Ends every share (portproxy is stopping): their tunnels must not outlive it.
    pub(crate) fn stop(&self) {
        let now = SystemTime::now();
        self.end(&Which::All, Ended::Revoked, now);
        for live in lock(&self.live).drain(..) {
            live.close();
        }
    }
}

/// One share while it lives.
pub(crate) struct Live {
    pub(crate) share: Share,
    /// `tailscale funnel` rather than `serve`.
    pub(crate) public: bool,
    /// The share listener's addresses.
    pub(crate) listening: Vec<SocketAddr>,
    /// The links, the tunnel's first when there is one.
    links: Mutex<Vec<String>>,
    state: Mutex<State>,
    /// Tells the listener's tasks to stop (also their connections' shutdown watch).
    stop: tokio::sync::watch::Sender<bool>,
}

#[derive(Default)]
struct State {
    ended: Option<(Ended, SystemTime)>,
    uses: u64,
    seen: HashSet<IpAddr>,
    tunnel: Option<Tunnel>,
}

impl Live {
    pub(crate) fn new(
        share: Share,
        public: bool,
        listening: Vec<SocketAddr>,
        links: Vec<String>,
    ) -> Live {
        Live {
            share,
            public,
            listening,
            links: Mutex::new(links),
            state: Mutex::default(),
            stop: tokio::sync::watch::channel(false).0,
        }
    }

    /// What the listener's tasks watch to know when to stop.
    pub(crate) fn stopped(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stop.subscribe()
    }

    pub(crate) fn ended(&self) -> Option<Ended> {
        lock(&self.state).ended.map(|(how, _)| how)
    }

    fn ended_at(&self) -> Option<SystemTime> {
        lock(&self.state).ended.map(|(_, at)| at)
    }

    /// The tunnel runs with the share (and is stopped with it); its URL becomes the first link.
    pub(crate) fn attach(&self, tunnel: Tunnel) {
        lock(&self.links).insert(0, self.share.link(&tunnel.url));
        lock(&self.state).tunnel = Some(tunnel);
    }

    /// The tunnel's public origin (`https://x.trycloudflare.com`), if there is one.
    pub(crate) fn tunnel_origin(&self) -> Option<String> {
        lock(&self.state).tunnel.as_ref().map(|t| t.url.clone())
    }

    pub(crate) fn links(&self) -> Vec<String> {
        lock(&self.links).clone()
    }

    /// A visit that opened the link: counted, and the first from each address logged.
    pub(crate) fn opened_by(&self, client: Option<IpAddr>) {
        let mut state = lock(&self.state);
        state.uses += 1;
        if let Some(ip) = client {
            if state.seen.insert(ip) {
                info!(
                    "share {} (port {}): first use from {ip}",
                    self.share.id, self.share.port
                );
            }
        }
    }

    /// Ends it: one log line, and its tunnel stopped.
    pub(crate) fn end(&self, how: Ended, now: SystemTime) {
        let tunnel = {
            let mut state = lock(&self.state);
            if state.ended.is_some() {
                return;
            }
            state.ended = Some((how, now));
            state.tunnel.take()
        };
        let how = match how {
            Ended::Expired => "expired",
            Ended::Revoked => "revoked",
        };
        info!("share {} (port {}) {how}", self.share.id, self.share.port);
        if let Some(tunnel) = tunnel {
            tunnel.stop();
        }
    }

    /// Closes the listener (after `LINGER`, or at exit).
    fn close(&self) {
        let _ = self.stop.send(true);
    }

    pub(crate) fn listed(&self, now: SystemTime) -> Listed {
        let state = lock(&self.state);
        Listed {
            id: self.share.id.clone(),
            port: self.share.port,
            links: self.links(),
            who: who(self.share.reach, self.share.via, self.public),
            reach: self.share.reach,
            via: self.share.via,
            left: if state.ended.is_some() {
                0
            } else {
                self.share.left(now)
            },
            ended: state.ended.map(|(how, _)| how),
            uses: state.uses,
            listening: self.listening.clone(),
        }
    }
}

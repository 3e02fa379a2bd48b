//! The one rule between "this machine" and "the internet", as a pure function of the visit
//! and the request's headers: a local name is served only to this machine, a public name only
//! to someone signed in (or on a public port), and lists of ports and domains only to those.
//! It runs before anything is dialled, looked up or listed; the Pingora phase only carries
//! out its answer.

use std::net::IpAddr;
use std::time::Instant;

use http::header::{ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION, ORIGIN};
use http::{HeaderMap, Method};

use crate::auth::limiter::{Limiter, Trier};
use crate::auth::sessions::Sessions;
use crate::auth::{cookie, Auth};
use crate::policy::rules::{Cidr, PublicPort};
use crate::policy::{self, Policy};
use crate::route::{self, Route};

/// Who sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Client {
    /// The peer's address, or behind a front proxy we trust the hop it appended last to
    /// `X-Forwarded-For`; None when that hop is unreadable.
    pub(crate) ip: Option<IpAddr>,
    /// The request comes from this machine.
    pub(crate) local: bool,
}

/// As the log says who: the address, or "an unknown address".
impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            Some(ip) => ip.fmt(f),
            None => f.write_str("an unknown address"),
        }
    }
}

impl Client {
    /// `front`: the peer is a proxy we trust to say who its client was (our own Caddy, or a
    /// `trusted_proxies` one): the hop it appended last to `X-Forwarded-For` (Caddy replaces
    /// whatever its client sent there). Anyone else is who they are, whatever they claim: a
    /// local process can't pose as a remote address, nor a remote one as this machine.
    /// `peer` is None for a Unix-socket peer, a process on this machine.
    pub(crate) fn new(peer: Option<IpAddr>, front: bool, headers: &HeaderMap) -> Client {
        let peer = peer.map(|ip| ip.to_canonical());
        let itself = Client {
            ip: peer,
            local: peer.is_none_or(|ip| ip.is_loopback()),
        };
        if !front {
            return itself;
        }
        let Some(forwarded) = headers.get_all("x-forwarded-for").iter().next_back() else {
            return itself;
        };
        let ip = forwarded
            .to_str()
            .ok()
            .and_then(|list| list.rsplit(',').next())
            .and_then(|hop| hop.trim().parse::<IpAddr>().ok())
            .map(|ip| ip.to_canonical());
        Client {
            ip,
            local: ip.is_some_and(|ip| ip.is_loopback()),
        }
    }

    fn trier(self) -> Trier {
        Trier {
            ip: self.ip,
            local: self.local,
        }
    }
}

/// Whether the peer is a front proxy whose `X-Forwarded-For`/`-Proto` we believe: a Unix-socket
/// peer (only `run`'s Caddy can open its private sockets), a `trusted_proxies` address, or
/// the Caddy that sends this run's `secret` (over TCP, where there are no such sockets).
pub(crate) fn trusted_front(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted_proxies: &[Cidr],
    secret: Option<&str>,
) -> bool {
    let Some(peer) = peer else {
        return true;
    };
    if trusted_proxies.iter().any(|cidr| cidr.contains(peer)) {
        return true;
    }
    let sent = headers
        .get(crate::config::FRONT_HEADER)
        .map(|v| v.as_bytes());
    match (secret, sent) {
        (Some(secret), Some(sent)) => {
            peer.to_canonical().is_loopback()
                && bool::from(subtle::ConstantTimeEq::ct_eq(secret.as_bytes(), sent))
        }
        _ => false,
    }
}

/// One request, as the gate sees it.
#[derive(Debug, Clone)]
pub(crate) struct Visit<'a> {
    /// The base domain the host matched.
    pub(crate) domain: &'a str,
    /// The host as the client sent it (`5173.dev.example.com:8443`).
    pub(crate) host: &'a str,
    /// The dashboard (the base domain itself) rather than a port.
    pub(crate) dashboard: bool,
    /// The port is one anyone may reach on a public domain.
    pub(crate) public_port: bool,
    /// Ports anyone may reach: their pages get no credentialed CORS access.
    pub(crate) public_ports: &'a [PublicPort],
    /// Where requests may go: only an origin portproxy would serve gets CORS access.
    pub(crate) policy: &'a Policy,
    /// Names that point at a public port now: their pages are public too.
    pub(crate) public_names: &'a [String],
    pub(crate) path: &'a str,
    pub(crate) method: &'a Method,
    /// `http` or `https`, as the client used it.
    pub(crate) scheme: &'a str,
    pub(crate) client: Client,
    /// A browser (it accepts HTML): sent to the login page rather than answered 401.
    pub(crate) browser: bool,
}

/// What the gate checks credentials with, where a public domain needs them.
pub(crate) struct Keys<'a> {
    pub(crate) auth: &'a Auth,
    pub(crate) sessions: &'a Sessions,
    pub(crate) limiter: &'a Limiter,
    pub(crate) now: Instant,
    /// Seconds since the Unix epoch, for the sessions' age.
    pub(crate) unix: u64,
}

impl Keys<'_> {
    /// A session this server issued for the token in force, still young enough. Session ids
    /// are 256 random bits, so looking one up needs no limit.
    pub(crate) fn signed_in(&self, headers: &HeaderMap) -> bool {
        cookie::session_ids(headers).any(|id| self.sessions.valid(self.auth.tag(), id, self.unix))
    }
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Serve it. `cors_origin` may read the response with credentials; `privileged` clients
    /// may see which ports listen and which domains exist.
    Pass {
        cors_origin: Option<String>,
        privileged: bool,
    },
    /// A local name from a client that is not on this machine: 403. (The session cookie
    /// belongs to the public domain, so a sign-in would only loop.)
    LocalOnly,
    /// `GET /login` on a public dashboard.
    LoginPage,
    /// `POST /login`: check the token (one try is taken; give it back if it is right).
    LoginAttempt,
    /// `/logout`: end the session and clear the cookie.
    Logout,
    /// A CORS preflight from one of the domain's own private origins: 204 with these headers.
    Preflight { origin: String },
    /// No session: a browser is sent to the login page, anyone else gets 401.
    SignIn { redirect: bool },
    /// The client used up its tries: 429, and no credential it sent was looked at.
    TooManyAttempts { retry_after: u64 },
}

/// The gate. `keys` is None where the domain needs no sign-in (`no_auth`). A presented
/// token (bearer or login form) is looked at only after a try was taken from the client's
/// allowance; a signed-in session takes none.
pub(crate) fn check(visit: &Visit, headers: &HeaderMap, keys: Option<&Keys>) -> Action {
    let everything = Action::Pass {
        cors_origin: None,
        privileged: true,
    };
    if route::is_local(visit.domain) {
        return if visit.client.local {
            everything
        } else {
            Action::LocalOnly
        };
    }
    let Some(keys) = keys else {
        return everything;
    };
    if let Some(action) = sign_in_pages(visit, keys) {
        return action;
    }
    let origin = headers
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|origin| private_origin(origin, visit))
        .map(str::to_string);
    // Browsers send preflights without cookies, so the gate answers them itself.
    let preflight =
        visit.method == Method::OPTIONS && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    if let (true, Some(origin)) = (preflight, &origin) {
        return Action::Preflight {
            origin: origin.clone(),
        };
    }
    let own = format!("{}://{}", visit.scheme, visit.host);
    let signed_in = Action::Pass {
        cors_origin: origin.filter(|o| !o.eq_ignore_ascii_case(&own)),
        privileged: true,
    };
    if keys.signed_in(headers) {
        return signed_in;
    }
    without_session(visit, headers, keys, signed_in)
}

/// The dashboard's `/login` and `/logout`, which the gate answers before anything else on a
/// public dashboard; a login attempt costs a try.
fn sign_in_pages(visit: &Visit, keys: &Keys) -> Option<Action> {
    match (visit.dashboard, visit.path) {
        (true, "/login") if visit.method == Method::POST => {
            Some(take_a_try(visit, keys).map_or_else(|refusal| refusal, |()| Action::LoginAttempt))
        }
        (true, "/login") => Some(Action::LoginPage),
        (true, "/logout") => Some(Action::Logout),
        _ => None,
    }
}

/// A request without a session: `signed_in` for a right bearer token, else what the port
/// allows anyone. A public port is open to everyone: a token only decides whether lists are
/// shown, and a limited client is served like anyone else.
fn without_session(visit: &Visit, headers: &HeaderMap, keys: &Keys, signed_in: Action) -> Action {
    let bearer = headers.contains_key(AUTHORIZATION) && crate::auth::bearer(headers).is_some();
    if visit.public_port {
        if bearer && right_bearer(visit, headers, keys) == Ok(true) {
            return signed_in;
        }
        return Action::Pass {
            cors_origin: None,
            privileged: false,
        };
    }
    if bearer {
        match right_bearer(visit, headers, keys) {
            Ok(true) => return signed_in,
            Ok(false) => {}
            Err(refusal) => return refusal,
        }
    }
    Action::SignIn {
        redirect: visit.browser,
    }
}

/// A bearer token is looked at only once a try is taken; a right one gives it back.
fn right_bearer(visit: &Visit, headers: &HeaderMap, keys: &Keys) -> Result<bool, Action> {
    take_a_try(visit, keys)?;
    if !keys.auth.bearer_matches(headers) {
        return Ok(false);
    }
    keys.limiter.refund(visit.client.trier());
    Ok(true)
}

/// One try from the client's allowance, or the 429 it gets once they are used up.
fn take_a_try(visit: &Visit, keys: &Keys) -> Result<(), Action> {
    keys.limiter
        .attempt(visit.client.trier(), keys.now)
        .map_err(|wait| Action::TooManyAttempts {
            retry_after: wait.as_secs().max(1),
        })
}

/// May a client that is not past the gate see port and domain lists (error pages before the
/// gate ran: a malformed or unknown host)? Only this machine and signed-in sessions (a
/// bearer token here would be a guess no limit counts).
pub(crate) fn privileged(client: Client, headers: &HeaderMap, keys: Option<&Keys>) -> bool {
    client.local || keys.is_some_and(|keys| keys.signed_in(headers))
}

/// May a host that names no route be told which domains exist? Under a configured domain
/// (a typo in the port) yes; a host under none only when it is this machine's own address
/// (`127.0.0.1:24306`, `[::1]`, a name under `localhost`, which no other site can make a
/// browser send): a DNS-rebound page names its own host and must not learn them.
pub(crate) fn may_list_domains(error: &route::RouteError, host: &str) -> bool {
    if !matches!(error, route::RouteError::UnknownDomain { .. }) {
        return true;
    }
    let name = route::split_port(host).0.to_ascii_lowercase();
    route::is_local(&name) || route::is_loopback_name(&name)
}

/// One of the domain's own origins that may read responses with the user's cookie: the same
/// scheme and port as the request (an `http://` page could be anyone's on the path, another
/// port is another server), a target portproxy would serve, and not a public port's (a page
/// anyone may use must not read private apps).
fn private_origin(origin: &str, visit: &Visit) -> bool {
    let Some(authority) = origin
        .strip_prefix(visit.scheme)
        .and_then(|rest| rest.strip_prefix("://"))
    else {
        return false;
    };
    if authority.is_empty() || authority.contains(['/', '@', '?', '#', '\\']) {
        return false;
    }
    let default = if visit.scheme == "https" { "443" } else { "80" };
    let port_of = |authority| route::split_port(authority).1.unwrap_or(default);
    if port_of(authority) != port_of(visit.host) {
        return false;
    }
    match route::parse(authority, &[visit.domain]) {
        Ok(Route::Dashboard { .. }) => true,
        Ok(Route::Forward { target, port, .. }) => {
            visit.policy.check(&target, port).is_ok()
                && !policy::rules::is_public(visit.public_ports, &target, port)
        }
        Ok(Route::Name { name, .. }) => !visit.public_names.contains(&name),
        Err(_) => false,
    }
}

/// The header the dashboard's page sends its token in (a cross-origin form can't set it).
pub(crate) const DASHBOARD_TOKEN_HEADER: &str = "x-portproxy-dashboard";

/// Why the dashboard may not make or end a share for this request (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActRefusal {
    /// Not this machine: a signed-in session elsewhere sees the dashboard but makes no shares.
    NotThisMachine,
    /// Another origin (another port's page, another site) or no `Origin` on a change.
    CrossOrigin,
    /// Without the page's token.
    NoToken,
}

impl ActRefusal {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            ActRefusal::NotThisMachine => "not_this_machine",
            ActRefusal::CrossOrigin => "cross_origin",
            ActRefusal::NoToken => "no_token",
        }
    }
}

impl std::fmt::Display for ActRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ActRefusal::NotThisMachine => "shares are made and ended only on this machine: run `portproxy share PORT` there (over ssh, say)",
            ActRefusal::CrossOrigin => "share actions are taken only by the dashboard's own page (same origin)",
            ActRefusal::NoToken => "share actions need the dashboard page's token: reload the dashboard",
        })
    }
}

/// May this request, already past the gate to the dashboard, list, make or end shares? Only
/// this machine's user: a share outlives the session that made it (it survives sign-out and a
/// new token) and opens the port to the LAN or a tunnel, which a remote session can't reach
/// and should not widen. Only the dashboard's own page: a sibling port's page may read the
/// dashboard with credentials (CORS on public domains), so `Origin` must be exactly `own`
/// (`http://localhost:24306`), a browser's `Sec-Fetch-Site` must say same-origin, a change
/// (not GET) must carry `Origin`, and the page's `token` must come in its header.
pub(crate) fn may_act(
    client: Client,
    method: &Method,
    own: &str,
    headers: &HeaderMap,
    token: &str,
) -> Result<(), ActRefusal> {
    if !client.local {
        return Err(ActRefusal::NotThisMachine);
    }
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match header(ORIGIN.as_str()) {
        Some(origin) if !origin.eq_ignore_ascii_case(own) => return Err(ActRefusal::CrossOrigin),
        None if method != Method::GET => return Err(ActRefusal::CrossOrigin),
        _ => {}
    }
    if header("sec-fetch-site").is_some_and(|site| site != "same-origin") {
        return Err(ActRefusal::CrossOrigin);
    }
    let given = header(DASHBOARD_TOKEN_HEADER).unwrap_or("");
    let matches = !token.is_empty()
        && given.len() == token.len()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_bytes(),
            token.as_bytes(),
        ));
    if !matches {
        return Err(ActRefusal::NoToken);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::cookie::SESSION_COOKIE;
    use crate::proxy::headers::tests::map;
    use proptest::prelude::*;

    const TOKEN: &str = "0123456789abcdef-token";
    const NOW: u64 = 1_700_000_000;

    fn open_policy() -> Policy {
        Policy {
            allow_hosts: vec!["db.internal".parse().unwrap()],
            deny_ports: policy::DEFAULT_DENY_PORTS.to_vec(),
            own_ports: vec![24306, 24307],
        }
    }

    /// A store with one session of `auth`'s: its cookie.
    fn signed_in(auth: &Auth, sessions: &Sessions) -> String {
        let id = sessions.issue(auth.tag(), None, NOW).unwrap();
        format!("{SESSION_COOKIE}={id}")
    }

    fn keys<'a>(auth: &'a Auth, sessions: &'a Sessions, limiter: &'a Limiter) -> Keys<'a> {
        Keys {
            auth,
            sessions,
            limiter,
            now: Instant::now(),
            unix: NOW,
        }
    }

    fn remote() -> Client {
        Client {
            ip: Some("203.0.113.9".parse().unwrap()),
            local: false,
        }
    }

    fn local() -> Client {
        Client {
            ip: Some("127.0.0.1".parse().unwrap()),
            local: true,
        }
    }

    fn visit<'a>(domain: &'a str, client: Client, method: &'a Method) -> Visit<'a> {
        static POLICY: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
        Visit {
            domain,
            host: "5173.dev.example.com",
            dashboard: false,
            public_port: false,
            public_ports: &[PublicPort::Local(9000)],
            policy: POLICY.get_or_init(open_policy),
            public_names: &[],
            path: "/",
            method,
            scheme: "https",
            client,
            browser: true,
        }
    }

    #[test]
    fn who_the_client_is() {
        let peer = |ip: &str| Some(ip.parse::<IpAddr>().unwrap());
        type Row<'a> = (
            Option<IpAddr>,
            bool,
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
            bool,
        );
        let rows: [Row; 12] = [
            (peer("127.0.0.1"), false, &[], Some("127.0.0.1"), true),
            (peer("::1"), false, &[], Some("::1"), true),
            (None, true, &[], None, true),
            (peer("203.0.113.9"), false, &[], Some("203.0.113.9"), false),
            // A client's own X-Forwarded-For counts for nothing, remote or local.
            (
                peer("203.0.113.9"),
                false,
                &[("x-forwarded-for", "127.0.0.1")],
                Some("203.0.113.9"),
                false,
            ),
            (
                peer("127.0.0.1"),
                false,
                &[("x-forwarded-for", "192.0.2.77")],
                Some("127.0.0.1"),
                true,
            ),
            (
                None,
                false,
                &[("x-forwarded-for", "192.0.2.77")],
                None,
                true,
            ),
            // Behind a trusted front (Caddy): the hop it appended last.
            (
                peer("127.0.0.1"),
                true,
                &[("x-forwarded-for", "127.0.0.1, 198.51.100.4")],
                Some("198.51.100.4"),
                false,
            ),
            (
                None,
                true,
                &[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "::1")],
                Some("::1"),
                true,
            ),
            (
                peer("::ffff:127.0.0.1"),
                true,
                &[("x-forwarded-for", "::ffff:127.0.0.1")],
                Some("127.0.0.1"),
                true,
            ),
            // A trusted proxy elsewhere on the network.
            (
                peer("10.0.0.2"),
                true,
                &[("x-forwarded-for", "203.0.113.5")],
                Some("203.0.113.5"),
                false,
            ),
            // An unreadable hop is nobody we know.
            (
                peer("127.0.0.1"),
                true,
                &[("x-forwarded-for", "junk")],
                None,
                false,
            ),
        ];
        for (peer, front, headers, ip, is_local) in rows {
            let client = Client::new(peer, front, &map(headers));
            assert_eq!(
                client.ip.map(|ip| ip.to_string()).as_deref(),
                ip,
                "{peer:?} {headers:?}"
            );
            assert_eq!(client.local, is_local, "{peer:?} {headers:?}");
        }
    }

    /// Finding 3 (issue 23): any loopback peer's `X-Forwarded-For` was believed.
    #[test]
    fn finding_3_only_a_trusted_front_speaks_for_its_client() {
        let peer = |ip: &str| Some(ip.parse::<IpAddr>().unwrap());
        let trusted: Vec<Cidr> = vec!["10.0.0.2".parse().unwrap(), "fd00::/64".parse().unwrap()];
        let secret = "00112233445566778899aabbccddeeff";
        let with = |value: &str| map(&[(crate::config::FRONT_HEADER, value)]);
        let rows = [
            (None, map(&[]), None, true),
            (peer("127.0.0.1"), map(&[]), None, false),
            (peer("127.0.0.1"), map(&[]), Some(secret), false),
            (peer("127.0.0.1"), with(secret), Some(secret), true),
            (peer("::1"), with(secret), Some(secret), true),
            (
                peer("127.0.0.1"),
                with("00112233445566778899aabbccddeefe"),
                Some(secret),
                false,
            ),
            (peer("127.0.0.1"), with(secret), None, false),
            (peer("203.0.113.9"), with(secret), Some(secret), false),
            (peer("10.0.0.2"), map(&[]), None, true),
            (peer("10.0.0.3"), map(&[]), None, false),
            (peer("fd00::9"), map(&[]), None, true),
            (peer("::ffff:10.0.0.2"), map(&[]), None, true),
        ];
        for (peer, headers, secret, trusted_front_) in rows {
            assert_eq!(
                trusted_front(peer, &headers, &trusted, secret),
                trusted_front_,
                "{peer:?} {headers:?} {secret:?}"
            );
        }
    }

    #[test]
    fn the_gate_table() {
        let auth = Auth::new(TOKEN).unwrap();
        let sessions = Sessions::open(None);
        let cookie = signed_in(&auth, &sessions);
        let public_names = ["hooks".to_string()];
        let bearer = format!("Bearer {TOKEN}");
        let (get, post, options) = (Method::GET, Method::POST, Method::OPTIONS);
        let pass = |cors: Option<&str>, privileged| Action::Pass {
            cors_origin: cors.map(str::to_string),
            privileged,
        };
        let signin = |redirect| Action::SignIn { redirect };
        type Row<'a> = (&'a str, Visit<'a>, Vec<(&'a str, &'a str)>, bool, Action);
        let v = |domain, client, method| visit(domain, client, method);
        let rows: Vec<Row> = vec![
            (
                "local name, local client",
                v("localhost", local(), &get),
                vec![],
                true,
                pass(None, true),
            ),
            (
                "local name, remote client",
                v("localhost", remote(), &get),
                vec![],
                true,
                Action::LocalOnly,
            ),
            (
                "local name, remote client with a session",
                v("localhost", remote(), &get),
                vec![("cookie", &cookie)],
                true,
                Action::LocalOnly,
            ),
            (
                "public, no session, browser",
                v("dev.example.com", remote(), &get),
                vec![],
                true,
                signin(true),
            ),
            (
                "public, no session, from this machine",
                v("dev.example.com", local(), &get),
                vec![],
                true,
                signin(true),
            ),
            (
                "public, no session, curl",
                Visit {
                    browser: false,
                    ..v("dev.example.com", remote(), &get)
                },
                vec![],
                true,
                signin(false),
            ),
            (
                "public, wrong bearer",
                Visit {
                    browser: false,
                    ..v("dev.example.com", remote(), &get)
                },
                vec![("authorization", "Bearer nope")],
                true,
                signin(false),
            ),
            (
                "public, session",
                v("dev.example.com", remote(), &get),
                vec![("cookie", &cookie)],
                true,
                pass(None, true),
            ),
            (
                "public, bearer",
                v("dev.example.com", remote(), &get),
                vec![("authorization", &bearer)],
                true,
                pass(None, true),
            ),
            (
                "public, no_auth",
                v("dev.example.com", remote(), &get),
                vec![],
                false,
                pass(None, true),
            ),
            (
                "public port",
                Visit {
                    public_port: true,
                    ..v("dev.example.com", remote(), &get)
                },
                vec![],
                true,
                pass(None, false),
            ),
            (
                "login page",
                Visit {
                    dashboard: true,
                    path: "/login",
                    ..v("dev.example.com", remote(), &get)
                },
                vec![],
                true,
                Action::LoginPage,
            ),
            (
                "login form",
                Visit {
                    dashboard: true,
                    path: "/login",
                    ..v("dev.example.com", remote(), &post)
                },
                vec![],
                true,
                Action::LoginAttempt,
            ),
            (
                "logout",
                Visit {
                    dashboard: true,
                    path: "/logout",
                    ..v("dev.example.com", remote(), &get)
                },
                vec![],
                true,
                Action::Logout,
            ),
            (
                "/login on a port is the app's",
                Visit {
                    path: "/login",
                    ..v("dev.example.com", remote(), &get)
                },
                vec![],
                true,
                signin(true),
            ),
            (
                "dashboard, no session",
                Visit {
                    dashboard: true,
                    path: "/api/ports",
                    ..v("dev.example.com", remote(), &get)
                },
                vec![],
                true,
                signin(true),
            ),
            (
                "CORS from another private port",
                v("dev.example.com", remote(), &get),
                vec![
                    ("cookie", &cookie),
                    ("origin", "https://8000.dev.example.com"),
                ],
                true,
                pass(Some("https://8000.dev.example.com"), true),
            ),
            (
                "CORS from the dashboard",
                v("dev.example.com", remote(), &get),
                vec![("cookie", &cookie), ("origin", "https://dev.example.com")],
                true,
                pass(Some("https://dev.example.com"), true),
            ),
            (
                "no CORS for its own origin",
                v("dev.example.com", remote(), &get),
                vec![
                    ("cookie", &cookie),
                    ("origin", "https://5173.dev.example.com"),
                ],
                true,
                pass(None, true),
            ),
            (
                "no CORS for http:// origins",
                v("dev.example.com", remote(), &get),
                vec![
                    ("cookie", &cookie),
                    ("origin", "http://8000.dev.example.com"),
                ],
                true,
                pass(None, true),
            ),
            (
                "CORS from a name",
                v("dev.example.com", remote(), &get),
                vec![
                    ("cookie", &cookie),
                    ("origin", "https://shop-web.dev.example.com"),
                ],
                true,
                pass(Some("https://shop-web.dev.example.com"), true),
            ),
            (
                "no CORS for a public port's name",
                Visit {
                    public_names: &public_names,
                    ..v("dev.example.com", remote(), &get)
                },
                vec![
                    ("cookie", &cookie),
                    ("origin", "https://hooks.dev.example.com"),
                ],
                true,
                pass(None, true),
            ),
            (
                "no CORS for a public port",
                v("dev.example.com", remote(), &get),
                vec![
                    ("cookie", &cookie),
                    ("origin", "https://9000.dev.example.com"),
                ],
                true,
                pass(None, true),
            ),
            (
                "CORS from an allowed host's port",
                v("dev.example.com", remote(), &get),
                vec![
                    ("cookie", &cookie),
                    ("origin", "https://db.internal--5432.dev.example.com"),
                ],
                true,
                pass(Some("https://db.internal--5432.dev.example.com"), true),
            ),
            // Finding 9 (issue 23): any origin that parsed under the domain got access.
            (
                "no CORS for another port of the front",
                v("dev.example.com", remote(), &get),
                vec![
                    ("cookie", &cookie),
                    ("origin", "https://8000.dev.example.com:1"),
                ],
                true,
                pass(None, true),
            ),
            (
                "no CORS for a target portproxy would not serve",
                v("dev.example.com", remote(), &get),
                vec![
                    ("cookie", &cookie),
                    ("origin", "https://nothere--5.dev.example.com"),
                ],
                true,
                pass(None, true),
            ),
            (
                "no CORS for a denied port",
                v("dev.example.com", remote(), &get),
                vec![
                    ("cookie", &cookie),
                    ("origin", "https://22.dev.example.com"),
                ],
                true,
                pass(None, true),
            ),
            (
                "no CORS for another site",
                v("dev.example.com", remote(), &get),
                vec![("cookie", &cookie), ("origin", "https://evil.example")],
                true,
                pass(None, true),
            ),
            (
                "no CORS for a look-alike",
                v("dev.example.com", remote(), &get),
                vec![
                    ("cookie", &cookie),
                    ("origin", "https://8000.dev.example.com.evil.example"),
                ],
                true,
                pass(None, true),
            ),
            (
                "preflight from a private port",
                v("dev.example.com", remote(), &options),
                vec![
                    ("origin", "https://8000.dev.example.com"),
                    ("access-control-request-method", "PUT"),
                ],
                true,
                Action::Preflight {
                    origin: "https://8000.dev.example.com".into(),
                },
            ),
            (
                "preflight from a public port",
                v("dev.example.com", remote(), &options),
                vec![
                    ("origin", "https://9000.dev.example.com"),
                    ("access-control-request-method", "PUT"),
                ],
                true,
                signin(true),
            ),
        ];
        for (name, visit, headers, needs_auth, expected) in rows {
            let limiter = Limiter::default();
            let keys = keys(&auth, &sessions, &limiter);
            let keys = needs_auth.then_some(&keys);
            assert_eq!(check(&visit, &map(&headers), keys), expected, "{name}");
        }
    }

    /// Finding 10 (issue 23): the 404 for any host listed the domains to any local page.
    #[test]
    fn finding_10_unknown_hosts_get_no_domain_list() {
        let unknown = |host: &str| route::RouteError::UnknownDomain { host: host.into() };
        let rows = [
            ("127.0.0.1:24306", true),
            ("localhost:24306", true),
            ("[::1]:24306", true),
            ("5173.localhost:24306", true),
            ("rebind.evil.example:24306", false),
            ("evil.example", false),
            ("localhost.evil.example", false),
        ];
        for (host, listed) in rows {
            assert_eq!(may_list_domains(&unknown(host), host), listed, "{host}");
        }
        let typo = route::RouteError::BadPort {
            label: "51a3".into(),
        };
        assert!(may_list_domains(&typo, "51a3.localhost"));
    }

    #[test]
    fn lists_only_for_this_machine_and_signed_in_users() {
        let auth = Auth::new(TOKEN).unwrap();
        let (sessions, limiter) = (Sessions::open(None), Limiter::default());
        let cookie = signed_in(&auth, &sessions);
        let keys = keys(&auth, &sessions, &limiter);
        let keys = Some(&keys);
        assert!(privileged(local(), &map(&[]), keys));
        assert!(privileged(local(), &map(&[]), None));
        assert!(!privileged(remote(), &map(&[]), keys));
        assert!(!privileged(remote(), &map(&[]), None));
        assert!(privileged(remote(), &map(&[("cookie", &cookie)]), keys));
        let bearer = format!("Bearer {TOKEN}");
        assert!(!privileged(
            remote(),
            &map(&[("authorization", &bearer)]),
            keys
        ));
    }

    /// Finding 4 (issue 23): a right bearer token was accepted from a client the limit had
    /// stopped, so guessing went on at full speed.
    #[test]
    fn finding_4_a_limited_client_is_refused_before_its_token_is_looked_at() {
        let auth = Auth::new(TOKEN).unwrap();
        let (sessions, limiter) = (Sessions::open(None), Limiter::default());
        let keys = keys(&auth, &sessions, &limiter);
        let get = Method::GET;
        let api = Visit {
            browser: false,
            ..visit("dev.example.com", remote(), &get)
        };
        let right = format!("Bearer {TOKEN}");
        for _ in 0..50 {
            let pass = check(&api, &map(&[("authorization", &right)]), Some(&keys));
            assert!(
                matches!(pass, Action::Pass { .. }),
                "a right token costs nothing"
            );
        }
        for _ in 0..10 {
            let wrong = check(
                &api,
                &map(&[("authorization", "Bearer wrong")]),
                Some(&keys),
            );
            assert_eq!(wrong, Action::SignIn { redirect: false });
        }
        let limited = check(&api, &map(&[("authorization", &right)]), Some(&keys));
        assert!(
            matches!(limited, Action::TooManyAttempts { .. }),
            "{limited:?}"
        );
        let post = Method::POST;
        let login = Visit {
            dashboard: true,
            path: "/login",
            ..visit("dev.example.com", remote(), &post)
        };
        assert!(matches!(
            check(&login, &map(&[]), Some(&keys)),
            Action::TooManyAttempts { .. }
        ));
        // A session is no guess.
        let cookie = signed_in(&auth, &sessions);
        let pass = check(&api, &map(&[("cookie", &cookie)]), Some(&keys));
        assert!(matches!(pass, Action::Pass { .. }), "{pass:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100_000))]

        /// For any host, path, method, cookies and forwarded headers: a remote client without
        /// the token never gets past the gate to a port that isn't public, never to another
        /// host's port (nor a loopback alias) because the same number is public here, and
        /// never sees a list of ports.
        #[test]
        fn an_unsigned_remote_request_never_reaches_a_private_port(
            host in "([0-9]{1,5}|[a-z0-9-]{1,12}--[0-9]{1,5}|(localhost|127-0-1-1|198-51-100-10|db\\.internal)--(9000|[0-9]{1,5})|localhost)?\\.?(localhost|dev\\.example\\.com|evil\\.example)(:[0-9]{1,5})?",
            path in "/[a-z/]{0,12}",
            method in prop::sample::select(vec!["GET", "POST", "OPTIONS", "PUT", "DELETE"]),
            cookie in "[ -~]{0,60}",
            forwarded in prop::option::of("[0-9a-f.:, ]{0,40}"),
            peer in prop::sample::select(vec!["203.0.113.9", "2001:db8::1", "198.51.100.7"]),
            authorization in prop::option::of("Bearer [ -~]{0,24}"),
            origin in prop::option::of("https?://[0-9a-z.-]{0,30}"),
            public_ports in prop::collection::vec(prop::sample::select(vec![9000u16, 80, 5173, 19_999]), 0..3),
        ) {
            let auth = Auth::new(TOKEN).unwrap();
            let mut pairs: Vec<(&str, String)> = vec![("cookie", cookie.clone())];
            if let Some(f) = &forwarded { pairs.push(("x-forwarded-for", f.clone())); }
            if let Some(a) = &authorization { pairs.push(("authorization", a.clone())); }
            if let Some(o) = &origin { pairs.push(("origin", o.clone())); }
            pairs.push(("access-control-request-method", "GET".into()));
            let mut headers = HeaderMap::new();
            for (k, v) in &pairs {
                if let Ok(v) = http::HeaderValue::from_str(v) {
                    headers.append(*k, v);
                }
            }
            let client = Client::new(Some(peer.parse().unwrap()), false, &headers);
            prop_assert!(!client.local);
            let method: Method = method.parse().unwrap();
            let domains = ["localhost", "dev.example.com"];
            let (sessions, limiter) = (Sessions::open(None), Limiter::default());
            let keys = keys(&auth, &sessions, &limiter);
            let Ok(route) = route::parse(&host, &domains) else {
                prop_assert!(!privileged(client, &headers, Some(&keys)));
                return Ok(());
            };
            let public_ports: Vec<PublicPort> =
                public_ports.into_iter().map(PublicPort::Local).collect();
            // As the glue decides it (proxy::admit).
            let (domain, dashboard, public_port, this_machine) = match &route {
                Route::Dashboard { domain } => (domain.clone(), true, false, None),
                // A name that points at no port now (one that does is checked as its port).
                Route::Name { domain, .. } => (domain.clone(), false, false, None),
                Route::Forward { domain, target, port } => (
                    domain.clone(),
                    false,
                    policy::rules::is_public(&public_ports, target, *port),
                    Some((*target == route::Target::Localhost, *port)),
                ),
            };
            let visit = Visit {
                domain: &domain,
                host: &host,
                dashboard,
                public_port,
                public_ports: &public_ports,
                policy: &open_policy(),
                public_names: &[],
                path: &path,
                method: &method,
                scheme: "https",
                client,
                browser: true,
            };
            if let Action::Pass { privileged, .. } = check(&visit, &headers, Some(&keys)) {
                prop_assert!(public_port, "{host} {path} passed");
                prop_assert!(!privileged);
                let (local, port) = this_machine.expect("only a port is public");
                prop_assert!(local, "{host}: another host's port passed unsigned");
                prop_assert!(public_ports.contains(&PublicPort::Local(port)));
            }
        }
    }

    #[test]
    fn only_the_dashboard_page_on_this_machine_acts() {
        const OWN: &str = "http://localhost:24306";
        const TOKEN: &str = "f00d";
        let local = Client {
            ip: Some(std::net::Ipv4Addr::LOCALHOST.into()),
            local: true,
        };
        let remote = Client {
            ip: Some("203.0.113.9".parse().unwrap()),
            local: false,
        };
        let page = [
            ("origin", OWN),
            ("sec-fetch-site", "same-origin"),
            (DASHBOARD_TOKEN_HEADER, TOKEN),
        ];
        let without = |name: &str| -> Vec<(&str, &str)> {
            page.iter().copied().filter(|(n, _)| *n != name).collect()
        };
        let with = |name: &'static str, value: &'static str| -> Vec<(&'static str, &'static str)> {
            let mut h: Vec<_> = page.iter().copied().filter(|(n, _)| *n != name).collect();
            h.push((name, value));
            h
        };
        use ActRefusal::*;
        type Headers<'a> = Vec<(&'a str, &'a str)>;
        let rows: Vec<(Client, Method, Headers, Result<(), ActRefusal>)> = vec![
            (local, Method::POST, page.to_vec(), Ok(())),
            (local, Method::DELETE, page.to_vec(), Ok(())),
            (local, Method::GET, without("origin"), Ok(())),
            (
                local,
                Method::POST,
                with("origin", "HTTP://LOCALHOST:24306"),
                Ok(()),
            ),
            (local, Method::POST, without("sec-fetch-site"), Ok(())),
            (remote, Method::POST, page.to_vec(), Err(NotThisMachine)),
            (remote, Method::GET, page.to_vec(), Err(NotThisMachine)),
            (local, Method::POST, without("origin"), Err(CrossOrigin)),
            (
                local,
                Method::POST,
                with("origin", "http://5173.localhost:24306"),
                Err(CrossOrigin),
            ),
            (
                local,
                Method::GET,
                with("origin", "http://5173.localhost:24306"),
                Err(CrossOrigin),
            ),
            (
                local,
                Method::POST,
                with("origin", "null"),
                Err(CrossOrigin),
            ),
            (
                local,
                Method::POST,
                with("sec-fetch-site", "same-site"),
                Err(CrossOrigin),
            ),
            (
                local,
                Method::GET,
                with("sec-fetch-site", "cross-site"),
                Err(CrossOrigin),
            ),
            (
                local,
                Method::POST,
                without(DASHBOARD_TOKEN_HEADER),
                Err(NoToken),
            ),
            (
                local,
                Method::POST,
                with(DASHBOARD_TOKEN_HEADER, "f00e"),
                Err(NoToken),
            ),
            (
                local,
                Method::POST,
                with(DASHBOARD_TOKEN_HEADER, "f00"),
                Err(NoToken),
            ),
        ];
        for (client, method, headers, want) in rows {
            assert_eq!(
                may_act(client, &method, OWN, &map(&headers), TOKEN),
                want,
                "{client:?} {method} {headers:?}"
            );
        }
        // An empty token (none could be made) never matches.
        let empty = with(DASHBOARD_TOKEN_HEADER, "");
        assert_eq!(
            may_act(local, &Method::POST, OWN, &map(&empty), ""),
            Err(NoToken)
        );
    }
}

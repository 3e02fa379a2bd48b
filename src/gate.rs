//! The one rule between "this machine" and "the internet", as a pure function of the visit
//! and the request's headers: a local name is served only to this machine, a public name only
//! to someone signed in (or on a public port), and lists of ports and domains only to those.
//! It runs before anything is dialled, looked up or listed; the Pingora phase only carries
//! out its answer.

use std::net::IpAddr;

use http::header::{ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION, ORIGIN};
use http::{HeaderMap, Method};

use crate::auth::Auth;
use crate::policy::{self, PublicPort};
use crate::route::{self, Route};

/// Who sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The peer's address, or behind a loopback front proxy (Caddy) the hop it appended last
    /// to `X-Forwarded-For`; None when that hop is unreadable.
    pub ip: Option<IpAddr>,
    /// The request comes from this machine.
    pub local: bool,
}

impl Client {
    /// `peer` is None for a Unix-socket peer, which only a process on this machine (our own
    /// Caddy) can be. A front proxy on loopback says who its client was in `X-Forwarded-For`
    /// (Caddy replaces whatever the client sent there); anyone else is who they are.
    pub fn new(peer: Option<IpAddr>, headers: &HeaderMap) -> Client {
        let peer = peer.map(|ip| ip.to_canonical());
        if peer.is_some_and(|ip| !ip.is_loopback()) {
            return Client {
                ip: peer,
                local: false,
            };
        }
        let Some(forwarded) = headers.get_all("x-forwarded-for").iter().next_back() else {
            return Client {
                ip: peer,
                local: true,
            };
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
}

/// One request, as the gate sees it.
#[derive(Debug, Clone)]
pub struct Visit<'a> {
    /// The base domain the host matched.
    pub domain: &'a str,
    /// The host as the client sent it (`5173.dev.example.com:8443`).
    pub host: &'a str,
    /// The dashboard (the base domain itself) rather than a port.
    pub dashboard: bool,
    /// The port is one anyone may reach on a public domain.
    pub public_port: bool,
    /// Ports anyone may reach: their pages get no credentialed CORS access.
    pub public_ports: &'a [PublicPort],
    pub path: &'a str,
    pub method: &'a Method,
    /// `http` or `https`, as the client used it.
    pub scheme: &'a str,
    pub client: Client,
    /// A browser (it accepts HTML): sent to the login page rather than answered 401.
    pub browser: bool,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
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
    /// `POST /login`: check the token (rate limited).
    LoginAttempt,
    /// `/logout`: clear the cookie.
    Logout,
    /// A CORS preflight from one of the domain's own private origins: 204 with these headers.
    Preflight { origin: String },
    /// No session: a browser is sent to the login page, anyone else gets 401. `guess`: it
    /// sent a wrong bearer token, which counts against the login rate limit.
    SignIn { redirect: bool, guess: bool },
}

/// The gate. `auth` is None where the domain needs no sign-in (`no_auth`).
pub fn check(visit: &Visit, headers: &HeaderMap, auth: Option<&Auth>) -> Action {
    if route::is_local(visit.domain) {
        return if visit.client.local {
            Action::Pass {
                cors_origin: None,
                privileged: true,
            }
        } else {
            Action::LocalOnly
        };
    }
    let Some(auth) = auth else {
        return Action::Pass {
            cors_origin: None,
            privileged: true,
        };
    };
    match (visit.dashboard, visit.path) {
        (true, "/login") if visit.method == Method::POST => return Action::LoginAttempt,
        (true, "/login") => return Action::LoginPage,
        (true, "/logout") => return Action::Logout,
        _ => {}
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
    if auth.allows(headers) {
        let own = format!("{}://{}", visit.scheme, visit.host);
        return Action::Pass {
            cors_origin: origin.filter(|o| !o.eq_ignore_ascii_case(&own)),
            privileged: true,
        };
    }
    if visit.public_port {
        return Action::Pass {
            cors_origin: None,
            privileged: false,
        };
    }
    Action::SignIn {
        redirect: visit.browser,
        guess: headers.contains_key(AUTHORIZATION) && auth::bearer(headers).is_some(),
    }
}

/// May a client that is not past the gate see port and domain lists (error pages before the
/// gate ran: a malformed or unknown host)? Only this machine and signed-in users.
pub fn privileged(client: Client, headers: &HeaderMap, auth: Option<&Auth>) -> bool {
    client.local || auth.is_some_and(|auth| auth.allows(headers))
}

/// One of the domain's own origins that may read responses with the user's cookie: the same
/// scheme as the request (an `http://` page could be anyone's on the path), and not a public
/// port's (a page anyone may use must not read private apps).
fn private_origin(origin: &str, visit: &Visit) -> bool {
    let Some(host) = origin
        .strip_prefix(visit.scheme)
        .and_then(|rest| rest.strip_prefix("://"))
    else {
        return false;
    };
    if host.is_empty() || host.contains(['/', '@', '?', '#', '\\']) {
        return false;
    }
    match route::parse(host, &[visit.domain]) {
        Ok(Route::Dashboard { .. }) => true,
        Ok(Route::Forward { target, port, .. }) => {
            !policy::is_public(visit.public_ports, &target, port)
        }
        Err(_) => false,
    }
}

use crate::auth;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SESSION_COOKIE;
    use crate::proxy::headers::tests::map;
    use proptest::prelude::*;

    const TOKEN: &str = "0123456789abcdef-token";

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
        Visit {
            domain,
            host: "5173.dev.example.com",
            dashboard: false,
            public_port: false,
            public_ports: &[PublicPort::Local(9000)],
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
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
            bool,
        );
        let rows: [Row; 9] = [
            (peer("127.0.0.1"), &[], Some("127.0.0.1"), true),
            (peer("::1"), &[], Some("::1"), true),
            (None, &[], None, true),
            (peer("203.0.113.9"), &[], Some("203.0.113.9"), false),
            // A remote client's own X-Forwarded-For counts for nothing.
            (
                peer("203.0.113.9"),
                &[("x-forwarded-for", "127.0.0.1")],
                Some("203.0.113.9"),
                false,
            ),
            // Behind Caddy: the hop it appended last.
            (
                peer("127.0.0.1"),
                &[("x-forwarded-for", "127.0.0.1, 198.51.100.4")],
                Some("198.51.100.4"),
                false,
            ),
            (
                None,
                &[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "::1")],
                Some("::1"),
                true,
            ),
            (
                peer("::ffff:127.0.0.1"),
                &[("x-forwarded-for", "::ffff:127.0.0.1")],
                Some("127.0.0.1"),
                true,
            ),
            // An unreadable hop is nobody we know.
            (
                peer("127.0.0.1"),
                &[("x-forwarded-for", "junk")],
                None,
                false,
            ),
        ];
        for (peer, headers, ip, is_local) in rows {
            let client = Client::new(peer, &map(headers));
            assert_eq!(
                client.ip.map(|ip| ip.to_string()).as_deref(),
                ip,
                "{peer:?} {headers:?}"
            );
            assert_eq!(client.local, is_local, "{peer:?} {headers:?}");
        }
    }

    #[test]
    fn the_gate_table() {
        let auth = Auth::new(TOKEN).unwrap();
        let cookie = format!("{SESSION_COOKIE}={}", auth.session());
        let bearer = format!("Bearer {TOKEN}");
        let (get, post, options) = (Method::GET, Method::POST, Method::OPTIONS);
        let pass = |cors: Option<&str>, privileged| Action::Pass {
            cors_origin: cors.map(str::to_string),
            privileged,
        };
        let signin = |redirect, guess| Action::SignIn { redirect, guess };
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
                signin(true, false),
            ),
            (
                "public, no session, from this machine",
                v("dev.example.com", local(), &get),
                vec![],
                true,
                signin(true, false),
            ),
            (
                "public, no session, curl",
                Visit {
                    browser: false,
                    ..v("dev.example.com", remote(), &get)
                },
                vec![],
                true,
                signin(false, false),
            ),
            (
                "public, wrong bearer",
                Visit {
                    browser: false,
                    ..v("dev.example.com", remote(), &get)
                },
                vec![("authorization", "Bearer nope")],
                true,
                signin(false, true),
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
                signin(true, false),
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
                signin(true, false),
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
                signin(true, false),
            ),
        ];
        for (name, visit, headers, needs_auth, expected) in rows {
            let auth = needs_auth.then_some(&auth);
            assert_eq!(check(&visit, &map(&headers), auth), expected, "{name}");
        }
    }

    #[test]
    fn lists_only_for_this_machine_and_signed_in_users() {
        let auth = Auth::new(TOKEN).unwrap();
        let cookie = format!("{SESSION_COOKIE}={}", auth.session());
        assert!(privileged(local(), &map(&[]), Some(&auth)));
        assert!(privileged(local(), &map(&[]), None));
        assert!(!privileged(remote(), &map(&[]), Some(&auth)));
        assert!(!privileged(remote(), &map(&[]), None));
        assert!(privileged(
            remote(),
            &map(&[("cookie", &cookie)]),
            Some(&auth)
        ));
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
            let client = Client::new(Some(peer.parse().unwrap()), &headers);
            prop_assert!(!client.local);
            let method: Method = method.parse().unwrap();
            let domains = ["localhost", "dev.example.com"];
            let Ok(route) = route::parse(&host, &domains) else {
                prop_assert!(!privileged(client, &headers, Some(&auth)));
                return Ok(());
            };
            let public_ports: Vec<PublicPort> =
                public_ports.into_iter().map(PublicPort::Local).collect();
            // As the glue decides it (proxy::admit).
            let (domain, dashboard, public_port, this_machine) = match &route {
                Route::Dashboard { domain } => (domain.clone(), true, false, None),
                Route::Forward { domain, target, port } => (
                    domain.clone(),
                    false,
                    policy::is_public(&public_ports, target, *port),
                    Some((*target == route::Target::Localhost, *port)),
                ),
            };
            let visit = Visit {
                domain: &domain,
                host: &host,
                dashboard,
                public_port,
                public_ports: &public_ports,
                path: &path,
                method: &method,
                scheme: "https",
                client,
                browser: true,
            };
            if let Action::Pass { privileged, .. } = check(&visit, &headers, Some(&auth)) {
                prop_assert!(public_port, "{host} {path} passed");
                prop_assert!(!privileged);
                let (local, port) = this_machine.expect("only a port is public");
                prop_assert!(local, "{host}: another host's port passed unsigned");
                prop_assert!(public_ports.contains(&PublicPort::Local(port)));
            }
        }
    }
}

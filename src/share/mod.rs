//! Shares: a link that opens one local port, for a while, to whoever holds it.
//!
//! A share is a capability for one target and nothing else. It has its own listener
//! (`proxy::share`), which forwards only to its port whatever `Host`, an absolute-form URI
//! or `X-Forwarded-For` say; the link carries a 256-bit secret that the first visit trades
//! for a cookie scoped to this share, and the address bar is cleaned by a redirect; expiry
//! and revocation are the server's (410). This module decides, without I/O: `decide` is what
//! the share listener does with a request, `cookie` the share's cookie, `duration` how long
//! it lasts in words; `registry` keeps the live shares, `tunnel` runs the user's tunnel tool.

pub(crate) mod cookie;
pub(crate) mod duration;
pub(crate) mod qr;
pub(crate) mod registry;
pub(crate) mod tunnel;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use http::header::HeaderMap;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// The query parameter that carries a share's secret in its link.
pub(crate) const PARAM: &str = "portproxy-share";
/// The longest a share may last.
pub(crate) const MAX_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// Who the share's listener is reachable by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Reach {
    /// An ephemeral loopback port: this machine, or a tunnel tool that relays to it.
    Loopback,
    /// This machine's LAN addresses: a phone on the same network.
    Lan,
}

/// The tunnel tool a share is published through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Via {
    Cloudflared,
    /// `tailscale funnel` (the internet) or, with `public: false`, `tailscale serve`
    /// (the tailnet only).
    Tailscale,
    Ngrok,
}

impl std::str::FromStr for Via {
    type Err = String;
    fn from_str(s: &str) -> Result<Via, String> {
        match s {
            "cloudflared" => Ok(Via::Cloudflared),
            "tailscale" => Ok(Via::Tailscale),
            "ngrok" => Ok(Via::Ngrok),
            other => Err(format!(
                "`{other}` is not a tunnel tool: cloudflared, tailscale or ngrok"
            )),
        }
    }
}

/// A port's visibility at runtime (`share`, `unshare`, `public_ports`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Visibility {
    /// This machine, and signed-in users on public domains.
    Private,
    /// One or more live share links.
    Shared,
    /// Anyone on the public domains, without signing in.
    Public,
}

/// What `share` asks the running instance for (the control channel's JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) port: u16,
    /// Seconds.
    pub(crate) for_secs: u64,
    pub(crate) lan: bool,
    pub(crate) via: Option<Via>,
    /// With `via = tailscale`: `funnel` (the internet) rather than `serve` (the tailnet).
    #[serde(default)]
    pub(crate) public: bool,
}

/// One share, as created; what changes while it lives is in `registry::Live`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Share {
    /// 8 hex digits: how the CLI and the dashboard name it (not a credential).
    pub(crate) id: String,
    pub(crate) port: u16,
    /// 64 hex digits; only ever in the link and in the owner's control channel.
    pub(crate) secret: String,
    pub(crate) created: SystemTime,
    pub(crate) expires: SystemTime,
    pub(crate) reach: Reach,
    pub(crate) via: Option<Via>,
}

/// Why a share no longer opens anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Ended {
    Expired,
    Revoked,
}

/// What the share listener does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// To the share's port, as `Host: localhost:PORT` (the cookie removed first).
    Forward { port: u16 },
    /// The link's first visit: set the cookie and send the browser to the same address
    /// without the secret (`location` is always a path on this origin).
    Exchange {
        location: String,
        set_cookie: String,
    },
    /// Expired or revoked: 410.
    Gone(Ended),
    /// No cookie and no (right) secret: 401, "ask for the link".
    NeedsLink,
}

impl Share {
    /// Whether the share still opens its port at `now`.
    pub(crate) fn expired(&self, now: SystemTime) -> bool {
        now >= self.expires
    }

    /// Seconds left at `now` (0 once expired).
    pub(crate) fn left(&self, now: SystemTime) -> u64 {
        self.expires
            .duration_since(now)
            .map_or(0, |left| left.as_secs())
    }

    /// The link for a listener at `base` (`http://192.168.1.20:41234`).
    pub(crate) fn link(&self, base: &str) -> String {
        format!("{}/?{PARAM}={}", base.trim_end_matches('/'), self.secret)
    }
}

/// What the share listener does with a request: `ended` is the share's end if it has one,
/// `target` is the request target as sent (`/path?q`, or an absolute-form URI), `secure` that
/// the browser used HTTPS (a tunnel), so the cookie may say `Secure`. Nothing in the request
/// chooses where it goes: a forward always goes to the share's port.
pub(crate) fn decide(
    share: &Share,
    ended: Option<Ended>,
    target: &str,
    headers: &HeaderMap,
    secure: bool,
    now: SystemTime,
) -> Verdict {
    if let Some(ended) = ended {
        return Verdict::Gone(ended);
    }
    if share.expired(now) {
        return Verdict::Gone(Ended::Expired);
    }
    let (path, query) = split_target(target);
    if let Some(given) = query.and_then(|q| crate::form::param(q, PARAM)) {
        if !same(&given, &share.secret) {
            return Verdict::NeedsLink;
        }
        let rest = without_secret(query.unwrap_or(""));
        let location = match rest.is_empty() {
            true => same_origin_path(path),
            false => format!("{}?{rest}", same_origin_path(path)),
        };
        return Verdict::Exchange {
            location,
            set_cookie: share.set_cookie(share.left(now), secure),
        };
    }
    if share.held_by(headers) {
        Verdict::Forward { port: share.port }
    } else {
        Verdict::NeedsLink
    }
}

/// Who opened a link, for the "first use from" log line (never for a decision): the peer, or
/// behind a tunnel tool on loopback the address it appended to `X-Forwarded-For`.
pub(crate) fn visitor(peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
    if !peer.is_some_and(|p| p.is_loopback()) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|list| list.rsplit(',').next())
        .and_then(|hop| hop.trim().parse().ok())
        .or(peer)
}

fn same(given: &str, secret: &str) -> bool {
    !secret.is_empty()
        && given.len() == secret.len()
        && bool::from(given.as_bytes().ct_eq(secret.as_bytes()))
}

/// The path and query of a request target; an absolute-form target's scheme and authority
/// are dropped (they choose nothing here).
fn split_target(target: &str) -> (&str, Option<&str>) {
    let rest = match target.find("://") {
        Some(i) if !target[..i].contains('/') => {
            let after = &target[i + 3..];
            after.find(['/', '?']).map_or("", |j| &after[j..])
        }
        _ => target,
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    (path.split('#').next().unwrap_or(""), query)
}

/// A path that a browser reads as one on this origin: `//evil.example/x` or `/\evil.example`
/// would be another host's.
fn same_origin_path(path: &str) -> String {
    format!("/{}", path.trim_start_matches(['/', '\\']))
}

/// The query without the secret's parameter, the others byte for byte.
fn without_secret(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            let key: String = form_urlencoded::parse(key.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            !pair.is_empty() && key != PARAM
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A request target with the secret taken out, for logs.
pub(crate) fn redacted(target: &str) -> String {
    match target.split_once('?') {
        Some((path, query)) if crate::form::param(query, PARAM).is_some() => {
            let rest = without_secret(query);
            let sep = if rest.is_empty() { "" } else { "&" };
            format!("{path}?{rest}{sep}{PARAM}=REDACTED")
        }
        _ => target.to_string(),
    }
}

/// One share as the control channel lists it (with the link: only the owner reads it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Listed {
    pub(crate) id: String,
    pub(crate) port: u16,
    /// The links, one per address it listens on (and the tunnel's first, when there is one).
    pub(crate) links: Vec<String>,
    /// Who can open it: "this machine", "the LAN", "the internet (cloudflared)", …
    pub(crate) who: String,
    pub(crate) reach: Reach,
    pub(crate) via: Option<Via>,
    /// Seconds left (0 once ended).
    pub(crate) left: u64,
    pub(crate) ended: Option<Ended>,
    /// Link visits that got a cookie.
    pub(crate) uses: u64,
    /// The listener's addresses.
    pub(crate) listening: Vec<SocketAddr>,
}

/// Who a share's link works for.
pub(crate) fn who(reach: Reach, via: Option<Via>, public: bool) -> String {
    match (via, reach) {
        (Some(Via::Tailscale), _) if !public => "your tailnet (tailscale serve)".into(),
        (Some(Via::Tailscale), _) => "anyone with the link (tailscale funnel)".into(),
        (Some(Via::Cloudflared), _) => "anyone with the link (cloudflared)".into(),
        (Some(Via::Ngrok), _) => "anyone with the link (ngrok)".into(),
        (None, Reach::Lan) => "anyone with the link on this network (plain HTTP)".into(),
        (None, Reach::Loopback) => "this machine, with the link".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::cookie::{strip_cookies, COOKIE_PREFIX};
    use super::*;
    use http::header::{HeaderValue, COOKIE};
    use proptest::prelude::*;

    const SECRET: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

    pub(super) fn share() -> Share {
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        Share {
            id: "0badc0de".into(),
            port: 5173,
            secret: SECRET.into(),
            created,
            expires: created + Duration::from_secs(3600),
            reach: Reach::Lan,
            via: None,
        }
    }

    fn now() -> SystemTime {
        share().created + Duration::from_secs(60)
    }

    pub(super) fn with_cookie(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    pub(super) fn cookie_of(share: &Share) -> String {
        format!("{}={}", share.cookie_name(), share.cookie_value())
    }

    #[test]
    fn the_link_is_traded_for_a_cookie_and_leaves_the_address_bar() {
        let share = share();
        let none = HeaderMap::new();
        let verdict = decide(
            &share,
            None,
            &format!("/app?x=1&{PARAM}={SECRET}&y"),
            &none,
            false,
            now(),
        );
        let Verdict::Exchange {
            location,
            set_cookie,
        } = verdict
        else {
            panic!("{verdict:?}");
        };
        assert_eq!(location, "/app?x=1&y");
        assert!(!location.contains(SECRET) && !set_cookie.contains(SECRET));
        assert!(set_cookie.starts_with(&format!("{}=", share.cookie_name())));
        assert!(
            set_cookie.contains("Max-Age=3540; HttpOnly; SameSite=Lax"),
            "{set_cookie}"
        );
        assert!(!set_cookie.contains("Secure"));
        let cookie = set_cookie.split(';').next().unwrap();
        assert_eq!(
            decide(&share, None, "/app", &with_cookie(cookie), false, now()),
            Verdict::Forward { port: 5173 }
        );
        let tunnel = decide(
            &share,
            None,
            &format!("/?{PARAM}={SECRET}"),
            &none,
            true,
            now(),
        );
        assert!(
            matches!(tunnel, Verdict::Exchange { ref location, ref set_cookie }
            if location == "/" && set_cookie.ends_with("; Secure")),
            "{tunnel:?}"
        );
    }

    #[test]
    fn without_the_secret_or_its_cookie_nothing_opens() {
        let share = share();
        let rows = [
            ("/", HeaderMap::new()),
            (&*format!("/?{PARAM}=guess"), HeaderMap::new()),
            (&*format!("/?{PARAM}={}", &SECRET[..63]), HeaderMap::new()),
            ("/", with_cookie(&format!("{}=guess", share.cookie_name()))),
            (
                "/",
                with_cookie(&format!(
                    "portproxy-share-ffffffff={}",
                    share.cookie_value()
                )),
            ),
            (
                "/",
                with_cookie(&format!("{}={SECRET}", share.cookie_name())),
            ),
        ];
        for (target, headers) in rows {
            assert_eq!(
                decide(&share, None, target, &headers, false, now()),
                Verdict::NeedsLink,
                "{target} {headers:?}"
            );
        }
    }

    #[test]
    fn an_ended_share_is_gone_even_with_its_cookie() {
        let share = share();
        let cookie = with_cookie(&cookie_of(&share));
        let later = share.expires + Duration::from_secs(1);
        assert_eq!(
            decide(&share, None, "/", &cookie, false, later),
            Verdict::Gone(Ended::Expired)
        );
        assert_eq!(
            decide(&share, None, "/", &cookie, false, share.expires),
            Verdict::Gone(Ended::Expired)
        );
        assert_eq!(
            decide(
                &share,
                Some(Ended::Revoked),
                &format!("/?{PARAM}={SECRET}"),
                &cookie,
                false,
                now()
            ),
            Verdict::Gone(Ended::Revoked)
        );
    }

    #[test]
    fn the_redirect_stays_on_this_origin() {
        let share = share();
        let none = HeaderMap::new();
        let rows = [
            (
                format!("//evil.example/x?{PARAM}={SECRET}"),
                "/evil.example/x",
            ),
            (format!("/\\evil.example?{PARAM}={SECRET}"), "/evil.example"),
            (format!("http://evil.example/p?{PARAM}={SECRET}"), "/p"),
            (format!("http://evil.example?{PARAM}={SECRET}"), "/"),
            (format!("?{PARAM}={SECRET}"), "/"),
        ];
        for (target, want) in rows {
            match decide(&share, None, &target, &none, false, now()) {
                Verdict::Exchange { location, .. } => assert_eq!(location, want, "{target}"),
                other => panic!("{target}: {other:?}"),
            }
        }
    }

    #[test]
    fn logs_never_hold_the_secret() {
        assert_eq!(
            redacted(&format!("/a?{PARAM}={SECRET}&b=2")),
            format!("/a?b=2&{PARAM}=REDACTED")
        );
        assert_eq!(
            redacted(&format!("/?{PARAM}={SECRET}")),
            format!("/?{PARAM}=REDACTED")
        );
        assert_eq!(redacted("/a?b=2"), "/a?b=2");
    }

    fn hostile_target() -> impl Strategy<Value = String> {
        let host = prop_oneof![
            Just("localhost:22".to_string()),
            Just("127.0.0.1:24306".to_string()),
            Just("localhost".to_string()),
            Just("db.internal--5432.localhost".to_string()),
            "[a-z0-9.:-]{0,20}",
        ];
        let path = "[/\\\\a-z0-9.?&=%#@:-]{0,30}";
        prop_oneof![
            path.prop_map(|p| p.to_string()),
            (host, path).prop_map(|(h, p)| format!("http://{h}{p}")),
        ]
    }

    proptest! {
        /// Whatever a request says (Host, absolute-form URI, X-Forwarded-For, cookies, a
        /// guessed secret), a share opens only its own port, only with its cookie or secret,
        /// and sends the browser only to a path on the share's own origin.
        #[test]
        fn a_share_opens_only_its_own_port(
            target in hostile_target(),
            host in "[ -~]{0,30}",
            forwarded in "[ -~]{0,30}",
            cookie in "[ -~]{0,40}",
            with_secret in any::<bool>(),
            with_cookie in any::<bool>(),
            secure in any::<bool>(),
        ) {
            let share = share();
            let mut headers = HeaderMap::new();
            for (name, value) in [("host", &host), ("x-forwarded-for", &forwarded), ("cookie", &cookie)] {
                if let Ok(value) = HeaderValue::from_str(value) {
                    headers.append(name, value);
                }
            }
            if with_cookie {
                headers.append(COOKIE, HeaderValue::from_str(&cookie_of(&share)).unwrap());
            }
            let target = match with_secret {
                true => format!("{target}{}{PARAM}={SECRET}", if target.contains('?') { "&" } else { "?" }),
                false => target,
            };
            match decide(&share, None, &target, &headers, secure, now()) {
                Verdict::Forward { port } => {
                    prop_assert_eq!(port, share.port);
                    prop_assert!(with_cookie);
                }
                Verdict::Exchange { location, set_cookie } => {
                    prop_assert!(with_secret);
                    prop_assert!(location.starts_with('/'));
                    prop_assert!(!location.starts_with("//") && !location.starts_with("/\\"));
                    prop_assert!(!location.contains(SECRET) && !set_cookie.contains(SECRET));
                }
                Verdict::NeedsLink => prop_assert!(!with_cookie || target.contains(PARAM)),
                Verdict::Gone(_) => prop_assert!(false, "not ended"),
            }
            let edits = strip_cookies(&headers);
            let mut after = headers.clone();
            crate::edit::apply(&mut after, edits);
            for value in after.get_all(COOKIE) {
                prop_assert!(!value.as_bytes().windows(COOKIE_PREFIX.len()).any(|w| w == COOKIE_PREFIX.as_bytes()));
            }
        }
    }
}

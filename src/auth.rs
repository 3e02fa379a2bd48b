//! Who may use a public domain: the access token, the session cookie derived from it, where
//! the login page may send a browser back to, CORS between the domain's own ports, and the
//! per-address limit on login attempts.
//!
//! Pure, except `generate_token` (the OS's randomness) and the limiter's clock (passed in).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use blake2::digest::{FixedOutput, KeyInit, Mac};
use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, COOKIE};
use subtle::ConstantTimeEq;

use crate::proxy::headers::Edit;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "portproxy_session";
/// Sessions last 30 days; changing the token ends them all sooner.
pub const SESSION_MAX_AGE: u64 = 30 * 24 * 3600;

/// The access token and the session value made from it.
#[derive(Clone, PartialEq, Eq)]
pub struct Auth {
    token: String,
    /// A keyed hash of a fixed label: the cookie never carries the token itself, and a new
    /// token invalidates every session.
    session: String,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Auth { token: <hidden> }")
    }
}

impl Auth {
    pub fn new(token: &str) -> Auth {
        let key = blake2::Blake2s256::default();
        let key = blake2::digest::Digest::chain_update(key, token.as_bytes()).finalize_fixed();
        let mut mac =
            <blake2::Blake2sMac256 as KeyInit>::new_from_slice(&key).expect("a 32-byte key fits");
        mac.update(b"portproxy session v1");
        Auth {
            token: token.to_string(),
            session: hex(&mac.finalize_fixed()),
        }
    }

    pub fn session(&self) -> &str {
        &self.session
    }

    /// Constant time, so response timing says nothing about how much of a guess was right.
    pub fn token_matches(&self, candidate: &str) -> bool {
        candidate.len() == self.token.len()
            && bool::from(candidate.as_bytes().ct_eq(self.token.as_bytes()))
    }

    fn session_matches(&self, candidate: &str) -> bool {
        candidate.len() == self.session.len()
            && bool::from(candidate.as_bytes().ct_eq(self.session.as_bytes()))
    }

    /// A session cookie or `Authorization: Bearer TOKEN`.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        cookie_values(headers, SESSION_COOKIE).any(|v| self.session_matches(v))
            || bearer(headers).is_some_and(|t| self.token_matches(t))
    }

    /// Removes our cookie and our bearer token, so no upstream ever sees them.
    pub fn strip_credentials(&self, headers: &HeaderMap) -> Vec<Edit> {
        let mut edits = Vec::new();
        if bearer(headers).is_some_and(|t| self.token_matches(t)) {
            edits.push(Edit::Remove(AUTHORIZATION));
        }
        let cookies: Vec<&str> = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let ours = |pair: &&str| {
            pair.trim()
                .split_once('=')
                .is_some_and(|(k, _)| k.trim() == SESSION_COOKIE)
        };
        if cookies
            .iter()
            .flat_map(|c| c.split(';'))
            .any(|pair| ours(&pair))
        {
            edits.push(Edit::Remove(COOKIE));
            let rest: Vec<&str> = cookies
                .iter()
                .flat_map(|c| c.split(';'))
                .filter(|pair| !ours(pair) && !pair.trim().is_empty())
                .map(str::trim)
                .collect();
            if let Ok(value) = HeaderValue::from_str(&rest.join("; ")) {
                if !rest.is_empty() {
                    edits.push(Edit::Set(COOKIE, value));
                }
            }
        }
        edits
    }
}

/// A fresh token: 32 bytes from the OS, hex.
pub fn generate_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(std::io::Error::other)?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The values of cookie `name` in all `Cookie` headers.
fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|c| c.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k.trim() == name).then(|| v.trim())
        })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `Set-Cookie` for a new session on `domain` and all its subdomains.
pub fn session_cookie(auth: &Auth, domain: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={}; Domain={domain}; Path=/; Max-Age={SESSION_MAX_AGE}; HttpOnly; SameSite=Lax{secure}",
        auth.session()
    )
}

/// `Set-Cookie` that ends the session.
pub fn cleared_cookie(domain: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Domain={domain}; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}")
}

/// Where the login page may send the browser afterwards: an http(s) URL on `domain` or under
/// it, or a path on the dashboard. Anything else (another site, `//evil`, userinfo tricks)
/// is not an open redirect: None.
pub fn safe_next(next: &str, domain: &str) -> Option<String> {
    if next.contains(['\\', '\r', '\n', '\t', ' ']) {
        return None;
    }
    if next.starts_with('/') && !next.starts_with("//") {
        return Some(next.to_string());
    }
    let rest = next
        .strip_prefix("https://")
        .or_else(|| next.strip_prefix("http://"))?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains('@') {
        return None;
    }
    let host = authority.rsplit_once(':').map_or(authority, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            authority
        }
    });
    let host = host.to_ascii_lowercase();
    (host == domain || host.ends_with(&format!(".{domain}"))).then(|| next.to_string())
}

/// Whether `origin` (`https://5173.dev.example.com`) is one of `domain`'s own origins.
pub fn same_site_origin(origin: &str, domain: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.contains(['/', '@', '?', '#', '\\']) && safe_next(origin, domain).is_some()
}

/// Headers that let `origin` read this response with credentials.
pub fn cors_headers(origin: &str) -> Vec<(HeaderName, String)> {
    vec![
        (
            http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
            origin.to_string(),
        ),
        (
            http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            "true".into(),
        ),
        (http::header::VARY, "Origin".into()),
    ]
}

/// The answer to a CORS preflight from one of the domain's own origins.
pub fn preflight_headers(origin: &str, headers: &HeaderMap) -> Vec<(HeaderName, String)> {
    let asked = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let mut out = cors_headers(origin);
    let method = asked(http::header::ACCESS_CONTROL_REQUEST_METHOD);
    out.push((
        http::header::ACCESS_CONTROL_ALLOW_METHODS,
        if method.is_empty() {
            "GET, POST, PUT, PATCH, DELETE, OPTIONS".into()
        } else {
            method
        },
    ));
    let wanted = asked(http::header::ACCESS_CONTROL_REQUEST_HEADERS);
    if !wanted.is_empty() {
        out.push((http::header::ACCESS_CONTROL_ALLOW_HEADERS, wanted));
    }
    out.push((http::header::ACCESS_CONTROL_MAX_AGE, "600".into()));
    out
}

/// Login attempts per client address: a burst of `BURST`, then one per `REFILL`.
pub struct Limiter {
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

const BURST: f64 = 10.0;
const REFILL: Duration = Duration::from_secs(6);

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

impl Limiter {
    /// Takes one attempt for `ip` at `now`, or says how long to wait.
    pub fn attempt(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 10_000 {
            // Forget addresses that have refilled anyway; bounds memory under a spray.
            buckets.retain(|_, (_, at)| now.duration_since(*at) < REFILL.mul_f64(BURST));
        }
        let (tokens, at) = buckets.entry(ip).or_insert((BURST, now));
        let refilled =
            (*tokens + now.duration_since(*at).as_secs_f64() / REFILL.as_secs_f64()).min(BURST);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            Ok(())
        } else {
            *tokens = refilled;
            Err(REFILL.mul_f64(1.0 - refilled))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::headers::apply;
    use crate::proxy::headers::tests::map;

    #[test]
    fn sessions_and_bearer_tokens() {
        let auth = Auth::new("s3cret-token-value");
        assert_eq!(auth.session().len(), 64);
        assert!(!auth.session().contains("s3cret"));
        assert_ne!(Auth::new("other").session(), auth.session());
        let cookie = format!("a=1; {SESSION_COOKIE}={}; b=2", auth.session());
        assert!(auth.allows(&map(&[("cookie", &cookie)])));
        assert!(auth.allows(&map(&[("authorization", "Bearer s3cret-token-value")])));
        assert!(auth.allows(&map(&[("authorization", "bearer  s3cret-token-value ")])));
        assert!(!auth.allows(&map(&[("authorization", "Bearer s3cret-token-valuX")])));
        assert!(!auth.allows(&map(&[("cookie", &format!("{SESSION_COOKIE}=abc"))])));
        assert!(!auth.allows(&map(&[])));
        assert!(format!("{auth:?}").contains("hidden"));
    }

    #[test]
    fn credentials_never_reach_upstream() {
        let auth = Auth::new("tok");
        let mut h = map(&[
            (
                "cookie",
                &format!("theme=dark; {SESSION_COOKIE}={}", auth.session()),
            ),
            ("cookie", "lang=en"),
            ("authorization", "Bearer tok"),
        ]);
        let edits = auth.strip_credentials(&h);
        apply(&mut h, edits);
        assert_eq!(h.get("authorization"), None);
        assert_eq!(h.get("cookie").unwrap(), "theme=dark; lang=en");
        // The app's own Authorization passes.
        let mut h = map(&[
            ("authorization", "Bearer the-apps-own"),
            ("cookie", &format!("{SESSION_COOKIE}=x")),
        ]);
        let edits = auth.strip_credentials(&h);
        apply(&mut h, edits);
        assert_eq!(h.get("authorization").unwrap(), "Bearer the-apps-own");
        assert_eq!(h.get("cookie"), None);
    }

    #[test]
    fn no_open_redirects() {
        let d = "dev.example.com";
        let rows = [
            ("https://5173.dev.example.com/app?x=1", true),
            ("https://dev.example.com/", true),
            ("http://5173.dev.example.com:8443/", true),
            ("/api/ports", true),
            ("https://evil.com/", false),
            ("https://dev.example.com.evil.com/", false),
            ("https://evildev.example.com/", false),
            ("//evil.com/", false),
            ("https://dev.example.com@evil.com/", false),
            ("https://evil.com\\@dev.example.com/", false),
            ("javascript:alert(1)", false),
            ("", false),
        ];
        for (next, ok) in rows {
            assert_eq!(safe_next(next, d).is_some(), ok, "{next}");
        }
        assert!(same_site_origin("https://5173.dev.example.com", d));
        assert!(!same_site_origin("https://5173.dev.example.com/x", d));
        assert!(!same_site_origin("https://evil.com", d));
        assert!(!same_site_origin("null", d));
    }

    #[test]
    fn cookies_are_scoped_and_flagged() {
        let auth = Auth::new("t");
        let c = session_cookie(&auth, "dev.example.com", true);
        assert!(c.starts_with(&format!(
            "{SESSION_COOKIE}={}; Domain=dev.example.com; Path=/",
            auth.session()
        )));
        assert!(
            c.contains("; HttpOnly") && c.contains("; SameSite=Lax") && c.ends_with("; Secure")
        );
        assert!(!session_cookie(&auth, "dev.example.com", false).contains("Secure"));
        assert!(cleared_cookie("dev.example.com", false).contains("Max-Age=0"));
    }

    #[test]
    fn login_attempts_are_limited_per_address() {
        let limiter = Limiter::default();
        let (a, b): (IpAddr, IpAddr) = (
            "203.0.113.1".parse().unwrap(),
            "203.0.113.2".parse().unwrap(),
        );
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(limiter.attempt(a, t0).is_ok());
        }
        let wait = limiter.attempt(a, t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= REFILL);
        assert!(
            limiter.attempt(b, t0).is_ok(),
            "another address is not affected"
        );
        assert!(
            limiter.attempt(a, t0 + REFILL).is_ok(),
            "one attempt back per refill"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(100_000))]

        /// Whatever `next` a client sends, the redirect stays on the domain.
        #[test]
        fn next_never_leaves_the_domain(next in "(https?://|/|//)?[a-z0-9.@:/\\\\?#%-]{0,40}") {
            if let Some(url) = safe_next(&next, "dev.example.com") {
                let relative = url.starts_with('/') && !url.starts_with("//");
                let host = url.split("://").nth(1).and_then(|r| r.split(['/', '?', '#']).next()).unwrap_or("");
                let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
                proptest::prop_assert!(relative || host == "dev.example.com" || host.ends_with(".dev.example.com"), "{url}");
                proptest::prop_assert!(!url.contains('@') || relative);
            }
        }

        /// Any Cookie and Authorization headers: no panic, and our cookie never survives.
        #[test]
        fn stripping_never_leaves_our_cookie(cookie in "[ -~]{0,80}", bearer in "[ -~]{0,30}") {
            let auth = Auth::new("tok");
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&format!("{cookie}; {SESSION_COOKIE}={}", auth.session())) {
                h.insert(COOKIE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&format!("Bearer {bearer}")) {
                h.insert(AUTHORIZATION, v);
            }
            let edits = auth.strip_credentials(&h);
            apply(&mut h, edits);
            let left = h.get(COOKIE).map(|v| v.to_str().unwrap_or("").to_string()).unwrap_or_default();
            proptest::prop_assert!(!left.split(';').any(|p| p.trim().starts_with(&format!("{SESSION_COOKIE}="))), "{left}");
        }
    }

    #[test]
    fn tokens_are_random() {
        let (a, b) = (generate_token().unwrap(), generate_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}

//! Who may use a public domain: the access token and the file it is kept in, the session
//! cookie derived from it, where the login page may send a browser back to, CORS between the
//! domain's own ports, and the limit on login attempts and token guesses.
//!
//! Pure, except `generate_token` (the OS's randomness), `stored_token` and `in_force` (the
//! token file) and the limiter's clock (passed in).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use blake2::digest::{FixedOutput, KeyInit, Mac};
use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, COOKIE};
use subtle::ConstantTimeEq;

use crate::edit::Edit;

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

/// The shortest token accepted: anything shorter is guessable (or an empty file).
pub const MIN_TOKEN: usize = 16;

/// Why a token can't be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadToken {
    TooShort { len: usize },
    NotPrintable,
}

impl fmt::Display for BadToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadToken::TooShort { len } => write!(
                f,
                "the access token has {len} characters; at least {MIN_TOKEN} are needed"
            ),
            BadToken::NotPrintable => f.write_str(
                "the access token may hold only printable ASCII characters, without spaces",
            ),
        }
    }
}

impl Auth {
    /// A token of at least `MIN_TOKEN` printable ASCII characters (no spaces).
    pub fn new(token: &str) -> Result<Auth, BadToken> {
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BadToken::NotPrintable);
        }
        if token.len() < MIN_TOKEN {
            return Err(BadToken::TooShort { len: token.len() });
        }
        let key = blake2::Blake2s256::default();
        let key = blake2::digest::Digest::chain_update(key, token.as_bytes()).finalize_fixed();
        let mut mac =
            <blake2::Blake2sMac256 as KeyInit>::new_from_slice(&key).expect("a 32-byte key fits");
        mac.update(b"portproxy session v1");
        Ok(Auth {
            token: token.to_string(),
            session: hex(&mac.finalize_fixed()),
        })
    }

    pub fn session(&self) -> &str {
        &self.session
    }

    /// Constant time, so response timing says nothing about how much of a guess was right.
    /// The token is never empty, so neither is anything that matches it.
    pub fn token_matches(&self, candidate: &str) -> bool {
        !candidate.is_empty()
            && candidate.len() == self.token.len()
            && bool::from(candidate.as_bytes().ct_eq(self.token.as_bytes()))
    }

    fn session_matches(&self, candidate: &str) -> bool {
        candidate.len() == self.session.len()
            && bool::from(candidate.as_bytes().ct_eq(self.session.as_bytes()))
    }

    /// A session cookie or `Authorization: Bearer TOKEN`.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        cookie_pairs(headers)
            .filter_map(session_value)
            .any(|v| std::str::from_utf8(v).is_ok_and(|v| self.session_matches(v)))
            || bearer(headers).is_some_and(|t| self.token_matches(t))
    }

    /// Removes our cookie and our bearer token, so no upstream ever sees them.
    pub fn strip_credentials(&self, headers: &HeaderMap) -> Vec<Edit> {
        let mut edits = Vec::new();
        if bearer(headers).is_some_and(|t| self.token_matches(t)) {
            edits.push(Edit::Remove(AUTHORIZATION));
        }
        // On the header's bytes: a cookie with a non-ASCII value beside ours must not keep
        // ours in the request.
        if cookie_pairs(headers).any(|pair| session_value(pair).is_some()) {
            edits.push(Edit::Remove(COOKIE));
            let rest: Vec<&[u8]> = cookie_pairs(headers)
                .filter(|pair| session_value(pair).is_none())
                .map(<[u8]>::trim_ascii)
                .filter(|pair| !pair.is_empty())
                .collect();
            if let (false, Ok(value)) = (
                rest.is_empty(),
                HeaderValue::from_bytes(&rest.join(&b"; "[..])),
            ) {
                edits.push(Edit::Set(COOKIE, value));
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

/// Every `name=value` pair of every `Cookie` header, as bytes.
fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b';'))
}

/// The value of a `portproxy_session=…` pair; None for any other cookie.
fn session_value(pair: &[u8]) -> Option<&[u8]> {
    let eq = pair.iter().position(|b| *b == b'=')?;
    (pair[..eq].trim_ascii() == SESSION_COOKIE.as_bytes()).then(|| pair[eq + 1..].trim_ascii())
}

/// The token of `Authorization: Bearer TOKEN`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Why the token file can't be used.
#[derive(Debug)]
pub enum TokenFileError {
    Io(std::io::Error),
    Bad(BadToken),
}

impl fmt::Display for TokenFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenFileError::Io(e) => e.fmt(f),
            TokenFileError::Bad(e) => e.fmt(f),
        }
    }
}

/// What `stored_token` found.
pub struct Stored {
    pub auth: Auth,
    pub token: String,
    /// It was made just now (print it once).
    pub created: bool,
    /// Its permissions let others read it; they were tightened to 0600.
    pub tightened: bool,
}

/// The token kept in `path`, or a new one written there. The file is written whole or not at
/// all (temp file, fsync, then linked into place, so a concurrent first start reads the
/// winner's token), readable only by its owner. A stored token that is too short (an empty
/// file after a crash, a `touch`) is an error, never an open door.
pub fn stored_token(path: &Path) -> Result<Stored, TokenFileError> {
    use TokenFileError::{Bad, Io};
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let tightened = owner_only(path).map_err(Io)?;
            let token = text.trim().to_string();
            let auth = Auth::new(&token).map_err(Bad)?;
            return Ok(Stored {
                auth,
                token,
                created: false,
                tightened,
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Io(e)),
    }
    let token = generate_token().map_err(Io)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(Io)?;
    let temp = dir.join(format!(".token.{}.tmp", std::process::id()));
    let written = write_private(&temp, &token).and_then(|()| std::fs::hard_link(&temp, path));
    let _ = std::fs::remove_file(&temp);
    match written {
        Ok(()) => Ok(Stored {
            auth: Auth::new(&token).map_err(Bad)?,
            token,
            created: true,
            tightened: false,
        }),
        // Another portproxy made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => stored_token(path),
        Err(e) => Err(Io(e)),
    }
}

/// Replaces the token in `path` with a new one, written whole (temp file, fsync, rename):
/// every session made from the old one ends.
pub fn rotate_token(path: &Path) -> Result<Stored, TokenFileError> {
    use TokenFileError::{Bad, Io};
    let token = generate_token().map_err(Io)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(Io)?;
    let temp = dir.join(format!(".token.{}.tmp", std::process::id()));
    write_private(&temp, &token)
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            Io(e)
        })?;
    Ok(Stored {
        auth: Auth::new(&token).map_err(Bad)?,
        token,
        created: true,
        tightened: false,
    })
}

/// A new file readable by its owner only, holding `token`, on disk before this returns.
fn write_private(path: &Path, token: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, format!("{token}\n").as_bytes())?;
    file.sync_all()
}

/// Where the generated token lives: beside the config file (`~/.config/portproxy/token`).
pub fn token_file(env: &dyn Fn(&str) -> Option<String>) -> std::path::PathBuf {
    crate::config::default_file(env)
        .and_then(|f| f.parent().map(|d| d.join("token")))
        .unwrap_or_else(|| std::path::PathBuf::from("portproxy-token"))
}

/// When to speak: at start, say once what authentication is in force; a reload is quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    Start,
    Reload,
}

/// The token a public domain needs: the one in the settings, else the one stored in the
/// config directory, else a new one, stored (0600) and printed once. None where every domain
/// is local, or with `no_auth` (a warning at start).
pub fn in_force(
    settings: &crate::config::Settings,
    moment: Moment,
) -> Result<Option<Auth>, crate::error::Error> {
    use crate::error::Error;
    let at_start = moment == Moment::Start;
    let Some(public) = settings.public_domain() else {
        return Ok(None);
    };
    if settings.no_auth {
        if at_start {
            log::warn!("authentication is off (no_auth): anyone who reaches {public} reaches every allowed port on this machine");
        }
        return Ok(None);
    }
    if let Some(token) = &settings.auth_token {
        // The config file holds a secret: only its owner may read it.
        if let Some(file) = &settings.file {
            if at_start && owner_only(file).unwrap_or(false) {
                log::warn!(
                    "{} holds auth_token and others could read it: its permissions are now 0600",
                    file.display()
                );
            }
        }
        return Auth::new(token).map(Some).map_err(|e| Error::Token {
            path: settings.file.clone().unwrap_or_default(),
            reason: e.to_string(),
        });
    }
    let path = token_file(&crate::config::process_env);
    let stored = stored_token(&path).map_err(|e| Error::token_file(&path, e))?;
    if at_start && stored.tightened {
        log::warn!(
            "{} could be read by other users: its permissions are now 0600",
            path.display()
        );
    }
    if at_start && stored.created {
        log::info!("generated an access token for {public}: {}", stored.token);
        log::info!("it is stored in {}; sign in at https://{public}/login, or send `Authorization: Bearer TOKEN`", path.display());
    }
    Ok(Some(stored.auth))
}

/// Makes `path` readable by its owner only, as ssh wants of its keys; true if it wasn't.
pub fn owner_only(path: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
            return Ok(true);
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(false)
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
/// is not an open redirect: None. Absolute URLs are read by the `url` crate, as a browser
/// reads them (`https://evil.com\@dev.example.com/` is evil.com).
pub fn safe_next(next: &str, domain: &str) -> Option<String> {
    if next.contains(['\\', '\r', '\n', '\t', ' ']) {
        return None;
    }
    if next.starts_with('/') && !next.starts_with("//") {
        return Some(next.to_string());
    }
    let url = url::Url::parse(next).ok()?;
    let host = match url.host()? {
        url::Host::Domain(host) => host.to_ascii_lowercase(),
        _ => return None,
    };
    let on_domain = host == domain || host.ends_with(&format!(".{domain}"));
    (matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && on_domain)
        .then(|| next.to_string())
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

/// Login attempts and bearer-token guesses: per client a burst of `BURST`, then one per
/// `REFILL`; IPv6 clients by their /64 (one machine usually holds a whole /64); and a
/// ceiling for everyone together, so a spray from many addresses gets no more tries.
pub struct Limiter {
    state: Mutex<LimiterState>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    V4(u32),
    V6Prefix(u64),
    Unknown,
}

impl Key {
    fn of(ip: Option<IpAddr>) -> Key {
        match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(v4)) => Key::V4(v4.into()),
            Some(IpAddr::V6(v6)) => Key::V6Prefix((u128::from(v6) >> 64) as u64),
            None => Key::Unknown,
        }
    }
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(now: Instant, burst: f64) -> Bucket {
        Bucket {
            tokens: burst,
            at: now,
        }
    }

    /// Refills for the time passed, then takes one token or says how long until there is one.
    fn take(&mut self, now: Instant, burst: f64, refill: Duration) -> Result<(), Duration> {
        let passed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + passed / refill.as_secs_f64()).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(refill.mul_f64(1.0 - self.tokens))
        }
    }
}

struct LimiterState {
    clients: HashMap<Key, Bucket>,
    everyone: Option<Bucket>,
}

const BURST: f64 = 10.0;
const REFILL: Duration = Duration::from_secs(6);
const GLOBAL_BURST: f64 = 100.0;
const GLOBAL_REFILL: Duration = Duration::from_secs(1);
/// The most clients remembered; the least recently seen is forgotten first.
const MAX_CLIENTS: usize = 4096;

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            state: Mutex::new(LimiterState {
                clients: HashMap::new(),
                everyone: None,
            }),
        }
    }
}

impl Limiter {
    /// Takes one attempt for `ip` at `now`, or says how long to wait.
    pub fn attempt(&self, ip: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let key = Key::of(ip);
        if !state.clients.contains_key(&key) && state.clients.len() >= MAX_CLIENTS {
            let full_again = REFILL.mul_f64(BURST);
            state
                .clients
                .retain(|_, b| now.saturating_duration_since(b.at) < full_again);
            if state.clients.len() >= MAX_CLIENTS {
                if let Some(oldest) = state
                    .clients
                    .iter()
                    .min_by_key(|(_, b)| b.at)
                    .map(|(k, _)| *k)
                {
                    state.clients.remove(&oldest);
                }
            }
        }
        let everyone = state
            .everyone
            .get_or_insert_with(|| Bucket::full(now, GLOBAL_BURST));
        let mut all = *everyone;
        let client = state
            .clients
            .entry(key)
            .or_insert_with(|| Bucket::full(now, BURST));
        client.take(now, BURST, REFILL)?;
        let result = all.take(now, GLOBAL_BURST, GLOBAL_REFILL);
        state.everyone = Some(all);
        result
    }

    /// How many clients it remembers (bounded by `MAX_CLIENTS`).
    pub fn remembered(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clients
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::apply;
    use crate::proxy::headers::tests::map;

    const TOK: &str = "tok-0123456789abcdef";

    #[test]
    fn sessions_and_bearer_tokens() {
        let auth = Auth::new("s3cret-token-value").unwrap();
        assert_eq!(auth.session().len(), 64);
        assert!(!auth.session().contains("s3cret"));
        assert_ne!(
            Auth::new("other-token-value-x").unwrap().session(),
            auth.session()
        );
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
        let auth = Auth::new(TOK).unwrap();
        let mut h = map(&[
            (
                "cookie",
                &format!("theme=dark; {SESSION_COOKIE}={}", auth.session()),
            ),
            ("cookie", "lang=en"),
            ("authorization", &format!("Bearer {TOK}")),
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
    }

    #[test]
    fn cookies_are_scoped_and_flagged() {
        let auth = Auth::new(TOK).unwrap();
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
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(limiter.attempt(ip("203.0.113.1"), t0).is_ok());
        }
        let wait = limiter.attempt(ip("203.0.113.1"), t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= REFILL);
        assert!(
            limiter.attempt(ip("203.0.113.2"), t0).is_ok(),
            "another address is not affected"
        );
        assert!(
            limiter.attempt(ip("203.0.113.1"), t0 + REFILL).is_ok(),
            "one attempt back per refill"
        );
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        for i in 0..10u16 {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            assert!(limiter.attempt(Some(ip), t0).is_ok());
        }
        let same_64: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert!(limiter.attempt(Some(same_64), t0).is_err());
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limiter.attempt(Some(other_64), t0).is_ok());
    }

    #[test]
    fn a_spray_is_bounded_in_memory_and_in_tries() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        let mut allowed = 0;
        for i in 0..20_000u32 {
            let ip = IpAddr::V4((0xC633_6400 + i).into());
            allowed += usize::from(limiter.attempt(Some(ip), t0).is_ok());
        }
        assert!(limiter.remembered() <= MAX_CLIENTS);
        assert_eq!(allowed, GLOBAL_BURST as usize, "the ceiling for everyone");
    }

    #[test]
    fn tokens_must_be_long_and_printable() {
        assert_eq!(Auth::new("").unwrap_err(), BadToken::TooShort { len: 0 });
        assert!(Auth::new("short").is_err());
        assert_eq!(
            Auth::new("has a space in it!!").unwrap_err(),
            BadToken::NotPrintable
        );
        assert!(Auth::new("0123456789abcdef").is_ok());
        let auth = Auth::new(TOK).unwrap();
        assert!(!auth.token_matches(""));
    }

    /// Finding: `Cookie: theme=café; portproxy_session=…` reached the app whole.
    #[test]
    fn a_non_ascii_cookie_does_not_hide_ours() {
        let auth = Auth::new(TOK).unwrap();
        let raw = format!("theme=caf\u{e9}; {SESSION_COOKIE}={}; b=2", auth.session());
        let latin1: Vec<u8> = raw.chars().map(|c| c as u32 as u8).collect();
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_bytes(&latin1).unwrap());
        assert!(auth.allows(&h), "still signed in");
        let edits = auth.strip_credentials(&h);
        apply(&mut h, edits);
        assert_eq!(h.get(COOKIE).unwrap().as_bytes(), b"theme=caf\xe9; b=2");
    }

    #[test]
    fn the_token_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/token");
        let made = stored_token(&path).unwrap();
        assert!(made.created);
        assert_eq!(made.token.len(), 64);
        let again = stored_token(&path).unwrap();
        assert!(!again.created);
        assert_eq!(again.token, made.token);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(stored_token(&path).unwrap().tightened);
            assert_eq!(mode(&path), 0o600);
        }
        // An empty file (a crash between create and write, a `touch`) is an error.
        std::fs::write(&path, "").unwrap();
        assert!(matches!(
            stored_token(&path),
            Err(TokenFileError::Bad(BadToken::TooShort { len: 0 }))
        ));
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temp files left"
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
        fn stripping_never_leaves_our_cookie(cookie in "[ -~\u{80}-\u{ff}]{0,80}", bearer in "[ -~]{0,30}") {
            let auth = Auth::new(TOK).unwrap();
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_bytes(format!("{cookie}; {SESSION_COOKIE}={}", auth.session()).as_bytes()) {
                h.insert(COOKIE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&format!("Bearer {bearer}")) {
                h.insert(AUTHORIZATION, v);
            }
            let edits = auth.strip_credentials(&h);
            apply(&mut h, edits);
            let left = h.get(COOKIE).map(|v| v.as_bytes().to_vec()).unwrap_or_default();
            proptest::prop_assert!(!left.split(|b| *b == b';').any(|p| session_value(p).is_some()), "{left:?}");
        }
    }

    #[test]
    fn tokens_are_random() {
        let (a, b) = (generate_token().unwrap(), generate_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}

//! Who may use a public domain: the access token (and the file it is kept in), and, one
//! module each, the sessions issued for it, the session cookie and where the login page may
//! send a browser back to, CORS between the domain's own origins, and the limit on guesses.
//!
//! Pure, except `generate_token` (the OS's randomness), the token and session files, and the
//! limiter's clock (passed in). Which token is in force at start is `start`'s decision.

pub(crate) mod cookie;
pub(crate) mod cors;
pub(crate) mod limiter;
pub(crate) mod sessions;

use std::fmt;
use std::path::Path;

use blake2::digest::{FixedOutput, KeyInit, Mac};
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION, COOKIE};
use subtle::ConstantTimeEq;

use crate::edit::Edit;
use cookie::{cookie_pairs, session_value};

/// The access token, and a tag that names it without revealing it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Auth {
    token: String,
    /// A keyed hash of a fixed label: the sessions issued for a token carry its tag, so a new
    /// token ends them all.
    tag: String,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Auth { token: <hidden> }")
    }
}

/// The shortest token accepted: anything shorter is guessable (or an empty file).
pub(crate) const MIN_TOKEN: usize = 16;

/// Why a token can't be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BadToken {
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
    pub(crate) fn new(token: &str) -> Result<Auth, BadToken> {
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
            tag: hex(&mac.finalize_fixed()),
        })
    }

    pub(crate) fn tag(&self) -> &str {
        &self.tag
    }

    /// Constant time, so response timing says nothing about how much of a guess was right.
    /// The token is never empty, so neither is anything that matches it.
    pub(crate) fn token_matches(&self, candidate: &str) -> bool {
        !candidate.is_empty()
            && candidate.len() == self.token.len()
            && bool::from(candidate.as_bytes().ct_eq(self.token.as_bytes()))
    }

    /// `Authorization: Bearer TOKEN` with this token.
    pub(crate) fn bearer_matches(&self, headers: &HeaderMap) -> bool {
        bearer(headers).is_some_and(|t| self.token_matches(t))
    }

    /// Removes our cookie and our bearer token, so no upstream ever sees them.
    pub(crate) fn strip_credentials(&self, headers: &HeaderMap) -> Vec<Edit> {
        let mut edits = Vec::new();
        if self.bearer_matches(headers) {
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
pub(crate) fn generate_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(std::io::Error::other)?;
    Ok(hex(&bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token of `Authorization: Bearer TOKEN`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Why the token file can't be used.
#[derive(Debug)]
pub(crate) enum TokenFileError {
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
pub(crate) struct Stored {
    pub(crate) auth: Auth,
    pub(crate) token: String,
    /// It was made just now (print it once).
    pub(crate) created: bool,
    /// Its permissions let others read it; they were tightened to 0600.
    pub(crate) tightened: bool,
}

/// The token kept in `path`, or a new one written there. The file is written whole or not at
/// all (temp file, fsync, then linked into place, so a concurrent first start reads the
/// winner's token), readable only by its owner. A stored token that is too short (an empty
/// file after a crash, a `touch`) is an error, never an open door.
pub(crate) fn stored_token(path: &Path) -> Result<Stored, TokenFileError> {
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
    let written =
        write_private(&temp, &format!("{token}\n")).and_then(|()| std::fs::hard_link(&temp, path));
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
pub(crate) fn rotate_token(path: &Path) -> Result<Stored, TokenFileError> {
    use TokenFileError::{Bad, Io};
    let token = generate_token().map_err(Io)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(Io)?;
    let temp = dir.join(format!(".token.{}.tmp", std::process::id()));
    write_private(&temp, &format!("{token}\n"))
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

/// A new file readable by its owner only, holding `text`, on disk before this returns.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    file.sync_all()
}

/// Makes `path` readable by its owner only, as ssh wants of its keys; true if it wasn't.
pub(crate) fn owner_only(path: &Path) -> std::io::Result<bool> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::cookie::SESSION_COOKIE;
    use crate::edit::apply;
    use crate::proxy::headers::tests::map;

    const TOK: &str = "tok-0123456789abcdef";
    const SESSION: &str = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f";

    #[test]
    fn tags_and_bearer_tokens() {
        let auth = Auth::new("s3cret-token-value").unwrap();
        assert_eq!(auth.tag().len(), 64);
        assert!(!auth.tag().contains("s3cret"));
        assert_ne!(Auth::new("other-token-value-x").unwrap().tag(), auth.tag());
        assert!(auth.bearer_matches(&map(&[("authorization", "Bearer s3cret-token-value")])));
        assert!(auth.bearer_matches(&map(&[("authorization", "bearer  s3cret-token-value ")])));
        assert!(!auth.bearer_matches(&map(&[("authorization", "Bearer s3cret-token-valuX")])));
        assert!(!auth.bearer_matches(&map(&[])));
        assert!(format!("{auth:?}").contains("hidden"));
    }

    #[test]
    fn credentials_never_reach_upstream() {
        let auth = Auth::new(TOK).unwrap();
        let mut h = map(&[
            ("cookie", &format!("theme=dark; {SESSION_COOKIE}={SESSION}")),
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
        let raw = format!("theme=caf\u{e9}; {SESSION_COOKIE}={SESSION}; b=2");
        let latin1: Vec<u8> = raw.chars().map(|c| c as u32 as u8).collect();
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_bytes(&latin1).unwrap());
        assert_eq!(
            cookie::session_ids(&h).collect::<Vec<_>>(),
            [SESSION],
            "still signed in"
        );
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

        /// Any Cookie and Authorization headers: no panic, and our cookie never survives.
        #[test]
        fn stripping_never_leaves_our_cookie(cookie in "[ -~\u{80}-\u{ff}]{0,80}", bearer in "[ -~]{0,30}") {
            let auth = Auth::new(TOK).unwrap();
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_bytes(format!("{cookie}; {SESSION_COOKIE}={SESSION}").as_bytes()) {
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

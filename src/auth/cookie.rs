//! The session cookie (its name, its attributes, reading it back) and where the login page
//! may send a browser afterwards. Pure.

use http::header::{HeaderMap, COOKIE};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "portproxy_session";
/// Sessions last 30 days (the server checks the age too); changing the token ends them all
/// sooner.
pub(crate) const SESSION_MAX_AGE: u64 = 30 * 24 * 3600;

/// Every `name=value` pair of every `Cookie` header, as bytes.
pub(crate) fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b';'))
}

/// The value of a `portproxy_session=…` pair; None for any other cookie.
pub(crate) fn session_value(pair: &[u8]) -> Option<&[u8]> {
    let eq = pair.iter().position(|b| *b == b'=')?;
    (pair[..eq].trim_ascii() == SESSION_COOKIE.as_bytes()).then(|| pair[eq + 1..].trim_ascii())
}

/// Every session id the request carries (a browser may send more than one, e.g. a stale
/// cookie from another domain level).
pub(crate) fn session_ids(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    cookie_pairs(headers)
        .filter_map(session_value)
        .filter_map(|v| std::str::from_utf8(v).ok())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for a new session on `domain` and all its subdomains.
pub(crate) fn session_cookie(id: &str, domain: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={id}; Domain={domain}; Path=/; Max-Age={SESSION_MAX_AGE}; HttpOnly; SameSite=Lax{secure}"
    )
}

/// `Set-Cookie` that ends the session.
pub(crate) fn cleared_cookie(domain: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Domain={domain}; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}")
}

/// Where the login page may send the browser afterwards: an http(s) URL on `domain` or under
/// it, or a path on the dashboard. Anything else (another site, `//evil`, userinfo tricks)
/// is not an open redirect: None. Absolute URLs are read by the `url` crate, as a browser
/// reads them (`https://evil.com\@dev.example.com/` is evil.com).
pub(crate) fn safe_next(next: &str, domain: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::headers::tests::map;

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
        let c = session_cookie("abc123", "dev.example.com", true);
        assert!(c.starts_with(&format!(
            "{SESSION_COOKIE}=abc123; Domain=dev.example.com; Path=/"
        )));
        assert!(
            c.contains("; HttpOnly") && c.contains("; SameSite=Lax") && c.ends_with("; Secure")
        );
        assert!(!session_cookie("abc123", "dev.example.com", false).contains("Secure"));
        assert!(cleared_cookie("dev.example.com", false).contains("Max-Age=0"));
    }

    #[test]
    fn session_ids_are_read_from_every_cookie_header() {
        let h = map(&[
            ("cookie", &format!("a=1; {SESSION_COOKIE}=one; b=2")),
            (
                "cookie",
                &format!("{SESSION_COOKIE}= two ; {SESSION_COOKIE}="),
            ),
        ]);
        assert_eq!(session_ids(&h).collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(session_ids(&map(&[])).count(), 0);
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
    }
}

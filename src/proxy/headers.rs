//! What the upstream sees, and what the browser gets back.
//!
//! Pure: a header map in, a list of `Edit`s out (Pingora's header types keep the
//! client's header-name case beside the map, so edits go through their own setters). Dev servers check `Host` (Vite, webpack, Jupyter)
//! and some check `Origin` (Next.js 16), so by default a request arrives looking as if the
//! browser had opened `http://localhost:PORT` itself; responses that point back at that
//! local origin are pointed at the public one again. Bodies are never touched.

use std::net::IpAddr;

use http::header::{
    HeaderMap, HeaderName, HeaderValue, HOST, LOCATION, ORIGIN, REFERER, SET_COOKIE,
};

#[cfg(test)]
use crate::edit::apply;
pub(crate) use crate::edit::Edit;
use crate::route;

/// The loop guard's header: how many portproxies this request has passed.
pub(crate) const HOPS: &str = "x-portproxy-hops";
/// A request arriving with this many hops is a loop (508).
pub(crate) const MAX_HOPS: u32 = 3;

/// One request's public and local identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Forwarding {
    /// `Host` as the client sent it: `5173.dev.example.com` or `5173.localhost:24306`.
    pub(crate) public_host: String,
    /// `http` or `https`, as the client used it.
    pub(crate) proto: String,
    pub(crate) client_ip: Option<IpAddr>,
    /// The target as the dev server knows itself: `localhost:5173`.
    pub(crate) local_authority: String,
    /// The port dialled, for recognising `127.0.0.1:PORT` and `[::1]:PORT` in responses.
    pub(crate) port: u16,
    /// Leave Host, Origin, Referer, Location and cookies alone.
    pub(crate) preserve_host: bool,
    /// Hops counted so far (from the incoming `x-portproxy-hops`).
    pub(crate) hops: u32,
}

impl Forwarding {
    /// `https://5173.dev.example.com`
    pub(crate) fn public_origin(&self) -> String {
        format!("{}://{}", self.proto, self.public_host)
    }

    /// `http://localhost:5173`
    pub(crate) fn local_origin(&self) -> String {
        format!("http://{}", self.local_authority)
    }

    fn public_port(&self) -> String {
        match route::split_port(&self.public_host) {
            (_, Some(port)) => port.to_string(),
            _ if self.proto == "https" => "443".into(),
            _ => "80".into(),
        }
    }

    fn is_local_authority(&self, authority: &str) -> bool {
        let authority = authority.to_ascii_lowercase();
        authority == self.local_authority
            || [
                format!("localhost:{}", self.port),
                format!("127.0.0.1:{}", self.port),
                format!("[::1]:{}", self.port),
            ]
            .contains(&authority)
    }
}

/// The scheme the client used: a front proxy we trust (`gate::trusted_front`) may tell us
/// with `X-Forwarded-Proto`; anyone else could lie, so they get `http`.
pub(crate) fn client_proto(headers: &HeaderMap, trusted_front: bool) -> &'static str {
    let said = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match said.as_deref() {
        Some("https") if trusted_front => "https",
        _ => "http",
    }
}

/// The hop count a request arrived with (absent or unreadable counts as 0).
pub(crate) fn hops(headers: &HeaderMap) -> u32 {
    headers
        .get(HOPS)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The header that tells an app its public origin (`https://5173.dev.example.com`). No
/// framework's origin check reads it, so it never contradicts the local identity.
pub(crate) const PUBLIC_ORIGIN: &str = "x-portproxy-public-origin";

/// Headers that would describe the request's origin a second time. Frameworks compare them
/// with `Origin` (Next.js: `X-Forwarded-Host`; Rails: `-Host`/`-Proto`; Django with
/// `SECURE_PROXY_SSL_HEADER`: `-Proto`), so each request carries them only when they agree
/// with `Host` — never the client's or Caddy's copies.
const IDENTITY: [&str; 4] = [
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "forwarded",
];

/// Headers no app gets: those in which a client names its own address (Tornado, Flask's
/// `ProxyFix` and others believe them; only `X-Forwarded-For`, which we write, says who the
/// client is), and the secret by which `run`'s Caddy proves it is the front.
const DROPPED: [&str; 4] = [
    "x-real-ip",
    "true-client-ip",
    "x-client-ip",
    crate::config::FRONT_HEADER,
];

/// The edits that give an upstream request one coherent identity: by default the local one
/// (as if the browser had opened `http://localhost:PORT`), with `preserve_host` the public one.
pub(crate) fn rewrite_request(headers: &HeaderMap, fw: &Forwarding) -> Vec<Edit> {
    let mut edits = Vec::new();
    for name in DROPPED {
        if headers.contains_key(name) {
            edits.push(Edit::Remove(HeaderName::from_static(name)));
        }
    }
    set(
        &mut edits,
        HeaderName::from_static(HOPS),
        &(fw.hops + 1).to_string(),
    );
    let public = fw.public_origin();
    set(&mut edits, HeaderName::from_static(PUBLIC_ORIGIN), &public);
    if let Some(ip) = fw.client_ip {
        append_list(
            &mut edits,
            headers,
            HeaderName::from_static("x-forwarded-for"),
            &ip.to_string(),
        );
    }
    if fw.preserve_host {
        public_identity(&mut edits, fw);
    } else {
        local_identity(&mut edits, headers, fw, &public);
    }
    edits
}

/// The public `Host` (left as sent), `Origin` untouched, and forwarding headers that say the same.
fn public_identity(edits: &mut Vec<Edit>, fw: &Forwarding) {
    let [host, proto, port, forwarded] = IDENTITY.map(HeaderName::from_static);
    set(edits, host, &fw.public_host);
    set(edits, proto, &fw.proto);
    set(edits, port, &fw.public_port());
    let mut element = format!("host=\"{}\";proto={}", fw.public_host, fw.proto);
    if let Some(ip) = fw.client_ip {
        let node = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("\"[{v6}]\""),
        };
        element = format!("for={node};{element}");
    }
    set(edits, forwarded, &element);
}

/// `Host: localhost:PORT`, same-origin `Origin`/`Referer` on `http://localhost:PORT`, and no
/// forwarding header that names another host or scheme.
fn local_identity(edits: &mut Vec<Edit>, headers: &HeaderMap, fw: &Forwarding, public: &str) {
    for name in IDENTITY {
        if headers.contains_key(name) {
            edits.push(Edit::Remove(HeaderName::from_static(name)));
        }
    }
    set(edits, HOST, &fw.local_authority);
    let local = fw.local_origin();
    if let Some(origin) = text(headers, &ORIGIN) {
        if origin.eq_ignore_ascii_case(public) {
            set(edits, ORIGIN, &local);
        }
    }
    if let Some(referer) = text(headers, &REFERER) {
        if let Some(rest) = strip_origin(&referer, public) {
            set(edits, REFERER, &format!("{local}{rest}"));
        }
    }
}

/// The edits that point a response back at the public origin.
pub(crate) fn rewrite_response(headers: &HeaderMap, fw: &Forwarding) -> Vec<Edit> {
    let mut edits = Vec::new();
    if fw.preserve_host {
        return edits;
    }
    if let Some(location) = text(headers, &LOCATION) {
        if let Some((authority, rest)) = split_absolute(&location) {
            if fw.is_local_authority(authority) {
                set(
                    &mut edits,
                    LOCATION,
                    &format!("{}{rest}", fw.public_origin()),
                );
            }
        }
    }
    let cookies: Vec<&HeaderValue> = headers.get_all(SET_COOKIE).iter().collect();
    if cookies.is_empty() {
        return edits;
    }
    let local_host = route::split_port(&fw.local_authority).0;
    let rewritten: Vec<HeaderValue> = cookies
        .iter()
        .map(|cookie| {
            cookie
                .to_str()
                .ok()
                .and_then(|text| HeaderValue::from_str(&host_only_cookie(text, local_host)).ok())
                .unwrap_or_else(|| (*cookie).clone())
        })
        .collect();
    if rewritten.iter().zip(&cookies).any(|(new, old)| new != *old) {
        edits.push(Edit::Remove(SET_COOKIE));
        edits.extend(rewritten.into_iter().map(|v| Edit::Append(SET_COOKIE, v)));
    }
    edits
}

/// Drops a `Domain=localhost` (or the target's own name) attribute so the browser scopes the
/// cookie to the public host that set it.
pub(crate) fn host_only_cookie(cookie: &str, local_host: &str) -> String {
    let mut parts = cookie.split(';');
    let mut out = parts.next().unwrap_or_default().to_string();
    for attr in parts {
        let local_domain = attr.split_once('=').is_some_and(|(k, v)| {
            let v = v.trim().trim_start_matches('.');
            k.trim().eq_ignore_ascii_case("domain")
                && (v.eq_ignore_ascii_case("localhost") || v.eq_ignore_ascii_case(local_host))
        });
        if !local_domain {
            out.push(';');
            out.push_str(attr);
        }
    }
    out
}

/// `http://localhost:5173/a?b` → `("localhost:5173", "/a?b")`; relative URLs → None.
fn split_absolute(url: &str) -> Option<(&str, &str)> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &url[7..]
    } else if lower.starts_with("https://") {
        &url[8..]
    } else {
        return None;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((&rest[..end], &rest[end..]))
}

/// The path part of `url` when it is on `origin`: `https://a.b/x` on `https://a.b` → `/x`.
fn strip_origin<'a>(url: &'a str, origin: &str) -> Option<&'a str> {
    let head = url.get(..origin.len())?;
    let rest = &url[origin.len()..];
    (head.eq_ignore_ascii_case(origin) && (rest.is_empty() || rest.starts_with(['/', '?', '#'])))
        .then_some(rest)
}

fn text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_string)
}

fn set(edits: &mut Vec<Edit>, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        edits.push(Edit::Set(name, value));
    }
}

/// Appends `value` to a comma-separated list header, keeping what earlier proxies wrote.
fn append_list(edits: &mut Vec<Edit>, headers: &HeaderMap, name: HeaderName, value: &str) {
    let joined = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(existing) if !existing.trim().is_empty() => format!("{existing}, {value}"),
        _ => value.to_string(),
    };
    set(edits, name, &joined);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fw() -> Forwarding {
        Forwarding {
            public_host: "5173.dev.example.com".into(),
            proto: "https".into(),
            client_ip: Some("203.0.113.7".parse().unwrap()),
            local_authority: "localhost:5173".into(),
            port: 5173,
            preserve_host: false,
            hops: 0,
        }
    }

    /// A header map from pairs, for tests.
    pub(crate) fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        m
    }

    fn req(h: &mut HeaderMap, fw: &Forwarding) {
        let edits = rewrite_request(h, fw);
        apply(h, edits);
    }

    fn resp(h: &mut HeaderMap, fw: &Forwarding) {
        let edits = rewrite_response(h, fw);
        apply(h, edits);
    }

    fn get<'a>(m: &'a HeaderMap, k: &str) -> Option<&'a str> {
        m.get(k).map(|v| v.to_str().unwrap())
    }

    #[test]
    fn request_looks_local() {
        let mut h = map(&[
            ("host", "5173.dev.example.com"),
            ("origin", "https://5173.dev.example.com"),
            ("referer", "https://5173.dev.example.com/src/main.ts?t=1"),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        req(&mut h, &fw());
        assert_eq!(get(&h, "host"), Some("localhost:5173"));
        assert_eq!(get(&h, "origin"), Some("http://localhost:5173"));
        assert_eq!(
            get(&h, "referer"),
            Some("http://localhost:5173/src/main.ts?t=1")
        );
        for name in IDENTITY {
            assert_eq!(get(&h, name), None, "{name}");
        }
        assert_eq!(get(&h, PUBLIC_ORIGIN), Some("https://5173.dev.example.com"));
        assert_eq!(
            get(&h, "x-forwarded-for"),
            Some("198.51.100.1, 203.0.113.7")
        );
        assert_eq!(get(&h, HOPS), Some("1"));
    }

    /// Caddy's (and a client's) forwarding headers never contradict the local identity.
    #[test]
    fn incoming_forwarding_headers_are_removed() {
        let mut h = map(&[
            ("host", "5173.dev.example.com"),
            ("x-forwarded-host", "5173.dev.example.com"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-port", "443"),
            ("forwarded", "for=1.2.3.4;host=evil.example;proto=https"),
            (PUBLIC_ORIGIN, "https://spoofed.example"),
        ]);
        req(&mut h, &fw());
        for name in IDENTITY {
            assert_eq!(get(&h, name), None, "{name}");
        }
        assert_eq!(get(&h, PUBLIC_ORIGIN), Some("https://5173.dev.example.com"));
    }

    /// Each framework's own origin or host check, as its source does it, over the headers it
    /// receives: the checks that would refuse the request.
    fn framework_refusals(h: &HeaderMap) -> Vec<&'static str> {
        let host = get(h, "host").unwrap_or("");
        let origin = get(h, "origin").unwrap_or("");
        let origin_host = origin.split("://").nth(1).unwrap_or("");
        let xfh = get(h, "x-forwarded-host").map(|v| v.split(',').next().unwrap().trim());
        let xfp = get(h, "x-forwarded-proto");
        let hostname = host.rsplit_once(':').map_or(host, |(n, _)| n);
        let mut refused = Vec::new();
        // Next.js (action-handler.ts): Origin's host == X-Forwarded-Host, else Host.
        if origin_host != xfh.unwrap_or(host) {
            refused.push("next.js server action");
        }
        // Rails (request.base_url): X-Forwarded-Proto/-Host, else the scheme and Host.
        if origin != format!("{}://{}", xfp.unwrap_or("http"), xfh.unwrap_or(host)) {
            refused.push("rails forgery protection");
        }
        // Django (CsrfViewMiddleware): Origin == scheme://Host; the scheme is http unless
        // SECURE_PROXY_SSL_HEADER is set, which the default settings don't.
        if origin != format!("http://{host}") {
            refused.push("django csrf");
        }
        // SvelteKit (dev): url.origin from the dev server's protocol and Host.
        if origin != format!("http://{host}") {
            refused.push("sveltekit csrf");
        }
        // Jupyter (check_origin): Origin's host == Host.
        if origin_host != host {
            refused.push("jupyter websocket origin");
        }
        // Vite (hostCheck) and webpack-dev-server (allowedHosts "auto"): localhost names or IPs.
        let local_name = hostname == "localhost"
            || hostname.ends_with(".localhost")
            || hostname.parse::<IpAddr>().is_ok();
        if !local_name {
            refused.push("vite/webpack host check");
        }
        refused
    }

    /// A same-origin POST from the browser, through each kind of URL: every framework's check
    /// passes on the default identity; with `preserve_host` the ones that read forwarding
    /// headers pass and the rest need their own allowed-hosts setting (docs/urls.md says which).
    #[test]
    fn every_framework_sees_one_identity() {
        let rows: [(&str, &str, bool, &[&str]); 6] = [
            ("5173.localhost:24306", "http", false, &[]),
            ("5173.localhost", "https", false, &[]),
            ("5173.dev.example.com", "https", false, &[]),
            ("localhost--5173.dev.example.com:8443", "https", false, &[]),
            (
                "5173.dev.example.com",
                "https",
                true,
                &["django csrf", "sveltekit csrf", "vite/webpack host check"],
            ),
            ("5173.localhost:24306", "http", true, &[]),
        ];
        for (public_host, proto, preserve_host, expected) in rows {
            let f = Forwarding {
                public_host: public_host.into(),
                proto: proto.into(),
                preserve_host,
                ..fw()
            };
            // What the browser and Caddy send.
            let origin = format!("{proto}://{public_host}");
            let mut h = map(&[
                ("host", public_host),
                ("origin", &origin),
                ("x-forwarded-host", public_host),
                ("x-forwarded-proto", proto),
                ("x-forwarded-for", "198.51.100.1"),
            ]);
            req(&mut h, &f);
            assert_eq!(
                framework_refusals(&h),
                expected,
                "{origin} preserve_host={preserve_host}"
            );
        }
    }

    #[test]
    fn cross_origin_passes_untouched() {
        let mut h = map(&[
            ("origin", "https://8000.dev.example.com"),
            ("referer", "https://5173.dev.example.com.evil.com/x"),
        ]);
        req(&mut h, &fw());
        assert_eq!(get(&h, "origin"), Some("https://8000.dev.example.com"));
        assert_eq!(
            get(&h, "referer"),
            Some("https://5173.dev.example.com.evil.com/x")
        );
        // Same host over another scheme is another origin.
        let mut h = map(&[("origin", "http://5173.dev.example.com")]);
        req(&mut h, &fw());
        assert_eq!(get(&h, "origin"), Some("http://5173.dev.example.com"));
    }

    #[test]
    fn local_proxy_port_and_ipv6_client() {
        let f = Forwarding {
            public_host: "5173.localhost:24306".into(),
            proto: "http".into(),
            client_ip: Some("::1".parse().unwrap()),
            hops: 2,
            ..fw()
        };
        let mut h = map(&[("origin", "http://5173.localhost:24306")]);
        req(&mut h, &f);
        assert_eq!(get(&h, "origin"), Some("http://localhost:5173"));
        assert_eq!(get(&h, PUBLIC_ORIGIN), Some("http://5173.localhost:24306"));
        assert_eq!(get(&h, "x-forwarded-for"), Some("::1"));
        assert_eq!(get(&h, HOPS), Some("3"));
        let mut h = map(&[]);
        req(
            &mut h,
            &Forwarding {
                preserve_host: true,
                ..f
            },
        );
        assert_eq!(get(&h, "x-forwarded-port"), Some("24306"));
        assert_eq!(
            get(&h, "forwarded"),
            Some("for=\"[::1]\";host=\"5173.localhost:24306\";proto=http")
        );
    }

    #[test]
    fn preserve_host_keeps_identity_but_still_forwards() {
        let f = Forwarding {
            preserve_host: true,
            ..fw()
        };
        let mut h = map(&[
            ("host", "5173.dev.example.com"),
            ("origin", "https://5173.dev.example.com"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "http"),
        ]);
        req(&mut h, &f);
        assert_eq!(get(&h, "host"), Some("5173.dev.example.com"));
        assert_eq!(get(&h, "origin"), Some("https://5173.dev.example.com"));
        assert_eq!(get(&h, "x-forwarded-host"), Some("5173.dev.example.com"));
        assert_eq!(get(&h, "x-forwarded-proto"), Some("https"));
        assert_eq!(get(&h, "x-forwarded-port"), Some("443"));
        assert_eq!(
            get(&h, "forwarded"),
            Some("for=203.0.113.7;host=\"5173.dev.example.com\";proto=https")
        );
        let mut r = map(&[
            ("location", "http://localhost:5173/x"),
            ("set-cookie", "a=1; Domain=localhost"),
        ]);
        resp(&mut r, &f);
        assert_eq!(get(&r, "location"), Some("http://localhost:5173/x"));
        assert_eq!(get(&r, "set-cookie"), Some("a=1; Domain=localhost"));
    }

    #[test]
    fn location_back_to_public() {
        let rows = [
            (
                "http://localhost:5173/login?next=/",
                "https://5173.dev.example.com/login?next=/",
            ),
            ("http://127.0.0.1:5173", "https://5173.dev.example.com"),
            ("HTTP://[::1]:5173#top", "https://5173.dev.example.com#top"),
            ("http://localhost:8000/", "http://localhost:8000/"),
            ("/relative", "/relative"),
            ("https://github.com/login", "https://github.com/login"),
        ];
        for (from, to) in rows {
            let mut r = map(&[("location", from)]);
            resp(&mut r, &fw());
            assert_eq!(get(&r, "location"), Some(to), "{from}");
        }
    }

    #[test]
    fn cookies_become_host_only() {
        let mut r = map(&[
            ("set-cookie", "sid=1; Path=/; Domain=localhost; HttpOnly"),
            ("set-cookie", "b=2; domain=.LOCALHOST"),
            ("set-cookie", "c=3; Domain=example.org"),
        ]);
        resp(&mut r, &fw());
        let all: Vec<_> = r
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            all,
            ["sid=1; Path=/; HttpOnly", "b=2", "c=3; Domain=example.org"]
        );
    }

    #[test]
    fn proto_is_trusted_only_from_loopback() {
        let h = map(&[("x-forwarded-proto", "https")]);
        assert_eq!(client_proto(&h, true), "https");
        assert_eq!(client_proto(&h, false), "http");
        assert_eq!(client_proto(&map(&[]), true), "http");
        assert_eq!(
            client_proto(&map(&[("x-forwarded-proto", "gopher")]), true),
            "http"
        );
    }

    #[test]
    fn hop_counting() {
        assert_eq!(hops(&map(&[])), 0);
        assert_eq!(hops(&map(&[(HOPS, "2")])), 2);
        assert_eq!(hops(&map(&[(HOPS, "junk")])), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100_000))]

        /// Any header values: no panic, the hop count always advances, and a rewritten
        /// Origin is either the local origin or exactly what came in.
        #[test]
        fn rewriting_never_panics(
            origin in "[ -~]{0,60}",
            referer in "[ -~]{0,60}",
            location in "[ -~]{0,60}",
            cookie in "[ -~]{0,60}",
            hops_in in 0u32..10,
        ) {
            let mut h = HeaderMap::new();
            for (k, v) in [("origin", &origin), ("referer", &referer)] {
                if let Ok(v) = HeaderValue::from_str(v) { h.insert(k, v); }
            }
            let f = Forwarding { hops: hops_in, ..fw() };
            req(&mut h, &f);
            prop_assert_eq!(hops(&h), hops_in + 1);
            if let Some(o) = h.get("origin") {
                let o = o.to_str().unwrap();
                prop_assert!(o == "http://localhost:5173" || o == origin.as_str());
            }
            let mut r = HeaderMap::new();
            for (k, v) in [("location", &location), ("set-cookie", &cookie)] {
                if let Ok(v) = HeaderValue::from_str(v) { r.insert(k, v); }
            }
            resp(&mut r, &f);
        }
    }
}

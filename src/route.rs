//! The host grammar: which port (and which machine) a `Host` header names.
//!
//! Pure: no I/O, no DNS. `parse("localhost--5173.dev.example.com", &domains)` is
//! `Route::Forward { target: Target::Localhost, port: 5173 }`. Every input yields a
//! `Route` or a typed `RouteError`; each error maps to one status and one message.

use std::fmt;
use std::net::Ipv4Addr;

/// Longest name DNS allows (RFC 1035 2.3.4, without the trailing dot).
const MAX_NAME: usize = 253;
/// Longest label DNS allows.
const MAX_LABEL: usize = 63;

/// What a request's host asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// The base domain itself: the dashboard.
    Dashboard { domain: String },
    /// A port on a target machine, reached through `domain`.
    Forward {
        target: Target,
        port: u16,
        domain: String,
    },
    /// A name (`shop-web`, `feature-login.shop-web`): the port it points at now is looked up
    /// in `names::Table`.
    Name { name: String, domain: String },
}

/// The machine a route points at, as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// `localhost`: dialled on both `::1` and `127.0.0.1`.
    Localhost,
    /// A dotted (`127.0.0.1`) or dashed (`127-0-0-1`) IPv4 address.
    Ip(Ipv4Addr),
    /// Any other name; only reachable when `allow_hosts` names it.
    Name(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Localhost => f.write_str("localhost"),
            Target::Ip(ip) => write!(f, "{ip}"),
            Target::Name(name) => f.write_str(name),
        }
    }
}

/// Why a host does not name a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteError {
    /// The host is under none of the configured domains (404).
    UnknownDomain { host: String },
    /// The port part is not 1-65535 in plain decimal (400).
    BadPort { label: String },
    /// The host breaks the grammar (400).
    Malformed { host: String, reason: &'static str },
}

impl RouteError {
    /// The HTTP status this error is answered with.
    pub(crate) fn status(&self) -> u16 {
        match self {
            RouteError::UnknownDomain { .. } => 404,
            RouteError::BadPort { .. } | RouteError::Malformed { .. } => 400,
        }
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::UnknownDomain { host } => {
                write!(f, "`{host}` is not under any domain this proxy serves")
            }
            RouteError::BadPort { label } => write!(
                f,
                "`{label}` is not a port: expected 1-65535, decimal digits, no leading zero"
            ),
            RouteError::Malformed { host, reason } => write!(f, "`{host}` is malformed: {reason}"),
        }
    }
}

/// `localhost` and names under it stay on this machine: no sign-in, Caddy's local CA.
pub(crate) fn is_local(domain: &str) -> bool {
    domain == "localhost" || domain.ends_with(".localhost")
}

/// `localhost` or a loopback address (`127.0.0.1`, `[::1]`), as a Host header names this
/// machine; the port already split off.
pub(crate) fn is_loopback_name(name: &str) -> bool {
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `host:port` → (`host`, Some(`port`)) when what follows the last `:` is all digits; else
/// the whole authority and None.
pub(crate) fn split_port(authority: &str) -> (&str, Option<&str>) {
    match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, Some(port))
        }
        _ => (authority, None),
    }
}

/// Strips a `:port` suffix, lowercases and drops one trailing dot.
///
/// `"5173.LocalHost.:24306"` becomes `"5173.localhost"`.
pub(crate) fn normalize(host: &str) -> Result<String, RouteError> {
    let malformed = |reason| RouteError::Malformed {
        host: host.to_string(),
        reason,
    };
    let name = match split_port(host) {
        (_, None) if host.contains(':') => {
            return Err(malformed("the part after `:` must be a port number"))
        }
        (name, _) => name,
    };
    let name = name.to_ascii_lowercase();
    let name = name.strip_suffix('.').unwrap_or(&name);
    if name.is_empty() {
        return Err(malformed("the host is empty"));
    }
    Ok(name.to_string())
}

/// Parses a `Host` header against the configured base domains.
///
/// `parse("5173.localhost:24306", &["localhost"])` → `Forward { Localhost, 5173 }`.
/// The one check of a DNS name (lowercase, no trailing dot) used for hosts, domains and
/// `allow_hosts`: `[a-z0-9.-]`, at most 253 characters, labels of 1 to 63.
pub(crate) fn check_name(name: &str) -> Result<(), &'static str> {
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err("only letters, digits, `.` and `-` may appear");
    }
    if name.len() > MAX_NAME {
        return Err("names are at most 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("a label between dots is empty");
        }
        if label.len() > MAX_LABEL {
            return Err("a label is longer than 63 characters");
        }
    }
    Ok(())
}

/// The domain a normalized `name` is, or is under; the longest wins, so
/// `a.dev.example.com` is under `dev.example.com` rather than `example.com`.
pub(crate) fn domain_of<'a, S: AsRef<str>>(name: &str, domains: &'a [S]) -> Option<&'a str> {
    domains
        .iter()
        .map(AsRef::as_ref)
        .filter(|d| {
            name == *d
                || (name.len() > d.len()
                    && name.ends_with(d)
                    && name.as_bytes()[name.len() - d.len() - 1] == b'.')
        })
        .max_by_key(|d| d.len())
}

pub(crate) fn parse<S: AsRef<str>>(host: &str, domains: &[S]) -> Result<Route, RouteError> {
    let name = normalize(host)?;
    let malformed = |reason| RouteError::Malformed {
        host: name.clone(),
        reason,
    };
    check_name(&name).map_err(malformed)?;

    let domain = domain_of(&name, domains)
        .ok_or_else(|| RouteError::UnknownDomain { host: name.clone() })?;
    if name == domain {
        return Ok(Route::Dashboard {
            domain: domain.to_string(),
        });
    }
    let labels = &name[..name.len() - domain.len() - 1];
    let (target, port) = match labels.rsplit_once("--") {
        Some((target, port)) => (parse_target(target).map_err(malformed)?, port),
        // `NAME` or `BRANCH.NAME`: labels that are no port and hold no `--`.
        None if labels.split('.').count() <= 2 && labels.split('.').all(crate::names::is_name) => {
            return Ok(Route::Name {
                name: labels.to_string(),
                domain: domain.to_string(),
            })
        }
        None if labels.contains('.') => return Err(malformed(
            "expected PORT, NAME, BRANCH.NAME or TARGET--PORT before the domain, e.g. `5173`, `shop-web` or `localhost--5173`",
        )),
        None if !labels.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(malformed(
                "a name is letters, digits and single `-` inside, and not `localhost`",
            ))
        }
        None => (Target::Localhost, labels),
    };
    Ok(Route::Forward {
        target,
        port: parse_port(port)?,
        domain: domain.to_string(),
    })
}

/// A port exactly as the grammar allows: `1`-`65535`, digits only, no leading zero.
pub(crate) fn parse_port(label: &str) -> Result<u16, RouteError> {
    let bad = || RouteError::BadPort {
        label: label.to_string(),
    };
    if label.is_empty() || label.len() > 5 || label.starts_with('0') {
        return Err(bad());
    }
    if !label.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match label.parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        _ => Err(bad()),
    }
}

/// The machine part of `TARGET--PORT` (also of a `HOST:PORT` setting).
pub(crate) fn parse_target(target: &str) -> Result<Target, &'static str> {
    if target.is_empty() {
        return Err("the target before `--` is empty");
    }
    if target.starts_with("xn--") || target.contains(".xn--") {
        return Err("internationalised (`xn--`) targets are not accepted");
    }
    for label in target.split('.') {
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a target label starts or ends with `-`");
        }
    }
    if target == "localhost" {
        return Ok(Target::Localhost);
    }
    if let Some(ip) = strict_ipv4(target, '.').or_else(|| strict_ipv4(target, '-')) {
        return Ok(Target::Ip(ip));
    }
    Ok(Target::Name(target.to_string()))
}

/// Four decimal octets 0-255 without leading zeros, joined by `sep`.
/// Anything looser (`127.1`, `0177.0.0.1`) is not an address here.
fn strict_ipv4(text: &str, sep: char) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(sep);
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty()
            || part.len() > 3
            || (part.len() > 1 && part.starts_with('0'))
            || !part.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOMAINS: [&str; 4] = ["localhost", "dev.example.com", "example.com", "domain.com"];

    fn fwd(target: Target, port: u16, domain: &str) -> Result<Route, RouteError> {
        Ok(Route::Forward {
            target,
            port,
            domain: domain.into(),
        })
    }

    fn name(n: &str) -> Target {
        Target::Name(n.into())
    }

    fn malformed(host: &str, reason: &'static str) -> Result<Route, RouteError> {
        Err(RouteError::Malformed {
            host: host.into(),
            reason,
        })
    }

    const NOT_A_NAME: &str = "a name is letters, digits and single `-` inside, and not `localhost`";

    fn named(name: &str, domain: &str) -> Result<Route, RouteError> {
        Ok(Route::Name {
            name: name.into(),
            domain: domain.into(),
        })
    }

    fn bad_port(label: &str) -> Result<Route, RouteError> {
        Err(RouteError::BadPort {
            label: label.into(),
        })
    }

    #[test]
    fn a_name_is_under_its_longest_domain() {
        let domains = ["localhost", "example.com", "dev.example.com"];
        for (name, domain) in [
            ("5173.localhost", Some("localhost")),
            ("localhost", Some("localhost")),
            ("05173.dev.example.com", Some("dev.example.com")),
            ("a.example.com", Some("example.com")),
            ("xexample.com", None),
            ("evil.com", None),
        ] {
            assert_eq!(domain_of(name, &domains), domain, "{name}");
        }
    }

    #[test]
    fn grammar_table() {
        use Target::*;
        let ip = |a, b, c, d| Ip(Ipv4Addr::new(a, b, c, d));
        let rows: Vec<(&str, Result<Route, RouteError>)> = vec![
            // The dashboard at each base domain.
            (
                "localhost",
                Ok(Route::Dashboard {
                    domain: "localhost".into(),
                }),
            ),
            (
                "dev.example.com:443",
                Ok(Route::Dashboard {
                    domain: "dev.example.com".into(),
                }),
            ),
            // Short form.
            ("5173.localhost", fwd(Localhost, 5173, "localhost")),
            ("5173.localhost:24306", fwd(Localhost, 5173, "localhost")),
            ("1.localhost", fwd(Localhost, 1, "localhost")),
            ("65535.localhost", fwd(Localhost, 65535, "localhost")),
            // Case and one trailing dot.
            ("5173.LOCALHOST.", fwd(Localhost, 5173, "localhost")),
            ("5173.Dev.Example.Com.:8443", fwd(Localhost, 5173, "dev.example.com")),
            // `--` form, split at the last `--`.
            ("localhost--8000.localhost", fwd(Localhost, 8000, "localhost")),
            ("localhost--5173.dev.example.com", fwd(Localhost, 5173, "dev.example.com")),
            ("example.com--3000.domain.com", fwd(name("example.com"), 3000, "domain.com")),
            ("my-box--3000.localhost", fwd(name("my-box"), 3000, "localhost")),
            ("db.internal--5432.localhost", fwd(name("db.internal"), 5432, "localhost")),
            // Longest domain wins.
            ("5173.dev.example.com", fwd(Localhost, 5173, "dev.example.com")),
            ("5173.example.com", fwd(Localhost, 5173, "example.com")),
            // Dotted and dashed IPv4.
            ("127-0-0-1--5173.localhost", fwd(ip(127, 0, 0, 1), 5173, "localhost")),
            ("127.0.0.1--5173.localhost", fwd(ip(127, 0, 0, 1), 5173, "localhost")),
            ("10-1-2-3--80.localhost", fwd(ip(10, 1, 2, 3), 80, "localhost")),
            // Loose numeric forms stay names (the policy refuses them).
            ("2852039166--80.localhost", fwd(name("2852039166"), 80, "localhost")),
            ("0x7f000001--80.localhost", fwd(name("0x7f000001"), 80, "localhost")),
            ("127.1--80.localhost", fwd(name("127.1"), 80, "localhost")),
            ("0177.0.0.1--80.localhost", fwd(name("0177.0.0.1"), 80, "localhost")),
            ("127-0-0-01--80.localhost", fwd(name("127-0-0-01"), 80, "localhost")),
            ("256-0-0-1--80.localhost", fwd(name("256-0-0-1"), 80, "localhost")),
            // Bad ports.
            ("0.localhost", bad_port("0")),
            ("65536.localhost", bad_port("65536")),
            ("05173.localhost", bad_port("05173")),
            ("99999999999.localhost", bad_port("99999999999")),
            ("localhost--.localhost", bad_port("")),
            ("localhost--0.localhost", bad_port("0")),
            ("localhost--5173x.localhost", bad_port("5173x")),
            ("a--b--c.localhost", bad_port("c")),
            // Empty parts and structure.
            ("--5173.localhost", malformed("--5173.localhost", "the target before `--` is empty")),
            ("a..5173.localhost", malformed("a..5173.localhost", "a label between dots is empty")),
            (".localhost", malformed(".localhost", "a label between dots is empty")),
            (
                "foo.5173.localhost",
                malformed(
                    "foo.5173.localhost",
                    "expected PORT, NAME, BRANCH.NAME or TARGET--PORT before the domain, e.g. `5173`, `shop-web` or `localhost--5173`",
                ),
            ),
            (
                "a.b.web.localhost",
                malformed(
                    "a.b.web.localhost",
                    "expected PORT, NAME, BRANCH.NAME or TARGET--PORT before the domain, e.g. `5173`, `shop-web` or `localhost--5173`",
                ),
            ),
            // Names: one label, or BRANCH.NAME; never digits alone, `--` or `localhost`.
            ("shop-web.localhost", named("shop-web", "localhost")),
            ("abc.localhost", named("abc", "localhost")),
            ("Shop-Web.localhost.:443", named("shop-web", "localhost")),
            ("feature-login.shop-web.localhost", named("feature-login.shop-web", "localhost")),
            ("shop-web.dev.example.com", named("shop-web", "dev.example.com")),
            ("v2.localhost", named("v2", "localhost")),
            ("localhost.localhost", malformed("localhost.localhost", NOT_A_NAME)),
            ("-web.localhost", malformed("-web.localhost", NOT_A_NAME)),
            ("web-.localhost", malformed("web-.localhost", NOT_A_NAME)),
            ("-a--80.localhost", malformed("-a--80.localhost", "a target label starts or ends with `-`")),
            // xn-- targets.
            (
                "xn--bcher-kva--80.localhost",
                malformed("xn--bcher-kva--80.localhost", "internationalised (`xn--`) targets are not accepted"),
            ),
            (
                "a.xn--p1ai--80.localhost",
                malformed("a.xn--p1ai--80.localhost", "internationalised (`xn--`) targets are not accepted"),
            ),
            // Characters.
            ("5173_x.localhost", malformed("5173_x.localhost", "only letters, digits, `.` and `-` may appear")),
            ("[::1]:24306", malformed("[::1]", "only letters, digits, `.` and `-` may appear")),
            ("5173.localhost:", malformed("5173.localhost:", "the part after `:` must be a port number")),
            ("5173.localhost:x", malformed("5173.localhost:x", "the part after `:` must be a port number")),
            ("", malformed("", "the host is empty")),
            (":80", malformed(":80", "the host is empty")),
            // Unknown domains: no fallback route.
            ("evil.com", Err(RouteError::UnknownDomain { host: "evil.com".into() })),
            ("5173.notlocalhost", Err(RouteError::UnknownDomain { host: "5173.notlocalhost".into() })),
            ("xlocalhost", Err(RouteError::UnknownDomain { host: "xlocalhost".into() })),
            ("127.0.0.1", Err(RouteError::UnknownDomain { host: "127.0.0.1".into() })),
        ];
        for (host, want) in rows {
            assert_eq!(parse(host, &DOMAINS), want, "host {host:?}");
        }
    }

    #[test]
    fn label_and_name_lengths() {
        let long_label = format!("{}--80.localhost", "a".repeat(60));
        assert!(matches!(
            parse(&long_label, &DOMAINS),
            Err(RouteError::Malformed {
                reason: "a label is longer than 63 characters",
                ..
            })
        ));
        let ok_label = format!("{}--80.localhost", "a".repeat(59));
        assert!(parse(&ok_label, &DOMAINS).is_ok());
        let long_name = format!("{}--80.localhost", ["abcdefghi"; 25].join("."));
        assert!(long_name.len() > 253);
        assert!(matches!(
            parse(&long_name, &DOMAINS),
            Err(RouteError::Malformed {
                reason: "names are at most 253 characters",
                ..
            })
        ));
    }

    #[test]
    fn statuses() {
        assert_eq!(parse("x.org", &DOMAINS).unwrap_err().status(), 404);
        assert_eq!(parse("0.localhost", &DOMAINS).unwrap_err().status(), 400);
        assert_eq!(parse("a..localhost", &DOMAINS).unwrap_err().status(), 400);
    }

    #[test]
    fn messages_name_the_input_and_the_accepted_form() {
        let err = parse("05173.localhost", &DOMAINS).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`05173` is not a port: expected 1-65535, decimal digits, no leading zero"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100_000))]

        #[test]
        fn any_input_yields_a_route_or_a_typed_error(host in "\\PC{0,300}") {
            let _ = parse(&host, &DOMAINS);
        }

        #[test]
        fn grammar_like_input_is_consistent(
            labels in "[a-z0-9.-]{0,80}",
            port in "[0-9]{0,6}",
            domain in prop::sample::select(DOMAINS.to_vec()),
        ) {
            let host = format!("{labels}--{port}.{domain}");
            match parse(&host, &DOMAINS) {
                Ok(Route::Forward { port: p, domain: d, .. }) => {
                    prop_assert!(p >= 1);
                    prop_assert_eq!(p.to_string(), port);
                    prop_assert!(host.ends_with(&d));
                }
                Ok(Route::Dashboard { .. }) => prop_assert!(false, "a `--` host is never the dashboard"),
                Ok(Route::Name { .. }) => prop_assert!(false, "a `--` host is never a name"),
                Err(e) => prop_assert!(e.status() == 400 || e.status() == 404),
            }
        }

        #[test]
        fn every_valid_port_round_trips(port in 1u16..=65535) {
            prop_assert_eq!(
                parse(&format!("{port}.localhost"), &DOMAINS),
                fwd(Target::Localhost, port, "localhost")
            );
            prop_assert_eq!(
                parse(&format!("127-0-0-1--{port}.dev.example.com"), &DOMAINS),
                fwd(Target::Ip(Ipv4Addr::LOCALHOST), port, "dev.example.com")
            );
        }
    }
}

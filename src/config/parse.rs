//! The settings table's value parsers: text as typed in, the field's type out, or the text
//! refused.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::policy::rules::PortRange;
use crate::route;

/// Where public domains get certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsChoice {
    OnDemand,
    /// Caddy's own CA for every domain: LAN and tailnet names that can't get public certificates.
    Internal,
    Dns {
        provider: String,
    },
}

pub(super) fn addr(text: &str) -> SocketAddr {
    text.parse().expect("a default address")
}

/// A setting of one value: the last one given wins.
pub(super) fn one<T>(parse: fn(&str) -> Option<T>) -> impl Fn(&[String]) -> Result<T, String> {
    move |values| {
        let value = values.last().map_or("", String::as_str);
        parse(value.trim()).ok_or_else(|| value.to_string())
    }
}

/// A setting that is unset by default.
pub(super) fn some<T>(
    parse: fn(&str) -> Option<T>,
) -> impl Fn(&[String]) -> Result<Option<T>, String> {
    let one = one(parse);
    move |values| one(values).map(Some)
}

pub(super) fn list<T>(
    parse: fn(&str) -> Option<T>,
) -> impl Fn(&[String]) -> Result<Vec<T>, String> {
    move |values| {
        values
            .iter()
            .map(|v| parse(v.trim()).ok_or_else(|| v.clone()))
            .collect()
    }
}

pub(super) fn domains(values: &[String]) -> Result<Vec<String>, String> {
    let domains = list(parse_domain)(values)?;
    if domains.is_empty() {
        return Err(String::new());
    }
    Ok(domains)
}

pub(super) fn deny_ports(values: &[String]) -> Result<Vec<PortRange>, String> {
    if let [only] = values {
        if only.trim().eq_ignore_ascii_case("none") {
            return Ok(Vec::new());
        }
    }
    list(|v| v.parse().ok())(values)
}

pub(super) fn labels(values: &[String]) -> Result<BTreeMap<u16, String>, String> {
    let pairs = list(|v| {
        let (port, name) = v.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        Some((parse_port(port)?, name.to_string()))
    })(values)?;
    Ok(pairs.into_iter().collect())
}

/// `~/src/shop=shop`: `~` is the home directory; the name must be one (`names::normalise`
/// leaves it as it is).
pub(super) fn name_pins(values: &[String]) -> Result<BTreeMap<PathBuf, String>, String> {
    let pairs = list(|v| {
        let home = crate::paths::user_home();
        let (dir, name) = v.rsplit_once('=')?;
        let name = name.trim();
        if crate::names::normalise(name).as_deref() != Some(name) {
            return None;
        }
        let dir = match (dir.trim().strip_prefix('~'), &home) {
            (Some(rest), Some(home)) => {
                PathBuf::from(home).join(rest.trim_start_matches(['/', '\\']))
            }
            _ => PathBuf::from(dir.trim()),
        };
        (!dir.as_os_str().is_empty()).then(|| (dir, name.to_string()))
    })(values)?;
    Ok(pairs.into_iter().collect())
}

pub(super) fn parse_loopback_addr(text: &str) -> Option<SocketAddr> {
    // The admin listener answers /caddy/ask and /metrics to anyone who reaches it.
    parse_addr(text).filter(|a| a.ip().is_loopback())
}

pub(super) fn parse_threads(text: &str) -> Option<usize> {
    text.parse().ok().filter(|n| (1..=1024).contains(n))
}

pub(super) fn parse_token(text: &str) -> Option<String> {
    (text.len() >= 16 && text.bytes().all(|b| b.is_ascii_graphic())).then(|| text.to_string())
}

pub(super) fn parse_path(text: &str) -> Option<PathBuf> {
    (!text.is_empty()).then(|| PathBuf::from(text))
}

/// `on-demand`, `internal` or `dns:PROVIDER`; the provider name goes into the Caddyfile, so it is
/// checked to be a plain module name.
pub(super) fn parse_tls(text: &str) -> Option<TlsChoice> {
    match text.to_ascii_lowercase().as_str() {
        "on-demand" | "ondemand" | "auto" => Some(TlsChoice::OnDemand),
        "internal" => Some(TlsChoice::Internal),
        other => {
            let provider = other.strip_prefix("dns:")?;
            let plain = !provider.is_empty()
                && provider
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            plain.then(|| TlsChoice::Dns {
                provider: provider.to_string(),
            })
        }
    }
}

pub(super) fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

pub(super) fn parse_addr(text: &str) -> Option<SocketAddr> {
    text.parse::<SocketAddr>().ok().filter(|a| a.port() != 0)
}

pub(super) fn parse_port(text: &str) -> Option<u16> {
    route::parse_port(text.trim()).ok()
}

/// A base domain: a host name the grammar can sit under. `Dev.Example.com.` → `dev.example.com`.
pub(super) fn parse_domain(text: &str) -> Option<String> {
    let name = text.trim().to_ascii_lowercase();
    let name = name.strip_suffix('.').unwrap_or(&name);
    let edges_ok = name
        .split('.')
        .all(|l| !l.starts_with('-') && !l.ends_with('-'));
    (route::check_name(name).is_ok() && edges_ok).then(|| name.to_string())
}

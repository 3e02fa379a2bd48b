//! The channel's proof of the secret, both ways; pure.

use std::net::IpAddr;

use blake2::digest::{FixedOutput, KeyInit, Mac};
use subtle::ConstantTimeEq;

use crate::route;

/// Why a control request is refused. One variant = one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// `Host` is not `localhost`, `127.0.0.1` or `[::1]` (with any port): a browser page
    /// reaching the admin port through a rebound name.
    NotLoopbackHost,
    NoSecret,
    WrongSecret,
}

impl Denied {
    pub(crate) fn status(self) -> u16 {
        match self {
            Denied::NotLoopbackHost => 403,
            Denied::NoSecret | Denied::WrongSecret => 401,
        }
    }
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Denied::NotLoopbackHost => "the control channel answers only a loopback Host",
            Denied::NoSecret => {
                "the control channel needs `Authorization: Bearer SECRET` (from instance.json)"
            }
            Denied::WrongSecret => "wrong control secret",
        })
    }
}

/// The header the instance proves itself in.
pub(crate) const PROOF: &str = "x-portproxy-proof";

/// Whether a control request may be served: a loopback `Host` and proof of the instance's
/// secret. `Ok(Some(nonce))`: answer with `proof(secret, nonce)` in `PROOF`.
pub(crate) fn authorize(
    host: Option<&str>,
    authorization: Option<&str>,
    method: &str,
    path: &str,
    secret: &str,
) -> Result<Option<String>, Denied> {
    if !host.is_some_and(is_loopback_host) {
        return Err(Denied::NotLoopbackHost);
    }
    if secret.is_empty() {
        return Err(Denied::WrongSecret);
    }
    let same =
        |given: &str, expected: &str| bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
    match authorization.map(scheme) {
        Some(("bearer", token)) if same(token, secret) => Ok(None),
        Some(("portproxy", params)) => {
            let (nonce, mac) = nonce_and_mac(params).ok_or(Denied::NoSecret)?;
            if same(mac, &asked(secret, nonce, method, path)) {
                Ok(Some(nonce.to_string()))
            } else {
                Err(Denied::WrongSecret)
            }
        }
        Some(("bearer", _)) => Err(Denied::WrongSecret),
        _ => Err(Denied::NoSecret),
    }
}

/// `("bearer", TOKEN)` or `("portproxy", PARAMS)`, the scheme lowercased.
fn scheme(value: &str) -> (&'static str, &str) {
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        ("bearer", rest)
    } else if scheme.eq_ignore_ascii_case("portproxy") {
        ("portproxy", rest)
    } else {
        ("", rest)
    }
}

/// `nonce=N, mac=M`; a nonce of 32 to 64 hex digits.
fn nonce_and_mac(params: &str) -> Option<(&str, &str)> {
    let (mut nonce, mut mac) = (None, None);
    for pair in params.split(',') {
        match pair.trim().split_once('=')? {
            ("nonce", value) => nonce = Some(value),
            ("mac", value) => mac = Some(value),
            _ => return None,
        }
    }
    let nonce = nonce
        .filter(|n| (32..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_hexdigit()))?;
    Some((nonce, mac?))
}

/// MAC(secret, words), hex. The words differ for a request and an answer, so neither can
/// stand in for the other.
fn mac(secret: &str, words: &[&str]) -> String {
    let mut mac = <blake2::Blake2sMac256 as KeyInit>::new_from_slice(
        &<blake2::Blake2s256 as blake2::Digest>::digest(secret.as_bytes()),
    )
    .expect("a 32-byte key fits");
    for word in words {
        mac.update(word.as_bytes());
        mac.update(b"\n");
    }
    crate::auth::hex(&mac.finalize_fixed())
}

fn asked(secret: &str, nonce: &str, method: &str, path: &str) -> String {
    mac(secret, &["portproxy control request", nonce, method, path])
}

/// What the instance answers a request that came with `nonce`.
pub(crate) fn proof(secret: &str, nonce: &str) -> String {
    mac(secret, &["portproxy control answer", nonce])
}

/// A command's `Authorization` value for one request, and the nonce its answer must prove.
pub(crate) fn credentials(
    secret: &str,
    method: &str,
    path: &str,
) -> std::io::Result<(String, String)> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(std::io::Error::other)?;
    let nonce = crate::auth::hex(&bytes);
    let header = format!(
        "Portproxy nonce={nonce}, mac={}",
        asked(secret, &nonce, method, path)
    );
    Ok((header, nonce))
}

/// `localhost`, `127.0.0.1`, `[::1]`, each with an optional port.
fn is_loopback_host(host: &str) -> bool {
    let (name, _) = route::split_port(host);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn only_a_loopback_host_with_the_secret_is_served() {
        let bearer = format!("Bearer {SECRET}");
        type Row<'a> = (Option<&'a str>, Option<&'a str>, Result<(), Denied>);
        let rows: [Row; 12] = [
            (Some("127.0.0.1:24307"), Some(&bearer), Ok(())),
            (Some("localhost:24307"), Some(&bearer), Ok(())),
            (Some("[::1]:24307"), Some(&bearer), Ok(())),
            (Some("LOCALHOST"), Some(&bearer), Ok(())),
            (Some("127.0.0.2:1"), Some(&bearer), Ok(())),
            (
                Some("evil.example:24307"),
                Some(&bearer),
                Err(Denied::NotLoopbackHost),
            ),
            (
                Some("localhost.evil.example"),
                Some(&bearer),
                Err(Denied::NotLoopbackHost),
            ),
            (
                Some("10.0.0.1:24307"),
                Some(&bearer),
                Err(Denied::NotLoopbackHost),
            ),
            (None, Some(&bearer), Err(Denied::NotLoopbackHost)),
            (Some("127.0.0.1:24307"), None, Err(Denied::NoSecret)),
            (
                Some("127.0.0.1:24307"),
                Some("Basic abc"),
                Err(Denied::NoSecret),
            ),
            (
                Some("127.0.0.1:24307"),
                Some("Bearer 0123"),
                Err(Denied::WrongSecret),
            ),
        ];
        for (host, authorization, expected) in rows {
            assert_eq!(
                authorize(host, authorization, "GET", "/control/ports", SECRET).map(|_| ()),
                expected,
                "{host:?} {authorization:?}"
            );
        }
        assert_eq!(Denied::NotLoopbackHost.status(), 403);
        assert_eq!(Denied::WrongSecret.status(), 401);
        assert_eq!(
            authorize(Some("localhost"), Some("Bearer "), "GET", "/", ""),
            Err(Denied::WrongSecret),
            "an empty secret never matches"
        );
    }

    #[test]
    fn a_command_and_the_instance_prove_the_secret_without_sending_it() {
        let host = Some("127.0.0.1:24307");
        let (header, nonce) = credentials(SECRET, "GET", "/control/ports").unwrap();
        assert!(!header.contains(SECRET), "{header}");
        let answered = authorize(host, Some(&header), "GET", "/control/ports", SECRET);
        assert_eq!(answered, Ok(Some(nonce.clone())));
        assert_eq!(proof(SECRET, &nonce).len(), 64);
        assert_ne!(proof(SECRET, &nonce), proof(SECRET, &"0".repeat(32)));
        assert_ne!(proof(SECRET, &nonce), proof(&"1".repeat(64), &nonce));
        // The MAC covers the method and the path: a captured header asks nothing else.
        for (method, path) in [("DELETE", "/control/ports"), ("GET", "/control/shares")] {
            assert_eq!(
                authorize(host, Some(&header), method, path, SECRET),
                Err(Denied::WrongSecret),
                "{method} {path}"
            );
        }
        let other = "f".repeat(64);
        assert_eq!(
            authorize(host, Some(&header), "GET", "/control/ports", &other),
            Err(Denied::WrongSecret),
            "another instance's secret"
        );
        // A request's MAC is never an answer's proof.
        let mac = header.rsplit("mac=").next().unwrap();
        assert_ne!(mac, proof(SECRET, &nonce));
        for malformed in [
            "Portproxy nonce=abc, mac=00",
            "Portproxy mac=00",
            "Portproxy nonce=0123456789abcdef0123456789abcdef",
            "Portproxy nonce=zz23456789abcdef0123456789abcdef, mac=00",
            "Portproxy nonce=0123456789abcdef0123456789abcdef, mac=00, extra=1",
        ] {
            assert!(authorize(host, Some(malformed), "GET", "/control/ports", SECRET).is_err());
        }
    }
}

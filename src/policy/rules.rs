//! The settings a policy is made of, as the user writes them: `allow_hosts` rules, port ranges
//! (`deny_ports`), address blocks and `public_ports`, each parsed and printed back.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::{canonical, is_numeric_name};
use crate::route::Target;

/// A port anyone may reach on a public domain, without signing in (`public_ports`). A bare
/// number is this machine's port on `localhost` only: never the same number on another host
/// (`allow_hosts` would otherwise turn it into a scanner of that network) nor a loopback alias.
/// Another host is public only as the exact `HOST:PORT` the user named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicPort {
    /// `9000` or `localhost:9000`.
    Local(u16),
    /// `db.internal:9000` or `192.168.1.20:9000`.
    Exact(Target, u16),
}

impl PublicPort {
    /// Whether this entry opens `target:port`.
    pub(crate) fn covers(&self, target: &Target, port: u16) -> bool {
        match self {
            PublicPort::Local(p) => *target == Target::Localhost && *p == port,
            PublicPort::Exact(t, p) => t == target && *p == port,
        }
    }
}

/// Whether `target:port` is public under `list`.
pub(crate) fn is_public(list: &[PublicPort], target: &Target, port: u16) -> bool {
    list.iter().any(|p| p.covers(target, port))
}

impl FromStr for PublicPort {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let s = s.trim().to_ascii_lowercase();
        let port = |p: &str| crate::route::parse_port(p).map_err(|_| ());
        match s.rsplit_once(':') {
            None => Ok(PublicPort::Local(port(&s)?)),
            Some((host, p)) => match crate::route::parse_target(host).map_err(|_| ())? {
                Target::Localhost => Ok(PublicPort::Local(port(p)?)),
                Target::Name(name) if crate::route::check_name(&name).is_err() => Err(()),
                target => Ok(PublicPort::Exact(target, port(p)?)),
            },
        }
    }
}

impl fmt::Display for PublicPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublicPort::Local(port) => write!(f, "{port}"),
            PublicPort::Exact(target, port) => write!(f, "{target}:{port}"),
        }
    }
}

/// An inclusive range of ports, `2375-2376` or `22`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortRange(pub(crate) u16, pub(crate) u16);

impl PortRange {
    pub(crate) fn contains(&self, port: u16) -> bool {
        (self.0..=self.1).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == self.1 {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{}-{}", self.0, self.1)
        }
    }
}

impl FromStr for PortRange {
    type Err = ();

    /// `22` or `2375-2376`; ports 1-65535, low ≤ high.
    fn from_str(s: &str) -> Result<Self, ()> {
        let port = |p: &str| p.trim().parse::<u16>().ok().filter(|p| *p > 0).ok_or(());
        let (lo, hi) = match s.split_once('-') {
            Some((lo, hi)) => (port(lo)?, port(hi)?),
            None => (port(s)?, port(s)?),
        };
        if lo > hi {
            return Err(());
        }
        Ok(PortRange(lo, hi))
    }
}

/// An address block (`10.0.0.0/8`, or one address): `ipnet` parses and matches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr(pub(crate) ipnet::IpNet);

impl Cidr {
    pub(crate) fn contains(&self, addr: IpAddr) -> bool {
        self.0.contains(&canonical(addr))
    }
}

impl FromStr for Cidr {
    type Err = ();

    /// `10.0.0.0/8`, `fd00::/8`, or a bare address (a block of one).
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.parse::<ipnet::IpNet>() {
            Ok(net) => Ok(Cidr(net)),
            Err(_) => s
                .parse::<IpAddr>()
                .map(|ip| Cidr(ip.into()))
                .map_err(|_| ()),
        }
    }
}

/// One entry of `allow_hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AllowRule {
    /// `db.internal`: exactly this name.
    Name(String),
    /// `*.corp.example`: any name under it (stored with its leading dot).
    Suffix(String),
    /// `10.0.0.0/8`, `192.168.1.20` or `fd00::/8`.
    Cidr(Cidr),
}

impl FromStr for AllowRule {
    type Err = ();

    /// `db.internal`, `*.corp.example`, `10.0.0.0/8`, `192.168.1.20`.
    fn from_str(s: &str) -> Result<Self, ()> {
        let s = s.trim().to_ascii_lowercase();
        if let Ok(cidr) = s.parse::<Cidr>() {
            return Ok(AllowRule::Cidr(cidr));
        }
        let (suffix, name) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s.as_str()),
        };
        let valid = crate::route::check_name(name).is_ok() && !is_numeric_name(name);
        match (valid, suffix) {
            (false, _) => Err(()),
            (true, true) => Ok(AllowRule::Suffix(format!(".{name}"))),
            (true, false) => Ok(AllowRule::Name(name.to_string())),
        }
    }
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowRule::Name(n) => f.write_str(n),
            AllowRule::Suffix(s) => write!(f, "*{s}"),
            AllowRule::Cidr(c) => write!(f, "{}", c.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finding (issue 23, high): a bare public port opened that number on every allowed host.
    #[test]
    fn a_public_port_is_this_machines_unless_a_host_is_named() {
        let ip = |s: &str| Target::Ip(s.parse().unwrap());
        let name = |s: &str| Target::Name(s.into());
        let rows: [(&str, Target, u16, bool); 9] = [
            ("9000", Target::Localhost, 9000, true),
            ("9000", Target::Localhost, 9001, false),
            ("9000", ip("198.51.100.10"), 9000, false),
            ("9000", ip("127.0.1.1"), 9000, false),
            ("9000", ip("127.0.0.1"), 9000, false),
            ("9000", name("db.internal"), 9000, false),
            ("localhost:9000", Target::Localhost, 9000, true),
            ("DB.internal:5432", name("db.internal"), 5432, true),
            ("198.51.100.10:9000", ip("198.51.100.10"), 9000, true),
        ];
        for (setting, target, port, public) in rows {
            let list = [setting.parse::<PublicPort>().unwrap()];
            assert_eq!(
                is_public(&list, &target, port),
                public,
                "{setting} {target}:{port}"
            );
        }
        let exact: PublicPort = "198.51.100.10:9000".parse().unwrap();
        assert!(!exact.covers(&ip("198.51.100.11"), 9000));
        assert_eq!(exact.to_string(), "198.51.100.10:9000");
        for bad in ["", "0", "x", "host:", ":80", "host:0", "a b:80", "xn--x:80"] {
            assert_eq!(bad.parse::<PublicPort>(), Err(()), "{bad:?}");
        }
    }

    #[test]
    fn parses_settings() {
        assert_eq!("22".parse(), Ok(PortRange(22, 22)));
        assert_eq!("2375-2376".parse(), Ok(PortRange(2375, 2376)));
        for bad in ["0", "65536", "x", "10-5", "", "-"] {
            assert_eq!(bad.parse::<PortRange>(), Err(()), "{bad:?}");
        }
        assert_eq!(
            "DB.internal".parse(),
            Ok(AllowRule::Name("db.internal".into()))
        );
        assert_eq!(
            "*.corp.example".parse(),
            Ok(AllowRule::Suffix(".corp.example".into()))
        );
        assert_eq!(
            "10.0.0.0/8".parse(),
            Ok(AllowRule::Cidr(Cidr("10.0.0.0/8".parse().unwrap())))
        );
        for bad in [
            "",
            "*",
            "a..b",
            "10.0.0.0/33",
            "under_score",
            "2852039166",
            "*.",
        ] {
            assert_eq!(bad.parse::<AllowRule>(), Err(()), "{bad:?}");
        }
    }

    #[test]
    fn cidr_membership() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains("10.255.0.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.0.0.1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
    }
}

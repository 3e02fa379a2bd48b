//! Where a request may go: loopback by default, more only when configured.
//!
//! Pure: no I/O. `check` decides on a route before any lookup; `check_resolved` decides on
//! the addresses a lookup returned, and those checked addresses are what gets dialled, so a
//! second lookup can never swap in another machine (DNS rebinding).

pub(crate) mod rules;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::route::Target;
use rules::{AllowRule, PortRange};

/// Ports refused unless `deny_ports` says otherwise: services whose only defence is a
/// `Host` check that the proxy's rewrite would defeat.
pub(crate) const DEFAULT_DENY_PORTS: [PortRange; 5] = [
    PortRange(22, 22),     // SSH
    PortRange(2019, 2019), // Caddy admin API
    PortRange(2375, 2376), // Docker API
    PortRange(9222, 9222), // Chrome DevTools
    PortRange(9229, 9230), // Node inspector
];

/// The settings the decision depends on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Policy {
    pub(crate) allow_hosts: Vec<AllowRule>,
    pub(crate) deny_ports: Vec<PortRange>,
    /// The proxy's own listeners (and later the Caddy ports it starts): never a target.
    pub(crate) own_ports: Vec<u16>,
}

/// What to dial once the route is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dial {
    /// These addresses, in order; the first that accepts wins.
    Addrs(Vec<SocketAddr>),
    /// An allowed name: look it up, then `check_resolved` the answers.
    Resolve { name: String, port: u16 },
}

/// Why a target is refused (403). Each names the rule and the setting that changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    DeniedPort { port: u16 },
    OwnPort { port: u16 },
    NumericName { name: String },
    HostNotAllowed { name: String },
    AddressNotAllowed { addr: IpAddr },
    AlwaysRefused { addr: IpAddr, range: &'static str },
}

impl Refusal {
    /// The setting a user would change to allow this, if any.
    pub(crate) fn config_key(&self) -> Option<&'static str> {
        match self {
            Refusal::DeniedPort { .. } => Some("deny_ports"),
            Refusal::OwnPort { .. } => Some("listen / admin"),
            Refusal::HostNotAllowed { .. } | Refusal::AddressNotAllowed { .. } => {
                Some("allow_hosts")
            }
            Refusal::NumericName { .. } | Refusal::AlwaysRefused { .. } => None,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::DeniedPort { port } => write!(
                f,
                "port {port} is on the deny list (services like SSH, Docker, debuggers and Caddy's admin API trust any local caller)"
            ),
            Refusal::OwnPort { port } => {
                write!(f, "port {port} is portproxy's own listener; forwarding to it would loop")
            }
            Refusal::NumericName { name } => write!(
                f,
                "`{name}` is a numeric address in a form other than a.b.c.d; such forms reach surprising machines and are never dialled"
            ),
            Refusal::HostNotAllowed { name } => {
                write!(f, "`{name}` is not loopback and not in allow_hosts")
            }
            Refusal::AddressNotAllowed { addr } => {
                write!(f, "{addr} is not loopback and not in allow_hosts")
            }
            Refusal::AlwaysRefused { addr, range } => {
                write!(f, "{addr} is {range}, which is always refused")
            }
        }
    }
}

impl Policy {
    /// Decides on a route before any lookup.
    ///
    /// `check(&Target::Localhost, 5173)` → `Dial::Addrs([127.0.0.1:5173, [::1]:5173])`.
    pub(crate) fn check(&self, target: &Target, port: u16) -> Result<Dial, Refusal> {
        if self.deny_ports.iter().any(|r| r.contains(port)) {
            return Err(Refusal::DeniedPort { port });
        }
        match target {
            Target::Localhost => {
                let addrs = [
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(Ipv6Addr::LOCALHOST),
                ];
                self.check_addrs(&addrs, port).map(Dial::Addrs)
            }
            Target::Ip(ip) => {
                let ip = IpAddr::V4(*ip);
                if !ip.is_loopback() && !self.allows_addr(ip) {
                    // An always-refused range says more than "not allowed".
                    always_refused(ip)?;
                    return Err(Refusal::AddressNotAllowed { addr: ip });
                }
                self.check_addrs(&[ip], port).map(Dial::Addrs)
            }
            Target::Name(name) => {
                if is_numeric_name(name) {
                    return Err(Refusal::NumericName { name: name.clone() });
                }
                if !self.allows_name(name) {
                    return Err(Refusal::HostNotAllowed { name: name.clone() });
                }
                Ok(Dial::Resolve {
                    name: name.clone(),
                    port,
                })
            }
        }
    }

    /// Decides on what a lookup of an allowed name returned: every address must pass,
    /// or the name is refused as a whole.
    pub(crate) fn check_resolved(
        &self,
        addrs: &[IpAddr],
        port: u16,
    ) -> Result<Vec<SocketAddr>, Refusal> {
        self.check_addrs(addrs, port)
    }

    fn check_addrs(&self, addrs: &[IpAddr], port: u16) -> Result<Vec<SocketAddr>, Refusal> {
        addrs
            .iter()
            .map(|addr| {
                let addr = canonical(*addr);
                always_refused(addr)?;
                if addr.is_loopback() && self.own_ports.contains(&port) {
                    return Err(Refusal::OwnPort { port });
                }
                Ok(SocketAddr::new(addr, port))
            })
            .collect()
    }

    fn allows_name(&self, name: &str) -> bool {
        self.allow_hosts.iter().any(|rule| match rule {
            AllowRule::Name(n) => n == name,
            AllowRule::Suffix(s) => name.len() > s.len() && name.ends_with(s.as_str()),
            AllowRule::Cidr(_) => false,
        })
    }

    fn allows_addr(&self, addr: IpAddr) -> bool {
        self.allow_hosts.iter().any(|rule| match rule {
            AllowRule::Cidr(cidr) => cidr.contains(addr),
            _ => false,
        })
    }
}

/// `::ffff:169.254.169.254` is checked as `169.254.169.254`.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Cloud metadata services outside link-local: Alibaba's, Azure's wire server, Oracle's.
const METADATA_V4: [Ipv4Addr; 3] = [
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
    Ipv4Addr::new(192, 0, 0, 192),
];

/// Ranges no setting can open: they reach cloud metadata, "this host" or many hosts at once.
fn always_refused(addr: IpAddr) -> Result<(), Refusal> {
    let range = match canonical(addr) {
        IpAddr::V4(v4) if v4.octets()[0] == 0 => Some("in 0.0.0.0/8 (\"this host\")"),
        IpAddr::V4(v4) if v4.is_link_local() => {
            Some("link-local (169.254.0.0/16, where cloud metadata lives)")
        }
        IpAddr::V4(v4) if v4.is_multicast() => Some("multicast (224.0.0.0/4)"),
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the broadcast address"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("the unspecified address (::)"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => Some("link-local (fe80::/10)"),
        IpAddr::V6(v6) if v6.is_multicast() => Some("multicast (ff00::/8)"),
        IpAddr::V6(v6) if v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => {
            Some("the AWS IPv6 metadata address")
        }
        IpAddr::V4(v4) if METADATA_V4.contains(&v4) => {
            Some("a cloud metadata address (Alibaba, Azure or Oracle)")
        }
        // `::a.b.c.d`: deprecated, and some stacks still route it to the IPv4 address.
        IpAddr::V6(v6) if v6.segments()[..6] == [0; 6] && v6 != Ipv6Addr::LOCALHOST => {
            Some("IPv4-compatible IPv6 (::a.b.c.d, deprecated)")
        }
        // A NAT64 gateway carries `64:ff9b::a.b.c.d` to a.b.c.d.
        IpAddr::V6(v6) if v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] => {
            let [.., hi, lo] = v6.segments();
            let embedded = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
            (always_refused(IpAddr::V4(embedded)).is_err() || embedded.is_loopback())
                .then_some("NAT64 (64:ff9b::/96) of an address that is always refused")
        }
        _ => None,
    };
    match range {
        Some(range) => Err(Refusal::AlwaysRefused { addr, range }),
        None => Ok(()),
    }
}

/// True for names that C resolvers read as numbers: `2852039166`, `0x7f000001`, `127.1`,
/// `0177.0.0.1`. Every dot-separated part is decimal, octal or hex.
fn is_numeric_name(name: &str) -> bool {
    name.split('.').all(|part| {
        let digits = part
            .strip_prefix("0x")
            .map(|hex| (hex, 16))
            .unwrap_or((part, 10));
        !digits.0.is_empty() && digits.0.chars().all(|c| c.is_digit(digits.1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy(allow: &[&str]) -> Policy {
        Policy {
            allow_hosts: allow.iter().map(|a| a.parse().unwrap()).collect(),
            deny_ports: DEFAULT_DENY_PORTS.to_vec(),
            own_ports: vec![24306, 24307],
        }
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> Target {
        Target::Ip(s.parse().unwrap())
    }

    fn name(s: &str) -> Target {
        Target::Name(s.into())
    }

    #[test]
    fn decisions_table() {
        let default = policy(&[]);
        let open = policy(&[
            "db.internal",
            "*.corp.example",
            "10.0.0.0/8",
            "169.254.0.0/16",
        ]);
        let rows: Vec<(&Policy, Target, u16, Result<Dial, Refusal>)> = vec![
            // Loopback by default, localhost on both families.
            (
                &default,
                Target::Localhost,
                5173,
                Ok(Dial::Addrs(vec![sa("127.0.0.1:5173"), sa("[::1]:5173")])),
            ),
            (
                &default,
                ip("127.0.0.1"),
                8000,
                Ok(Dial::Addrs(vec![sa("127.0.0.1:8000")])),
            ),
            (
                &default,
                ip("127.1.2.3"),
                8000,
                Ok(Dial::Addrs(vec![sa("127.1.2.3:8000")])),
            ),
            // Deny ports, own ports.
            (
                &default,
                Target::Localhost,
                22,
                Err(Refusal::DeniedPort { port: 22 }),
            ),
            (
                &default,
                Target::Localhost,
                2019,
                Err(Refusal::DeniedPort { port: 2019 }),
            ),
            (
                &default,
                Target::Localhost,
                2376,
                Err(Refusal::DeniedPort { port: 2376 }),
            ),
            (
                &default,
                Target::Localhost,
                9229,
                Err(Refusal::DeniedPort { port: 9229 }),
            ),
            (
                &default,
                ip("10.1.1.1"),
                9222,
                Err(Refusal::DeniedPort { port: 9222 }),
            ),
            (
                &default,
                Target::Localhost,
                24306,
                Err(Refusal::OwnPort { port: 24306 }),
            ),
            (
                &default,
                ip("127.0.0.1"),
                24307,
                Err(Refusal::OwnPort { port: 24307 }),
            ),
            // Not loopback: needs allow_hosts.
            (
                &default,
                ip("10.1.2.3"),
                80,
                Err(Refusal::AddressNotAllowed {
                    addr: "10.1.2.3".parse().unwrap(),
                }),
            ),
            (
                &open,
                ip("10.1.2.3"),
                80,
                Ok(Dial::Addrs(vec![sa("10.1.2.3:80")])),
            ),
            (
                &default,
                name("db.internal"),
                5432,
                Err(Refusal::HostNotAllowed {
                    name: "db.internal".into(),
                }),
            ),
            (
                &open,
                name("db.internal"),
                5432,
                Ok(Dial::Resolve {
                    name: "db.internal".into(),
                    port: 5432,
                }),
            ),
            (
                &open,
                name("a.corp.example"),
                80,
                Ok(Dial::Resolve {
                    name: "a.corp.example".into(),
                    port: 80,
                }),
            ),
            (
                &open,
                name("corp.example"),
                80,
                Err(Refusal::HostNotAllowed {
                    name: "corp.example".into(),
                }),
            ),
            (
                &open,
                name("xcorp.example"),
                80,
                Err(Refusal::HostNotAllowed {
                    name: "xcorp.example".into(),
                }),
            ),
            // Numeric tricks are never resolved, whatever the allow list says.
            (
                &open,
                name("2852039166"),
                80,
                Err(Refusal::NumericName {
                    name: "2852039166".into(),
                }),
            ),
            (
                &open,
                name("0x7f000001"),
                80,
                Err(Refusal::NumericName {
                    name: "0x7f000001".into(),
                }),
            ),
            (
                &open,
                name("127.1"),
                80,
                Err(Refusal::NumericName {
                    name: "127.1".into(),
                }),
            ),
            (
                &open,
                name("0177.0.0.1"),
                80,
                Err(Refusal::NumericName {
                    name: "0177.0.0.1".into(),
                }),
            ),
            // Always refused, even when a CIDR would allow it.
            (
                &open,
                ip("169.254.169.254"),
                80,
                Err(Refusal::AlwaysRefused {
                    addr: "169.254.169.254".parse().unwrap(),
                    range: "link-local (169.254.0.0/16, where cloud metadata lives)",
                }),
            ),
            (
                &default,
                ip("0.0.0.0"),
                80,
                Err(Refusal::AlwaysRefused {
                    addr: "0.0.0.0".parse().unwrap(),
                    range: "in 0.0.0.0/8 (\"this host\")",
                }),
            ),
            (
                &default,
                ip("224.0.0.1"),
                80,
                Err(Refusal::AlwaysRefused {
                    addr: "224.0.0.1".parse().unwrap(),
                    range: "multicast (224.0.0.0/4)",
                }),
            ),
        ];
        for (policy, target, port, want) in rows {
            assert_eq!(policy.check(&target, port), want, "{target} port {port}");
        }
    }

    #[test]
    fn resolved_addresses_are_each_checked() {
        let p = policy(&["db.internal"]);
        let addrs = |list: &[&str]| {
            list.iter()
                .map(|a| a.parse().unwrap())
                .collect::<Vec<IpAddr>>()
        };
        assert_eq!(
            p.check_resolved(&addrs(&["10.0.0.5", "fd00::5"]), 5432),
            Ok(vec![sa("10.0.0.5:5432"), sa("[fd00::5]:5432")])
        );
        // One bad answer refuses the name: a rebinding resolver can't sneak one in.
        assert!(matches!(
            p.check_resolved(&addrs(&["10.0.0.5", "169.254.169.254"]), 5432),
            Err(Refusal::AlwaysRefused { .. })
        ));
        assert!(matches!(
            p.check_resolved(&addrs(&["::ffff:169.254.169.254"]), 80),
            Err(Refusal::AlwaysRefused { .. })
        ));
        assert!(matches!(
            p.check_resolved(&addrs(&["fe80::1"]), 80),
            Err(Refusal::AlwaysRefused { .. })
        ));
        assert!(matches!(
            p.check_resolved(&addrs(&["fd00:ec2::254"]), 80),
            Err(Refusal::AlwaysRefused { .. })
        ));
        assert_eq!(
            p.check_resolved(&addrs(&["127.0.0.1"]), 24306),
            Err(Refusal::OwnPort { port: 24306 })
        );
    }

    /// Finding 12 (issue 23): metadata services outside link-local, and IPv6 forms that carry
    /// a refused IPv4 address, were dialled.
    #[test]
    fn finding_12_metadata_nat64_and_compatible_addresses_are_refused() {
        let p = policy(&["0.0.0.0/0", "::/0"]);
        let rows = [
            ("100.100.100.200", false),
            ("168.63.129.16", false),
            ("192.0.0.192", false),
            ("64:ff9b::a9fe:a9fe", false),
            ("64:ff9b::169.254.169.254", false),
            ("64:ff9b::100.100.100.200", false),
            ("64:ff9b::7f00:1", false),
            ("64:ff9b::0.0.0.0", false),
            ("::169.254.169.254", false),
            ("::10.0.0.1", false),
            ("::ffff:168.63.129.16", false),
            ("64:ff9b::8.8.8.8", true),
            ("64:ff9b:1::a9fe:a9fe", true),
            ("100.100.100.201", true),
            ("168.63.129.17", true),
            ("192.0.0.193", true),
            ("::1", true),
            ("2001:db8::a9fe:a9fe", true),
        ];
        for (addr, dialled) in rows {
            let addr: IpAddr = addr.parse().unwrap();
            let got = p.check_resolved(&[addr], 80);
            assert_eq!(got.is_ok(), dialled, "{addr}: {got:?}");
        }
    }

    proptest! {
        /// Whatever the allow list, no decision ever dials an always-refused address.
        #[test]
        fn never_dials_refused_ranges(a: u8, b: u8, c: u8, d: u8, port in 1u16..) {
            let p = policy(&["0.0.0.0/0", "::/0"]);
            let addr = Ipv4Addr::new(a, b, c, d);
            if let Ok(Dial::Addrs(addrs)) = p.check(&Target::Ip(addr), port) {
                for sa in addrs {
                    prop_assert!(always_refused(sa.ip()).is_ok());
                    prop_assert!(!p.deny_ports.iter().any(|r| r.contains(port)));
                }
            }
            // Its NAT64 and IPv4-compatible forms reach it too: refused alike.
            let [hi, lo] = [u32::from(addr) >> 16, u32::from(addr) & 0xffff].map(|s| s as u16);
            if always_refused(IpAddr::V4(addr)).is_err() {
                let nat64 = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo);
                prop_assert!(p.check_resolved(&[IpAddr::V6(nat64)], port).is_err(), "{nat64}");
            }
            let compatible = Ipv6Addr::new(0, 0, 0, 0, 0, 0, hi, lo);
            if compatible != Ipv6Addr::LOCALHOST {
                prop_assert!(p.check_resolved(&[IpAddr::V6(compatible)], port).is_err(), "{compatible}");
            }
        }
    }
}

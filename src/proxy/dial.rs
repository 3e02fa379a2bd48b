//! Where a route is dialled: the policy's answer, a lookup for allowed names (every address
//! checked again), and the order to try the addresses in.
//!
//! `localhost` is two addresses: Node ≥ 17 and Vite bind only `::1`, many Python servers
//! only `127.0.0.1`. Try both; remember per port which family answered, so the next request
//! goes straight there.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::time::Duration;

use super::pages::Page;
use crate::policy::{Dial, Policy};
use crate::route::Target;

const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// A route the policy allows, with the checked addresses to dial.
#[derive(Debug)]
pub(crate) struct Forward {
    pub(crate) target: Target,
    pub(crate) port: u16,
    /// Checked addresses, in the order to try them.
    pub(crate) addrs: Vec<SocketAddr>,
}

impl Forward {
    /// `localhost:5173`: the target as the dev server knows itself.
    pub(crate) fn authority(&self) -> String {
        format!("{}:{}", self.target, self.port)
    }
}

/// Target → policy → (lookup → policy) → addresses to dial, or the page that says why not.
pub(crate) async fn resolve(
    policy: &Policy,
    families: &Families,
    target: Target,
    port: u16,
) -> Result<Forward, Page> {
    let refused = |refusal| Page::Refused {
        target: format!("{target}:{port}"),
        refusal,
    };
    let mut addrs = match policy.check(&target, port).map_err(refused)? {
        Dial::Addrs(addrs) => addrs,
        Dial::Resolve { name, port } => {
            let unresolvable = |detail: String| Page::Unresolvable {
                name: name.clone(),
                detail,
            };
            let found = tokio::time::timeout(
                LOOKUP_TIMEOUT,
                tokio::net::lookup_host((name.as_str(), port)),
            )
            .await
            .map_err(|_| unresolvable("the lookup timed out".into()))?
            .map_err(|e| unresolvable(e.to_string()))?;
            let ips: Vec<_> = found.map(|a| a.ip()).collect();
            if ips.is_empty() {
                return Err(unresolvable("no addresses".into()));
            }
            policy.check_resolved(&ips, port).map_err(refused)?
        }
    };
    if target == Target::Localhost {
        families.order(&mut addrs);
    }
    Ok(Forward {
        target,
        port,
        addrs,
    })
}

const UNKNOWN: u8 = 0;
const V4: u8 = 4;
const V6: u8 = 6;

/// The family that last answered on each port (64 KiB, lock-free).
pub(crate) struct Families(Box<[AtomicU8]>);

impl Default for Families {
    fn default() -> Self {
        Families((0..=u16::MAX).map(|_| AtomicU8::new(UNKNOWN)).collect())
    }
}

impl Families {
    /// Puts the family that answered last time first.
    pub(crate) fn order(&self, addrs: &mut [SocketAddr]) {
        let Some(first) = addrs.first() else { return };
        let remembered = self.0[usize::from(first.port())].load(Relaxed);
        if remembered != UNKNOWN {
            addrs.sort_by_key(|a| if family(a) == remembered { 0 } else { 1 });
        }
    }

    pub(crate) fn remember(&self, addr: SocketAddr) {
        self.0[usize::from(addr.port())].store(family(&addr), Relaxed);
    }
}

fn family(addr: &SocketAddr) -> u8 {
    if addr.is_ipv4() {
        V4
    } else {
        V6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_per_port() {
        let families = Families::default();
        let both = || -> Vec<SocketAddr> {
            vec![
                "127.0.0.1:5173".parse().unwrap(),
                "[::1]:5173".parse().unwrap(),
            ]
        };
        let mut addrs = both();
        families.order(&mut addrs);
        assert!(addrs[0].is_ipv4(), "IPv4 first until told otherwise");
        families.remember("[::1]:5173".parse().unwrap());
        let mut addrs = both();
        families.order(&mut addrs);
        assert!(addrs[0].is_ipv6());
        let mut other: Vec<SocketAddr> = vec![
            "127.0.0.1:8000".parse().unwrap(),
            "[::1]:8000".parse().unwrap(),
        ];
        families.order(&mut other);
        assert!(other[0].is_ipv4(), "another port is unaffected");
    }
}

//! Which TCP ports are listening where loopback can reach them (the dashboard, the 502 page).
//!
//! Linux asks the kernel's sock_diag netlink interface for the listening sockets of this
//! process's network namespace (`/proc/self/net/tcp` and `tcp6` if it refuses), and reads
//! `/proc/PID` for the holders (no extra crate); macOS and Windows ask the OS through
//! `netstat2` (sockets and their pids), then macOS asks libproc and `sysctl` for each holder
//! (through `libc`: `sysinfo` would link the IOKit and CoreFoundation frameworks, which only
//! the SDK has, so no macOS build could be linked off a Mac) and Windows asks `sysinfo`.
//!
//! `sockets` finds the listeners, `holders` the processes behind them, `project` what
//! directory each works in, `command` a command line fit to show.

mod command;
mod holders;
mod project;
mod sockets;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use crate::names;
use command::redact;
use holders::holders;
use project::project;
use project::project_label;
use sockets::listeners;

/// The listening ports and their holders, from one read of the socket tables.
pub(crate) fn listening_and_holders() -> (Vec<u16>, HashMap<u16, Holder>) {
    let listeners = listeners();
    (loopback_ports(&listeners), holders(&listeners))
}

/// The listening ports, their holders and the names they answer to, from one look; `own`
/// (portproxy's and Caddy's ports) get no name.
pub(crate) fn listening_and_names(
    rules: &names::Rules,
    own: &[u16],
) -> (Vec<u16>, HashMap<u16, Holder>, names::Table) {
    let (listening, holders) = listening_and_holders();
    let found: Vec<_> = listening
        .iter()
        .filter(|port| !own.contains(port))
        .map(|port| (*port, holders.get(port).and_then(|h| h.found.clone())))
        .collect();
    let table = names::Table::build(&found, rules);
    (listening, holders, table)
}

fn loopback_ports(listeners: &[Listener]) -> Vec<u16> {
    let mut ports: Vec<u16> = listeners
        .iter()
        .filter(|l| l.addr.is_loopback() || l.addr.is_unspecified())
        .map(|l| l.port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The process that holds a listening port, as far as this user may see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Holder {
    pub(crate) pid: u32,
    /// `node`, `python3`, `caddy`.
    pub(crate) name: String,
    /// Its command line, with secrets (`--token=…`) masked; empty (and left out) for clients
    /// not on this machine.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) command: String,
    /// The project it runs in: its manifest's name, else its directory (`~/src/my-app`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) project: Option<String>,
    /// What names it (`names::Table`).
    #[serde(skip)]
    pub(crate) found: Option<names::Project>,
}

impl Holder {
    /// `lineage`: `pid` and the processes that started it, nearest first.
    fn new(
        lineage: Vec<u32>,
        name: String,
        command: String,
        cwd: Option<&Path>,
        home: Option<&Path>,
    ) -> Self {
        let pid = lineage.first().copied().unwrap_or_default();
        let found = cwd.map(|dir| names::Project {
            lineage,
            ..project(dir, home)
        });
        Holder {
            pid,
            name,
            command,
            project: found.as_ref().map(|p| project_label(p, home)),
            found,
        }
    }
}

/// Who listens on `port`, as `caddy (pid 812)`, when this user may see it.
pub(crate) fn holder(port: u16) -> Option<String> {
    holders(&listeners())
        .remove(&port)
        .map(|h| format!("{} (pid {})", h.name, h.pid))
}

/// A listening TCP socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listener {
    pub(crate) addr: IpAddr,
    pub(crate) port: u16,
    /// Linux: the socket's inode, which `/proc/PID/fd` links to (0 elsewhere).
    pub(crate) inode: u64,
    /// macOS and Windows: the processes the OS says hold it (Linux: found through `inode`).
    pub(crate) pids: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_a_real_listener() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let v6 = std::net::TcpListener::bind("[::1]:0");
        let (ports, _) = listening_and_holders();
        assert!(ports.contains(&v4.local_addr().unwrap().port()));
        if let Ok(v6) = v6 {
            assert!(ports.contains(&v6.local_addr().unwrap().port()));
        }
    }

    #[test]
    fn names_the_holder_of_a_port() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let holder = holder(l.local_addr().unwrap().port()).expect("our own listener is visible");
        assert!(
            holder.ends_with(&format!("(pid {})", std::process::id())),
            "{holder}"
        );
    }
}

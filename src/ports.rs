//! Which TCP ports are listening where loopback can reach them (the dashboard, the 502 page).
//!
//! Linux reads `/proc/self/net/tcp` and `tcp6`, the tables of this process's network
//! namespace, and `/proc/PID` for the holders (no extra crate); macOS and Windows ask the OS
//! through `netstat2` (sockets and their pids) and `sysinfo` (name, command line, directory).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Ports with a listener on a loopback or wildcard address, sorted, each once.
pub fn listening() -> Vec<u16> {
    loopback_ports(&listeners())
}

/// The listening ports and their holders, from one read of the socket tables (on Linux each
/// read of `/proc/net/tcp` walks the kernel's whole socket hash: about 2 ms per table).
pub fn listening_and_holders() -> (Vec<u16>, HashMap<u16, Holder>) {
    let listeners = listeners();
    (loopback_ports(&listeners), holders(&listeners))
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

#[cfg(target_os = "linux")]
fn listeners() -> Vec<Listener> {
    ["/proc/self/net/tcp", "/proc/self/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|text| parse_proc_net_tcp(&text))
        .collect()
}

/// The process that holds a listening port, as far as this user may see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    pub pid: u32,
    /// `node`, `python3`, `caddy`.
    pub name: String,
    /// Its command line, with secrets (`--token=…`) masked.
    pub command: String,
    /// The project it runs in: the name in `package.json`, `Cargo.toml` or `pyproject.toml`
    /// of its working directory, else the directory (`~/src/my-app`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// Who listens on `port`, as `caddy (pid 812)`, when this user may see it.
pub fn holder(port: u16) -> Option<String> {
    holders(&listeners())
        .remove(&port)
        .map(|h| format!("{} (pid {})", h.name, h.pid))
}

/// The holders of every listening port this user may see, in one pass over `/proc`.
/// Another user's process is simply absent.
#[cfg(target_os = "linux")]
fn holders(listeners: &[Listener]) -> HashMap<u16, Holder> {
    let by_inode: HashMap<String, u16> = listeners
        .iter()
        .map(|l| (format!("socket:[{}]", l.inode), l.port))
        .collect();
    let mut found = HashMap::new();
    let home = std::env::var("HOME").ok();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let ports: Vec<u16> = fds
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter_map(|target| by_inode.get(target.to_str()?).copied())
            .collect();
        if ports.is_empty() {
            continue;
        }
        let read = |file: &str| std::fs::read(entry.path().join(file)).unwrap_or_default();
        let args: Vec<String> = read("cmdline")
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let cwd = std::fs::read_link(entry.path().join("cwd")).ok();
        let holder = Holder {
            pid,
            name: String::from_utf8_lossy(&read("comm")).trim().to_string(),
            command: redact(&args),
            project: cwd.map(|dir| project_name(&dir, home.as_deref())),
        };
        for port in ports {
            found.entry(port).or_insert_with(|| holder.clone());
        }
    }
    found
}

/// The holders of every listening port, from the sockets' pids and one `sysinfo` refresh of
/// just those processes. A process the OS hides (another user's, on Windows a service) is
/// absent, or has no command line or directory.
#[cfg(not(target_os = "linux"))]
fn holders(listeners: &[Listener]) -> HashMap<u16, Holder> {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
    let owners: Vec<(u16, u32)> = listeners
        .iter()
        .filter_map(|l| Some((l.port, *l.pids.first()?)))
        .collect();
    let pids: Vec<Pid> = owners.iter().map(|(_, pid)| Pid::from_u32(*pid)).collect();
    let mut system = System::new();
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&pids),
        true,
        ProcessRefreshKind::nothing()
            .with_cmd(UpdateKind::Always)
            .with_cwd(UpdateKind::Always),
    );
    let home = std::env::var("HOME")
        .or_else(|_| std::env::var("USERPROFILE"))
        .ok();
    let mut found = HashMap::new();
    for (port, pid) in owners {
        let Some(process) = system.process(Pid::from_u32(pid)) else {
            continue;
        };
        let args: Vec<String> = process
            .cmd()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        found.entry(port).or_insert_with(|| Holder {
            pid,
            name: process.name().to_string_lossy().into_owned(),
            command: redact(&args),
            project: process.cwd().map(|dir| project_name(dir, home.as_deref())),
        });
    }
    found
}

/// A command line for display: secrets in `--token=X`, `--password X` and the like become
/// `…` (Jupyter prints its token in its arguments).
pub fn redact(args: &[String]) -> String {
    let secret = |name: &str| {
        let name = name.trim_start_matches('-').to_ascii_lowercase();
        ["token", "password", "passwd", "secret", "key", "auth"]
            .iter()
            .any(|s| name.ends_with(s) || name.contains(&format!("{s}_")))
    };
    let mut out = Vec::with_capacity(args.len());
    let mut hide_next = false;
    for arg in args {
        if hide_next {
            out.push("…".to_string());
            hide_next = false;
        } else if let Some((name, _)) = arg.split_once('=').filter(|(n, _)| n.starts_with('-')) {
            out.push(if secret(name) {
                format!("{name}=…")
            } else {
                arg.clone()
            });
        } else {
            hide_next = arg.starts_with('-') && secret(arg);
            out.push(arg.clone());
        }
    }
    out.join(" ")
}

/// The project a directory holds: its manifest's name, else the path with `~` for home.
pub fn project_name(dir: &std::path::Path, home: Option<&str>) -> String {
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
    let from_toml = |text: String, table: &str| {
        let value: toml::Value = toml::from_str(&text).ok()?;
        Some(value.get(table)?.get("name")?.as_str()?.to_string())
    };
    let named = read("package.json")
        .and_then(|text| {
            let value: serde_json::Value = serde_json::from_str(&text).ok()?;
            Some(value.get("name")?.as_str()?.to_string())
        })
        .or_else(|| read("Cargo.toml").and_then(|t| from_toml(t, "package")))
        .or_else(|| read("pyproject.toml").and_then(|t| from_toml(t, "project")));
    if let Some(name) = named {
        return name;
    }
    let shown = dir.display().to_string();
    match home {
        Some(home) if !home.is_empty() && shown.starts_with(home) => {
            format!("~{}", &shown[home.len()..])
        }
        _ => shown,
    }
}

/// A listening TCP socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub addr: IpAddr,
    pub port: u16,
    /// Linux: the socket's inode, which `/proc/PID/fd` links to (0 elsewhere).
    pub inode: u64,
    /// macOS and Windows: the processes the OS says hold it (Linux: found through `inode`).
    pub pids: Vec<u32>,
}

#[cfg(not(target_os = "linux"))]
fn listeners() -> Vec<Listener> {
    use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState};
    let families = AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6;
    match netstat2::get_sockets_info(families, ProtocolFlags::TCP) {
        Ok(sockets) => sockets
            .into_iter()
            .filter_map(|s| match s.protocol_socket_info {
                ProtocolSocketInfo::Tcp(tcp) if tcp.state == TcpState::Listen => Some(Listener {
                    addr: tcp.local_addr,
                    port: tcp.local_port,
                    inode: 0,
                    pids: s.associated_pids,
                }),
                _ => None,
            })
            .collect(),
        Err(e) => {
            log::warn!("could not list listening ports: {e}");
            Vec::new()
        }
    }
}

/// Listening sockets in a `/proc/net/tcp{,6}` table. Addresses are hex words in host byte
/// order (little-endian here), ports big-endian hex; state `0A` is LISTEN.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub fn parse_proc_net_tcp(text: &str) -> Vec<Listener> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            let inode = fields.nth(5)?.parse().ok()?;
            if state != "0A" {
                return None;
            }
            let (addr, port) = local.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            let addr = match addr.len() {
                8 => IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    u32::from_str_radix(addr, 16).ok()?,
                ))),
                32 => {
                    let mut octets = [0u8; 16];
                    for (i, chunk) in octets.chunks_mut(4).enumerate() {
                        let word = u32::from_str_radix(&addr[i * 8..i * 8 + 8], 16).ok()?;
                        chunk.copy_from_slice(&u32::from_be(word).to_be_bytes());
                    }
                    IpAddr::V6(Ipv6Addr::from(octets))
                }
                _ => return None,
            };
            Some(Listener {
                addr,
                port,
                inode,
                pids: Vec::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_hide_secrets() {
        let args = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        let rows = [
            (
                "node /app/node_modules/.bin/vite --port 5173",
                "node /app/node_modules/.bin/vite --port 5173",
            ),
            (
                "jupyter-lab --ServerApp.token=abc123 --no-browser",
                "jupyter-lab --ServerApp.token=… --no-browser",
            ),
            (
                "server --password hunter2 --verbose",
                "server --password … --verbose",
            ),
            (
                "app --api-key=k1 --db_secret s --auth_token=t",
                "app --api-key=… --db_secret … --auth_token=…",
            ),
            ("python manage.py runserver", "python manage.py runserver"),
        ];
        for (from, to) in rows {
            assert_eq!(redact(&args(from)), to, "{from}");
        }
    }

    #[test]
    fn projects_are_named_by_their_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().display().to_string();
        let app = dir.path().join("src/my-app");
        std::fs::create_dir_all(&app).unwrap();
        assert_eq!(project_name(&app, Some(&home)), "~/src/my-app");
        std::fs::write(app.join("pyproject.toml"), "[project]\nname = \"api\"\n").unwrap();
        assert_eq!(project_name(&app, Some(&home)), "api");
        std::fs::write(app.join("package.json"), "{\"name\": \"web\"}").unwrap();
        assert_eq!(project_name(&app, None), "web");
    }

    #[test]
    fn reads_proc_tables() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:5EF2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0100007F:5EF2 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
   3: 0A00000A:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0";
        let rows = |text| -> Vec<(IpAddr, u16, u64)> {
            parse_proc_net_tcp(text)
                .into_iter()
                .map(|l| (l.addr, l.port, l.inode))
                .collect()
        };
        assert_eq!(
            rows(v4),
            vec![
                ("127.0.0.1".parse().unwrap(), 24306, 1),
                ("0.0.0.0".parse().unwrap(), 8080, 2),
                ("10.0.0.10".parse().unwrap(), 22, 4),
            ]
        );
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1435 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1 0 100 0 0 10 0
   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6 1 0 100 0 0 10 0
   2: garbage";
        assert_eq!(
            rows(v6),
            vec![
                ("::1".parse().unwrap(), 5173, 5),
                ("::".parse().unwrap(), 80, 6)
            ]
        );
    }

    #[test]
    fn sees_a_real_listener() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let v6 = std::net::TcpListener::bind("[::1]:0");
        let ports = listening();
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

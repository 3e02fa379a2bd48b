//! Which TCP ports are listening where loopback can reach them (the dashboard, the 502 page).
//!
//! Linux asks the kernel's sock_diag netlink interface for the listening sockets of this
//! process's network namespace (`/proc/self/net/tcp` and `tcp6` if it refuses), and reads
//! `/proc/PID` for the holders (no extra crate); macOS and Windows ask the OS through
//! `netstat2` (sockets and their pids), then macOS asks libproc and `sysctl` for each holder
//! (through `libc`: `sysinfo` would link the IOKit and CoreFoundation frameworks, which only
//! the SDK has, so no macOS build could be linked off a Mac) and Windows asks `sysinfo`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::names;

/// Ports with a listener on a loopback or wildcard address, sorted, each once.
pub fn listening() -> Vec<u16> {
    loopback_ports(&listeners())
}

/// The listening ports and their holders, from one read of the socket tables.
pub fn listening_and_holders() -> (Vec<u16>, HashMap<u16, Holder>) {
    let listeners = listeners();
    (loopback_ports(&listeners), holders(&listeners))
}

/// The listening ports, their holders and the names they answer to, from one look; `own`
/// (portproxy's and Caddy's ports) get no name.
pub fn listening_and_names(
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

#[cfg(target_os = "linux")]
fn listeners() -> Vec<Listener> {
    diag_listeners().unwrap_or_else(|e| {
        log::debug!("sock_diag: {e}; reading /proc/self/net/tcp instead");
        proc_listeners()
    })
}

/// Each read of `/proc/net/tcp` walks the kernel's every socket bucket (about 2 ms a table
/// on a small machine); sock_diag asked for LISTEN only walks the listening table.
#[cfg(target_os = "linux")]
fn diag_listeners() -> std::io::Result<Vec<Listener>> {
    use std::io::Error;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: plain system calls on a descriptor this function owns, with buffers that
    // outlive each call and lengths that match them.
    unsafe {
        let raw = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::NETLINK_SOCK_DIAG,
        );
        if raw < 0 {
            return Err(Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(raw);
        // A kernel that never answers must not hold the dashboard.
        let wait = libc::timeval {
            tv_sec: 1,
            tv_usec: 0,
        };
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&wait as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
        let mut kernel: libc::sockaddr_nl = std::mem::zeroed();
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let mut found = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        for family in [libc::AF_INET, libc::AF_INET6] {
            let request = diag_request(family as u8);
            let sent = libc::sendto(
                fd.as_raw_fd(),
                request.as_ptr().cast(),
                request.len(),
                0,
                (&kernel as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            );
            if sent < 0 {
                return Err(Error::last_os_error());
            }
            loop {
                let got = libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0);
                if got < 0 {
                    return Err(Error::last_os_error());
                }
                match parse_diag(&buf[..got as usize], &mut found) {
                    Diag::More => {}
                    Diag::Done => break,
                    Diag::Failed => return Err(Error::other("the request was refused")),
                }
            }
        }
        Ok(found)
    }
}

/// A netlink sock_diag dump request for `family`'s TCP sockets in LISTEN: a `nlmsghdr`, then
/// an `inet_diag_req_v2` (linux/inet_diag.h).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn diag_request(family: u8) -> [u8; 72] {
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const REQUEST_DUMP: u16 = 0x1 | 0x300;
    const TCP_LISTEN: u32 = 10;
    let mut request = [0u8; 72];
    request[0..4].copy_from_slice(&72u32.to_ne_bytes());
    request[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    request[6..8].copy_from_slice(&REQUEST_DUMP.to_ne_bytes());
    request[16] = family;
    request[17] = 6; // IPPROTO_TCP
    request[20..24].copy_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    request
}

/// Where a sock_diag answer stands after one datagram.
#[derive(Debug, PartialEq, Eq)]
enum Diag {
    More,
    Done,
    Failed,
}

/// The listeners in one datagram of a sock_diag dump (`nlmsghdr` + `inet_diag_msg` each).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_diag(datagram: &[u8], found: &mut Vec<Listener>) -> Diag {
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    let mut at = 0;
    while let Some(head) = datagram.get(at..at + 16) {
        let len = u32::from_ne_bytes([head[0], head[1], head[2], head[3]]) as usize;
        match u16::from_ne_bytes([head[4], head[5]]) {
            _ if len < 16 => return Diag::Failed,
            NLMSG_DONE => return Diag::Done,
            NLMSG_ERROR => return Diag::Failed,
            _ => found.extend(datagram.get(at + 16..at + len).and_then(diag_listener)),
        }
        at = at.saturating_add((len + 3) & !3);
    }
    Diag::More
}

/// One `inet_diag_msg`: family, then the socket id (port and address in network order),
/// then timers, queues, uid and the inode.
fn diag_listener(msg: &[u8]) -> Option<Listener> {
    let msg = msg.get(..72)?;
    let addr = match msg[0] {
        2 => IpAddr::V4(Ipv4Addr::new(msg[8], msg[9], msg[10], msg[11])),
        10 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&msg[8..24]).ok()?)),
        _ => return None,
    };
    Some(Listener {
        addr,
        port: u16::from_be_bytes([msg[4], msg[5]]),
        inode: u32::from_ne_bytes([msg[68], msg[69], msg[70], msg[71]]).into(),
        pids: Vec::new(),
    })
}

#[cfg(target_os = "linux")]
fn proc_listeners() -> Vec<Listener> {
    ["/proc/self/net/tcp", "/proc/self/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|text| parse_proc_net_tcp(&text))
        .collect()
}

/// The process that holds a listening port, as far as this user may see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holder {
    pub pid: u32,
    /// `node`, `python3`, `caddy`.
    pub name: String,
    /// Its command line, with secrets (`--token=…`) masked; empty (and left out) for clients
    /// not on this machine.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    /// The project it runs in: its manifest's name, else its directory (`~/src/my-app`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// What names it (`names::Table`).
    #[serde(skip)]
    pub found: Option<names::Project>,
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
    let home = std::env::var_os("HOME").map(PathBuf::from);
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
        let holder = Holder::new(
            linux::lineage(pid),
            String::from_utf8_lossy(&read("comm")).trim().to_string(),
            redact(&args),
            cwd.as_deref(),
            home.as_deref(),
        );
        for port in ports {
            found.entry(port).or_insert_with(|| holder.clone());
        }
    }
    found
}

#[cfg(target_os = "linux")]
mod linux {
    /// `pid` and its ancestors from `/proc/PID/stat`, nearest first, up to init.
    pub(super) fn lineage(pid: u32) -> Vec<u32> {
        let mut lineage = vec![pid];
        let mut next = pid;
        while lineage.len() < 32 {
            let stat = std::fs::read_to_string(format!("/proc/{next}/stat")).unwrap_or_default();
            match super::parent_in_stat(&stat) {
                Some(parent) if parent > 1 && !lineage.contains(&parent) => {
                    lineage.push(parent);
                    next = parent;
                }
                _ => break,
            }
        }
        lineage
    }
}

/// The parent pid in a `/proc/PID/stat` line: the second field after the command, which is
/// in parentheses and may itself hold spaces and parentheses.
pub fn parent_in_stat(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The holders of every listening port, from the sockets' pids: the name, path and working
/// directory from libproc, the arguments from `sysctl(KERN_PROCARGS2)`. Another user's
/// process has no arguments or directory to show (macOS refuses), only a name.
#[cfg(target_os = "macos")]
fn holders(listeners: &[Listener]) -> HashMap<u16, Holder> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut found = HashMap::new();
    for listener in listeners {
        let Some(&pid) = listener.pids.first() else {
            continue;
        };
        if found.contains_key(&listener.port) {
            continue;
        }
        let Some(name) = macos::name(pid) else {
            continue;
        };
        let args = macos::arguments(pid).unwrap_or_default();
        found.insert(
            listener.port,
            Holder::new(
                macos::lineage(pid),
                name,
                redact(&args),
                macos::directory(pid).as_deref(),
                home.as_deref(),
            ),
        );
    }
    found
}

#[cfg(target_os = "macos")]
mod macos {
    use std::ffi::{c_char, c_int, c_void, CStr};
    use std::path::PathBuf;

    /// The process's short name (`node`), as `ps -c` shows it.
    pub(super) fn name(pid: u32) -> Option<String> {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer outlives the call and its length is passed with it.
        let n = unsafe { libc::proc_name(pid as c_int, buf.as_mut_ptr().cast(), buf.len() as u32) };
        (n > 0).then(|| String::from_utf8_lossy(&buf[..n as usize]).into_owned())
    }

    /// The arguments the process was started with.
    pub(super) fn arguments(pid: u32) -> Option<Vec<String>> {
        let mut mib = [libc::CTL_KERN, libc::KERN_PROCARGS2, pid as c_int];
        let mut size: libc::size_t = 0;
        // SAFETY: a size query (null buffer), then a read into a buffer of that size; both
        // pointers outlive the calls.
        unsafe {
            if libc::sysctl(
                mib.as_mut_ptr(),
                3,
                std::ptr::null_mut(),
                &mut size,
                std::ptr::null_mut(),
                0,
            ) != 0
            {
                return None;
            }
            let mut buf = vec![0u8; size];
            if libc::sysctl(
                mib.as_mut_ptr(),
                3,
                buf.as_mut_ptr().cast::<c_void>(),
                &mut size,
                std::ptr::null_mut(),
                0,
            ) != 0
            {
                return None;
            }
            buf.truncate(size);
            crate::ports::parse_procargs2(&buf)
        }
    }

    /// The process's working directory.
    pub(super) fn directory(pid: u32) -> Option<PathBuf> {
        let mut info = std::mem::MaybeUninit::<libc::proc_vnodepathinfo>::zeroed();
        let size = std::mem::size_of::<libc::proc_vnodepathinfo>() as c_int;
        // SAFETY: libproc fills at most `size` bytes of `info`, which outlives the call; a
        // zeroed `proc_vnodepathinfo` is valid (plain integers and characters).
        let info = unsafe {
            let n = libc::proc_pidinfo(
                pid as c_int,
                libc::PROC_PIDVNODEPATHINFO,
                0,
                info.as_mut_ptr().cast(),
                size,
            );
            if n != size {
                return None;
            }
            info.assume_init()
        };
        let path: &[c_char] = info.pvi_cdir.vip_path.as_flattened();
        let path = CStr::from_bytes_until_nul(as_bytes(path)).ok()?;
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::OsStr::from_bytes(path.to_bytes());
        (!path.is_empty()).then(|| PathBuf::from(path))
    }

    /// `pid` and its ancestors from libproc's BSD info, nearest first, up to launchd.
    pub(super) fn lineage(pid: u32) -> Vec<u32> {
        let mut lineage = vec![pid];
        let size = std::mem::size_of::<libc::proc_bsdinfo>() as c_int;
        while lineage.len() < 32 {
            let mut info = std::mem::MaybeUninit::<libc::proc_bsdinfo>::zeroed();
            let next = *lineage.last().unwrap_or(&pid);
            // SAFETY: as in `directory`: libproc fills at most `size` bytes of `info`, and a
            // zeroed `proc_bsdinfo` is valid (plain integers and characters).
            let parent = unsafe {
                let n = libc::proc_pidinfo(
                    next as c_int,
                    libc::PROC_PIDTBSDINFO,
                    0,
                    info.as_mut_ptr().cast(),
                    size,
                );
                if n != size {
                    break;
                }
                info.assume_init().pbi_ppid
            };
            if parent <= 1 || lineage.contains(&parent) {
                break;
            }
            lineage.push(parent);
        }
        lineage
    }

    fn as_bytes(chars: &[c_char]) -> &[u8] {
        // SAFETY: c_char and u8 have the same size and alignment.
        unsafe { std::slice::from_raw_parts(chars.as_ptr().cast(), chars.len()) }
    }
}

/// The arguments in a macOS `KERN_PROCARGS2` buffer: `argc` (a native-endian `i32`), the
/// executable's path, NUL padding, then `argc` NUL-terminated arguments (the environment
/// follows, and is never read). None when the buffer is shorter than it says.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
pub fn parse_procargs2(buf: &[u8]) -> Option<Vec<String>> {
    let argc = i32::from_ne_bytes(buf.get(..4)?.try_into().ok()?);
    let argc = usize::try_from(argc).ok()?;
    let rest = &buf[4..];
    let path_end = rest.iter().position(|b| *b == 0)?;
    let mut rest = &rest[path_end..];
    while let [0, tail @ ..] = rest {
        rest = tail;
    }
    let mut args = Vec::with_capacity(argc.min(256));
    for _ in 0..argc {
        if rest.is_empty() {
            return None;
        }
        let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        args.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    Some(args)
}

/// The holders of every listening port, from the sockets' pids and one `sysinfo` refresh of
/// just those processes. A process the OS hides (another user's, on Windows a service) is
/// absent, or has no command line or directory.
#[cfg(windows)]
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
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from);
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
        found.entry(port).or_insert_with(|| {
            // sysinfo knows only the processes refreshed here: the parent, not its ancestors.
            let lineage = std::iter::once(pid)
                .chain(process.parent().map(|p| p.as_u32()))
                .collect();
            Holder::new(
                lineage,
                process.name().to_string_lossy().into_owned(),
                redact(&args),
                process.cwd(),
                home.as_deref(),
            )
        });
    }
    found
}

/// A command line for display, its secrets as `…`: the value of a secret-named flag
/// (`--token=X`, `--password X`, `--authorization "Bearer X"`; Jupyter prints its token in its
/// arguments), of a secret-named variable (`GITHUB_TOKEN=X`) or header (`Authorization: X`),
/// and the password in a URL (`postgres://app:X@db`). What it misses is shown to this
/// machine only (the dashboard leaves command lines out for everyone else).
pub fn redact(args: &[String]) -> String {
    let mut out = Vec::with_capacity(args.len());
    let mut hide_next = false;
    for arg in args {
        if std::mem::take(&mut hide_next) && !arg.starts_with('-') {
            out.push("…".to_string());
            continue;
        }
        let flag = arg.starts_with('-');
        if let Some((name, _)) = arg.split_once('=').filter(|(n, _)| is_name(n)) {
            out.push(if secret_name(name) {
                format!("{name}=…")
            } else {
                hide_url_password(arg)
            });
        } else if let Some((name, _)) = arg.split_once(": ").filter(|(n, _)| secret_name(n)) {
            out.push(format!("{name}: …"));
        } else {
            hide_next = flag && secret_name(arg);
            out.push(hide_url_password(arg));
        }
    }
    out.join(" ")
}

/// `--flag`, `-f` or `NAME` (of `NAME=VALUE`): letters, digits, `-`, `_`, `.`.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A flag, variable or header whose value is a secret: one of its words (split at `-`, `_`
/// and `.`) is or ends in one of these (`apikey`, `GITHUB_TOKEN`, `--db-password`).
fn secret_name(name: &str) -> bool {
    const SECRETS: &[&str] = &[
        "token",
        "pass",
        "password",
        "passwd",
        "pwd",
        "secret",
        "key",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "cookie",
        "session",
    ];
    name.trim_start_matches('-')
        .to_ascii_lowercase()
        .split(['-', '_', '.'])
        .any(|word| SECRETS.iter().any(|s| word.ends_with(s)))
}

/// `scheme://user:PASSWORD@host…` with the password as `…`, wherever in `arg` it is.
fn hide_url_password(arg: &str) -> String {
    let Some(start) = arg.find("://").map(|i| i + 3) else {
        return arg.to_string();
    };
    let authority_end = arg[start..]
        .find(['/', '?', '#', ' '])
        .map_or(arg.len(), |i| start + i);
    let authority = &arg[start..authority_end];
    match authority.rfind('@').and_then(|at| {
        let colon = authority[..at].find(':')?;
        Some((start + colon + 1, start + at))
    }) {
        Some((from, to)) => format!("{}…{}", &arg[..from], &arg[to..]),
        None => arg.to_string(),
    }
}

/// The project a process works in, from the files at and above its working directory: the
/// nearest manifest (`names::MANIFESTS`), the git work tree (a linked worktree's branch, and
/// the main checkout's directory for its name), else the directory itself. The walk stops
/// below `home` and `/`: a stray `package.json` or dotfiles repository there is nobody's
/// project, and neither directory is ever a name.
pub fn project(cwd: &Path, home: Option<&Path>) -> names::Project {
    let read = |path: PathBuf| std::fs::read_to_string(path).ok();
    let mut manifest = None;
    let mut git = None;
    for dir in cwd.ancestors().take(32) {
        if Some(dir) == home || dir.parent().is_none() {
            break;
        }
        if manifest.is_none() {
            manifest = names::MANIFESTS.iter().find_map(|file| {
                let name = names::manifest_name(file, &read(dir.join(file))?)?;
                Some((dir.to_path_buf(), name))
            });
        }
        let dot_git = dir.join(".git");
        if dot_git.is_dir() {
            git = Some((dir.to_path_buf(), dir.to_path_buf(), None));
        } else if let Some(gitdir) = read(dot_git).and_then(|t| names::gitdir_of(&t, dir)) {
            // `MAIN/.git/worktrees/ID`: the main checkout names the project.
            let main = gitdir.ancestors().nth(3).unwrap_or(dir).to_path_buf();
            let branch = read(gitdir.join("HEAD")).and_then(|h| names::branch_of(&h));
            git = Some((dir.to_path_buf(), main, branch));
        }
        if git.is_some() {
            break;
        }
    }
    let file_name = |dir: &Path| {
        (Some(dir) != home && dir.parent().is_some())
            .then(|| dir.file_name()?.to_str().map(str::to_string))
            .flatten()
    };
    let branch = git.as_ref().and_then(|(_, _, branch)| branch.clone());
    let (root, name, from_manifest) = match (manifest, git) {
        (Some((dir, name)), _) => (dir, Some(name), true),
        (None, Some((top, main, _))) => (top, file_name(&main), false),
        (None, None) => (cwd.to_path_buf(), file_name(cwd), false),
    };
    names::Project {
        cwd: cwd.to_path_buf(),
        root,
        name,
        branch,
        from_manifest,
        lineage: Vec::new(),
    }
}

/// The project as the dashboard shows it: its manifest's name, else its directory with `~`
/// for home.
fn project_label(project: &names::Project, home: Option<&Path>) -> String {
    match &project.name {
        Some(name) if project.from_manifest => name.clone(),
        _ => match home.and_then(|home| project.root.strip_prefix(home).ok()) {
            Some(rest) => format!("~/{}", rest.display()),
            None => project.root.display().to_string(),
        },
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
            // Finding 8 (issue 23): real command lines whose secrets were shown.
            (
                "psql postgres://app:s3cr3t@db.internal:5432/app",
                "psql postgres://app:…@db.internal:5432/app",
            ),
            (
                "node server.js --database-url=postgresql://u:p%40ss@localhost/db",
                "node server.js --database-url=postgresql://u:…@localhost/db",
            ),
            (
                "env GITHUB_TOKEN=ghp_abc OPENAI_API_KEY=sk-x PORT=3000 node app.js",
                "env GITHUB_TOKEN=… OPENAI_API_KEY=… PORT=3000 node app.js",
            ),
            (
                "gcloud run --credentials /home/me/sa.json --port 8080",
                "gcloud run --credentials … --port 8080",
            ),
            (
                "uvicorn app:app --session-secret=xyz --reload",
                "uvicorn app:app --session-secret=… --reload",
            ),
            (
                "app --db-pwd hunter2 --no-auth --port 80",
                "app --db-pwd … --no-auth --port 80",
            ),
            (
                "redis-server --requirepass x --masterauth y",
                "redis-server --requirepass … --masterauth …",
            ),
            (
                "git clone https://user@github.com/o/r https://github.com/o/r",
                "git clone https://user@github.com/o/r https://github.com/o/r",
            ),
        ];
        for (from, to) in rows {
            assert_eq!(redact(&args(from)), to, "{from}");
        }
        // Arguments with spaces, as /proc gives them.
        let spaced = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let rows: [(&[&str], &str); 3] = [
            (
                &["curl", "--authorization", "Bearer abc.def", "http://x"],
                "curl --authorization … http://x",
            ),
            (
                &[
                    "curl",
                    "-H",
                    "Authorization: Bearer abc",
                    "-H",
                    "Accept: */*",
                ],
                "curl -H Authorization: … -H Accept: */*",
            ),
            (
                &["curl", "-H", "X-Api-Key: k", "https://a:b@h/"],
                "curl -H X-Api-Key: … https://a:…@h/",
            ),
        ];
        for (from, to) in rows {
            assert_eq!(redact(&spaced(from)), to, "{from:?}");
        }
    }

    #[test]
    fn projects_from_manifests_git_and_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path();
        let write = |path: &str, text: &str| {
            let path = home.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let of = |dir: &str| project(&home.join(dir), Some(home));
        // A stray manifest in home names nothing.
        write("package.json", r#"{"name": "home-junk"}"#);
        std::fs::create_dir_all(home.join("src/my-app")).unwrap();
        let app = of("src/my-app");
        assert_eq!(app.name.as_deref(), Some("my-app"));
        assert_eq!(project_label(&app, Some(home)), "~/src/my-app");
        // The nearest manifest at or above the working directory.
        write("src/shop/package.json", r#"{"name": "@acme/shop-web"}"#);
        std::fs::create_dir_all(home.join("src/shop/.git")).unwrap();
        std::fs::create_dir_all(home.join("src/shop/src/pages")).unwrap();
        let shop = of("src/shop/src/pages");
        assert_eq!(shop.name.as_deref(), Some("shop-web"));
        assert_eq!(shop.root, home.join("src/shop"));
        assert_eq!(shop.branch, None);
        assert_eq!(project_label(&shop, Some(home)), "shop-web");
        // Without a manifest, the git work tree's top directory.
        std::fs::create_dir_all(home.join("src/tool/.git")).unwrap();
        std::fs::create_dir_all(home.join("src/tool/bin")).unwrap();
        assert_eq!(of("src/tool/bin").name.as_deref(), Some("tool"));
        // A linked worktree: its branch, and the main checkout's name.
        let gitdir = home.join("src/tool/.git/worktrees/tool-login");
        std::fs::create_dir_all(&gitdir).unwrap();
        std::fs::write(gitdir.join("HEAD"), "ref: refs/heads/feature/login\n").unwrap();
        write(
            "wt/tool-login/.git",
            &format!("gitdir: {}\n", gitdir.display()),
        );
        let linked = of("wt/tool-login");
        assert_eq!(linked.name.as_deref(), Some("tool"));
        assert_eq!(linked.branch.as_deref(), Some("feature/login"));
        // Home itself is no project name.
        assert_eq!(project(home, Some(home)).name, None);
    }

    #[test]
    fn reads_the_parent_from_proc_stat() {
        for (stat, parent) in [
            ("4242 (node) S 4100 4242 4100 0 -1", Some(4100)),
            // A command with spaces and parentheses: the last `)` ends it.
            ("77 (ipykernel (x) y) S 76 77 77 0", Some(76)),
            ("1 (systemd) S 0 1 1 0", Some(0)),
            ("77 (cut", None),
            ("", None),
        ] {
            assert_eq!(parent_in_stat(stat), parent, "{stat}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn knows_who_started_a_process() {
        let lineage = linux::lineage(std::process::id());
        assert_eq!(lineage[0], std::process::id());
        let parent = std::os::unix::process::parent_id();
        assert!(
            parent <= 1 || lineage.get(1) == Some(&parent),
            "{lineage:?}"
        );
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

    /// A datagram as the kernel writes it: one message per listener, then DONE.
    fn datagram(messages: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (kind, body) in messages {
            out.extend_from_slice(&(16 + body.len() as u32).to_ne_bytes());
            out.extend_from_slice(&kind.to_ne_bytes());
            out.extend_from_slice(&[0; 10]);
            out.extend_from_slice(body);
            out.resize(out.len().next_multiple_of(4), 0);
        }
        out
    }

    fn diag_msg(family: u8, addr: &[u8], port: u16, inode: u32) -> Vec<u8> {
        let mut msg = vec![0u8; 72];
        msg[0] = family;
        msg[1] = 10;
        msg[4..6].copy_from_slice(&port.to_be_bytes());
        msg[8..8 + addr.len()].copy_from_slice(addr);
        msg[68..72].copy_from_slice(&inode.to_ne_bytes());
        msg
    }

    #[test]
    fn reads_sock_diag_answers() {
        let mut found = Vec::new();
        let v4 = diag_msg(2, &[127, 0, 0, 1], 5173, 77);
        let v6 = diag_msg(10, &Ipv6Addr::LOCALHOST.octets(), 8000, 78);
        let odd = diag_msg(1, &[], 1, 1);
        let first = datagram(&[(20, v4), (20, odd), (20, v6[..40].to_vec())]);
        assert_eq!(parse_diag(&first, &mut found), Diag::More);
        assert_eq!(
            parse_diag(&datagram(&[(20, v6), (3, vec![0; 4])]), &mut found),
            Diag::Done
        );
        let got: Vec<(IpAddr, u16, u64)> =
            found.iter().map(|l| (l.addr, l.port, l.inode)).collect();
        assert_eq!(
            got,
            vec![
                ("127.0.0.1".parse().unwrap(), 5173, 77),
                ("::1".parse().unwrap(), 8000, 78)
            ]
        );
        assert_eq!(
            parse_diag(&datagram(&[(2, vec![0; 20])]), &mut found),
            Diag::Failed
        );
        assert_eq!(
            parse_diag(&[0; 16], &mut found),
            Diag::Failed,
            "a zero length"
        );
        assert_eq!(parse_diag(&[1, 2, 3], &mut found), Diag::More);
        let request = diag_request(10);
        assert_eq!(request.len(), 16 + 56, "nlmsghdr + inet_diag_req_v2");
        assert_eq!((request[16], request[17]), (10, 6));
    }

    proptest::proptest! {
        #[test]
        fn any_datagram_is_read_without_panicking(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let mut found = Vec::new();
            let _ = parse_diag(&bytes, &mut found);
            proptest::prop_assert!(found.len() <= bytes.len() / 88 + 1);
        }
    }

    /// `KERN_PROCARGS2` as macOS lays it out: argc, the executable's path, NUL padding,
    /// the arguments, then the environment (never read).
    fn procargs2(argc: i32, path: &str, padding: usize, rest: &[u8]) -> Vec<u8> {
        let mut buf = argc.to_ne_bytes().to_vec();
        buf.extend_from_slice(path.as_bytes());
        buf.extend(std::iter::repeat_n(0, 1 + padding));
        buf.extend_from_slice(rest);
        buf
    }

    #[test]
    fn macos_arguments_are_read_from_kern_procargs2() {
        let node = b"node\0server.js\0--token=abc\0PATH=/usr/bin\0HOME=/Users/me\0";
        for (buf, want) in [
            (
                procargs2(3, "/usr/local/bin/node", 5, node),
                Some(vec!["node", "server.js", "--token=abc"]),
            ),
            (procargs2(1, "/bin/x", 0, b"x\0"), Some(vec!["x"])),
            // An empty argument is kept; the last one may end the buffer without a NUL.
            (procargs2(2, "/bin/x", 2, b"x\0\0"), Some(vec!["x", ""])),
            (procargs2(2, "/bin/x", 0, b"x\0y"), Some(vec!["x", "y"])),
            (procargs2(0, "/bin/x", 3, b"ENV=1\0"), Some(vec![])),
            // Fewer arguments than argc says, a negative argc, no path end, too short.
            (procargs2(3, "/bin/x", 0, b"x\0"), None),
            (procargs2(-1, "/bin/x", 0, b"x\0"), None),
            (b"\x01\0\0\0/bin/x".to_vec(), None),
            (vec![1, 0], None),
        ] {
            let want = want.map(|w| w.into_iter().map(String::from).collect::<Vec<_>>());
            assert_eq!(parse_procargs2(&buf), want, "{buf:?}");
        }
        let args = parse_procargs2(&procargs2(3, "/usr/local/bin/node", 5, node)).unwrap();
        assert_eq!(redact(&args), "node server.js --token=…");
    }

    proptest::proptest! {
        /// What the kernel hands over is read without panicking, and never yields more
        /// arguments than the buffer has NULs to end them (plus a last unterminated one).
        #[test]
        fn any_procargs2_buffer_is_read_without_panicking(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            if let Some(args) = parse_procargs2(&bytes) {
                let nuls = bytes.iter().filter(|b| **b == 0).count();
                proptest::prop_assert!(args.len() <= nuls + 1);
            }
        }
    }

    /// sock_diag and `/proc/net/tcp` agree on a real listener (inode included, which the
    /// holders are found by).
    #[cfg(target_os = "linux")]
    #[test]
    fn sock_diag_sees_what_proc_sees() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let mine = |all: Vec<Listener>| all.into_iter().find(|l| l.port == port);
        let diag = mine(diag_listeners().expect("sock_diag answers here"));
        assert!(diag.is_some(), "sock_diag misses port {port}");
        assert_eq!(diag, mine(proc_listeners()));
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

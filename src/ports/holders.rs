//! The processes behind the listening sockets, as far as this user may see them: `/proc` on
//! Linux, libproc and `sysctl` on macOS (through `libc`: `sysinfo` would link frameworks only
//! the SDK has), `sysinfo` on Windows.

use std::collections::HashMap;

use super::{redact, Holder, Listener};

/// The holders of every listening port this user may see, in one pass over `/proc`.
/// Another user's process is simply absent.
#[cfg(target_os = "linux")]
pub(super) fn holders(listeners: &[Listener]) -> HashMap<u16, Holder> {
    let by_inode: HashMap<String, u16> = listeners
        .iter()
        .map(|l| (format!("socket:[{}]", l.inode), l.port))
        .collect();
    let mut found = HashMap::new();
    let home = crate::paths::user_home();
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
        super::lineage(pid, |next| {
            let stat = std::fs::read_to_string(format!("/proc/{next}/stat")).ok()?;
            super::parent_in_stat(&stat)
        })
    }
}

/// `pid` and the processes that started it, nearest first, as `parent` tells them; stops at
/// init/launchd (pid 1), an unknown parent, a loop, or 32 generations.
#[cfg_attr(windows, allow(dead_code))]
fn lineage(pid: u32, parent: impl Fn(u32) -> Option<u32>) -> Vec<u32> {
    let mut lineage = vec![pid];
    while lineage.len() < 32 {
        match parent(lineage[lineage.len() - 1]) {
            Some(up) if up > 1 && !lineage.contains(&up) => lineage.push(up),
            _ => break,
        }
    }
    lineage
}

/// The parent pid in a `/proc/PID/stat` line: the second field after the command, which is
/// in parentheses and may itself hold spaces and parentheses.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(super) fn parent_in_stat(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The holders of every listening port, from the sockets' pids: the name, path and working
/// directory from libproc, the arguments from `sysctl(KERN_PROCARGS2)`. Another user's
/// process has no arguments or directory to show (macOS refuses), only a name.
#[cfg(target_os = "macos")]
pub(super) fn holders(listeners: &[Listener]) -> HashMap<u16, Holder> {
    let home = crate::paths::user_home();
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
            super::parse_procargs2(&buf)
        }
    }

    /// The process's working directory.
    pub(super) fn directory(pid: u32) -> Option<PathBuf> {
        // SAFETY: a zeroed `proc_vnodepathinfo` is valid (plain integers and characters).
        let info: libc::proc_vnodepathinfo = unsafe { pidinfo(pid, libc::PROC_PIDVNODEPATHINFO)? };
        let path: &[c_char] = info.pvi_cdir.vip_path.as_flattened();
        let path = CStr::from_bytes_until_nul(as_bytes(path)).ok()?;
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::OsStr::from_bytes(path.to_bytes());
        (!path.is_empty()).then(|| PathBuf::from(path))
    }

    /// `pid` and its ancestors from libproc's BSD info, nearest first, up to launchd.
    pub(super) fn lineage(pid: u32) -> Vec<u32> {
        super::lineage(pid, |next| {
            // SAFETY: a zeroed `proc_bsdinfo` is valid (plain integers and characters).
            let info: libc::proc_bsdinfo = unsafe { pidinfo(next, libc::PROC_PIDTBSDINFO)? };
            Some(info.pbi_ppid)
        })
    }

    /// libproc's `flavor` of information about `pid`, when it gives all of it.
    ///
    /// # Safety
    /// A zeroed `T` must be valid, and `T` must be the struct `flavor` fills.
    unsafe fn pidinfo<T>(pid: u32, flavor: c_int) -> Option<T> {
        let mut info = std::mem::MaybeUninit::<T>::zeroed();
        let size = std::mem::size_of::<T>() as c_int;
        // SAFETY: libproc fills at most `size` bytes of `info`, which outlives the call.
        let n =
            unsafe { libc::proc_pidinfo(pid as c_int, flavor, 0, info.as_mut_ptr().cast(), size) };
        // SAFETY: zeroed, then filled by libproc (the caller's promise).
        (n == size).then(|| unsafe { info.assume_init() })
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
pub(super) fn parse_procargs2(buf: &[u8]) -> Option<Vec<String>> {
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
pub(super) fn holders(listeners: &[Listener]) -> HashMap<u16, Holder> {
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
    let home = crate::paths::user_home();
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

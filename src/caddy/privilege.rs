//! Whether this user's Caddy may bind ports below 1024, decided before it starts: a normal
//! Linux user can't (no `CAP_NET_BIND_SERVICE`, `ip_unprivileged_port_start` at 1024), and
//! `run` then serves on fixed unprivileged ports instead of failing.

use std::path::Path;

/// Where `run` puts Caddy when 80 and 443 are out of reach and the user chose no ports.
pub(crate) const FALLBACK_HTTP: u16 = 8080;
pub(crate) const FALLBACK_HTTPS: u16 = 8443;

/// What stops `caddy`, started by this user, from binding `port`, as the command that fixes
/// it; None when nothing does.
pub(crate) fn low_port_fix(caddy: &Path, port: u16) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        linux::low_port_fix(caddy, port)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (caddy, port);
        None
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::path::Path;

    const CAP_NET_BIND_SERVICE: u32 = 10;

    pub(crate) fn low_port_fix(caddy: &Path, port: u16) -> Option<String> {
        // SAFETY: geteuid cannot fail and touches no memory.
        let root = unsafe { libc::geteuid() } == 0;
        let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .ok()
            .and_then(|s| s.trim().parse::<u16>().ok())
            .unwrap_or(1024);
        if root || port >= start || file_can_bind(caddy) || inherited_can_bind() {
            return None;
        }
        // setcap refuses a symlink: name the file itself.
        let file = std::fs::canonicalize(caddy).unwrap_or_else(|_| caddy.to_path_buf());
        Some(format!(
            "sudo setcap cap_net_bind_service=+ep {} (or, for every program on this machine: sudo sysctl -w net.ipv4.ip_unprivileged_port_start={port})",
            file.display()
        ))
    }

    /// The file capability `cap_net_bind_service=+ep` (struct vfs_cap_data: magic and the
    /// effective flag, then the permitted bits).
    fn file_can_bind(caddy: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let Ok(path) = std::ffi::CString::new(caddy.as_os_str().as_bytes()) else {
            return false;
        };
        let mut data = [0u8; 24];
        // SAFETY: both strings are NUL-terminated and `data` outlives the call with its length.
        let len = unsafe {
            libc::getxattr(
                path.as_ptr(),
                c"security.capability".as_ptr(),
                data.as_mut_ptr().cast(),
                data.len(),
            )
        };
        if len < 8 {
            return false;
        }
        let word = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
        let effective = word(0) & 1 == 1;
        effective && word(4) & (1 << CAP_NET_BIND_SERVICE) != 0
    }

    /// An ambient capability (a systemd unit's `AmbientCapabilities=`) passes to Caddy too.
    fn inherited_can_bind() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                let hex = status.lines().find_map(|l| l.strip_prefix("CapAmb:"))?;
                u64::from_str_radix(hex.trim(), 16).ok()
            })
            .is_some_and(|caps| caps & (1 << CAP_NET_BIND_SERVICE) != 0)
    }
}

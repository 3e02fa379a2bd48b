//! Whether the system trusts Caddy's local CA, and where `portproxy trust` puts it.

#[cfg(target_os = "linux")]
use std::path::Path;
#[cfg(target_os = "macos")]
use std::process::Command;

use super::Paths;

/// Where the CA goes on Debian-like systems (`update-ca-certificates`).
#[cfg(target_os = "linux")]
pub const DEBIAN_ANCHOR: &str = "/usr/local/share/ca-certificates/portproxy-local-ca.crt";
/// … and on Fedora/RHEL-like systems (`update-ca-trust`).
#[cfg(target_os = "linux")]
pub const REDHAT_ANCHOR: &str = "/etc/pki/ca-trust/source/anchors/portproxy-local-ca.crt";

/// Whether the system trusts our CA: Some(bool) where we can tell.
pub fn is_trusted(paths: &Paths) -> Option<bool> {
    let root = paths.root_cert();
    if !root.is_file() {
        return Some(false);
    }
    #[cfg(target_os = "linux")]
    {
        Some(
            [DEBIAN_ANCHOR, REDHAT_ANCHOR]
                .iter()
                .any(|a| same_file(&root, Path::new(a))),
        )
    }
    #[cfg(target_os = "macos")]
    {
        Command::new("security")
            .args(["verify-cert", "-c"])
            .arg(&root)
            .output()
            .ok()
            .map(|o| o.status.success())
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    None
}

/// Is this the root certificate a trust store already holds?
#[cfg(target_os = "linux")]
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::read(a), std::fs::read(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

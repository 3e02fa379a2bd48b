//! What the black-box tests stand on: the real binary, real backends, a raw HTTP client.

pub mod backend;
#[cfg(target_os = "linux")]
pub mod browser;
#[cfg(target_os = "linux")]
pub mod github;
pub mod http;
pub mod proxy;
#[cfg(target_os = "linux")]
pub mod release;
#[cfg(target_os = "linux")]
pub mod terminal;

pub use backend::{closed_port, Backend, WsBackend};
pub use proxy::{Proxy, Running};

/// A `systemctl` that answers like a systemd user session (exit 0, `enabled`/`active`) and
/// writes each call's arguments to `systemctl.log` beside it: `service install` refuses where
/// there is no session, and the test machine (a container, CI) has none. Returns its
/// directory, to put first on PATH.
#[cfg(target_os = "linux")]
pub fn fake_systemd_session(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("fake-systemd");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("systemctl");
    let log = bin.join("systemctl.log");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$*\" in\n  *is-enabled*) echo enabled ;;\n  *is-active*) echo active ;;\nesac\nexit 0\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// PATH with `dir` first.
#[cfg(target_os = "linux")]
pub fn path_with(dir: &std::path::Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

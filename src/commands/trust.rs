//! `portproxy trust`: put Caddy's local CA into the system trust store, so browsers and curl
//! trust `https://*.localhost` without a warning. Run on request, never mid-`run` (Caddy's own
//! attempt would prompt for a sudo password in the middle of the log).

use std::path::Path;
use std::process::Command;

use log::info;

#[cfg(target_os = "linux")]
use crate::caddy::trust::{DEBIAN_ANCHOR, REDHAT_ANCHOR};
use crate::caddy::Paths;
use crate::error::Error;

pub fn trust() -> Result<(), Error> {
    let paths = Paths::from_env(&|k| std::env::var(k).ok())?;
    let root = paths.root_cert();
    if !root.is_file() {
        return Err(Error::Trust {
            reason: format!("Caddy has not created its local CA yet ({} does not exist)", root.display()),
            help: "start `portproxy` once (Caddy makes the CA at its first start), then run `portproxy trust` again".into(),
        });
    }
    #[cfg(target_os = "linux")]
    browsers(&root);
    install(&root)?;
    info!("installed {} into the system trust store", root.display());
    Ok(())
}

/// The NSS databases of this user's browsers: Chrome and Chromium read `~/.pki/nssdb`,
/// Firefox its profile's, and neither reads the system store on Linux.
#[cfg(target_os = "linux")]
pub fn nss_databases(home: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs = vec![
        home.join(".pki/nssdb"),
        home.join("snap/chromium/current/.pki/nssdb"),
    ];
    for firefox in [".mozilla/firefox", "snap/firefox/common/.mozilla/firefox"] {
        if let Ok(profiles) = std::fs::read_dir(home.join(firefox)) {
            dirs.extend(profiles.flatten().map(|p| p.path()));
        }
    }
    dirs.retain(|d| d.join("cert9.db").is_file());
    dirs.sort();
    dirs
}

/// Adds the CA to every browser database found, as this user (no sudo): otherwise
/// `portproxy trust` would not be the one-time fix it says it is for Chrome and Firefox.
#[cfg(target_os = "linux")]
fn browsers(root: &Path) {
    let Some(home) = std::env::var_os("HOME").map(std::path::PathBuf::from) else {
        return;
    };
    let databases = nss_databases(&home);
    if databases.is_empty() {
        return info!("no Chrome or Firefox certificate database under {} yet: after a browser's first start, run `portproxy trust` again", home.display());
    }
    if !has("certutil") {
        return log::warn!("Chrome and Firefox keep their own certificate lists ({}); install certutil (Debian/Ubuntu: sudo apt install libnss3-tools; Fedora: nss-tools) and run `portproxy trust` again", databases.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    for db in databases {
        let added = Command::new("certutil")
            .args(["-A", "-t", "C,,", "-n", "portproxy local CA", "-d"])
            .arg(format!("sql:{}", db.display()))
            .arg("-i")
            .arg(root)
            .status();
        match added {
            Ok(status) if status.success() => info!("added the CA to {}", db.display()),
            Ok(status) => log::warn!(
                "certutil could not add the CA to {} ({status})",
                db.display()
            ),
            Err(e) => log::warn!("could not run certutil: {e}"),
        }
    }
}

/// Runs a command (through sudo when we are not root), letting it prompt on the terminal.
fn privileged(program: &str, args: &[&str]) -> Result<(), Error> {
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    #[cfg(not(unix))]
    let root = true;
    let mut cmd = if root {
        Command::new(program)
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg(program);
        sudo
    };
    cmd.args(args);
    info!("running {cmd:?}");
    let status = cmd.status().map_err(|e| Error::Trust {
        reason: format!("could not run {program}: {e}"),
        help: "install it, or add the CA by hand (see docs/https.md)".into(),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Trust {
            reason: format!("{program} failed ({status})"),
            help: "run it again with the rights to change the system trust store".into(),
        })
    }
}

#[cfg(target_os = "linux")]
fn has(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()))
}

#[cfg(target_os = "linux")]
fn install(root: &Path) -> Result<(), Error> {
    let root = root.display().to_string();
    if has("update-ca-certificates") {
        privileged("install", &["-m", "0644", &root, DEBIAN_ANCHOR])?;
        privileged("update-ca-certificates", &[])
    } else if has("update-ca-trust") {
        privileged("install", &["-m", "0644", &root, REDHAT_ANCHOR])?;
        privileged("update-ca-trust", &["extract"])
    } else {
        Err(Error::Trust {
            reason: "neither update-ca-certificates nor update-ca-trust is installed".into(),
            help: format!("add {root} to your system's trust store by hand"),
        })
    }
}

#[cfg(target_os = "macos")]
fn install(root: &Path) -> Result<(), Error> {
    let root = root.display().to_string();
    privileged(
        "security",
        &[
            "add-trusted-cert",
            "-d",
            "-r",
            "trustRoot",
            "-k",
            "/Library/Keychains/System.keychain",
            &root,
        ],
    )
}

#[cfg(windows)]
fn install(root: &Path) -> Result<(), Error> {
    // The current user's Root store needs no administrator; Windows asks for confirmation.
    privileged(
        "certutil",
        &["-user", "-addstore", "Root", &root.display().to_string()],
    )
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn install(root: &Path) -> Result<(), Error> {
    Err(Error::Trust {
        reason: "this OS has no known trust store tool".into(),
        help: format!("add {} to your trust store by hand", root.display()),
    })
}

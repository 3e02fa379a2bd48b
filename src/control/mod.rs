//! The control channel: how a `portproxy` command talks to the running instance, the same way
//! on Linux, macOS and Windows.
//!
//! `run` and `serve` publish `<data dir>/instance.json` (the file 0600, its directory 0700:
//! only this user may read it) with their pid, the admin address and a fresh 256-bit secret,
//! and remove it on a clean exit. The admin listener serves `/control/*` only to a request
//! that proves it knows that secret and names a loopback `Host` (a web page that DNS-rebinds
//! a name to 127.0.0.1 still can't read the secret, and its requests carry its own name).
//!
//! Our commands never send the secret itself: a crash leaves the file behind, and whatever
//! then listens on the admin address (another user's program, once the pid is reused) must
//! learn nothing and be unable to answer as portproxy. A command sends a fresh nonce and a
//! MAC of it (`Authorization: Portproxy nonce=N, mac=M`); the instance answers with its own
//! MAC of the nonce (`X-Portproxy-Proof`), which the command checks before it believes a
//! word (`Impostor` otherwise). `Authorization: Bearer SECRET` is accepted too, for a
//! person with curl and the file.
//!
//! `authorize`, `credentials` and `proof` are pure; the file and the client do the I/O.
//! `proof` is that pure part; `client` is the commands' side.

mod client;
mod proof;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub(crate) use client::{exchange, find, ControlError};
pub(crate) use proof::{authorize, proof, PROOF};

/// What a running portproxy publishes about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Instance {
    pub(crate) pid: u32,
    /// The admin listener, where `/control/*` is served.
    pub(crate) admin: SocketAddr,
    /// 64 hex digits (256 bits from the OS); never logged.
    pub(crate) secret: String,
    pub(crate) version: String,
}

/// `<data dir>/instance.json`.
pub(crate) fn instance_file(data: &Path) -> PathBuf {
    data.join("instance.json")
}

/// The published `instance.json`; removed again when dropped (a clean exit).
pub(crate) struct Published {
    path: PathBuf,
    instance: Instance,
}

impl Published {
    /// Writes the file for this process: a fresh secret, the directory made private first.
    pub(crate) fn write(data: &Path, admin: SocketAddr) -> std::io::Result<Published> {
        let instance = Instance {
            pid: std::process::id(),
            admin,
            secret: crate::auth::generate_token()?,
            version: env!("CARGO_PKG_VERSION").to_string(),
        };
        private_dir(data)?;
        let path = instance_file(data);
        // A new file each time (write, then rename): never a moment with a readable secret.
        let partial = data.join(format!("instance.json.{}", instance.pid));
        let text = serde_json::to_string_pretty(&instance).map_err(std::io::Error::other)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let _ = std::fs::remove_file(&partial);
        options.open(&partial)?.write_all(text.as_bytes())?;
        std::fs::rename(&partial, &path)?;
        Ok(Published { path, instance })
    }

    pub(crate) fn instance(&self) -> &Instance {
        &self.instance
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        // Only our own: a second instance may have published its file meanwhile.
        if read(&self.path).is_ok_and(|found| found.pid == self.instance.pid) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The data directory, readable by this user only.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn read(path: &Path) -> std::io::Result<Instance> {
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn instance_file_is_private_and_removed_on_exit() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("portproxy");
        let admin: SocketAddr = "127.0.0.1:24307".parse().unwrap();
        let published = Published::write(&data, admin).unwrap();
        let found = find(&data).unwrap();
        assert_eq!(&found, published.instance());
        assert_eq!(found.secret.len(), 64, "256 bits, hex");
        assert!(found.secret.bytes().all(|b| b.is_ascii_hexdigit()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&instance_file(&data)), 0o600);
            assert_eq!(mode(&data), 0o700);
        }
        let second = Published::write(&data, admin).unwrap();
        assert_ne!(
            second.instance().secret,
            found.secret,
            "a fresh secret each start"
        );
        drop(published);
        drop(second);
        assert!(!instance_file(&data).exists());
        assert!(matches!(find(&data), Err(ControlError::NotRunning { .. })));
    }

    #[test]
    fn a_dead_pid_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let stale = Instance {
            pid: u32::MAX - 1,
            admin: "127.0.0.1:1".parse().unwrap(),
            secret: SECRET.into(),
            version: "0.0.0".into(),
        };
        std::fs::write(
            instance_file(dir.path()),
            serde_json::to_string(&stale).unwrap(),
        )
        .unwrap();
        let error = find(dir.path()).unwrap_err();
        assert_eq!(error.to_string(), "portproxy is not running");
    }
}

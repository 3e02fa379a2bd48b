//! Trust in Caddy's local CA: the stores portproxy adds it to (`portproxy trust`, or a yes to
//! the first run's question), takes it out of again (`trust --uninstall`, `clean`) and checks
//! (`doctor`). Caddy never does this itself (`skip_install_trust`): its sudo prompt would land
//! in the middle of `run`'s log, unasked.

pub(crate) mod first_run;

// This OS's trust stores, each module with the same `install`, `uninstall` and `trusted`;
// other OSes get the `stores` at the end, which knows none.
#[cfg(target_os = "linux")]
#[path = "linux.rs"]
mod stores;
#[cfg(target_os = "macos")]
#[path = "macos.rs"]
mod stores;
#[cfg(windows)]
#[path = "windows.rs"]
mod stores;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::caddy::Paths;
pub(crate) use stores::uninstall;

/// Why the CA could not go into (or out of) a trust store, and the one thing to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrustError {
    pub(crate) reason: String,
    pub(crate) help: String,
}

/// `portproxy trust`, and a yes to the question: adds the CA to every store, one line each.
pub(crate) fn trust(paths: &Paths) -> Result<(), TrustError> {
    let root = paths.root_cert();
    if !root.is_file() {
        return Err(TrustError {
            reason: format!("Caddy has not created its local CA yet ({} does not exist)", root.display()),
            help: "start `portproxy` once (Caddy makes the CA at its first start), then run `portproxy trust` again".into(),
        });
    }
    for store in stores::install(&root)? {
        eprintln!("trusted in {store}");
    }
    eprintln!(
        "programs with their own list need it named (`portproxy env` prints these as exports):"
    );
    eprint!(
        "{}",
        exports(&root, system_bundle().as_deref(), cfg!(windows))
    );
    Ok(())
}

/// `portproxy trust --uninstall`: takes the CA out of every store portproxy put it in.
pub(crate) fn untrust(paths: &Paths) -> Result<(), TrustError> {
    let removed = uninstall(&paths.root_cert())?;
    if removed.is_empty() {
        eprintln!("portproxy's local CA is in no trust store portproxy knows of");
    }
    for store in removed {
        eprintln!("removed from {store}");
    }
    Ok(())
}

/// `portproxy env`'s lines: Node reads its own list plus `NODE_EXTRA_CA_CERTS`; Python's
/// `requests` (certifi) and OpenSSL-based tools read one bundle file, which must be the
/// system's whole bundle (it holds the CA once trusted), never the CA alone.
pub(crate) fn exports(root: &Path, bundle: Option<&Path>, powershell: bool) -> String {
    let line = |name: &str, value: &Path| {
        let value = value.display().to_string();
        if powershell {
            format!("$env:{name} = '{}'\n", value.replace('\'', "''"))
        } else {
            format!("export {name}='{}'\n", value.replace('\'', r"'\''"))
        }
    };
    let mut out = line("NODE_EXTRA_CA_CERTS", root);
    match bundle {
        Some(bundle) => {
            out += &line("SSL_CERT_FILE", bundle);
            out += &line("REQUESTS_CA_BUNDLE", bundle);
        }
        None => out += "# Python: requests and httpx use certifi, not this system's store; `pip install pip-system-certs` makes them use it\n",
    }
    out
}

/// The system's CA bundle file, where the OS keeps one (Linux).
pub(crate) fn system_bundle() -> Option<PathBuf> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// Whether the system trusts our CA: Some(bool) where we can tell.
pub(crate) fn is_trusted(paths: &Paths) -> Option<bool> {
    let root = paths.root_cert();
    if !root.is_file() {
        return Some(false);
    }
    stores::trusted(&root)
}

/// The SHA-1 fingerprint of a PEM certificate file, as `security` and `certutil` name
/// certificates (upper-case hex).
#[cfg(any(target_os = "macos", windows))]
fn fingerprint(root: &Path) -> Option<String> {
    pem_sha1(&std::fs::read_to_string(root).ok()?)
}

/// The SHA-1 of the first certificate in PEM text.
#[cfg(any(target_os = "macos", windows, test))]
fn pem_sha1(pem: &str) -> Option<String> {
    use base64::Engine;
    use sha1::Digest;
    let body: String = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)?
        .split("-----END CERTIFICATE-----")
        .next()?
        .split_whitespace()
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some(
        sha1::Sha1::digest(der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect(),
    )
}

/// Runs a command (through sudo when we are not root), letting it prompt on the terminal.
fn privileged(program: &str, args: &[&str]) -> Result<(), TrustError> {
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
    let status = cmd.status().map_err(|e| TrustError {
        reason: format!("could not run {program}: {e}"),
        help: "install it, or add the CA by hand (see docs/https.md)".into(),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(TrustError {
            reason: format!("{program} failed ({status})"),
            help: "run it again with the rights to change the system trust store".into(),
        })
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod stores {
    use std::path::Path;

    use super::TrustError;

    pub(super) fn install(root: &Path) -> Result<Vec<String>, TrustError> {
        Err(TrustError {
            reason: "this OS has no known trust store tool".into(),
            help: format!("add {} to your trust store by hand", root.display()),
        })
    }

    pub(crate) fn uninstall(_root: &Path) -> Result<Vec<String>, TrustError> {
        Ok(Vec::new())
    }

    pub(super) fn trusted(_root: &Path) -> Option<bool> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_for_node_and_python() {
        let root =
            Path::new("/home/a b/.local/share/portproxy/caddy/pki/authorities/local/root.crt");
        let bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
        assert_eq!(
            exports(root, Some(bundle), false),
            "export NODE_EXTRA_CA_CERTS='/home/a b/.local/share/portproxy/caddy/pki/authorities/local/root.crt'\n\
             export SSL_CERT_FILE='/etc/ssl/certs/ca-certificates.crt'\n\
             export REQUESTS_CA_BUNDLE='/etc/ssl/certs/ca-certificates.crt'\n"
        );
        assert_eq!(
            exports(Path::new("/it's/root.crt"), None, false)
                .lines()
                .next(),
            Some(r"export NODE_EXTRA_CA_CERTS='/it'\''s/root.crt'")
        );
        let windows = exports(Path::new(r"C:\Users\o'k\root.crt"), None, true);
        assert!(windows.starts_with("$env:NODE_EXTRA_CA_CERTS = 'C:\\Users\\o''k\\root.crt'\n"));
        assert!(windows.contains("pip-system-certs"), "{windows}");
    }

    #[test]
    fn a_pem_certificates_sha1() {
        let pem = "a heading\n-----BEGIN CERTIFICATE-----\n\
MIIBkTCCATegAwIBAgIUHkmZMlvRRw0Wsyf8D1uR8Q6Vfd0wCgYIKoZIzj0EAwIw\n\
HjEcMBoGA1UEAwwTcG9ydHByb3h5IHRlc3Qgcm9vdDAeFw0yNjEyMDMxNzUxMDha\n\
Fw0zNjExMzAxNzUxMDhaMB4xHDAaBgNVBAMME3BvcnRwcm94eSB0ZXN0IHJvb3Qw\n\
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATJiLTMBC0+Jcqkme4IqdZLzQ1+BGsH\n\
5Lxma44kWqVBEYGZLLDTESZSMlgHFc4YtzT+q7O5PESI6/zYeotRvZAMo1MwUTAd\n\
BgNVHQ4EFgQUILFmHm2KwJN9CdxGI5epgd64M/IwHwYDVR0jBBgwFoAUILFmHm2K\n\
wJN9CdxGI5epgd64M/IwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBF\n\
AiAsBiEnaqIxFMuc8389mww7p1aPkrir+jghYePNczk7cgIhAMVayTZCn0KV4zYd\n\
nFZp+pq+y3wcJW8n2C0dFLv0c1mn\n\
-----END CERTIFICATE-----\n\
";
        // What `openssl x509 -noout -fingerprint -sha1` says of it.
        let sha1 = "12:50:62:2E:0E:AC:EE:86:D7:C4:09:3A:CE:05:E1:36:DE:04:23:AD".replace(':', "");
        assert_eq!(pem_sha1(pem), Some(sha1));
        assert_eq!(pem_sha1("no certificate"), None);
    }
}

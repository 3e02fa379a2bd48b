//! Linux's trust stores: the system store (Debian's or Fedora's tool), the Java keystore
//! Debian fills from it, and the browsers' NSS databases, which read neither.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{privileged, TrustError};

/// The CA's nickname in the browsers' NSS databases.
const NICKNAME: &str = "portproxy local CA";
/// Where the CA goes on Debian-like systems (`update-ca-certificates`).
const DEBIAN_ANCHOR: &str = "/usr/local/share/ca-certificates/portproxy-local-ca.crt";
/// … and on Fedora/RHEL-like systems (`update-ca-trust`).
const REDHAT_ANCHOR: &str = "/etc/pki/ca-trust/source/anchors/portproxy-local-ca.crt";
/// Debian's ca-certificates-java hook copies every CA `update-ca-certificates` adds into
/// Java's keystore, under this alias.
const JAVA_KEYSTORE: &str = "/etc/ssl/certs/java/cacerts";
const JAVA_ALIAS: &str = "debian:portproxy-local-ca.pem";

/// Whether the system store holds our CA.
pub(super) fn trusted(root: &Path) -> Option<bool> {
    Some(
        [DEBIAN_ANCHOR, REDHAT_ANCHOR]
            .iter()
            .any(|a| same_file(root, Path::new(a))),
    )
}

/// Is this the root certificate a trust store already holds?
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::read(a), std::fs::read(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// The NSS databases of this user's browsers: Chrome and Chromium read `~/.pki/nssdb`,
/// Firefox its profile's, and neither reads the system store on Linux.
pub(crate) fn nss_databases(home: &Path) -> Vec<PathBuf> {
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

/// Runs certutil on one NSS database; whether it succeeded.
fn certutil(db: &Path, args: &[&str], root: Option<&Path>) -> bool {
    let mut cmd = Command::new("certutil");
    cmd.args(args)
        .arg("-d")
        .arg(format!("sql:{}", db.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(root) = root {
        cmd.arg("-i").arg(root);
    }
    cmd.status().is_ok_and(|s| s.success())
}

/// Adds the CA to every browser database found, as this user (no sudo): otherwise the
/// system store alone would leave Chrome and Firefox warning.
fn browsers_add(root: &Path) -> Vec<String> {
    let Some(home) = crate::paths::user_home() else {
        return Vec::new();
    };
    let databases = nss_databases(&home);
    if databases.is_empty() {
        eprintln!("no Chrome or Firefox certificate database under {} yet: after a browser's first start, run `portproxy trust` again", home.display());
        return Vec::new();
    }
    if !has("certutil") {
        eprintln!("Chrome and Firefox keep their own certificate lists ({}); install certutil (Debian/Ubuntu: sudo apt install libnss3-tools; Fedora: nss-tools) and run `portproxy trust` again", databases.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "));
        return Vec::new();
    }
    let mut added = Vec::new();
    for db in databases {
        if certutil(&db, &["-A", "-t", "C,,", "-n", NICKNAME], Some(root)) {
            added.push(format!("the browser database {}", db.display()));
        } else {
            eprintln!("certutil could not add the CA to {}", db.display());
        }
    }
    added
}

fn browsers_remove() -> Vec<String> {
    let Some(home) = crate::paths::user_home().filter(|_| has("certutil")) else {
        return Vec::new();
    };
    nss_databases(&home)
        .into_iter()
        .filter(|db| certutil(db, &["-L", "-n", NICKNAME], None))
        .filter(|db| certutil(db, &["-D", "-n", NICKNAME], None))
        .map(|db| format!("the browser database {}", db.display()))
        .collect()
}

/// Whether Java's system keystore holds the CA (put there by Debian's hook).
fn java_has() -> bool {
    Path::new(JAVA_KEYSTORE).is_file()
        && has("keytool")
        && Command::new("keytool")
            .args([
                "-list",
                "-keystore",
                JAVA_KEYSTORE,
                "-storepass",
                "changeit",
            ])
            .args(["-alias", JAVA_ALIAS])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

pub(super) fn install(root: &Path) -> Result<Vec<String>, TrustError> {
    let mut stores = browsers_add(root);
    let java_before = java_has();
    let text = root.display().to_string();
    let anchor = if has("update-ca-certificates") {
        privileged("install", &["-m", "0644", &text, DEBIAN_ANCHOR])?;
        privileged("update-ca-certificates", &[])?;
        DEBIAN_ANCHOR
    } else if has("update-ca-trust") {
        privileged("install", &["-m", "0644", &text, REDHAT_ANCHOR])?;
        privileged("update-ca-trust", &["extract"])?;
        REDHAT_ANCHOR
    } else {
        return Err(TrustError {
            reason: "neither update-ca-certificates nor update-ca-trust is installed".into(),
            help: format!("add {text} to your system's trust store by hand"),
        });
    };
    stores.insert(0, format!("the system store ({anchor})"));
    if !java_before && java_has() {
        stores.push(format!("Java's keystore ({JAVA_KEYSTORE}, as {JAVA_ALIAS}): Debian's ca-certificates-java adds every system CA there"));
    }
    Ok(stores)
}

/// Takes the CA out of the system store (its anchor, then a fresh rebuild, which also drops
/// the links and bundle lines made from it), Java's keystore and the browsers' databases.
pub(crate) fn uninstall(_root: &Path) -> Result<Vec<String>, TrustError> {
    let mut removed = Vec::new();
    let java = java_has();
    if Path::new(DEBIAN_ANCHOR).exists() {
        privileged("rm", &["-f", DEBIAN_ANCHOR])?;
        privileged("update-ca-certificates", &["--fresh"])?;
        removed.push(format!("the system store ({DEBIAN_ANCHOR})"));
    }
    if Path::new(REDHAT_ANCHOR).exists() {
        privileged("rm", &["-f", REDHAT_ANCHOR])?;
        privileged("update-ca-trust", &["extract"])?;
        removed.push(format!("the system store ({REDHAT_ANCHOR})"));
    }
    // The hook's fresh rebuild drops it where dpkg runs its triggers; elsewhere keytool does.
    if java_has() {
        privileged(
            "keytool",
            &[
                "-delete",
                "-keystore",
                JAVA_KEYSTORE,
                "-storepass",
                "changeit",
                "-alias",
                JAVA_ALIAS,
            ],
        )?;
    }
    if java {
        removed.push(format!("Java's keystore ({JAVA_KEYSTORE})"));
    }
    removed.extend(browsers_remove());
    Ok(removed)
}

fn has(program: &str) -> bool {
    crate::paths::on_path(program).is_some()
}

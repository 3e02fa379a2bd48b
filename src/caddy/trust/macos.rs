//! macOS's trust store: the System keychain, through `security`.

use std::path::Path;
use std::process::Command;

use super::{fingerprint, privileged, TrustError};

const SYSTEM_KEYCHAIN: &str = "/Library/Keychains/System.keychain";

pub(super) fn install(root: &Path) -> Result<Vec<String>, TrustError> {
    let root = root.display().to_string();
    privileged(
        "security",
        &[
            "add-trusted-cert",
            "-d",
            "-r",
            "trustRoot",
            "-k",
            SYSTEM_KEYCHAIN,
            &root,
        ],
    )?;
    Ok(vec![format!("the System keychain ({SYSTEM_KEYCHAIN})")])
}

pub(crate) fn uninstall(root: &Path) -> Result<Vec<String>, TrustError> {
    let Some(sha1) = fingerprint(root) else {
        return Ok(Vec::new());
    };
    let listed = Command::new("security")
        .args(["find-certificate", "-a", "-Z", SYSTEM_KEYCHAIN])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&sha1));
    if !listed {
        return Ok(Vec::new());
    }
    privileged(
        "security",
        &["remove-trusted-cert", "-d", &root.display().to_string()],
    )?;
    privileged(
        "security",
        &["delete-certificate", "-Z", &sha1, SYSTEM_KEYCHAIN],
    )?;
    Ok(vec![format!("the System keychain ({SYSTEM_KEYCHAIN})")])
}

/// Whether the system trusts our CA, as `security` verifies it.
pub(super) fn trusted(root: &Path) -> Option<bool> {
    Command::new("security")
        .args(["verify-cert", "-c"])
        .arg(root)
        .output()
        .ok()
        .map(|o| o.status.success())
}

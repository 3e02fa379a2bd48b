//! Windows' trust store: the current user's Root store, through `certutil`.

use std::path::Path;
use std::process::{Command, Stdio};

use super::{fingerprint, privileged, TrustError};

pub(super) fn install(root: &Path) -> Result<Vec<String>, TrustError> {
    // The current user's Root store needs no administrator; Windows asks for confirmation.
    privileged(
        "certutil",
        &["-user", "-addstore", "Root", &root.display().to_string()],
    )?;
    Ok(vec!["your Root certificate store".into()])
}

pub(crate) fn uninstall(root: &Path) -> Result<Vec<String>, TrustError> {
    let Some(sha1) = fingerprint(root) else {
        return Ok(Vec::new());
    };
    let listed = Command::new("certutil")
        .args(["-user", "-store", "Root", &sha1])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !listed {
        return Ok(Vec::new());
    }
    privileged("certutil", &["-user", "-delstore", "Root", &sha1])?;
    Ok(vec!["your Root certificate store".into()])
}

/// Whether the system trusts our CA: not checked on Windows.
pub(super) fn trusted(_root: &Path) -> Option<bool> {
    None
}

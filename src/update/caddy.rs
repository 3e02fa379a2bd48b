//! The Caddy the installers put beside portproxy follows the release's pin: Caddy's release
//! archive, checked against its SHA-512 checksums file, run beside it, renamed over it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::stage::{download, sha512_of, Stage};
use super::{check_transport, sums_entry, UpdateError, CADDY_DOWNLOAD_ENV};
use crate::paths;

/// The pinned Caddy a `--version` names (`caddy 2.11.7 (the installers'), …`).
pub fn caddy_pin(version_output: &str) -> Option<String> {
    version_output.lines().find_map(|line| {
        let pin = line.strip_prefix("caddy ")?.split_whitespace().next()?;
        semver::Version::parse(pin).ok().map(|_| pin.to_string())
    })
}

/// The Caddy install.sh (or install.ps1) installed, as its receipt names it, if still there.
pub fn installers_caddy() -> Option<PathBuf> {
    let receipt = if cfg!(windows) {
        "caddy-installed-by-install-ps1"
    } else {
        "caddy-installed-by-install-sh"
    };
    let config = paths::config_dir(&|k| std::env::var(k).ok(), "the installers' receipt").ok()?;
    let named = std::fs::read_to_string(config.join(receipt)).ok()?;
    let caddy = PathBuf::from(named.trim());
    caddy.is_file().then_some(caddy)
}

/// Brings the installers' Caddy at `caddy` to `pin`: Caddy's release archive, checked against
/// its SHA-512 checksums file, unpacked and run beside it, then renamed over it.
pub fn update_caddy(caddy: &Path, pin: &str, allow_http: bool) -> Result<(), UpdateError> {
    let installed = Command::new(caddy)
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let want = format!("v{pin}");
    if installed.split_whitespace().next() == Some(want.as_str()) {
        return Ok(());
    }
    let target = self_update::get_target();
    let os = if target.contains("windows") {
        "windows"
    } else if target.contains("darwin") {
        "mac"
    } else {
        "linux"
    };
    let arch = if target.starts_with("aarch64") {
        "arm64"
    } else {
        "amd64"
    };
    let ext = if os == "windows" { "zip" } else { "tar.gz" };
    let asset = format!("caddy_{pin}_{os}_{arch}.{ext}");
    let base = std::env::var(CADDY_DOWNLOAD_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| v.trim_end_matches('/').to_string())
        .unwrap_or_else(|| {
            format!("https://github.com/caddyserver/caddy/releases/download/{want}")
        });
    check_transport(CADDY_DOWNLOAD_ENV, &base, allow_http)?;
    eprintln!(
        "updating the Caddy install.sh installed ({}) to {pin}",
        caddy.display()
    );
    let caddy_error = |detail: String| UpdateError::Caddy {
        path: caddy.to_path_buf(),
        detail,
    };
    let stage = Stage::beside(caddy)?;
    let sums_path = stage.dir.join("checksums.txt");
    download(
        &format!("{base}/caddy_{pin}_checksums.txt"),
        &sums_path,
        false,
    )?;
    let sums = std::fs::read_to_string(&sums_path).unwrap_or_default();
    let want_hex = sums_entry(&sums, &asset).ok_or_else(|| {
        caddy_error(format!(
            "caddy_{pin}_checksums.txt has no entry for {asset}"
        ))
    })?;
    let archive = stage.dir.join(&asset);
    download(&format!("{base}/{asset}"), &archive, false)?;
    let got = sha512_of(&archive)?;
    if got != want_hex {
        return Err(caddy_error(format!(
            "{asset}: expected sha512 {want_hex}, got {got}"
        )));
    }
    let exe_name = if os == "windows" {
        "caddy.exe"
    } else {
        "caddy"
    };
    #[cfg(windows)]
    let kind = self_update::ArchiveKind::Zip;
    #[cfg(not(windows))]
    let kind = self_update::ArchiveKind::Tar(Some(self_update::Compression::Gz));
    self_update::Extract::from_source(&archive)
        .archive(kind)
        .extract_file(&stage.dir, exe_name)
        .map_err(|e| caddy_error(format!("{asset} holds no {exe_name}: {e}")))?;
    let new = stage.dir.join(exe_name);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o755));
    }
    let said = Command::new(&new)
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .map_err(|e| caddy_error(format!("the new Caddy does not run here: {e}")))?;
    if said.split_whitespace().next() != Some(want.as_str()) {
        return Err(caddy_error(format!(
            "the new Caddy says {:?}, expected {want}",
            said.lines().next().unwrap_or_default()
        )));
    }
    // Not self_replace: this is another program's file (Windows: a running caddy.exe can be
    // renamed, so move it aside first).
    if cfg!(windows) {
        let aside = caddy.with_extension(format!("old-{}", std::process::id()));
        let _ = std::fs::rename(caddy, &aside);
    }
    std::fs::rename(&new, caddy).map_err(|e| caddy_error(format!("cannot replace it: {e}")))?;
    eprintln!(
        "updated Caddy {} -> {pin} ({})",
        installed.split_whitespace().next().unwrap_or("?"),
        caddy.display()
    );
    Ok(())
}

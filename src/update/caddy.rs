//! The Caddy the installers put beside portproxy follows the release's pin: Caddy's release
//! archive, checked against its SHA-512 checksums file, run beside it, renamed over it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::stage::{download, sha512_of, Stage};
use super::{check_transport, mirror, sums_entry, UpdateError, CADDY_DOWNLOAD_ENV};
use crate::paths;

/// The pinned Caddy a `--version` names (`caddy 2.11.7 (the installers'), …`).
pub(crate) fn caddy_pin(version_output: &str) -> Option<String> {
    version_output.lines().find_map(|line| {
        let pin = line.strip_prefix("caddy ")?.split_whitespace().next()?;
        semver::Version::parse(pin).ok().map(|_| pin.to_string())
    })
}

/// The Caddy install.sh (or install.ps1) installed, as its receipt names it, if still there.
pub(crate) fn installers_caddy() -> Option<PathBuf> {
    let receipt = if cfg!(windows) {
        "caddy-installed-by-install-ps1"
    } else {
        "caddy-installed-by-install-sh"
    };
    let config = paths::config_dir(&paths::process_env, "the installers' receipt").ok()?;
    let named = std::fs::read_to_string(config.join(receipt)).ok()?;
    let caddy = PathBuf::from(named.trim());
    caddy.is_file().then_some(caddy)
}

/// Brings the installers' Caddy at `caddy` to `pin`: Caddy's release archive, checked against
/// its SHA-512 checksums file, unpacked and run beside it, then renamed over it.
pub(crate) fn update_caddy(caddy: &Path, pin: &str, allow_http: bool) -> Result<(), UpdateError> {
    let installed = version_of(caddy).unwrap_or_default();
    let want = format!("v{pin}");
    if installed.split_whitespace().next() == Some(want.as_str()) {
        return Ok(());
    }
    let base = mirror(CADDY_DOWNLOAD_ENV).unwrap_or_else(|| {
        format!("https://github.com/caddyserver/caddy/releases/download/{want}")
    });
    check_transport(CADDY_DOWNLOAD_ENV, &base, allow_http)?;
    eprintln!(
        "updating the Caddy install.sh installed ({}) to {pin}",
        caddy.display()
    );
    let stage = Stage::beside(caddy)?;
    let asset = archive_name(pin);
    let archive = download_checked(&stage, &base, pin, &asset, caddy)?;
    let exe_name = if cfg!(windows) { "caddy.exe" } else { "caddy" };
    let new = stage
        .unpack(&archive, exe_name)
        .map_err(|e| caddy_error(caddy, format!("{asset} holds no {exe_name}: {e}")))?;
    check_runs_as(&new, &want).map_err(|detail| caddy_error(caddy, detail))?;
    put_in_place(&new, caddy).map_err(|detail| caddy_error(caddy, detail))?;
    eprintln!(
        "updated Caddy {} -> {pin} ({})",
        installed.split_whitespace().next().unwrap_or("?"),
        caddy.display()
    );
    Ok(())
}

fn caddy_error(caddy: &Path, detail: String) -> UpdateError {
    UpdateError::Caddy {
        path: caddy.to_path_buf(),
        detail,
    }
}

/// What `caddy version` prints.
fn version_of(caddy: &Path) -> std::io::Result<String> {
    Command::new(caddy)
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
}

/// Caddy's release archive for this platform (`caddy_2.11.7_linux_amd64.tar.gz`).
fn archive_name(pin: &str) -> String {
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
    format!("caddy_{pin}_{os}_{arch}.{ext}")
}

/// Downloads `asset` from `base` into `stage`, checked against Caddy's SHA-512 checksums file.
fn download_checked(
    stage: &Stage,
    base: &str,
    pin: &str,
    asset: &str,
    caddy: &Path,
) -> Result<PathBuf, UpdateError> {
    let sums_path = stage.dir.join("checksums.txt");
    download(
        &format!("{base}/caddy_{pin}_checksums.txt"),
        &sums_path,
        false,
    )?;
    let sums = std::fs::read_to_string(&sums_path).unwrap_or_default();
    let want_hex = sums_entry(&sums, asset).ok_or_else(|| {
        caddy_error(
            caddy,
            format!("caddy_{pin}_checksums.txt has no entry for {asset}"),
        )
    })?;
    let archive = stage.dir.join(asset);
    download(&format!("{base}/{asset}"), &archive, false)?;
    let got = sha512_of(&archive)?;
    if got != want_hex {
        return Err(caddy_error(
            caddy,
            format!("{asset}: expected sha512 {want_hex}, got {got}"),
        ));
    }
    Ok(archive)
}

/// The new Caddy must run here and say it is `want`.
fn check_runs_as(new: &Path, want: &str) -> Result<(), String> {
    let said = version_of(new).map_err(|e| format!("the new Caddy does not run here: {e}"))?;
    if said.split_whitespace().next() != Some(want) {
        return Err(format!(
            "the new Caddy says {:?}, expected {want}",
            said.lines().next().unwrap_or_default()
        ));
    }
    Ok(())
}

/// Renames `new` over `caddy`.
fn put_in_place(new: &Path, caddy: &Path) -> Result<(), String> {
    // Not self_replace: this is another program's file (Windows: a running caddy.exe can be
    // renamed, so move it aside first).
    if cfg!(windows) {
        let aside = caddy.with_extension(format!("old-{}", std::process::id()));
        let _ = std::fs::rename(caddy, &aside);
    }
    std::fs::rename(new, caddy).map_err(|e| format!("cannot replace it: {e}"))
}

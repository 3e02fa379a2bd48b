//! `portproxy self-update`: replace this binary with a release of Cargo.toml's repository.
//!
//! The archive is checked against GitHub's per-asset digest and the release's `sha256.sum`,
//! and the unpacked binary must report the release's version before it is renamed over the
//! running one (so a `portproxy run` in progress keeps its own file until restarted). The work
//! is `update`'s; this is the conversation.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use self_update::update::ReleaseAsset;
use self_update::Release;

use crate::cli::SelfUpdateArgs;
use crate::update::{
    asset_name, caddy_pin, check_transport, configure, decide, explain, installers_caddy,
    managed_by_homebrew, mirror, parse_version, update_caddy, Decision, Stage, UpdateError,
    ALLOW_HTTP_ENV, API_BASE_ENV, GITHUB_API, SUMS_ASSET,
};

/// How a `self-update` that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Done {
    Current,
    Updated,
    /// `--check` found a newer release (exit status 3, for scripts).
    Available,
}

/// The exit status of `self-update --check` when a newer release exists.
pub(crate) const AVAILABLE: u8 = 3;

/// Runs `portproxy self-update`.
pub(crate) fn self_update(args: SelfUpdateArgs) -> Result<Done, UpdateError> {
    let current = env!("CARGO_PKG_VERSION");
    let exe = running_binary()?;
    if managed_by_homebrew(&exe) {
        return Err(UpdateError::Homebrew { exe });
    }
    let requested = args.version.as_deref().map(parse_version).transpose()?;
    let api = mirror(API_BASE_ENV);
    let allow_http = std::env::var_os(ALLOW_HTTP_ENV).is_some_and(|v| !v.is_empty());
    if let Some(api) = &api {
        check_transport(API_BASE_ENV, api, allow_http)?;
    }
    let release = find_release(api.as_deref(), requested.as_deref())?;
    let to = match decide(current, release.version(), requested.as_deref()) {
        Decision::UpToDate => {
            println!(
                "portproxy {current} is up to date (the newest release is {})",
                release.version()
            );
            return Ok(Done::Current);
        }
        Decision::Install(to) => to,
    };
    let tag = format!("v{to}");
    let asset = asset_name(self_update::get_target());
    let Some(archive) = release.assets().iter().find(|a| a.name() == asset) else {
        return Err(UpdateError::NoAsset { tag, asset });
    };
    let sums = release.assets().iter().find(|a| a.name() == SUMS_ASSET);
    check_download_urls(&tag, sums, archive, allow_http)?;
    if args.check {
        println!(
            "portproxy {to} is available (this is {current}); `portproxy self-update` installs it"
        );
        return Ok(Done::Available);
    }
    if !args.yes && std::io::stdin().is_terminal() && !confirm(current, &to, &exe) {
        return Err(UpdateError::Cancelled);
    }
    eprintln!("downloading {asset} ({tag})");
    let said = replace(&exe, archive, sums, &to)?;
    if to == current {
        eprintln!("reinstalled portproxy {to} ({})", exe.display());
    } else {
        eprintln!("updated portproxy {current} -> {to} ({})", exe.display());
    }
    // The Caddy the installers put beside portproxy follows the release's pin (a Caddy the
    // user installed is theirs).
    if let (Some(caddy), Some(pin)) = (installers_caddy(), caddy_pin(&said)) {
        update_caddy(&caddy, &pin, allow_http)?;
    }
    eprintln!("a portproxy already running keeps the old version until it is restarted");
    Ok(Done::Updated)
}

/// The running binary, resolved so Homebrew's bin/ symlink shows its Cellar (Windows would
/// add a `\\?\`).
fn running_binary() -> Result<PathBuf, UpdateError> {
    std::env::current_exe()
        .and_then(|p| {
            if cfg!(windows) {
                Ok(p)
            } else {
                p.canonicalize()
            }
        })
        .map_err(|e| UpdateError::Failed(format!("cannot find the running binary: {e}")))
}

/// The release asked for, or the newest one, as listed at `api` (GitHub's when unset).
fn find_release(api: Option<&str>, requested: Option<&str>) -> Result<Release, UpdateError> {
    let api_shown = api.unwrap_or(GITHUB_API);
    let explain = |e| explain(e, api_shown);
    let lister = configure(api).build().map_err(explain)?;
    match requested {
        Some(version) => {
            let tag = format!("v{version}");
            lister.get_release_version(&tag).map_err(|e| match e {
                self_update::Error::NotFound { .. } => UpdateError::NoRelease { tag },
                e => explain(e),
            })
        }
        None => {
            let nothing = || UpdateError::NothingPublished {
                api: api_shown.to_string(),
            };
            lister
                .get_latest_release()
                .map_err(|e| match e {
                    self_update::Error::NotFound { .. } => nothing(),
                    e => explain(e),
                })?
                .latest()
                .cloned()
                .ok_or_else(nothing)
        }
    }
}

/// The listing names where the files are: an https API could still send them over http.
fn check_download_urls(
    tag: &str,
    sums: Option<&ReleaseAsset>,
    archive: &ReleaseAsset,
    allow_http: bool,
) -> Result<(), UpdateError> {
    for file in sums.into_iter().chain([archive]) {
        check_transport(
            &format!("{tag}'s {}", file.name()),
            file.download_url(),
            allow_http,
        )?;
    }
    Ok(())
}

/// Downloads and checks release `to` beside `exe` and renames it over `exe`; what the new
/// binary says of itself.
fn replace(
    exe: &Path,
    archive: &ReleaseAsset,
    sums: Option<&ReleaseAsset>,
    to: &str,
) -> Result<String, UpdateError> {
    let new_exe = Stage::beside(exe)?;
    let (staged, said) = new_exe.fetch_and_check(archive, sums, &format!("portproxy {to}"))?;
    new_exe.swap(&staged, exe)?;
    Ok(said)
}

fn confirm(current: &str, to: &str, exe: &Path) -> bool {
    eprint!(
        "replace portproxy {current} at {} with {to}? [Y/n] ",
        exe.display()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    !matches!(answer.trim().chars().next(), Some('n' | 'N'))
}

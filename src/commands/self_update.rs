//! `portproxy self-update`: replace this binary with a release of Cargo.toml's repository.
//!
//! The archive is checked against GitHub's per-asset digest and the release's `sha256.sum`,
//! and the unpacked binary must report the release's version before it is renamed over the
//! running one (so a `portproxy run` in progress keeps its own file until restarted).

use std::fmt;
use std::io::{BufRead, IsTerminal, Write};
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use self_update::backends::github;

use crate::cli::SelfUpdateArgs;

/// Points self-update at another GitHub-compatible API (a mirror, or a test's fake).
pub const API_BASE_ENV: &str = "PORTPROXY_UPDATE_API_BASE";
/// Where Caddy's release files are (a mirror); install.sh reads the same variable.
pub const CADDY_DOWNLOAD_ENV: &str = "PORTPROXY_CADDY_DOWNLOAD_URL";
/// Accepts a mirror over plain http beyond this machine (the installers read it too).
pub const ALLOW_HTTP_ENV: &str = "PORTPROXY_ALLOW_HTTP_MIRROR";
const GITHUB_API: &str = "https://api.github.com";
/// dist's unified checksum file, published with every release.
const SUMS_ASSET: &str = "sha256.sum";

#[derive(Debug)]
pub enum UpdateError {
    /// Homebrew owns this binary; replacing it would confuse `brew`.
    Homebrew { exe: PathBuf },
    /// `--version` is not a version number.
    BadVersion { value: String },
    /// No release has this tag.
    NoRelease { tag: String },
    /// The repository has no release yet.
    NothingPublished { api: String },
    /// The release has no build for this platform.
    NoAsset { tag: String, asset: String },
    /// The release API could not be reached or answered an error.
    Unreachable { api: String, detail: String },
    /// GitHub's unauthenticated limit (60 requests an hour per address) is spent.
    RateLimited,
    /// The binary's directory is not writable by this user.
    NotWritable { path: PathBuf },
    /// The download does not match its published checksum.
    Checksum { detail: String },
    /// The unpacked binary is not the release it claims to be.
    Rejected { reason: String },
    /// A mirror (or a file it lists) over plain http beyond this machine: whoever is on the
    /// way could replace a file and its checksum together.
    PlainHttp { what: String, url: String },
    /// A mirror URL that is not http(s).
    NotHttp { what: String, url: String },
    /// Programs in the install directory may not run (a noexec mount).
    CannotRun { dir: PathBuf, detail: String },
    /// The installers' Caddy could not be brought to the release's pin.
    Caddy { path: PathBuf, detail: String },
    /// The user answered no.
    Cancelled,
    /// Anything else self_update reported.
    Failed(String),
}

impl UpdateError {
    pub fn help(&self) -> Option<String> {
        Some(match self {
            UpdateError::Homebrew { .. } => "run `brew upgrade portproxy`".into(),
            UpdateError::BadVersion { .. } => "give a release number, e.g. --version 0.2.0".into(),
            UpdateError::NoRelease { .. }
            | UpdateError::NoAsset { .. }
            | UpdateError::NothingPublished { .. } => {
                format!("the releases are listed at {}/releases", repository_url())
            }
            UpdateError::Unreachable { .. } => format!(
                "check the network (HTTPS_PROXY is honoured), or set {API_BASE_ENV} to a mirror of the GitHub API"
            ),
            UpdateError::RateLimited => {
                "wait an hour, or set GH_TOKEN to a GitHub token to raise the limit".into()
            }
            UpdateError::NotWritable { .. } => {
                "run it as the user who installed portproxy (or with sudo), or reinstall with install.sh".into()
            }
            UpdateError::Checksum { .. } | UpdateError::Rejected { .. } => {
                "nothing was replaced; try again later, and report it if it persists".into()
            }
            UpdateError::PlainHttp { .. } => format!(
                "use https (plain http is accepted only for 127.0.0.1, [::1] and localhost), or set {ALLOW_HTTP_ENV}=1 to accept that risk"
            ),
            UpdateError::NotHttp { .. } => format!("give an https:// URL, e.g. {GITHUB_API}"),
            UpdateError::CannotRun { .. } => "nothing was replaced; if that filesystem is mounted noexec, reinstall into one whose programs may run: install.sh --install-dir DIR".into(),
            UpdateError::Caddy { .. } => "portproxy itself was updated; run install.sh again to update Caddy too".into(),
            UpdateError::Cancelled | UpdateError::Failed(_) => return None,
        })
    }
}

impl fmt::Display for UpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateError::Homebrew { exe } => write!(
                f,
                "{} was installed by Homebrew; self-update leaves it to brew",
                exe.display()
            ),
            UpdateError::BadVersion { value } => {
                write!(f, "--version `{value}` is not a version like 0.2.0")
            }
            UpdateError::NoRelease { tag } => write!(f, "there is no release {tag}"),
            UpdateError::NothingPublished { api } => {
                write!(f, "{api} lists no release of {} yet", repository_url())
            }
            UpdateError::NoAsset { tag, asset } => {
                write!(
                    f,
                    "release {tag} has no {asset} (no build for this platform)"
                )
            }
            UpdateError::Unreachable { api, detail } => {
                write!(f, "could not read the releases from {api}: {detail}")
            }
            UpdateError::RateLimited => f.write_str("GitHub's API rate limit is exhausted"),
            UpdateError::NotWritable { path } => {
                write!(f, "cannot replace {}: permission denied", path.display())
            }
            UpdateError::Checksum { detail } => {
                write!(f, "the download failed verification: {detail}")
            }
            UpdateError::Rejected { reason } => {
                write!(f, "the downloaded binary was rejected: {reason}")
            }
            UpdateError::PlainHttp { what, url } => write!(
                f,
                "{what} is plain http to another machine ({url}): its checksums come the same way, so anyone on the network path could replace both"
            ),
            UpdateError::NotHttp { what, url } => {
                write!(f, "{what} `{url}` is not an http(s) URL")
            }
            UpdateError::CannotRun { dir, detail } => write!(
                f,
                "the new portproxy cannot be run in {} ({detail})",
                dir.display()
            ),
            UpdateError::Caddy { path, detail } => {
                write!(f, "could not update the Caddy at {}: {detail}", path.display())
            }
            UpdateError::Cancelled => f.write_str("cancelled; nothing was changed"),
            UpdateError::Failed(detail) => write!(f, "self-update failed: {detail}"),
        }
    }
}

/// What self-update will do, decided from the versions alone.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// Nothing newer is published (a build ahead of the newest release counts as current).
    UpToDate,
    /// Install this version (newer, or the one asked for).
    Install(String),
}

/// Chooses between the current version, the newest release and an explicitly requested one.
pub fn plan(current: &str, latest: &str, requested: Option<&str>) -> Plan {
    match requested {
        Some(version) => Plan::Install(version.to_string()),
        None if self_update::version::bump_is_greater(current, latest).unwrap_or(false) => {
            Plan::Install(latest.to_string())
        }
        None => Plan::UpToDate,
    }
}

/// `0.2.0` or `v0.2.0` (any semver, so `-rc.1` and `+build` suffixes too) → `0.2.0`.
pub fn parse_version(value: &str) -> Result<String, UpdateError> {
    let version = value.strip_prefix('v').unwrap_or(value);
    match semver::Version::parse(version) {
        Ok(_) => Ok(version.to_string()),
        Err(_) => Err(UpdateError::BadVersion {
            value: value.to_string(),
        }),
    }
}

/// `https://github.com/OWNER/NAME` (optionally with `.git` or a trailing `/`) → (OWNER, NAME).
pub fn owner_and_name(repository: &str) -> Option<(&str, &str)> {
    let path = repository
        .strip_prefix("https://github.com/")?
        .trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    match path.split('/').collect::<Vec<_>>()[..] {
        [owner, name] if !owner.is_empty() && !name.is_empty() => Some((owner, name)),
        _ => None,
    }
}

/// The release asset holding this platform's build, as cargo-dist names it.
pub fn asset_name(target: &str) -> String {
    let extension = if target.contains("windows") {
        "zip"
    } else {
        "tar.gz"
    };
    format!("portproxy-{target}.{extension}")
}

/// A binary inside a Homebrew Cellar (`…/Cellar/portproxy/0.1.0/bin/portproxy`; brew's
/// `bin/portproxy` is a symlink into it, resolved before this is asked).
pub fn managed_by_homebrew(exe: &Path) -> bool {
    exe.components()
        .any(|c| c == Component::Normal("Cellar".as_ref()))
}

/// How a mirror's URL carries the files.
#[derive(Debug, PartialEq, Eq)]
pub enum Transport {
    Https,
    /// Plain http to this machine (127.0.0.0/8, [::1], localhost): nothing on a network path.
    Loopback,
    /// Plain http to another machine.
    PlainHttp,
    /// Not an http(s) URL.
    Other,
}

/// `http://127.0.0.1:8080/x` → `Loopback`; `http://mirror.example/` → `PlainHttp`. The host
/// is read as curl and ureq read it: after any `user@`, before any `:port`.
pub fn transport(url: &str) -> Transport {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Transport::Https;
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return Transport::Other;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port
        .strip_prefix('[')
        .and_then(|v6| v6.split_once(']'))
    {
        Some((v6, port)) if port.is_empty() || port.starts_with(':') => v6,
        Some(_) => return Transport::PlainHttp,
        None => host_port.split(':').next().unwrap_or_default(),
    };
    if host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
        Transport::Loopback
    } else {
        Transport::PlainHttp
    }
}

/// Refuses plain http beyond this machine unless `allow_http`; what it accepts on that
/// opt-in is said on stderr.
fn check_transport(what: &str, url: &str, allow_http: bool) -> Result<(), UpdateError> {
    match transport(url) {
        Transport::Https | Transport::Loopback => Ok(()),
        Transport::PlainHttp if allow_http => {
            eprintln!(
                "warning: {what} is plain http to another machine ({url}); accepted because {ALLOW_HTTP_ENV} is set: its files and checksums are not protected on the way"
            );
            Ok(())
        }
        Transport::PlainHttp => Err(UpdateError::PlainHttp {
            what: what.into(),
            url: url.into(),
        }),
        Transport::Other => Err(UpdateError::NotHttp {
            what: what.into(),
            url: url.into(),
        }),
    }
}

fn repository_url() -> &'static str {
    env!("CARGO_PKG_REPOSITORY")
}

/// Runs `portproxy self-update`.
/// How a `self-update` that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Current,
    Updated,
    /// `--check` found a newer release (exit status 3, for scripts).
    Available,
}

/// The exit status of `self-update --check` when a newer release exists.
pub const AVAILABLE: u8 = 3;

pub fn self_update(args: SelfUpdateArgs) -> Result<Done, UpdateError> {
    let current = env!("CARGO_PKG_VERSION");
    // Resolved so Homebrew's bin/ symlink shows its Cellar (Windows would add a `\\?\`).
    let exe = std::env::current_exe()
        .and_then(|p| {
            if cfg!(windows) {
                Ok(p)
            } else {
                p.canonicalize()
            }
        })
        .map_err(|e| UpdateError::Failed(format!("cannot find the running binary: {e}")))?;
    if managed_by_homebrew(&exe) {
        return Err(UpdateError::Homebrew { exe });
    }
    let requested = args.version.as_deref().map(parse_version).transpose()?;
    let api = std::env::var(API_BASE_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| v.trim_end_matches('/').to_string());
    let allow_http = std::env::var_os(ALLOW_HTTP_ENV).is_some_and(|v| !v.is_empty());
    if let Some(api) = &api {
        check_transport(API_BASE_ENV, api, allow_http)?;
    }
    let asset = asset_name(self_update::get_target());
    let api_shown = api.clone().unwrap_or_else(|| GITHUB_API.into());
    let explain = |e| explain(e, &api_shown);
    let lister = configure(api.as_deref()).build().map_err(explain)?;

    let release = match &requested {
        Some(version) => {
            lister
                .get_release_version(&format!("v{version}"))
                .map_err(|e| match e {
                    self_update::Error::NotFound { .. } => UpdateError::NoRelease {
                        tag: format!("v{version}"),
                    },
                    e => explain(e),
                })?
        }
        None => {
            let nothing = || UpdateError::NothingPublished {
                api: api_shown.clone(),
            };
            lister
                .get_latest_release()
                .map_err(|e| match e {
                    self_update::Error::NotFound { .. } => nothing(),
                    e => explain(e),
                })?
                .latest()
                .cloned()
                .ok_or_else(nothing)?
        }
    };
    let to = match plan(current, release.version(), requested.as_deref()) {
        Plan::UpToDate => {
            println!(
                "portproxy {current} is up to date (the newest release is {})",
                release.version()
            );
            return Ok(Done::Current);
        }
        Plan::Install(to) => to,
    };
    let tag = format!("v{to}");
    let Some(archive) = release.assets().iter().find(|a| a.name() == asset) else {
        return Err(UpdateError::NoAsset { tag, asset });
    };
    // The listing names where the files are: an https API could still send them over http.
    for file in release
        .assets()
        .iter()
        .filter(|a| a.name() == SUMS_ASSET)
        .chain([archive])
    {
        check_transport(
            &format!("{tag}'s {}", file.name()),
            file.download_url(),
            allow_http,
        )?;
    }
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
    let sums = release.assets().iter().find(|a| a.name() == SUMS_ASSET);
    let new_exe = Stage::beside(&exe)?;
    let (staged, said) = new_exe.fetch_and_check(archive, sums, &format!("portproxy {to}"))?;
    new_exe.swap(&staged, &exe)?;
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

/// The pinned Caddy a `--version` names (`caddy 2.11.7 (the installers'), …`).
pub fn caddy_pin(version_output: &str) -> Option<String> {
    version_output.lines().find_map(|line| {
        let pin = line.strip_prefix("caddy ")?.split_whitespace().next()?;
        semver::Version::parse(pin).ok().map(|_| pin.to_string())
    })
}

/// The Caddy install.sh (or install.ps1) installed, as its receipt names it, if still there.
fn installers_caddy() -> Option<PathBuf> {
    let (config, receipt) = if cfg!(windows) {
        (
            PathBuf::from(std::env::var_os("APPDATA")?),
            "caddy-installed-by-install-ps1",
        )
    } else {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        (config, "caddy-installed-by-install-sh")
    };
    let named = std::fs::read_to_string(config.join("portproxy").join(receipt)).ok()?;
    let caddy = PathBuf::from(named.trim());
    caddy.is_file().then_some(caddy)
}

/// Brings the installers' Caddy at `caddy` to `pin`: Caddy's release archive, checked against
/// its SHA-512 checksums file, unpacked and run beside it, then renamed over it.
fn update_caddy(caddy: &Path, pin: &str, allow_http: bool) -> Result<(), UpdateError> {
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

/// A directory beside the installed binary where a release is downloaded, checked and run
/// before it replaces anything. Not the system temp dir: hardened servers mount that noexec,
/// and a binary that runs beside the install dir runs once installed. Removed when dropped.
struct Stage {
    dir: PathBuf,
}

impl Stage {
    fn beside(exe: &Path) -> Result<Stage, UpdateError> {
        let parent = exe.parent().unwrap_or(Path::new("."));
        let dir = parent.join(format!(".portproxy-update-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => UpdateError::NotWritable {
                path: exe.to_path_buf(),
            },
            _ => UpdateError::Failed(format!("cannot create {}: {e}", dir.display())),
        })?;
        Ok(Stage { dir })
    }

    /// Downloads `archive` (checked against `sums` and GitHub's digest), unpacks the binary
    /// and runs it: it must say `expected` on its first line.
    fn fetch_and_check(
        &self,
        archive: &self_update::update::ReleaseAsset,
        sums: Option<&self_update::update::ReleaseAsset>,
        expected: &str,
    ) -> Result<(PathBuf, String), UpdateError> {
        let sums = sums.ok_or_else(|| UpdateError::Checksum {
            detail: format!("the release has no {SUMS_ASSET}"),
        })?;
        let sums_path = self.dir.join(SUMS_ASSET);
        download(sums.download_url(), &sums_path, false)?;
        let sums_text = std::fs::read_to_string(&sums_path).map_err(|e| UpdateError::Checksum {
            detail: format!("{SUMS_ASSET} is unreadable: {e}"),
        })?;
        let want = sums_entry(&sums_text, archive.name()).ok_or_else(|| UpdateError::Checksum {
            detail: format!("{SUMS_ASSET} has no entry for {}", archive.name()),
        })?;
        let archive_path = self.dir.join(archive.name());
        download(archive.download_url(), &archive_path, true)?;
        if std::io::stderr().is_terminal() {
            // The progress bar leaves the cursor at the end of its line.
            eprintln!();
        }
        let got = sha256_of(&archive_path)?;
        let published = archive
            .digest()
            .and_then(|d| d.strip_prefix("sha256:"))
            .map(str::to_ascii_lowercase);
        for expected in std::iter::once(want).chain(published) {
            if expected != got {
                return Err(UpdateError::Checksum {
                    detail: format!("expected sha256 {expected}, got {got}"),
                });
            }
        }
        // Zips (Windows) are flat; tarballs hold `portproxy-<target>/portproxy`.
        #[cfg(windows)]
        let (kind, inside) = (self_update::ArchiveKind::Zip, "portproxy.exe".to_string());
        #[cfg(not(windows))]
        let (kind, inside) = (
            self_update::ArchiveKind::Tar(Some(self_update::Compression::Gz)),
            format!("portproxy-{}/portproxy", self_update::get_target()),
        );
        self_update::Extract::from_source(&archive_path)
            .archive(kind)
            .extract_file(&self.dir, &inside)
            .map_err(|e| UpdateError::Rejected {
                reason: format!("{} holds no {inside}: {e}", archive.name()),
            })?;
        let new = self.dir.join(&inside);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o755));
        }
        let said = reports_version(&new, expected, &self.dir)?;
        Ok((new, said))
    }

    /// Puts `new` in place of `exe`: a rename in the same directory, so a running portproxy
    /// keeps its own file (on Windows self_replace moves the running one aside).
    fn swap(&self, new: &Path, exe: &Path) -> Result<(), UpdateError> {
        let result = if cfg!(windows) {
            self_replace::self_replace(new)
        } else {
            std::fs::rename(new, exe)
        };
        result.map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => UpdateError::NotWritable {
                path: exe.to_path_buf(),
            },
            _ => UpdateError::Failed(format!("cannot replace {}: {e}", exe.display())),
        })
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Downloads `url` into `to` (GitHub's API serves an asset's bytes for this Accept).
fn download(url: &str, to: &Path, progress: bool) -> Result<(), UpdateError> {
    let file = std::fs::File::create(to)
        .map_err(|e| UpdateError::Failed(format!("cannot write {}: {e}", to.display())))?;
    let mut request = self_update::Download::from_url(url);
    request
        .show_download_progress(progress && std::io::stderr().is_terminal())
        .timeout(Duration::from_secs(60))
        .request_header("accept", "application/octet-stream");
    if url.starts_with(GITHUB_API) {
        if let Some(token) = ["GH_TOKEN", "GITHUB_TOKEN"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|t| !t.is_empty()))
        {
            request.request_header("authorization", format!("Bearer {token}"));
        }
    }
    request
        .download_to(std::io::BufWriter::new(file))
        .map_err(|e| explain(e, url))
}

/// The hex digest `sums` (`<hex> *<name>` or `<hex>  <name>` lines) gives `name`.
pub fn sums_entry(sums: &str, name: &str) -> Option<String> {
    sums.lines().find_map(|line| {
        let (hex, file) = line.trim().split_once(' ')?;
        let file = file.trim_start().trim_start_matches('*');
        let sized = hex.len() == 64 || hex.len() == 128;
        (file == name && sized && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| hex.to_ascii_lowercase())
    })
}

fn sha256_of(path: &Path) -> Result<String, UpdateError> {
    hex_digest::<sha2::Sha256>(path)
}

fn sha512_of(path: &Path) -> Result<String, UpdateError> {
    hex_digest::<sha2::Sha512>(path)
}

fn hex_digest<D: sha2::Digest>(path: &Path) -> Result<String, UpdateError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| UpdateError::Failed(format!("cannot read {}: {e}", path.display())))?;
    let mut hasher = D::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = std::io::Read::read(&mut file, &mut buffer)
            .map_err(|e| UpdateError::Failed(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Lists the releases of Cargo.toml's repository (at `api` when set).
fn configure(api: Option<&str>) -> github::UpdateBuilder {
    let (owner, name) = owner_and_name(repository_url())
        .expect("Cargo.toml's repository is https://github.com/OWNER/NAME (a unit test checks it)");
    let mut builder = github::Update::configure();
    builder
        .repo_owner(owner)
        .repo_name(name)
        .bin_name("portproxy")
        .current_version(env!("CARGO_PKG_VERSION"))
        .timeout(Duration::from_secs(60));
    match api {
        Some(api) => {
            builder.api_base_url(api);
        }
        None => {
            builder.auth_token_from_env();
        }
    }
    builder
}

/// The unpacked binary must run here and say it is the version being installed (on the first
/// line of `--version`; the next ones name its build).
fn reports_version(binary: &Path, expected: &str, dir: &Path) -> Result<String, UpdateError> {
    let out = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => UpdateError::CannotRun {
                dir: dir.parent().unwrap_or(dir).to_path_buf(),
                detail: e.to_string(),
            },
            _ => UpdateError::Rejected {
                reason: format!("it does not run: {e}"),
            },
        })?;
    let said = String::from_utf8_lossy(&out.stdout);
    let first = said.lines().next().unwrap_or_default().trim();
    if out.status.success() && first == expected {
        Ok(said.to_string())
    } else {
        Err(UpdateError::Rejected {
            reason: format!("`--version` said {first:?}, expected {expected:?}"),
        })
    }
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

/// One precise error for each way self_update can fail.
fn explain(e: self_update::Error, api: &str) -> UpdateError {
    use self_update::Error as E;
    match e {
        E::RateLimited { .. } => UpdateError::RateLimited,
        E::InstallPathNotWritable { path, .. } => UpdateError::NotWritable { path },
        E::ChecksumMismatch {
            expected, computed, ..
        } => UpdateError::Checksum {
            detail: format!("expected sha256 {expected}, got {computed}"),
        },
        e @ E::ChecksumSourceInvalid { .. } => UpdateError::Checksum {
            detail: e.to_string(),
        },
        E::VerificationRejected { reason, .. } => UpdateError::Rejected {
            reason: reason.unwrap_or_else(|| "no reason given".into()),
        },
        e @ (E::Transport(_)
        | E::HttpStatus { .. }
        | E::NotFound { .. }
        | E::Unauthorized { .. }
        | E::InvalidResponse { .. }
        | E::Json(_)) => UpdateError::Unreachable {
            api: api.to_string(),
            detail: e.to_string(),
        },
        E::Io(e) if e.kind() == std::io::ErrorKind::PermissionDenied => UpdateError::NotWritable {
            path: std::env::current_exe().unwrap_or_default(),
        },
        e => UpdateError::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        let cases = [
            ("0.1.0", "0.2.0", None, Plan::Install("0.2.0".into())),
            ("0.1.0", "0.1.1", None, Plan::Install("0.1.1".into())),
            ("0.1.0", "1.0.0", None, Plan::Install("1.0.0".into())),
            ("0.1.0", "0.1.0", None, Plan::UpToDate),
            // A build ahead of the newest release is not "downgraded".
            ("0.3.0", "0.2.0", None, Plan::UpToDate),
            (
                "0.1.0",
                "0.2.0-rc.1",
                None,
                Plan::Install("0.2.0-rc.1".into()),
            ),
            ("0.2.0", "not-semver", None, Plan::UpToDate),
            // An explicit version is installed whatever it is.
            (
                "0.3.0",
                "0.3.0",
                Some("0.1.0"),
                Plan::Install("0.1.0".into()),
            ),
            (
                "0.1.0",
                "0.3.0",
                Some("0.1.0"),
                Plan::Install("0.1.0".into()),
            ),
        ];
        for (current, latest, requested, want) in cases {
            assert_eq!(
                plan(current, latest, requested),
                want,
                "{current} {latest} {requested:?}"
            );
        }
    }

    #[test]
    fn versions() {
        for (input, want) in [
            ("0.2.0", Some("0.2.0")),
            ("v0.2.0", Some("0.2.0")),
            ("1.10.3-rc.1", Some("1.10.3-rc.1")),
            ("1.0.0+build.5", Some("1.0.0+build.5")),
            ("0.2", None),
            ("", None),
            ("v", None),
            ("latest", None),
            ("0.2.0.1", None),
            ("0.-2.0", None),
            ("0.2.0-", None),
            ("1.2.x", None),
            ("../../etc/passwd", None),
        ] {
            assert_eq!(parse_version(input).ok().as_deref(), want, "{input:?}");
        }
    }

    #[test]
    fn repositories() {
        for (url, want) in [
            (
                "https://github.com/OWNER/portproxy",
                Some(("OWNER", "portproxy")),
            ),
            ("https://github.com/a/b/", Some(("a", "b"))),
            ("https://github.com/a/b.git", Some(("a", "b"))),
            ("https://github.com/a", None),
            ("https://github.com/a/b/c", None),
            ("https://gitlab.com/a/b", None),
            ("https://github.com//b", None),
        ] {
            assert_eq!(owner_and_name(url), want, "{url}");
        }
        assert!(owner_and_name(repository_url()).is_some());
    }

    #[test]
    fn caddy_pins() {
        let said = "portproxy 0.2.0\ntarget x86_64-unknown-linux-gnu, commit abc\ncaddy 2.11.7 (the installers'), 2.6.2 or newer works\n";
        assert_eq!(caddy_pin(said).as_deref(), Some("2.11.7"));
        assert_eq!(caddy_pin("portproxy 0.1.0\n"), None);
        assert_eq!(caddy_pin("caddy latest\n"), None);
    }

    #[test]
    fn sums_entries() {
        let hex = "ab".repeat(32);
        let sums = format!(
            "{hex} *portproxy-x86_64-unknown-linux-gnu.tar.gz\n{} *install.sh\n",
            "cd".repeat(32)
        );
        for (name, want) in [
            (
                "portproxy-x86_64-unknown-linux-gnu.tar.gz",
                Some(hex.clone()),
            ),
            ("install.sh", Some("cd".repeat(32))),
            ("portproxy-x86_64-unknown-linux-gnu.tar", None),
            ("gnu.tar.gz", None),
        ] {
            assert_eq!(sums_entry(&sums, name), want, "{name}");
        }
        // Caddy's style: two spaces, no `*`.
        assert_eq!(
            sums_entry(&format!("{hex}  caddy.tar.gz"), "caddy.tar.gz"),
            Some(hex.clone())
        );
        assert_eq!(sums_entry("zz *caddy.tar.gz", "caddy.tar.gz"), None);
    }

    #[test]
    fn transports() {
        use Transport::*;
        for (url, want) in [
            ("https://api.github.com", Https),
            ("HTTPS://mirror.example/x", Https),
            ("http://127.0.0.1:8080", Loopback),
            ("http://127.0.0.1", Loopback),
            ("http://127.8.9.10/api", Loopback),
            ("http://[::1]:8080/api", Loopback),
            ("http://localhost:9/", Loopback),
            ("http://LOCALHOST", Loopback),
            ("http://user@127.0.0.1:80", Loopback),
            // Names that merely start like loopback are other machines.
            ("http://127.0.0.1.evil.example/", PlainHttp),
            ("http://localhost.evil.example/", PlainHttp),
            ("http://127.0.0.1@evil.example/", PlainHttp),
            ("http://[::1].evil.example/", PlainHttp),
            ("http://[::ffff:192.0.2.1]/", PlainHttp),
            ("http://192.0.2.2:8080", PlainHttp),
            ("http://mirror.example", PlainHttp),
            ("http://", PlainHttp),
            ("ftp://mirror.example", Other),
            ("file:///srv/mirror", Other),
            ("mirror.example", Other),
        ] {
            assert_eq!(transport(url), want, "{url}");
        }
    }

    #[test]
    fn assets() {
        assert_eq!(
            asset_name("x86_64-unknown-linux-gnu"),
            "portproxy-x86_64-unknown-linux-gnu.tar.gz"
        );
        assert_eq!(
            asset_name("aarch64-apple-darwin"),
            "portproxy-aarch64-apple-darwin.tar.gz"
        );
        assert_eq!(
            asset_name("x86_64-pc-windows-msvc"),
            "portproxy-x86_64-pc-windows-msvc.zip"
        );
    }

    #[test]
    fn homebrew() {
        for (path, want) in [
            ("/opt/homebrew/Cellar/portproxy/0.1.0/bin/portproxy", true),
            (
                "/home/linuxbrew/.linuxbrew/Cellar/portproxy/0.1.0/bin/portproxy",
                true,
            ),
            ("/usr/local/Cellar/portproxy/0.1.0/bin/portproxy", true),
            ("/home/me/.local/bin/portproxy", false),
            ("/usr/local/bin/portproxy", false),
            ("/home/me/Cellarage/portproxy", false),
        ] {
            assert_eq!(managed_by_homebrew(Path::new(path)), want, "{path}");
        }
    }
}

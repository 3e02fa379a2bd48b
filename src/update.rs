//! Self-update's work: decide from the versions alone (pure), then find the release, download
//! it, check it and swap it in (`stage`), and bring the installers' Caddy to the release's pin
//! (`caddy`). `portproxy self-update` (`commands::self_update`) is a thin caller.

mod caddy;
mod stage;

use std::fmt;
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use self_update::backends::github;

pub(crate) use caddy::{caddy_pin, installers_caddy, update_caddy};
pub(crate) use stage::Stage;

/// Points self-update at another GitHub-compatible API (a mirror, or a test's fake).
pub(crate) const API_BASE_ENV: &str = "PORTPROXY_UPDATE_API_BASE";
/// Where Caddy's release files are (a mirror); install.sh reads the same variable.
pub(crate) const CADDY_DOWNLOAD_ENV: &str = "PORTPROXY_CADDY_DOWNLOAD_URL";
/// Accepts a mirror over plain http beyond this machine (the installers read it too).
pub(crate) const ALLOW_HTTP_ENV: &str = "PORTPROXY_ALLOW_HTTP_MIRROR";
pub(crate) const GITHUB_API: &str = "https://api.github.com";
/// dist's unified checksum file, published with every release.
pub(crate) const SUMS_ASSET: &str = "sha256.sum";

#[derive(Debug)]
pub(crate) enum UpdateError {
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
    pub(crate) fn help(&self) -> Option<String> {
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
pub(crate) enum Decision {
    /// Nothing newer is published (a build ahead of the newest release counts as current).
    UpToDate,
    /// Install this version (newer, or the one asked for).
    Install(String),
}

/// Chooses between the current version, the newest release and an explicitly requested one.
pub(crate) fn decide(current: &str, latest: &str, requested: Option<&str>) -> Decision {
    match requested {
        Some(version) => Decision::Install(version.to_string()),
        None if self_update::version::bump_is_greater(current, latest).unwrap_or(false) => {
            Decision::Install(latest.to_string())
        }
        None => Decision::UpToDate,
    }
}

/// `0.2.0` or `v0.2.0` (any semver, so `-rc.1` and `+build` suffixes too) → `0.2.0`.
pub(crate) fn parse_version(value: &str) -> Result<String, UpdateError> {
    let version = value.strip_prefix('v').unwrap_or(value);
    match semver::Version::parse(version) {
        Ok(_) => Ok(version.to_string()),
        Err(_) => Err(UpdateError::BadVersion {
            value: value.to_string(),
        }),
    }
}

/// `https://github.com/OWNER/NAME` (optionally with `.git` or a trailing `/`) → (OWNER, NAME).
pub(crate) fn owner_and_name(repository: &str) -> Option<(&str, &str)> {
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
pub(crate) fn asset_name(target: &str) -> String {
    let extension = if target.contains("windows") {
        "zip"
    } else {
        "tar.gz"
    };
    format!("portproxy-{target}.{extension}")
}

/// A binary inside a Homebrew Cellar (`…/Cellar/portproxy/0.1.0/bin/portproxy`; brew's
/// `bin/portproxy` is a symlink into it, resolved before this is asked).
pub(crate) fn managed_by_homebrew(exe: &Path) -> bool {
    exe.components()
        .any(|c| c == Component::Normal("Cellar".as_ref()))
}

/// How a mirror's URL carries the files.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Https,
    /// Plain http to this machine (127.0.0.0/8, `[::1]`, localhost): nothing on a network path.
    Loopback,
    /// Plain http to another machine.
    PlainHttp,
    /// Not an http(s) URL.
    Other,
}

/// `http://127.0.0.1:8080/x` → `Loopback`; `http://mirror.example/` → `PlainHttp`. The host
/// is read as curl and ureq read it: after any `user@`, before any `:port`.
pub(crate) fn transport(url: &str) -> Transport {
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
pub(crate) fn check_transport(what: &str, url: &str, allow_http: bool) -> Result<(), UpdateError> {
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

/// The mirror `var` names, if set (without a trailing `/`).
pub(crate) fn mirror(var: &str) -> Option<String> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| v.trim_end_matches('/').to_string())
}

pub(crate) fn repository_url() -> &'static str {
    env!("CARGO_PKG_REPOSITORY")
}

/// The hex digest `sums` (`<hex> *<name>` or `<hex>  <name>` lines) gives `name`.
pub(crate) fn sums_entry(sums: &str, name: &str) -> Option<String> {
    sums.lines().find_map(|line| {
        let (hex, file) = line.trim().split_once(' ')?;
        let file = file.trim_start().trim_start_matches('*');
        let sized = hex.len() == 64 || hex.len() == 128;
        (file == name && sized && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| hex.to_ascii_lowercase())
    })
}

/// Lists the releases of Cargo.toml's repository (at `api` when set).
pub(crate) fn configure(api: Option<&str>) -> github::UpdateBuilder {
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

/// One precise error for each way self_update can fail.
pub(crate) fn explain(e: self_update::Error, api: &str) -> UpdateError {
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
            ("0.1.0", "0.2.0", None, Decision::Install("0.2.0".into())),
            ("0.1.0", "0.1.1", None, Decision::Install("0.1.1".into())),
            ("0.1.0", "1.0.0", None, Decision::Install("1.0.0".into())),
            ("0.1.0", "0.1.0", None, Decision::UpToDate),
            // A build ahead of the newest release is not "downgraded".
            ("0.3.0", "0.2.0", None, Decision::UpToDate),
            (
                "0.1.0",
                "0.2.0-rc.1",
                None,
                Decision::Install("0.2.0-rc.1".into()),
            ),
            ("0.2.0", "not-semver", None, Decision::UpToDate),
            // An explicit version is installed whatever it is.
            (
                "0.3.0",
                "0.3.0",
                Some("0.1.0"),
                Decision::Install("0.1.0".into()),
            ),
            (
                "0.1.0",
                "0.3.0",
                Some("0.1.0"),
                Decision::Install("0.1.0".into()),
            ),
        ];
        for (current, latest, requested, want) in cases {
            assert_eq!(
                decide(current, latest, requested),
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

//! Finding Caddy and knowing its version.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The oldest Caddy whose Caddyfile syntax ours sticks to (Debian 12 and Ubuntu 24.04 ship it).
pub(crate) const MIN_VERSION: Version = Version(2, 6, 2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version(pub(crate) u32, pub(crate) u32, pub(crate) u32);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// A Caddy binary that answered `caddy version`.
#[derive(Debug, Clone)]
pub(crate) struct Caddy {
    pub(crate) path: PathBuf,
    pub(crate) version: Version,
}

/// What went wrong finding Caddy.
#[derive(Debug)]
pub(crate) enum Missing {
    NotOnPath,
    NotRunnable { path: PathBuf, error: String },
    TooOld { path: PathBuf, version: Version },
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::NotOnPath => write!(f, "Caddy is not on PATH"),
            Missing::NotRunnable { path, error } => {
                write!(f, "{} does not run as Caddy: {error}", path.display())
            }
            Missing::TooOld { path, version } => write!(
                f,
                "{} is Caddy {version}; portproxy needs {MIN_VERSION} or newer",
                path.display()
            ),
        }
    }
}

/// `v2.11.4 h1:abc…` (official builds) or `2.6.2` (Debian) → `Version(2, 11, 4)`.
pub(crate) fn parse_version(output: &str) -> Option<Version> {
    let word = output.split_whitespace().next()?;
    let word = word.strip_prefix('v').unwrap_or(word);
    let core = word.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
    Some(Version(
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// The Caddy to use: `explicit` if given, else `caddy` on PATH.
pub(crate) fn locate(explicit: Option<&Path>) -> Result<Caddy, Missing> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => crate::paths::on_path("caddy").ok_or(Missing::NotOnPath)?,
    };
    let output = Command::new(&path)
        .arg("version")
        .output()
        .map_err(|e| Missing::NotRunnable {
            path: path.clone(),
            error: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = parse_version(&text).ok_or_else(|| Missing::NotRunnable {
        path: path.clone(),
        error: format!("`caddy version` printed {:?}", text.trim()),
    })?;
    if version < MIN_VERSION {
        return Err(Missing::TooOld { path, version });
    }
    Ok(Caddy { path, version })
}

/// How to install Caddy on this OS.
pub(crate) fn install_hint() -> &'static str {
    if cfg!(target_os = "macos") {
        "brew install caddy"
    } else if cfg!(windows) {
        "winget install CaddyServer.Caddy (or scoop install caddy)"
    } else {
        "sudo apt-get install caddy (Debian/Ubuntu), sudo dnf install caddy (Fedora), or see https://caddyserver.com/docs/install"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let rows = [
            ("2.6.2", Some(Version(2, 6, 2))),
            ("v2.11.4 h1:1a2b3c=\n", Some(Version(2, 11, 4))),
            ("v2.10.0-beta.3 h1:x", Some(Version(2, 10, 0))),
            ("v2.8", Some(Version(2, 8, 0))),
            ("", None),
            ("caddy", None),
        ];
        for (text, want) in rows {
            assert_eq!(parse_version(text), want, "{text:?}");
        }
        assert!(Version(2, 6, 1) < MIN_VERSION && Version(2, 11, 0) > MIN_VERSION);
    }
}

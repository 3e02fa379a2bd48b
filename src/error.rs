//! The one error a command can end with: printed once as `error:` + `help:`, mapped to an
//! exit code.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::caddy::locate::{self, Missing};
use crate::caddy::supervise::StartError;
use crate::caddy::trust::TrustError;
use crate::config::ConfigError;
use crate::paths::NoHome;
use crate::update::UpdateError;

#[derive(Debug)]
pub(crate) enum Error {
    Config(ConfigError),
    /// Something else holds a port we (or Caddy) must listen on.
    PortInUse {
        key: &'static str,
        addr: SocketAddr,
        holder: Option<String>,
        error: std::io::Error,
    },
    /// Caddy is needed and missing, broken or too old.
    Caddy(Missing),
    /// Caddy would not start.
    CaddyStart(StartError),
    /// A file portproxy keeps could not be written or read.
    File {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The hosts file could not be read or changed.
    Hosts {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A command's argument is wrong (exit status 2, like clap's own usage errors).
    Usage {
        message: String,
        help: String,
    },
    /// `service` could not register the login service (no service manager to ask).
    Service {
        reason: String,
        help: String,
    },
    /// The stored access token is unusable (empty after a crash, too short).
    Token {
        path: PathBuf,
        reason: String,
    },
    /// `doctor` found problems (it printed them).
    Unhealthy {
        problems: usize,
    },
    /// `trust` could not install (or remove) the CA.
    Trust(TrustError),
    /// `self-update` could not update.
    Update(UpdateError),
    /// No home directory to keep portproxy's files in.
    NoHome(NoHome),
    /// The running portproxy could not be asked (`share`, `unshare`).
    Control(crate::control::ControlError),
}

/// The exit status of `ls`, `url`, `open`, `share` and `unshare` when no portproxy of this
/// user is running (docs/commands.md).
pub(crate) const NOT_RUNNING: u8 = 4;

impl Error {
    pub(crate) fn help(&self) -> Option<String> {
        match self {
            Error::Config(e) => Some(e.help()),
            Error::PortInUse {
                key,
                addr,
                holder,
                error,
            } => Some(match holder {
                _ if error.kind() == std::io::ErrorKind::AddrNotAvailable => format!(
                    "{} is not an address of this machine: give --{key} one it has, e.g. 127.0.0.1:{}",
                    addr.ip(),
                    addr.port()
                ),
                Some(holder) => free_port_help(key, holder),
                None => format!(
                    "stop the program using it (is another portproxy running?) or choose another with --{key}"
                ),
            }),
            Error::Caddy(Missing::TooOld { .. }) | Error::Caddy(Missing::NotOnPath) => {
                Some(format!("install a current Caddy: {}", locate::install_hint()))
            }
            Error::Caddy(Missing::NotRunnable { .. }) => {
                Some("point --caddy at a working Caddy binary, or drop it to use `caddy` on PATH".into())
            }
            Error::CaddyStart(StartError::Exited { last_line, .. })
                if last_line.contains("permission denied") =>
            {
                Some("ports below 1024 need privileges: run as root, `sudo setcap cap_net_bind_service=+ep $(which caddy)`, or use --http-port 8080 --https-port 8443".into())
            }
            Error::CaddyStart(_) => Some(
                "`portproxy doctor` checks ports and the Caddyfile; `portproxy caddyfile` prints what Caddy was given".into(),
            ),
            Error::File { .. } => Some("check the directory's permissions (or set XDG_DATA_HOME)".into()),
            Error::Hosts { error, .. } if error.kind() == std::io::ErrorKind::PermissionDenied => {
                Some(if cfg!(windows) {
                    "run it again from an Administrator prompt".into()
                } else {
                    "the file is root's: run it again with sudo".into()
                })
            }
            Error::Hosts { .. } => None,
            Error::Usage { help, .. } | Error::Service { help, .. } => Some(help.clone()),
            Error::Token { path, .. } => Some(format!(
                "delete {} to have a new token made at the next start (it ends every session), or write a token of at least {} printable characters into it",
                path.display(),
                crate::auth::MIN_TOKEN
            )),
            Error::Unhealthy { .. } => None,
            Error::Trust(e) => Some(e.help.clone()),
            Error::Update(e) => e.help(),
            Error::NoHome(_) if cfg!(windows) => Some("run portproxy as a user with a profile".into()),
            Error::NoHome(missing) => Some(format!(
                "set HOME (a system service: `User=`, or `Environment=HOME=/var/lib/portproxy`), or {}",
                missing.variable
            )),
            Error::Control(e) => e.help(),
        }
    }

    pub(crate) fn exit_code(&self) -> u8 {
        use crate::control::ControlError::{Impostor, NotRunning};
        match self {
            Error::Unhealthy { .. } => 1,
            // Scripts and agents tell "start portproxy first" from a mistake of theirs.
            Error::Control(NotRunning { .. } | Impostor { .. }) => NOT_RUNNING,
            _ => 2,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => e.fmt(f),
            Error::PortInUse {
                key,
                addr,
                holder,
                error,
            } => {
                write!(f, "cannot listen on {addr} (`{key}`): {error}")?;
                match holder {
                    Some(holder) => write!(f, "; it is held by {holder}"),
                    None => Ok(()),
                }
            }
            Error::Caddy(missing) => missing.fmt(f),
            Error::CaddyStart(e) => e.fmt(f),
            Error::File { path, error } | Error::Hosts { path, error } => {
                write!(f, "{}: {error}", path.display())
            }
            Error::Usage { message, .. } => f.write_str(message),
            Error::Service { reason, .. } => f.write_str(reason),
            Error::Token { path, reason } => write!(f, "{}: {reason}", path.display()),
            Error::Unhealthy { problems } => write!(f, "{problems} problem(s) found"),
            Error::Trust(e) => f.write_str(&e.reason),
            Error::Update(e) => e.fmt(f),
            Error::NoHome(e) => e.fmt(f),
            Error::Control(e) => e.fmt(f),
        }
    }
}

impl Error {
    /// The token file at `path` could not be read, written or used.
    pub(crate) fn token_file(path: &std::path::Path, e: crate::auth::TokenFileError) -> Error {
        match e {
            crate::auth::TokenFileError::Io(error) => Error::File {
                path: path.to_path_buf(),
                error,
            },
            crate::auth::TokenFileError::Bad(bad) => Error::Token {
                path: path.to_path_buf(),
                reason: bad.to_string(),
            },
        }
    }
}

/// How to free a port `holder` (`caddy (pid 812)`) has, or do without it, for the setting `key`.
pub(crate) fn free_port_help(key: &str, holder: &str) -> String {
    if holder.starts_with("caddy ") {
        format!("a system Caddy (often the distro's caddy.service) holds it: `sudo systemctl disable --now caddy`, or choose another with --{key}")
    } else if holder.starts_with("portproxy ") {
        format!("another portproxy is running: stop it, or choose another with --{key}")
    } else {
        format!("stop {holder}, or choose another with --{key}")
    }
}

impl From<TrustError> for Error {
    fn from(e: TrustError) -> Self {
        Error::Trust(e)
    }
}

impl From<NoHome> for Error {
    fn from(e: NoHome) -> Self {
        Error::NoHome(e)
    }
}

impl From<crate::control::ControlError> for Error {
    fn from(e: crate::control::ControlError) -> Self {
        Error::Control(e)
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

//! What `run` and `serve` start, resolved once from the settings: the derived `Config` (Caddy's
//! ports and the token in force included), the Caddy in front with its Caddyfile, or why the
//! proxy runs alone. `run`, `serve`, a reload, `caddyfile`, `doctor` and `hosts` all take it
//! from here, so what a command describes is what runs; `ls`, `url` and `open` ask the running
//! instance, which answers from the `Config` of its plan (`Config::served_url`).

use std::fmt;
use std::path::PathBuf;

use log::{info, warn};

use crate::banner::DETAIL;
use crate::caddy::caddyfile::{self, Tls};
use crate::caddy::locate::{self, Caddy, Missing};
use crate::caddy::{self, AdminAddress, Paths};
use crate::config::{Config, Settings};
use crate::error::Error;
use crate::paths::process_env;
use crate::start::{self, Moment};

/// Reads the settings afresh: defaults < file < environment < the command line's flags.
pub(crate) type ReadSettings = Box<dyn Fn() -> Result<Settings, Error> + Send>;

/// What a plan is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Starting `run`: Caddy in front when one is found. The first run may ask to trust the
    /// local CA unless `--yes` or `--no-trust` said not to.
    Run { may_ask_trust: bool },
    /// Starting the proxy alone.
    Alone(Alone),
    /// Saying what `run` would start (`caddyfile`, `doctor`, `hosts`): nothing is created (no
    /// token, no secret) and a missing Caddy is recorded, not an error.
    Describe,
}

/// Why the proxy runs without Caddy in front; the start banner says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alone {
    Serve,
    NoCaddyFlag,
    NotOnPath,
}

impl fmt::Display for Alone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Alone::Serve => f.write_str(
                "`serve` is the proxy alone (`portproxy run` puts Caddy in front)",
            ),
            Alone::NoCaddyFlag => f.write_str("`--no-caddy` serves the proxy alone"),
            Alone::NotOnPath => write!(
                f,
                "Caddy is not on PATH, so there is no HTTPS; install Caddy ({}) and start portproxy again",
                locate::install_hint()
            ),
        }
    }
}

/// What runs.
pub(crate) struct Plan {
    /// The settings and what is derived from them: Caddy's ports, the token, the URLs.
    pub(crate) config: Config,
    pub(crate) paths: Paths,
    /// Caddy's admin endpoint.
    pub(crate) admin: AdminAddress,
    /// The Caddyfile `run` gives Caddy (what `caddyfile` prints).
    pub(crate) caddyfile: String,
    /// The Caddy in front; when there is none, why: the proxy runs alone (`Alone`), or, when
    /// describing, the Caddy `run` would not find.
    pub(crate) caddy: Result<InFront, Absent>,
    pub(crate) reload: Reload,
}

/// Caddy in front of the proxy.
pub(crate) struct InFront {
    pub(crate) found: Caddy,
    /// How to get ports 80 and 443, where Caddy fell back to unprivileged ones.
    pub(crate) fix: Option<String>,
    /// The Unix sockets Caddy reaches the proxy on, one per proxy thread
    /// (`caddy::proxy_sockets`); empty when it uses the TCP listener.
    pub(crate) sockets: Vec<PathBuf>,
    /// A site uses Caddy's local CA: `run` offers to trust it once Caddy has made it.
    pub(crate) local_ca: bool,
    pub(crate) may_ask_trust: bool,
}

/// Why there is no Caddy in front.
#[derive(Debug)]
pub(crate) enum Absent {
    Alone(Alone),
    /// Only when describing: starting `run` would fail with it.
    Missing(Missing),
}

impl fmt::Display for Absent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Absent::Alone(why) => why.fmt(f),
            Absent::Missing(missing) => missing.fmt(f),
        }
    }
}

impl Plan {
    pub(crate) fn resolve(read: ReadSettings, purpose: Purpose) -> Result<Plan, Error> {
        let settings = read()?;
        let starting = purpose != Purpose::Describe;
        let auth = match starting {
            true => start::in_force(&settings, Moment::Start)?,
            false => None,
        };
        let paths = Paths::from_env(&process_env)?;
        let admin = admin_address(purpose, &paths)?;
        let found = find_caddy(purpose, &settings)?;
        let (ports, fix) = match &found {
            Ok(found) => {
                let (mut ports, fix) = caddy::ports(&settings, &found.path, &admin);
                // Over TCP, Caddy proves with a secret of this run that it is the front we started.
                if starting && caddy::proxy_sockets(&paths, settings.threads).is_none() {
                    ports.secret = Some(secret(&paths)?);
                }
                (Some(ports), fix)
            }
            Err(_) => (None, None),
        };
        let config = Config::new(settings, ports, auth);
        let spec = caddy::caddyfile_for(&config, &paths, &admin);
        let caddy = found.map(|found| InFront {
            found,
            fix,
            sockets: caddy::proxy_sockets(&paths, config.settings.threads).unwrap_or_default(),
            local_ca: spec.sites.iter().any(|site| site.tls == Tls::Internal),
            may_ask_trust: matches!(
                purpose,
                Purpose::Run {
                    may_ask_trust: true
                }
            ),
        });
        if let (Ok(front), true) = (&caddy, starting) {
            say_start(front, &config);
        }
        let reload = Reload {
            read,
            caddy: caddy.is_ok().then(|| (paths.clone(), admin.clone())),
        };
        Ok(Plan {
            caddyfile: caddyfile::render(&spec),
            config,
            paths,
            admin,
            caddy,
            reload,
        })
    }
}

/// Caddy's admin endpoint: `run` prepares its place; the others only say where it is.
fn admin_address(purpose: Purpose, paths: &Paths) -> Result<AdminAddress, Error> {
    match purpose {
        Purpose::Run { .. } => prepare_admin(paths),
        _ => AdminAddress::for_paths(paths).map_err(|error| Error::File {
            path: paths.data.clone(),
            error,
        }),
    }
}

/// The Caddy that goes in front, or why none does. Starting `run` fails on a Caddy that is
/// named but unusable; describing records it.
fn find_caddy(purpose: Purpose, settings: &Settings) -> Result<Result<Caddy, Absent>, Error> {
    Ok(match purpose {
        Purpose::Alone(why) => Err(Absent::Alone(why)),
        Purpose::Run { .. } => match locate::locate(settings.caddy.as_deref()) {
            Ok(found) => Ok(found),
            Err(Missing::NotOnPath) => Err(Absent::Alone(Alone::NotOnPath)),
            Err(missing) => return Err(Error::Caddy(missing)),
        },
        Purpose::Describe => locate::locate(settings.caddy.as_deref()).map_err(Absent::Missing),
    })
}

/// What `run` says once it knows its Caddy: which one, and where the ports fell back.
fn say_start(front: &InFront, config: &Config) {
    info!(target: DETAIL, "using Caddy {} at {}", front.found.version, front.found.path.display());
    if let Some(dir) = front.sockets.first().and_then(|s| s.parent()) {
        info!(target: DETAIL, "Caddy reaches the proxy over Unix sockets in {}", dir.display());
    }
    if let Some(fix) = &front.fix {
        let ports = config.caddy_ports();
        warn!(
            "as this user Caddy can't bind ports 80 and 443, so it serves HTTPS on {} and HTTP on {} (the URLs carry the port)",
            ports.https_port, ports.http_port
        );
        warn!("for URLs without a port: {fix}");
    }
}

fn secret(paths: &Paths) -> Result<u128, Error> {
    let mut secret = [0u8; 16];
    getrandom::getrandom(&mut secret).map_err(|e| Error::File {
        path: paths.data.clone(),
        error: std::io::Error::other(e),
    })?;
    Ok(u128::from_le_bytes(secret))
}

/// Picks Caddy's admin address; a socket file left by a Caddy that died is removed, one that
/// answers means another Caddy of ours is running.
fn prepare_admin(paths: &Paths) -> Result<AdminAddress, Error> {
    let file_error = |error| Error::File {
        path: paths.data.clone(),
        error,
    };
    std::fs::create_dir_all(&paths.data).map_err(file_error)?;
    let admin = AdminAddress::for_paths(paths).map_err(file_error)?;
    #[cfg(unix)]
    if let AdminAddress::Socket(socket) = &admin {
        if std::os::unix::net::UnixStream::connect(socket).is_ok() {
            return Err(Error::File {
                path: socket.clone(),
                error: std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another portproxy's Caddy is running (its admin socket answers)",
                ),
            });
        }
        let _ = std::fs::remove_file(socket);
    }
    Ok(admin)
}

/// The plan made again from the settings as they are now, for a reload: what was fixed at
/// start (listen, admin, threads, Caddy's ports) is taken from the running settings.
pub(crate) struct Reload {
    read: ReadSettings,
    /// Where Caddy's Caddyfile is made from, when Caddy is in front.
    caddy: Option<(Paths, AdminAddress)>,
}

/// Settings rebuilt by a reload.
pub(crate) struct Reloaded {
    pub(crate) config: Config,
    pub(crate) caddyfile: Option<String>,
    /// The new settings tried to move something fixed at start (kept as it was).
    pub(crate) moved_start_settings: bool,
}

impl Reload {
    pub(crate) fn apply(&self, running: &Config) -> Result<Reloaded, Error> {
        let mut settings = (self.read)()?;
        let moved_start_settings = settings.keep_start_settings(&running.settings);
        let auth = start::in_force(&settings, Moment::Reload)?;
        let config = Config::new(settings, running.caddy_in_front, auth);
        let caddyfile = self
            .caddy
            .as_ref()
            .map(|(paths, admin)| caddyfile::render(&caddy::caddyfile_for(&config, paths, admin)));
        Ok(Reloaded {
            config,
            caddyfile,
            moved_start_settings,
        })
    }
}

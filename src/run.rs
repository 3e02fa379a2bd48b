//! `serve`, `run` and `caddyfile`: turning settings into a running proxy, with or without
//! Caddy in front.

use log::{info, warn};

use crate::auth::{self, Auth};
use crate::caddy::locate::{self, Missing};
use crate::caddy::supervise::Launch;
use crate::caddy::{self, caddyfile, Admin, Paths};
use crate::cli::{CaddyFlags, RunArgs, Settings};
use crate::config::{self, Config};
use crate::error::Error;
use crate::route;
use crate::serve::{self, CaddyPlan, Plan, Reloaded};

/// The process's environment, as `config::load` and `Paths` take it.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

fn load(args: &RunArgs) -> Result<Config, Error> {
    with_auth(
        config::load(&args.settings, &args.caddy, &process_env)?,
        false,
    )
}

/// Settings at start: like `load`, and says once what authentication is in force.
fn load_at_start(args: &RunArgs) -> Result<Config, Error> {
    with_auth(
        config::load(&args.settings, &args.caddy, &process_env)?,
        true,
    )
}

/// Resolves the access token when a public domain needs one: the configured token, else the
/// one stored in the config directory, else a new one, stored (0600) and printed once.
fn with_auth(mut config: Config, at_start: bool) -> Result<Config, Error> {
    let Some(public) = config.domains.iter().find(|d| !route::is_local(d)).cloned() else {
        return Ok(config);
    };
    if config.no_auth {
        if at_start {
            warn!("authentication is off (no_auth): anyone who reaches {public} reaches every allowed port on this machine");
        }
        return Ok(config);
    }
    let auth = match &config.auth_token {
        Some(token) => {
            // The config file holds a secret: only its owner may read it.
            if let Some(file) = &config.file {
                if at_start && auth::owner_only(file).unwrap_or(false) {
                    warn!("{} holds auth_token and others could read it: its permissions are now 0600", file.display());
                }
            }
            Auth::new(token).map_err(|e| Error::Token {
                path: config.file.clone().unwrap_or_default(),
                reason: e.to_string(),
            })?
        }
        None => stored_token(&public, at_start)?,
    };
    config.auth = Some(auth);
    Ok(config)
}

fn stored_token(domain: &str, at_start: bool) -> Result<Auth, Error> {
    let path = auth::token_file(&process_env);
    let stored = auth::stored_token(&path).map_err(|e| Error::token_file(&path, e))?;
    if at_start && stored.tightened {
        warn!(
            "{} could be read by other users: its permissions are now 0600",
            path.display()
        );
    }
    if at_start && stored.created {
        info!("generated an access token for {domain}: {}", stored.token);
        info!("it is stored in {}; sign in at https://{domain}/login, or send `Authorization: Bearer TOKEN`", path.display());
    }
    Ok(stored.auth)
}

/// `portproxy serve`: the proxy alone.
pub fn serve(settings: Settings) -> Result<(), Error> {
    proxy_alone(RunArgs {
        settings,
        caddy: CaddyFlags::default(),
    })
}

fn proxy_alone(args: RunArgs) -> Result<(), Error> {
    let config = load_at_start(&args)?;
    serve::serve(Plan {
        config,
        caddy: None,
        reload: Box::new(move |running| {
            let mut config = load(&args)?;
            let moved_start_settings = config.keep_start_settings(running);
            Ok(Reloaded {
                config,
                caddyfile: None,
                moved_start_settings,
            })
        }),
    })
}

/// `portproxy run`: the proxy with Caddy in front, or alone (and saying so) without Caddy.
pub fn run(args: RunArgs) -> Result<(), Error> {
    let config = config::load(&args.settings, &args.caddy, &process_env)?;
    if args.caddy.no_caddy {
        info!("--no-caddy: serving the proxy alone, without HTTPS");
        return proxy_alone(args);
    }
    let found = match locate::locate(config.front.caddy.as_deref()) {
        Ok(found) => found,
        Err(Missing::NotOnPath) => {
            warn!(
                "Caddy is not on PATH, so there is no HTTPS: serving the proxy alone on http://PORT.{}:{}/",
                config.domains[0],
                config.listen.port()
            );
            warn!(
                "for HTTPS, install Caddy ({}) and start portproxy again",
                locate::install_hint()
            );
            return proxy_alone(args);
        }
        Err(missing) => return Err(Error::Caddy(missing)),
    };
    info!("using Caddy {} at {}", found.version, found.path.display());
    let (config, fix) = caddy::fall_back_if_needed(config, &found.path);
    if let Some(fix) = fix {
        warn!(
            "as this user Caddy can't bind ports 80 and 443, so it serves HTTPS on {} and HTTP on {} (the URLs carry the port)",
            config.front.https_port, config.front.http_port
        );
        warn!("for URLs without a port: {fix}");
    }
    let config = with_auth(config, true)?;
    let paths = Paths::from_env(&process_env);
    let admin = prepare_admin(&paths)?;
    let config = caddy::claim_ports(config, &admin);
    let text = caddyfile::render(&caddy::front(&config, &paths, &admin));
    let path = caddy::write_caddyfile(&paths, &text).map_err(|error| Error::File {
        path: paths.caddyfile(),
        error,
    })?;
    let plan = CaddyPlan {
        launch: Launch {
            caddy: found,
            caddyfile: path,
            admin: admin.address(),
            env: paths.caddy_env(),
        },
        caddyfile: text,
        binds: caddy_binds(&config),
        urls: caddy::urls(&config),
        local_ca: caddy::front(&config, &paths, &admin)
            .sites
            .iter()
            .any(|site| site.tls == caddyfile::Tls::Internal)
            .then(|| paths.clone()),
    };
    serve::serve(Plan {
        config,
        caddy: Some(plan),
        reload: Box::new(move |running| {
            let mut config = load(&args)?;
            let moved_start_settings = config.keep_start_settings(running);
            let text = caddyfile::render(&caddy::front(&config, &paths, &admin));
            Ok(Reloaded {
                config,
                caddyfile: Some(text),
                moved_start_settings,
            })
        }),
    })
}

/// `portproxy caddyfile`: the Caddyfile `run` would write, on stdout.
pub fn print_caddyfile(args: RunArgs) -> Result<(), Error> {
    let mut config = config::load(&args.settings, &args.caddy, &process_env)?;
    if let Ok(found) = locate::locate(config.front.caddy.as_deref()) {
        config = caddy::fall_back_if_needed(config, &found.path).0;
    }
    let paths = Paths::from_env(&process_env);
    let admin = Admin::for_paths(&paths).map_err(|error| Error::File {
        path: paths.data.clone(),
        error,
    })?;
    let config = caddy::claim_ports(config, &admin);
    print!(
        "{}",
        caddyfile::render(&caddy::front(&config, &paths, &admin))
    );
    Ok(())
}

/// The HTTP and HTTPS addresses Caddy will bind, named by the flag that moves them.
pub fn caddy_binds(config: &Config) -> Vec<(&'static str, std::net::SocketAddr)> {
    caddy::bind_addrs(config)
        .into_iter()
        .map(|addr| {
            let key = if addr.port() == config.front.https_port {
                "https-port"
            } else {
                "http-port"
            };
            (key, addr)
        })
        .collect()
}

/// Picks Caddy's admin address; a socket file left by a Caddy that died is removed, one that
/// answers means another Caddy of ours is running.
fn prepare_admin(paths: &Paths) -> Result<Admin, Error> {
    let file_error = |error| Error::File {
        path: paths.data.clone(),
        error,
    };
    std::fs::create_dir_all(&paths.data).map_err(file_error)?;
    let admin = Admin::for_paths(paths).map_err(file_error)?;
    #[cfg(unix)]
    if let Admin::Socket(socket) = &admin {
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

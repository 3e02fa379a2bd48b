//! `portproxy run` (the default command): the proxy with Caddy in front, or alone (and
//! saying so) without Caddy.

use log::{info, warn};

use crate::banner::DETAIL;
use crate::caddy::locate::{self, Missing};
use crate::caddy::supervise::Launch;
use crate::caddy::{self, caddyfile, Admin, Paths};
use crate::cli::RunCommand;
use crate::commands::serve::{proxy_alone, reload};
use crate::config::{process_env, Config};
use crate::error::Error;
use crate::server::{self, CaddyPlan, Plan, Reloaded};
use crate::start::{self, Moment};

pub fn run(command: RunCommand) -> Result<(), Error> {
    let args = command.run;
    let settings = args.settings(&process_env)?;
    if args.no_caddy {
        return proxy_alone(args, "`--no-caddy` serves the proxy alone".into());
    }
    let found = match locate::locate(settings.caddy.as_deref()) {
        Ok(found) => found,
        Err(Missing::NotOnPath) => {
            let why = format!(
                "Caddy is not on PATH, so there is no HTTPS; install Caddy ({}) and start portproxy again",
                locate::install_hint()
            );
            return proxy_alone(args, why);
        }
        Err(missing) => return Err(Error::Caddy(missing)),
    };
    info!(target: DETAIL, "using Caddy {} at {}", found.version, found.path.display());
    let paths = Paths::from_env(&process_env)?;
    let admin = prepare_admin(&paths)?;
    let (mut ports, fix) = caddy::ports(&settings, &found.path, &admin);
    // Over TCP, Caddy proves with a secret of this run that it is the front we started.
    if caddy::proxy_sockets(&paths, settings.threads).is_none() {
        let mut secret = [0u8; 16];
        getrandom::getrandom(&mut secret).map_err(|e| Error::File {
            path: paths.data.clone(),
            error: std::io::Error::other(e),
        })?;
        ports.secret = Some(u128::from_le_bytes(secret));
    }
    if let Some(fix) = fix {
        warn!(
            "as this user Caddy can't bind ports 80 and 443, so it serves HTTPS on {} and HTTP on {} (the URLs carry the port)",
            ports.https_port, ports.http_port
        );
        warn!("for URLs without a port: {fix}");
    }
    let auth = start::in_force(&settings, Moment::Start)?;
    let config = Config::new(settings, Some(ports), auth);
    let front = caddy::front(&config, &paths, &admin);
    let sockets = caddy::proxy_sockets(&paths, config.settings.threads).unwrap_or_default();
    if let Some(dir) = sockets.first().and_then(|s| s.parent()) {
        info!(
            target: DETAIL,
            "Caddy reaches the proxy over Unix sockets in {}",
            dir.display()
        );
    }
    let text = caddyfile::render(&front);
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
        binds: caddy::binds(&config),
        local_ca: front
            .sites
            .iter()
            .any(|site| site.tls == caddyfile::Tls::Internal)
            .then(|| paths.clone()),
        may_ask_trust: !(command.yes || command.no_trust),
        sockets,
    };
    server::start(Plan {
        config,
        caddy: Some(plan),
        alone: String::new(),
        reload: Box::new(move |running| {
            let (config, moved_start_settings) = reload(&args, running)?;
            let text = caddyfile::render(&caddy::front(&config, &paths, &admin));
            Ok(Reloaded {
                config,
                caddyfile: Some(text),
                moved_start_settings,
            })
        }),
    })
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

//! One module per command; `execute` runs the one the user typed.

pub mod caddyfile;
pub mod clean;
pub mod completions;
pub mod doctor;
pub mod hosts;
pub mod links;
pub mod run;
pub mod self_update;
pub mod serve;
pub mod service;
pub mod share;
pub mod trust;

use crate::caddy::locate::{self, Missing};
use crate::caddy::{self, Admin, Paths};
use crate::cli::Command;
use crate::config::{Config, Settings};
use crate::error::Error;

/// How a command that didn't fail ends.
pub enum Exit {
    Success,
    /// `self-update --check` found a newer release.
    UpdateAvailable,
}

pub fn execute(command: Command) -> Result<Exit, Error> {
    match command {
        Command::Run(args) => run::run(args),
        Command::Serve(args) => serve::serve(args),
        Command::Caddyfile(args) => caddyfile::caddyfile(args),
        Command::Doctor(args) => doctor::doctor(args),
        Command::Trust(args) => trust::trust(args),
        Command::Env => trust::env(),
        Command::Clean(args) => clean::clean(args),
        Command::Hosts(args) => hosts::hosts(args),
        Command::Ls(args) => links::ls(args),
        Command::Url(args) => links::url(args),
        Command::Open(args) => links::open(args),
        Command::Token(args) => links::token(args),
        Command::Sessions(args) => links::sessions(args),
        Command::Share(args) => share::share(args),
        Command::Unshare { port } => share::unshare(port),
        Command::Service { action } => service::service(action),
        Command::SelfUpdate(args) => {
            return match self_update::self_update(args).map_err(Error::Update)? {
                self_update::Done::Available => Ok(Exit::UpdateAvailable),
                _ => Ok(Exit::Success),
            }
        }
        Command::Completions { shell } => completions::completions(shell),
        Command::Man => completions::man(),
    }?;
    Ok(Exit::Success)
}

/// What `run` would start with, for the commands that describe it without starting it
/// (`caddyfile`, `doctor`, `ls`, `url`, `open`).
pub struct Described {
    /// Caddy's ports as `run` would pick them (fallback included) when a Caddy is found; no
    /// token is resolved.
    pub config: Config,
    /// The Caddy `run` would start.
    pub caddy: Result<locate::Caddy, Missing>,
    pub admin: Admin,
    /// How to get ports 80 and 443, where `run` would fall back.
    pub fix: Option<String>,
}

pub fn describe(settings: Settings, paths: &Paths) -> Result<Described, Error> {
    let admin = Admin::for_paths(paths).map_err(|error| Error::File {
        path: paths.data.clone(),
        error,
    })?;
    let caddy = locate::locate(settings.caddy.as_deref());
    let (ports, fix) = match &caddy {
        Ok(found) => {
            let (ports, fix) = caddy::ports(&settings, &found.path, &admin);
            (Some(ports), fix)
        }
        Err(_) => (None, None),
    };
    Ok(Described {
        config: Config::new(settings, ports, None),
        caddy,
        admin,
        fix,
    })
}

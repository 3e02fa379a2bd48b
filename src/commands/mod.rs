//! One module per command; `execute` runs the one the user typed.

pub(crate) mod caddyfile;
pub(crate) mod clean;
pub(crate) mod completions;
pub(crate) mod doctor;
pub(crate) mod hosts;
pub(crate) mod links;
pub(crate) mod run;
pub(crate) mod self_update;
pub(crate) mod serve;
pub(crate) mod service;
pub(crate) mod share;
pub(crate) mod trust;

use crate::cli::{Command, RunArgs};
use crate::error::Error;
use crate::paths::process_env;
use crate::plan::ReadSettings;

/// How a command that didn't fail ends.
pub(crate) enum Exit {
    Success,
    /// `self-update --check` found a newer release.
    UpdateAvailable,
}

pub(crate) fn execute(command: Command) -> Result<Exit, Error> {
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

/// Reads the settings `args` make, now and again at each reload (`plan::Reload`).
pub(crate) fn read_settings(args: RunArgs) -> ReadSettings {
    Box::new(move || Ok(args.settings(&process_env)?))
}

//! portproxy: every local port of a dev box at its own URL.

pub mod admin;
pub mod auth;
pub mod caddy;
pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod dns;
pub mod edit;
pub mod error;
pub mod form;
pub mod gate;
pub mod hosts;
pub mod hosts_sync;
pub mod metrics;
pub mod names;
pub mod paths;
pub mod policy;
pub mod port_links;
pub mod ports;
pub mod proxy;
pub mod resolver;
pub mod route;
pub mod server;
pub mod share;
pub mod start;
pub mod title;
pub mod update;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use commands::Exit;

/// Parses argv, runs the command, prints the one error if there is one: the only place
/// portproxy decides how the process exits.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = Cli::parse_from(args);
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();
    let command = cli.command.unwrap_or(Command::Run(Default::default()));
    let result = commands::execute(command);
    match result {
        Ok(Exit::Success) => ExitCode::SUCCESS,
        Ok(Exit::UpdateAvailable) => ExitCode::from(commands::self_update::AVAILABLE),
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(help) = e.help() {
                eprintln!("help: {help}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

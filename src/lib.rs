//! portproxy: every local port of a dev box at its own URL.

pub mod admin;
pub mod auth;
pub mod caddy;
pub mod cli;
pub mod completions;
pub mod config;
pub mod doctor;
pub mod edit;
pub mod error;
pub mod form;
pub mod gate;
pub mod links;
pub mod metrics;
pub mod policy;
pub mod ports;
pub mod proxy;
pub mod route;
pub mod run;
pub mod serve;
mod service;
pub mod trust;
pub mod update;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// Parses argv, runs the command, prints the one error if there is one.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = Cli::parse_from(args);
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();
    let result = match cli.command.unwrap_or(Command::Run(Default::default())) {
        Command::Run(args) => run::run(args),
        Command::Serve(settings) => run::serve(settings),
        Command::Caddyfile(args) => run::print_caddyfile(args),
        Command::Doctor(args) => doctor::doctor(args),
        Command::Trust(args) => trust::trust(args),
        Command::Ls(args) => links::ls(args),
        Command::Url(args) => links::url(args),
        Command::Open(args) => links::open(args),
        Command::Token(args) => links::token(args),
        Command::Service { action } => service::service(action),
        Command::SelfUpdate(args) => match update::run(args) {
            // `--check` found a newer release: a distinct status, for scripts.
            Ok(update::Done::Available) => return ExitCode::from(update::AVAILABLE),
            Ok(_) => Ok(()),
            Err(e) => Err(error::Error::Update(e)),
        },
        Command::Completions { shell } => {
            completions::print(shell).map_err(|error| error::Error::File {
                path: "stdout".into(),
                error,
            })
        }
        Command::Man => completions::man().map_err(|error| error::Error::File {
            path: "stdout".into(),
            error,
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(help) = e.help() {
                eprintln!("help: {help}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

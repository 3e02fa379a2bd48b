//! portproxy: every local port of a dev box at its own URL.

mod admin;
mod auth;
mod banner;
mod caddy;
mod cli;
mod commands;
mod config;
mod control;
// Public for tests/dns.rs, which runs the responder only macOS starts.
pub mod dns;
mod edit;
mod error;
mod form;
mod gate;
mod hosts;
mod hosts_sync;
mod metrics;
mod names;
mod paths;
mod plan;
mod policy;
mod port_links;
mod ports;
mod proxy;
mod resolver;
mod route;
mod server;
mod share;
mod start;
mod title;
mod update;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use commands::Exit;

/// Parses argv, runs the command, prints the one error if there is one: the only place
/// portproxy decides how the process exits.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = Cli::parse_from(args);
    let command = cli.command.unwrap_or(Command::Run(Default::default()));
    init_log(match &command {
        Command::Run(run) => run.output.verbose,
        Command::Serve(serve) => serve.output.verbose,
        _ => 0,
    });
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

/// By default the log is portproxy's own events and everyone's warnings, as plain lines
/// (`warning: …`); Pingora's and Caddy's internals (Caddy's lines are relayed as target
/// `caddy`) and access lines come with -v, as timestamped records. RUST_LOG, when set,
/// decides instead (and keeps the records).
fn init_log(verbose: u8) {
    use std::io::Write;
    let mut builder = env_logger::Builder::new();
    builder.format_target(false);
    match std::env::var("RUST_LOG") {
        Ok(filter) => {
            builder.parse_filters(&filter);
        }
        Err(_) if verbose == 0 => {
            builder
                .parse_filters(&format!("warn,portproxy=info,{}=warn", banner::DETAIL))
                .format(|out, record| match record.level() {
                    log::Level::Error => writeln!(out, "error: {}", record.args()),
                    log::Level::Warn => writeln!(out, "warning: {}", record.args()),
                    _ => writeln!(out, "{}", record.args()),
                });
        }
        Err(_) => {
            builder.parse_filters(if verbose == 1 { "info" } else { "debug" });
        }
    }
    builder.init();
}

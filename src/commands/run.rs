//! `portproxy run` (the default command): the proxy with Caddy in front, or alone (and
//! saying so) without Caddy.

use crate::cli::RunCommand;
use crate::commands::read_settings;
use crate::error::Error;
use crate::plan::{Alone, Plan, Purpose};
use crate::server;

pub(crate) fn run(command: RunCommand) -> Result<(), Error> {
    let purpose = match command.run.no_caddy {
        true => Purpose::Alone(Alone::NoCaddyFlag),
        false => Purpose::Run {
            may_ask_trust: !(command.yes || command.no_trust),
        },
    };
    server::start(Plan::resolve(read_settings(command.run), purpose)?)
}

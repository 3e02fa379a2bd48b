//! `portproxy serve`: the proxy alone, without Caddy in front.

use crate::cli::ServeCommand;
use crate::commands::read_settings;
use crate::error::Error;
use crate::plan::{Alone, Plan, Purpose};
use crate::server;

pub(crate) fn serve(command: ServeCommand) -> Result<(), Error> {
    let read = read_settings(command.serve.into());
    server::start(Plan::resolve(read, Purpose::Alone(Alone::Serve))?)
}

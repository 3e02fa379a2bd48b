//! `portproxy caddyfile`: the Caddyfile `run` would write, on stdout.

use crate::cli::RunArgs;
use crate::commands::read_settings;
use crate::error::Error;
use crate::plan::{Plan, Purpose};

pub(crate) fn caddyfile(args: RunArgs) -> Result<(), Error> {
    print!(
        "{}",
        Plan::resolve(read_settings(args), Purpose::Describe)?.caddyfile
    );
    Ok(())
}

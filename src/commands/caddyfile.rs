//! `portproxy caddyfile`: the Caddyfile `run` would write, on stdout.

use crate::caddy::{self, caddyfile, Paths};
use crate::cli::RunArgs;
use crate::commands::describe;
use crate::config::process_env;
use crate::error::Error;

pub fn caddyfile(args: RunArgs) -> Result<(), Error> {
    let paths = Paths::from_env(&process_env)?;
    let run = describe(args.settings(&process_env)?, &paths)?;
    print!(
        "{}",
        caddyfile::render(&caddy::front(&run.config, &paths, &run.admin))
    );
    Ok(())
}

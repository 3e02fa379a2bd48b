//! `portproxy serve`: the proxy alone, without Caddy in front.

use crate::cli::{RunArgs, ServeCommand};
use crate::config::{process_env, Config};
use crate::error::Error;
use crate::server::{self, Plan, Reloaded};
use crate::start::{self, Moment};

pub fn serve(command: ServeCommand) -> Result<(), Error> {
    proxy_alone(
        command.serve.into(),
        "`serve` is the proxy alone (`portproxy run` puts Caddy in front)".into(),
    )
}

/// The proxy alone, for `serve`, and for `run` without Caddy (`why` says which, in the banner).
pub fn proxy_alone(args: RunArgs, why: String) -> Result<(), Error> {
    let settings = args.settings(&process_env)?;
    let auth = start::in_force(&settings, Moment::Start)?;
    server::start(Plan {
        config: Config::new(settings, None, auth),
        caddy: None,
        alone: why,
        reload: Box::new(move |running| {
            let (config, moved_start_settings) = reload(&args, running)?;
            Ok(Reloaded {
                config,
                caddyfile: None,
                moved_start_settings,
            })
        }),
    })
}

/// The settings read afresh for a reload, keeping what is fixed while portproxy runs (and
/// Caddy's ports as they are); true if the new ones had tried to move it.
pub fn reload(args: &RunArgs, running: &Config) -> Result<(Config, bool), Error> {
    let mut settings = args.settings(&process_env)?;
    let moved = settings.keep_start_settings(&running.settings);
    let auth = start::in_force(&settings, Moment::Reload)?;
    Ok((Config::new(settings, running.front, auth), moved))
}

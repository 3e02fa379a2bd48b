//! `portproxy hosts [--sync | --remove]`: the hosts file's portproxy block, which makes the
//! names of the ports listening now resolve for every program where the system resolver
//! doesn't answer `*.localhost` (`doctor` says when). Changing the file needs root (or an
//! Administrator prompt): it is the user's explicit step, and `--remove` (or `portproxy
//! clean`) undoes it.

use crate::caddy::Paths;
use crate::cli::HostsArgs;
use crate::commands::describe;
use crate::config::{process_env, Config};
use crate::error::Error;
use crate::hosts::{self, Change};
use crate::port_links::PortLink;
use crate::ports;

pub fn hosts(args: HostsArgs) -> Result<(), Error> {
    let path = hosts::path();
    let error = |error| Error::Hosts {
        path: path.clone(),
        error,
    };
    if args.remove {
        match hosts::update(&path, None).map_err(error)? {
            Change::Written => eprintln!("removed portproxy's names from {}", path.display()),
            Change::Unchanged => eprintln!("{} has no portproxy names", path.display()),
        }
        return Ok(());
    }
    let settings = args.config.settings(&process_env)?;
    let config = describe(settings, &Paths::from_env(&process_env)?)?.config;
    let names = served(&config);
    if !args.sync {
        print!("{}", hosts::render(&names, "\n"));
        return Ok(());
    }
    let change = hosts::update(&path, Some(&names)).map_err(error)?;
    let list = if names.is_empty() {
        "no names (no port is listening)".to_string()
    } else {
        names.join(", ")
    };
    match change {
        Change::Written => eprintln!("{} now names {list}", path.display()),
        Change::Unchanged => eprintln!("{} already names {list}", path.display()),
    }
    Ok(())
}

/// The names of the ports listening now (portproxy's and Caddy's own left out), under each
/// local domain, and the local domains other than `localhost` itself.
pub fn served(config: &Config) -> Vec<String> {
    let (listening, holders) = ports::listening_and_holders();
    let names = crate::names::Table::default();
    let rows = PortLink::rows(
        config,
        &listening,
        &holders,
        &names,
        Default::default(),
        |_| String::new(),
    );
    let ports: Vec<u16> = rows.iter().map(|row| row.port).collect();
    hosts::names_for(&config.settings.domains, &ports)
}

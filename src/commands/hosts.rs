//! `portproxy hosts [--sync | --remove] [--resolver]`: the hosts file's portproxy block,
//! which makes the names of the ports and projects listening now resolve for every program
//! where the system resolver doesn't answer `*.localhost` (`doctor` says when), and on macOS
//! the resolver file that sends every `*.localhost` query to the running portproxy. Changing
//! either needs root (or an Administrator prompt): it is the user's explicit step, and a
//! running portproxy keeps the block in sync only after it; `--remove` (or `portproxy clean`)
//! undoes both.

use crate::cli::HostsArgs;
use crate::config::Config;
use crate::error::Error;
use crate::hosts::{self, Change};
use crate::paths::process_env;
use crate::plan::{Plan, Purpose};
use crate::ports;

pub(crate) fn hosts(args: HostsArgs) -> Result<(), Error> {
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
        if remove_resolver()? {
            eprintln!("removed {}", resolver_path().display());
        }
        return Ok(());
    }
    if args.resolver {
        install_resolver()?;
    }
    let settings = args.config.settings(&process_env)?;
    let config = Plan::resolve(Box::new(move || Ok(settings.clone())), Purpose::Describe)?.config;
    let names = served(&config);
    if !args.sync {
        if !args.resolver {
            print!("{}", hosts::render(&names, "\n"));
        }
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
    eprintln!(
        "a running portproxy keeps these names in sync from now on, where it may write the file; `portproxy hosts --remove` takes them out"
    );
    Ok(())
}

/// `/etc/resolver/localhost`.
fn resolver_path() -> std::path::PathBuf {
    std::path::Path::new(crate::dns::RESOLVER_DIR).join(crate::dns::ZONE)
}

/// Writes the resolver file (macOS only: elsewhere nothing reads /etc/resolver).
fn install_resolver() -> Result<(), Error> {
    if !cfg!(target_os = "macos") {
        return Err(Error::Usage {
            message: "--resolver is for macOS (its /etc/resolver files)".into(),
            help: "on Linux, `portproxy doctor` names the one step for every *.localhost name; `sudo portproxy hosts --sync` writes the names listening now".into(),
        });
    }
    let dir = std::path::Path::new(crate::dns::RESOLVER_DIR);
    let written =
        crate::dns::install_resolver(dir, crate::dns::LISTEN).map_err(|error| Error::Hosts {
            path: resolver_path(),
            error,
        })?;
    let path = resolver_path().display().to_string();
    match written {
        true => eprintln!(
            "{path} now sends *.localhost to portproxy on {}",
            crate::dns::LISTEN
        ),
        false => eprintln!(
            "{path} already sends *.localhost to portproxy on {}",
            crate::dns::LISTEN
        ),
    }
    eprintln!("every program resolves *.localhost while portproxy runs; `sudo portproxy hosts --remove` takes the file out");
    Ok(())
}

/// Takes out the resolver file portproxy wrote (macOS); whether there was one.
pub(crate) fn remove_resolver() -> Result<bool, Error> {
    if !cfg!(target_os = "macos") {
        return Ok(false);
    }
    crate::dns::remove_resolver(std::path::Path::new(crate::dns::RESOLVER_DIR)).map_err(|error| {
        Error::Hosts {
            path: resolver_path(),
            error,
        }
    })
}

/// The names of the ports listening now and of their projects (portproxy's and Caddy's own
/// left out), under each local domain, and the local domains other than `localhost` itself.
pub(crate) fn served(config: &Config) -> Vec<String> {
    let (listening, _, table) = ports::listening_and_names(&config.names, &config.policy.own_ports);
    hosts::served(config, &listening, &table)
}

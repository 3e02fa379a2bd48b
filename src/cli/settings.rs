//! The settings as flags: `--config`, and one flag per row of `config`'s table, for `run`,
//! `serve` and the commands that describe them.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches};

use crate::config::{self, Given, Group, Key, Shape};

/// `--config` alone, for commands that read the settings but take none of them as flags.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct ConfigArg {
    /// Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

impl ConfigArg {
    /// The settings of the config file and the environment.
    pub(crate) fn settings(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<config::Settings, config::ConfigError> {
        config::load(self.config.as_deref(), &Given::default(), env)
    }
}

/// `serve`'s settings: a config file, and flags for the proxy's settings.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct ServeArgs {
    /// Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) proxy: ProxyFlags,
}

/// `run`'s settings: the proxy's and Caddy's.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) serve: ServeArgs,

    #[command(flatten)]
    pub(crate) caddy: CaddyFlags,

    /// Don't start Caddy: serve the proxy alone, like `serve`.
    #[arg(long)]
    pub(crate) no_caddy: bool,
}

/// `run`: its settings, and how it talks while it runs.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct RunCommand {
    #[command(flatten)]
    pub(crate) run: RunArgs,

    /// Ask nothing: where the local CA is not trusted yet, print the command that trusts it.
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,

    /// Don't offer to trust the local CA (print the command instead).
    #[arg(long)]
    pub(crate) no_trust: bool,

    #[command(flatten)]
    pub(crate) output: Verbosity,
}

/// `serve`: its settings, and how it talks while it runs.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct ServeCommand {
    #[command(flatten)]
    pub(crate) serve: ServeArgs,

    #[command(flatten)]
    pub(crate) output: Verbosity,
}

/// `-v` for the commands that keep running (`run`, `serve`).
#[derive(Debug, Default, Clone, Copy, Args)]
pub(crate) struct Verbosity {
    /// Show access lines and Pingora's and Caddy's own logs; -vv adds debug detail
    /// (RUST_LOG, when set, decides instead).
    #[arg(short, long, action = ArgAction::Count)]
    pub(crate) verbose: u8,
}

impl RunArgs {
    /// The settings these flags, the environment and the config file make.
    pub(crate) fn settings(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<config::Settings, config::ConfigError> {
        let mut flags = self.serve.proxy.0.clone();
        flags.extend(self.caddy.0.iter().cloned());
        config::load(self.serve.config.as_deref(), &flags, env)
    }
}

impl From<ServeArgs> for RunArgs {
    fn from(serve: ServeArgs) -> RunArgs {
        RunArgs {
            serve,
            ..RunArgs::default()
        }
    }
}

/// The flags of the proxy's settings (`config`'s table, group Proxy).
#[derive(Debug, Default, Clone)]
pub(crate) struct ProxyFlags(pub(crate) Given);

/// The flags of Caddy's settings (`config`'s table, group Caddy).
#[derive(Debug, Default, Clone)]
pub(crate) struct CaddyFlags(pub(crate) Given);

/// Adds one flag per setting of `group`, from the table: help, value name, repeatable or not.
fn add_flags(mut command: clap::Command, group: Group) -> clap::Command {
    for &key in Key::ALL.iter().filter(|k| k.row().group == group) {
        let row = key.row();
        let help: Vec<&str> = row.help.iter().map(|line| line.trim()).collect();
        // As clap's derive writes one-sentence help: without the full stop.
        let help = help.join(" ");
        let arg = Arg::new(row.name)
            .long(row.flag)
            .help(help.strip_suffix('.').unwrap_or(&help).to_string());
        command = command.arg(match row.shape {
            Shape::One => arg.value_name(row.value).action(ArgAction::Set),
            Shape::List => arg.value_name(row.value).action(ArgAction::Append),
            Shape::Switch => arg.action(ArgAction::SetTrue),
        });
    }
    command
}

/// The values given for `group`'s flags, as typed.
fn given(matches: &ArgMatches, group: Group) -> Given {
    Key::ALL
        .iter()
        .filter(|k| k.row().group == group)
        .filter_map(|&key| {
            let name = key.row().name;
            let values: Vec<String> = match key.row().shape {
                Shape::Switch => matches
                    .get_flag(name)
                    .then(|| "true".to_string())
                    .into_iter()
                    .collect(),
                Shape::One | Shape::List => matches
                    .get_many::<String>(name)
                    .map(|v| v.cloned().collect())
                    .unwrap_or_default(),
            };
            (!values.is_empty()).then_some((key, values))
        })
        .collect()
}

macro_rules! settings_flags {
    ($flags:ident, $group:expr) => {
        impl FromArgMatches for $flags {
            fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
                Ok($flags(given(matches, $group)))
            }

            fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
                self.0 = given(matches, $group);
                Ok(())
            }
        }

        impl Args for $flags {
            fn augment_args(command: clap::Command) -> clap::Command {
                add_flags(command, $group)
            }

            fn augment_args_for_update(command: clap::Command) -> clap::Command {
                add_flags(command, $group)
            }
        }
    };
}

settings_flags!(ProxyFlags, Group::Proxy);
settings_flags!(CaddyFlags, Group::Caddy);

//! The command line as the user types it. The settings' flags come from `config`'s table,
//! which also validates them.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand};

use crate::config::{self, Given, Group, Key, Shape};

/// `portproxy --version`. The installers and self-update check the first line
/// (`portproxy X.Y.Z`); the others name the build and the Caddy the installers pin (build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ntarget ",
    env!("PORTPROXY_TARGET"),
    ", commit ",
    env!("PORTPROXY_COMMIT"),
    "\ncaddy ",
    env!("PORTPROXY_CADDY_PIN"),
    " (the installers'), ",
    env!("PORTPROXY_CADDY_MINIMUM"),
    " or newer works"
);

/// The exit statuses, as `--help` ends (docs/commands.md lists them too).
pub const EXIT_CODES: &str = "Exit status: 0 success; 1 `doctor` found problems; 2 usage, settings or start-up error (including a failed `self-update`, `trust`, `service install` or Caddy start); 3 `self-update --check` found a newer release; 4 no portproxy of this user is running (`ls`, `url`, `open`, `share`, `unshare`); 101 a bug (a panic: please report it)";

/// Every local port of a dev box at its own URL.
///
/// http://5173.localhost:24306/ reaches the dev server on port 5173;
/// http://localhost--8000.localhost:24306/ reaches port 8000.
#[derive(Debug, Parser)]
#[command(name = "portproxy", version = VERSION, about, long_about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The proxy with Caddy in front for HTTPS (the default command). Without Caddy on PATH
    /// it serves the proxy alone and says how to add HTTPS.
    Run(RunCommand),
    /// Run the proxy alone, without Caddy in front.
    Serve(ServeCommand),
    /// Print the Caddyfile that `run` would use.
    Caddyfile(RunArgs),
    /// Check Caddy, ports, DNS, the config and the local CA; say how to fix what is wrong.
    Doctor(DoctorArgs),
    /// Trust Caddy's local CA (system store, browsers' databases), so browsers accept
    /// https://*.localhost; --uninstall takes it out of every store again.
    Trust(TrustArgs),
    /// Print the exports that make Node and Python trust the local CA
    /// (`eval "$(portproxy env)"`).
    Env,
    /// Undo what portproxy did to this machine: trust, the login service, its state. Keeps
    /// the settings and the token unless --all.
    Clean(CleanArgs),
    /// The hosts file's portproxy block, so curl, Node, Python and Safari resolve the names of
    /// the ports and projects listening now: printed, written (--sync, needs root; a running
    /// portproxy then keeps it) or taken out (--remove). macOS: --resolver, every name.
    Hosts(HostsArgs),
    /// The dashboard's table in the terminal, from the running portproxy: ports, projects, processes, URLs.
    Ls(LsArgs),
    /// Print the URL of PORT or NAME as the running portproxy serves it (for scripts; exit 4 when none runs).
    Url(PortArgs),
    /// Open the URL of PORT or NAME in the browser (prints it where there is no browser).
    Open(PortArgs),
    /// Print the access token for public domains; --rotate makes a new one.
    Token(TokenArgs),
    /// List the signed-in sessions of public domains; --revoke KEY ends one (`all`: every one).
    Sessions(SessionsArgs),
    /// Share PORT through a link of its own that expires (and a QR code for phones); the
    /// link opens that port and nothing else. `--list` shows live shares, `--revoke ID|all`
    /// ends them.
    Share(ShareArgs),
    /// End every share of PORT (or NAME's port) and make it private again.
    Unshare {
        #[arg(value_name = "PORT|NAME", value_parser = port_or_name)]
        port: PortOrName,
    },
    /// Start `portproxy run` at login and restart it on failure (systemd user unit, launchd
    /// agent, Scheduled Task).
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
    /// Replace this binary with the newest release (or --version X), checksum-verified.
    SelfUpdate(SelfUpdateArgs),
    /// Print the shell completion script for SHELL (bash, zsh, fish, powershell, elvish), e.g.
    /// `portproxy completions bash > ~/.local/share/bash-completion/completions/portproxy`.
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `portproxy man | man -l -`.
    #[command(hide = true)]
    Man,
}

/// `url` and `open`: a port (the running portproxy says where it serves it).
#[derive(Debug, Clone, Args)]
pub struct PortArgs {
    /// The dev server's port (5173) or name (shop-web, feature-login.shop-web).
    #[arg(value_name = "PORT|NAME", value_parser = port_or_name)]
    pub port: PortOrName,
}

#[derive(Debug, Clone, Args)]
pub struct ShareArgs {
    /// The port to share (5173), or a name (shop-web): the link opens the port the name has now.
    #[arg(value_name = "PORT|NAME", value_parser = port_or_name, required_unless_present_any = ["list", "revoke"])]
    pub port: Option<PortOrName>,
    /// How long the link works: 30m, 2h, 1h30m, 1d (at most 30d).
    #[arg(long = "for", value_name = "DURATION", value_parser = crate::share::duration::parse_for, default_value = "1h")]
    pub duration: std::time::Duration,
    /// Listen on this machine's LAN addresses (plain HTTP), for a phone on the same network.
    #[arg(long)]
    pub lan: bool,
    /// Publish the link through a tunnel tool you have: cloudflared (a quick tunnel, no
    /// account), tailscale (`serve`: your tailnet; with --public, `funnel`: the internet) or ngrok.
    #[arg(long, value_name = "TOOL", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<crate::share::Via>()))]
    pub via: Option<crate::share::Via>,
    /// Without --via: make the port public on public domains (no sign-in) for --for; with
    /// --via tailscale: `tailscale funnel` rather than `serve`.
    #[arg(long)]
    pub public: bool,
    /// Show the live shares: target, who can use each, time left, uses.
    #[arg(long, conflicts_with_all = ["port", "revoke", "lan", "via", "public"])]
    pub list: bool,
    /// End one share (its ID from --list), or `all`.
    #[arg(long, value_name = "ID|all", conflicts_with_all = ["port", "lan", "via", "public"])]
    pub revoke: Option<String>,
}

/// What `url`, `open`, `share` and `unshare` were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortOrName {
    Port(u16),
    Name(String),
}

fn port_or_name(text: &str) -> Result<PortOrName, String> {
    let text = text.trim().to_ascii_lowercase();
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return crate::route::parse_port(&text)
            .map(PortOrName::Port)
            .map_err(|e| e.to_string());
    }
    let labels: Vec<&str> = text.split('.').collect();
    if labels.len() <= 2 && labels.iter().all(|l| crate::names::is_name(l)) {
        Ok(PortOrName::Name(text))
    } else {
        Err(format!(
            "`{text}` is neither a port (1-65535) nor a name (shop-web, feature-login.shop-web)"
        ))
    }
}

/// `doctor`'s flags.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// One JSON object on stdout (`problems`, and `checks` with `status` ok/warn/fail,
    /// `check`, `fix`), for scripts; the exit status is the same.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// `hosts`' flags.
#[derive(Debug, Clone, Args)]
pub struct HostsArgs {
    /// Write the block into the hosts file (needs root or an Administrator prompt).
    #[arg(long, conflicts_with = "remove")]
    pub sync: bool,
    /// Take the block out of the hosts file (and, on macOS, the resolver file).
    #[arg(long)]
    pub remove: bool,
    /// macOS: write /etc/resolver/localhost (needs root), so every program asks the running
    /// portproxy for every *.localhost name.
    #[arg(long, conflicts_with = "remove")]
    pub resolver: bool,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// `--config` alone, for commands that read the settings but take none of them as flags.
#[derive(Debug, Default, Clone, Args)]
pub struct ConfigArg {
    /// Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigArg {
    /// The settings of the config file and the environment.
    pub fn settings(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<config::Settings, config::ConfigError> {
        config::load(self.config.as_deref(), &Given::default(), env)
    }
}

/// What `service` does.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum ServiceAction {
    /// Register `portproxy run` to start at login (and start it now where possible).
    Install,
    /// Stop it and remove the registration.
    Uninstall,
    /// Say whether it is installed and where its logs go.
    Status,
}

/// `ls`'s flags.
#[derive(Debug, Clone, Args)]
pub struct LsArgs {
    /// One JSON object, as the dashboard's `/api/ports` has it.
    #[arg(long)]
    pub json: bool,
}

/// `token`'s flags.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Replace the generated token with a new one and end every session; a running
    /// portproxy takes the new token when it reloads (SIGHUP) or restarts.
    #[arg(long)]
    pub rotate: bool,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// `sessions`' flags.
#[derive(Debug, Clone, Args)]
pub struct SessionsArgs {
    /// End the session whose key starts with KEY (as listed), or `all` of them; a running
    /// portproxy refuses it within a second.
    #[arg(long, value_name = "KEY")]
    pub revoke: Option<String>,
}

/// `trust`'s flags.
#[derive(Debug, Default, Clone, Args)]
pub struct TrustArgs {
    /// Take the CA out of every store `trust` put it in.
    #[arg(long)]
    pub uninstall: bool,
}

/// `clean`'s flags.
#[derive(Debug, Default, Clone, Args)]
pub struct CleanArgs {
    /// Remove the settings and the access token too.
    #[arg(long)]
    pub all: bool,
}

/// `self-update`'s flags.
#[derive(Debug, Default, Clone, Args)]
pub struct SelfUpdateArgs {
    /// Only say whether a newer release exists; change nothing.
    #[arg(long)]
    pub check: bool,

    /// Don't ask before replacing the binary.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Install this release (e.g. 0.2.0), even if it is older than this one.
    #[arg(long, value_name = "X.Y.Z")]
    pub version: Option<String>,
}

/// `serve`'s settings: a config file, and flags for the proxy's settings.
#[derive(Debug, Default, Clone, Args)]
pub struct ServeArgs {
    /// Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub proxy: ProxyFlags,
}

/// `run`'s settings: the proxy's and Caddy's.
#[derive(Debug, Default, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(flatten)]
    pub caddy: CaddyFlags,

    /// Don't start Caddy: serve the proxy alone, like `serve`.
    #[arg(long)]
    pub no_caddy: bool,
}

/// `run`: its settings, and how it talks while it runs.
#[derive(Debug, Default, Clone, Args)]
pub struct RunCommand {
    #[command(flatten)]
    pub run: RunArgs,

    /// Ask nothing: where the local CA is not trusted yet, print the command that trusts it.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Don't offer to trust the local CA (print the command instead).
    #[arg(long)]
    pub no_trust: bool,

    #[command(flatten)]
    pub output: Verbosity,
}

/// `serve`: its settings, and how it talks while it runs.
#[derive(Debug, Default, Clone, Args)]
pub struct ServeCommand {
    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(flatten)]
    pub output: Verbosity,
}

/// `-v` for the commands that keep running (`run`, `serve`).
#[derive(Debug, Default, Clone, Copy, Args)]
pub struct Verbosity {
    /// Show access lines and Pingora's and Caddy's own logs; -vv adds debug detail
    /// (RUST_LOG, when set, decides instead).
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

impl RunArgs {
    /// The settings these flags, the environment and the config file make.
    pub fn settings(
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
pub struct ProxyFlags(pub Given);

/// The flags of Caddy's settings (`config`'s table, group Caddy).
#[derive(Debug, Default, Clone)]
pub struct CaddyFlags(pub Given);

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

//! The command line as the user types it. The settings' flags come from `config`'s table,
//! which also validates them.

mod access;
mod machine;
mod ports;
mod settings;

use clap::{Parser, Subcommand};

pub(crate) use access::{SessionsArgs, ShareArgs, TokenArgs};
pub(crate) use machine::{
    CleanArgs, DoctorArgs, HostsArgs, SelfUpdateArgs, ServiceAction, TrustArgs,
};
use ports::port_or_name;
pub(crate) use ports::{LsArgs, PortArgs, PortOrName};
pub(crate) use settings::{ConfigArg, RunArgs, RunCommand, ServeCommand};

/// `portproxy --version`. The installers and self-update check the first line
/// (`portproxy X.Y.Z`); the others name the build and the Caddy the installers pin (build.rs).
pub(crate) const VERSION: &str = concat!(
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
pub(crate) const EXIT_CODES: &str = "Exit status: 0 success; 1 `doctor` found problems; 2 usage, settings or start-up error (including a failed `self-update`, `trust`, `service install` or Caddy start); 3 `self-update --check` found a newer release; 4 no portproxy of this user is running (`ls`, `url`, `open`, `share`, `unshare`); 101 a bug (a panic: please report it)";

/// Every local port of a dev box at its own URL.
///
/// http://5173.localhost:24306/ reaches the dev server on port 5173;
/// http://localhost--8000.localhost:24306/ reaches port 8000.
#[derive(Debug, Parser)]
#[command(name = "portproxy", version = VERSION, about, long_about, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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

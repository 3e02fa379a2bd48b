//! The command line as the user types it. Validation happens in `config`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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

/// The exit statuses, as `--help` ends (the README lists them too).
pub const EXIT_CODES: &str = "Exit status: 0 success; 1 `doctor` found problems; 2 usage, settings or start-up error (including a failed `self-update`, `trust` or Caddy start); 3 `self-update --check` found a newer release; 101 a bug (a panic: please report it)";

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
    Run(RunArgs),
    /// Run the proxy alone, without Caddy in front.
    Serve(Settings),
    /// Print the Caddyfile that `run` would use.
    Caddyfile(RunArgs),
    /// Check Caddy, ports, DNS, the config and the local CA; say how to fix what is wrong.
    Doctor(DoctorArgs),
    /// Install Caddy's local CA into the system trust store, so browsers trust https://*.localhost.
    Trust(RunArgs),
    /// The dashboard's table in the terminal: listening ports, projects, processes, URLs.
    Ls(LsArgs),
    /// Print the URL of PORT as `portproxy` serves it (for scripts).
    Url(PortArgs),
    /// Open PORT's URL in the browser (prints it where there is no browser).
    Open(PortArgs),
    /// Print the access token for public domains; --rotate makes a new one.
    Token(TokenArgs),
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

/// `url` and `open`: a port, and the settings that say where it is served.
#[derive(Debug, Clone, Args)]
pub struct PortArgs {
    /// The port of the dev server, e.g. 5173.
    #[arg(value_name = "PORT")]
    pub port: String,
    #[command(flatten)]
    pub run: RunArgs,
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
    #[command(flatten)]
    pub run: RunArgs,
}

/// `token`'s flags.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Replace the generated token with a new one: every session ends once a running
    /// portproxy reloads (SIGHUP) or restarts.
    #[arg(long)]
    pub rotate: bool,
    #[command(flatten)]
    pub run: RunArgs,
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

/// `run`'s settings: the proxy's and Caddy's.
#[derive(Debug, Default, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub settings: Settings,
    #[command(flatten)]
    pub caddy: CaddyFlags,
}

/// Settings for Caddy in front.
#[derive(Debug, Default, Clone, Args)]
pub struct CaddyFlags {
    /// Port Caddy serves plain HTTP on (it redirects to HTTPS) [default: 80].
    #[arg(long, value_name = "PORT")]
    pub http_port: Option<String>,

    /// Port Caddy serves HTTPS on [default: 443].
    #[arg(long, value_name = "PORT")]
    pub https_port: Option<String>,

    /// The Caddy binary [default: `caddy` on PATH].
    #[arg(long, value_name = "PATH")]
    pub caddy: Option<String>,

    /// Certificates for public domains: `on-demand` (one per name, gated by /caddy/ask),
    /// `dns:PROVIDER` (one wildcard via the DNS challenge; token in PORTPROXY_DNS_TOKEN) or
    /// `internal` (Caddy's local CA, for LAN and tailnet names) [default: on-demand].
    #[arg(long, value_name = "MODE")]
    pub tls: Option<String>,

    /// Don't start Caddy: serve the proxy alone, like `serve`.
    #[arg(long)]
    pub no_caddy: bool,
}

/// Settings shared by `run` and `serve`. Priority: defaults < config file < PORTPROXY_* < flags.
#[derive(Debug, Default, Clone, Args)]
pub struct Settings {
    /// Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address the proxy listens on [default: 127.0.0.1:24306].
    #[arg(long, value_name = "IP:PORT")]
    pub listen: Option<String>,

    /// Loopback address of the admin listener (/healthz, /metrics, /caddy/ask) [default: 127.0.0.1:24307].
    #[arg(long, value_name = "IP:PORT")]
    pub admin: Option<String>,

    /// Base domain whose subdomains name ports; repeatable [default: localhost].
    #[arg(long = "domain", value_name = "NAME")]
    pub domains: Vec<String>,

    /// Allow a non-loopback target: a name, *.suffix, an IP or a CIDR; repeatable.
    #[arg(long = "allow-host", value_name = "RULE")]
    pub allow_hosts: Vec<String>,

    /// Refuse a port or range (e.g. 9000-9100); repeatable; replaces the default list; `none` clears it
    /// [default: 22, 2019, 2375-2376, 9222, 9229-9230].
    #[arg(long = "deny-port", value_name = "PORTS")]
    pub deny_ports: Vec<String>,

    /// Pass Host, Origin, Referer, Location and cookies through unchanged, for every port.
    #[arg(long)]
    pub preserve_host: bool,

    /// Pass the Host through unchanged for this port only; repeatable.
    #[arg(long = "preserve-host-port", value_name = "PORT")]
    pub preserve_host_ports: Vec<String>,

    /// Worker threads [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub threads: Option<String>,

    /// The access token for public domains (at least 16 characters) [default: generated on
    /// first run and stored in the config directory].
    #[arg(long, value_name = "TOKEN")]
    pub auth_token: Option<String>,

    /// Serve public domains without authentication (logged as a warning at every start).
    #[arg(long)]
    pub no_auth: bool,

    /// A port anyone may reach on public domains, without signing in (webhooks, demos); repeatable.
    #[arg(long = "public-port", value_name = "PORT")]
    pub public_ports: Vec<String>,
}

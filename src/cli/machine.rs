//! The flags of the commands that check or change this machine: `doctor`, `hosts`, `trust`,
//! `clean`, `service` and `self-update`.

use clap::{Args, Subcommand};

use super::{ConfigArg, RunArgs};

/// `doctor`'s flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct DoctorArgs {
    /// One JSON object on stdout (`problems`, and `checks` with `status` ok/warn/fail,
    /// `check`, `fix`), for scripts; the exit status is the same.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

/// `hosts`' flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct HostsArgs {
    /// Write the block into the hosts file (needs root or an Administrator prompt).
    #[arg(long, conflicts_with = "remove")]
    pub(crate) sync: bool,
    /// Take the block out of the hosts file (and, on macOS, the resolver file).
    #[arg(long)]
    pub(crate) remove: bool,
    /// macOS: write /etc/resolver/localhost (needs root), so every program asks the running
    /// portproxy for every *.localhost name.
    #[arg(long, conflicts_with = "remove")]
    pub(crate) resolver: bool,
    #[command(flatten)]
    pub(crate) config: ConfigArg,
}

/// `trust`'s flags.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct TrustArgs {
    /// Take the CA out of every store `trust` put it in.
    #[arg(long)]
    pub(crate) uninstall: bool,
}

/// `clean`'s flags.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct CleanArgs {
    /// Remove the settings and the access token too.
    #[arg(long)]
    pub(crate) all: bool,
}

/// What `service` does.
#[derive(Debug, Clone, Copy, Subcommand)]
pub(crate) enum ServiceAction {
    /// Register `portproxy run` to start at login (and start it now where possible).
    Install,
    /// Stop it and remove the registration.
    Uninstall,
    /// Say whether it is installed and where its logs go.
    Status,
}

/// `self-update`'s flags.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct SelfUpdateArgs {
    /// Only say whether a newer release exists; change nothing.
    #[arg(long)]
    pub(crate) check: bool,

    /// Don't ask before replacing the binary.
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,

    /// Install this release (e.g. 0.2.0), even if it is older than this one.
    #[arg(long, value_name = "X.Y.Z")]
    pub(crate) version: Option<String>,
}

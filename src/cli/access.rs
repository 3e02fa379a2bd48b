//! Reaching a port from elsewhere: share links, and the public domains' token and sessions.

use clap::Args;

use super::ports::{port_or_name, PortOrName};
use super::ConfigArg;

/// `share`'s flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct ShareArgs {
    /// The port to share (5173), or a name (shop-web): the link opens the port the name has now.
    #[arg(value_name = "PORT|NAME", value_parser = port_or_name, required_unless_present_any = ["list", "revoke"])]
    pub(crate) port: Option<PortOrName>,
    /// How long the link works: 30m, 2h, 1h30m, 1d (at most 30d).
    #[arg(long = "for", value_name = "DURATION", value_parser = crate::share::duration::parse_for, default_value = "1h")]
    pub(crate) duration: std::time::Duration,
    /// Listen on this machine's LAN addresses (plain HTTP), for a phone on the same network.
    #[arg(long)]
    pub(crate) lan: bool,
    /// Publish the link through a tunnel tool you have: cloudflared (a quick tunnel, no
    /// account), tailscale (`serve`: your tailnet; with --public, `funnel`: the internet) or ngrok.
    #[arg(long, value_name = "TOOL", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<crate::share::Via>()))]
    pub(crate) via: Option<crate::share::Via>,
    /// Without --via: make the port public on public domains (no sign-in) for --for; with
    /// --via tailscale: `tailscale funnel` rather than `serve`.
    #[arg(long)]
    pub(crate) public: bool,
    /// Show the live shares: target, who can use each, time left, uses.
    #[arg(long, conflicts_with_all = ["port", "revoke", "lan", "via", "public"])]
    pub(crate) list: bool,
    /// End one share (its ID from --list), or `all`.
    #[arg(long, value_name = "ID|all", conflicts_with_all = ["port", "lan", "via", "public"])]
    pub(crate) revoke: Option<String>,
}

/// `token`'s flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct TokenArgs {
    /// Replace the generated token with a new one and end every session; a running
    /// portproxy takes the new token when it reloads (SIGHUP) or restarts.
    #[arg(long)]
    pub(crate) rotate: bool,
    #[command(flatten)]
    pub(crate) config: ConfigArg,
}

/// `sessions`' flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct SessionsArgs {
    /// End the session whose key starts with KEY (as listed), or `all` of them; a running
    /// portproxy refuses it within a second.
    #[arg(long, value_name = "KEY")]
    pub(crate) revoke: Option<String>,
}

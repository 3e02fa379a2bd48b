//! The running portproxy's ports: `ls`, and PORT|NAME as `url`, `open`, `share` and
//! `unshare` take it.

use clap::Args;

/// `url` and `open`: a port (the running portproxy says where it serves it).
#[derive(Debug, Clone, Args)]
pub(crate) struct PortArgs {
    /// The dev server's port (5173) or name (shop-web, feature-login.shop-web).
    #[arg(value_name = "PORT|NAME", value_parser = port_or_name)]
    pub(crate) port: PortOrName,
}

/// What `url`, `open`, `share` and `unshare` were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PortOrName {
    Port(u16),
    Name(String),
}

pub(super) fn port_or_name(text: &str) -> Result<PortOrName, String> {
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

/// `ls`'s flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct LsArgs {
    /// One JSON object, as the dashboard's `/api/ports` has it.
    #[arg(long)]
    pub(crate) json: bool,
}

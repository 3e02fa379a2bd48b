//! The port rows the dashboard, `/api/ports`, the 502 page and `portproxy ls` show: the
//! model only; `proxy/pages/dashboard.rs` renders it as HTML, and serde as JSON.

use std::collections::HashMap;

use serde::Serialize;

use crate::config::Config;
use crate::names::Table;
use crate::policy;
use crate::ports::Holder;
use crate::route::Target;
use crate::share::Visibility;

/// A listening port as the dashboard and the 502 page show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PortLink {
    pub(crate) port: u16,
    pub(crate) url: String,
    /// The name that reaches it (`shop-web`), see `names`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    /// `https://shop-web.localhost/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name_url: Option<String>,
    /// Another project claims the same name: the name answers a page listing both.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) clash: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) label: Option<String>,
    /// Why this port would be refused, if it would.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refused: Option<String>,
    /// Reachable without signing in (`public_ports`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) public: bool,
    /// Where anyone opens it while it is public: on the first public domain, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) public_url: Option<String>,
    /// The process listening on it, where this user may see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) process: Option<Holder>,
    /// The `<title>` of the last HTML page proxied from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) title: Option<String>,
    /// Who may open it now: private, shared (live share links) or public.
    pub(crate) visibility: Visibility,
}

impl PortLink {
    /// The rows the dashboard, `/api/ports` and `portproxy ls` show: every listening port but
    /// portproxy's and Caddy's own, with its label, process and title, whether it is public
    /// and why it would be refused, and its name; `url` is the link for a port or a name.
    pub(crate) fn rows(
        config: &Config,
        listening: &[u16],
        holders: &HashMap<u16, Holder>,
        names: &Table,
        mut titles: HashMap<u16, String>,
        url: impl Fn(&str) -> String,
    ) -> Vec<PortLink> {
        let settings = &config.settings;
        listening
            .iter()
            .copied()
            .filter(|port| !config.policy.own_ports.contains(port))
            .map(|port| {
                let public =
                    policy::rules::is_public(&settings.public_ports, &Target::Localhost, port);
                let name = names.name_of(port);
                PortLink {
                    port,
                    url: url(&port.to_string()),
                    name: name.map(|(name, _)| name.to_string()),
                    name_url: name.map(|(name, _)| url(name)),
                    clash: name.is_some_and(|(_, clash)| clash),
                    label: settings.labels.get(&port).cloned(),
                    refused: config
                        .policy
                        .check(&Target::Localhost, port)
                        .err()
                        .map(|r| r.to_string()),
                    public,
                    public_url: None,
                    process: holders.get(&port).cloned(),
                    title: titles.remove(&port),
                    visibility: match public {
                        true => Visibility::Public,
                        false => Visibility::Private,
                    },
                }
            })
            .collect()
    }
}

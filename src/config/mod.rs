//! The settings (`settings`: one table of every setting; `load`: defaults < config file <
//! `PORTPROXY_*` environment < flags, each value validated once, before anything binds) and
//! what portproxy derives from them (`Config::new`).

mod load;
mod parse;
mod settings;

pub(crate) use load::{default_file, load, ConfigError, Given};
pub(crate) use parse::TlsChoice;
pub(crate) use settings::{Group, Key, Settings, Shape, Source};

use crate::auth::Auth;
use crate::policy::Policy;

/// The settings and what portproxy derives from them, built only by `Config::new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    pub(crate) settings: Settings,
    /// Where requests may go: the settings' rules, plus portproxy's own ports (the proxy's,
    /// the admin listener's and Caddy's), which are never a target.
    pub(crate) policy: Policy,
    /// Caddy in front (`run`), with the ports it really binds.
    pub(crate) caddy_in_front: Option<CaddyPorts>,
    /// The token public domains need; None where no domain needs one, or with `no_auth`.
    pub(crate) auth: Option<Auth>,
    /// What names ports: `names`, `labels` and `[names]`.
    pub(crate) names: crate::names::Rules,
}

/// The ports Caddy binds in front of the proxy: the settings', or the unprivileged fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CaddyPorts {
    pub(crate) http_port: u16,
    pub(crate) https_port: u16,
    /// Caddy's admin API, where it is a TCP port (Windows) rather than a socket file.
    pub(crate) admin_port: Option<u16>,
    /// Where Caddy reaches the proxy over TCP (no Unix sockets): a secret of this run that it
    /// sends in `FRONT_HEADER`, so the proxy tells it from any other local process.
    pub(crate) secret: Option<u128>,
}

/// The header in which Caddy proves it is the front `run` started (see `CaddyPorts::secret`).
pub(crate) const FRONT_HEADER: &str = "x-portproxy-front";

impl CaddyPorts {
    /// The secret as Caddy sends it.
    pub(crate) fn secret_text(&self) -> Option<String> {
        self.secret.map(|s| format!("{s:032x}"))
    }
}

impl Config {
    pub(crate) fn new(
        settings: Settings,
        caddy_in_front: Option<CaddyPorts>,
        auth: Option<Auth>,
    ) -> Config {
        let mut own = vec![settings.listen.port(), settings.admin.port()];
        if let Some(caddy) = caddy_in_front {
            own.extend([caddy.http_port, caddy.https_port]);
            own.extend(caddy.admin_port);
        }
        own.sort_unstable();
        own.dedup();
        let policy = Policy {
            allow_hosts: settings.allow_hosts.clone(),
            deny_ports: settings.deny_ports.clone(),
            own_ports: own,
        };
        let names = crate::names::Rules {
            learn: settings.names,
            labels: settings.labels.clone(),
            pins: settings.name_pins.clone(),
        };
        Config {
            settings,
            policy,
            caddy_in_front,
            auth,
            names,
        }
    }

    /// Where users reach `domain` (`sub.domain` when given) on this setup: HTTPS through
    /// Caddy on the port it listens on (no port for 443), else the proxy's own HTTP on its
    /// listen port. The one place the URLs users get are made: `run`'s start lines, `url`, `ls`.
    pub(crate) fn served_origin(&self, sub: Option<&str>, domain: &str) -> String {
        let host = match sub {
            Some(sub) => format!("{sub}.{domain}"),
            None => domain.to_string(),
        };
        match self.caddy_in_front {
            Some(caddy) if caddy.https_port == 443 => format!("https://{host}"),
            Some(caddy) => format!("https://{host}:{}", caddy.https_port),
            None => format!("http://{host}:{}", self.settings.listen.port()),
        }
    }

    /// The URL of a port or a name (`5173`, `shop-web`) under the first domain, as this setup
    /// serves it.
    pub(crate) fn served_url(&self, label: &str) -> String {
        let domain = &self.settings.domains[0];
        format!("{}/", self.served_origin(Some(label), domain))
    }

    /// Caddy's ports: the ones it binds in front, else the settings'.
    pub(crate) fn caddy_ports(&self) -> CaddyPorts {
        self.caddy_in_front.unwrap_or(CaddyPorts {
            http_port: self.settings.http_port,
            https_port: self.settings.https_port,
            admin_port: None,
            secret: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_own_ports_include_caddys() {
        let settings = Settings::default();
        let front = CaddyPorts {
            http_port: 8080,
            https_port: 8443,
            admin_port: Some(2999),
            secret: None,
        };
        let config = Config::new(settings, Some(front), None);
        assert_eq!(config.policy.own_ports, [2999, 8080, 8443, 24306, 24307]);
    }
}

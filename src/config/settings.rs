//! Every setting in one table (`settings!` below): its key, flag, environment variable,
//! parser, default and help, and the `Settings` they make.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::parse::*;
use crate::policy::rules::{AllowRule, Cidr, PortRange, PublicPort};
use crate::policy::DEFAULT_DENY_PORTS;
use crate::route;

/// One row per setting. A new setting is one row here: the `Settings` field, its flag (in
/// `Group`'s command-line section), its `PORTPROXY_NAME` variable and its config-file key all
/// come from it. `parse` turns the values given (one, or several for a list) into the field.
macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])+
        $key:ident => $field:ident: $ty:ty = $default:expr;
            $group:ident $shape:ident, flag $flag:literal $value:literal,
            parse $parse:expr, expects $expects:literal;
    )+) => {
        /// A setting, named the same everywhere.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Key {
            $($key),+
        }

        impl Key {
            pub(crate) const ALL: &'static [Key] = &[$(Key::$key),+];

            pub(crate) fn row(self) -> &'static Row {
                match self {
                    $(Key::$key => &Row {
                        name: stringify!($field),
                        flag: $flag,
                        value: $value,
                        help: &[$($doc),+],
                        expects: $expects,
                        group: Group::$group,
                        shape: Shape::$shape,
                    },)+
                }
            }
        }

        /// What the user set (or the defaults), typed, with where each value came from.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(crate) struct Settings {
            $($(#[doc = $doc])+ pub(crate) $field: $ty,)+
            /// The config file that was read, if any.
            pub(crate) file: Option<PathBuf>,
            origins: Vec<Source>,
        }

        impl Default for Settings {
            fn default() -> Self {
                Settings {
                    $($field: $default,)+
                    file: None,
                    origins: vec![Source::Default; Key::ALL.len()],
                }
            }
        }

        impl Settings {
            /// Sets `key` from the values given; Err holds the value that was refused.
            fn parse(&mut self, key: Key, values: &[String]) -> Result<(), String> {
                match key {
                    $(Key::$key => self.$field = ($parse)(values)?,)+
                }
                Ok(())
            }
        }
    };
}

settings! {
    /// Address the proxy listens on [default: 127.0.0.1:24306].
    Listen => listen: SocketAddr = addr("127.0.0.1:24306");
        Proxy One, flag "listen" "IP:PORT", parse one(parse_addr),
        expects "IP:PORT with a port from 1 to 65535, e.g. 127.0.0.1:24306";
    /// Loopback address of the admin listener (/healthz, /metrics, /caddy/ask) [default: 127.0.0.1:24307].
    Admin => admin: SocketAddr = addr("127.0.0.1:24307");
        Proxy One, flag "admin" "IP:PORT", parse one(parse_loopback_addr),
        expects "IP:PORT on loopback with a port from 1 to 65535, e.g. 127.0.0.1:24307";
    /// Base domain whose subdomains name ports; repeatable [default: localhost].
    Domains => domains: Vec<String> = vec!["localhost".into()];
        Proxy List, flag "domain" "NAME", parse domains,
        expects "a host name such as localhost or dev.example.com";
    /// Allow a non-loopback target: a name, *.suffix, an IP or a CIDR; repeatable.
    AllowHosts => allow_hosts: Vec<AllowRule> = Vec::new();
        Proxy List, flag "allow-host" "RULE", parse list(|v| v.parse().ok()),
        expects "a host name (db.internal), a wildcard (*.corp.example), an IP or a CIDR (10.0.0.0/8)";
    /// Refuse a port or range (e.g. 9000-9100); repeatable; replaces the default list; `none` clears it
    /// [default: 22, 2019, 2375-2376, 9222, 9229-9230].
    DenyPorts => deny_ports: Vec<PortRange> = DEFAULT_DENY_PORTS.to_vec();
        Proxy List, flag "deny-port" "PORTS", parse deny_ports,
        expects "a port (22), a range (2375-2376) or `none`";
    /// Pass Host, Origin, Referer, Location and cookies through unchanged, for every port.
    PreserveHost => preserve_host: bool = false;
        Proxy Switch, flag "preserve-host" "", parse one(parse_bool),
        expects "true or false";
    /// Pass the Host through unchanged for this port only; repeatable.
    PreserveHostPorts => preserve_host_ports: Vec<u16> = Vec::new();
        Proxy List, flag "preserve-host-port" "PORT", parse list(parse_port),
        expects "a port from 1 to 65535";
    /// Worker threads [default: the number of CPUs].
    Threads => threads: usize = std::thread::available_parallelism().map_or(2, usize::from);
        Proxy One, flag "threads" "N", parse one(parse_threads),
        expects "a whole number from 1 to 1024";
    /// The access token for public domains (at least 16 characters); on the command line it
    /// shows in `ps` to every local user, so prefer the generated token file or the config file
    /// [default: generated on first run and stored in the config directory].
    AuthToken => auth_token: Option<String> = None;
        Proxy One, flag "auth-token" "TOKEN", parse some(parse_token),
        expects "at least 16 characters, no spaces";
    /// Serve public domains without authentication (logged as a warning at every start).
    NoAuth => no_auth: bool = false;
        Proxy Switch, flag "no-auth" "", parse one(parse_bool),
        expects "true or false";
    /// A port of this machine anyone may reach on public domains, without signing in
    /// (webhooks, demos); another host's port only as an exact HOST:PORT; repeatable.
    PublicPorts => public_ports: Vec<PublicPort> = Vec::new();
        Proxy List, flag "public-port" "PORT|HOST:PORT", parse list(|v| v.parse().ok()),
        expects "a port from 1 to 65535 (this machine's), or an exact HOST:PORT of an allowed host";
    /// A proxy of your own in front of portproxy whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed: an IP or a CIDR; repeatable. Anyone else's are not,
    /// so no local process speaks for the internet (Caddy under `run` needs no entry).
    TrustedProxies => trusted_proxies: Vec<Cidr> = Vec::new();
        Proxy List, flag "trusted-proxy" "CIDR", parse list(|v| v.parse().ok()),
        expects "an IP (127.0.0.1) or a CIDR (10.0.0.0/8)";
    /// A name for a port on the dashboard, e.g. 5173=web; repeatable (in the config file:
    /// a `[labels]` table, `5173 = "web"`).
    Labels => labels: BTreeMap<u16, String> = BTreeMap::new();
        Proxy List, flag "label" "PORT=NAME", parse labels,
        expects "PORT=NAME, e.g. 5173=web (in the config file: a [labels] table of 5173 = \"web\")";
    /// Give each port its project's name (`shop-web.localhost`, learned from its manifest, git
    /// work tree or directory); `false` leaves only labels as names [default: true].
    Names => names: bool = true;
        Proxy One, flag "names" "BOOL", parse one(parse_bool),
        expects "true or false";
    /// Pin a directory (and everything under it) to a name, for a project whose manifest says
    /// something else, e.g. ~/src/shop=shop; repeatable (in the config file: a `[names]` table
    /// of `"~/src/shop" = "shop"`).
    NamePins => name_pins: BTreeMap<PathBuf, String> = BTreeMap::new();
        Proxy List, flag "name" "DIR=NAME", parse name_pins,
        expects "DIR=NAME with a name of letters, digits and `-`, e.g. ~/src/shop=shop (in the config file: a [names] table of \"~/src/shop\" = \"shop\")";
    /// Log a line per request and per refusal (method, host, path, target, status, bytes,
    /// time); -v shows them too.
    AccessLog => access_log: bool = false;
        Proxy Switch, flag "access-log" "", parse one(parse_bool),
        expects "true or false";
    /// Port Caddy serves plain HTTP on (it redirects to HTTPS) [default: 80].
    HttpPort => http_port: u16 = 80;
        Caddy One, flag "http-port" "PORT", parse one(parse_port),
        expects "a port from 1 to 65535";
    /// Port Caddy serves HTTPS on [default: 443].
    HttpsPort => https_port: u16 = 443;
        Caddy One, flag "https-port" "PORT", parse one(parse_port),
        expects "a port from 1 to 65535";
    /// The Caddy binary [default: `caddy` on PATH].
    Caddy => caddy: Option<PathBuf> = None;
        Caddy One, flag "caddy" "PATH", parse some(parse_path),
        expects "the path of a Caddy binary";
    /// Certificates for public domains: `on-demand` (one per name, gated by /caddy/ask),
    /// `dns:PROVIDER` (one wildcard via the DNS challenge; token in PORTPROXY_DNS_TOKEN) or
    /// `internal` (Caddy's local CA, for LAN and tailnet names) [default: on-demand].
    Tls => tls: TlsChoice = TlsChoice::OnDemand;
        Caddy One, flag "tls" "MODE", parse one(parse_tls),
        expects "`on-demand`, `internal` or `dns:PROVIDER` (e.g. dns:cloudflare)";
}

/// How a setting is described: the table's row.
#[derive(Debug)]
pub(crate) struct Row {
    /// The config-file key; the environment variable is `PORTPROXY_` + it in capitals.
    pub(crate) name: &'static str,
    /// The flag without its dashes.
    pub(crate) flag: &'static str,
    /// The flag's value as `--help` shows it; empty for a switch.
    pub(crate) value: &'static str,
    pub(crate) help: &'static [&'static str],
    pub(crate) expects: &'static str,
    pub(crate) group: Group,
    pub(crate) shape: Shape,
}

/// Which commands take the flag: `Proxy` ones `serve` and `run`, `Caddy` ones only `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    Proxy,
    Caddy,
}

/// How many values a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    One,
    /// Repeatable flag, comma-separated variable, array in the file.
    List,
    /// A flag without a value; `true`/`false` in the variable and the file.
    Switch,
}

impl Key {
    pub(crate) fn name(self) -> &'static str {
        self.row().name
    }

    pub(crate) fn env(self) -> String {
        format!("PORTPROXY_{}", self.name().to_ascii_uppercase())
    }

    pub(super) fn named(name: &str) -> Option<Key> {
        Key::ALL.iter().copied().find(|k| k.name() == name)
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Default,
    File(PathBuf),
    Env,
    Flag,
}

impl Settings {
    pub(crate) fn origin(&self, key: Key) -> &Source {
        &self.origins[key as usize]
    }

    pub(crate) fn preserves_host(&self, port: u16) -> bool {
        self.preserve_host || self.preserve_host_ports.contains(&port)
    }

    /// The first domain that isn't local: one that needs TLS certificates and sign-in.
    pub(crate) fn public_domain(&self) -> Option<&str> {
        self.domains
            .iter()
            .map(String::as_str)
            .find(|d| !route::is_local(d))
    }

    /// Takes the settings that are fixed while portproxy runs from `running`: the addresses
    /// the proxy, the admin listener and Caddy are bound to, and the thread count. A reload
    /// that moved them would point Caddy (and the internet) at whatever listens there next.
    /// True if the new settings had tried to.
    pub(crate) fn keep_start_settings(&mut self, running: &Settings) -> bool {
        let fixed = |s: &Settings| (s.listen, s.admin, s.threads, s.http_port, s.https_port);
        let moved = fixed(self) != fixed(running);
        (
            self.listen,
            self.admin,
            self.threads,
            self.http_port,
            self.https_port,
        ) = fixed(running);
        moved
    }

    /// Sets `key` from the values given and remembers where they came from; Err holds the
    /// value that was refused.
    pub(super) fn set(
        &mut self,
        key: Key,
        values: &[String],
        source: &Source,
    ) -> Result<(), String> {
        self.parse(key, values)?;
        self.origins[key as usize] = source.clone();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_each_setting_once() {
        let mut seen = std::collections::HashSet::new();
        for &key in Key::ALL {
            let row = key.row();
            assert!(seen.insert(row.name), "{} twice", row.name);
            assert!(
                seen.insert(row.flag) || row.flag == row.name,
                "--{} twice",
                row.flag
            );
            assert_eq!(
                row.value.is_empty(),
                row.shape == Shape::Switch,
                "{}",
                row.name
            );
            assert!(!row.expects.is_empty() && !row.help.is_empty());
        }
    }
}

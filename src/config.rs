//! One `Config`, built from defaults < config file < `PORTPROXY_*` environment < flags and
//! validated once, before anything binds. A bad value names its key, its value, where it
//! came from and what is accepted.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::{CaddyFlags, Settings};
use crate::policy::{AllowRule, Policy, PortRange, DEFAULT_DENY_PORTS};
use crate::route;

/// The validated settings of a running portproxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub listen: SocketAddr,
    pub admin: SocketAddr,
    pub domains: Vec<String>,
    pub policy: Policy,
    pub preserve_host: bool,
    pub preserve_host_ports: Vec<u16>,
    /// Names for ports on the dashboard (`[labels] 5173 = "web"`).
    pub labels: BTreeMap<u16, String>,
    pub threads: usize,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    /// Caddy in front (`run`).
    pub front: FrontSettings,
    /// A token set in the settings (else one is generated and stored).
    pub auth_token: Option<String>,
    pub no_auth: bool,
    /// Ports reachable on public domains without signing in.
    pub public_ports: Vec<u16>,
    /// The token in force, once resolved at start; None where no domain needs it.
    pub auth: Option<crate::auth::Auth>,
}

/// How `run` puts Caddy in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontSettings {
    pub http_port: u16,
    pub https_port: u16,
    /// The user set `http_port` or `https_port` (flag, environment or file): no fallback.
    pub ports_set: bool,
    /// An explicit Caddy binary; None means `caddy` on PATH.
    pub caddy: Option<PathBuf>,
    pub tls: TlsChoice,
}

/// Where public domains get certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsChoice {
    OnDemand,
    /// Caddy's own CA for every domain: LAN and tailnet names that can't get public certificates.
    Internal,
    Dns {
        provider: String,
    },
}

impl Config {
    pub fn preserves_host(&self, port: u16) -> bool {
        self.preserve_host || self.preserve_host_ports.contains(&port)
    }

    /// Takes the settings that are fixed while portproxy runs from `running`: the addresses
    /// the proxy, the admin listener and Caddy are bound to, and the thread count. A reload
    /// that moved them would point Caddy (and the internet) at whatever listens there next.
    /// True if the new settings had tried to.
    pub fn keep_start_settings(&mut self, running: &Config) -> bool {
        let fixed = |c: &Config| {
            (
                c.listen,
                c.admin,
                c.threads,
                c.front.http_port,
                c.front.https_port,
            )
        };
        let moved = fixed(self) != fixed(running);
        self.listen = running.listen;
        self.admin = running.admin;
        self.threads = running.threads;
        self.front.http_port = running.front.http_port;
        self.front.https_port = running.front.https_port;
        self.policy.own_ports = running.policy.own_ports.clone();
        moved
    }
}

/// The settings a user can set, each with one name everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Listen,
    Admin,
    Domains,
    AllowHosts,
    DenyPorts,
    PreserveHost,
    PreserveHostPorts,
    Threads,
    Labels,
    HttpPort,
    HttpsPort,
    Caddy,
    Tls,
    AuthToken,
    NoAuth,
    PublicPorts,
}

impl Key {
    /// The config-file key.
    pub fn name(self) -> &'static str {
        match self {
            Key::Listen => "listen",
            Key::Admin => "admin",
            Key::Domains => "domains",
            Key::AllowHosts => "allow_hosts",
            Key::DenyPorts => "deny_ports",
            Key::PreserveHost => "preserve_host",
            Key::PreserveHostPorts => "preserve_host_ports",
            Key::Threads => "threads",
            Key::Labels => "labels",
            Key::HttpPort => "http_port",
            Key::HttpsPort => "https_port",
            Key::Caddy => "caddy",
            Key::Tls => "tls",
            Key::AuthToken => "auth_token",
            Key::NoAuth => "no_auth",
            Key::PublicPorts => "public_ports",
        }
    }

    pub fn flag(self) -> &'static str {
        match self {
            Key::Listen => "--listen",
            Key::Admin => "--admin",
            Key::Domains => "--domain",
            Key::AllowHosts => "--allow-host",
            Key::DenyPorts => "--deny-port",
            Key::PreserveHost => "--preserve-host",
            Key::PreserveHostPorts => "--preserve-host-port",
            Key::Threads => "--threads",
            Key::Labels => "labels",
            Key::HttpPort => "--http-port",
            Key::HttpsPort => "--https-port",
            Key::Caddy => "--caddy",
            Key::Tls => "--tls",
            Key::AuthToken => "--auth-token",
            Key::NoAuth => "--no-auth",
            Key::PublicPorts => "--public-port",
        }
    }

    pub fn env(self) -> String {
        format!("PORTPROXY_{}", self.name().to_ascii_uppercase())
    }

    fn expected(self) -> &'static str {
        match self {
            Key::Listen => "IP:PORT with a port from 1 to 65535, e.g. 127.0.0.1:24306",
            Key::Admin => "IP:PORT on loopback with a port from 1 to 65535, e.g. 127.0.0.1:24307",
            Key::Domains => "a host name such as localhost or dev.example.com",
            Key::AllowHosts => {
                "a host name (db.internal), a wildcard (*.corp.example), an IP or a CIDR (10.0.0.0/8)"
            }
            Key::DenyPorts => "a port (22), a range (2375-2376) or `none`",
            Key::PreserveHost => "true or false",
            Key::PreserveHostPorts => "a port from 1 to 65535",
            Key::Threads => "a whole number from 1 to 1024",
            Key::Labels => "a table of port = \"name\", e.g. 5173 = \"web\"",
            Key::HttpPort | Key::HttpsPort => "a port from 1 to 65535",
            Key::Caddy => "the path of a Caddy binary",
            Key::Tls => "`on-demand`, `internal` or `dns:PROVIDER` (e.g. dns:cloudflare)",
            Key::AuthToken => "at least 16 characters, no spaces",
            Key::NoAuth => "true or false",
            Key::PublicPorts => "a port from 1 to 65535",
        }
    }
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    File(PathBuf),
}

#[derive(Debug)]
pub enum ConfigError {
    Invalid {
        key: Key,
        value: String,
        source: Source,
    },
    SamePort {
        listen: SocketAddr,
    },
    FileUnreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    FileSyntax {
        path: PathBuf,
        message: String,
    },
}

impl ConfigError {
    /// The line after `error:` that says how to fix it.
    pub fn help(&self) -> String {
        match self {
            ConfigError::Invalid { key, .. } => format!("expected {}", key.expected()),
            ConfigError::SamePort { .. } => "give --listen and --admin different ports".into(),
            ConfigError::FileUnreadable { .. } => {
                "check the path given with --config or PORTPROXY_CONFIG".into()
            }
            ConfigError::FileSyntax { .. } => format!(
                "the file is TOML with the keys {}",
                ALL_KEYS.map(Key::name).join(", ")
            ),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid {
                key,
                value,
                source: Source::Flag,
            } => write!(f, "invalid value `{value}` for `{}`", key.flag()),
            ConfigError::Invalid {
                key,
                value,
                source: Source::Env,
            } => write!(
                f,
                "invalid value `{value}` for `{}` (from {})",
                key.name(),
                key.env()
            ),
            ConfigError::Invalid {
                key,
                value,
                source: Source::File(path),
            } => write!(
                f,
                "invalid value `{value}` for `{}` (from {})",
                key.name(),
                path.display()
            ),
            ConfigError::SamePort { listen } => {
                write!(f, "`listen` and `admin` are both {listen}")
            }
            ConfigError::FileUnreadable { path, error } => {
                write!(f, "cannot read config file {}: {error}", path.display())
            }
            ConfigError::FileSyntax { path, message } => {
                write!(
                    f,
                    "config file {} is not valid: {}",
                    path.display(),
                    message.trim()
                )
            }
        }
    }
}

const ALL_KEYS: [Key; 16] = [
    Key::Listen,
    Key::Admin,
    Key::Domains,
    Key::AllowHosts,
    Key::DenyPorts,
    Key::PreserveHost,
    Key::PreserveHostPorts,
    Key::Threads,
    Key::Labels,
    Key::HttpPort,
    Key::HttpsPort,
    Key::Caddy,
    Key::Tls,
    Key::AuthToken,
    Key::NoAuth,
    Key::PublicPorts,
];

/// The config file as written. Lists may hold numbers or strings (`deny_ports = [22, "9000-9100"]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<String>,
    admin: Option<String>,
    domains: Option<Vec<String>>,
    allow_hosts: Option<Vec<String>>,
    deny_ports: Option<Vec<Scalar>>,
    preserve_host: Option<bool>,
    preserve_host_ports: Option<Vec<Scalar>>,
    threads: Option<Scalar>,
    labels: Option<BTreeMap<String, String>>,
    http_port: Option<Scalar>,
    https_port: Option<Scalar>,
    caddy: Option<String>,
    tls: Option<String>,
    auth_token: Option<String>,
    no_auth: Option<bool>,
    public_ports: Option<Vec<Scalar>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Text(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Int(n) => write!(f, "{n}"),
            Scalar::Text(s) => f.write_str(s),
        }
    }
}

fn strings(list: Vec<Scalar>) -> Vec<String> {
    list.into_iter().map(|s| s.to_string()).collect()
}

/// The default config file: `$XDG_CONFIG_HOME/portproxy/config.toml` (`~/.config/...`),
/// `%APPDATA%\portproxy\config.toml` on Windows.
pub fn default_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = if cfg!(windows) {
        env("APPDATA").map(PathBuf::from)
    } else {
        env("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|home| Path::new(&home).join(".config")))
    };
    base.map(|b| b.join("portproxy").join("config.toml"))
}

/// Builds the config: defaults, then the file, then the environment, then the flags.
/// `env` is the environment lookup (`std::env::var(..).ok()` in the binary, a table in tests).
pub fn load(
    flags: &Settings,
    caddy: &CaddyFlags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut config = Config {
        listen: "127.0.0.1:24306".parse().expect("default listen"),
        admin: "127.0.0.1:24307".parse().expect("default admin"),
        domains: vec!["localhost".into()],
        policy: Policy {
            allow_hosts: Vec::new(),
            deny_ports: DEFAULT_DENY_PORTS.to_vec(),
            own_ports: Vec::new(),
        },
        preserve_host: false,
        preserve_host_ports: Vec::new(),
        labels: BTreeMap::new(),
        threads: std::thread::available_parallelism().map_or(2, usize::from),
        file: None,
        front: FrontSettings {
            http_port: 80,
            https_port: 443,
            ports_set: false,
            caddy: None,
            tls: TlsChoice::OnDemand,
        },
        auth_token: None,
        no_auth: false,
        public_ports: Vec::new(),
        auth: None,
    };

    let explicit = flags.config.clone().or_else(|| {
        env("PORTPROXY_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let path = match explicit {
        Some(path) => Some(path),
        None => default_file(env).filter(|p| p.is_file()),
    };
    if let Some(path) = path {
        let text = std::fs::read_to_string(&path).map_err(|error| ConfigError::FileUnreadable {
            path: path.clone(),
            error,
        })?;
        let file: File = toml::from_str(&text).map_err(|e| ConfigError::FileSyntax {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let source = Source::File(path.clone());
        let mut layer = Layer {
            config: &mut config,
            source: &source,
        };
        layer.one(Key::Listen, file.listen)?;
        layer.one(Key::Admin, file.admin)?;
        layer.list(Key::Domains, file.domains)?;
        layer.list(Key::AllowHosts, file.allow_hosts)?;
        layer.list(Key::DenyPorts, file.deny_ports.map(strings))?;
        layer.one(Key::PreserveHost, file.preserve_host.map(|b| b.to_string()))?;
        layer.list(
            Key::PreserveHostPorts,
            file.preserve_host_ports.map(strings),
        )?;
        layer.one(Key::Threads, file.threads.map(|t| t.to_string()))?;
        layer.one(Key::HttpPort, file.http_port.map(|t| t.to_string()))?;
        layer.one(Key::HttpsPort, file.https_port.map(|t| t.to_string()))?;
        layer.one(Key::Caddy, file.caddy)?;
        layer.one(Key::Tls, file.tls)?;
        layer.one(Key::AuthToken, file.auth_token)?;
        layer.one(Key::NoAuth, file.no_auth.map(|b| b.to_string()))?;
        layer.list(Key::PublicPorts, file.public_ports.map(strings))?;
        for (port, label) in file.labels.unwrap_or_default() {
            let port = parse_port(&port).ok_or_else(|| ConfigError::Invalid {
                key: Key::Labels,
                value: port.clone(),
                source: source.clone(),
            })?;
            layer.config.labels.insert(port, label);
        }
        config.file = Some(path);
    }

    let mut layer = Layer {
        config: &mut config,
        source: &Source::Env,
    };
    for key in ALL_KEYS {
        let Some(value) = env(&key.env()) else {
            continue;
        };
        match key {
            Key::Domains
            | Key::AllowHosts
            | Key::DenyPorts
            | Key::PreserveHostPorts
            | Key::PublicPorts => {
                let items = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                layer.list(key, Some(items))?
            }
            Key::Labels => {}
            _ => layer.one(key, Some(value))?,
        }
    }

    let mut layer = Layer {
        config: &mut config,
        source: &Source::Flag,
    };
    layer.one(Key::Listen, flags.listen.clone())?;
    layer.one(Key::Admin, flags.admin.clone())?;
    let nonempty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    layer.list(Key::Domains, nonempty(&flags.domains))?;
    layer.list(Key::AllowHosts, nonempty(&flags.allow_hosts))?;
    layer.list(Key::DenyPorts, nonempty(&flags.deny_ports))?;
    if flags.preserve_host {
        layer.one(Key::PreserveHost, Some("true".into()))?;
    }
    layer.list(Key::PreserveHostPorts, nonempty(&flags.preserve_host_ports))?;
    layer.one(Key::Threads, flags.threads.clone())?;
    layer.one(Key::HttpPort, caddy.http_port.clone())?;
    layer.one(Key::HttpsPort, caddy.https_port.clone())?;
    layer.one(Key::Caddy, caddy.caddy.clone())?;
    layer.one(Key::Tls, caddy.tls.clone())?;
    layer.one(Key::AuthToken, flags.auth_token.clone())?;
    if flags.no_auth {
        layer.one(Key::NoAuth, Some("true".into()))?;
    }
    layer.list(Key::PublicPorts, nonempty(&flags.public_ports))?;

    if config.listen.port() == config.admin.port()
        && (config.listen.ip() == config.admin.ip()
            || config.listen.ip().is_unspecified()
            || config.admin.ip().is_unspecified())
    {
        return Err(ConfigError::SamePort {
            listen: config.listen,
        });
    }
    config.policy.own_ports = vec![config.listen.port(), config.admin.port()];
    Ok(config)
}

/// Applies one layer's values, validating each as it goes.
struct Layer<'a> {
    config: &'a mut Config,
    source: &'a Source,
}

impl Layer<'_> {
    fn invalid(&self, key: Key, value: &str) -> ConfigError {
        ConfigError::Invalid {
            key,
            value: value.to_string(),
            source: self.source.clone(),
        }
    }

    fn one(&mut self, key: Key, value: Option<String>) -> Result<(), ConfigError> {
        let Some(value) = value else { return Ok(()) };
        let bad = || self.invalid(key, &value);
        let text = value.trim();
        match key {
            Key::Listen => self.config.listen = parse_addr(text).ok_or_else(bad)?,
            Key::Admin => {
                // The admin listener answers /caddy/ask and /metrics to anyone who reaches it.
                self.config.admin = parse_addr(text)
                    .filter(|a| a.ip().is_loopback())
                    .ok_or_else(bad)?
            }
            Key::PreserveHost => self.config.preserve_host = parse_bool(text).ok_or_else(bad)?,
            Key::NoAuth => self.config.no_auth = parse_bool(text).ok_or_else(bad)?,
            Key::AuthToken => {
                let ok = text.len() >= 16 && text.bytes().all(|b| b.is_ascii_graphic());
                if !ok {
                    return Err(bad());
                }
                self.config.auth_token = Some(text.to_string());
            }
            Key::Threads => {
                self.config.threads = text
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or_else(bad)?
            }
            Key::HttpPort => {
                self.config.front.http_port = parse_port(text).ok_or_else(bad)?;
                self.config.front.ports_set = true;
            }
            Key::HttpsPort => {
                self.config.front.https_port = parse_port(text).ok_or_else(bad)?;
                self.config.front.ports_set = true;
            }
            Key::Caddy => {
                if text.is_empty() {
                    return Err(bad());
                }
                self.config.front.caddy = Some(PathBuf::from(text));
            }
            Key::Tls => self.config.front.tls = parse_tls(text).ok_or_else(bad)?,
            _ => unreachable!("{key:?} is a list"),
        }
        Ok(())
    }

    fn list(&mut self, key: Key, values: Option<Vec<String>>) -> Result<(), ConfigError> {
        let Some(values) = values else { return Ok(()) };
        match key {
            Key::Domains => {
                let domains = values
                    .iter()
                    .map(|v| parse_domain(v).ok_or_else(|| self.invalid(key, v)))
                    .collect::<Result<Vec<_>, _>>()?;
                if domains.is_empty() {
                    return Err(self.invalid(key, ""));
                }
                self.config.domains = domains;
            }
            Key::AllowHosts => {
                self.config.policy.allow_hosts = values
                    .iter()
                    .map(|v| v.parse::<AllowRule>().map_err(|()| self.invalid(key, v)))
                    .collect::<Result<_, _>>()?
            }
            Key::DenyPorts => {
                let none = values.len() == 1 && values[0].trim().eq_ignore_ascii_case("none");
                self.config.policy.deny_ports = if none {
                    Vec::new()
                } else {
                    values
                        .iter()
                        .map(|v| {
                            v.trim()
                                .parse::<PortRange>()
                                .map_err(|()| self.invalid(key, v))
                        })
                        .collect::<Result<_, _>>()?
                }
            }
            Key::PublicPorts => {
                self.config.public_ports = values
                    .iter()
                    .map(|v| parse_port(v).ok_or_else(|| self.invalid(key, v)))
                    .collect::<Result<_, _>>()?
            }
            Key::PreserveHostPorts => {
                self.config.preserve_host_ports = values
                    .iter()
                    .map(|v| parse_port(v).ok_or_else(|| self.invalid(key, v)))
                    .collect::<Result<_, _>>()?
            }
            _ => unreachable!("{key:?} is not a list"),
        }
        Ok(())
    }
}

/// `on-demand`, `internal` or `dns:PROVIDER`; the provider name goes into the Caddyfile, so it is
/// checked to be a plain module name.
fn parse_tls(text: &str) -> Option<TlsChoice> {
    match text.to_ascii_lowercase().as_str() {
        "on-demand" | "ondemand" | "auto" => Some(TlsChoice::OnDemand),
        "internal" => Some(TlsChoice::Internal),
        other => {
            let provider = other.strip_prefix("dns:")?;
            let plain = !provider.is_empty()
                && provider
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            plain.then(|| TlsChoice::Dns {
                provider: provider.to_string(),
            })
        }
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

fn parse_addr(text: &str) -> Option<SocketAddr> {
    text.parse::<SocketAddr>().ok().filter(|a| a.port() != 0)
}

fn parse_port(text: &str) -> Option<u16> {
    route::parse_port(text.trim()).ok()
}

/// A base domain: a host name the grammar can sit under. `Dev.Example.com.` → `dev.example.com`.
fn parse_domain(text: &str) -> Option<String> {
    let name = text.trim().to_ascii_lowercase();
    let name = name.strip_suffix('.').unwrap_or(&name);
    let edges_ok = name
        .split('.')
        .all(|l| !l.starts_with('-') && !l.ends_with('-'));
    (route::check_name(name).is_ok() && edges_ok).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load_with(flags: Settings, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load(&flags, &CaddyFlags::default(), &|k| env.get(k).cloned())
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn defaults() {
        let c = load_with(Settings::default(), &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:24306");
        assert_eq!(c.admin.to_string(), "127.0.0.1:24307");
        assert_eq!(c.domains, ["localhost"]);
        assert_eq!(c.policy.deny_ports, DEFAULT_DENY_PORTS.to_vec());
        assert_eq!(c.policy.own_ports, [24306, 24307]);
        assert!(c.policy.allow_hosts.is_empty());
        assert!(!c.preserve_host);
    }

    #[test]
    fn layers_in_priority_order() {
        let f = file("listen = \"127.0.0.1:1000\"\nadmin = \"127.0.0.1:1001\"\ndomains = [\"file.test\"]\nthreads = 3\n[labels]\n5173 = \"web\"\n");
        let path = f.path().to_str().unwrap();
        // File only.
        let c = load_with(Settings::default(), &[("PORTPROXY_CONFIG", path)]).unwrap();
        assert_eq!(c.listen.port(), 1000);
        assert_eq!(c.domains, ["file.test"]);
        assert_eq!(c.threads, 3);
        assert_eq!(c.labels.get(&5173).map(String::as_str), Some("web"));
        // Env beats file.
        let env = [
            ("PORTPROXY_CONFIG", path),
            ("PORTPROXY_LISTEN", "127.0.0.1:2000"),
            ("PORTPROXY_DOMAINS", "a.test, b.test"),
        ];
        let c = load_with(Settings::default(), &env).unwrap();
        assert_eq!(c.listen.port(), 2000);
        assert_eq!(c.admin.port(), 1001);
        assert_eq!(c.domains, ["a.test", "b.test"]);
        // Flags beat env.
        let flags = Settings {
            listen: Some("127.0.0.1:3000".into()),
            domains: vec!["Flag.Test.".into()],
            ..Settings::default()
        };
        let c = load_with(flags, &env).unwrap();
        assert_eq!(c.listen.port(), 3000);
        assert_eq!(c.domains, ["flag.test"]);
        assert_eq!(c.policy.own_ports, [3000, 1001]);
    }

    #[test]
    fn lists_and_switches() {
        let f = file("deny_ports = [22, \"9000-9100\"]\nallow_hosts = [\"*.corp.example\", \"10.0.0.0/8\"]\npreserve_host_ports = [3000]\n");
        let flags = Settings {
            config: Some(f.path().into()),
            ..Settings::default()
        };
        let c = load_with(flags, &[]).unwrap();
        assert_eq!(
            c.policy.deny_ports,
            [PortRange(22, 22), PortRange(9000, 9100)]
        );
        assert_eq!(c.policy.allow_hosts.len(), 2);
        assert!(c.preserves_host(3000) && !c.preserves_host(3001));
        let c = load_with(
            Settings::default(),
            &[
                ("PORTPROXY_DENY_PORTS", "none"),
                ("PORTPROXY_PRESERVE_HOST", "yes"),
            ],
        )
        .unwrap();
        assert!(c.policy.deny_ports.is_empty());
        assert!(c.preserves_host(1));
    }

    #[test]
    fn bad_values_name_key_value_and_source() {
        let flags = |f: fn(&mut Settings)| {
            let mut s = Settings::default();
            f(&mut s);
            s
        };
        type Row = (Settings, Vec<(&'static str, &'static str)>, &'static str);
        let rows: Vec<Row> = vec![
            (
                flags(|s| s.listen = Some("nonsense".into())),
                vec![],
                "invalid value `nonsense` for `--listen`",
            ),
            (
                flags(|s| s.listen = Some("127.0.0.1:0".into())),
                vec![],
                "invalid value `127.0.0.1:0` for `--listen`",
            ),
            (
                flags(|s| s.admin = Some("0.0.0.0:24307".into())),
                vec![],
                "invalid value `0.0.0.0:24307` for `--admin`",
            ),
            (
                flags(|s| s.domains = vec!["bad_domain".into()]),
                vec![],
                "invalid value `bad_domain` for `--domain`",
            ),
            (
                flags(|s| s.deny_ports = vec!["70000".into()]),
                vec![],
                "invalid value `70000` for `--deny-port`",
            ),
            (
                flags(|s| s.allow_hosts = vec!["10.0.0.0/40".into()]),
                vec![],
                "invalid value `10.0.0.0/40` for `--allow-host`",
            ),
            (
                flags(|s| s.threads = Some("0".into())),
                vec![],
                "invalid value `0` for `--threads`",
            ),
            (
                Settings::default(),
                vec![("PORTPROXY_LISTEN", "127.0.0.1:99999")],
                "invalid value `127.0.0.1:99999` for `listen` (from PORTPROXY_LISTEN)",
            ),
            (
                Settings::default(),
                vec![("PORTPROXY_PRESERVE_HOST", "maybe")],
                "invalid value `maybe` for `preserve_host` (from PORTPROXY_PRESERVE_HOST)",
            ),
            (
                flags(|s| s.admin = Some("127.0.0.1:24306".into())),
                vec![],
                "`listen` and `admin` are both 127.0.0.1:24306",
            ),
        ];
        for (settings, env, want) in rows {
            let err = load_with(settings, &env).unwrap_err();
            assert_eq!(err.to_string(), want);
        }
        let err = load_with(flags(|s| s.listen = Some("nonsense".into())), &[]).unwrap_err();
        assert_eq!(
            err.help(),
            "expected IP:PORT with a port from 1 to 65535, e.g. 127.0.0.1:24306"
        );
    }

    #[test]
    fn bad_files() {
        let f = file("listen = \"x\"\n");
        let err = load_with(
            Settings {
                config: Some(f.path().into()),
                ..Settings::default()
            },
            &[],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid value `x` for `listen` (from {})",
                f.path().display()
            )
        );
        let f = file("lisen = \"127.0.0.1:1\"\n");
        let err = load_with(
            Settings {
                config: Some(f.path().into()),
                ..Settings::default()
            },
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `lisen`"), "{err}");
        let err = load_with(
            Settings {
                config: Some("/nonexistent/p.toml".into()),
                ..Settings::default()
            },
            &[],
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::FileUnreadable { .. }));
        // The default file is read only if it exists.
        assert!(load_with(Settings::default(), &[("XDG_CONFIG_HOME", "/nonexistent")]).is_ok());
    }
}

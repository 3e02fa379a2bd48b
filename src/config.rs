//! Every setting in one table (`settings!` below): its key, flag, environment variable,
//! parser, default and help. `load` reads defaults < config file < `PORTPROXY_*` environment
//! < flags and validates each value once, before anything binds; a bad value names its key,
//! its value, where it came from and what is accepted. `Config::new` derives the rest.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::auth::Auth;
use crate::paths;
use crate::policy::rules::{AllowRule, Cidr, PortRange, PublicPort};
use crate::policy::{Policy, DEFAULT_DENY_PORTS};
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
        pub enum Key {
            $($key),+
        }

        impl Key {
            pub const ALL: &'static [Key] = &[$(Key::$key),+];

            pub fn row(self) -> &'static Row {
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
        pub struct Settings {
            $($(#[doc = $doc])+ pub $field: $ty,)+
            /// The config file that was read, if any.
            pub file: Option<PathBuf>,
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
pub struct Row {
    /// The config-file key; the environment variable is `PORTPROXY_` + it in capitals.
    pub name: &'static str,
    /// The flag without its dashes.
    pub flag: &'static str,
    /// The flag's value as `--help` shows it; empty for a switch.
    pub value: &'static str,
    pub help: &'static [&'static str],
    pub expects: &'static str,
    pub group: Group,
    pub shape: Shape,
}

/// Which commands take the flag: `Proxy` ones `serve` and `run`, `Caddy` ones only `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Proxy,
    Caddy,
}

/// How many values a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    One,
    /// Repeatable flag, comma-separated variable, array in the file.
    List,
    /// A flag without a value; `true`/`false` in the variable and the file.
    Switch,
}

impl Key {
    pub fn name(self) -> &'static str {
        self.row().name
    }

    pub fn env(self) -> String {
        format!("PORTPROXY_{}", self.name().to_ascii_uppercase())
    }

    fn named(name: &str) -> Option<Key> {
        Key::ALL.iter().copied().find(|k| k.name() == name)
    }
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

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env,
    Flag,
}

impl Settings {
    pub fn origin(&self, key: Key) -> &Source {
        &self.origins[key as usize]
    }

    pub fn preserves_host(&self, port: u16) -> bool {
        self.preserve_host || self.preserve_host_ports.contains(&port)
    }

    /// The first domain that isn't local: one that needs TLS certificates and sign-in.
    pub fn public_domain(&self) -> Option<&str> {
        self.domains
            .iter()
            .map(String::as_str)
            .find(|d| !route::is_local(d))
    }

    /// Takes the settings that are fixed while portproxy runs from `running`: the addresses
    /// the proxy, the admin listener and Caddy are bound to, and the thread count. A reload
    /// that moved them would point Caddy (and the internet) at whatever listens there next.
    /// True if the new settings had tried to.
    pub fn keep_start_settings(&mut self, running: &Settings) -> bool {
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

    fn set(&mut self, key: Key, values: &[String], source: &Source) -> Result<(), ConfigError> {
        self.parse(key, values)
            .map_err(|value| ConfigError::Invalid {
                key,
                value,
                source: source.clone(),
            })?;
        self.origins[key as usize] = source.clone();
        Ok(())
    }
}

/// The settings and what portproxy derives from them, built only by `Config::new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub settings: Settings,
    /// Where requests may go: the settings' rules, plus portproxy's own ports (the proxy's,
    /// the admin listener's and Caddy's), which are never a target.
    pub policy: Policy,
    /// Caddy in front (`run`), with the ports it really binds.
    pub front: Option<CaddyPorts>,
    /// The token public domains need; None where no domain needs one, or with `no_auth`.
    pub auth: Option<Auth>,
    /// What names ports: `names`, `labels` and `[names]`.
    pub names: crate::names::Rules,
}

/// The ports Caddy binds in front of the proxy: the settings', or the unprivileged fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaddyPorts {
    pub http_port: u16,
    pub https_port: u16,
    /// Caddy's admin API, where it is a TCP port (Windows) rather than a socket file.
    pub admin_port: Option<u16>,
    /// Where Caddy reaches the proxy over TCP (no Unix sockets): a secret of this run that it
    /// sends in `FRONT_HEADER`, so the proxy tells it from any other local process.
    pub secret: Option<u128>,
}

/// The header in which Caddy proves it is the front `run` started (see `CaddyPorts::secret`).
pub const FRONT_HEADER: &str = "x-portproxy-front";

impl CaddyPorts {
    /// The secret as Caddy sends it.
    pub fn secret_text(&self) -> Option<String> {
        self.secret.map(|s| format!("{s:032x}"))
    }
}

impl Config {
    pub fn new(settings: Settings, front: Option<CaddyPorts>, auth: Option<Auth>) -> Config {
        let mut own = vec![settings.listen.port(), settings.admin.port()];
        if let Some(front) = front {
            own.extend([front.http_port, front.https_port]);
            own.extend(front.admin_port);
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
            front,
            auth,
            names,
        }
    }

    /// Where users reach `domain` (`sub.domain` when given) on this setup: HTTPS through
    /// Caddy on the port it listens on (no port for 443), else the proxy's own HTTP on its
    /// listen port. The one place the URLs users get are made: `run`'s start lines, `url`, `ls`.
    pub fn served_origin(&self, sub: Option<&str>, domain: &str) -> String {
        let host = match sub {
            Some(sub) => format!("{sub}.{domain}"),
            None => domain.to_string(),
        };
        match self.front {
            Some(front) if front.https_port == 443 => format!("https://{host}"),
            Some(front) => format!("https://{host}:{}", front.https_port),
            None => format!("http://{host}:{}", self.settings.listen.port()),
        }
    }

    /// The URL of a port or a name (`5173`, `shop-web`) under the first domain, as this setup
    /// serves it.
    pub fn served_url(&self, label: &str) -> String {
        let domain = &self.settings.domains[0];
        format!("{}/", self.served_origin(Some(label), domain))
    }

    /// Caddy's ports: the ones it binds in front, else the settings'.
    pub fn caddy_ports(&self) -> CaddyPorts {
        self.front.unwrap_or(CaddyPorts {
            http_port: self.settings.http_port,
            https_port: self.settings.https_port,
            admin_port: None,
            secret: None,
        })
    }
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
            ConfigError::Invalid { key, .. } => format!("expected {}", key.row().expects),
            ConfigError::SamePort { .. } => "give --listen and --admin different ports".into(),
            ConfigError::FileUnreadable { .. } => {
                "check the path given with --config or PORTPROXY_CONFIG".into()
            }
            ConfigError::FileSyntax { .. } => format!(
                "the file is TOML with the keys {}",
                Key::ALL
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid { key, value, source } => {
                write!(f, "invalid value `{value}` for ")?;
                match source {
                    Source::Flag => write!(f, "`--{}`", key.row().flag),
                    Source::Env => write!(f, "`{}` (from {})", key.name(), key.env()),
                    Source::File(path) => {
                        write!(f, "`{}` (from {})", key.name(), path.display())
                    }
                    Source::Default => write!(f, "`{}` (the default)", key.name()),
                }
            }
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

/// The flags a command line gave, by setting, as typed (validated by `load`).
pub type Given = Vec<(Key, Vec<String>)>;

/// The default config file: `$XDG_CONFIG_HOME/portproxy/config.toml` (`~/.config/...`),
/// `%APPDATA%\portproxy\config.toml` on Windows; none without a home.
pub fn default_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    paths::config_dir(env, "its settings")
        .ok()
        .map(|dir| dir.join("config.toml"))
}

/// The process's environment, as `load` and `caddy::Paths` take it.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// Reads the settings: defaults, then the file (`config_file`, else PORTPROXY_CONFIG, else
/// the default file if it exists), then the environment, then the flags.
/// `env` is the environment lookup (`process_env` in the binary, a table in tests).
pub fn load(
    config_file: Option<&Path>,
    flags: &Given,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    let explicit = config_file.map(Path::to_path_buf).or_else(|| {
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
        let source = Source::File(path.clone());
        for (key, values) in file_values(&text, &path)? {
            settings.set(key, &values, &source)?;
        }
        settings.file = Some(path);
    }
    for &key in Key::ALL {
        let Some(value) = env(&key.env()) else {
            continue;
        };
        let values = match key.row().shape {
            Shape::List => value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            Shape::One | Shape::Switch => vec![value],
        };
        settings.set(key, &values, &Source::Env)?;
    }
    for (key, values) in flags {
        settings.set(*key, values, &Source::Flag)?;
    }

    let (listen, admin) = (settings.listen, settings.admin);
    if listen.port() == admin.port()
        && (listen.ip() == admin.ip()
            || listen.ip().is_unspecified()
            || admin.ip().is_unspecified())
    {
        return Err(ConfigError::SamePort { listen });
    }
    Ok(settings)
}

/// The config file's values as text, per setting: a list may mix numbers and strings
/// (`deny_ports = [22, "9000-9100"]`); `[labels]` is a table of `5173 = "web"`.
fn file_values(text: &str, path: &Path) -> Result<Vec<(Key, Vec<String>)>, ConfigError> {
    use toml::Value;
    let syntax = |message: String| ConfigError::FileSyntax {
        path: path.to_path_buf(),
        message,
    };
    let table: toml::Table = toml::from_str(text).map_err(|e| syntax(e.to_string()))?;
    let scalar = |value: &Value| match value {
        Value::String(s) => Some(s.clone()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    };
    let mut values = Vec::new();
    for (name, value) in &table {
        // `names = false` turns learning off; a `[names]` table pins directories to names.
        let key = match (name.as_str(), value) {
            ("names", Value::Table(_)) => Key::NamePins,
            _ => Key::named(name).ok_or_else(|| syntax(format!("unknown key `{name}`")))?,
        };
        let texts = match (value, key) {
            (Value::Table(pairs), Key::Labels | Key::NamePins) => pairs
                .iter()
                .map(|(key, name)| scalar(name).map(|name| format!("{key}={name}")))
                .collect(),
            (Value::Array(items), _) if key.row().shape == Shape::List => {
                items.iter().map(scalar).collect()
            }
            (value, _) if key.row().shape != Shape::List => scalar(value).map(|v| vec![v]),
            _ => None,
        };
        let texts = texts.ok_or_else(|| ConfigError::Invalid {
            key,
            value: value.to_string(),
            source: Source::File(path.to_path_buf()),
        })?;
        values.push((key, texts));
    }
    Ok(values)
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("a default address")
}

/// A setting of one value: the last one given wins.
fn one<T>(parse: fn(&str) -> Option<T>) -> impl Fn(&[String]) -> Result<T, String> {
    move |values| {
        let value = values.last().map_or("", String::as_str);
        parse(value.trim()).ok_or_else(|| value.to_string())
    }
}

/// A setting that is unset by default.
fn some<T>(parse: fn(&str) -> Option<T>) -> impl Fn(&[String]) -> Result<Option<T>, String> {
    let one = one(parse);
    move |values| one(values).map(Some)
}

fn list<T>(parse: fn(&str) -> Option<T>) -> impl Fn(&[String]) -> Result<Vec<T>, String> {
    move |values| {
        values
            .iter()
            .map(|v| parse(v.trim()).ok_or_else(|| v.clone()))
            .collect()
    }
}

fn domains(values: &[String]) -> Result<Vec<String>, String> {
    let domains = list(parse_domain)(values)?;
    if domains.is_empty() {
        return Err(String::new());
    }
    Ok(domains)
}

fn deny_ports(values: &[String]) -> Result<Vec<PortRange>, String> {
    if let [only] = values {
        if only.trim().eq_ignore_ascii_case("none") {
            return Ok(Vec::new());
        }
    }
    list(|v| v.parse().ok())(values)
}

fn labels(values: &[String]) -> Result<BTreeMap<u16, String>, String> {
    let pairs = list(|v| {
        let (port, name) = v.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        Some((parse_port(port)?, name.to_string()))
    })(values)?;
    Ok(pairs.into_iter().collect())
}

/// `~/src/shop=shop`: `~` is the home directory; the name must be one (`names::normalise`
/// leaves it as it is).
fn name_pins(values: &[String]) -> Result<BTreeMap<PathBuf, String>, String> {
    let pairs = list(|v| {
        let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"));
        let (dir, name) = v.rsplit_once('=')?;
        let name = name.trim();
        if crate::names::normalise(name).as_deref() != Some(name) {
            return None;
        }
        let dir = match (dir.trim().strip_prefix('~'), &home) {
            (Some(rest), Some(home)) => {
                PathBuf::from(home).join(rest.trim_start_matches(['/', '\\']))
            }
            _ => PathBuf::from(dir.trim()),
        };
        (!dir.as_os_str().is_empty()).then(|| (dir, name.to_string()))
    })(values)?;
    Ok(pairs.into_iter().collect())
}

fn parse_loopback_addr(text: &str) -> Option<SocketAddr> {
    // The admin listener answers /caddy/ask and /metrics to anyone who reaches it.
    parse_addr(text).filter(|a| a.ip().is_loopback())
}

fn parse_threads(text: &str) -> Option<usize> {
    text.parse().ok().filter(|n| (1..=1024).contains(n))
}

fn parse_token(text: &str) -> Option<String> {
    (text.len() >= 16 && text.bytes().all(|b| b.is_ascii_graphic())).then(|| text.to_string())
}

fn parse_path(text: &str) -> Option<PathBuf> {
    (!text.is_empty()).then(|| PathBuf::from(text))
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

    fn flag(key: Key, value: &str) -> (Key, Vec<String>) {
        (key, vec![value.to_string()])
    }

    fn load_with(flags: Given, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load(None, &flags, &|k| env.get(k).cloned())
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

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

    #[test]
    fn defaults() {
        let c = load_with(Vec::new(), &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:24306");
        assert_eq!(c.admin.to_string(), "127.0.0.1:24307");
        assert_eq!(c.domains, ["localhost"]);
        assert_eq!(c.deny_ports, DEFAULT_DENY_PORTS.to_vec());
        assert!(c.allow_hosts.is_empty());
        assert!(!c.preserve_host);
        assert!(Key::ALL.iter().all(|&k| c.origin(k) == &Source::Default));
        let config = Config::new(c, None, None);
        assert_eq!(config.policy.own_ports, [24306, 24307]);
    }

    #[test]
    fn derived_own_ports_include_caddys() {
        let settings = load_with(Vec::new(), &[]).unwrap();
        let front = CaddyPorts {
            http_port: 8080,
            https_port: 8443,
            admin_port: Some(2999),
            secret: None,
        };
        let config = Config::new(settings, Some(front), None);
        assert_eq!(config.policy.own_ports, [2999, 8080, 8443, 24306, 24307]);
    }

    #[test]
    fn names_switch_and_pins() {
        let f = file("names = false\n");
        let c = load_with(
            Vec::new(),
            &[("PORTPROXY_CONFIG", f.path().to_str().unwrap())],
        )
        .unwrap();
        assert!(!c.names);
        let f = file("[names]\n\"/src/shop\" = \"shop\"\n");
        let c = load_with(
            Vec::new(),
            &[("PORTPROXY_CONFIG", f.path().to_str().unwrap())],
        )
        .unwrap();
        assert!(c.names);
        assert_eq!(
            c.name_pins.into_iter().collect::<Vec<_>>(),
            [(PathBuf::from("/src/shop"), "shop".to_string())]
        );
        let refused = load_with(
            Vec::new(),
            &[("PORTPROXY_NAME_PINS", "/src/shop=Not A Name")],
        );
        assert!(
            matches!(
                refused,
                Err(ConfigError::Invalid {
                    key: Key::NamePins,
                    ..
                })
            ),
            "{refused:?}"
        );
    }

    #[test]
    fn layers_in_priority_order_with_their_origin() {
        let f = file("listen = \"127.0.0.1:1000\"\nadmin = \"127.0.0.1:1001\"\ndomains = [\"file.test\"]\nthreads = 3\n[labels]\n5173 = \"web\"\n");
        let path = f.path().to_str().unwrap();
        // File only.
        let c = load_with(Vec::new(), &[("PORTPROXY_CONFIG", path)]).unwrap();
        assert_eq!(c.listen.port(), 1000);
        assert_eq!(c.domains, ["file.test"]);
        assert_eq!(c.threads, 3);
        assert_eq!(c.labels.get(&5173).map(String::as_str), Some("web"));
        assert_eq!(c.origin(Key::Threads), &Source::File(f.path().into()));
        assert_eq!(c.origin(Key::HttpPort), &Source::Default);
        // Env beats file.
        let env = [
            ("PORTPROXY_CONFIG", path),
            ("PORTPROXY_LISTEN", "127.0.0.1:2000"),
            ("PORTPROXY_DOMAINS", "a.test, b.test"),
            ("PORTPROXY_LABELS", "8000=api"),
        ];
        let c = load_with(Vec::new(), &env).unwrap();
        assert_eq!(c.listen.port(), 2000);
        assert_eq!(c.admin.port(), 1001);
        assert_eq!(c.domains, ["a.test", "b.test"]);
        assert_eq!(c.origin(Key::Listen), &Source::Env);
        assert_eq!(
            c.labels.into_iter().collect::<Vec<_>>(),
            [(8000, "api".into())]
        );
        // Flags beat env.
        let flags = vec![
            flag(Key::Listen, "127.0.0.1:3000"),
            flag(Key::Domains, "Flag.Test."),
            flag(Key::HttpsPort, "8443"),
        ];
        let c = load_with(flags, &env).unwrap();
        assert_eq!(c.listen.port(), 3000);
        assert_eq!(c.domains, ["flag.test"]);
        assert_eq!(c.https_port, 8443);
        assert_eq!(c.origin(Key::HttpsPort), &Source::Flag);
        assert_eq!(Config::new(c, None, None).policy.own_ports, [1001, 3000]);
    }

    #[test]
    fn lists_and_switches() {
        let f = file("deny_ports = [22, \"9000-9100\"]\nallow_hosts = [\"*.corp.example\", \"10.0.0.0/8\"]\npreserve_host_ports = [3000]\nno_auth = true\n");
        let env = [("PORTPROXY_CONFIG", f.path().to_str().unwrap())];
        let c = load_with(Vec::new(), &env).unwrap();
        assert_eq!(c.deny_ports, [PortRange(22, 22), PortRange(9000, 9100)]);
        assert_eq!(c.allow_hosts.len(), 2);
        assert!(c.preserves_host(3000) && !c.preserves_host(3001));
        assert!(c.no_auth);
        let c = load_with(
            Vec::new(),
            &[
                ("PORTPROXY_DENY_PORTS", "none"),
                ("PORTPROXY_PRESERVE_HOST", "yes"),
            ],
        )
        .unwrap();
        assert!(c.deny_ports.is_empty());
        assert!(c.preserves_host(1));
    }

    #[test]
    fn a_reload_keeps_what_is_bound() {
        let running = load_with(vec![flag(Key::Listen, "127.0.0.1:3000")], &[]).unwrap();
        let mut new = load_with(
            vec![
                flag(Key::Listen, "127.0.0.1:4000"),
                flag(Key::Domains, "new.test"),
            ],
            &[],
        )
        .unwrap();
        assert!(new.keep_start_settings(&running));
        assert_eq!(
            (new.listen.port(), new.domains[0].as_str()),
            (3000, "new.test")
        );
        assert!(!new.clone().keep_start_settings(&new));
    }

    #[test]
    fn bad_values_name_key_value_and_source() {
        type Row = (Given, Vec<(&'static str, &'static str)>, &'static str);
        let rows: Vec<Row> = vec![
            (
                vec![flag(Key::Listen, "nonsense")],
                vec![],
                "invalid value `nonsense` for `--listen`",
            ),
            (
                vec![flag(Key::Listen, "127.0.0.1:0")],
                vec![],
                "invalid value `127.0.0.1:0` for `--listen`",
            ),
            (
                vec![flag(Key::Admin, "0.0.0.0:24307")],
                vec![],
                "invalid value `0.0.0.0:24307` for `--admin`",
            ),
            (
                vec![flag(Key::Domains, "bad_domain")],
                vec![],
                "invalid value `bad_domain` for `--domain`",
            ),
            (
                vec![flag(Key::DenyPorts, "70000")],
                vec![],
                "invalid value `70000` for `--deny-port`",
            ),
            (
                vec![flag(Key::AllowHosts, "10.0.0.0/40")],
                vec![],
                "invalid value `10.0.0.0/40` for `--allow-host`",
            ),
            (
                vec![flag(Key::Threads, "0")],
                vec![],
                "invalid value `0` for `--threads`",
            ),
            (
                vec![flag(Key::Labels, "5173=")],
                vec![],
                "invalid value `5173=` for `--label`",
            ),
            (
                vec![flag(Key::AuthToken, "short")],
                vec![],
                "invalid value `short` for `--auth-token`",
            ),
            (
                vec![flag(Key::Tls, "dns:Bad Name")],
                vec![],
                "invalid value `dns:Bad Name` for `--tls`",
            ),
            (
                Vec::new(),
                vec![("PORTPROXY_LISTEN", "127.0.0.1:99999")],
                "invalid value `127.0.0.1:99999` for `listen` (from PORTPROXY_LISTEN)",
            ),
            (
                Vec::new(),
                vec![("PORTPROXY_PRESERVE_HOST", "maybe")],
                "invalid value `maybe` for `preserve_host` (from PORTPROXY_PRESERVE_HOST)",
            ),
            (
                Vec::new(),
                vec![("PORTPROXY_DOMAINS", " , ")],
                "invalid value `` for `domains` (from PORTPROXY_DOMAINS)",
            ),
            (
                vec![flag(Key::Admin, "127.0.0.1:24306")],
                vec![],
                "`listen` and `admin` are both 127.0.0.1:24306",
            ),
        ];
        for (flags, env, want) in rows {
            let err = load_with(flags, &env).unwrap_err();
            assert_eq!(err.to_string(), want);
        }
        let err = load_with(vec![flag(Key::Listen, "nonsense")], &[]).unwrap_err();
        assert_eq!(
            err.help(),
            "expected IP:PORT with a port from 1 to 65535, e.g. 127.0.0.1:24306"
        );
    }

    #[test]
    fn bad_files() {
        let with_file = |text: &str| {
            let f = file(text);
            let err = load(Some(f.path()), &Vec::new(), &|_| None).unwrap_err();
            (err.to_string(), f.path().display().to_string())
        };
        let (err, path) = with_file("listen = \"x\"\n");
        assert_eq!(err, format!("invalid value `x` for `listen` (from {path})"));
        let (err, path) = with_file("listen = [\"127.0.0.1:1\"]\n");
        assert_eq!(
            err,
            format!("invalid value `[\"127.0.0.1:1\"]` for `listen` (from {path})")
        );
        let (err, _) = with_file("lisen = \"127.0.0.1:1\"\n");
        assert!(err.contains("unknown key `lisen`"), "{err}");
        let (err, _) = with_file("listen = \n");
        assert!(err.contains("is not valid"), "{err}");
        let err = load(Some(Path::new("/nonexistent/p.toml")), &Vec::new(), &|_| {
            None
        })
        .unwrap_err();
        assert!(matches!(err, ConfigError::FileUnreadable { .. }));
        // The default file is read only if it exists.
        assert!(load_with(Vec::new(), &[("XDG_CONFIG_HOME", "/nonexistent")]).is_ok());
    }
}

//! Caddy in front: which Caddy, which Caddyfile, where its files live.

pub(crate) mod caddyfile;
pub(crate) mod locate;
pub(crate) mod privilege;
pub(crate) mod supervise;
pub(crate) mod trust;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::config::{CaddyPorts, Config, Key, Settings, Source, TlsChoice};
use crate::paths::{self, NoHome};
use crate::route::is_local;
use caddyfile::{Caddyfile, Site, Tls};

/// Where portproxy keeps Caddy's files: certificates and the local CA, the generated
/// Caddyfile, the admin socket. Never the user's own Caddy directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paths {
    pub(crate) data: PathBuf,
}

impl Paths {
    /// Under portproxy's data directory (`paths::data_dir`).
    pub(crate) fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Paths, NoHome> {
        Ok(Paths {
            data: paths::data_dir(env)?,
        })
    }

    /// Caddy's storage: certificates, ACME accounts, the local CA.
    pub(crate) fn storage(&self) -> PathBuf {
        self.data.join("caddy")
    }

    /// The local CA's root certificate, once Caddy has made it.
    pub(crate) fn root_cert(&self) -> PathBuf {
        self.storage().join("pki/authorities/local/root.crt")
    }

    /// The sessions issued on public domains (`auth::sessions`).
    pub(crate) fn sessions(&self) -> PathBuf {
        self.data.join("sessions")
    }

    /// The names seen, for the "not running" page (`proxy::named`).
    pub(crate) fn names(&self) -> PathBuf {
        self.data.join("names.json")
    }

    pub(crate) fn caddyfile(&self) -> PathBuf {
        self.data.join("Caddyfile")
    }

    /// Where `run` puts the proxy's Unix sockets for Caddy: a directory only its owner may
    /// enter.
    pub(crate) fn socket_dir(&self) -> PathBuf {
        self.data.join("proxy")
    }

    /// Environment for Caddy: its autosave and any default paths go under our data dir.
    pub(crate) fn caddy_env(&self) -> Vec<(OsString, OsString)> {
        vec![
            (
                "XDG_DATA_HOME".into(),
                self.data.join("caddy-data").into_os_string(),
            ),
            (
                "XDG_CONFIG_HOME".into(),
                self.data.join("caddy-config").into_os_string(),
            ),
        ]
    }
}

/// Caddy's admin endpoint: a unix socket where there are unix sockets, else a loopback port
/// chosen at start. Never the default `localhost:2019`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AdminAddress {
    Socket(PathBuf),
    Port(u16),
}

impl AdminAddress {
    pub(crate) fn for_paths(paths: &Paths) -> std::io::Result<AdminAddress> {
        if cfg!(unix) {
            Ok(AdminAddress::Socket(paths.data.join("caddy-admin.sock")))
        } else {
            let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
            Ok(AdminAddress::Port(probe.local_addr()?.port()))
        }
    }

    /// As Caddy writes it: `unix//path` or `127.0.0.1:PORT`.
    pub(crate) fn address(&self) -> String {
        match self {
            AdminAddress::Socket(path) => format!("unix/{}", path.display()),
            AdminAddress::Port(port) => format!("127.0.0.1:{port}"),
        }
    }

    pub(crate) fn port(&self) -> Option<u16> {
        match self {
            AdminAddress::Socket(_) => None,
            AdminAddress::Port(port) => Some(*port),
        }
    }
}

/// The ports Caddy will bind: the settings', or the unprivileged fallback when this user's
/// Caddy can't bind the default 80/443 and the user set no ports, with the command that would
/// allow the defaults. Ports the user set are kept (a Caddy that can't bind them is an error).
pub(crate) fn ports(
    settings: &Settings,
    caddy: &Path,
    admin: &AdminAddress,
) -> (CaddyPorts, Option<String>) {
    let mut ports = CaddyPorts {
        http_port: settings.http_port,
        https_port: settings.https_port,
        admin_port: admin.port(),
        secret: None,
    };
    let set = [Key::HttpPort, Key::HttpsPort]
        .iter()
        .any(|&key| settings.origin(key) != &Source::Default);
    if set {
        return (ports, None);
    }
    let fix = privilege::low_port_fix(caddy, ports.http_port.min(ports.https_port));
    if fix.is_some() {
        ports.http_port = privilege::FALLBACK_HTTP;
        ports.https_port = privilege::FALLBACK_HTTPS;
    }
    (ports, fix)
}

/// Where `run`'s Caddy reaches the proxy on Unix: one socket per proxy thread, which Caddy
/// spreads its connections over (a Unix socket has no SO_REUSEPORT to do it). Faster than
/// loopback TCP (bench/run.sh `caddy-pp` vs `caddy-pp-tcp`), and only this user may open the
/// sockets. None on Windows, and when the path is too long for a
/// socket address (`sun_path`: 104 bytes on macOS, 108 on Linux, with the NUL).
pub(crate) fn proxy_sockets(paths: &Paths, threads: usize) -> Option<Vec<PathBuf>> {
    if !cfg!(unix) {
        return None;
    }
    let sockets: Vec<PathBuf> = (0..threads.max(1))
        .map(|i| paths.socket_dir().join(format!("{i}.sock")))
        .collect();
    sockets
        .iter()
        .all(|socket| socket.as_os_str().len() < 104)
        .then_some(sockets)
}

/// The Caddyfile for a config: its sites, ports, the upstream, the admin endpoint.
pub(crate) fn caddyfile_for(config: &Config, paths: &Paths, admin: &AdminAddress) -> Caddyfile {
    let public = config.settings.domains.iter().any(|d| !is_local(d));
    let sites: Vec<Site> = config
        .settings
        .domains
        .iter()
        .map(|domain| Site {
            domain: domain.clone(),
            tls: match (&config.settings.tls, is_local(domain)) {
                (_, true) | (TlsChoice::Internal, false) => Tls::Internal,
                (TlsChoice::OnDemand, false) => Tls::OnDemand,
                (TlsChoice::Dns { provider }, false) => Tls::Dns {
                    provider: provider.clone(),
                },
            },
            // Beside a public domain, Caddy listens on every interface: its local sites
            // answer only clients on this machine.
            loopback_only: public && is_local(domain),
        })
        .collect();
    let upstream = match proxy_sockets(paths, config.settings.threads) {
        Some(sockets) => sockets
            .iter()
            .map(|socket| format!("unix/{}", socket.display()))
            .collect::<Vec<_>>()
            .join(" "),
        // Caddy reaches the proxy on loopback even when the proxy listens on all interfaces.
        None if config.settings.listen.ip().is_unspecified() => {
            format!("127.0.0.1:{}", config.settings.listen.port())
        }
        None => config.settings.listen.to_string(),
    };
    Caddyfile {
        sites,
        http_port: config.caddy_ports().http_port.to_string(),
        https_port: config.caddy_ports().https_port.to_string(),
        upstream,
        // Reachable from the internet, every on-demand certificate (the local CA's too) is
        // one a stranger can ask for by name: the proxy approves only names people visit.
        ask: public.then(|| format!("http://{}/caddy/ask", config.settings.admin)),
        admin: admin.address(),
        storage: Some(paths.storage().display().to_string()),
        bind: (!public).then(|| "127.0.0.1 [::1]".to_string()),
        secret: config.caddy_in_front.and_then(|ports| ports.secret_text()),
    }
}

/// The addresses Caddy will bind for `front`'s HTTP and HTTPS ports.
pub(crate) fn bind_addrs(config: &Config) -> Vec<std::net::SocketAddr> {
    let local = config.settings.domains.iter().all(|d| is_local(d));
    let hosts: &[&str] = if local {
        &["127.0.0.1", "[::1]"]
    } else {
        &["0.0.0.0", "[::]"]
    };
    [
        config.caddy_ports().http_port,
        config.caddy_ports().https_port,
    ]
    .iter()
    .flat_map(|port| {
        hosts
            .iter()
            .filter_map(move |h| format!("{h}:{port}").parse().ok())
    })
    .collect()
}

/// The HTTP and HTTPS addresses Caddy will bind, named by the flag that moves them.
pub(crate) fn binds(config: &Config) -> Vec<(&'static str, std::net::SocketAddr)> {
    bind_addrs(config)
        .into_iter()
        .map(|addr| {
            let key = if addr.port() == config.caddy_ports().https_port {
                "https-port"
            } else {
                "http-port"
            };
            (key, addr)
        })
        .collect()
}

/// Writes the rendered Caddyfile where `run` points Caddy at it.
pub(crate) fn write_caddyfile(paths: &Paths, text: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(&paths.data)?;
    let path = paths.caddyfile();
    std::fs::write(&path, text)?;
    Ok(path)
}

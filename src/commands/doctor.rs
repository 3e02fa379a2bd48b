//! `portproxy doctor`: each thing `run` depends on, checked, as a ✓, ! (works, could be
//! better) or ✗ line with the fix.

use std::net::{IpAddr, SocketAddr, UdpSocket};

use crate::caddy::{self, locate, Paths};
use crate::cli::DoctorArgs;
use crate::commands::hosts;
use crate::config::{Config, Settings};
use crate::error::Error;
use crate::paths::process_env;
use crate::plan::{InFront, Plan, Purpose};
use crate::ports;
use crate::resolver;
use crate::route;

/// One line of the report.
struct Check {
    /// Stable for scripts (`doctor --json`): `config`, `ports`, `port.<setting>`, `caddy`,
    /// `caddyfile`, `dns.<domain>`, `local-ca`, `names`.
    id: String,
    ok: bool,
    what: String,
    fix: Option<String>,
}

impl Check {
    /// `ok`, `warn` (works, could be better) or `fail`.
    fn status(&self) -> &'static str {
        match (self.ok, &self.fix) {
            (false, _) => "fail",
            (true, Some(_)) => "warn",
            (true, None) => "ok",
        }
    }
}

fn pass(id: impl Into<String>, what: impl Into<String>) -> Check {
    Check {
        id: id.into(),
        ok: true,
        what: what.into(),
        fix: None,
    }
}

/// Fine, but there is something better: printed with `!`, not counted as a problem.
fn warn(id: impl Into<String>, what: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        id: id.into(),
        ok: true,
        what: what.into(),
        fix: Some(fix.into()),
    }
}

fn fail(id: impl Into<String>, what: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        id: id.into(),
        ok: false,
        what: what.into(),
        fix: Some(fix.into()),
    }
}

pub(crate) fn doctor(args: DoctorArgs) -> Result<(), Error> {
    let (config_check, settings) = check_config(&args);
    let mut checks = vec![config_check];
    if let Some(settings) = settings {
        let plan = Plan::resolve(Box::new(move || Ok(settings.clone())), Purpose::Describe)?;
        checks.extend(check_ports_and_caddy(&plan));
        checks.extend(check_domains(&plan.config, &plan.paths));
    }
    let problems = checks.iter().filter(|c| !c.ok).count();
    if args.json {
        print_json(&checks, problems);
    } else {
        print_lines(&checks);
    }
    match problems {
        0 => Ok(()),
        problems => Err(Error::Unhealthy { problems }),
    }
}

/// The settings `run` would use (flags, environment, config file), if they are valid.
fn check_config(args: &DoctorArgs) -> (Check, Option<Settings>) {
    match args.run.settings(&process_env) {
        Ok(settings) => {
            let source = settings
                .file
                .as_ref()
                .map_or("built-in defaults".to_string(), |f| f.display().to_string());
            (
                pass("config", format!("config: valid ({source})")),
                Some(settings),
            )
        }
        Err(e) => (fail("config", format!("config: {e}"), e.help()), None),
    }
}

/// The ports the proxy and Caddy bind, the Caddy found, and whether it accepts the Caddyfile.
fn check_ports_and_caddy(plan: &Plan) -> Vec<Check> {
    let config = &plan.config;
    let mut checks = Vec::new();
    if let Ok(InFront { fix: Some(fix), .. }) = &plan.caddy {
        checks.push(warn(
            "ports",
            format!(
                "ports: as this user Caddy can't bind 80 and 443, so `portproxy` serves HTTPS on {} and HTTP on {} (the URLs carry the port)",
                config.caddy_ports().https_port, config.caddy_ports().http_port
            ),
            format!("for URLs without a port: {fix}"),
        ));
    }
    checks.extend(check_ports(config));
    match &plan.caddy {
        Ok(InFront { found, .. }) => {
            checks.push(pass(
                "caddy",
                format!("caddy: {} at {}", found.version, found.path.display()),
            ));
            checks.push(check_caddyfile(&plan.caddyfile, &found.path));
        }
        Err(absent) => checks.push(fail(
            "caddy",
            format!("caddy: {absent}"),
            format!("install Caddy: {}", locate::install_hint()),
        )),
    }
    checks
}

/// The domains: a public one's DNS and relays, a local one's CA and names.
fn check_domains(config: &Config, paths: &Paths) -> Vec<Check> {
    let domains = &config.settings.domains;
    let mut checks: Vec<Check> = domains
        .iter()
        .filter(|d| !route::is_local(d))
        .map(|d| check_dns(d))
        .collect();
    if let Some(public) = config.settings.public_domain() {
        checks.push(relay_warning(public, config.settings.listen));
    }
    if domains.iter().any(|d| route::is_local(d)) {
        checks.push(check_local_ca(paths));
    }
    if let Some(domain) = domains.iter().find(|d| route::is_local(d)) {
        checks.push(check_names(config, domain));
    }
    checks
}

/// The local CA Caddy signs `*.localhost` with must be trusted by the system.
fn check_local_ca(paths: &Paths) -> Check {
    match crate::caddy::trust::is_trusted(paths) {
        Some(true) => pass("local-ca", "local CA: trusted by the system"),
        Some(false) if !paths.root_cert().is_file() => fail(
            "local-ca",
            "local CA: not created yet",
            "start `portproxy` once, then run `portproxy trust`",
        ),
        Some(false) => fail(
            "local-ca",
            "local CA: not trusted by the system",
            "run `portproxy trust`",
        ),
        None => pass(
            "local-ca",
            "local CA: trust can't be checked on this OS; `portproxy trust` installs it",
        ),
    }
}

/// `doctor --json`: one object for scripts.
fn print_json(checks: &[Check], problems: usize) {
    let list: Vec<_> = checks
        .iter()
        .map(|c| serde_json::json!({ "id": c.id, "status": c.status(), "check": c.what, "fix": c.fix }))
        .collect();
    println!(
        "{}",
        serde_json::json!({ "problems": problems, "checks": list })
    );
}

/// One ✓, ! or ✗ line per check, each fix under it.
fn print_lines(checks: &[Check]) {
    for check in checks {
        let mark = match check.status() {
            "fail" => "✗",
            "warn" => "!",
            _ => "✓",
        };
        println!("{mark} {}", check.what);
        if let Some(fix) = &check.fix {
            println!("  fix: {fix}");
        }
    }
}

fn check_ports(config: &Config) -> Vec<Check> {
    let mut addrs: Vec<(&str, SocketAddr)> = vec![
        ("listen", config.settings.listen),
        ("admin", config.settings.admin),
    ];
    addrs.extend(caddy::binds(config));
    // One id per check: Caddy binds a key on 127.0.0.1 and on [::1]; the second is
    // `port.https-port.ipv6`.
    let mut seen = std::collections::HashSet::new();
    addrs
        .into_iter()
        .map(|(key, addr)| {
            let id = match seen.insert(key) {
                true => format!("port.{key}"),
                false if addr.is_ipv6() => format!("port.{key}.ipv6"),
                false => format!("port.{key}.{addr}"),
            };
            match std::net::TcpListener::bind(addr) {
                Ok(_) => pass(id, format!("port {addr} (`{key}`): free")),
                Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
                    pass(id, format!("port {addr} (`{key}`): this machine has no such address; skipped"))
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => fail(
                    id,
                    format!("port {addr} (`{key}`): needs privileges ({e})"),
                    "run as root, `sudo setcap cap_net_bind_service=+ep $(which caddy)`, or use --http-port 8080 --https-port 8443",
                ),
                Err(e) => match ports::holder(addr.port()) {
                    Some(holder) if holder.starts_with("portproxy") || holder.starts_with("caddy") && is_ours(config) => {
                        pass(id, format!("port {addr} (`{key}`): in use by {holder} (portproxy is running)"))
                    }
                    Some(holder) => fail(
                        id,
                        format!("port {addr} (`{key}`): in use by {holder}"),
                        crate::error::free_port_help(key, &holder),
                    ),
                    None => fail(id, format!("port {addr} (`{key}`): {e}"), format!("free it or choose another port with --{key}")),
                },
            }
        })
        .collect()
}

/// A running portproxy answers on its admin listener.
fn is_ours(config: &Config) -> bool {
    std::net::TcpStream::connect(config.settings.admin).is_ok()
}

/// Lets this Caddy parse the Caddyfile `run` would give it.
fn check_caddyfile(text: &str, caddy_bin: &std::path::Path) -> Check {
    // A directory of our own with a random name (0700), never a predictable path in the
    // shared temp dir that another user could have planted with a symlink.
    let output = tempfile::Builder::new()
        .prefix("portproxy-doctor-")
        .tempdir()
        .and_then(|dir| {
            let file = dir.path().join("Caddyfile");
            std::fs::write(&file, text)?;
            std::process::Command::new(caddy_bin)
                .args(["adapt", "--adapter", "caddyfile", "--config"])
                .arg(&file)
                .output()
        });
    match output {
        Ok(out) if out.status.success() => pass("caddyfile", "caddyfile: this Caddy accepts it"),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            fail(
                "caddyfile",
                format!("caddyfile: rejected: {}", stderr.lines().last().unwrap_or("").trim()),
                "a DNS provider needs a Caddy built with its plugin (`caddy list-modules | grep dns.providers`)",
            )
        }
        Err(e) => fail(
            "caddyfile",
            format!("caddyfile: could not run caddy adapt: {e}"),
            "check the Caddy binary",
        ),
    }
}

/// A public domain: a relay in front of the proxy's TCP listener that does not say who its
/// client is (`ssh -R`, socat, frp, a TCP-mode tunnel) makes every remote client look like
/// this machine, and nothing can tell it from a local browser: say so, and the safe way.
fn relay_warning(public: &str, listen: SocketAddr) -> Check {
    warn(
        "relays",
        format!("relays: a relay to {listen} without X-Forwarded-For (ssh -R, socat, frp, a TCP tunnel) makes every remote client this machine: *.localhost and the dashboard, unsigned"),
        format!("reach {public} only through `portproxy run`'s Caddy, or put a relay that sends X-Forwarded-For in front and name it in trusted_proxies"),
    )
}

/// The base domain and a name under it must resolve to this machine.
fn check_dns(domain: &str) -> Check {
    let id = format!("dns.{domain}");
    let (base, wildcard) = (
        resolver::lookup(domain),
        resolver::lookup(&resolver::probe(domain)),
    );
    if base.is_empty() || wildcard.is_empty() {
        let missing = if base.is_empty() {
            domain.to_string()
        } else {
            format!("*.{domain}")
        };
        return fail(
            id,
            format!("dns: {missing} does not resolve"),
            format!("add A/AAAA records for {domain} and *.{domain} pointing at this machine"),
        );
    }
    let local: Vec<&IpAddr> = wildcard.iter().filter(|ip| is_this_machine(**ip)).collect();
    match local.first() {
        Some(ip) => pass(
            id,
            format!("dns: {domain} and *.{domain} resolve to {ip}, an address of this machine"),
        ),
        None => fail(
            id,
            format!(
                "dns: *.{domain} resolves to {}, not an address of this machine",
                wildcard[0]
            ),
            "fine behind NAT or a port forward to this machine; otherwise point the records here",
        ),
    }
}

/// An address is ours if the OS picks it as the source for a route to itself (no packet is sent).
fn is_this_machine(ip: IpAddr) -> bool {
    let any: SocketAddr = if ip.is_ipv4() {
        "0.0.0.0:0".parse()
    } else {
        "[::]:0".parse()
    }
    .expect("literal");
    UdpSocket::bind(any)
        .and_then(|s| s.connect((ip, 9)).and_then(|_| s.local_addr()))
        .is_ok_and(|local| local.ip() == ip)
}

/// Programs (curl, Node, Python, Safari) resolve names with `getaddrinfo`, not by the
/// browsers' rule that every `*.localhost` is this machine: a name that doesn't resolve is a
/// URL only browsers can open.
fn check_names(config: &Config, domain: &str) -> Check {
    let probe = resolver::probe(domain);
    let found = resolver::lookup(&probe);
    if let Some(ip) = found.iter().find(|ip| !ip.is_loopback()) {
        return fail(
            "names",
            format!("names: {probe} resolves to {ip}, not to this machine"),
            format!("something answers for *.{domain} (a DNS server or a hosts entry): remove that answer"),
        );
    }
    if !found.is_empty() {
        return pass(
            "names",
            format!("names: programs (curl, Node, Python) resolve *.{domain} to this machine"),
        );
    }
    let fix = names_fix();
    let served = hosts::served(config);
    match served.iter().find(|name| resolver::lookup(name).is_empty()) {
        None if !served.is_empty() => warn(
            "names",
            format!(
                "names: programs resolve the names of the ports listening now ({}) through the hosts file, not other *.{domain}",
                served.join(", ")
            ),
            format!("a running portproxy adds new names where it may write the hosts file (else run `sudo portproxy hosts --sync` again); for every name: {fix}"),
        ),
        unresolved => fail(
            "names",
            format!(
                "names: only browsers resolve {}; curl, Node and Python don't",
                unresolved.map_or(format!("*.{domain}"), String::clone)
            ),
            fix,
        ),
    }
}

/// The one step that makes programs resolve `*.localhost` here.
fn names_fix() -> String {
    #[cfg(target_os = "linux")]
    return resolver::linux_fix(&resolver::read_nss());
    #[cfg(windows)]
    return "from an Administrator prompt: `portproxy hosts --sync` (names of the ports listening now)".into();
    #[cfg(target_os = "macos")]
    return crate::dns::macos_fix(
        std::fs::read_to_string(
            std::path::Path::new(crate::dns::RESOLVER_DIR).join(crate::dns::ZONE),
        )
        .ok()
        .as_deref(),
    );
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    return "`sudo portproxy hosts --sync` (names of the ports listening now)".into();
}

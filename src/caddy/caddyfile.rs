//! The Caddyfile that puts Caddy in front of the proxy.
//!
//! Pure: settings in, text out. The shipped top-level `Caddyfile` is `render(&Caddyfile::template())`
//! (a test keeps them identical), so the file users read is the file `run` writes. Every line
//! parses on Caddy 2.6.2 (Debian 12, Ubuntu 24.04) as well as 2.11: `ask` rather than
//! `permission`, no `persist_config`, no `stream_close_delay`. No `encode`: on 2.6-2.8 it
//! holds server-sent events back until the stream ends.

use std::fmt::Write;

use crate::config::FRONT_HEADER;

/// Everything the Caddyfile depends on. Values are already validated (domains are
/// `[a-z0-9.-]`, provider names `[a-z0-9_]`), because Caddy substitutes text before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caddyfile {
    pub(crate) sites: Vec<Site>,
    pub(crate) http_port: String,
    pub(crate) https_port: String,
    /// Where Caddy reaches the proxy: its Unix sockets (`unix//…/0.sock unix//…/1.sock`), or
    /// where it listens (`127.0.0.1:24306`).
    pub(crate) upstream: String,
    /// The on-demand TLS gate: `http://127.0.0.1:24307/caddy/ask`; None when Caddy listens on
    /// loopback only (nobody else can name a certificate into being).
    pub(crate) ask: Option<String>,
    /// Caddy's admin API: `unix//…/caddy-admin.sock`, `127.0.0.1:PORT` or `off`; never the
    /// default `localhost:2019`.
    pub(crate) admin: String,
    /// Where Caddy keeps certificates and its local CA; None for Caddy's own default.
    pub(crate) storage: Option<String>,
    /// Addresses to listen on; None for all interfaces, where public sites check that the
    /// TLS name and the Host agree (`strict_sni_host`).
    pub(crate) bind: Option<String>,
    /// Where Caddy reaches the proxy over TCP: the secret it sends in `FRONT_HEADER`, so the
    /// proxy believes its `X-Forwarded-For` and no other local process's.
    pub(crate) secret: Option<String>,
}

/// One base domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Site {
    pub(crate) domain: String,
    pub(crate) tls: Tls,
    /// Answer only clients on this machine (a local domain on a listener the internet reaches).
    pub(crate) loopback_only: bool,
}

/// How a site gets its certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tls {
    /// Caddy's local CA, one certificate per name at its first handshake (a `*.localhost`
    /// wildcard certificate is rejected by clients).
    Internal,
    /// Let's Encrypt/ZeroSSL, one certificate per name at its first handshake, gated by `ask`.
    OnDemand,
    /// One wildcard certificate through the DNS challenge; needs a Caddy built with the
    /// provider's plugin. The token comes from `PORTPROXY_DNS_TOKEN` at run time.
    Dns { provider: String },
    /// The shipped template: the issuer comes from `PORTPROXY_TLS_ISSUER` (default `internal`;
    /// set it empty for public certificates). Only the test that writes the shipped file
    /// makes one.
    #[cfg_attr(not(test), allow(dead_code))]
    FromEnv,
}

/// The environment variable the DNS provider's token is read from.
pub(crate) const DNS_TOKEN_ENV: &str = "PORTPROXY_DNS_TOKEN";

impl Caddyfile {
    /// The shipped `Caddyfile`: one domain, values from the environment with local defaults.
    #[cfg(test)]
    fn template() -> Caddyfile {
        Caddyfile {
            sites: vec![Site {
                domain: "{$PORTPROXY_DOMAIN:localhost}".into(),
                tls: Tls::FromEnv,
                loopback_only: false,
            }],
            http_port: "{$PORTPROXY_HTTP_PORT:80}".into(),
            https_port: "{$PORTPROXY_HTTPS_PORT:443}".into(),
            upstream: "{$PORTPROXY_UPSTREAM:127.0.0.1:24306}".into(),
            ask: Some("http://{$PORTPROXY_ADMIN:127.0.0.1:24307}/caddy/ask".into()),
            admin: "off".into(),
            storage: None,
            bind: Some("{$PORTPROXY_BIND:127.0.0.1 [::1]}".into()),
            secret: None,
        }
    }
}

/// The text of `caddyfile`, formatted as `caddy fmt` would.
pub(crate) fn render(caddyfile: &Caddyfile) -> String {
    let mut out = String::new();
    header(&mut out, caddyfile);
    global_options(&mut out, caddyfile);
    http_redirect(&mut out, &caddyfile.https_port);
    for site in &caddyfile.sites {
        site_block(&mut out, site, caddyfile);
    }
    out
}

/// What the file is; the shipped template says how to use it.
fn header(out: &mut String, caddyfile: &Caddyfile) {
    let domains: Vec<&str> = caddyfile.sites.iter().map(|s| s.domain.as_str()).collect();
    let _ = writeln!(
        out,
        "# portproxy's Caddyfile: HTTPS for every port of {}.",
        domains.join(", ")
    );
    out.push_str(
        "# Caddy terminates TLS and hands every request to portproxy, which routes it by name.\n",
    );
    if matches!(
        caddyfile.sites.first(),
        Some(Site {
            tls: Tls::FromEnv,
            ..
        })
    ) {
        out.push_str(TEMPLATE_NOTES);
    }
}

/// The global options block.
fn global_options(out: &mut String, caddyfile: &Caddyfile) {
    out.push_str("{\n");
    let _ = writeln!(out, "\tadmin {}", caddyfile.admin);
    if let Some(storage) = &caddyfile.storage {
        let _ = writeln!(out, "\tstorage file_system {storage}");
    }
    let _ = writeln!(out, "\thttp_port {}", caddyfile.http_port);
    let _ = writeln!(out, "\thttps_port {}", caddyfile.https_port);
    out.push_str("\tgrace_period 5s\n");
    out.push_str(
        "\t# `portproxy trust` installs the local CA when you ask; no sudo prompt mid-run.\n",
    );
    out.push_str("\tskip_install_trust\n");
    out.push_str("\t# The http:// site below redirects itself, on every bind address.\n");
    out.push_str("\tauto_https disable_redirects\n");
    if let Some(bind) = &caddyfile.bind {
        let _ = writeln!(out, "\tdefault_bind {bind}");
    }
    if let Some(ask) = &caddyfile.ask {
        let _ = writeln!(out, "\ton_demand_tls {{\n\t\task {ask}\n\t}}");
    }
    if caddyfile.bind.is_none() {
        // Caddy routes by Host, not by the TLS name: a Host that differs from the name the
        // client's handshake asked for gets 421, so a certificate for one site can't carry
        // requests for another.
        out.push_str("\tservers {\n\t\tstrict_sni_host on\n\t}\n");
    }
    out.push_str("}\n\n");
}

/// The http:// site: every request redirected to https.
fn http_redirect(out: &mut String, https_port: &str) {
    // An explicit http:// site gets default_bind (Caddy 2.6.2's automatic redirect server
    // does not, and then listens on [::1] only).
    out.push_str("http:// {\n");
    let port = if https_port == "443" {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let _ = writeln!(out, "\tredir https://{{host}}{port}{{uri}} 308");
    out.push_str("}\n");
}

/// One base domain's site: its names, its certificates, who may reach it, and the proxy
/// behind it.
fn site_block(out: &mut String, site: &Site, caddyfile: &Caddyfile) {
    let d = &site.domain;
    // `*.` matches one label; a worktree's name (`feature-login.shop-web`) and an
    // allowed host's port (`db.internal--5432`) are two. One DNS-challenge wildcard
    // certificate covers one label only, so a DNS site serves one.
    match site.tls {
        Tls::Dns { .. } => {
            let _ = writeln!(out, "\n{d}, *.{d} {{");
        }
        _ => {
            let _ = writeln!(out, "\n{d}, *.{d}, *.*.{d} {{");
        }
    }
    match &site.tls {
        Tls::Internal => out.push_str("\ttls internal {\n\t\ton_demand\n\t}\n"),
        Tls::OnDemand => out.push_str("\ttls {\n\t\ton_demand\n\t}\n"),
        Tls::FromEnv => {
            out.push_str("\ttls {$PORTPROXY_TLS_ISSUER:internal} {\n\t\ton_demand\n\t}\n")
        }
        Tls::Dns { provider } => {
            let _ = writeln!(
                out,
                "\ttls {{\n\t\tdns {provider} {{env.{DNS_TOKEN_ENV}}}\n\t}}"
            );
        }
    }
    if site.loopback_only {
        out.push_str("\t@remote not remote_ip 127.0.0.0/8 ::1\n");
        let _ = writeln!(
            out,
            "\trespond @remote \"{d} is served only to this machine\" 403"
        );
    }
    let _ = writeln!(out, "\treverse_proxy {} {{", caddyfile.upstream);
    if let Some(secret) = &caddyfile.secret {
        let _ = writeln!(out, "\t\theader_up {FRONT_HEADER} {secret}");
    }
    out.push_str("\t\ttransport http {\n");
    out.push_str("\t\t\t# Pass Accept-Encoding through as the client sent it.\n");
    out.push_str("\t\t\tcompression off\n");
    out.push_str("\t\t}\n\t}\n}\n");
}

const TEMPLATE_NOTES: &str = "#
# `portproxy run` writes this file with your settings filled in (`portproxy caddyfile` prints
# it). To run Caddy yourself in front of `portproxy serve` instead:
#   caddy run --config Caddyfile --adapter caddyfile
# and start `portproxy serve --trusted-proxy 127.0.0.1`, so it believes Caddy's X-Forwarded-For
# (every local process is then believed too; `portproxy run` uses private sockets instead).
# Environment (defaults in brackets):
#   PORTPROXY_DOMAIN [localhost]           base domain; names are PORT.DOMAIN, HOST--PORT.DOMAIN
#   PORTPROXY_TLS_ISSUER [internal]        Caddy's local CA; set it empty for Let's Encrypt
#   PORTPROXY_BIND [127.0.0.1 [::1]]       set to `::` for a public domain
#   PORTPROXY_HTTP_PORT [80], PORTPROXY_HTTPS_PORT [443]
#   PORTPROXY_UPSTREAM [127.0.0.1:24306]   portproxy's --listen
#   PORTPROXY_ADMIN [127.0.0.1:24307]      portproxy's --admin (certificates only for names it serves)
";

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Caddyfile {
        Caddyfile {
            sites: vec![Site {
                domain: "localhost".into(),
                tls: Tls::Internal,
                loopback_only: false,
            }],
            http_port: "80".into(),
            https_port: "443".into(),
            upstream: "127.0.0.1:24306".into(),
            ask: None,
            admin: "unix//run/pp/caddy-admin.sock".into(),
            storage: Some("/data/pp/caddy".into()),
            bind: Some("127.0.0.1 [::1]".into()),
            secret: None,
        }
    }

    /// `PORTPROXY_BLESS=1 cargo test the_shipped_caddyfile` rewrites it after a change.
    #[test]
    fn the_shipped_caddyfile_is_the_template() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/Caddyfile");
        let rendered = render(&Caddyfile::template());
        if std::env::var_os("PORTPROXY_BLESS").is_some() {
            std::fs::write(path, &rendered).unwrap();
        }
        assert_eq!(std::fs::read_to_string(path).unwrap(), rendered);
    }

    #[test]
    fn local_mode() {
        let text = render(&local());
        assert!(text.contains("\tadmin unix//run/pp/caddy-admin.sock\n"));
        assert!(text.contains("\tstorage file_system /data/pp/caddy\n"));
        assert!(text.contains("\tdefault_bind 127.0.0.1 [::1]\n"));
        assert!(text.contains("\tskip_install_trust\n"));
        assert!(text.contains("\tgrace_period 5s\n"));
        assert!(text.contains(
            "localhost, *.localhost, *.*.localhost {\n\ttls internal {\n\t\ton_demand\n\t}\n"
        ));
        assert!(text.contains("\tredir https://{host}{uri} 308\n"));
        assert!(
            !text.contains("on_demand_tls"),
            "on loopback only, nobody else can name a certificate"
        );
        assert!(!text.contains("strict_sni_host"));
        assert!(!text.contains("encode"));
        assert!(!text.contains("2019"));
    }

    /// Finding 3 (issue 23): over TCP (Windows), Caddy proves it is the front `run` started.
    #[test]
    fn finding_3_over_tcp_caddy_sends_the_runs_secret() {
        let front = Caddyfile {
            upstream: "127.0.0.1:24306".into(),
            secret: Some("00112233445566778899aabbccddeeff".into()),
            ..local()
        };
        assert!(render(&front).contains(
            "\treverse_proxy 127.0.0.1:24306 {\n\t\theader_up x-portproxy-front 00112233445566778899aabbccddeeff\n"
        ));
        assert!(!render(&local()).contains("header_up"));
    }

    #[test]
    fn public_and_dns_modes() {
        let front = Caddyfile {
            sites: vec![
                Site {
                    domain: "localhost".into(),
                    tls: Tls::Internal,
                    loopback_only: true,
                },
                Site {
                    domain: "dev.example.com".into(),
                    tls: Tls::OnDemand,
                    loopback_only: false,
                },
                Site {
                    domain: "box.example.org".into(),
                    tls: Tls::Dns {
                        provider: "cloudflare".into(),
                    },
                    loopback_only: false,
                },
            ],
            https_port: "8443".into(),
            ask: Some("http://127.0.0.1:24307/caddy/ask".into()),
            bind: None,
            secret: None,
            ..local()
        };
        let text = render(&front);
        assert!(text.contains("\ton_demand_tls {\n\t\task http://127.0.0.1:24307/caddy/ask\n\t}\n"));
        assert!(
            text.contains("dev.example.com, *.dev.example.com, *.*.dev.example.com {\n\ttls {\n\t\ton_demand\n\t}\n")
        );
        assert!(text.contains("box.example.org, *.box.example.org {\n\ttls {\n\t\tdns cloudflare {env.PORTPROXY_DNS_TOKEN}\n\t}\n"));
        assert!(text.contains("\tredir https://{host}:8443{uri} 308\n"));
        assert!(!text.contains("default_bind"));
        assert!(text.contains("\tservers {\n\t\tstrict_sni_host on\n\t}\n"));
        assert!(text.contains("localhost, *.localhost, *.*.localhost {\n\ttls internal {\n\t\ton_demand\n\t}\n\t@remote not remote_ip 127.0.0.0/8 ::1\n\trespond @remote \"localhost is served only to this machine\" 403\n"));
        assert_eq!(
            text.matches("@remote").count(),
            2,
            "only the local site is guarded"
        );
    }
}

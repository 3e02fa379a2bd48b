//! What `run` and `serve` say once they serve: what is served and where, whether HTTPS is
//! there and trusted, the dashboard, how to stop. Plain lines for the user, not log records.
//! Pure: the facts come from start-up.

use crate::config::Config;

/// The log target of portproxy's own start-up and shutdown detail (which Caddy, its sockets,
/// the admin address): shown with -v or RUST_LOG, like Pingora's and Caddy's internals.
pub(crate) const DETAIL: &str = "portproxy::detail";

/// HTTPS as the user will meet it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Https {
    /// Caddy in front with its local CA (a local site): whether this machine trusts it
    /// (None: no way to tell on this system).
    LocalCa { trusted: Option<bool> },
    /// Caddy in front with public certificates only.
    Public,
    /// The proxy alone, and why.
    Off { why: String },
}

/// The banner, e.g.
///
/// ```text
/// portproxy 0.1.0 — serving https://PORT.localhost/ and https://NAME.localhost/
///   dashboard  https://localhost/
///   HTTPS      not trusted yet — run `portproxy trust`
///   stop       Ctrl-C
/// ```
pub(crate) fn render(config: &Config, https: &Https) -> String {
    let names = config.settings.names;
    let served = |domain: &str| {
        let port = format!("{}/", config.served_origin(Some("PORT"), domain));
        match names {
            true => format!("{port} and {}/", config.served_origin(Some("NAME"), domain)),
            false => port,
        }
    };
    let domains = &config.settings.domains;
    let mut out = format!(
        "portproxy {} — serving {}\n",
        env!("CARGO_PKG_VERSION"),
        served(&domains[0])
    );
    for domain in &domains[1..] {
        out.push_str(&format!("  {:<9}  {}\n", "and", served(domain)));
    }
    let dashboards: Vec<String> = domains
        .iter()
        .map(|d| format!("{}/", config.served_origin(None, d)))
        .collect();
    out.push_str(&format!("  dashboard  {}\n", dashboards.join("  ")));
    let https = match https {
        Https::LocalCa {
            trusted: Some(true),
        } => "trusted".to_string(),
        Https::LocalCa {
            trusted: Some(false),
        } => "not trusted yet — run `portproxy trust`".to_string(),
        Https::LocalCa { trusted: None } => {
            "Caddy's local CA (run `portproxy trust` if browsers warn)".to_string()
        }
        Https::Public => "public certificates, by Caddy".to_string(),
        Https::Off { why } => format!("none — {why}"),
    };
    out.push_str(&format!("  HTTPS      {https}\n"));
    out.push_str("  stop       Ctrl-C\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, CaddyPorts, Given};

    fn config(front: Option<u16>, env: &[(&str, &str)]) -> Config {
        let env = |key: &str| {
            env.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        };
        let settings = load(None, &Given::default(), &env).unwrap();
        let front = front.map(|https_port| CaddyPorts {
            http_port: 80,
            https_port,
            admin_port: None,
            secret: None,
        });
        Config::new(settings, front, None)
    }

    #[test]
    fn banner_says_what_where_https_dashboard_and_stop() {
        let version = env!("CARGO_PKG_VERSION");
        let run = config(Some(443), &[]);
        let untrusted = Https::LocalCa {
            trusted: Some(false),
        };
        assert_eq!(
            render(&run, &untrusted),
            format!(
                "portproxy {version} — serving https://PORT.localhost/ and https://NAME.localhost/\n\
                 \x20 dashboard  https://localhost/\n\
                 \x20 HTTPS      not trusted yet — run `portproxy trust`\n\
                 \x20 stop       Ctrl-C\n"
            )
        );
        let trusted = Https::LocalCa {
            trusted: Some(true),
        };
        assert!(render(&run, &trusted).contains("\n  HTTPS      trusted\n"));

        let two = config(
            Some(8443),
            &[
                ("PORTPROXY_DOMAINS", "localhost,dev.test"),
                ("PORTPROXY_NAMES", "false"),
            ],
        );
        assert_eq!(
            render(&two, &Https::Public),
            format!(
                "portproxy {version} — serving https://PORT.localhost:8443/\n\
                 \x20 and        https://PORT.dev.test:8443/\n\
                 \x20 dashboard  https://localhost:8443/  https://dev.test:8443/\n\
                 \x20 HTTPS      public certificates, by Caddy\n\
                 \x20 stop       Ctrl-C\n"
            )
        );

        let serve = config(None, &[]);
        let off = Https::Off {
            why: "`serve` is the proxy alone".into(),
        };
        assert!(render(&serve, &off).starts_with(&format!(
            "portproxy {version} — serving http://PORT.localhost:24306/ and http://NAME.localhost:24306/\n\
             \x20 dashboard  http://localhost:24306/\n\
             \x20 HTTPS      none — `serve` is the proxy alone\n"
        )));
    }
}

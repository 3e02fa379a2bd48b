//! Pages portproxy writes itself: errors and the dashboard.
//!
//! Pure: a `Page` and the client's `Accept` in, status + content type + body out. Browsers
//! get HTML (`html`, the port table and the dashboard's parts in `dashboard`); scripts get a
//! short JSON or text body (`json`, `text`). Never an empty 502.

mod dashboard;
mod html;
mod json;
mod text;

use crate::policy::Refusal;
use crate::port_links::PortLink;
use crate::route::RouteError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Page {
    /// Connection refused: the dev server is not up (yet).
    NotListening {
        target: String,
        listening: Vec<PortLink>,
    },
    ConnectTimeout {
        target: String,
    },
    /// The upstream accepted and then failed (reset, closed, garbage).
    UpstreamFailed {
        target: String,
        detail: String,
    },
    /// An allowed name that does not resolve.
    Unresolvable {
        name: String,
        detail: String,
    },
    /// `domains` is empty for clients who may not see the list; `domain` is the one the
    /// host is under (the examples use it).
    BadHost {
        error: RouteError,
        domain: Option<String>,
        domains: Vec<String>,
    },
    /// A local name (`*.localhost`) asked for by a client that is not on this machine.
    LocalOnly {
        host: String,
    },
    Refused {
        target: String,
        refusal: Refusal,
    },
    Loop {
        hops: u32,
    },
    /// `token` is what the page's share actions send; None (no Share buttons) for clients
    /// that are not this machine.
    Dashboard {
        domain: String,
        ports: Vec<PortLink>,
        token: Option<String>,
        /// The first public domain: the share dialog offers to make a port public there.
        public_domain: Option<String>,
    },
    /// A name two projects claim: each claim's number URL, page title and directory.
    NameClash {
        name: String,
        claims: Vec<(String, Option<String>, crate::names::Claim)>,
    },
    /// A name no process holds now: where it was when last seen, and what listens now.
    NameNotRunning {
        name: String,
        last: Option<crate::names::Claim>,
        listening: Vec<PortLink>,
    },
    /// The sign-in form on a public domain; `failed` after a wrong token.
    Login {
        domain: String,
        next: String,
        failed: bool,
    },
    /// A client without a session or token (browsers are redirected to the login instead).
    Unauthorized {
        login: String,
    },
    TooManyAttempts {
        retry_after: u64,
    },
    /// A share link that expired or was revoked.
    ShareEnded {
        ended: crate::share::Ended,
    },
    /// A share listener visited without the link's secret or its cookie.
    ShareNeedsLink,
}

/// What the client asked to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Html,
    Json,
    Text,
}

impl Format {
    /// From an `Accept` header: browsers ask for `text/html` first.
    pub(crate) fn from_accept(accept: Option<&str>) -> Format {
        let accept = accept.unwrap_or_default();
        if accept.contains("text/html") {
            Format::Html
        } else if accept.contains("application/json") {
            Format::Json
        } else {
            Format::Text
        }
    }
}

/// A page ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
    /// Headers the status needs (`WWW-Authenticate`, `Retry-After`).
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Page {
    pub(crate) fn status(&self) -> u16 {
        match self {
            Page::NotListening { .. }
            | Page::UpstreamFailed { .. }
            | Page::Unresolvable { .. }
            | Page::NameNotRunning { .. } => 502,
            Page::NameClash { .. } => 300,
            Page::ConnectTimeout { .. } => 504,
            Page::BadHost { error, .. } => error.status(),
            Page::Refused { .. } | Page::LocalOnly { .. } => 403,
            Page::Loop { .. } => 508,
            Page::Dashboard { .. } => 200,
            Page::Login { failed: true, .. } => 401,
            Page::Login { .. } => 200,
            Page::Unauthorized { .. } => 401,
            Page::TooManyAttempts { .. } => 429,
            Page::ShareEnded { .. } => 410,
            Page::ShareNeedsLink => 401,
        }
    }

    /// A stable machine-readable name (JSON `error`, logs).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Page::NotListening { .. } => "not_listening",
            Page::NameClash { .. } => "name_clash",
            Page::NameNotRunning { .. } => "name_not_running",
            Page::ConnectTimeout { .. } => "connect_timeout",
            Page::UpstreamFailed { .. } => "upstream_failed",
            Page::Unresolvable { .. } => "unresolvable",
            Page::BadHost {
                error: RouteError::UnknownDomain { .. },
                ..
            } => "unknown_host",
            Page::BadHost { .. } => "bad_host",
            Page::Refused { .. } => "refused",
            Page::LocalOnly { .. } => "local_only",
            Page::Loop { .. } => "loop",
            Page::Dashboard { .. } => "dashboard",
            Page::Login { .. } => "login",
            Page::Unauthorized { .. } => "unauthorized",
            Page::TooManyAttempts { .. } => "too_many_attempts",
            Page::ShareEnded { .. } => "share_ended",
            Page::ShareNeedsLink => "share_needs_link",
        }
    }

    fn title(&self) -> String {
        match self {
            Page::NotListening { target, .. } => format!("Nothing is listening on {target} yet"),
            Page::NameClash { name, .. } => format!("Several projects are called {name}"),
            Page::NameNotRunning { name, .. } => format!("{name} is not running"),
            Page::ConnectTimeout { target } => format!("{target} did not answer in time"),
            Page::UpstreamFailed { target, .. } => format!("{target} dropped the connection"),
            Page::Unresolvable { name, .. } => format!("`{name}` could not be resolved"),
            Page::BadHost {
                error: RouteError::UnknownDomain { .. },
                ..
            } => "Unknown host".into(),
            Page::BadHost { .. } => "This address does not name a port".into(),
            Page::Refused { target, .. } => format!("{target} is not reachable through portproxy"),
            Page::LocalOnly { host } => format!("{host} is served only to this machine"),
            Page::Loop { .. } => "Request loop detected".into(),
            Page::Dashboard { domain, .. } => format!("portproxy — {domain}"),
            Page::Login { domain, .. } => format!("Sign in to {domain}"),
            Page::Unauthorized { .. } => "Sign in first".into(),
            Page::TooManyAttempts { .. } => "Too many sign-in attempts".into(),
            Page::ShareEnded {
                ended: crate::share::Ended::Expired,
            } => "This link has expired".into(),
            Page::ShareEnded { .. } => "This link was revoked".into(),
            Page::ShareNeedsLink => "This address needs its share link".into(),
        }
    }

    /// One or two sentences: what happened and what to do.
    fn message(&self) -> String {
        match self {
            Page::NotListening { target, .. } => format!(
                "Nothing is listening on {target} yet. Start your dev server; this page reloads by itself when it comes up."
            ),
            Page::NameClash { name, claims } => format!(
                "{} listening ports belong to different projects called {name}; portproxy does not pick one. Open one by its number, or give one a label (`--label PORT=NAME`) or pin its directory to another name (`[names]`).",
                claims.len()
            ),
            Page::NameNotRunning { name, last: Some(last), .. } => format!(
                "Nothing runs as {name} right now{}; it was on port {} when portproxy last saw it. Start it again (on any port); this page reloads by itself when it comes up.",
                last.dir.as_ref().map(|d| format!(" (the project in {})", d.display())).unwrap_or_default(),
                last.port
            ),
            Page::NameNotRunning { name, last: None, .. } => format!(
                "No listening port is called {name}. A port is named after its project (package.json, Cargo.toml, pyproject.toml, go.mod, composer.json or deno.json, else its git work tree or directory) or a label; this page reloads by itself when one comes up."
            ),
            Page::ConnectTimeout { target } => {
                format!("Connecting to {target} timed out (504). Is the machine up and the port open?")
            }
            Page::UpstreamFailed { target, detail } => {
                format!("{target} accepted the connection but failed: {detail}.")
            }
            Page::Unresolvable { name, detail } => {
                format!("Looking up `{name}` failed: {detail}.")
            }
            Page::BadHost { error: error @ RouteError::UnknownDomain { .. }, domains, .. } if domains.is_empty() => format!("{error}."),
            Page::BadHost { error: error @ RouteError::UnknownDomain { .. }, domains, .. } => format!(
                "{error}. Domains served here: {}.",
                domains.join(", ")
            ),
            Page::BadHost { error, domain, .. } => {
                let domain = domain.as_deref().unwrap_or("DOMAIN");
                format!(
                    "{error}. Use PORT.{domain} (e.g. 5173.{domain}) or TARGET--PORT.{domain} (e.g. localhost--8000.{domain})."
                )
            }
            Page::Refused { refusal, .. } => match refusal.config_key() {
                Some(key) => format!("Refused: {refusal}. The setting that changes this is `{key}`."),
                None => format!("Refused: {refusal}. No setting changes this."),
            },
            Page::LocalOnly { host } => format!(
                "{host} names a port on this machine, and portproxy serves local names only to clients on this machine. From elsewhere, use a public domain (e.g. PORT.dev.example.com) and sign in."
            ),
            Page::Loop { hops } => format!(
                "This request already passed through portproxy {hops} times (x-portproxy-hops). A target probably points back at the proxy, or two proxies point at each other."
            ),
            Page::Dashboard { ports, .. } => format!("{} listening ports on loopback.", ports.len()),
            Page::Login { failed: true, .. } => {
                "That token is not right. It is in the config directory's `token` file, or in portproxy's log from its first start.".into()
            }
            Page::Login { .. } => {
                "Paste the access token portproxy printed at its first start (also in the config directory's `token` file).".into()
            }
            Page::Unauthorized { login } => format!(
                "This address needs a session: sign in at {login}, or send `Authorization: Bearer TOKEN`."
            ),
            Page::TooManyAttempts { retry_after } => {
                format!("Too many sign-in attempts from your address; try again in {retry_after} s.")
            }
            Page::ShareEnded { ended: crate::share::Ended::Expired } => {
                "This share link has expired. Ask whoever sent it for a new one.".into()
            }
            Page::ShareEnded { .. } => {
                "This share link was revoked. Ask whoever sent it for a new one.".into()
            }
            Page::ShareNeedsLink => {
                "This address opens a shared port only through its link (the one with ?portproxy-share=…). Open the link you were sent.".into()
            }
        }
    }

    fn ports(&self) -> Option<&[PortLink]> {
        match self {
            Page::NotListening { listening, .. } | Page::NameNotRunning { listening, .. } => {
                Some(listening)
            }
            Page::Dashboard { ports, .. } => Some(ports),
            _ => None,
        }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Page::Unauthorized { .. } => {
                vec![("www-authenticate", "Bearer realm=\"portproxy\"".into())]
            }
            Page::TooManyAttempts { retry_after } => vec![("retry-after", retry_after.to_string())],
            // No other site may frame them (clickjacking a sign-in, or reading the list).
            Page::Login { .. } | Page::Dashboard { .. } => vec![
                ("content-security-policy", "frame-ancestors 'none'".into()),
                ("x-frame-options", "DENY".into()),
            ],
            _ => Vec::new(),
        }
    }

    pub(crate) fn render(&self, format: Format) -> Rendered {
        let (content_type, body) = match format {
            Format::Json => ("application/json", self.json()),
            Format::Text => ("text/plain; charset=utf-8", self.text()),
            Format::Html => ("text/html; charset=utf-8", self.html()),
        };
        Rendered {
            status: self.status(),
            content_type,
            body,
            headers: self.headers(),
        }
    }
}

/// Text made safe inside an HTML element or attribute value.
// Here rather than in `html` because `dashboard` writes through it too, and `html` uses
// `dashboard`.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::Visibility;

    fn link(port: u16) -> PortLink {
        PortLink {
            port,
            url: format!("http://{port}.localhost:24306/"),
            name: None,
            name_url: None,
            clash: false,
            label: None,
            refused: None,
            public: false,
            public_url: None,
            visibility: Visibility::Private,
            process: Some(crate::ports::Holder {
                pid: 4242,
                name: "node".into(),
                command: "node /home/me/web/node_modules/.bin/vite".into(),
                project: Some("web".into()),
                found: None,
            }),
            title: Some("Vite <App> & co".into()),
        }
    }

    #[test]
    fn statuses_per_situation() {
        let refused = Page::Refused {
            target: "localhost:22".into(),
            refusal: Refusal::DeniedPort { port: 22 },
        };
        let rows = [
            (
                Page::NotListening {
                    target: "localhost:5173".into(),
                    listening: vec![],
                },
                502,
            ),
            (
                Page::ConnectTimeout {
                    target: "10.0.0.1:80".into(),
                },
                504,
            ),
            (
                Page::UpstreamFailed {
                    target: "x".into(),
                    detail: "reset".into(),
                },
                502,
            ),
            (
                Page::BadHost {
                    error: RouteError::BadPort { label: "0".into() },
                    domain: Some("localhost".into()),
                    domains: vec!["localhost".into()],
                },
                400,
            ),
            (
                Page::BadHost {
                    error: RouteError::UnknownDomain {
                        host: "evil.com".into(),
                    },
                    domain: None,
                    domains: vec!["localhost".into()],
                },
                404,
            ),
            (refused, 403),
            (Page::Loop { hops: 3 }, 508),
        ];
        for (page, status) in rows {
            for format in [Format::Html, Format::Json, Format::Text] {
                let r = page.render(format);
                assert_eq!(r.status, status);
                assert!(!r.body.is_empty(), "{page:?} {format:?}");
            }
        }
    }

    #[test]
    fn not_listening_retries_and_lists_ports() {
        let page = Page::NotListening {
            target: "localhost:5173".into(),
            listening: vec![link(3000), link(8000)],
        };
        let html = page.render(Format::Html).body;
        assert!(html.contains("Nothing is listening on localhost:5173 yet"));
        assert!(html.contains("setInterval"));
        assert!(html.contains("http://8000.localhost:24306/"));
        assert!(
            html.contains("<td>Vite &lt;App&gt; &amp; co</td>"),
            "titles are escaped"
        );
        let json: serde_json::Value =
            serde_json::from_str(&page.render(Format::Json).body).unwrap();
        assert_eq!(json["error"], "not_listening");
        assert_eq!(json["listening"][1]["port"], 8000);
        assert_eq!(json["listening"][1]["title"], "Vite <App> & co");
        assert!(page
            .render(Format::Text)
            .body
            .contains("  3000  http://3000.localhost:24306/"));
    }

    #[test]
    fn refusal_names_rule_and_key() {
        let page = Page::Refused {
            target: "localhost:2019".into(),
            refusal: Refusal::DeniedPort { port: 2019 },
        };
        let text = page.render(Format::Text).body;
        assert!(text.starts_with("403 Refused: port 2019 is on the deny list"));
        assert!(text.contains("`deny_ports`"));
    }

    #[test]
    fn bad_host_shows_the_grammar() {
        let page = Page::BadHost {
            error: RouteError::BadPort {
                label: "05173".into(),
            },
            domain: Some("dev.example.com".into()),
            domains: vec!["localhost".into(), "dev.example.com".into()],
        };
        let text = page.render(Format::Text).body;
        assert!(text.contains("`05173` is not a port"));
        assert!(text.contains("5173.dev.example.com"));
        assert!(text.contains("localhost--8000.dev.example.com"));
        assert!(!text.contains(".localhost"), "{text}");
    }

    #[test]
    fn accept_picks_format() {
        assert_eq!(
            Format::from_accept(Some("text/html,application/xhtml+xml")),
            Format::Html
        );
        assert_eq!(Format::from_accept(Some("application/json")), Format::Json);
        assert_eq!(Format::from_accept(Some("*/*")), Format::Text);
        assert_eq!(Format::from_accept(None), Format::Text);
    }
}

//! Pages portproxy writes itself: errors and the dashboard.
//!
//! Pure: a `Page` and the client's `Accept` in, status + content type + body out. Browsers
//! get HTML; scripts get a short JSON or text body. Never an empty 502.

use serde_json::json;

use crate::policy::Refusal;
use crate::port_links::PortLink;
use crate::route::RouteError;
use crate::share::Visibility;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
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
pub enum Format {
    Html,
    Json,
    Text,
}

impl Format {
    /// From an `Accept` header: browsers ask for `text/html` first.
    pub fn from_accept(accept: Option<&str>) -> Format {
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
pub struct Rendered {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Headers the status needs (`WWW-Authenticate`, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
}

impl Page {
    pub fn status(&self) -> u16 {
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
    pub fn kind(&self) -> &'static str {
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

    pub fn render(&self, format: Format) -> Rendered {
        let status = self.status();
        let headers = self.headers();
        match format {
            Format::Json => {
                let mut body = match self {
                    Page::Dashboard { domain, ports, .. } => {
                        json!({ "domain": domain, "ports": ports })
                    }
                    _ => {
                        json!({ "error": self.kind(), "status": status, "message": self.message() })
                    }
                };
                if let (Some(listening), Some(map)) = (
                    self.ports()
                        .filter(|_| !matches!(self, Page::Dashboard { .. })),
                    body.as_object_mut(),
                ) {
                    map.insert("listening".into(), json!(listening));
                }
                if let (Page::NameClash { claims, .. }, Some(map)) = (self, body.as_object_mut()) {
                    let claims: Vec<_> = claims
                        .iter()
                        .map(|(url, title, claim)| json!({ "port": claim.port, "url": url, "title": title, "dir": claim.dir }))
                        .collect();
                    map.insert("claims".into(), json!(claims));
                }
                Rendered {
                    status,
                    content_type: "application/json",
                    body: format!("{body}\n"),
                    headers,
                }
            }
            Format::Text => {
                let mut body = format!("{status} {}\n", self.message());
                if let Some(ports) = self.ports() {
                    for p in ports {
                        body.push_str(&format!("  {}  {}", p.port, p.url));
                        if let Some(name_url) = &p.name_url {
                            body.push_str(&format!("  {name_url}"));
                        }
                        body.push('\n');
                    }
                }
                if let Page::NameClash { claims, .. } = self {
                    for (url, _, claim) in claims {
                        let dir = claim.dir.as_ref().map(|d| d.display().to_string());
                        body.push_str(&format!(
                            "  {}  {url}  {}\n",
                            claim.port,
                            dir.unwrap_or_default()
                        ));
                    }
                }
                Rendered {
                    status,
                    content_type: "text/plain; charset=utf-8",
                    body,
                    headers,
                }
            }
            Format::Html => Rendered {
                status,
                content_type: "text/html; charset=utf-8",
                body: self.html(),
                headers,
            },
        }
    }

    fn html(&self) -> String {
        let mut main = format!(
            "<h1>{}</h1>\n<p>{}</p>\n",
            escape(&self.title()),
            escape(&self.message())
        );
        let token = match self {
            Page::Dashboard { token, .. } => token.as_deref(),
            _ => None,
        };
        if let Some(ports) = self.ports() {
            let dashboard = matches!(self, Page::Dashboard { .. });
            main.push_str(&ports_table(ports, !dashboard, dashboard, token.is_some()));
        }
        if let Page::NameClash { claims, .. } = self {
            main.push_str("<table><tr><th>Port</th><th>Project directory</th><th>Page title</th><th>URL</th></tr>\n");
            for (url, title, claim) in claims {
                let dir = claim.dir.as_ref().map(|d| d.display().to_string());
                main.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{3}\">{3}</a></td></tr>\n",
                    claim.port,
                    escape(&dir.unwrap_or_default()),
                    escape(title.as_deref().unwrap_or("")),
                    escape(url)
                ));
            }
            main.push_str("</table>\n");
        }
        if let Page::Login { next, .. } = self {
            main.push_str(&format!(
                "<form method=\"post\" action=\"/login\">\n<input type=\"hidden\" name=\"next\" value=\"{}\">\n<label>Access token<br><input type=\"password\" name=\"token\" autocomplete=\"current-password\" autofocus required></label>\n<button type=\"submit\">Sign in</button>\n</form>\n",
                escape(next)
            ));
        }
        if let Page::Unauthorized { login } = self {
            main.push_str(&format!(
                "<p><a href=\"{0}\">Sign in</a></p>\n",
                escape(login)
            ));
        }
        // Poll rather than meta-refresh, so the page doesn't flash while waiting.
        let script = if matches!(self, Page::Dashboard { .. }) {
            format!("<script>{DASHBOARD_SCRIPT}</script>\n")
        } else if matches!(
            self,
            Page::NotListening { .. } | Page::NameNotRunning { .. }
        ) {
            "<noscript><meta http-equiv=\"refresh\" content=\"2\"></noscript>\n<script>setInterval(function(){fetch(location.href,{method:'HEAD',cache:'no-store'}).then(function(r){if(r.status!==502)location.reload()}).catch(function(){})},2000)</script>\n".into()
        } else {
            String::new()
        };
        let after = match (token, self) {
            (Some(token), Page::Dashboard { public_domain, .. }) => {
                share_dialog(token, public_domain.as_deref())
            }
            _ => String::new(),
        };
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>{title}</title>\n<style>{STYLE}</style></head>\n<body><main>\n{main}<footer>portproxy {version}</footer>\n</main>\n{after}{script}</body></html>\n",
            title = escape(&self.title()),
            version = env!("CARGO_PKG_VERSION"),
        )
    }
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}\
main{max-width:68rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px #0002}\
h1{font-size:1.4rem;margin-top:0}table{border-collapse:collapse;width:100%}\
td,th{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6ea}td a{overflow-wrap:anywhere}\
a{color:#0b5fff}form{display:grid;gap:1rem}input[type=password],select,input.link{width:100%;padding:.6rem;font:inherit;border:1px solid #c5cbd3;border-radius:8px;box-sizing:border-box}\
button{padding:.6rem 1.2rem;font:inherit;border:0;border-radius:8px;background:#0b5fff;color:#fff;cursor:pointer;justify-self:start}\
td button{padding:.3rem .7rem;font-size:.9rem;margin:.1rem 0}button.plain,button.copy{background:#e8ecf2;color:#1d2430}\
button:focus-visible,a:focus-visible,select:focus-visible{outline:3px solid #f59f00;outline-offset:2px}\
.tag{font-size:.85rem;margin-left:.5rem}.public{color:#087f5b}.shared{color:#9c36b5}.private{color:#5c6570}.actions{white-space:nowrap}\
.hidden{position:absolute;left:-9999px}footer{margin-top:2rem;color:#8a93a0;font-size:.85rem}\
dialog{border:0;border-radius:12px;padding:1.5rem;width:min(30rem,calc(100vw - 3rem));box-shadow:0 4px 24px #0004}\
dialog h2{margin-top:0;font-size:1.2rem}dialog label{display:grid;gap:.3rem}.buttons{display:flex;gap:.5rem;flex-wrap:wrap}\
.link-item{border:1px solid #e3e6ea;border-radius:8px;padding:.8rem;margin-bottom:1rem;display:grid;gap:.5rem}\
.qr svg{width:180px;height:180px;display:block}\
.note{color:#a14;font-size:.9rem}.number{font-size:.85rem;margin-left:.5rem;color:#8a93a0}@media(max-width:40rem){main{margin:0;padding:1rem;border-radius:0}\
table,tbody,tr,td{display:block}tr.head{display:none}tr{padding:.6rem 0;border-bottom:1px solid #e3e6ea}\
td{border:0;padding:.1rem 0}td:empty{display:none}td:first-child{font-weight:600}\
.actions{white-space:normal;padding-top:.4rem}}@media(prefers-color-scheme:dark){body{background:#111418;color:#dde3ea}\
main,dialog{background:#1b2027;color:#dde3ea}td,th,tr{border-color:#2b323c}a{color:#7aa7ff}\
button.plain,button.copy{background:#2b323c;color:#dde3ea}}";

fn ports_table(ports: &[PortLink], other_ports: bool, dashboard: bool, sharing: bool) -> String {
    if ports.is_empty() {
        return "<div id=\"ports\"><p>No TCP ports are listening on loopback right now.</p></div>\n"
            .into();
    }
    let heading = if other_ports {
        "<h2>Listening now</h2>\n"
    } else {
        ""
    };
    let mut rows = String::new();
    for p in ports {
        // By name first, the number beside it.
        let links = match &p.name_url {
            Some(name_url) => format!(
                "<a href=\"{0}\">{0}</a> <a href=\"{1}\" class=\"number\">{1}</a>",
                escape(name_url),
                escape(&p.url)
            ),
            None => format!("<a href=\"{0}\">{0}</a>", escape(&p.url)),
        };
        let link = match &p.refused {
            Some(why) => format!("<span class=\"note\">refused: {}</span>", escape(why)),
            // The dashboard has a column for it; other lists tag the link.
            None if !dashboard && p.visibility != Visibility::Private => format!(
                "{links}<span class=\"tag {0}\">{0}</span>",
                visibility_word(p.visibility)
            ),
            None => links,
        };
        let name = match (&p.name, p.clash) {
            (Some(name), true) => format!(
                "{}<span class=\"note\" title=\"another project has this name too\"> clash</span>",
                escape(name)
            ),
            (Some(name), false) => escape(name),
            (None, _) => String::new(),
        };
        let (project, command) = match &p.process {
            Some(h) => (
                h.project.as_deref().unwrap_or(""),
                format!(
                    "<code title=\"{}\">{}</code>",
                    escape(&h.command),
                    escape(&h.name)
                ),
            ),
            None => ("", "<span class=\"note\">another user's</span>".to_string()),
        };
        let mut row = format!(
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            name,
            p.port,
            escape(p.label.as_deref().unwrap_or("")),
            escape(project),
            command,
            escape(p.title.as_deref().unwrap_or("")),
            link
        );
        if dashboard {
            let public_link = p.public_url.as_ref().map_or(String::new(), |url| {
                format!(" <a href=\"{0}\" class=\"number\">{0}</a>", escape(url))
            });
            row.push_str(&format!(
                "<td class=\"who\"><span class=\"{0}\">{0}</span>{public_link}</td>",
                visibility_word(p.visibility)
            ));
            let mut actions = format!(
                "<button type=\"button\" class=\"copy\" data-url=\"{0}\" aria-label=\"Copy the URL of port {1}\">Copy URL</button>",
                escape(p.name_url.as_deref().unwrap_or(&p.url)),
                p.port
            );
            if sharing && p.refused.is_none() {
                actions.push_str(&format!(
                    " <button type=\"button\" class=\"share\" id=\"share-{0}\" data-port=\"{0}\" aria-label=\"Share port {0}\">Share…</button>",
                    p.port
                ));
            }
            row.push_str(&format!("<td class=\"actions\">{actions}</td>"));
        }
        rows.push_str(&format!("<tr>{row}</tr>\n"));
    }
    let extra = if dashboard {
        "<th>Who</th><th><span class=\"hidden\">Actions</span></th>"
    } else {
        ""
    };
    format!("{heading}<div id=\"ports\"><table><tr class=\"head\"><th>Name</th><th>Port</th><th>Label</th><th>Project</th><th>Process</th><th>Page title</th><th>URL</th>{extra}</tr>\n{rows}</table></div>\n")
}

fn visibility_word(visibility: Visibility) -> &'static str {
    match visibility {
        Visibility::Private => "private",
        Visibility::Shared => "shared",
        Visibility::Public => "public",
    }
}

/// The dialog the Share buttons open: the port's live links (each with its QR code and a
/// Revoke button, filled in by the script), whether it is public, and a form for a new link
/// (or, with a public domain, to make the port public there for a while).
fn share_dialog(token: &str, public_domain: Option<&str>) -> String {
    let public = public_domain.map_or(String::new(), |domain| {
        format!(
            "<option value=\"public\">Anyone, on {} without signing in</option>\n",
            escape(domain)
        )
    });
    format!(
        "<dialog id=\"share\" data-token=\"{}\" aria-labelledby=\"share-title\">\n\
<h2 id=\"share-title\">Share port <span id=\"share-port\"></span></h2>\n\
<div id=\"share-list\" aria-live=\"polite\"></div>\n\
<form id=\"share-form\">\n\
<label>Who can open it<select name=\"reach\">\n\
<option value=\"lan\">Phones and computers on this network (plain HTTP)</option>\n\
<option value=\"loopback\">Only this machine (for a tunnel of your own)</option>\n\
<option value=\"cloudflared\">Anyone with the link, through cloudflared</option>\n\
<option value=\"tailscale\">Your tailnet, through tailscale serve</option>\n\
<option value=\"ngrok\">Anyone with the link, through ngrok</option>\n\
{}</select></label>\n\
<label>For<select name=\"for\">\n\
<option value=\"900\">15 minutes</option>\n\
<option value=\"3600\" selected>1 hour</option>\n\
<option value=\"28800\">8 hours</option>\n\
<option value=\"86400\">1 day</option>\n\
<option value=\"604800\">7 days</option>\n\
</select></label>\n\
<p id=\"share-error\" class=\"note\" role=\"alert\"></p>\n\
<div class=\"buttons\"><button type=\"submit\" id=\"share-create\">Create link</button> <button type=\"button\" id=\"share-close\" class=\"plain\">Close</button></div>\n\
</form>\n</dialog>\n",
        escape(token),
        public
    )
}

/// The dashboard's script: live rows without reloads, Copy, and the Share dialog.
const DASHBOARD_SCRIPT: &str = include_str!("dashboard.js");

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
    fn html_escapes_what_the_client_sent() {
        let page = Page::BadHost {
            error: RouteError::UnknownDomain {
                host: "<script>x</script>".into(),
            },
            domain: None,
            domains: vec!["localhost".into()],
        };
        let html = page.render(Format::Html).body;
        assert!(!html.contains("<script>x"));
        assert!(html.contains("&lt;script&gt;"));
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

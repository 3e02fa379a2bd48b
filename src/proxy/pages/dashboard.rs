//! The listening ports in HTML: the table on the dashboard and on the pages that list what
//! listens (the dashboard's with who can open each port, Copy and Share), the Share dialog and
//! the dashboard's script.

use super::escape;
use crate::port_links::PortLink;
use crate::share::Visibility;

pub(super) fn ports_table(
    ports: &[PortLink],
    other_ports: bool,
    dashboard: bool,
    sharing: bool,
) -> String {
    if ports.is_empty() {
        return "<div id=\"ports\"><p>No TCP ports are listening on loopback right now.</p></div>\n"
            .into();
    }
    let heading = if other_ports {
        "<h2>Listening now</h2>\n"
    } else {
        ""
    };
    let rows: String = ports
        .iter()
        .map(|p| format!("<tr>{}</tr>\n", row(p, dashboard, sharing)))
        .collect();
    let extra = if dashboard {
        "<th>Who</th><th><span class=\"hidden\">Actions</span></th>"
    } else {
        ""
    };
    format!("{heading}<div id=\"ports\"><table><tr class=\"head\"><th>Name</th><th>Port</th><th>Label</th><th>Project</th><th>Process</th><th>Page title</th><th>URL</th>{extra}</tr>\n{rows}</table></div>\n")
}

/// One port's row: its name, number, label, project, process, page title and link; on the
/// dashboard also who may open it and its buttons.
fn row(p: &PortLink, dashboard: bool, sharing: bool) -> String {
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
        row.push_str(&who_and_actions(p, sharing));
    }
    row
}

/// The dashboard's two last cells of a row: who may open the port, and Copy URL and Share….
fn who_and_actions(p: &PortLink, sharing: bool) -> String {
    let public_link = p.public_url.as_ref().map_or(String::new(), |url| {
        format!(" <a href=\"{0}\" class=\"number\">{0}</a>", escape(url))
    });
    let mut cells = format!(
        "<td class=\"who\"><span class=\"{0}\">{0}</span>{public_link}</td>",
        visibility_word(p.visibility)
    );
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
    cells.push_str(&format!("<td class=\"actions\">{actions}</td>"));
    cells
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
pub(super) fn share_dialog(token: &str, public_domain: Option<&str>) -> String {
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
pub(super) const DASHBOARD_SCRIPT: &str = include_str!("../dashboard.js");

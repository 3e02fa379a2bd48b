//! A page as plain text, for scripts and terminals: the status and message, then the
//! listening ports or a clash's claims, one a line.

use super::Page;

impl Page {
    pub(super) fn text(&self) -> String {
        let mut body = format!("{} {}\n", self.status(), self.message());
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
        body
    }
}

//! A page as HTML, for browsers: one document with the page's title, message and own parts
//! (a port table, a clash's claims, the sign-in form), the style sheet and the footer.

use super::dashboard::{ports_table, share_dialog, DASHBOARD_SCRIPT};
use super::{escape, Page};

impl Page {
    pub(super) fn html(&self) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::pages::Format;
    use crate::route::RouteError;

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
}

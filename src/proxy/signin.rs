//! Carrying out the gate's answers that are ours to write: the login page and form, sign-out,
//! CORS preflights, and the redirect or 401 for clients without a session. What to do is
//! `gate`'s decision; this is the I/O.

use bytes::Bytes;
use log::{info, warn};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use pingora::Result;

use super::answer::{drain, send_page};
use super::pages::{Format, Page};
use crate::auth::limiter::Trier;
use crate::auth::{cookie, cors};
use crate::form;
use crate::gate::{Action, Client, Keys};

/// The longest login form we read.
const MAX_FORM: usize = 8 * 1024;

/// The request's public side, for the URLs the answers point at.
pub struct Public<'a> {
    pub domain: &'a str,
    /// `https://dev.example.com` (with the client's port, if it gave one).
    pub base_url: String,
    /// `https://5173.dev.example.com/path?q`: where the user was going.
    pub url: String,
    pub secure: bool,
    pub format: Format,
    pub client: Client,
}

/// Writes the answer for every action but `Pass` and `LocalOnly`.
pub async fn answer(
    session: &mut Session,
    action: Action,
    keys: &Keys<'_>,
    public: &Public<'_>,
) -> Result<()> {
    match action {
        Action::LoginPage => {
            let page = Page::Login {
                domain: public.domain.to_string(),
                next: next_param(session),
                failed: false,
            };
            send_page(session, &page, Format::Html).await
        }
        Action::LoginAttempt => login(session, keys, public).await,
        Action::Logout => {
            for id in cookie::session_ids(&session.req_header().headers) {
                keys.sessions.end(id);
            }
            let cookie = cookie::cleared_cookie(public.domain, public.secure);
            let login = format!("{}/login", public.base_url);
            redirect(session, 303, &login, Some(cookie)).await
        }
        Action::Preflight { origin } => {
            let mut resp = ResponseHeader::build(204, Some(8))?;
            for (name, value) in cors::preflight_headers(&origin, &session.req_header().headers) {
                resp.insert_header(name, value)?;
            }
            resp.insert_header("content-length", "0")?;
            session.write_response_header(Box::new(resp), true).await
        }
        Action::SignIn { redirect: browser } => {
            let login = format!(
                "{}/login?next={}",
                public.base_url,
                form::encode(&public.url)
            );
            if browser {
                redirect(session, 302, &login, None).await
            } else {
                send_page(session, &Page::Unauthorized { login }, public.format).await
            }
        }
        Action::TooManyAttempts { retry_after } => {
            warn!(
                "refused a sign-in attempt from {}: too many attempts",
                describe(public.client)
            );
            let page = Page::TooManyAttempts { retry_after };
            send_page(session, &page, public.format).await
        }
        Action::Pass { .. } | Action::LocalOnly => Ok(()),
    }
}

fn describe(client: Client) -> String {
    client
        .ip
        .map_or_else(|| "an unknown address".into(), |ip| ip.to_string())
}

fn next_param(session: &Session) -> String {
    session
        .req_header()
        .uri
        .query()
        .and_then(|q| form::param(q, "next"))
        .unwrap_or_else(|| "/".into())
}

/// The login form: the gate took a try from the client's allowance before this looks at the
/// token; a right token gives it back and opens a session.
async fn login(session: &mut Session, keys: &Keys<'_>, public: &Public<'_>) -> Result<()> {
    let next = next_param(session);
    let body = read_form(session).await?;
    let next = form::param(&body, "next").unwrap_or(next);
    let token = form::param(&body, "token").unwrap_or_default();
    if !keys.auth.token_matches(token.trim()) {
        warn!(
            "failed sign-in to {} from {}",
            public.domain,
            describe(public.client)
        );
        let page = Page::Login {
            domain: public.domain.to_string(),
            next,
            failed: true,
        };
        return send_page(session, &page, Format::Html).await;
    }
    keys.limiter.refund(Trier {
        ip: public.client.ip,
        local: public.client.local,
    });
    let id = match keys
        .sessions
        .issue(keys.auth.tag(), public.client.ip, keys.unix)
    {
        Ok(id) => id,
        Err(e) => {
            warn!("could not open a session: {e}");
            session.respond_error(500).await?;
            return Ok(());
        }
    };
    info!(
        "signed in to {} from {}",
        public.domain,
        describe(public.client)
    );
    let target = match cookie::safe_next(&next, public.domain) {
        Some(url) if url.starts_with('/') => format!("{}{url}", public.base_url),
        Some(url) => url,
        None => format!("{}/", public.base_url),
    };
    let cookie = cookie::session_cookie(&id, public.domain, public.secure);
    redirect(session, 303, &target, Some(cookie)).await
}

async fn read_form(session: &mut Session) -> Result<String> {
    let mut body = Vec::new();
    while let Some(chunk) = session.read_request_body().await? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_FORM {
            break;
        }
    }
    body.truncate(MAX_FORM);
    Ok(String::from_utf8_lossy(&body).into_owned())
}

async fn redirect(
    session: &mut Session,
    status: u16,
    location: &str,
    cookie: Option<String>,
) -> Result<()> {
    drain(session).await;
    let mut resp = ResponseHeader::build(status, Some(5))?;
    resp.insert_header("location", location)?;
    if let Some(cookie) = cookie {
        resp.insert_header("set-cookie", cookie)?;
    }
    resp.insert_header("cache-control", "no-store")?;
    resp.insert_header("content-length", "0")?;
    session.write_response_header(Box::new(resp), false).await?;
    session.write_response_body(Some(Bytes::new()), true).await
}

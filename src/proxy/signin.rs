//! The gate's answers that are ours to give: the login page and form, sign-out, CORS
//! preflights, and the redirect or 401 for clients without a session. What to do is `gate`'s
//! decision; this reads the login form, keeps the sessions, and returns the `Reply`.

use log::{info, warn};
use pingora::proxy::Session;
use pingora::Result;

use super::answer::Reply;
use super::pages::{Format, Page};
use crate::auth::limiter::Trier;
use crate::auth::{cookie, cors};
use crate::form;
use crate::gate::{Action, Client, Keys};

/// The longest login form we read.
const MAX_FORM: usize = 8 * 1024;

/// The request's public side, for the URLs the answers point at.
pub(crate) struct Public<'a> {
    pub(crate) domain: &'a str,
    /// `https://dev.example.com` (with the client's port, if it gave one).
    pub(crate) base_url: String,
    /// `https://5173.dev.example.com/path?q`: where the user was going.
    pub(crate) url: String,
    pub(crate) secure: bool,
    pub(crate) format: Format,
    pub(crate) client: Client,
}

/// The answer for every action but `Pass` and `LocalOnly`.
pub(crate) async fn answer(
    session: &mut Session,
    action: Action,
    keys: &Keys<'_>,
    public: &Public<'_>,
) -> Result<Reply> {
    Ok(match action {
        Action::LoginPage => {
            let page = Page::Login {
                domain: public.domain.to_string(),
                next: next_param(session),
                failed: false,
            };
            Reply::Page(page, Format::Html)
        }
        Action::LoginAttempt => login(session, keys, public).await?,
        Action::Logout => {
            for id in cookie::session_ids(&session.req_header().headers) {
                keys.sessions.end(id);
            }
            Reply::Redirect {
                status: 303,
                location: format!("{}/login", public.base_url),
                cookie: Some(cookie::cleared_cookie(public.domain, public.secure)),
            }
        }
        Action::Preflight { origin } => Reply::Preflight(cors::preflight_headers(
            &origin,
            &session.req_header().headers,
        )),
        Action::SignIn { redirect: browser } => {
            let login = format!(
                "{}/login?next={}",
                public.base_url,
                form::encode(&public.url)
            );
            match browser {
                true => Reply::Redirect {
                    status: 302,
                    location: login,
                    cookie: None,
                },
                false => Reply::Page(Page::Unauthorized { login }, public.format),
            }
        }
        Action::TooManyAttempts { retry_after } => {
            warn!(
                "refused a sign-in attempt from {}: too many attempts",
                public.client
            );
            Reply::Page(Page::TooManyAttempts { retry_after }, public.format)
        }
        // Never asked for: the glue serves or refuses these itself.
        Action::Pass { .. } | Action::LocalOnly => Reply::Status(500),
    })
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
async fn login(session: &mut Session, keys: &Keys<'_>, public: &Public<'_>) -> Result<Reply> {
    let next = next_param(session);
    let body = read_form(session).await?;
    let next = form::param(&body, "next").unwrap_or(next);
    let token = form::param(&body, "token").unwrap_or_default();
    if !keys.auth.token_matches(token.trim()) {
        warn!("failed sign-in to {} from {}", public.domain, public.client);
        let page = Page::Login {
            domain: public.domain.to_string(),
            next,
            failed: true,
        };
        return Ok(Reply::Page(page, Format::Html));
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
            return Ok(Reply::Status(500));
        }
    };
    info!("signed in to {} from {}", public.domain, public.client);
    let target = match cookie::safe_next(&next, public.domain) {
        Some(url) if url.starts_with('/') => format!("{}{url}", public.base_url),
        Some(url) => url,
        None => format!("{}/", public.base_url),
    };
    Ok(Reply::Redirect {
        status: 303,
        location: target,
        cookie: Some(cookie::session_cookie(&id, public.domain, public.secure)),
    })
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

//! The sign-in gate in front of public domains: `/login`, `/logout`, CORS preflights between
//! the domain's own ports, and the redirect or 401 for clients without a session. The
//! decisions are `auth`'s; this is the I/O around them.

use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;
use http::Method;
use log::{info, warn};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use pingora::Result;

use super::pages::{Format, Page};
use super::send_page;
use crate::auth::{self, Auth, Limiter};
use crate::form;

/// The longest login form we read.
const MAX_FORM: usize = 8 * 1024;

/// What the gate did with a request.
pub enum Gate {
    /// It answered (login page, redirect, 401, preflight); nothing goes upstream.
    Answered,
    /// Let it through; add CORS headers for this origin to the response.
    Pass { cors_origin: Option<String> },
}

/// Everything the gate needs to know about one request.
pub struct Visit<'a> {
    pub auth: &'a Auth,
    pub limiter: &'a Limiter,
    pub domain: &'a str,
    /// `https://dev.example.com` (with the client's port, if it gave one).
    pub base_url: String,
    /// `https://5173.dev.example.com/path?q`: where the user was going.
    pub url: String,
    pub dashboard: bool,
    pub public_port: bool,
    pub secure: bool,
    pub format: Format,
    pub client: Option<IpAddr>,
}

pub async fn check(session: &mut Session, visit: Visit<'_>) -> Result<Gate> {
    let req = session.req_header();
    let path = req.uri.path().to_string();
    if visit.dashboard && path == "/login" {
        login(session, &visit).await?;
        return Ok(Gate::Answered);
    }
    if visit.dashboard && path == "/logout" {
        let cookie = auth::cleared_cookie(visit.domain, visit.secure);
        redirect(
            session,
            303,
            &format!("{}/login", visit.base_url),
            Some(cookie),
        )
        .await?;
        return Ok(Gate::Answered);
    }
    let origin = req
        .headers
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| auth::same_site_origin(o, visit.domain))
        .map(str::to_string);
    // Browsers send preflights without cookies, so the gate answers them itself, and only
    // for the domain's own origins.
    let preflight = req.method == Method::OPTIONS
        && req
            .headers
            .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD);
    if let (true, Some(origin)) = (preflight, &origin) {
        let mut resp = ResponseHeader::build(204, Some(8))?;
        for (name, value) in auth::preflight_headers(origin, &req.headers) {
            resp.insert_header(name, value)?;
        }
        resp.insert_header("content-length", "0")?;
        session.write_response_header(Box::new(resp), true).await?;
        return Ok(Gate::Answered);
    }
    let signed_in = visit.auth.allows(&req.headers);
    if !signed_in && !visit.public_port {
        let login = format!("{}/login?next={}", visit.base_url, form::encode(&visit.url));
        if visit.format == Format::Html {
            redirect(session, 302, &login, None).await?;
        } else {
            send_page(session, &Page::Unauthorized { login }, visit.format).await?;
        }
        return Ok(Gate::Answered);
    }
    // Cross-port reads with credentials, for a signed-in user only.
    let own = visit.url.split('/').take(3).collect::<Vec<_>>().join("/");
    Ok(Gate::Pass {
        cors_origin: origin.filter(|o| signed_in && *o != own),
    })
}

async fn login(session: &mut Session, visit: &Visit<'_>) -> Result<()> {
    let next = session
        .req_header()
        .uri
        .query()
        .and_then(|q| form::param(q, "next"))
        .unwrap_or_else(|| "/".into());
    if session.req_header().method != Method::POST {
        let page = Page::Login {
            domain: visit.domain.to_string(),
            next,
            failed: false,
        };
        return send_page(session, &page, Format::Html).await;
    }
    if let (Some(ip), now) = (visit.client, Instant::now()) {
        if let Err(wait) = visit.limiter.attempt(ip, now) {
            warn!("refused a sign-in attempt from {ip}: too many attempts");
            let page = Page::TooManyAttempts {
                retry_after: wait.as_secs().max(1),
            };
            return send_page(session, &page, visit.format).await;
        }
    }
    let body = read_form(session).await?;
    let next = form::param(&body, "next").unwrap_or(next);
    let token = form::param(&body, "token").unwrap_or_default();
    if !visit.auth.token_matches(token.trim()) {
        warn!("failed sign-in to {} from {:?}", visit.domain, visit.client);
        let page = Page::Login {
            domain: visit.domain.to_string(),
            next,
            failed: true,
        };
        return send_page(session, &page, Format::Html).await;
    }
    info!("signed in to {} from {:?}", visit.domain, visit.client);
    let target = match auth::safe_next(&next, visit.domain) {
        Some(url) if url.starts_with('/') => format!("{}{url}", visit.base_url),
        Some(url) => url,
        None => format!("{}/", visit.base_url),
    };
    let cookie = auth::session_cookie(visit.auth, visit.domain, visit.secure);
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

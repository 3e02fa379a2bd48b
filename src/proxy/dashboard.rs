//! The dashboard's share actions, `/api/shares` on the main listener: list a port's live
//! shares, make one, revoke one, make the port public for a while or private again. Only for
//! the dashboard's own page on this machine (`gate::may_act`), and through the same
//! `share::open`, `make_public` and registry as the control channel; each share comes with
//! its QR code as SVG.

use std::sync::Arc;
use std::time::SystemTime;

use pingora::proxy::Session;
use serde_json::{json, Value};

use super::answer::Reply;
use super::app::App;
use super::ctx::Ctx;
use super::share::{make_public, open_off_thread, read_json};
use crate::gate;
use crate::share::registry::Which;
use crate::share::{qr, Listed, Request};

/// The answer to a request to `/api/shares` (already past the gate to the dashboard).
pub(super) async fn shares(app: &Arc<App>, session: &mut Session, ctx: &Ctx) -> Reply {
    let req = session.req_header();
    let own = format!("{}://{}", ctx.scheme, ctx.host);
    let (status, body) = match gate::may_act(
        ctx.client,
        &req.method,
        &own,
        &req.headers,
        &app.dashboard_token,
    ) {
        Err(refusal) => (403, error(refusal.kind(), &refusal.to_string())),
        Ok(()) => act(app, session).await,
    };
    Reply::Json {
        status,
        body: body.to_string(),
    }
}

/// `GET /api/shares[?port=P]` (with `public_for`, the seconds `P` stays public), `POST
/// /api/shares` (a `share::Request`; `public` without `lan` or `via` makes the port public),
/// `DELETE /api/shares?id=ID` (one share) or `?port=P` (every share of `P`, and public no more).
async fn act(app: &Arc<App>, session: &mut Session) -> (u16, Value) {
    let req = session.req_header();
    let query = req.uri.query().unwrap_or("").to_string();
    let now = SystemTime::now();
    match req.method.as_str() {
        "GET" => list(app, &query, now),
        "POST" => make(app, session).await,
        "DELETE" => revoke(app, &query, now),
        method => (
            405,
            error(
                "method_not_allowed",
                &format!("{method} /api/shares: use GET, POST or DELETE"),
            ),
        ),
    }
}

/// `GET`: the live shares (of `?port=P` only, with how long `P` stays public).
fn list(app: &App, query: &str, now: SystemTime) -> (u16, Value) {
    let port = match crate::form::param(query, "port").map(|p| p.parse::<u16>()) {
        None => None,
        Some(Ok(port)) => Some(port),
        Some(Err(_)) => return (400, error("bad_request", "`?port=` takes a port")),
    };
    let live: Vec<Value> = app
        .shares
        .list(now)
        .into_iter()
        .filter(|s| s.ended.is_none() && port.is_none_or(|p| p == s.port))
        .map(with_qr)
        .collect();
    let public_for = port.and_then(|p| app.shares.public_ports(now).get(&p).copied());
    (200, json!({ "shares": live, "public_for": public_for }))
}

/// `POST`: a share, or (`public` without `lan` or `via`) the port public for a while.
async fn make(app: &Arc<App>, session: &mut Session) -> (u16, Value) {
    let request: Request = match read_json(session).await {
        Ok(request) => request,
        Err(message) => return (400, error("bad_request", message.trim_end())),
    };
    if request.public && request.via.is_none() && !request.lan {
        return match make_public(app, &request) {
            Ok(()) => (200, json!({ "public_for": request.for_secs })),
            Err(message) => (403, error("not_public", &message)),
        };
    }
    match open_off_thread(app.clone(), request).await {
        Ok(listed) => (201, json!({ "share": with_qr(listed) })),
        Err(e) => (e.status(), error("not_shared", &e.to_string())),
    }
}

/// `DELETE`: one share (`?id=ID`) or every share of a port (`?port=P`), never all at once.
fn revoke(app: &App, query: &str, now: SystemTime) -> (u16, Value) {
    let which = match Which::from_query(query) {
        Ok(Which::All) => {
            return (
                400,
                error("bad_request", "which share? `?id=ID` or `?port=P`"),
            )
        }
        Ok(which) => which,
        Err(message) => return (400, error("bad_request", &message)),
    };
    match app.shares.revoke(&which, now) {
        Ok(ended) => (200, json!({ "ended": ended })),
        Err(message) => (404, error("no_such_share", &message)),
    }
}

/// A share as the dashboard shows it: as listed, with its first link's QR code.
fn with_qr(listed: Listed) -> Value {
    let svg = listed.links.first().map(|link| qr::svg(link));
    let mut value = json!(listed);
    if let (Some(map), Some(svg)) = (value.as_object_mut(), svg) {
        map.insert("qr".into(), json!(svg));
    }
    value
}

fn error(kind: &str, message: &str) -> Value {
    json!({ "error": kind, "message": message })
}

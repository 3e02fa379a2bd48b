//! The answers portproxy writes itself on the proxy's connections: a `Reply` (one of `pages`'
//! pages, a refusal, logged and counted, a redirect, a preflight, the dashboard's JSON), or the
//! page in place of a response a failed upstream didn't give. The glue calls down into this.

use bytes::Bytes;
use http::HeaderName;
use log::{info, warn};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use pingora::{ErrorSource, ErrorType, Result};

use super::pages::{self, Format, Page};
use crate::config::Config;
use crate::metrics::METRICS;

/// An answer portproxy writes itself, decided before anything is written: `route` and the
/// sign-in and dashboard answers it asks for return one, and the glue writes it (`send`).
#[derive(Debug)]
pub(crate) enum Reply {
    /// One of `pages`' pages.
    Page(Page, Format),
    /// A page that refuses the request: counted, and logged with the access lines.
    Refusal(Page, Format),
    Redirect {
        status: u16,
        location: String,
        cookie: Option<String>,
    },
    /// A CORS preflight's 204 with these headers.
    Preflight(Vec<(HeaderName, String)>),
    /// The dashboard's share actions.
    Json { status: u16, body: String },
    /// A bare status: our own failure.
    Status(u16),
}

/// Writes `reply`, the request body read away first.
pub(crate) async fn send(
    session: &mut Session,
    reply: Reply,
    host: &str,
    config: &Config,
) -> Result<()> {
    drain(session).await;
    match reply {
        Reply::Page(page, format) => write_page(session, &page, format).await,
        Reply::Refusal(page, format) => {
            log_refusal(session, host, &page, config);
            write_page(session, &page, format).await
        }
        Reply::Redirect {
            status,
            location,
            cookie,
        } => {
            let mut resp = ResponseHeader::build(status, Some(5))?;
            resp.insert_header("location", location)?;
            if let Some(cookie) = cookie {
                resp.insert_header("set-cookie", cookie)?;
            }
            send_empty(session, resp).await
        }
        Reply::Preflight(headers) => {
            let mut resp = ResponseHeader::build(204, Some(8))?;
            for (name, value) in headers {
                resp.insert_header(name, value)?;
            }
            send_empty(session, resp).await
        }
        Reply::Json { status, body } => {
            let body = Bytes::from(format!("{body}\n"));
            let mut resp = ResponseHeader::build(status, Some(4))?;
            resp.insert_header("content-type", "application/json")?;
            resp.insert_header("content-length", body.len().to_string())?;
            resp.insert_header("cache-control", "no-store")?;
            session.write_response_header(Box::new(resp), false).await?;
            session.write_response_body(Some(body), true).await
        }
        Reply::Status(status) => session.respond_error(status).await,
    }
}

/// Counts a refusal and, with access lines on, logs it.
fn log_refusal(session: &Session, host: &str, page: &Page, config: &Config) {
    METRICS.refused();
    if !super::logs_access(Some(config)) {
        return;
    }
    info!(
        target: super::ACCESS,
        "refused {} {host}{}: {} ({})",
        session.req_header().method,
        session.req_header().uri.path(),
        page.kind(),
        page.render(Format::Text).body.trim_end()
    );
}

async fn send_empty(session: &mut Session, mut resp: ResponseHeader) -> Result<()> {
    resp.insert_header("cache-control", "no-store")?;
    resp.insert_header("content-length", "0")?;
    session.write_response_header(Box::new(resp), false).await?;
    session.write_response_body(Some(Bytes::new()), true).await
}

/// The head of one of our own pages.
fn page_head(rendered: &pages::Rendered) -> Result<ResponseHeader> {
    let mut resp = ResponseHeader::build(rendered.status, Some(4))?;
    resp.insert_header("content-type", rendered.content_type)?;
    resp.insert_header("content-length", rendered.body.len().to_string())?;
    resp.insert_header("cache-control", "no-store")?;
    for (name, value) in &rendered.headers {
        resp.insert_header(*name, value)?;
    }
    Ok(resp)
}

/// At most this much of a request body is read away before one of our pages answers it.
const DRAIN: usize = 64 << 10;

/// Reads the rest of the request body (up to `DRAIN`, for at most 2 s) before one of our
/// pages answers it, so the connection can carry the next request. Found by CI: answered
/// unread, the connection closed while Caddy was still writing the body (a sign-in past the
/// limit, a 401 to a POST), and Caddy answered 502 in place of our page. A longer or slower
/// body: the connection closes after the page, as before.
pub(crate) async fn drain(session: &mut Session) {
    let read_away = async {
        let mut read = 0;
        while read <= DRAIN {
            match session.read_request_body().await {
                Ok(Some(chunk)) => read += chunk.len(),
                _ => return,
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), read_away).await;
}

/// Writes one of our own pages, the request body read away first.
pub(crate) async fn send_page(session: &mut Session, page: &Page, format: Format) -> Result<()> {
    drain(session).await;
    write_page(session, page, format).await
}

async fn write_page(session: &mut Session, page: &Page, format: Format) -> Result<()> {
    let rendered = page.render(format);
    let resp = page_head(&rendered)?;
    session.write_response_header(Box::new(resp), false).await?;
    session
        .write_response_body(Some(Bytes::from(rendered.body)), true)
        .await
}

/// Writes one of our pages in place of the response a failed upstream didn't give; its status.
pub(crate) async fn send_error_page(session: &mut Session, page: &Page, format: Format) -> u16 {
    let rendered = page.render(format);
    if let Ok(resp) = page_head(&rendered) {
        let body = Bytes::from(rendered.body);
        let written = session.as_downstream_mut().write_error_response(resp, body);
        if let Err(err) = written.await {
            warn!("could not send the error page: {err}");
        }
    }
    page.status()
}

/// What a failed request gets.
#[derive(Debug)]
pub(crate) enum Failure {
    /// One of our pages (the port's list is filled in for `NotListening`).
    Page(Page),
    /// A plain status line: a bad request, or our own bug.
    Plain(u16),
    /// The client went away: nothing to write.
    ClientGone,
}

pub(crate) fn failure(source: &ErrorSource, etype: &ErrorType, target: String) -> Failure {
    use ErrorType::*;
    match (source, etype) {
        (_, ConnectRefused) => Failure::Page(Page::NotListening {
            target,
            listening: Vec::new(),
        }),
        (_, ConnectTimedout) => Failure::Page(Page::ConnectTimeout { target }),
        (ErrorSource::Upstream, etype) => Failure::Page(Page::UpstreamFailed {
            target,
            detail: upstream_detail(etype),
        }),
        (_, ReadError | WriteError | ConnectionClosed) => Failure::ClientGone,
        (ErrorSource::Downstream, _) => Failure::Plain(400),
        _ => Failure::Plain(500),
    }
}

fn upstream_detail(etype: &ErrorType) -> String {
    match etype {
        ErrorType::ConnectionClosed => {
            "it closed the connection before the response was complete".into()
        }
        ErrorType::ReadError | ErrorType::WriteError => "the connection was reset".into(),
        ErrorType::ReadTimedout | ErrorType::WriteTimedout => "it stopped responding".into(),
        ErrorType::InvalidHTTPHeader | ErrorType::H1Error => {
            "its response was not valid HTTP".into()
        }
        other => format!("{} error", other.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_get_a_page_a_status_or_nothing() {
        use ErrorSource::{Downstream, Internal, Upstream};
        use ErrorType::*;
        let rows: [(ErrorSource, ErrorType, &str); 8] = [
            (Upstream, ConnectRefused, "Page(NotListening"),
            (Internal, ConnectTimedout, "Page(ConnectTimeout"),
            (Upstream, ReadError, "the connection was reset"),
            (Upstream, H1Error, "its response was not valid HTTP"),
            (Downstream, ReadError, "ClientGone"),
            (Downstream, ConnectionClosed, "ClientGone"),
            (Downstream, InvalidHTTPHeader, "Plain(400)"),
            (Internal, InternalError, "Plain(500)"),
        ];
        for (source, etype, want) in rows {
            let got = format!("{:?}", failure(&source, &etype, "localhost:5173".into()));
            assert!(got.contains(want), "{source:?} {etype:?}: {got}");
        }
    }
}

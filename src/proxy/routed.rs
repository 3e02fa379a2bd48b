//! What a request gets before anything is dialled: the loop guard, the host grammar, the
//! gate (and the sign-in answers it asks for), the dashboard, or a checked `Forward`.

use std::sync::Arc;

use pingora::proxy::Session;
use pingora::Result;

use super::answer::Reply;
use super::app::App;
use super::ctx::{base_authority, Ctx};
use super::dial::{self, Forward};
use super::headers;
use super::named::{self, Lookup};
use super::pages::{Format, Page};
use super::signin;
use crate::config::Config;
use crate::gate::{self, Action};
use crate::names::Claim;
use crate::policy::{self, rules::PublicPort};
use crate::port_links::PortLink;
use crate::route::{self, Route, Target};

/// Where `route` left a request.
pub(crate) enum Routed {
    /// Proxy it to these checked addresses.
    Forward(Forward),
    /// Answer it ourselves: a refusal, a sign-in answer, the dashboard.
    Reply(Reply),
}

fn refuse(ctx: &Ctx, page: Page) -> Routed {
    Routed::Reply(Reply::Refusal(page, ctx.format))
}

/// The listening ports, linked under `base`; empty for clients who may not see them.
pub(super) async fn port_links(app: &App, ctx: &Ctx, base: &str) -> Vec<PortLink> {
    if !ctx.privileged {
        return Vec::new();
    }
    let url = |label: &str| format!("{}://{label}.{base}/", ctx.scheme);
    app.port_rows(url, ctx.client.local).await
}

/// The answer for a name that points at no one port now: its claims (a clash), or where
/// it was and what listens now (not running). Directories only for privileged clients.
pub(super) async fn name_page(
    app: &App,
    ctx: &Ctx,
    name: String,
    lookup: Option<Lookup>,
    base: &str,
) -> Page {
    let url = |port: u16| format!("{}://{port}.{base}/", ctx.scheme);
    let private = |claim: Claim| Claim {
        dir: claim.dir.filter(|_| ctx.privileged),
        ..claim
    };
    match lookup {
        Some(Lookup::Clash(claims)) => {
            let links = port_links(app, ctx, base).await;
            let title = |port| {
                links
                    .iter()
                    .find(|l| l.port == port)
                    .and_then(|l| l.title.clone())
            };
            Page::NameClash {
                name,
                claims: claims
                    .into_iter()
                    .map(|claim| (url(claim.port), title(claim.port), private(claim)))
                    .collect(),
            }
        }
        _ => Page::NameNotRunning {
            last: app.names.last_seen(&name).map(private),
            name,
            listening: port_links(app, ctx, base).await,
        },
    }
}

/// The loop guard, the host grammar, the gate, then the dashboard or the target decision.
pub(super) async fn route(
    app: &Arc<App>,
    session: &mut Session,
    ctx: &mut Ctx,
    config: &Config,
) -> Result<Routed> {
    if ctx.hops >= headers::MAX_HOPS {
        return Ok(refuse(ctx, Page::Loop { hops: ctx.hops }));
    }
    let route = match route::parse(&ctx.host, &config.settings.domains) {
        Ok(route) => route,
        Err(error) => return Ok(refuse(ctx, bad_host(app, session, ctx, config, error))),
    };
    let (route, lookup) = look_up_name(app, ctx, config, route).await;
    if let Some(reply) = admit(app, session, ctx, config, &route).await? {
        return Ok(Routed::Reply(reply));
    }
    Ok(match route {
        Route::Dashboard { domain } => Routed::Reply(dashboard(app, session, ctx, domain).await),
        Route::Name { name, domain } => {
            let base = base_authority(&ctx.host, &domain);
            let page = name_page(app, ctx, name, lookup, &base).await;
            Routed::Reply(Reply::Page(page, ctx.format))
        }
        Route::Forward { target, port, .. } => {
            match dial::resolve(&config.policy, &app.families, target, port).await {
                Ok(forward) => Routed::Forward(forward),
                Err(page) => refuse(ctx, page),
            }
        }
    })
}

/// The 404 for a host that names no route; the domains only for a client who may see them.
fn bad_host(
    app: &App,
    session: &Session,
    ctx: &Ctx,
    config: &Config,
    error: route::RouteError,
) -> Page {
    let req = &session.req_header().headers;
    let keys = app.keys(config);
    let domains = if gate::may_list_domains(&error, &ctx.host)
        && gate::privileged(ctx.client, req, keys.as_ref())
    {
        config.settings.domains.clone()
    } else {
        Vec::new()
    };
    let domain = route::normalize(&ctx.host)
        .ok()
        .and_then(|name| route::domain_of(&name, &config.settings.domains).map(String::from));
    Page::BadHost {
        error,
        domain,
        domains,
    }
}

/// A name is served exactly like the number it points at now (the gate included: public
/// when its port is public), so it is looked up before the gate. A name that points at no
/// one port stays a name, with what the lookup found.
async fn look_up_name(
    app: &App,
    ctx: &mut Ctx,
    config: &Config,
    route: Route,
) -> (Route, Option<Lookup>) {
    let Route::Name { name, domain } = route else {
        return (route, None);
    };
    match app.names.lookup(config, &name).await {
        Lookup::Port(port) => {
            ctx.name = Some(name);
            let target = Target::Localhost;
            let route = Route::Forward {
                target,
                port,
                domain,
            };
            (route, None)
        }
        lookup => (Route::Name { name, domain }, Some(lookup)),
    }
}

/// Asks the gate about this visit: None if the request may go on, else the refusal or the
/// sign-in answer it gets instead.
async fn admit(
    app: &App,
    session: &mut Session,
    ctx: &mut Ctx,
    config: &Config,
    route: &Route,
) -> Result<Option<Reply>> {
    let public_ports = &config.settings.public_ports;
    let (domain, dashboard, public_port) = as_the_gate_sees(app, public_ports, route);
    let public_names = public_names(app, config).await;
    let req = session.req_header();
    let visit = gate::Visit {
        domain,
        host: &ctx.host,
        dashboard,
        public_port,
        public_ports,
        policy: &config.policy,
        public_names: &public_names,
        path: req.uri.path(),
        method: &req.method,
        scheme: ctx.scheme,
        client: ctx.client,
        browser: ctx.format == Format::Html,
    };
    let keys = app.keys(config);
    match gate::check(&visit, &req.headers, keys.as_ref()) {
        Action::Pass {
            cors_origin,
            privileged,
        } => {
            ctx.cors_origin = cors_origin;
            ctx.privileged = privileged;
            ctx.domain = domain.to_string();
            Ok(None)
        }
        Action::LocalOnly => {
            let page = Page::LocalOnly {
                host: ctx.host.clone(),
            };
            Ok(Some(Reply::Refusal(page, ctx.format)))
        }
        action => match &keys {
            Some(keys) => {
                let public = public_side(session, ctx, domain);
                Ok(Some(signin::answer(session, action, keys, &public).await?))
            }
            // Only public domains with auth get the other actions.
            None => Ok(Some(Reply::Status(500))),
        },
    }
}

/// The route as the gate sees it: its domain, whether it is the dashboard, and whether its
/// port is public (configured so, or made public for a while).
fn as_the_gate_sees<'a>(
    app: &App,
    public_ports: &[PublicPort],
    route: &'a Route,
) -> (&'a str, bool, bool) {
    match route {
        Route::Dashboard { domain } => (domain.as_str(), true, false),
        // Only a name that points at no port gets here: nothing public behind it.
        Route::Name { domain, .. } => (domain.as_str(), false, false),
        Route::Forward {
            domain,
            target,
            port,
        } => (
            domain.as_str(),
            false,
            policy::rules::is_public(public_ports, target, *port)
                || (*target == crate::route::Target::Localhost
                    && app.shares.is_public(*port, std::time::SystemTime::now())),
        ),
    }
}

/// Names of public ports are public origins (no credentialed CORS for their pages).
async fn public_names(app: &App, config: &Config) -> Vec<String> {
    let public_ports = &config.settings.public_ports;
    if public_ports.is_empty() {
        return Vec::new();
    }
    let now = app.names.snapshot(config, named::FRESH).await;
    now.names
        .ports()
        .filter(|(_, port)| policy::rules::is_public(public_ports, &Target::Localhost, *port))
        .map(|(name, _)| name.to_string())
        .collect()
}

/// The dashboard: the page, `/api/ports` as JSON, or the share actions (`/api/shares`).
async fn dashboard(app: &Arc<App>, session: &mut Session, ctx: &Ctx, domain: String) -> Reply {
    let path = session.req_header().uri.path();
    if path == "/api/shares" {
        return super::dashboard::shares(app, session, ctx).await;
    }
    let format = if path == "/api/ports" {
        Format::Json
    } else {
        ctx.format
    };
    let ports = port_links(app, ctx, &base_authority(&ctx.host, &domain)).await;
    // The page carries the token its share actions need only for this machine's user.
    let token = ctx.client.local.then(|| app.dashboard_token.clone());
    let page = Page::Dashboard {
        domain,
        ports,
        token,
        public_domain: app.config().settings.public_domain().map(str::to_string),
    };
    Reply::Page(page, format)
}

fn public_side<'a>(session: &Session, ctx: &Ctx, domain: &'a str) -> signin::Public<'a> {
    let path = session
        .req_header()
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str());
    signin::Public {
        domain,
        base_url: format!("{}://{}", ctx.scheme, base_authority(&ctx.host, domain)),
        url: format!("{}://{}{path}", ctx.scheme, ctx.host),
        secure: ctx.scheme == "https",
        format: ctx.format,
        client: ctx.client,
    }
}

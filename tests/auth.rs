//! Public domains: sign-in, sessions, bearer tokens, sharing, CORS.

use crate::harness::http::{request, Conn};
use crate::harness::{Backend, Proxy, Running};

pub const TOKEN: &str = "test-token-0123456789abcdef";
pub const BROWSER: (&str, &str) = ("Accept", "text/html,application/xhtml+xml");

/// A public domain with `TOKEN`. The tests pose as remote clients with `X-Forwarded-For`
/// from loopback, as a front proxy would send it: loopback is a trusted proxy here.
pub async fn public(extra: &[&str]) -> Running {
    let mut proxy = Proxy::new()
        .domain("localhost")
        .domain("dev.example.com")
        .arg("--auth-token")
        .arg(TOKEN)
        .arg("--trusted-proxy")
        .arg("127.0.0.1/32");
    for arg in extra {
        proxy = proxy.arg(*arg);
    }
    proxy.start().await
}

/// Asks `host`, signed in with the bearer token, once per `(origin, granted)` row and checks
/// that credentialed CORS access went to exactly the granted origins. `proto` is the scheme the
/// front says the client used (None: plain HTTP, as the proxy sees it).
pub async fn expect_cors(proxy: &Running, host: &str, proto: Option<&str>, rows: &[(&str, bool)]) {
    let bearer = format!("Bearer {TOKEN}");
    for &(origin, granted) in rows {
        let mut headers = vec![("Authorization", bearer.as_str()), ("Origin", origin)];
        headers.extend(proto.map(|p| ("X-Forwarded-Proto", p)));
        let resp = proxy.get_with(host, "/", &headers).await;
        assert_eq!(resp.status, 200, "{origin}");
        assert_eq!(
            resp.header("access-control-allow-origin"),
            granted.then_some(origin),
            "{origin}"
        );
    }
}

fn host(port: u16) -> String {
    format!("{port}.dev.example.com")
}

/// Posts the login form; returns the response.
pub async fn login(
    proxy: &Running,
    token: &str,
    next: &str,
    extra: &[(&str, &str)],
) -> crate::harness::http::Response {
    let body = format!(
        "token={}&next={}",
        token,
        next.replace(':', "%3A").replace('/', "%2F")
    );
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    let len = body.len().to_string();
    headers.push(("Content-Length", &len));
    headers.extend_from_slice(extra);
    let mut conn = Conn::open(proxy.addr).await;
    let mut raw = request("POST", "dev.example.com", "/login", &headers);
    raw.push_str(&body);
    conn.send(raw.as_bytes()).await;
    conn.read_response().await
}

pub fn session_from(resp: &crate::harness::http::Response) -> String {
    let cookie = resp.header("set-cookie").expect("a session cookie");
    cookie.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_domains_need_a_session_and_localhost_does_not() {
    let app = Backend::echo().await;
    let proxy = public(&[]).await;
    let resp = proxy.get(&host(app.port()), "/api").await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    assert_eq!(
        resp.header("www-authenticate"),
        Some("Bearer realm=\"portproxy\"")
    );
    assert!(
        resp.text().contains("http://dev.example.com/login?next="),
        "{}",
        resp.text()
    );

    let resp = proxy
        .get_with(&host(app.port()), "/app?x=1", &[BROWSER])
        .await;
    assert_eq!(resp.status, 302);
    let next = format!("http%3A%2F%2F{}.dev.example.com%2Fapp%3Fx%3D1", app.port());
    assert_eq!(
        resp.header("location"),
        Some(format!("http://dev.example.com/login?next={next}").as_str())
    );
    // The dashboard of a public domain is behind the same gate.
    assert_eq!(proxy.get("dev.example.com", "/api/ports").await.status, 401);
    assert_eq!(
        app.connections(),
        0,
        "an unauthenticated request reached the app"
    );

    assert_eq!(
        proxy.get(&proxy.host(app.port()), "/").await.status,
        200,
        "localhost needs no sign-in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_work_and_never_reach_the_app() {
    let app = Backend::echo().await;
    let proxy = public(&[]).await;
    let bearer = format!("Bearer {TOKEN}");
    let resp = proxy
        .get_with(&host(app.port()), "/", &[("Authorization", &bearer)])
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = resp.json()["headers"].to_string().to_ascii_lowercase();
    assert!(!seen.contains("authorization"), "{seen}");
    assert!(!seen.contains(TOKEN), "{seen}");
    let wrong = proxy
        .get_with(
            &host(app.port()),
            "/",
            &[("Authorization", "Bearer wrong-token-0123456789")],
        )
        .await;
    assert_eq!(wrong.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sets_a_session_and_sends_the_user_back() {
    let app = Backend::echo().await;
    let proxy = public(&[]).await;
    let form = proxy
        .get_with("dev.example.com", "/login?next=%2F", &[BROWSER])
        .await;
    assert_eq!(form.status, 200);
    assert!(
        form.text()
            .contains("<input type=\"password\" name=\"token\""),
        "{}",
        form.text()
    );

    let wrong = login(&proxy, "not-the-token-at-all", "/", &[]).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("That token is not right"));
    assert!(wrong.header("set-cookie").is_none());

    let target = format!("http://{}/app", host(app.port()));
    let ok = login(&proxy, TOKEN, &target, &[]).await;
    assert_eq!(ok.status, 303);
    assert_eq!(ok.header("location"), Some(target.as_str()));
    let cookie = ok.header("set-cookie").unwrap();
    for part in [
        "Domain=dev.example.com",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP: no Secure flag ({cookie})"
    );
    assert!(
        !cookie.contains(TOKEN),
        "the cookie carries the token itself"
    );

    let session = session_from(&ok);
    let both = format!("theme=dark; {session}");
    let resp = proxy
        .get_with(&host(app.port()), "/", &[("Cookie", &both)])
        .await;
    assert_eq!(resp.status, 200);
    let seen = resp.json()["headers"].to_string();
    assert!(seen.contains("[\"cookie\",\"theme=dark\"]"), "{seen}");
    assert!(!seen.contains("portproxy_session"), "{seen}");

    // Over HTTPS (as Caddy reports it) the cookie is Secure.
    let secure = login(&proxy, TOKEN, "/", &[("X-Forwarded-Proto", "https")]).await;
    assert!(secure.header("set-cookie").unwrap().contains("; Secure"));

    let out = proxy
        .get_with("dev.example.com", "/logout", &[("Cookie", &session)])
        .await;
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_never_redirects_off_the_domain() {
    let proxy = public(&[]).await;
    for next in [
        "https://evil.com/",
        "//evil.com/x",
        "https://dev.example.com@evil.com/",
        "https://dev.example.com.evil.com/",
    ] {
        let resp = login(&proxy, TOKEN, next, &[]).await;
        assert_eq!(resp.status, 303);
        assert_eq!(
            resp.header("location"),
            Some("http://dev.example.com/"),
            "{next}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_attempts_are_rate_limited() {
    let proxy = public(&[]).await;
    for _ in 0..10 {
        assert_eq!(
            login(&proxy, "wrong-token-0123456789", "/", &[])
                .await
                .status,
            401
        );
    }
    let limited = login(&proxy, TOKEN, "/", &[]).await;
    assert_eq!(limited.status, 429, "{}", limited.text());
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=6).contains(&retry));
    // Another client (behind the loopback front proxy) is not affected.
    let other = login(&proxy, TOKEN, "/", &[("X-Forwarded-For", "198.51.100.9")]).await;
    assert_eq!(other.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_ports_skip_the_sign_in_and_show_on_the_dashboard() {
    let hook = Backend::echo().await;
    let private = Backend::echo().await;
    let proxy = public(&["--public-port", &hook.port().to_string()]).await;
    assert_eq!(proxy.get(&host(hook.port()), "/webhook").await.status, 200);
    assert_eq!(proxy.get(&host(private.port()), "/").await.status, 401);
    let bearer = format!("Bearer {TOKEN}");
    let ports = proxy
        .get_with(
            "dev.example.com",
            "/api/ports",
            &[("Authorization", &bearer)],
        )
        .await
        .json();
    let entry = ports["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == hook.port())
        .cloned()
        .unwrap();
    assert_eq!(entry["public"], true);
    let entry = ports["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == private.port())
        .cloned()
        .unwrap();
    assert!(entry.get("public").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_between_the_domains_own_ports() {
    let api = Backend::echo().await;
    let proxy = public(&[]).await;
    let frontend = "http://5173.dev.example.com";
    let preflight = [
        ("Origin", frontend),
        ("Access-Control-Request-Method", "PUT"),
        ("Access-Control-Request-Headers", "content-type, x-csrf"),
    ];
    let mut conn = Conn::open(proxy.addr).await;
    conn.send(request("OPTIONS", &host(api.port()), "/items", &preflight).as_bytes())
        .await;
    let resp = conn.read_response().await;
    assert_eq!(resp.status, 204);
    assert_eq!(resp.header("access-control-allow-origin"), Some(frontend));
    assert_eq!(
        resp.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(resp.header("access-control-allow-methods"), Some("PUT"));
    assert_eq!(
        resp.header("access-control-allow-headers"),
        Some("content-type, x-csrf")
    );
    assert_eq!(
        api.connections(),
        0,
        "the preflight was answered by the proxy"
    );

    let session = session_from(&login(&proxy, TOKEN, "/", &[]).await);
    let resp = proxy
        .get_with(
            &host(api.port()),
            "/items",
            &[("Origin", frontend), ("Cookie", &session)],
        )
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("access-control-allow-origin"), Some(frontend));
    assert_eq!(
        resp.header("access-control-allow-credentials"),
        Some("true")
    );

    // Foreign origins get nothing: no preflight answer, no CORS headers.
    let mut conn = Conn::open(proxy.addr).await;
    conn.send(
        request(
            "OPTIONS",
            &host(api.port()),
            "/items",
            &[
                ("Origin", "https://evil.com"),
                ("Access-Control-Request-Method", "PUT"),
            ],
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(conn.read_response().await.status, 401);
    let resp = proxy
        .get_with(
            &host(api.port()),
            "/items",
            &[("Origin", "https://evil.com"), ("Cookie", &session)],
        )
        .await;
    assert_eq!(resp.status, 200);
    assert!(resp.header("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_token_is_stored_privately_and_announced_once() {
    let app = Backend::echo().await;
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path().display().to_string();
    let first = Proxy::public().env("XDG_CONFIG_HOME", &xdg).start().await;
    assert!(
        first
            .log_contains("generated an access token for dev.example.com, stored in ")
            .await,
        "{}",
        first.log()
    );
    let file = dir.path().join("portproxy/token");
    let token = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert_eq!(token.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    drop(first);
    let second = Proxy::public().env("XDG_CONFIG_HOME", &xdg).start().await;
    let bearer = format!("Bearer {token}");
    assert_eq!(
        second
            .get_with(&host(app.port()), "/", &[("Authorization", &bearer)])
            .await
            .status,
        200
    );
    assert!(
        !second.log().contains("generated an access token"),
        "{}",
        second.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_auth_is_explicit_and_warned_about() {
    let app = Backend::echo().await;
    let proxy = Proxy::public().arg("--no-auth").start().await;
    assert!(
        proxy.log_contains("authentication is off").await,
        "{}",
        proxy.log()
    );
    assert_eq!(proxy.get(&host(app.port()), "/").await.status, 200);
}

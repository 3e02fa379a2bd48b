//! What the upstream sees, and what comes back from it.

use serde_json::Value;

use crate::harness::{Backend, Proxy};

/// The value of a header in the echo backend's report.
fn seen(echo: &Value, name: &str) -> Option<String> {
    echo["headers"]
        .as_array()?
        .iter()
        .find(|pair| pair[0] == name)
        .map(|pair| pair[1].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_server_sees_its_own_host_and_origin() {
    let vite = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let host = proxy.host(vite.port());
    let public = format!("http://{host}");
    let echo = proxy
        .get_with(
            &host,
            "/src/main.ts",
            &[
                ("Origin", &public),
                ("Referer", &format!("{public}/index.html?a=1")),
            ],
        )
        .await
        .json();
    let local = format!("localhost:{}", vite.port());
    assert_eq!(seen(&echo, "host").as_deref(), Some(local.as_str()));
    assert_eq!(seen(&echo, "origin"), Some(format!("http://{local}")));
    assert_eq!(
        seen(&echo, "referer"),
        Some(format!("http://{local}/index.html?a=1"))
    );
    // Nothing names the public host a second time (Next.js compares X-Forwarded-Host
    // with Origin); the public origin has its own header.
    for name in [
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-port",
        "forwarded",
    ] {
        assert_eq!(seen(&echo, name), None, "{name}");
    }
    assert_eq!(seen(&echo, "x-portproxy-public-origin"), Some(public));
    assert_eq!(seen(&echo, "x-forwarded-for").as_deref(), Some("127.0.0.1"));
    assert_eq!(seen(&echo, "x-portproxy-hops").as_deref(), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_values_pass_untouched() {
    let api = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let other = format!("http://{}", proxy.host(5173));
    let echo = proxy
        .get_with(
            &proxy.host(api.port()),
            "/",
            &[("Origin", &other), ("Referer", "https://github.com/x")],
        )
        .await
        .json();
    assert_eq!(seen(&echo, "origin"), Some(other));
    assert_eq!(
        seen(&echo, "referer").as_deref(),
        Some("https://github.com/x")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_from_a_trusted_front_proxy_is_believed() {
    let app = Backend::echo().await;
    let proxy = Proxy::public()
        .arg("--no-auth")
        .arg("--trusted-proxy")
        .arg("127.0.0.1")
        .start()
        .await;
    let host = format!("{}.dev.example.com", app.port());
    let echo = proxy
        .get_with(
            &host,
            "/",
            &[
                ("X-Forwarded-Proto", "https"),
                ("Origin", &format!("https://{host}")),
            ],
        )
        .await
        .json();
    assert_eq!(seen(&echo, "x-forwarded-proto"), None);
    assert_eq!(
        seen(&echo, "x-portproxy-public-origin"),
        Some(format!("https://{host}"))
    );
    assert_eq!(
        seen(&echo, "origin"),
        Some(format!("http://localhost:{}", app.port()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn location_and_cookies_point_back_at_the_public_host() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let host = proxy.host(app.port());
    let resp = proxy.get(&host, "/redirect").await;
    assert_eq!(resp.status, 302);
    assert_eq!(
        resp.header("location"),
        Some(format!("http://{host}/next?x=1").as_str())
    );
    let resp = proxy.get(&host, "/set-cookie").await;
    assert_eq!(
        resp.headers_named("set-cookie"),
        ["sid=abc; Path=/; HttpOnly", "theme=dark; Path=/"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preserve_host_switches_the_rewriting_off() {
    let app = Backend::echo().await;
    let other = Backend::echo().await;
    let proxy = Proxy::new()
        .arg("--preserve-host-port")
        .arg(app.port().to_string())
        .start()
        .await;
    let host = proxy.host(app.port());
    let origin = format!("http://{host}");
    let echo = proxy
        .get_with(&host, "/", &[("Origin", &origin)])
        .await
        .json();
    assert_eq!(seen(&echo, "host"), Some(host.clone()));
    assert_eq!(seen(&echo, "origin"), Some(origin));
    assert_eq!(seen(&echo, "x-forwarded-host"), Some(host.clone()));
    assert_eq!(seen(&echo, "x-forwarded-proto").as_deref(), Some("http"));
    let resp = proxy.get(&host, "/redirect").await;
    assert_eq!(
        resp.header("location"),
        Some(format!("http://localhost:{}/next?x=1", app.port()).as_str())
    );
    // Other ports are still rewritten.
    let echo = proxy.get(&proxy.host(other.port()), "/").await.json();
    assert_eq!(
        seen(&echo, "host"),
        Some(format!("localhost:{}", other.port()))
    );

    let everywhere = Proxy::new().arg("--preserve-host").start().await;
    let host = everywhere.host(other.port());
    let echo = everywhere.get(&host, "/").await.json();
    assert_eq!(seen(&echo, "host"), Some(host));
}

//! The admin listener: health, metrics, Caddy's on-demand TLS question.

use crate::harness::{closed_port, Backend, Proxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let health = proxy.admin_get("/healthz").await;
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));

    for _ in 0..3 {
        proxy.get(&proxy.host(app.port()), "/").await;
    }
    proxy.get(&proxy.host(closed_port()), "/").await;
    proxy.get(&proxy.host(22), "/").await;
    let text = proxy.admin_get("/metrics").await.text();
    for name in [
        "portproxy_requests_total{class=\"2xx\"}",
        "portproxy_upstream_connect_failures_total",
        "portproxy_active_connections",
        "portproxy_websocket_tunnels",
        "portproxy_sent_bytes_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {}", name.split('{').next().unwrap())),
            "{name} missing:\n{text}"
        );
    }
    assert_eq!(
        proxy
            .metric_reaches("portproxy_requests_total{class=\"2xx\"}", 3)
            .await,
        3
    );
    assert_eq!(
        proxy
            .metric_reaches("portproxy_requests_total{class=\"5xx\"}", 1)
            .await,
        1
    );
    assert_eq!(
        proxy
            .metric_reaches("portproxy_requests_total{class=\"4xx\"}", 1)
            .await,
        1
    );
    assert_eq!(
        proxy
            .metric_reaches("portproxy_upstream_connect_failures_total", 1)
            .await,
        1
    );
    assert_eq!(proxy.metric_reaches("portproxy_refused_total", 1).await, 1);
    assert!(proxy.metric("portproxy_sent_bytes_total").await > 0);
    assert_eq!(proxy.metric("portproxy_active_connections").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_5_caddy_ask_approves_only_names_people_visit() {
    let app = Backend::echo().await;
    let closed = closed_port();
    let proxy = Proxy::public()
        .arg("--public-port")
        .arg("9000")
        .arg("--allow-host")
        .arg("db.internal")
        .arg("--public-port")
        .arg("db.internal:5432")
        .start()
        .await;
    let (listening, second_name) = (
        format!("{}.dev.example.com", app.port()),
        format!("localhost--{}.dev.example.com", app.port()),
    );
    let (closed, alias) = (
        format!("{closed}.dev.example.com"),
        format!("127-0-0-1--{}.dev.example.com", app.port()),
    );
    let rows = [
        (listening.as_str(), 200),
        // Issue 23, finding 7: one name per port.
        (second_name.as_str(), 403),
        ("9000.dev.example.com", 200),
        ("db.internal--5432.dev.example.com", 200),
        ("dev.example.com", 200),
        // Finding 5: every approval is a certificate order; closed ports and aliases are not.
        (closed.as_str(), 403),
        (alias.as_str(), 403),
        ("127-9-8-7--61234.dev.example.com", 403),
        ("evil.com", 403),
        ("22.dev.example.com", 403),
        ("0.dev.example.com", 403),
        ("169-254-169-254--80.dev.example.com", 403),
        ("2852039166--80.dev.example.com", 403),
    ];
    for (name, status) in rows {
        let resp = proxy.admin_get(&format!("/caddy/ask?domain={name}")).await;
        assert_eq!(resp.status, status, "{name}: {}", resp.text());
    }
    assert_eq!(proxy.admin_get("/caddy/ask").await.status, 400);
    assert_eq!(proxy.admin_get("/nope").await.status, 404);
}

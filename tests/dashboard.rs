//! The dashboard: what it learns about each port, as a browser and a script see it.

use std::time::Duration;

use crate::harness::backend::PAGE_TITLE;
use crate::harness::{Backend, Proxy, Running};

const BROWSER: (&str, &str) = ("Accept", "text/html");

/// `/api/ports`' entry for `port`, if it is listed.
async fn entry(proxy: &Running, port: u16) -> Option<serde_json::Value> {
    let host = format!("localhost:{}", proxy.addr.port());
    let ports = proxy.get(&host, "/api/ports").await.json();
    ports["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == port)
        .cloned()
}

/// A page title comes from HTML the proxy passed on, gzipped too; JSON does not change it, and
/// it is forgotten once the port stops listening.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titles_are_learnt_from_proxied_html() {
    let app = Backend::echo().await;
    let port = app.port();
    let proxy = Proxy::new().start().await;
    let listed = entry(&proxy, port).await.expect("the backend is listed");
    assert_eq!(listed.get("title"), None, "never probed: {listed}");

    let page = proxy.get(&proxy.host(port), "/page").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("<h1>app</h1>"),
        "the body passes whole"
    );
    assert_eq!(entry(&proxy, port).await.unwrap()["title"], PAGE_TITLE);
    let dashboard = proxy
        .get_with(&format!("localhost:{}", proxy.addr.port()), "/", &[BROWSER])
        .await
        .text();
    assert!(
        dashboard.contains("<td>Harness &amp; App</td>"),
        "{dashboard}"
    );

    assert_eq!(proxy.get(&proxy.host(port), "/json").await.status, 200);
    assert_eq!(entry(&proxy, port).await.unwrap()["title"], PAGE_TITLE);

    let zipped = proxy.get(&proxy.host(port), "/page.gz").await;
    assert_eq!(
        zipped.header("content-encoding"),
        Some("gzip"),
        "passed as sent"
    );
    assert_eq!(entry(&proxy, port).await.unwrap()["title"], "Zipped & App");

    // `portproxy ls` asks the running proxy.
    let out = Proxy::command(&["ls", "--json", "--no-caddy", "--listen"])
        .arg(proxy.addr.to_string())
        .output();
    let ls: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ls --json");
    let row = ls["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == port)
        .cloned()
        .unwrap();
    assert_eq!(row["title"], "Zipped & App", "{ls}");

    drop(app);
    for _ in 0..100 {
        if entry(&proxy, port).await.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        entry(&proxy, port).await,
        None,
        "the stopped backend is gone"
    );
    let again = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let listed = entry(&proxy, port).await.expect("listening again");
    assert_eq!(
        listed.get("title"),
        None,
        "the old title is forgotten: {listed}"
    );
    drop(again);
}

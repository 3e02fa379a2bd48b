//! Pages portproxy writes itself: never an empty body, HTML for browsers, text or JSON otherwise.

use std::time::Duration;

use crate::harness::http::Conn;
use crate::harness::{closed_port, Backend, Proxy};

const BROWSER: (&str, &str) = ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
const SCRIPT: (&str, &str) = ("Accept", "application/json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_listening_page_retries_and_lists_ports() {
    let running = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let port = closed_port();
    let host = proxy.host(port);

    let html = proxy.get_with(&host, "/", &[BROWSER]).await;
    assert_eq!(html.status, 502);
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let body = html.text();
    assert!(
        body.contains(&format!("Nothing is listening on localhost:{port} yet")),
        "{body}"
    );
    assert!(
        body.contains("setInterval") && body.contains("location.reload()"),
        "no self-retry: {body}"
    );
    assert!(
        body.contains(&format!("http://{}/", proxy.host(running.port()))),
        "running port not listed: {body}"
    );

    let json = proxy.get_with(&host, "/", &[SCRIPT]).await;
    assert_eq!(json.status, 502);
    let value = json.json();
    assert_eq!(value["error"], "not_listening");
    assert!(value["listening"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["port"] == running.port()));

    let text = proxy.get(&host, "/").await;
    assert_eq!(text.status, 502);
    assert!(text
        .text()
        .starts_with(&format!("502 Nothing is listening on localhost:{port} yet")));
    assert_ne!(text.header("server"), Some("Pingora"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_gives_way_to_the_app_when_it_comes_up() {
    let proxy = Proxy::new().start().await;
    let port = closed_port();
    assert_eq!(proxy.get(&proxy.host(port), "/").await.status, 502);
    let _app = Backend::echo_on(&format!("127.0.0.1:{port}")).await;
    // What the page's poll (HEAD every 2 s) sees once the dev server is up.
    let mut conn = Conn::open(proxy.addr).await;
    conn.send(crate::harness::http::request("HEAD", &proxy.host(port), "/", &[]).as_bytes())
        .await;
    let (status, _) = conn.read_head().await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_reset_before_a_response_is_a_502_with_a_body() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let resp = proxy.get(&proxy.host(app.port()), "/reset-early").await;
    assert_eq!(resp.status, 502);
    assert!(
        resp.text()
            .contains("accepted the connection but failed: the connection was reset"),
        "{}",
        resp.text()
    );
    // Everyone else is still served.
    assert_eq!(proxy.get(&proxy.host(app.port()), "/").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_reset_mid_body_cuts_the_client_off_cleanly() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let mut conn = Conn::open(proxy.addr).await;
    conn.send(
        crate::harness::http::request("GET", &proxy.host(app.port()), "/reset", &[]).as_bytes(),
    )
    .await;
    let (status, headers) = conn.read_head().await;
    assert_eq!(status, 200);
    assert!(headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-length") && v == "100000"));
    let mut body = Vec::new();
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_to_end(conn.stream(), &mut body),
    )
    .await;
    assert!(read.is_ok(), "the client was left hanging");
    assert!(
        body.len() < 100_000,
        "a truncated body was passed off as complete"
    );
    assert_eq!(proxy.get(&proxy.host(app.port()), "/").await.status, 200);
}

/// A listener whose accept queue is full drops SYNs, so connecting times out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_is_a_504() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(listener.local_addr().unwrap()),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let proxy = Proxy::new().start().await;
    let resp = proxy
        .get(
            &format!("127-0-0-1--{port}.localhost:{}", proxy.addr.port()),
            "/",
        )
        .await;
    assert_eq!(resp.status, 504, "{}", resp.text());
    assert!(resp.text().contains("timed out"), "{}", resp.text());
    drop(listener);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_lists_listening_ports() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let base = format!("localhost:{}", proxy.addr.port());
    let html = proxy.get_with(&base, "/", &[BROWSER]).await;
    assert_eq!(html.status, 200);
    let body = html.text();
    // The link by number, beside the name when the port has one (the test binary's ports
    // are named after this checkout).
    assert!(
        body.contains(&format!("href=\"http://{}/\"", proxy.host(app.port()))),
        "{body}"
    );
    // portproxy's own ports are not dev servers: not listed.
    assert!(
        !body.contains(&format!("<td>{}</td>", proxy.addr.port())),
        "{body}"
    );

    let api = proxy.get(&base, "/api/ports").await;
    assert_eq!(api.header("content-type"), Some("application/json"));
    let ports = api.json()["ports"].clone();
    let entry = ports
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == app.port())
        .expect("backend port listed");
    assert_eq!(entry["url"], format!("http://{}/", proxy.host(app.port())));
    assert!(entry.get("refused").is_none());
    // Who holds it: this test process (the backend runs in it), where it runs.
    #[cfg(target_os = "linux")]
    {
        assert_eq!(entry["process"]["pid"], std::process::id(), "{entry}");
        let cwd = std::env::current_dir().unwrap();
        assert!(
            entry["process"]["command"]
                .as_str()
                .unwrap()
                .contains("tests"),
            "{entry}"
        );
        // The crate's own Cargo.toml names the project.
        assert_eq!(entry["process"]["project"], "portproxy", "{cwd:?} {entry}");
        assert!(body.contains("<th>Process</th>"), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_labels_from_config() {
    let app = Backend::echo().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        format!("[labels]\n{} = \"vite frontend\"\n", app.port()),
    )
    .unwrap();
    let proxy = Proxy::new()
        .arg("--config")
        .arg(file.display().to_string())
        .start()
        .await;
    let api = proxy
        .get(&format!("localhost:{}", proxy.addr.port()), "/api/ports")
        .await
        .json();
    let entry = api["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == app.port())
        .cloned()
        .unwrap();
    assert_eq!(entry["label"], "vite frontend");
}

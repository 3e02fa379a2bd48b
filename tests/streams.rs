//! Bodies and upgrades stream through: WebSocket, SSE, chunked, big uploads, pooled upstreams.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::backend::{EVENT_GAP, GZIP_BODY};
use crate::harness::http::{request, Conn};
use crate::harness::{Backend, Proxy, Running, WsBackend};

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

pub(crate) async fn ws_connect(proxy: &Running, port: u16) -> Ws {
    let req = format!("ws://{}/hmr", proxy.host(port))
        .into_client_request()
        .unwrap();
    let tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let (ws, resp) = tokio_tungstenite::client_async(req, tcp)
        .await
        .expect("websocket handshake");
    assert_eq!(resp.status(), 101);
    ws
}

pub(crate) async fn echo_round_trip(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("echo in 5 s");
    assert_eq!(reply.unwrap().unwrap(), Message::text(text));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_tunnels_both_ways() {
    let hmr = WsBackend::start().await;
    let proxy = Proxy::new().start().await;
    let mut ws = ws_connect(&proxy, hmr.port()).await;
    for i in 0..20 {
        echo_round_trip(&mut ws, &format!("update {i}")).await;
    }
    ws.send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::binary(vec![0u8, 1, 2, 255])
    );
    assert_eq!(
        hmr.hosts.lock().unwrap().as_slice(),
        [format!("localhost:{}", hmr.port())]
    );
    assert_eq!(proxy.metric("portproxy_websocket_tunnels").await, 1);
    ws.close(None).await.unwrap();
    drop(ws);
    for _ in 0..100 {
        if proxy.metric("portproxy_websocket_tunnels").await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the tunnel gauge did not go back to 0");
}

/// Pingora closes a client that sends nothing for 60 s; an idle HMR socket must outlive that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_outlives_pingoras_idle_timeout() {
    idle_websocket(Duration::from_secs(65)).await;
}

/// The same for a coffee break: five idle minutes (the slow command, `.ci/run`, runs it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: five idle minutes; .ci/run runs it with --ignored"]
async fn websocket_outlives_five_idle_minutes() {
    idle_websocket(Duration::from_secs(305)).await;
}

async fn idle_websocket(idle: Duration) {
    let hmr = WsBackend::start().await;
    let proxy = Proxy::new().start().await;
    let mut ws = ws_connect(&proxy, hmr.port()).await;
    echo_round_trip(&mut ws, "before").await;
    tokio::time::sleep(idle).await;
    echo_round_trip(&mut ws, "after the idle stretch").await;
}

/// Reads a chunked body from `path`, noting when each chunk arrived.
async fn arrivals(proxy: &Running, port: u16, path: &str) -> (String, Vec<(Duration, String)>) {
    let mut conn = Conn::open(proxy.addr).await;
    let start = Instant::now();
    conn.send(
        request(
            "GET",
            &proxy.host(port),
            path,
            &[("Accept", "text/event-stream")],
        )
        .as_bytes(),
    )
    .await;
    let (status, headers) = conn.read_head().await;
    assert_eq!(status, 200);
    let content_type = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut got = Vec::new();
    while let Some(chunk) = conn.read_chunk().await {
        got.push((start.elapsed(), String::from_utf8(chunk).unwrap()));
    }
    (content_type, got)
}

/// The echo backend's `/sse` on `port`, through `proxy`, one event at a time.
pub(crate) async fn sse_arrives_event_by_event(proxy: &Running, port: u16) {
    let (content_type, got) = arrivals(proxy, port, "/sse").await;
    assert_eq!(content_type, "text/event-stream");
    assert_event_by_event(
        &got,
        &(0..5)
            .map(|i| format!("data: event {i}\n\n"))
            .collect::<Vec<_>>(),
    );
}

/// Each event must reach the client while the next one is still being waited for.
fn assert_event_by_event(got: &[(Duration, String)], want: &[String]) {
    let text: String = got.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(text, want.concat());
    let first = got.first().unwrap().0;
    let last = got.last().unwrap().0;
    assert!(
        first < EVENT_GAP,
        "the first event waited {first:?}: buffered"
    );
    assert!(
        last - first >= EVENT_GAP * 3,
        "events arrived together: {got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_and_chunked_arrive_event_by_event() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    sse_arrives_event_by_event(&proxy, app.port()).await;
    let (_, got) = arrivals(&proxy, app.port(), "/chunked").await;
    assert_event_by_event(
        &got,
        &(0..5).map(|i| format!("part {i}\n")).collect::<Vec<_>>(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_encoding_is_left_intact() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let resp = proxy
        .get_with(
            &proxy.host(app.port()),
            "/gzip",
            &[("Accept-Encoding", "gzip")],
        )
        .await;
    assert_eq!(resp.header("content-encoding"), Some("gzip"));
    assert_eq!(resp.body, GZIP_BODY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_are_pooled() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    for _ in 0..30 {
        // A new client connection each time: the pool is on the upstream side.
        assert_eq!(proxy.get(&proxy.host(app.port()), "/").await.status, 200);
    }
    assert!(
        app.connections() <= 2,
        "30 requests opened {} upstream connections",
        app.connections()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gigabyte_upload_streams_in_flat_memory() {
    const SIZE: u64 = 1 << 30;
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    // Warm up so the baseline includes the proxy's normal working set.
    assert_eq!(proxy.get(&proxy.host(app.port()), "/").await.status, 200);
    let before = proxy.memory_kib("VmRSS");

    let mut conn = Conn::open(proxy.addr).await;
    let head = request(
        "POST",
        &proxy.host(app.port()),
        "/upload",
        &[
            ("Content-Length", &SIZE.to_string()),
            ("Content-Type", "application/octet-stream"),
        ],
    );
    conn.send(head.as_bytes()).await;
    let block = vec![b'u'; 1 << 20];
    let mut peak = before;
    for i in 0..(SIZE >> 20) {
        conn.stream().write_all(&block).await.expect("upload write");
        if i % 64 == 0 {
            peak = peak.max(proxy.memory_kib("VmRSS"));
        }
    }
    let resp = tokio::time::timeout(Duration::from_secs(60), conn.read_response())
        .await
        .expect("response");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["body_len"], SIZE);
    let growth_mib = peak.saturating_sub(before) / 1024;
    eprintln!("1 GiB upload: proxy RSS {before} KiB before, peak {peak} KiB (+{growth_mib} MiB)");
    assert!(
        growth_mib < 64,
        "proxy RSS grew by {growth_mib} MiB during a 1 GiB upload"
    );
    assert_eq!(
        proxy
            .metric_reaches("portproxy_received_bytes_total", SIZE as i64)
            .await as u64,
        SIZE
    );
}

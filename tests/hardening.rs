//! Hostile input: slow clients, oversized headers, request smuggling, many tunnels.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::http::Conn;
use crate::harness::{Backend, Proxy, WsBackend};

/// 300 clients that never finish their headers (slowloris) must not slow anyone else down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_do_not_delay_others() {
    raise_fd_limit(4096);
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let mut slow = Vec::new();
    for i in 0..300 {
        let mut s = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
        s.write_all(
            format!(
                "GET /slow{i} HTTP/1.1\r\nHost: {}\r\nX-Slow: ",
                proxy.host(app.port())
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        slow.push(s);
    }
    let mut worst = Duration::ZERO;
    for round in 0..20 {
        // Keep trickling, one byte per connection, as slowloris does.
        for s in slow.iter_mut().skip(round % 3).step_by(3) {
            let _ = s.write_all(b"a").await;
        }
        let start = Instant::now();
        let resp = proxy.get(&proxy.host(app.port()), "/").await;
        assert_eq!(resp.status, 200);
        worst = worst.max(start.elapsed());
    }
    eprintln!("slowloris: worst normal request took {worst:?} beside 300 half-open connections");
    assert!(
        worst < Duration::from_millis(500),
        "a normal request took {worst:?}"
    );
    assert!(app.connections() <= 2, "half-open requests reached the app");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_are_answered_not_dropped() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let many: String = (0..300).map(|i| format!("X-H{i}: v\r\n")).collect();
    let big = format!("X-Big: {}\r\n", "a".repeat(1100 * 1024));
    for extra in [many, big] {
        let mut conn = Conn::open(proxy.addr).await;
        let raw = format!(
            "GET / HTTP/1.1\r\nHost: {}\r\n{extra}\r\n",
            proxy.host(app.port())
        );
        let _ = conn.stream().write_all(raw.as_bytes()).await;
        let (status, _) = tokio::time::timeout(Duration::from_secs(10), conn.read_head())
            .await
            .expect("an answer");
        assert!(status == 400 || status == 431, "{status}");
    }
    assert_eq!(app.connections(), 0);
    assert_eq!(proxy.get(&proxy.host(app.port()), "/").await.status, 200);
}

/// `Content-Length` and `Transfer-Encoding` together: the proxy must frame the body one way
/// and tell the upstream only that way, so the upstream can't read a second request into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_with_chunked_cannot_smuggle() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let host = proxy.host(app.port());
    let smuggled = format!("GET /smuggled HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let body = format!("0\r\n\r\n{smuggled}");
    let raw = format!(
        "POST /first HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{body}",
        body.len()
    );
    let mut conn = Conn::open(proxy.addr).await;
    conn.send(raw.as_bytes()).await;
    let first = tokio::time::timeout(Duration::from_secs(10), conn.read_response())
        .await
        .expect("first response");
    if first.status == 200 {
        let echo = first.json();
        assert_eq!(echo["path"], "/first");
        let headers = echo["headers"].to_string();
        assert!(
            !(headers.contains("\"content-length\"") && headers.contains("\"transfer-encoding\"")),
            "both framings reached the upstream: {headers}"
        );
        assert!(
            !echo["body"].as_str().unwrap().contains("/smuggled"),
            "the smuggled request rode in the body"
        );
    } else {
        assert!(first.status == 400, "{}", first.status);
    }
    // What follows the chunked body is the client's own next request: if anything answers
    // /smuggled, it is the proxy, which routed (and logged) it like any other request.
    if let Ok(Some(second)) =
        tokio::time::timeout(Duration::from_secs(2), conn.next_response()).await
    {
        assert_eq!(second.json()["path"], "/smuggled");
        assert!(
            proxy
                .log_contains(&format!("GET {host}/smuggled -> "))
                .await,
            "{}",
            proxy.log()
        );
    }
}

/// Many idle HMR sockets at once: memory stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_websocket_tunnels_in_bounded_memory() {
    raise_fd_limit(8192);
    let hmr = WsBackend::start().await;
    let proxy = Proxy::new().start().await;
    let before = proxy.memory_kib("VmRSS");
    let mut sockets = Vec::new();
    for i in 0..1000 {
        let req = format!("ws://{}/hmr", proxy.host(hmr.port()))
            .into_client_request()
            .unwrap();
        let tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
        let (mut ws, _) = tokio_tungstenite::client_async(req, tcp)
            .await
            .unwrap_or_else(|e| panic!("tunnel {i}: {e}"));
        ws.send(Message::text(format!("hello {i}"))).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::text(format!("hello {i}"))
        );
        sockets.push(ws);
    }
    assert_eq!(proxy.metric("portproxy_websocket_tunnels").await, 1000);
    let after = proxy.memory_kib("VmRSS");
    let per_tunnel = (after.saturating_sub(before) * 1024) / 1000;
    eprintln!("1000 WebSocket tunnels: proxy RSS {before} KiB -> {after} KiB ({per_tunnel} bytes per tunnel)");
    assert!(after < 256 * 1024, "RSS {after} KiB with 1000 tunnels");
    // All still alive.
    for (i, ws) in sockets.iter_mut().enumerate().step_by(97) {
        ws.send(Message::text(format!("again {i}"))).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::text(format!("again {i}"))
        );
    }
}

/// The soft limit on open files, raised for this process and the proxies it starts
/// (Windows has no such limit).
#[cfg_attr(not(unix), allow(unused_variables))]
fn raise_fd_limit(want: u64) {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < want {
            limit.rlim_cur = want.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

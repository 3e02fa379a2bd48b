//! Real backends for the tests: an HTTP echo that reports what it received (plus a few
//! misbehaving routes), and a WebSocket echo. Each listens on its own ephemeral port.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The gzip bytes `/gzip` serves; the client must receive exactly these.
pub const GZIP_BODY: &[u8] = &[
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07,
    0x00, 0x86, 0xa6, 0x10, 0x36, 0x05, 0x00, 0x00, 0x00,
];

/// The page `/page` serves (`/page.gz`: gzipped, as Next.js's dev server sends it); its
/// title, as the dashboard shows it, is `PAGE_TITLE`.
pub const PAGE: &str = "<!doctype html><html><head><meta charset=utf-8>\n<title>\n  Harness &amp; App  </title></head><body><h1>app</h1></body></html>";
pub const PAGE_TITLE: &str = "Harness & App";

/// Gap between streamed events of `/sse` and `/chunked`.
pub const EVENT_GAP: Duration = Duration::from_millis(300);

pub struct Backend {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Backend {
    /// An echo backend on 127.0.0.1 only.
    pub async fn echo() -> Backend {
        Backend::echo_on("127.0.0.1:0").await
    }

    /// An echo backend on the given address (`[::1]:0` for an IPv6-only dev server).
    pub async fn echo_on(addr: &str) -> Backend {
        let listener = TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_connection(stream, addr.port()));
            }
        });
        Backend {
            addr,
            connections,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A port with nothing listening on it. Taken below Linux's ephemeral range (32768+), so a
/// backend another test binds to port 0 cannot land on it a moment later.
pub fn closed_port() -> u16 {
    use std::sync::atomic::AtomicU16;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = 20_000 + (std::process::id() % 500) as u16 * 20;
    loop {
        let port = start + NEXT.fetch_add(1, Ordering::SeqCst) % 10_000;
        let free_v4 = std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        let free_v6 = std::net::TcpListener::bind(("::1", port)).is_ok()
            || std::net::TcpListener::bind("[::1]:0").is_err();
        if free_v4 && free_v6 {
            return port;
        }
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body_len: u64,
    body_head: Vec<u8>,
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        let (k, v) = line.trim_end().split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body_len = 0u64;
    let mut body_head = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut take = |data: &[u8], body_len: &mut u64| {
        *body_len += data.len() as u64;
        let room = (64 * 1024usize).saturating_sub(body_head.len());
        body_head.extend_from_slice(&data[..data.len().min(room)]);
    };
    if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line).await.ok()?;
            let size = usize::from_str_radix(line.trim().split(';').next()?, 16).ok()?;
            let mut left = size;
            while left > 0 {
                let want = left.min(buf.len());
                let n = reader.read(&mut buf[..want]).await.ok()?;
                if n == 0 {
                    return None;
                }
                take(&buf[..n], &mut body_len);
                left -= n;
            }
            line.clear();
            reader.read_line(&mut line).await.ok()?;
            if size == 0 {
                break;
            }
        }
    } else if let Some(len) = find("content-length") {
        let mut left: u64 = len.parse().ok()?;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = reader.read(&mut buf[..want]).await.ok()?;
            if n == 0 {
                return None;
            }
            take(&buf[..n], &mut body_len);
            left -= n as u64;
        }
    }
    Some(Request {
        method,
        path,
        headers,
        body_len,
        body_head,
    })
}

async fn serve_connection(stream: TcpStream, port: u16) {
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader).await {
        let stream = reader.get_mut();
        let path = req.path.split('?').next().unwrap_or("").to_string();
        let result = match path.as_str() {
            "/set-cookie" => {
                respond(
                    stream,
                    200,
                    &[
                        ("set-cookie", "sid=abc; Path=/; Domain=localhost; HttpOnly"),
                        ("set-cookie", "theme=dark; Path=/"),
                    ],
                    b"cookies\n",
                )
                .await
            }
            "/redirect" => {
                let location = format!("http://localhost:{port}/next?x=1");
                respond(stream, 302, &[("location", &location)], b"").await
            }
            "/gzip" => {
                respond(
                    stream,
                    200,
                    &[("content-encoding", "gzip"), ("content-type", "text/plain")],
                    GZIP_BODY,
                )
                .await
            }
            "/page" => {
                let html = [("content-type", "text/html; charset=utf-8")];
                respond(stream, 200, &html, PAGE.as_bytes()).await
            }
            "/fragment" => {
                let html = [("content-type", "text/html")];
                respond(stream, 200, &html, b"<li>an htmx fragment</li>").await
            }
            "/page.gz" => {
                use std::io::Write;
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(PAGE.replace("Harness", "Zipped").as_bytes())
                    .unwrap();
                let headers = [("content-type", "text/html"), ("content-encoding", "gzip")];
                respond(stream, 200, &headers, &gz.finish().unwrap()).await
            }
            "/sse" => {
                stream_events(stream, "text/event-stream", |i| {
                    format!("data: event {i}\n\n")
                })
                .await
            }
            "/chunked" => stream_events(stream, "text/plain", |i| format!("part {i}\n")).await,
            "/slow" => {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                respond(stream, 200, &[], b"slow done\n").await
            }
            "/reset" => {
                // Promise 100000 bytes, send 1000, then reset the connection.
                let head = "HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n";
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&[b'x'; 1000]).await;
                let _ = stream.flush().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                reset(stream);
                return;
            }
            "/reset-early" => {
                reset(stream);
                return;
            }
            _ => {
                let body = json!({
                    "method": req.method,
                    "path": req.path,
                    "headers": req.headers,
                    "body_len": req.body_len,
                    "body": String::from_utf8_lossy(&req.body_head[..req.body_head.len().min(1024)]),
                });
                respond(
                    stream,
                    200,
                    &[("content-type", "application/json")],
                    body.to_string().as_bytes(),
                )
                .await
            }
        };
        if result.is_err() {
            return;
        }
    }
}

/// Closes with RST rather than FIN. A zero linger never blocks, which is what the
/// deprecation warns about.
#[allow(deprecated)]
fn reset(stream: &TcpStream) {
    let _ = stream.set_linger(Some(Duration::ZERO));
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await
}

/// Five chunks, `EVENT_GAP` apart, then the end of the body.
async fn stream_events(
    stream: &mut TcpStream,
    content_type: &str,
    event: impl Fn(usize) -> String,
) -> std::io::Result<()> {
    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.flush().await?;
    for i in 0..5 {
        if i > 0 {
            tokio::time::sleep(EVENT_GAP).await;
        }
        let data = event(i);
        stream
            .write_all(format!("{:x}\r\n{data}\r\n", data.len()).as_bytes())
            .await?;
        stream.flush().await?;
    }
    stream.write_all(b"0\r\n\r\n").await?;
    stream.flush().await
}

/// A WebSocket echo that records the `Host` each handshake carried.
pub struct WsBackend {
    pub addr: SocketAddr,
    pub hosts: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl WsBackend {
    pub async fn start() -> WsBackend {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hosts = Arc::new(Mutex::new(Vec::new()));
        let seen = hosts.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    // The Err type is tungstenite's, not ours to shrink.
                    #[allow(clippy::result_large_err)]
                    let callback = |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
                                    resp: tokio_tungstenite::tungstenite::handshake::server::Response| {
                        let host = req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or("");
                        seen.lock().unwrap().push(host.to_string());
                        Ok(resp)
                    };
                    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await
                    else {
                        return;
                    };
                    while let Some(Ok(msg)) = ws.next().await {
                        if msg.is_text() || msg.is_binary() {
                            if ws.send(msg).await.is_err() {
                                return;
                            }
                        } else if msg.is_close() {
                            return;
                        }
                    }
                });
            }
        });
        WsBackend { addr, hosts, task }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for WsBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

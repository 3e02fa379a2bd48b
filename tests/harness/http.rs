//! A small HTTP/1.1 client over a raw socket: tests need to send exactly the bytes they
//! mean (odd Host headers, hop counts) and to watch a streamed body arrive piece by piece.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A byte stream a test can speak HTTP over: plain TCP or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A TLS connection to `addr` presenting `server_name`, trusting only the PEM root at `ca`
/// (Caddy's, in the Linux-only Caddy tests).
#[cfg(target_os = "linux")]
pub async fn tls(
    addr: SocketAddr,
    server_name: &str,
    ca: &std::path::Path,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    use std::sync::Arc;

    use rustls_pki_types::pem::PemObject;
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca).expect("read CA") {
        roots.add(cert.expect("CA PEM")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from(server_name.to_string()).unwrap();
    let tcp = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap_or_else(|e| panic!("TLS handshake with {server_name} at {addr}: {e}"))
}

/// A response as the client saw it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

/// One client connection; requests on it reuse it (keep-alive).
pub struct Conn {
    reader: BufReader<Box<dyn Stream>>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        Conn::over(stream)
    }

    /// HTTP over any stream (a TLS one, say).
    pub fn over(stream: impl Stream + 'static) -> Conn {
        Conn {
            reader: BufReader::new(Box::new(stream)),
        }
    }

    pub async fn send(&mut self, raw: &[u8]) {
        self.reader
            .get_mut()
            .write_all(raw)
            .await
            .expect("write request");
    }

    pub fn stream(&mut self) -> &mut Box<dyn Stream> {
        self.reader.get_mut()
    }

    /// The next response, or None if the server closed the connection instead.
    pub async fn next_response(&mut self) -> Option<Response> {
        if self.reader.fill_buf().await.ok()?.is_empty() {
            return None;
        }
        Some(self.read_response().await)
    }

    /// Reads a status line and headers.
    pub async fn read_head(&mut self) -> (u16, Vec<(String, String)>) {
        let mut line = String::new();
        self.reader.read_line(&mut line).await.expect("status line");
        assert!(
            line.starts_with("HTTP/1."),
            "not an HTTP response: {line:?}"
        );
        let status = line[9..12].parse().expect("status code");
        let mut headers = Vec::new();
        loop {
            line.clear();
            let n = self.reader.read_line(&mut line).await.expect("header line");
            if n == 0 || line == "\r\n" || line == "\n" {
                break;
            }
            if let Some((k, v)) = line.trim_end().split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        (status, headers)
    }

    /// Reads one chunk of a chunked body; `None` at the last (empty) chunk.
    pub async fn read_chunk(&mut self) -> Option<Vec<u8>> {
        let mut line = String::new();
        self.reader.read_line(&mut line).await.expect("chunk size");
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
        let mut data = vec![0; size + 2];
        self.reader.read_exact(&mut data).await.expect("chunk data");
        data.truncate(size);
        if size == 0 {
            // Trailers end with an empty line; we sent none, so the CRLF was read above.
            return None;
        }
        Some(data)
    }

    /// Reads a whole response (for a request that was not HEAD).
    pub async fn read_response(&mut self) -> Response {
        let (status, headers) = self.read_head().await;
        let find = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if status == 101 || status == 204 || status == 304 || (100..200).contains(&status) {
        } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            while let Some(chunk) = self.read_chunk().await {
                body.extend(chunk);
            }
        } else if let Some(len) = find("content-length") {
            body.resize(len.parse().expect("content-length"), 0);
            self.reader.read_exact(&mut body).await.expect("body");
        } else {
            self.reader
                .read_to_end(&mut body)
                .await
                .expect("body to EOF");
        }
        Response {
            status,
            headers,
            body,
        }
    }

    /// Sends a GET with these extra header lines and reads the response.
    pub async fn get(&mut self, host: &str, path: &str, extra: &[(&str, &str)]) -> Response {
        self.send(request("GET", host, path, extra).as_bytes())
            .await;
        tokio::time::timeout(Duration::from_secs(30), self.read_response())
            .await
            .expect("response within 30 s")
    }
}

/// The bytes of a request without a body.
pub fn request(method: &str, host: &str, path: &str, extra: &[(&str, &str)]) -> String {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (k, v) in extra {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    raw
}

/// One GET on a fresh connection.
pub async fn get(addr: SocketAddr, host: &str, path: &str, extra: &[(&str, &str)]) -> Response {
    Conn::open(addr).await.get(host, path, extra).await
}

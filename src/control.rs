//! The control channel: how a `portproxy` command talks to the running instance, the same way
//! on Linux, macOS and Windows.
//!
//! `run` and `serve` publish `<data dir>/instance.json` (the file 0600, its directory 0700:
//! only this user may read it) with their pid, the admin address and a fresh 256-bit secret,
//! and remove it on a clean exit. The admin listener serves `/control/*` only to a request
//! that proves it knows that secret and names a loopback `Host` (a web page that DNS-rebinds
//! a name to 127.0.0.1 still can't read the secret, and its requests carry its own name).
//!
//! Our commands never send the secret itself: a crash leaves the file behind, and whatever
//! then listens on the admin address (another user's program, once the pid is reused) must
//! learn nothing and be unable to answer as portproxy. A command sends a fresh nonce and a
//! MAC of it (`Authorization: Portproxy nonce=N, mac=M`); the instance answers with its own
//! MAC of the nonce (`X-Portproxy-Proof`), which the command checks before it believes a
//! word (`Impostor` otherwise). `Authorization: Bearer SECRET` is accepted too, for a
//! person with curl and the file.
//!
//! `authorize`, `credentials` and `proof` are pure; the file and the client do the I/O.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use blake2::digest::{FixedOutput, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::route;

/// What a running portproxy publishes about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub pid: u32,
    /// The admin listener, where `/control/*` is served.
    pub admin: SocketAddr,
    /// 64 hex digits (256 bits from the OS); never logged.
    pub secret: String,
    pub version: String,
}

/// `<data dir>/instance.json`.
pub fn instance_file(data: &Path) -> PathBuf {
    data.join("instance.json")
}

/// Why a control request is refused. One variant = one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// `Host` is not `localhost`, `127.0.0.1` or `[::1]` (with any port): a browser page
    /// reaching the admin port through a rebound name.
    NotLoopbackHost,
    NoSecret,
    WrongSecret,
}

impl Denied {
    pub fn status(self) -> u16 {
        match self {
            Denied::NotLoopbackHost => 403,
            Denied::NoSecret | Denied::WrongSecret => 401,
        }
    }
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Denied::NotLoopbackHost => "the control channel answers only a loopback Host",
            Denied::NoSecret => {
                "the control channel needs `Authorization: Bearer SECRET` (from instance.json)"
            }
            Denied::WrongSecret => "wrong control secret",
        })
    }
}

/// The header the instance proves itself in.
pub const PROOF: &str = "x-portproxy-proof";

/// Whether a control request may be served: a loopback `Host` and proof of the instance's
/// secret. `Ok(Some(nonce))`: answer with `proof(secret, nonce)` in `PROOF`.
pub fn authorize(
    host: Option<&str>,
    authorization: Option<&str>,
    method: &str,
    path: &str,
    secret: &str,
) -> Result<Option<String>, Denied> {
    if !host.is_some_and(is_loopback_host) {
        return Err(Denied::NotLoopbackHost);
    }
    if secret.is_empty() {
        return Err(Denied::WrongSecret);
    }
    let same =
        |given: &str, expected: &str| bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
    match authorization.map(scheme) {
        Some(("bearer", token)) if same(token, secret) => Ok(None),
        Some(("portproxy", params)) => {
            let (nonce, mac) = nonce_and_mac(params).ok_or(Denied::NoSecret)?;
            if same(mac, &asked(secret, nonce, method, path)) {
                Ok(Some(nonce.to_string()))
            } else {
                Err(Denied::WrongSecret)
            }
        }
        Some(("bearer", _)) => Err(Denied::WrongSecret),
        _ => Err(Denied::NoSecret),
    }
}

/// `("bearer", TOKEN)` or `("portproxy", PARAMS)`, the scheme lowercased.
fn scheme(value: &str) -> (&'static str, &str) {
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        ("bearer", rest)
    } else if scheme.eq_ignore_ascii_case("portproxy") {
        ("portproxy", rest)
    } else {
        ("", rest)
    }
}

/// `nonce=N, mac=M`; a nonce of 32 to 64 hex digits.
fn nonce_and_mac(params: &str) -> Option<(&str, &str)> {
    let (mut nonce, mut mac) = (None, None);
    for pair in params.split(',') {
        match pair.trim().split_once('=')? {
            ("nonce", value) => nonce = Some(value),
            ("mac", value) => mac = Some(value),
            _ => return None,
        }
    }
    let nonce = nonce
        .filter(|n| (32..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_hexdigit()))?;
    Some((nonce, mac?))
}

/// MAC(secret, words), hex. The words differ for a request and an answer, so neither can
/// stand in for the other.
fn mac(secret: &str, words: &[&str]) -> String {
    let mut mac = <blake2::Blake2sMac256 as KeyInit>::new_from_slice(
        &<blake2::Blake2s256 as blake2::Digest>::digest(secret.as_bytes()),
    )
    .expect("a 32-byte key fits");
    for word in words {
        mac.update(word.as_bytes());
        mac.update(b"\n");
    }
    crate::auth::hex(&mac.finalize_fixed())
}

fn asked(secret: &str, nonce: &str, method: &str, path: &str) -> String {
    mac(secret, &["portproxy control request", nonce, method, path])
}

/// What the instance answers a request that came with `nonce`.
pub fn proof(secret: &str, nonce: &str) -> String {
    mac(secret, &["portproxy control answer", nonce])
}

/// A command's `Authorization` value for one request, and the nonce its answer must prove.
pub fn credentials(secret: &str, method: &str, path: &str) -> std::io::Result<(String, String)> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(std::io::Error::other)?;
    let nonce = crate::auth::hex(&bytes);
    let header = format!(
        "Portproxy nonce={nonce}, mac={}",
        asked(secret, &nonce, method, path)
    );
    Ok((header, nonce))
}

/// `localhost`, `127.0.0.1`, `[::1]`, each with an optional port.
fn is_loopback_host(host: &str) -> bool {
    let (name, _) = route::split_port(host);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The published `instance.json`; removed again when dropped (a clean exit).
pub struct Published {
    path: PathBuf,
    instance: Instance,
}

impl Published {
    /// Writes the file for this process: a fresh secret, the directory made private first.
    pub fn write(data: &Path, admin: SocketAddr) -> std::io::Result<Published> {
        let instance = Instance {
            pid: std::process::id(),
            admin,
            secret: crate::auth::generate_token()?,
            version: env!("CARGO_PKG_VERSION").to_string(),
        };
        private_dir(data)?;
        let path = instance_file(data);
        // A new file each time (write, then rename): never a moment with a readable secret.
        let partial = data.join(format!("instance.json.{}", instance.pid));
        let text = serde_json::to_string_pretty(&instance).map_err(std::io::Error::other)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let _ = std::fs::remove_file(&partial);
        options.open(&partial)?.write_all(text.as_bytes())?;
        std::fs::rename(&partial, &path)?;
        Ok(Published { path, instance })
    }

    pub fn instance(&self) -> &Instance {
        &self.instance
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        // Only our own: a second instance may have published its file meanwhile.
        if read(&self.path).is_ok_and(|found| found.pid == self.instance.pid) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The data directory, readable by this user only.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn read(path: &Path) -> std::io::Result<Instance> {
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(std::io::Error::other)
}

/// Why a command could not reach the running portproxy.
#[derive(Debug)]
pub enum ControlError {
    /// No instance file, or its process is gone.
    NotRunning { file: PathBuf },
    /// The instance did not answer on its admin address.
    Unreachable {
        admin: SocketAddr,
        error: std::io::Error,
    },
    /// It answered with an error.
    Refused { status: u16, message: String },
    /// Something answers on the admin address without proving it knows the secret: not
    /// this user's portproxy (a crash left the file; another program took the port).
    Impostor { admin: SocketAddr },
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlError::NotRunning { .. } => f.write_str("portproxy is not running"),
            ControlError::Unreachable { admin, error } => {
                write!(f, "portproxy does not answer on {admin}: {error}")
            }
            ControlError::Refused { status, message } => {
                write!(f, "portproxy refused ({status}): {}", message.trim())
            }
            ControlError::Impostor { admin } => write!(
                f,
                "what answers on {admin} is not your portproxy (it could not prove it knows the secret in instance.json)"
            ),
        }
    }
}

impl ControlError {
    pub fn help(&self) -> Option<String> {
        match self {
            ControlError::NotRunning { file } => Some(format!(
                "start it with `portproxy` (or `portproxy serve`); it announces itself in {}",
                file.display()
            )),
            ControlError::Unreachable { .. } => {
                Some("it may be starting or stopping; try again, or restart it".into())
            }
            ControlError::Refused { .. } => None,
            ControlError::Impostor { .. } => Some(
                "portproxy is not running; start it with `portproxy`, and see who holds that port (`portproxy ls` once it runs, or `ss -ltnp`)".into(),
            ),
        }
    }
}

/// The running instance of this user, found through its file; `NotRunning` when there is
/// none or its process has gone (a crash leaves the file behind).
pub fn find(data: &Path) -> Result<Instance, ControlError> {
    let file = instance_file(data);
    match read(&file) {
        Ok(instance) if alive(instance.pid) => Ok(instance),
        _ => Err(ControlError::NotRunning { file }),
    }
}

/// Whether a process with this pid exists.
fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // Signal 0 checks existence only; EPERM means a process of another user, not ours.
        // SAFETY: kill with signal 0 sends nothing.
        unsafe { libc::kill(pid, 0) == 0 }
    }
    #[cfg(windows)]
    {
        use windows_sys::Win32::Foundation::{CloseHandle, STILL_ACTIVE};
        use windows_sys::Win32::System::Threading::{
            GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
        };
        // SAFETY: the handle is checked before use and closed after.
        unsafe {
            let handle = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            if handle.is_null() {
                return false;
            }
            let mut code = 0u32;
            let ok = GetExitCodeProcess(handle, &mut code) != 0;
            CloseHandle(handle);
            ok && code == STILL_ACTIVE as u32
        }
    }
}

/// An answer from the control channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// The `X-Portproxy-Proof` header, when there is one.
    pub proof: Option<String>,
    pub body: String,
}

impl Instance {
    /// One request on the control channel (JSON `body` for POST); a non-2xx answer is
    /// `Refused` with the instance's message, any answer without the proof `Impostor`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<String, ControlError> {
        let admin = loopback(self.admin);
        let unreachable = |error| ControlError::Unreachable { admin, error };
        let (authorization, nonce) =
            credentials(&self.secret, method, path).map_err(unreachable)?;
        let reply =
            exchange(admin, Some(&authorization), method, path, body).map_err(unreachable)?;
        let expected = proof(&self.secret, &nonce);
        let proven = reply
            .proof
            .as_deref()
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes())));
        if !proven {
            return Err(ControlError::Impostor { admin });
        }
        if (200..300).contains(&reply.status) {
            Ok(reply.body)
        } else {
            Err(ControlError::Refused {
                status: reply.status,
                message: reply.body,
            })
        }
    }
}

/// An unspecified admin address is reached on loopback.
fn loopback(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

/// One HTTP/1.1 request to a local listener (the admin listener, ngrok's API) and its answer.
pub fn exchange(
    addr: SocketAddr,
    authorization: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<Reply> {
    // Opening a tunnel takes up to 30 s (`share::tunnel`).
    let wait = Some(Duration::from_secs(45));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(wait)?;
    stream.set_write_timeout(wait)?;
    let body = body.unwrap_or("");
    let authorization = authorization
        .map(|value| format!("Authorization: {value}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.take(4 << 20).read_to_end(&mut response)?;
    parse_reply(&response).ok_or_else(|| std::io::Error::other("not an HTTP answer"))
}

/// Status, proof and body of an HTTP/1.1 answer read to its end (`Connection: close`).
fn parse_reply(response: &[u8]) -> Option<Reply> {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()?
        .strip_prefix("HTTP/1.1 ")?
        .get(..3)?
        .parse()
        .ok()?;
    let proof = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case(PROOF)
            .then(|| value.trim().to_string())
    });
    Some(Reply {
        status,
        proof,
        body: body.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn only_a_loopback_host_with_the_secret_is_served() {
        let bearer = format!("Bearer {SECRET}");
        type Row<'a> = (Option<&'a str>, Option<&'a str>, Result<(), Denied>);
        let rows: [Row; 12] = [
            (Some("127.0.0.1:24307"), Some(&bearer), Ok(())),
            (Some("localhost:24307"), Some(&bearer), Ok(())),
            (Some("[::1]:24307"), Some(&bearer), Ok(())),
            (Some("LOCALHOST"), Some(&bearer), Ok(())),
            (Some("127.0.0.2:1"), Some(&bearer), Ok(())),
            (
                Some("evil.example:24307"),
                Some(&bearer),
                Err(Denied::NotLoopbackHost),
            ),
            (
                Some("localhost.evil.example"),
                Some(&bearer),
                Err(Denied::NotLoopbackHost),
            ),
            (
                Some("10.0.0.1:24307"),
                Some(&bearer),
                Err(Denied::NotLoopbackHost),
            ),
            (None, Some(&bearer), Err(Denied::NotLoopbackHost)),
            (Some("127.0.0.1:24307"), None, Err(Denied::NoSecret)),
            (
                Some("127.0.0.1:24307"),
                Some("Basic abc"),
                Err(Denied::NoSecret),
            ),
            (
                Some("127.0.0.1:24307"),
                Some("Bearer 0123"),
                Err(Denied::WrongSecret),
            ),
        ];
        for (host, authorization, expected) in rows {
            assert_eq!(
                authorize(host, authorization, "GET", "/control/ports", SECRET).map(|_| ()),
                expected,
                "{host:?} {authorization:?}"
            );
        }
        assert_eq!(Denied::NotLoopbackHost.status(), 403);
        assert_eq!(Denied::WrongSecret.status(), 401);
        assert_eq!(
            authorize(Some("localhost"), Some("Bearer "), "GET", "/", ""),
            Err(Denied::WrongSecret),
            "an empty secret never matches"
        );
    }

    #[test]
    fn a_command_and_the_instance_prove_the_secret_without_sending_it() {
        let host = Some("127.0.0.1:24307");
        let (header, nonce) = credentials(SECRET, "GET", "/control/ports").unwrap();
        assert!(!header.contains(SECRET), "{header}");
        let answered = authorize(host, Some(&header), "GET", "/control/ports", SECRET);
        assert_eq!(answered, Ok(Some(nonce.clone())));
        assert_eq!(proof(SECRET, &nonce).len(), 64);
        assert_ne!(proof(SECRET, &nonce), proof(SECRET, &"0".repeat(32)));
        assert_ne!(proof(SECRET, &nonce), proof(&"1".repeat(64), &nonce));
        // The MAC covers the method and the path: a captured header asks nothing else.
        for (method, path) in [("DELETE", "/control/ports"), ("GET", "/control/shares")] {
            assert_eq!(
                authorize(host, Some(&header), method, path, SECRET),
                Err(Denied::WrongSecret),
                "{method} {path}"
            );
        }
        let other = "f".repeat(64);
        assert_eq!(
            authorize(host, Some(&header), "GET", "/control/ports", &other),
            Err(Denied::WrongSecret),
            "another instance's secret"
        );
        // A request's MAC is never an answer's proof.
        let mac = header.rsplit("mac=").next().unwrap();
        assert_ne!(mac, proof(SECRET, &nonce));
        for malformed in [
            "Portproxy nonce=abc, mac=00",
            "Portproxy mac=00",
            "Portproxy nonce=0123456789abcdef0123456789abcdef",
            "Portproxy nonce=zz23456789abcdef0123456789abcdef, mac=00",
            "Portproxy nonce=0123456789abcdef0123456789abcdef, mac=00, extra=1",
        ] {
            assert!(authorize(host, Some(malformed), "GET", "/control/ports", SECRET).is_err());
        }
    }

    #[test]
    fn instance_file_is_private_and_removed_on_exit() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("portproxy");
        let admin: SocketAddr = "127.0.0.1:24307".parse().unwrap();
        let published = Published::write(&data, admin).unwrap();
        let found = find(&data).unwrap();
        assert_eq!(&found, published.instance());
        assert_eq!(found.secret.len(), 64, "256 bits, hex");
        assert!(found.secret.bytes().all(|b| b.is_ascii_hexdigit()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&instance_file(&data)), 0o600);
            assert_eq!(mode(&data), 0o700);
        }
        let second = Published::write(&data, admin).unwrap();
        assert_ne!(
            second.instance().secret,
            found.secret,
            "a fresh secret each start"
        );
        drop(published);
        drop(second);
        assert!(!instance_file(&data).exists());
        assert!(matches!(find(&data), Err(ControlError::NotRunning { .. })));
    }

    #[test]
    fn a_dead_pid_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let stale = Instance {
            pid: u32::MAX - 1,
            admin: "127.0.0.1:1".parse().unwrap(),
            secret: SECRET.into(),
            version: "0.0.0".into(),
        };
        std::fs::write(
            instance_file(dir.path()),
            serde_json::to_string(&stale).unwrap(),
        )
        .unwrap();
        let error = find(dir.path()).unwrap_err();
        assert_eq!(error.to_string(), "portproxy is not running");
    }

    #[test]
    fn replies_are_read_from_the_status_line_and_body() {
        let reply = parse_reply(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 5\r\n\r\nnope\n");
        assert_eq!(
            reply,
            Some(Reply {
                status: 401,
                proof: None,
                body: "nope\n".into()
            })
        );
        let proven = parse_reply(b"HTTP/1.1 200 OK\r\nX-Portproxy-Proof: ab12\r\n\r\n{}");
        assert_eq!(proven.and_then(|r| r.proof).as_deref(), Some("ab12"));
        assert_eq!(parse_reply(b"garbage"), None);
        assert_eq!(parse_reply(b"HTTP/1.1 2x\r\n\r\n"), None);
    }
}

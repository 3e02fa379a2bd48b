//! A command's side of the control channel: find the instance, ask it, check its proof.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use subtle::ConstantTimeEq;

use super::proof::{credentials, proof, PROOF};
use super::{instance_file, read, Instance};

/// Why a command could not reach the running portproxy.
#[derive(Debug)]
pub(crate) enum ControlError {
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
    pub(crate) fn help(&self) -> Option<String> {
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
pub(crate) fn find(data: &Path) -> Result<Instance, ControlError> {
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
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// The `X-Portproxy-Proof` header, when there is one.
    pub(crate) proof: Option<String>,
    pub(crate) body: String,
}

impl Instance {
    /// One request on the control channel (JSON `body` for POST); a non-2xx answer is
    /// `Refused` with the instance's message, any answer without the proof `Impostor`.
    pub(crate) fn request(
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
pub(crate) fn exchange(
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

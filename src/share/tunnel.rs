//! Tunnels: the user's own tool publishes a share's loopback listener, and portproxy reads
//! the public URL it was given. The command lines are exactly these (and only the share's
//! port is ever handed to them):
//!
//! - `cloudflared tunnel --url http://127.0.0.1:SHAREPORT` (a quick tunnel, no account; the
//!   URL is in its log on stderr)
//! - `tailscale funnel --bg SHAREPORT` (the internet) or `tailscale serve --bg SHAREPORT` (the
//!   tailnet); the URL is in its output; stopped with `tailscale funnel|serve --https=443 off`
//! - `ngrok http SHAREPORT`, the URL from its local API (`http://127.0.0.1:4040/api/tunnels`)
//!
//! `command`, `url_in` and `ngrok_url` are pure; `start` runs the tool.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::Via;

/// How long a tool may take to say its URL (a cloudflared quick tunnel takes a few seconds).
const WAIT: Duration = Duration::from_secs(30);
/// ngrok's local API, where it lists its tunnels.
const NGROK_API: &str = "127.0.0.1:4040";

/// A running tunnel; `stop` ends it.
#[derive(Debug)]
pub(crate) struct Tunnel {
    /// The public origin, `https://x.trycloudflare.com`.
    pub(crate) url: String,
    child: Option<Child>,
    /// What turns it off when the tool keeps it in the background (`tailscale … off`).
    off: Option<(&'static str, Vec<String>)>,
}

/// Why a tunnel did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TunnelError {
    /// The tool is not installed (not on PATH).
    Missing { program: &'static str },
    /// It ran but gave no URL (its last line, if any).
    NoUrl {
        program: &'static str,
        last_line: String,
    },
}

impl std::fmt::Display for TunnelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TunnelError::Missing { program } => write!(
                f,
                "`{program}` is not installed (not found on PATH); {}",
                install_hint(program)
            ),
            TunnelError::NoUrl { program, last_line } if last_line.is_empty() => {
                write!(
                    f,
                    "`{program}` gave no public URL within {} s",
                    WAIT.as_secs()
                )
            }
            TunnelError::NoUrl { program, last_line } => write!(
                f,
                "`{program}` gave no public URL within {} s; it said: {last_line}",
                WAIT.as_secs()
            ),
        }
    }
}

/// How to install each tool.
pub(crate) fn install_hint(program: &str) -> &'static str {
    match program {
        "cloudflared" => "install it from https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/ (`brew install cloudflared`, `winget install Cloudflare.cloudflared`, or the .deb/.rpm), then run the share again",
        "tailscale" => "install Tailscale from https://tailscale.com/download and sign in (`tailscale up`); Funnel must be enabled for the tailnet",
        _ => "install ngrok from https://ngrok.com/download and add your authtoken (`ngrok config add-authtoken TOKEN`)",
    }
}

/// The program and arguments that publish `port`.
pub(crate) fn command(via: Via, port: u16, public: bool) -> (&'static str, Vec<String>) {
    let port = port.to_string();
    match via {
        Via::Cloudflared => (
            "cloudflared",
            vec![
                "tunnel".into(),
                "--url".into(),
                format!("http://127.0.0.1:{port}"),
            ],
        ),
        Via::Tailscale => (
            "tailscale",
            vec![tailscale_mode(public).into(), "--bg".into(), port],
        ),
        Via::Ngrok => ("ngrok", vec!["http".into(), port]),
    }
}

fn tailscale_mode(public: bool) -> &'static str {
    if public {
        "funnel"
    } else {
        "serve"
    }
}

/// The public URL in one line of a tool's output, if there is one.
pub(crate) fn url_in(via: Via, line: &str) -> Option<String> {
    let https = line
        .split(|c: char| c.is_whitespace() || c == '|' || c == '"')
        .filter_map(|word| word.strip_prefix("https://"))
        .map(|rest| rest.trim_end_matches('/'));
    for host in https {
        let host = host.to_ascii_lowercase();
        let valid = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        let ours = match via {
            // Its log also names https://www.cloudflare.com/… and the docs.
            Via::Cloudflared => host.ends_with(".trycloudflare.com"),
            Via::Tailscale => host.ends_with(".ts.net"),
            Via::Ngrok => true,
        };
        if valid && ours {
            return Some(format!("https://{host}"));
        }
    }
    None
}

/// The https URL of ngrok's tunnel to `port` in its API's `/api/tunnels` answer.
pub(crate) fn ngrok_url(json: &str, port: u16) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let to_port = |addr: &str| {
        addr.rsplit(':')
            .next()
            .is_some_and(|p| p.trim_end_matches('/') == port.to_string())
    };
    value["tunnels"].as_array()?.iter().find_map(|t| {
        let addr = t["config"]["addr"].as_str()?;
        let url = t["public_url"].as_str()?;
        (to_port(addr) && url.starts_with("https://"))
            .then(|| url_in(Via::Ngrok, url))
            .flatten()
    })
}

/// Starts the tool for a share listening on `port` and waits for its public URL.
pub(crate) fn start(via: Via, port: u16, public: bool) -> Result<Tunnel, TunnelError> {
    let (program, args) = command(via, port, public);
    let mut child = spawn(program, &args)?;
    let lines = relay_lines(&mut child);
    let found = wait_for_url(via, port, &lines);
    let off = (via == Via::Tailscale).then(|| {
        let mode = tailscale_mode(public);
        (
            "tailscale",
            vec![mode.into(), "--https=443".into(), "off".into()],
        )
    });
    let mut tunnel = Tunnel {
        url: String::new(),
        child: Some(child),
        off,
    };
    match found {
        Ok(url) => {
            tunnel.url = url;
            Ok(tunnel)
        }
        Err(last_line) => {
            tunnel.stop();
            Err(TunnelError::NoUrl { program, last_line })
        }
    }
}

/// Runs the tool with its output piped to us.
fn spawn(program: &'static str, args: &[String]) -> Result<Child, TunnelError> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::caddy::supervise::platform::prepare(&mut cmd);
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TunnelError::Missing { program })
        }
        Err(e) => {
            return Err(TunnelError::NoUrl {
                program,
                last_line: e.to_string(),
            })
        }
    };
    crate::caddy::supervise::platform::adopt(&child);
    Ok(child)
}

/// The public URL, from the tool's output (or ngrok's API) within `WAIT`; else the last line
/// the tool said.
fn wait_for_url(via: Via, port: u16, lines: &mpsc::Receiver<String>) -> Result<String, String> {
    let deadline = Instant::now() + WAIT;
    let mut last_line = String::new();
    loop {
        if via == Via::Ngrok {
            if let Some(url) = ask_ngrok(port) {
                return Ok(url);
            }
        }
        let wait =
            Duration::from_millis(200).min(deadline.saturating_duration_since(Instant::now()));
        match lines.recv_timeout(wait) {
            Ok(line) => {
                if let Some(url) = (via != Via::Ngrok).then(|| url_in(via, &line)).flatten() {
                    return Ok(url);
                }
                if !line.trim().is_empty() {
                    last_line = line.trim().to_string();
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Both pipes closed: it exited (tailscale --bg does, once set up).
            Err(mpsc::RecvTimeoutError::Disconnected) if via != Via::Ngrok => {
                return Err(last_line)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(wait),
        }
        if Instant::now() >= deadline {
            return Err(last_line);
        }
    }
}

/// Every line the child writes, on both pipes, through one channel (and the pipes kept
/// drained after the URL is found, so the tool never blocks on a full pipe).
fn relay_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let pipes: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ];
    for pipe in pipes.into_iter().flatten() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
    }
    rx
}

fn ask_ngrok(port: u16) -> Option<String> {
    let api: SocketAddr = NGROK_API.parse().ok()?;
    let reply = crate::control::exchange(api, None, "GET", "/api/tunnels", None).ok()?;
    (reply.status == 200)
        .then(|| ngrok_url(&reply.body, port))
        .flatten()
}

impl Tunnel {
    /// Stops the tool (and turns off what it left in the background).
    pub(crate) fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some((program, args)) = self.off.take() {
            let _ = Command::new(program)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exact_command_lines() {
        let line = |via, public| {
            let (program, args) = command(via, 41234, public);
            format!("{program} {}", args.join(" "))
        };
        assert_eq!(
            line(Via::Cloudflared, false),
            "cloudflared tunnel --url http://127.0.0.1:41234"
        );
        assert_eq!(line(Via::Tailscale, true), "tailscale funnel --bg 41234");
        assert_eq!(line(Via::Tailscale, false), "tailscale serve --bg 41234");
        assert_eq!(line(Via::Ngrok, false), "ngrok http 41234");
    }

    #[test]
    fn urls_are_read_from_what_the_tools_print() {
        let cloudflared = [
            "2026-12-03T17:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...",
            "2026-12-03T17:00:01Z INF |  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |",
            "2026-12-03T17:00:01Z INF |  https://seasonal-deck-organisms-sf.trycloudflare.com                                       |",
        ];
        let found: Vec<_> = cloudflared
            .iter()
            .filter_map(|l| url_in(Via::Cloudflared, l))
            .collect();
        assert_eq!(
            found,
            ["https://seasonal-deck-organisms-sf.trycloudflare.com"]
        );
        assert_eq!(
            url_in(
                Via::Cloudflared,
                "INF see https://www.cloudflare.com/website-terms/"
            ),
            None
        );
        assert_eq!(
            url_in(Via::Tailscale, "https://box.tail1234.ts.net/"),
            Some("https://box.tail1234.ts.net".into())
        );
        assert_eq!(
            url_in(Via::Tailscale, "|-- proxy http://127.0.0.1:41234"),
            None
        );
        assert_eq!(
            url_in(Via::Cloudflared, "https://evil.example/x.trycloudflare.com"),
            None
        );
        assert_eq!(
            url_in(Via::Cloudflared, "https://a\"b.trycloudflare.com"),
            None
        );
        let api = r#"{"tunnels":[
            {"public_url":"https://other.ngrok-free.app","config":{"addr":"http://localhost:3000"}},
            {"public_url":"https://a1b2.ngrok-free.app","config":{"addr":"http://localhost:41234"}}]}"#;
        assert_eq!(
            ngrok_url(api, 41234),
            Some("https://a1b2.ngrok-free.app".into())
        );
        assert_eq!(ngrok_url(api, 5173), None);
        assert_eq!(ngrok_url("not json", 41234), None);
    }

    #[test]
    fn a_missing_tool_says_how_to_install_it() {
        let error = TunnelError::Missing {
            program: "cloudflared",
        };
        assert!(error
            .to_string()
            .starts_with("`cloudflared` is not installed (not found on PATH); install it from"));
    }
}

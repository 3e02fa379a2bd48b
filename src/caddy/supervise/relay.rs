//! Caddy's log as ours: each stderr line re-emitted at its level, the last error kept for
//! when Caddy dies.

use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};

use log::Level;

use super::lock;

/// Re-emits Caddy's stderr as our log lines and remembers its last error.
pub(super) struct Relay {
    last: Arc<Mutex<String>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Relay {
    pub(super) fn start(stderr: impl Read + Send + 'static) -> Relay {
        let last = Arc::new(Mutex::new(String::new()));
        let keep = last.clone();
        let thread = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let (level, text) = relay_line(&line);
                log::log!(target: "caddy", level, "caddy: {text}");
                if level <= Level::Warn {
                    *lock(&keep) = text;
                }
            }
        });
        Relay {
            last,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Waits until Caddy's stderr is closed (it exited), so the last line is in.
    pub(super) fn join(&self) -> std::thread::Result<()> {
        match lock(&self.thread).take() {
            Some(handle) => handle.join(),
            None => Ok(()),
        }
    }

    pub(super) fn last_line(&self) -> String {
        let last = lock(&self.last).clone();
        if last.is_empty() {
            "no error was logged".into()
        } else {
            last
        }
    }
}

/// Warnings our Caddyfile causes on purpose, or that say nothing to a user; they would only
/// alarm. Matched anywhere in the line: the reason may be in a field other than `msg`.
const EXPECTED: [&str; 8] = [
    // On-demand TLS without `ask` is fine for the local CA (2.7+ agrees).
    "YOUR SERVER MAY BE VULNERABLE TO ABUSE",
    // `*.localhost` is a site address here; certificates are per name (on_demand).
    "second-level wildcard certificates",
    // The local CA has no OCSP responder: `"msg":"stapling OCSP","error":"no OCSP stapling
    // for [5173.localhost]: no OCSP server specified in certificate"`.
    "no OCSP server specified",
    // The http:// site redirects by itself.
    "automatic HTTP->HTTPS redirects are disabled",
    "server is listening only on the HTTP port",
    // Caddy 2.10+: the plain HTTP site has no HTTP/2 or HTTP/3 (it only redirects).
    "skipped because it requires TLS",
    // Caddy 2.10+: the admin API is a Unix socket of ours (0700 directory), not a TCP port.
    "admin endpoint on open interface",
    // Caddy's goodbye (a warning) when we stop it.
    "exiting; byeee",
];

/// One line of Caddy's stderr as a level and a message. Caddy logs JSON when stderr is not
/// a terminal; its fatal startup errors are plain `Error: …` lines.
pub(crate) fn relay_line(line: &str) -> (Level, String) {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(line)
    else {
        let level = if line.starts_with("Error") {
            Level::Error
        } else {
            Level::Info
        };
        return (level, line.trim().to_string());
    };
    let text = |key: &str| fields.get(key).and_then(|v| v.as_str()).unwrap_or("");
    let msg = text("msg");
    if EXPECTED.iter().any(|expected| line.contains(expected)) {
        return (Level::Debug, msg.to_string());
    }
    let level = match text("level") {
        "debug" => Level::Debug,
        "info" => Level::Info,
        "warn" => Level::Warn,
        _ => Level::Error,
    };
    let mut out = match text("logger") {
        "" => msg.to_string(),
        logger => format!("{logger}: {msg}"),
    };
    for (key, value) in &fields {
        if matches!(key.as_str(), "level" | "ts" | "logger" | "msg") {
            continue;
        }
        match value {
            serde_json::Value::String(s) => out.push_str(&format!(" {key}={s}")),
            serde_json::Value::Object(request) if key == "request" => {
                let part = |k: &str| request.get(k).and_then(|v| v.as_str()).unwrap_or("");
                out.push_str(&format!(
                    " request={} {}{}",
                    part("method"),
                    part("host"),
                    part("uri")
                ));
            }
            serde_json::Value::Object(_) | serde_json::Value::Array(_) => {}
            other => out.push_str(&format!(" {key}={other}")),
        }
    }
    (level, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caddy_log_lines_become_ours() {
        let rows = [
            (
                r#"{"level":"info","ts":1.5,"logger":"tls.obtain","msg":"certificate obtained successfully","identifier":"5173.localhost"}"#,
                Level::Info,
                "tls.obtain: certificate obtained successfully identifier=5173.localhost",
            ),
            (
                r#"{"level":"error","ts":1.5,"logger":"http.log.error","msg":"dial tcp 127.0.0.1:24306: connect: connection refused","request":{"method":"GET","host":"5173.localhost","uri":"/x","headers":{}},"status":502}"#,
                Level::Error,
                "http.log.error: dial tcp 127.0.0.1:24306: connect: connection refused request=GET 5173.localhost/x status=502",
            ),
            (r#"{"level":"warn","ts":1,"msg":"exiting; byeee!! 👋","signal":"SIGTERM"}"#, Level::Debug, "exiting; byeee!! 👋"),
            (
                r#"{"level":"warn","ts":1.5,"logger":"tls","msg":"stapling OCSP","error":"no OCSP stapling for [5173.localhost]: no OCSP server specified in certificate","identifiers":["5173.localhost"]}"#,
                Level::Debug,
                "stapling OCSP",
            ),
            (
                r#"{"level":"warn","ts":1.5,"logger":"http","msg":"HTTP/2 skipped because it requires TLS","network":"tcp","addr":"127.0.0.1:80"}"#,
                Level::Debug,
                "HTTP/2 skipped because it requires TLS",
            ),
            (r#"{"level":"warn","ts":1,"msg":"something else"}"#, Level::Warn, "something else"),
            (
                "Error: loading initial config: loading new config: http app module: start: listening on :80: listen tcp :80: bind: address already in use",
                Level::Error,
                "Error: loading initial config: loading new config: http app module: start: listening on :80: listen tcp :80: bind: address already in use",
            ),
            ("some plain line", Level::Info, "some plain line"),
        ];
        for (line, level, text) in rows {
            assert_eq!(relay_line(line), (level, text.to_string()));
        }
        let (level, _) = relay_line(
            r#"{"level":"warn","logger":"tls","msg":"YOUR SERVER MAY BE VULNERABLE TO ABUSE: on-demand TLS is enabled, but no protections are in place"}"#,
        );
        assert_eq!(level, Level::Debug);
    }
}

//! Caddy as a child process: started and known ready, its log re-emitted as ours,
//! restarted with backoff if it dies, stopped with us.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use log::{error, info, warn, Level};

use super::locate::Caddy;

/// How long Caddy may take to load its config and listen.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A Caddy that ran this long before dying starts its backoff afresh.
const STABLE: Duration = Duration::from_secs(60);

/// What it takes to run Caddy.
#[derive(Debug, Clone)]
pub struct Launch {
    pub caddy: Caddy,
    pub caddyfile: PathBuf,
    /// Caddy's admin address, for reloads (and stops on Windows).
    pub admin: String,
    /// Keeps Caddy's autosave and default storage under portproxy's data dir.
    pub env: Vec<(OsString, OsString)>,
}

/// Why Caddy did not come up.
#[derive(Debug)]
pub enum StartError {
    Spawn(std::io::Error),
    Exited { status: String, last_line: String },
    NotReady,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Spawn(e) => write!(f, "could not start Caddy: {e}"),
            StartError::Exited { status, last_line } => {
                write!(f, "Caddy exited during startup ({status}): {last_line}")
            }
            StartError::NotReady => write!(
                f,
                "Caddy did not report ready within {}s",
                READY_TIMEOUT.as_secs()
            ),
        }
    }
}

/// A running, watched Caddy.
pub struct Supervisor {
    launch: Launch,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    stopping: AtomicBool,
    pid: Mutex<Option<u32>>,
}

impl Supervisor {
    /// Starts Caddy and returns once it serves its configuration. A failure here is reported,
    /// never retried: a bad config or a taken port will not fix itself.
    pub fn start(launch: Launch) -> Result<Supervisor, StartError> {
        let shared = Arc::new(Shared::default());
        let (ready_tx, ready_rx) = mpsc::channel();
        let (thread_launch, thread_shared) = (launch.clone(), shared.clone());
        // The thread that spawns Caddy lives as long as Caddy: Linux's parent-death signal
        // fires when the spawning *thread* exits.
        std::thread::Builder::new()
            .name("caddy".into())
            .spawn(move || supervise(thread_launch, thread_shared, ready_tx))
            .map_err(StartError::Spawn)?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Supervisor { launch, shared }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StartError::NotReady),
        }
    }

    /// Has Caddy load a new Caddyfile, and only once it has accepted it puts the file where
    /// a restart reads it: a rejected config leaves Caddy and the file on the previous one.
    pub fn rewrite(&self, text: &str) -> Result<(), String> {
        let candidate = self.launch.caddyfile.with_extension("new");
        std::fs::write(&candidate, text).map_err(|e| e.to_string())?;
        let loaded = self.reload(&candidate).and_then(|()| {
            std::fs::rename(&candidate, &self.launch.caddyfile).map_err(|e| e.to_string())
        });
        if loaded.is_err() {
            let _ = std::fs::remove_file(&candidate);
        }
        loaded
    }

    fn reload(&self, caddyfile: &std::path::Path) -> Result<(), String> {
        let output = Command::new(&self.launch.caddy.path)
            .args(["reload", "--config"])
            .arg(caddyfile)
            .args(["--adapter", "caddyfile", "--address", &self.launch.admin])
            .envs(self.launch.env.iter().map(|(k, v)| (k, v)))
            .output()
            .map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(())
        } else {
            let stderr = String::from_utf8_lossy(&output.stderr);
            Err(stderr
                .lines()
                .last()
                .unwrap_or("caddy reload failed")
                .to_string())
        }
    }

    /// Stops Caddy gracefully, forcefully after `grace`. A Caddy being (re)started meanwhile
    /// is either never spawned or already recorded: `spawn_ready` checks `stopping` and records
    /// the pid under the same lock.
    pub fn stop(&self, grace: Duration) {
        let pid = {
            let pid = lock(&self.shared.pid);
            self.shared.stopping.store(true, Ordering::SeqCst);
            *pid
        };
        let Some(pid) = pid else {
            return;
        };
        platform::terminate(pid, &self.launch);
        let deadline = Instant::now() + grace;
        while lock(&self.shared.pid).is_some() {
            if Instant::now() > deadline {
                warn!("Caddy did not stop within {}s; killing it", grace.as_secs());
                platform::kill(pid);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn supervise(launch: Launch, shared: Arc<Shared>, ready: mpsc::Sender<Result<(), StartError>>) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_secs(1);
    loop {
        let started = Instant::now();
        match spawn_ready(&launch, &shared) {
            Err(_) if shared.stopping.load(Ordering::SeqCst) => return,
            Err(e) => match ready.take() {
                Some(tx) => {
                    let _ = tx.send(Err(e));
                    return;
                }
                None => error!(
                    "Caddy failed to start again: {e}; retrying in {}s",
                    backoff.as_secs()
                ),
            },
            Ok((mut child, relay)) => {
                match ready.take() {
                    Some(tx) => {
                        let _ = tx.send(Ok(()));
                    }
                    None => info!("Caddy is serving again"),
                }
                let status = child
                    .wait()
                    .map_or_else(|e| e.to_string(), |s| s.to_string());
                let _ = relay.join();
                *lock(&shared.pid) = None;
                if shared.stopping.load(Ordering::SeqCst) {
                    return;
                }
                if started.elapsed() > STABLE {
                    backoff = Duration::from_secs(1);
                }
                error!(
                    "Caddy exited ({status}): {}; restarting in {}s",
                    relay.last_line(),
                    backoff.as_secs()
                );
            }
        }
        let wake = Instant::now() + backoff;
        while Instant::now() < wake {
            if shared.stopping.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Starts Caddy with `--pingback` and waits for it: Caddy reads a token from stdin and,
/// once its config is loaded, dials us and writes the token back. The pid is recorded as
/// soon as Caddy exists (cleared again if it never gets ready), so `stop` can always reach it.
fn spawn_ready(launch: &Launch, shared: &Shared) -> Result<(Child, Relay), StartError> {
    let result = spawn_and_wait(launch, shared);
    if result.is_err() {
        *lock(&shared.pid) = None;
    }
    result
}

fn spawn_and_wait(launch: &Launch, shared: &Shared) -> Result<(Child, Relay), StartError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(StartError::Spawn)?;
    listener.set_nonblocking(true).map_err(StartError::Spawn)?;
    let pingback = listener.local_addr().map_err(StartError::Spawn)?;
    let mut cmd = Command::new(&launch.caddy.path);
    cmd.arg("run")
        .arg("--config")
        .arg(&launch.caddyfile)
        .args([
            "--adapter",
            "caddyfile",
            "--pingback",
            &pingback.to_string(),
        ])
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    platform::prepare(&mut cmd);
    let mut child = {
        let mut pid = lock(&shared.pid);
        if shared.stopping.load(Ordering::SeqCst) {
            return Err(StartError::NotReady);
        }
        let child = cmd.spawn().map_err(StartError::Spawn)?;
        *pid = Some(child.id());
        child
    };
    platform::adopt(&child);
    let relay = Relay::start(child.stderr.take().expect("stderr is piped"));
    let token = token();
    if let Some(mut stdin) = child.stdin.take() {
        // Caddy reads stdin to EOF before it dials back; dropping stdin closes it.
        let _ = stdin.write_all(&token);
    }
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let _ = relay.join();
            return Err(StartError::Exited {
                status: status.to_string(),
                last_line: relay.last_line(),
            });
        }
        match listener.accept() {
            Ok((mut conn, _)) => {
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut echoed = [0u8; 32];
                // Caddy never closes this connection: read exactly the token.
                if conn.read_exact(&mut echoed).is_ok() && echoed == token {
                    return Ok((child, relay));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(StartError::Spawn(e)),
        }
        if Instant::now() > deadline {
            platform::kill(child.id());
            return Err(StartError::NotReady);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// 32 unpredictable-enough bytes: the token only tells our Caddy's pingback from a stray
/// connection, it guards nothing.
fn token() -> [u8; 32] {
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(Instant::now().elapsed().as_nanos());
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// Re-emits Caddy's stderr as our log lines and remembers its last error.
struct Relay {
    last: Arc<Mutex<String>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Relay {
    fn start(stderr: impl Read + Send + 'static) -> Relay {
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
    fn join(&self) -> std::thread::Result<()> {
        match lock(&self.thread).take() {
            Some(handle) => handle.join(),
            None => Ok(()),
        }
    }

    fn last_line(&self) -> String {
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
pub fn relay_line(line: &str) -> (Level, String) {
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

/// Children that die with portproxy (also tunnel tools, `share::tunnel`).
#[cfg(unix)]
pub mod platform {
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command};

    use super::Launch;

    /// Own process group (a terminal's Ctrl-C reaches us, not Caddy; we stop it ourselves),
    /// and on Linux a SIGTERM when we die, even by SIGKILL.
    pub fn prepare(cmd: &mut Command) {
        cmd.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    pub fn adopt(_child: &Child) {}

    pub fn terminate(pid: u32, _launch: &Launch) {
        // SAFETY: kill(2) on the group we created; a stale pid at worst gets ESRCH.
        unsafe {
            libc::kill(-(pid as libc::pid_t), libc::SIGTERM);
        }
    }

    pub fn kill(pid: u32) {
        // SAFETY: as above.
        unsafe {
            libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
        }
    }
}

#[cfg(windows)]
pub mod platform {
    use std::os::windows::io::AsRawHandle;
    use std::process::{Child, Command};

    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
        SetInformationJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
        JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    };

    use super::Launch;

    pub fn prepare(_cmd: &mut Command) {}

    /// A Job Object that kills Caddy when the last handle to it closes, i.e. when we exit.
    /// The handle is deliberately never closed.
    pub fn adopt(child: &Child) {
        // SAFETY: plain Win32 calls on a handle we own; the info struct outlives the call.
        unsafe {
            let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
            if job.is_null() {
                return;
            }
            let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
            info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
            SetInformationJobObject(
                job,
                JobObjectExtendedLimitInformation,
                &info as *const _ as *const core::ffi::c_void,
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            );
            AssignProcessToJobObject(job, child.as_raw_handle() as _);
        }
    }

    /// Windows has no SIGTERM: ask Caddy to stop through its admin API.
    pub fn terminate(_pid: u32, launch: &Launch) {
        let _ = Command::new(&launch.caddy.path)
            .args(["stop", "--address", &launch.admin])
            .output();
    }

    pub fn kill(pid: u32) {
        let _ = Command::new("taskkill")
            .args(["/F", "/T", "/PID", &pid.to_string()])
            .output();
    }
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

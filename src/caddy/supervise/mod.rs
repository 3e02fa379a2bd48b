//! Caddy as a child process: started and known ready, its log re-emitted as ours,
//! restarted with backoff if it dies, stopped with us.

mod relay;

#[cfg(unix)]
#[path = "unix.rs"]
pub(crate) mod platform;
#[cfg(windows)]
#[path = "windows.rs"]
pub(crate) mod platform;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use log::{error, info, warn};

use super::locate::Caddy;
use relay::Relay;

/// How long Caddy may take to load its config and listen.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A Caddy that ran this long before dying starts its backoff afresh.
const STABLE: Duration = Duration::from_secs(60);

/// What it takes to run Caddy.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub(crate) caddy: Caddy,
    pub(crate) caddyfile: PathBuf,
    /// Caddy's admin address, for reloads (and stops on Windows).
    pub(crate) admin: String,
    /// Keeps Caddy's autosave and default storage under portproxy's data dir.
    pub(crate) env: Vec<(OsString, OsString)>,
}

/// Why Caddy did not come up.
#[derive(Debug)]
pub(crate) enum StartError {
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
pub(crate) struct Supervisor {
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
    pub(crate) fn start(launch: Launch) -> Result<Supervisor, StartError> {
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
    pub(crate) fn rewrite(&self, text: &str) -> Result<(), String> {
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
    pub(crate) fn stop(&self, grace: Duration) {
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
    let mut cmd = caddy_run(launch, pingback);
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
    wait_for_pingback(&listener, child, relay, &token)
}

/// `caddy run` on the Caddyfile, told to dial `pingback` once its config is loaded.
fn caddy_run(launch: &Launch, pingback: SocketAddr) -> Command {
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
    cmd
}

/// Caddy's pingback echoing `token` within `READY_TIMEOUT`; Caddy killed if it is late.
fn wait_for_pingback(
    listener: &TcpListener,
    mut child: Child,
    relay: Relay,
    token: &[u8; 32],
) -> Result<(Child, Relay), StartError> {
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
                if conn.read_exact(&mut echoed).is_ok() && echoed == *token {
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

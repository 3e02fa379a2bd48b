//! Stopping: SIGTERM and SIGINT drain requests in flight (at most `GRACE`), Caddy stops
//! gracefully meanwhile, and one line says so.

use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{info, warn};
use pingora::server::{ExecutionPhase, RunArgs, Server};

use crate::banner::DETAIL;
use crate::caddy::supervise::Supervisor;
use crate::metrics::METRICS;

/// Set when the signal's line said `stopping: …`; otherwise `start` ends with `stopped`.
static STOPPING_SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// In-flight requests get this long after SIGTERM/SIGINT; Pingora's own default is 300 s.
pub(super) const GRACE: Duration = Duration::from_secs(10);
/// Caddy's own grace period is 5 s (set in the Caddyfile); then it is killed.
const CADDY_GRACE: Duration = Duration::from_secs(8);

/// Runs the server until a signal stops it and requests in flight are done.
pub(super) fn run_until_stopped(server: Server, caddy: Option<Arc<Supervisor>>) {
    let (stopped, done) = std::sync::mpsc::channel();
    watch_for_drain(server.watch_execution_phase(), caddy, stopped.clone());
    // Pingora's `run` sleeps out its whole grace period; the drain watcher says sooner when
    // nothing is left in flight, and whichever is first ends `start`.
    std::thread::spawn(move || {
        server.run(run_args());
        let _ = stopped.send(());
    });
    let _ = done.recv();
}

/// The last line of a stop, unless the signal's line already said `stopping: …`.
pub(super) fn say_stopped() {
    if !STOPPING_SAID.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("stopped");
    }
}

/// Pingora sleeps the whole grace period even when nothing is in flight; stop as soon as the
/// last request is done instead (and at the latest when the grace period ends). Caddy is
/// stopped meanwhile, gracefully, so it finishes what it is relaying through us.
fn watch_for_drain(
    mut phases: tokio::sync::broadcast::Receiver<ExecutionPhase>,
    caddy: Option<Arc<Supervisor>>,
    stopped: std::sync::mpsc::Sender<()>,
) {
    use tokio::sync::broadcast::error::RecvError;
    std::thread::spawn(move || loop {
        match phases.blocking_recv() {
            Ok(ExecutionPhase::GracefulTerminate) => {
                let stopping = caddy
                    .clone()
                    .map(|caddy| std::thread::spawn(move || caddy.stop(CADDY_GRACE)));
                drain();
                if let Some(stopping) = stopping {
                    let _ = stopping.join();
                }
                let _ = stopped.send(());
                return;
            }
            Ok(_) | Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        }
    });
}

#[cfg(unix)]
fn run_args() -> RunArgs {
    RunArgs {
        shutdown_signal: Box::new(Signals),
    }
}

#[cfg(not(unix))]
fn run_args() -> RunArgs {
    RunArgs::default()
}

/// SIGINT (Ctrl-C) drains like SIGTERM: a dev server's users shouldn't lose a request either way.
#[cfg(unix)]
struct Signals;

#[cfg(unix)]
#[async_trait::async_trait]
impl pingora::server::ShutdownSignalWatch for Signals {
    async fn recv(&self) -> pingora::server::ShutdownSignal {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        // The one line a stop prints: this, or `stopped` once done when nothing was in flight
        // (Pingora's own "SIGTERM received, gracefully exiting" and the rest are detail).
        info!(target: DETAIL, "{name}: not accepting new connections");
        match METRICS.active() {
            0 => {}
            n => {
                STOPPING_SAID.store(true, std::sync::atomic::Ordering::Relaxed);
                eprintln!(
                    "stopping: waiting up to {}s for {n} {}",
                    GRACE.as_secs(),
                    if n == 1 { "request" } else { "requests" }
                );
            }
        }
        pingora::server::ShutdownSignal::GracefulTerminate
    }
}

fn drain() {
    let start = Instant::now();
    while METRICS.active() > 0 && start.elapsed() < GRACE {
        std::thread::sleep(Duration::from_millis(25));
    }
    match METRICS.active() {
        0 => info!(target: DETAIL, "all requests finished; stopping"),
        n => warn!("grace period over; cutting {n} requests still in flight"),
    }
}

//! The Pingora server: the proxy and admin services, Caddy beside them, reloads, and the
//! shutdown that drains requests in flight.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{error, info, warn};
use pingora::apps::http_app::HttpServer;
use pingora::proxy::http_proxy_service_with_name;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{ExecutionPhase, RunArgs, Server};
use pingora::services::listening::Service;

use crate::admin::Admin;
use crate::banner::{self, Https, DETAIL};
use crate::caddy::supervise::{Launch, Supervisor};
use crate::config::Config;
use crate::control;
use crate::error::Error;
use crate::metrics::METRICS;
use crate::ports;
use crate::proxy::{App, PortProxy};

/// Set when the signal's line said `stopping: …`; otherwise `start` ends with `stopped`.
static STOPPING_SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// In-flight requests get this long after SIGTERM/SIGINT; Pingora's own default is 300 s.
const GRACE: Duration = Duration::from_secs(10);
/// Caddy's own grace period is 5 s (set in the Caddyfile); then it is killed.
const CADDY_GRACE: Duration = Duration::from_secs(8);

/// What `serve` and `run` start.
pub struct Plan {
    pub config: Config,
    /// Caddy in front, for `run`.
    pub caddy: Option<CaddyPlan>,
    /// Why there is no Caddy in front, for the start banner when `caddy` is None.
    pub alone: String,
    /// Builds the settings afresh from the file, the environment and the flags, for a reload;
    /// what was fixed at start (listen, admin, threads, Caddy's ports) is taken from the
    /// running settings it is given.
    pub reload: Reload,
}

pub struct CaddyPlan {
    pub launch: Launch,
    /// The Caddyfile as written, to tell whether a reload changes it.
    pub caddyfile: String,
    /// The addresses Caddy will listen on, checked before anything starts.
    pub binds: Vec<(&'static str, SocketAddr)>,
    /// Where Caddy's local CA lives, when a site uses it: `run` offers to trust it (or says
    /// how) once Caddy has made it.
    pub local_ca: Option<crate::caddy::Paths>,
    /// Whether that offer may be a question (not with `--yes` or `--no-trust`).
    pub may_ask_trust: bool,
    /// The Unix sockets Caddy reaches the proxy on, one per proxy thread (`caddy::proxy_sockets`);
    /// empty when it uses the TCP listener.
    pub sockets: Vec<PathBuf>,
}

/// Rebuilds the settings from the running ones (see `Plan::reload`).
pub type Reload = Box<dyn Fn(&Config) -> Result<Reloaded, Error> + Send>;

/// Settings rebuilt by a reload.
pub struct Reloaded {
    pub config: Config,
    pub caddyfile: Option<String>,
    /// The new settings tried to move something fixed at start (kept as it was).
    pub moved_start_settings: bool,
}

/// Runs portproxy until SIGTERM or SIGINT; returns once requests in flight are done (or the
/// grace period is over) and Caddy has stopped.
pub fn start(plan: Plan) -> Result<(), Error> {
    let Plan {
        config,
        caddy,
        alone,
        reload,
    } = plan;
    // Pingora panics in a service thread when a bind fails; say it properly, before starting.
    ensure_free("listen", config.settings.listen)?;
    ensure_free("admin", config.settings.admin)?;
    for (key, addr) in caddy.iter().flat_map(|c| &c.binds) {
        ensure_free_for_caddy(key, *addr)?;
    }
    if !config.settings.listen.ip().is_loopback() {
        warn!(
            "listening on {}: every port on this machine is reachable from the network through it",
            config.settings.listen
        );
    }

    // The default pid and upgrade paths are shared /tmp names; two instances must not collide.
    let scratch = std::env::temp_dir();
    let pid = std::process::id();
    let conf = ServerConf {
        // Each proxy service gets its own threads (see `proxy_services`).
        threads: 1,
        // Where each service has one thread, a tokio current-thread runtime instead of a
        // one-worker work-stealing one: the same CPU per request, and measured on 2 cores
        // (bench/run.sh floor-st vs examples/floor.rs per-thread-nosteal, 5 interleaved
        // rounds) 1.2x the requests/s and half the p99. Windows has one service with all the
        // threads (`proxy_services`), where a no-steal runtime would keep every connection on
        // the thread that accepted it.
        work_stealing: !cfg!(unix),
        grace_period_seconds: Some(GRACE.as_secs()),
        graceful_shutdown_timeout_seconds: Some(1),
        pid_file: scratch
            .join(format!("portproxy-{pid}.pid"))
            .display()
            .to_string(),
        upgrade_sock: scratch
            .join(format!("portproxy-{pid}.sock"))
            .display()
            .to_string(),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(Opt::default(), conf);
    server.bootstrap();

    let watched = config.settings.file.clone();
    let settings = &config.settings;
    let (listen, admin_addr, threads) = (settings.listen, settings.admin, settings.threads);
    let sockets = caddy
        .as_ref()
        .map(|plan| plan.sockets.clone())
        .unwrap_or_default();
    prepare_socket_dir(&sockets)?;
    let app = Arc::new(App::new(config));
    crate::hosts_sync::spawn(app.clone());
    // macOS: what /etc/resolver/localhost (`hosts --resolver`) sends *.localhost queries to.
    #[cfg(target_os = "macos")]
    crate::dns::responder::start(crate::dns::LISTEN);
    for service in proxy_services(&server, &app, listen, threads, &sockets) {
        server.add_service(service);
    }
    // Published once the addresses are known to be free; removed when `start` returns.
    let data = crate::paths::data_dir(&crate::config::process_env)?;
    let published = control::Published::write(&data, admin_addr).map_err(|error| Error::File {
        path: control::instance_file(&data),
        error,
    })?;
    let admin = Admin {
        app: app.clone(),
        secret: published.instance().secret.clone(),
    };
    let mut admin = Service::new("admin".into(), HttpServer::new_app(admin));
    admin.add_tcp(&admin_addr.to_string());
    admin.threads = Some(1);
    server.add_service(admin);

    info!(target: DETAIL, "admin on http://{admin_addr}/ (/healthz, /metrics, /caddy/ask)");
    let front = match caddy {
        Some(plan) => {
            let supervisor = Supervisor::start(plan.launch).map_err(Error::CaddyStart)?;
            let https = match &plan.local_ca {
                Some(paths) => Https::LocalCa {
                    trusted: crate::caddy::trust::is_trusted(paths),
                },
                None => Https::Public,
            };
            eprint!("{}", banner::render(&app.config(), &https));
            if let Some(paths) = plan.local_ca {
                // Beside the proxy, which serves while the question waits for an answer.
                let may_ask = plan.may_ask_trust;
                std::thread::spawn(move || {
                    crate::caddy::trust::first_run::offer_on_start(&paths, may_ask)
                });
            }
            Some((Arc::new(supervisor), plan.caddyfile))
        }
        None => {
            eprint!(
                "{}",
                banner::render(&app.config(), &Https::Off { why: alone })
            );
            None
        }
    };
    let supervisor = front.as_ref().map(|(s, _)| s.clone());
    let shares = app.shares.clone();
    watch_for_reload(app, reload, watched, front);
    let (stopped, done) = std::sync::mpsc::channel();
    watch_for_drain(server.watch_execution_phase(), supervisor, stopped.clone());
    // Pingora's `run` sleeps out its whole grace period; the drain watcher says sooner when
    // nothing is left in flight, and whichever is first ends `start`.
    std::thread::spawn(move || {
        server.run(run_args());
        let _ = stopped.send(());
    });
    let _ = done.recv();
    for socket in &sockets {
        let _ = std::fs::remove_file(socket);
    }
    // Tunnel tools must not outlive us.
    shares.stop();
    drop(published);
    if !STOPPING_SAID.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("stopped");
    }
    Ok(())
}

/// The sockets' directory, private to this user (0700): the proxy trusts whatever comes over
/// a socket as the front proxy. Pingora chmods each socket to 0600 right after binding it.
fn prepare_socket_dir(sockets: &[PathBuf]) -> Result<(), Error> {
    #[cfg(unix)]
    if let Some(dir) = sockets.first().and_then(|s| s.parent()) {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let error = |error| Error::File {
            path: dir.to_path_buf(),
            error,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(error)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(error)?;
    }
    #[cfg(not(unix))]
    let _ = sockets;
    Ok(())
}

/// Re-reads the settings on SIGHUP or when the config file changes. A bad file is rejected
/// with its reason and the running settings stay; requests in flight and open WebSockets
/// keep the settings they started with. Caddy is reloaded only if its Caddyfile changed.
fn watch_for_reload(
    app: Arc<App>,
    reload: Reload,
    watched: Option<std::path::PathBuf>,
    mut front: Option<(Arc<Supervisor>, String)>,
) {
    let (registered_tx, registered_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => return warn!("config reload is off: {e}"),
        };
        runtime.block_on(async move {
            #[cfg(unix)]
            let mut hangup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            let _ = registered_tx.send(());
            let stamp = |path: &Option<std::path::PathBuf>| {
                path.as_ref()
                    .and_then(|p| std::fs::metadata(p).ok())
                    .map(|m| (m.modified().ok(), m.len()))
            };
            let mut last = stamp(&watched);
            loop {
                #[cfg(unix)]
                let hup = async {
                    match hangup.as_mut() {
                        Some(h) => h.recv().await,
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let hup = std::future::pending::<Option<()>>();
                let reason = tokio::select! {
                    _ = hup => "SIGHUP",
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {
                        let now = stamp(&watched);
                        if now == last {
                            continue;
                        }
                        last = now;
                        "the config file changed"
                    }
                };
                apply_reload(&app, &reload, &mut front, reason);
            }
        });
    });
    let _ = registered_rx.recv_timeout(Duration::from_secs(5));
}

/// Swaps in the new settings, but only once Caddy has accepted its new Caddyfile: a config
/// Caddy rejects leaves both Caddy and the proxy on the running settings.
fn apply_reload(
    app: &App,
    reload: &dyn Fn(&Config) -> Result<Reloaded, Error>,
    front: &mut Option<(Arc<Supervisor>, String)>,
    reason: &str,
) {
    let old = app.config();
    let new = match reload(&old) {
        Ok(new) => new,
        Err(e) => {
            return error!("{reason}: new settings rejected, the running ones stay: {e}");
        }
    };
    if new.moved_start_settings {
        warn!("{reason}: `listen`, `admin`, `threads`, `http_port` and `https_port` apply at the next start; the rest applies now");
    }
    if let (Some((supervisor, running)), Some(text)) = (front.as_mut(), new.caddyfile) {
        if *running != text {
            if let Err(e) = supervisor.rewrite(&text) {
                return error!("{reason}: Caddy rejected the new Caddyfile, so the running settings stay (proxy and Caddy): {e}");
            }
            info!("{reason}: Caddy reloaded with the new Caddyfile");
            *running = text;
        }
    }
    app.replace_config(new.config);
    info!("{reason}: settings reloaded");
}

type ProxyService = Service<pingora::proxy::HttpProxy<PortProxy>>;

/// One single-threaded proxy service per thread, all on the same address (SO_REUSEPORT),
/// like nginx workers. In Pingora's multi-threaded runtimes a pooled upstream connection
/// moves between threads, and that handover races (`failed to acquire reusable stream`):
/// measured on 2 cores, one new upstream connection every ~20 requests, an error line each,
/// and 0.4× nginx's throughput. With one thread per service each pool stays on its thread.
/// Windows has no SO_REUSEPORT: there, one service with all the threads. Service `i` also
/// listens on `sockets[i]`, when Caddy reaches the proxy over Unix sockets.
fn proxy_services(
    server: &Server,
    app: &Arc<App>,
    listen: SocketAddr,
    threads: usize,
    sockets: &[PathBuf],
) -> Vec<ProxyService> {
    use pingora::listeners::{L4BufferSettings, ListenerConfig, TcpSocketOptions};
    #[cfg(not(unix))]
    let _ = sockets;
    let (services, threads_each) = if cfg!(unix) {
        (threads, 1)
    } else {
        (1, threads)
    };
    // Pingora's 64 KiB read-ahead buffer is for TLS records; on plain HTTP it is 64 KiB more
    // per open connection (an idle HMR socket, a keep-alive tab).
    let unbuffered = L4BufferSettings::default().read(0);
    (0..services)
        .map(|i| {
            let name = format!("portproxy-{i}");
            let mut service =
                http_proxy_service_with_name(&server.configuration, PortProxy(app.clone()), &name);
            let mut options = TcpSocketOptions::default();
            options.so_reuseport = Some(cfg!(unix));
            let listener = ListenerConfig::tcp(listen.to_string())
                .tcp_socket_options(options)
                .l4_buffer(unbuffered);
            service.add_listener(listener);
            #[cfg(unix)]
            if let Some(socket) = sockets.get(i) {
                use std::os::unix::fs::PermissionsExt;
                service.add_listener(
                    ListenerConfig::uds(socket.display().to_string())
                        .permissions(std::fs::Permissions::from_mode(0o600))
                        .l4_buffer(unbuffered),
                );
            }
            service.threads = Some(threads_each);
            service
        })
        .collect()
}

/// Binds and releases the address, so a taken port is one clear error.
fn ensure_free(key: &'static str, addr: SocketAddr) -> Result<(), Error> {
    TcpListener::bind(addr)
        .map(drop)
        .map_err(|error| Error::PortInUse {
            key,
            addr,
            holder: ports::holder(addr.port()),
            error,
        })
}

/// Like `ensure_free`, for a port Caddy will bind. Caddy sets SO_REUSEPORT, so a second Caddy
/// of the same user would share the port silently; our plain bind fails instead. A port we
/// may not bind (below 1024 without root) may still be Caddy's to bind (setcap); an address
/// this machine lacks (no IPv6) is not in use. Caddy reports those itself.
fn ensure_free_for_caddy(key: &'static str, addr: SocketAddr) -> Result<(), Error> {
    use std::io::ErrorKind::{AddrNotAvailable, PermissionDenied};
    match ensure_free(key, addr) {
        Err(Error::PortInUse { error, .. })
            if matches!(error.kind(), PermissionDenied | AddrNotAvailable) =>
        {
            Ok(())
        }
        other => other,
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

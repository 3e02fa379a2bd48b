//! `portproxy serve`: the Pingora server with the proxy and admin services, and its shutdown.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{info, warn};
use pingora::apps::http_app::HttpServer;
use pingora::proxy::http_proxy_service_with_name;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{ExecutionPhase, RunArgs, Server};
use pingora::services::listening::Service;

use crate::admin::Admin;
use crate::config::Config;
use crate::error::Error;
use crate::metrics::METRICS;
use crate::proxy::{App, PortProxy};

/// In-flight requests get this long after SIGTERM/SIGINT; Pingora's own default is 300 s.
const GRACE: Duration = Duration::from_secs(10);

pub fn serve(config: Config) -> Result<(), Error> {
    // Pingora panics in a service thread when a bind fails; say it properly, before starting.
    ensure_free("listen", config.listen)?;
    ensure_free("admin", config.admin)?;
    if !config.listen.ip().is_loopback() {
        warn!(
            "listening on {}: every port on this machine is reachable from the network through it",
            config.listen
        );
    }

    // The default pid and upgrade paths are shared /tmp names; two instances must not collide.
    let scratch = std::env::temp_dir();
    let pid = std::process::id();
    let conf = ServerConf {
        // Each proxy service gets its own threads (see `proxy_services`).
        threads: 1,
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

    let domains = config.domains.clone();
    let (listen, admin_addr, threads) = (config.listen, config.admin, config.threads);
    let app = Arc::new(App::new(config));
    for service in proxy_services(&server, &app, listen, threads) {
        server.add_service(service);
    }
    let mut admin = Service::new("admin".into(), HttpServer::new_app(Admin(app)));
    admin.add_tcp(&admin_addr.to_string());
    admin.threads = Some(1);
    server.add_service(admin);

    watch_for_drain(server.watch_execution_phase());
    let port = listen.port();
    for domain in &domains {
        info!("serving http://PORT.{domain}:{port}/ (dashboard: http://{domain}:{port}/)");
    }
    info!("admin on http://{admin_addr}/ (/healthz, /metrics, /caddy/ask)");
    server.run(run_args());
    Ok(())
}

type ProxyService = Service<pingora::proxy::HttpProxy<PortProxy>>;

/// One single-threaded proxy service per thread, all on the same address (SO_REUSEPORT),
/// like nginx workers. In Pingora's multi-threaded runtimes a pooled upstream connection
/// moves between threads, and that handover races (`failed to acquire reusable stream`):
/// measured on 2 cores, one new upstream connection every ~20 requests, an error line each,
/// and 0.4× nginx's throughput. With one thread per service each pool stays on its thread.
#[cfg(unix)]
fn proxy_services(
    server: &Server,
    app: &Arc<App>,
    listen: SocketAddr,
    threads: usize,
) -> Vec<ProxyService> {
    use pingora::listeners::TcpSocketOptions;
    (0..threads)
        .map(|i| {
            let name = format!("portproxy-{i}");
            let mut service =
                http_proxy_service_with_name(&server.configuration, PortProxy(app.clone()), &name);
            let mut options = TcpSocketOptions::default();
            options.so_reuseport = Some(true);
            service.add_tcp_with_settings(&listen.to_string(), options);
            service.threads = Some(1);
            service
        })
        .collect()
}

/// Windows has no SO_REUSEPORT: one service with all the threads.
#[cfg(not(unix))]
fn proxy_services(
    server: &Server,
    app: &Arc<App>,
    listen: SocketAddr,
    threads: usize,
) -> Vec<ProxyService> {
    let mut service =
        http_proxy_service_with_name(&server.configuration, PortProxy(app.clone()), "portproxy");
    service.add_tcp(&listen.to_string());
    service.threads = Some(threads);
    vec![service]
}

/// Binds and releases the address, so a taken port is one clear error.
fn ensure_free(key: &'static str, addr: SocketAddr) -> Result<(), Error> {
    TcpListener::bind(addr)
        .map(drop)
        .map_err(|error| Error::PortInUse { key, addr, error })
}

/// Pingora sleeps the whole grace period even when nothing is in flight; exit as soon as the
/// last request is done instead (and at the latest when the grace period ends).
fn watch_for_drain(mut phases: tokio::sync::broadcast::Receiver<ExecutionPhase>) {
    use tokio::sync::broadcast::error::RecvError;
    std::thread::spawn(move || loop {
        match phases.blocking_recv() {
            Ok(ExecutionPhase::GracefulTerminate) => drain_then_exit(),
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
        info!(
            "{name}: not accepting new connections; waiting up to {}s for {} requests in flight",
            GRACE.as_secs(),
            METRICS.active()
        );
        pingora::server::ShutdownSignal::GracefulTerminate
    }
}

fn drain_then_exit() -> ! {
    let start = Instant::now();
    while METRICS.active() > 0 && start.elapsed() < GRACE {
        std::thread::sleep(Duration::from_millis(25));
    }
    match METRICS.active() {
        0 => info!("all requests finished; exiting"),
        n => warn!("grace period over; cutting {n} requests still in flight"),
    }
    std::process::exit(0)
}

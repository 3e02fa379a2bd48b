//! The Pingora server: the proxy and admin services, Caddy beside them, reloads
//! (`reload.rs`), and the shutdown that drains requests in flight (`stop.rs`).

mod reload;
mod stop;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use log::{info, warn};
use pingora::apps::http_app::HttpServer;
use pingora::proxy::http_proxy_service_with_name;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::Server;
use pingora::services::listening::Service;

use crate::admin::Admin;
use crate::banner::{self, Https, DETAIL};
use crate::caddy::supervise::{Launch, Supervisor};
use crate::caddy::{self, AdminAddress, Paths};
use crate::config::Config;
use crate::control;
use crate::error::Error;
use crate::plan::{InFront, Plan};
use crate::ports;
use crate::proxy::{App, PortProxy};

/// Runs portproxy until SIGTERM or SIGINT; returns once requests in flight are done (or the
/// grace period is over) and Caddy has stopped.
pub(crate) fn start(plan: Plan) -> Result<(), Error> {
    let Plan {
        config,
        paths,
        admin: caddy_admin,
        caddyfile,
        caddy,
        reload,
    } = plan;
    check_addresses(&config, caddy.is_ok())?;
    let mut server = pingora_server();
    let watched = config.settings.file.clone();
    let sockets = caddy
        .as_ref()
        .map(|front| front.sockets.clone())
        .unwrap_or_default();
    prepare_socket_dir(&sockets)?;
    let app = Arc::new(App::new(config));
    crate::hosts_sync::spawn(app.clone());
    // macOS: what /etc/resolver/localhost (`hosts --resolver`) sends *.localhost queries to.
    #[cfg(target_os = "macos")]
    crate::dns::responder::start(crate::dns::LISTEN);
    let settings = &app.config().settings;
    for service in proxy_services(&server, &app, settings.listen, settings.threads, &sockets) {
        server.add_service(service);
    }
    // Published once the addresses are known to be free; removed when `start` returns.
    let published = publish(&mut server, &app)?;
    let front = match caddy {
        Ok(front) => {
            let caddy = Caddy {
                paths,
                admin: caddy_admin,
                caddyfile,
            };
            Some(caddy.start(front, &app)?)
        }
        Err(absent) => {
            let why = absent.to_string();
            eprint!("{}", banner::render(&app.config(), &Https::Off { why }));
            None
        }
    };
    let supervisor = front.as_ref().map(|(s, _)| s.clone());
    let shares = app.shares.clone();
    reload::watch(app, reload, watched, front);
    stop::run_until_stopped(server, supervisor);
    for socket in &sockets {
        let _ = std::fs::remove_file(socket);
    }
    // Tunnel tools must not outlive us.
    shares.stop();
    drop(published);
    stop::say_stopped();
    Ok(())
}

/// Pingora panics in a service thread when a bind fails; say it properly, before starting.
fn check_addresses(config: &Config, caddy_in_front: bool) -> Result<(), Error> {
    ensure_free("listen", config.settings.listen)?;
    ensure_free("admin", config.settings.admin)?;
    if caddy_in_front {
        for (key, addr) in caddy::binds(config) {
            ensure_free_for_caddy(key, addr)?;
        }
    }
    if !config.settings.listen.ip().is_loopback() {
        warn!(
            "listening on {}: every port on this machine is reachable from the network through it",
            config.settings.listen
        );
    }
    Ok(())
}

fn pingora_server() -> Server {
    // The default pid and upgrade paths are shared /tmp names; two instances must not collide.
    let scratch = std::env::temp_dir();
    let pid = std::process::id();
    let conf = ServerConf {
        // Each proxy service gets its own threads (see `proxy_services`).
        threads: 1,
        // Where each service has one thread, a tokio current-thread runtime instead of a
        // one-worker work-stealing one: the same CPU per request, and more requests/s and a
        // lower p99 (bench/run.sh floor-st vs examples/floor.rs per-thread-nosteal). Windows
        // has one service with all the threads (`proxy_services`), where a no-steal runtime
        // would keep every connection on the thread that accepted it.
        work_stealing: !cfg!(unix),
        grace_period_seconds: Some(stop::GRACE.as_secs()),
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
    server
}

/// Writes `instance.json` for the commands (`control`) and adds the admin service that
/// answers them, with the instance's secret.
fn publish(server: &mut Server, app: &Arc<App>) -> Result<control::Published, Error> {
    let admin_addr = app.config().settings.admin;
    let data = crate::paths::data_dir(&crate::paths::process_env)?;
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
    Ok(published)
}

/// Caddy's side of the plan.
struct Caddy {
    paths: Paths,
    admin: AdminAddress,
    caddyfile: String,
}

impl Caddy {
    /// Writes the Caddyfile, starts Caddy, says the banner and, where a site uses the local
    /// CA, offers to trust it. Returns Caddy's supervisor and the Caddyfile it runs.
    fn start(self, front: InFront, app: &App) -> Result<(Arc<Supervisor>, String), Error> {
        let Caddy {
            paths,
            admin,
            caddyfile,
        } = self;
        let path = caddy::write_caddyfile(&paths, &caddyfile).map_err(|error| Error::File {
            path: paths.caddyfile(),
            error,
        })?;
        let launch = Launch {
            caddy: front.found,
            caddyfile: path,
            admin: admin.address(),
            env: paths.caddy_env(),
        };
        let supervisor = Supervisor::start(launch).map_err(Error::CaddyStart)?;
        let https = match front.local_ca {
            true => Https::LocalCa {
                trusted: caddy::trust::is_trusted(&paths),
            },
            false => Https::Public,
        };
        eprint!("{}", banner::render(&app.config(), &https));
        if front.local_ca {
            // Beside the proxy, which serves while the question waits for an answer.
            let may_ask = front.may_ask_trust;
            std::thread::spawn(move || caddy::trust::first_run::offer_on_start(&paths, may_ask));
        }
        Ok((Arc::new(supervisor), caddyfile))
    }
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

type ProxyService = Service<pingora::proxy::HttpProxy<PortProxy>>;

/// One single-threaded proxy service per thread, all on the same address (SO_REUSEPORT),
/// like nginx workers. In Pingora's multi-threaded runtimes a pooled upstream connection
/// moves between threads, and that handover races (`failed to acquire reusable stream`): new
/// upstream connections, an error line each, and a fraction of nginx's throughput
/// (bench/run.sh `floor` vs `floor-st`). With one thread per service each pool stays on its thread.
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

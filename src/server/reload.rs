//! Reloads: the settings read again on SIGHUP or when the config file changes.

use std::sync::Arc;
use std::time::Duration;

use log::{error, info, warn};

use crate::caddy::supervise::Supervisor;
use crate::plan::Reload;
use crate::proxy::App;

/// Re-reads the settings on SIGHUP or when the config file changes. A bad file is rejected
/// with its reason and the running settings stay; requests in flight and open WebSockets
/// keep the settings they started with. Caddy is reloaded only if its Caddyfile changed.
pub(super) fn watch(
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
    reload: &Reload,
    front: &mut Option<(Arc<Supervisor>, String)>,
    reason: &str,
) {
    let old = app.config();
    let new = match reload.apply(&old) {
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

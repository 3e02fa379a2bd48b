//! A running portproxy keeps the hosts file's portproxy block naming the ports listening now
//! and their projects — only where the user asked for the block (`portproxy hosts --sync`
//! wrote it; `hosts --remove` and `clean` take it out, and with it the consent) and the
//! process may write the file. Otherwise the file is never touched. It reads the names from
//! the proxy's shared snapshot (`proxy/named.rs`) every `EVERY`, and writes only when they
//! change; everything outside the block stays byte for byte (`hosts::merge`).

use std::sync::Arc;
use std::time::Duration;

use log::{info, warn};

use crate::hosts::{self, Change};
use crate::proxy::App;

/// How often the names are compared with the block: a new dev server resolves by name within
/// this (plus a second's snapshot).
pub(crate) const EVERY: Duration = Duration::from_secs(2);

/// Starts the thread that keeps the block; it ends with the process.
pub(crate) fn spawn(app: Arc<App>) {
    let started = std::thread::Builder::new()
        .name("hosts".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => return warn!("the hosts file's block is not kept in sync: {e}"),
            };
            runtime.block_on(keep(app));
        });
    if let Err(e) = started {
        warn!("the hosts file's block is not kept in sync: {e}");
    }
}

async fn keep(app: Arc<App>) {
    let path = hosts::path();
    // The last failure said, so a file it may not write is said once, not every tick.
    let mut said = None;
    loop {
        // No look at the ports at all while the user has not asked for the block.
        if !hosts::asked(&path) {
            tokio::time::sleep(EVERY).await;
            continue;
        }
        let config = app.config();
        let now = app.names.snapshot(&config, EVERY).await;
        let names = hosts::served(&config, &now.listening, &now.names);
        let result = tokio::task::spawn_blocking({
            let path = path.clone();
            let names = names.clone();
            move || hosts::follow(&path, &names)
        })
        .await;
        match result {
            Ok(Ok(Some(Change::Written))) => {
                said = None;
                let list = match names.is_empty() {
                    true => "no names (no port is listening)".to_string(),
                    false => names.join(", "),
                };
                info!("{} now names {list}", path.display());
            }
            Ok(Ok(_)) => said = None,
            Ok(Err(e)) => {
                let message = e.to_string();
                if said.as_ref() != Some(&message) {
                    warn!(
                        "cannot keep portproxy's names in {} ({message}): run `sudo portproxy hosts --sync` after a dev server starts, or run portproxy as a user that may write the file",
                        path.display()
                    );
                    said = Some(message);
                }
            }
            Err(_) => {}
        }
        tokio::time::sleep(EVERY).await;
    }
}

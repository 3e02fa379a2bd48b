//! What the proxy's threads and the admin listener share: the settings in force (swapped
//! whole on reload), the address families that answered, the sign-in limiter, the sessions,
//! the titles and the names.

use std::sync::{Arc, RwLock};

use super::dial::Families;
use super::named::Names;
use crate::auth::limiter::Limiter;
use crate::auth::sessions::{self, Sessions};
use crate::config::Config;
use crate::gate;
use crate::port_links::PortLink;
use crate::title::Titles;
use std::time::{Duration, Instant};

/// What the proxy and the admin listener share.
pub(crate) struct App {
    /// Swapped whole on reload; a request keeps the settings it started with.
    config: RwLock<Arc<Config>>,
    pub(super) families: Families,
    limiter: Limiter,
    /// The sessions issued on public domains: kept across reloads (and in a file across
    /// restarts).
    sessions: Sessions,
    /// Page titles learnt from proxied HTML, for the dashboard.
    pub(super) titles: Titles,
    /// Live share links and ports made public for a while (`share`).
    pub(crate) shares: Arc<crate::share::registry::Shares>,
    /// Which port each name points at, and the names seen.
    pub(crate) names: Names,
    /// What the dashboard's page sends with its share actions (`gate::may_act`): fresh each
    /// start, empty (no action allowed) if the system gave no randomness.
    pub(super) dashboard_token: String,
}

impl App {
    pub(crate) fn new(config: Config) -> Self {
        // Without a home (refused at start) sessions and names live in memory only.
        let paths = crate::caddy::Paths::from_env(&crate::paths::process_env).ok();
        App {
            config: RwLock::new(Arc::new(config)),
            families: Families::default(),
            limiter: Limiter::default(),
            sessions: Sessions::open(paths.as_ref().map(|paths| paths.sessions())),
            titles: Titles::default(),
            shares: Arc::default(),
            names: Names::new(paths.as_ref().map(|paths| paths.names())),
            dashboard_token: crate::auth::generate_token().unwrap_or_default(),
        }
    }

    pub(crate) fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn replace_config(&self, config: Config) {
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
    }

    /// The listening ports, each linked by `url` (given a port or a name), with the process holding each (its command
    /// line only for `local`: it may hold a secret redaction misses) and who may open it now;
    /// portproxy's and Caddy's own are left out. Reading `/proc` is blocking work, so it runs
    /// off the proxy's threads. The dashboard, `/api/ports` and `portproxy ls` all read this.
    pub(crate) async fn port_rows(
        &self,
        url: impl Fn(&str) -> String,
        local: bool,
    ) -> Vec<PortLink> {
        let config = self.config();
        // A list the user reads is always a new look (the dashboard polls it every 3 s).
        let now = self.names.snapshot(&config, Duration::ZERO).await;
        let titles = self.titles.of_listening(&now.listening);
        let mut rows = PortLink::rows(
            &config,
            &now.listening,
            &now.holders,
            &now.names,
            titles,
            url,
        );
        if !local {
            for process in rows.iter_mut().filter_map(|row| row.process.as_mut()) {
                process.command.clear();
            }
        }
        let now = std::time::SystemTime::now();
        let public_domain = config.settings.public_domain();
        for row in &mut rows {
            row.visibility = self.shares.visibility(row.port, row.public, now);
            row.public = row.visibility == crate::share::Visibility::Public;
            row.public_url = public_domain.filter(|_| row.public).map(|domain| {
                format!(
                    "{}/",
                    config.served_origin(Some(&row.port.to_string()), domain)
                )
            });
        }
        rows
    }

    /// What the gate checks credentials with, where `config` needs them.
    pub(super) fn keys<'a>(&'a self, config: &'a Config) -> Option<gate::Keys<'a>> {
        config.auth.as_ref().map(|auth| gate::Keys {
            auth,
            sessions: &self.sessions,
            limiter: &self.limiter,
            now: Instant::now(),
            unix: sessions::unix_now(),
        })
    }
}

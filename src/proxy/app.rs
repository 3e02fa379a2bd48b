//! What the proxy's threads and the admin listener share: the settings in force (swapped
//! whole on reload), the address families that answered, the sign-in limiter, the sessions
//! and the titles.

use std::sync::{Arc, RwLock};

use super::dial::Families;
use crate::auth::limiter::Limiter;
use crate::auth::sessions::{self, Sessions};
use crate::config::Config;
use crate::gate;
use crate::title::Titles;
use std::time::Instant;

/// What the proxy and the admin listener share.
pub struct App {
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
    pub shares: Arc<crate::share::registry::Shares>,
}

impl App {
    pub fn new(config: Config) -> Self {
        App {
            config: RwLock::new(Arc::new(config)),
            families: Families::default(),
            limiter: Limiter::default(),
            // Without a home (refused at start) sessions live in memory only.
            sessions: Sessions::open(
                crate::caddy::Paths::from_env(&crate::config::process_env)
                    .ok()
                    .map(|paths| paths.sessions()),
            ),
            titles: Titles::default(),
            shares: Arc::default(),
        }
    }

    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn replace_config(&self, config: Config) {
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
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

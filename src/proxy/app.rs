//! What the proxy's threads and the admin listener share: the settings in force (swapped
//! whole on reload), the address families that answered, the sign-in limiter and the titles.

use std::sync::{Arc, RwLock};

use super::dial::Families;
use crate::auth::Limiter;
use crate::config::Config;
use crate::title::Titles;

/// What the proxy and the admin listener share.
pub struct App {
    /// Swapped whole on reload; a request keeps the settings it started with.
    config: RwLock<Arc<Config>>,
    pub(super) families: Families,
    pub(super) limiter: Limiter,
    /// Page titles learnt from proxied HTML, for the dashboard.
    pub(super) titles: Titles,
}

impl App {
    pub fn new(config: Config) -> Self {
        App {
            config: RwLock::new(Arc::new(config)),
            families: Families::default(),
            limiter: Limiter::default(),
            titles: Titles::default(),
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
}

//! Which port a name points at now, without a look at `/proc` per request.
//!
//! One snapshot of the listening ports, their holders and the `names::Table` built from them
//! is shared by every request for a second; a name the snapshot lacks is looked up in one
//! taken after the request came (a server just restarted on another port is found by the
//! first request), with looks at most every quarter second, so unknown names cannot make
//! every request scan `/proc`. The scan runs on
//! a blocking thread, never on the proxy's. Names seen are remembered in the data dir, so the
//! "not running" page can say what a bookmark was, also after a restart of portproxy.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::names::{Claim, Entry, Table};
use crate::ports::{self, Holder};

/// How long a snapshot answers names it knows.
pub(crate) const FRESH: Duration = Duration::from_secs(1);
/// How often a name it does not know may refresh it.
const MISS: Duration = Duration::from_millis(250);
/// Names remembered at most (the oldest are forgotten first).
const REMEMBER: usize = 500;

/// The listening ports and their names, from one look.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) listening: Vec<u16>,
    pub(crate) holders: HashMap<u16, Holder>,
    pub(crate) names: Table,
}

/// Where a name points, as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    Port(u16),
    Clash(Vec<Claim>),
    /// Nothing holds it now; `Some` with where it was when it was last seen.
    Gone(Option<Claim>),
}

/// The shared snapshot and the remembered names.
pub(crate) struct Names {
    current: RwLock<(Instant, Arc<Snapshot>)>,
    /// One refresh at a time; the others wait for its result.
    refreshing: tokio::sync::Mutex<()>,
    /// Every name seen, with its last port and directory, in the order last seen.
    seen: Arc<Seen>,
}

/// The names seen, with their last port and directory and when (a counter), and the file
/// they are kept in.
#[derive(Debug, Default)]
struct Seen {
    names: Mutex<BTreeMap<String, (u64, Claim)>>,
    file: Option<PathBuf>,
}

impl Names {
    /// `file`: where names are remembered (`DATA/names.json`); None keeps them in memory.
    pub(crate) fn new(file: Option<PathBuf>) -> Names {
        let names = file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        Names {
            current: RwLock::new((long_ago(), Arc::default())),
            refreshing: tokio::sync::Mutex::new(()),
            seen: Arc::new(Seen {
                names: Mutex::new(names),
                file,
            }),
        }
    }

    /// A snapshot at most `max_age` old.
    pub(crate) async fn snapshot(&self, config: &Config, max_age: Duration) -> Arc<Snapshot> {
        if let Some(snapshot) = self.fresh(max_age) {
            return snapshot;
        }
        let _one = self.refreshing.lock().await;
        // Another request may have refreshed it while this one waited.
        if let Some(snapshot) = self.fresh(max_age) {
            return snapshot;
        }
        self.refresh(config).await
    }

    /// A snapshot taken after `asked`, for a name the shared one lacks: a server restarted on
    /// another port is found by the first request after it listens. Looks come at most every
    /// `MISS` (a later one waits for its turn), so unknown names can't keep `/proc` busy.
    async fn snapshot_after(&self, config: &Config, asked: Instant) -> Arc<Snapshot> {
        let taken = |names: &Names| {
            let current = names.current.read().unwrap_or_else(|e| e.into_inner());
            (current.0 >= asked)
                .then(|| current.1.clone())
                .ok_or(current.0)
        };
        let last = match taken(self) {
            Ok(snapshot) => return snapshot,
            Err(last) => last,
        };
        // Waits outside the lock: requests for names the snapshot has are not held up.
        tokio::time::sleep(MISS.saturating_sub(last.elapsed())).await;
        let _one = self.refreshing.lock().await;
        match taken(self) {
            Ok(snapshot) => snapshot,
            Err(_) => self.refresh(config).await,
        }
    }

    /// One look at the ports, off the proxy's threads; the caller holds `refreshing`.
    async fn refresh(&self, config: &Config) -> Arc<Snapshot> {
        let (rules, own) = (config.names.clone(), config.policy.own_ports.clone());
        let seen = self.seen.clone();
        let snapshot = tokio::task::spawn_blocking(move || {
            let (listening, holders, names) = ports::listening_and_names(&rules, &own);
            seen.remember(&names);
            Snapshot {
                listening,
                holders,
                names,
            }
        })
        .await
        .unwrap_or_default();
        let snapshot = Arc::new(snapshot);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) =
            (Instant::now(), snapshot.clone());
        snapshot
    }

    /// Makes the next lookup look at the ports again.
    pub(crate) fn forget(&self) {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        current.0 = long_ago();
    }

    fn fresh(&self, max_age: Duration) -> Option<Arc<Snapshot>> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        (current.0.elapsed() < max_age).then(|| current.1.clone())
    }

    /// Where `name` points now.
    pub(crate) async fn lookup(&self, config: &Config, name: &str) -> Lookup {
        let asked = Instant::now();
        let mut snapshot = self.snapshot(config, FRESH).await;
        if snapshot.names.get(name).is_none() {
            snapshot = self.snapshot_after(config, asked).await;
        }
        match snapshot.names.get(name) {
            Some(Entry::Port(port)) => Lookup::Port(*port),
            Some(Entry::Clash(claims)) => Lookup::Clash(claims.clone()),
            None => Lookup::Gone(self.last_seen(name)),
        }
    }

    /// Where `name` was when it was last seen.
    pub(crate) fn last_seen(&self, name: &str) -> Option<Claim> {
        let seen = self.seen.names.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(name).map(|(_, claim)| claim.clone())
    }
}

/// A time no snapshot is fresh from.
fn long_ago() -> Instant {
    Instant::now()
        .checked_sub(Duration::from_secs(3600))
        .unwrap_or_else(Instant::now)
}

impl Seen {
    /// Adds the table's names to those seen; writes the file when something changed.
    fn remember(&self, table: &Table) {
        let mut seen = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let mut changed = false;
        let mut tick = seen.values().map(|(t, _)| *t).max().unwrap_or(0);
        for (name, claim) in table.seen() {
            if seen.get(name).map(|(_, c)| c) != Some(&claim) {
                tick += 1;
                seen.insert(name.to_string(), (tick, claim));
                changed = true;
            }
        }
        while seen.len() > REMEMBER {
            let oldest = seen
                .iter()
                .min_by_key(|(_, (t, _))| *t)
                .map(|(n, _)| n.clone());
            seen.remove(&oldest.unwrap_or_default());
        }
        if let (true, Some(file)) = (changed, &self.file) {
            let text = serde_json::to_string_pretty(&*seen).unwrap_or_default();
            // Best effort: a read-only data dir only costs the memory across restarts.
            let written = file
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(file, text));
            if let Err(e) = written {
                log::debug!("could not remember names in {}: {e}", file.display());
            }
        }
    }
}

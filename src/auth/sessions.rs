//! The sessions the server issued: a random id in the cookie, and here only its hash, when it
//! was issued and to whom. A session is good for `SESSION_MAX_AGE` from its issue, until
//! `/logout` or `portproxy sessions --revoke` ends it, or the token changes (each store
//! belongs to one token, by its tag).
//!
//! Kept in a file in the data dir (0600), written whole on each change, so sessions survive a
//! restart as the cookie promises its owner (an upgrade or a reboot is no reason to sign in
//! again), and so `portproxy sessions` can list and revoke them: a running portproxy notices
//! a changed file within `RECHECK`. The file holds hashes, never a usable cookie.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use blake2::{Blake2s256, Digest};

use super::cookie::SESSION_MAX_AGE;

/// How often a running portproxy looks at the file for changes made by another process.
const RECHECK: Duration = Duration::from_secs(1);
/// The file's first word and version.
const HEADER: &str = "portproxy-sessions-v1";

/// One issued session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// The hash of its id, hex: what `portproxy sessions` shows and `--revoke` takes a prefix of.
    pub(crate) key: String,
    /// Seconds since the Unix epoch.
    pub(crate) issued: u64,
    /// The address that signed in (`-` when unknown).
    pub(crate) from: String,
}

impl Session {
    pub(crate) fn expired(&self, now: u64) -> bool {
        now.saturating_sub(self.issued) >= SESSION_MAX_AGE
    }
}

/// The sessions of one token, as the file holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Book {
    /// The tag of the token they belong to.
    pub(crate) tag: String,
    pub(crate) sessions: BTreeMap<String, Session>,
}

impl Book {
    /// `portproxy-sessions-v1 TAG`, then `KEY ISSUED FROM` per line. Unreadable lines are
    /// dropped: a damaged file signs people out, never in.
    pub(crate) fn parse(text: &str) -> Book {
        let mut lines = text.lines();
        let tag = match lines.next().and_then(|l| l.split_once(' ')) {
            Some((HEADER, tag)) => tag.trim().to_string(),
            _ => return Book::default(),
        };
        let sessions = lines
            .filter_map(|line| {
                let mut parts = line.split(' ');
                let key = parts.next()?;
                let issued = parts.next()?.parse().ok()?;
                let from = parts.next()?;
                let hex = key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit());
                hex.then(|| Session {
                    key: key.to_string(),
                    issued,
                    from: from.to_string(),
                })
            })
            .map(|s| (s.key.clone(), s))
            .collect();
        Book { tag, sessions }
    }

    pub(crate) fn render(&self) -> String {
        let mut out = format!("{HEADER} {}\n", self.tag);
        for s in self.sessions.values() {
            out.push_str(&format!("{} {} {}\n", s.key, s.issued, s.from));
        }
        out
    }

    /// Forgets expired sessions.
    fn prune(&mut self, now: u64) {
        self.sessions.retain(|_, s| !s.expired(now));
    }

    /// Ends the sessions whose key starts with `prefix` (all with an empty one); how many.
    pub(crate) fn revoke(&mut self, prefix: &str) -> usize {
        let before = self.sessions.len();
        self.sessions.retain(|key, _| !key.starts_with(prefix));
        before - self.sessions.len()
    }
}

/// The hash a session id is kept under.
pub(crate) fn key_of(id: &str) -> String {
    super::hex(&Blake2s256::digest(id.as_bytes()))
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The store a running portproxy keeps, shared by every thread and kept across reloads.
pub(crate) struct Sessions {
    file: Option<PathBuf>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    book: Book,
    /// The file as last read or written: (modified, length).
    seen: Option<(SystemTime, u64)>,
    checked: Option<Instant>,
}

impl Sessions {
    /// Sessions kept in `file` (None: in memory only).
    pub(crate) fn open(file: Option<PathBuf>) -> Sessions {
        Sessions {
            file,
            state: Mutex::new(State::default()),
        }
    }

    /// A new session for the token with `tag`: its id, for the cookie. Err only when the OS
    /// has no randomness; a file that can't be written costs only the survival of a restart.
    pub(crate) fn issue(
        &self,
        tag: &str,
        from: Option<IpAddr>,
        now: u64,
    ) -> std::io::Result<String> {
        let id = super::generate_token()?;
        let mut state = self.lock(Instant::now(), true);
        if state.book.tag != tag {
            state.book = Book {
                tag: tag.to_string(),
                ..Book::default()
            };
        }
        state.book.prune(now);
        let key = key_of(&id);
        let from = from.map_or_else(|| "-".to_string(), |ip| ip.to_canonical().to_string());
        let session = Session {
            key: key.clone(),
            issued: now,
            from,
        };
        state.book.sessions.insert(key, session);
        self.save(&mut state);
        Ok(id)
    }

    /// Whether `id` is a live session of the token with `tag`.
    pub(crate) fn valid(&self, tag: &str, id: &str, now: u64) -> bool {
        let state = self.lock(Instant::now(), false);
        state.book.tag == tag
            && state
                .book
                .sessions
                .get(&key_of(id))
                .is_some_and(|s| !s.expired(now))
    }

    /// Ends the session `id` (`/logout`).
    pub(crate) fn end(&self, id: &str) {
        let mut state = self.lock(Instant::now(), true);
        if state.book.sessions.remove(&key_of(id)).is_some() {
            self.save(&mut state);
        }
    }

    /// The state, re-read first if the file changed (at most once per `RECHECK`, or always
    /// before a change, so another process's revocation is never written over).
    fn lock(&self, now: Instant, writing: bool) -> std::sync::MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let due = state
            .checked
            .is_none_or(|at| now.saturating_duration_since(at) >= RECHECK);
        if let (Some(file), true) = (&self.file, writing || due) {
            state.checked = Some(now);
            let stamp = stamp(file);
            if stamp != state.seen {
                state.book = std::fs::read_to_string(file)
                    .map(|text| Book::parse(&text))
                    .unwrap_or_default();
                state.seen = stamp;
            }
        }
        state
    }

    /// Writes the book; on failure the sessions live on in memory, and the log says why they
    /// would not survive a restart.
    fn save(&self, state: &mut State) {
        if let Some(file) = &self.file {
            match write(file, &state.book) {
                Ok(()) => state.seen = stamp(file),
                Err(e) => log::warn!(
                    "could not write the sessions to {}: {e} (they last until portproxy stops)",
                    file.display()
                ),
            }
        }
    }
}

fn stamp(file: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(file).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The book in `file`; an absent file is an empty book.
pub(crate) fn read(file: &Path) -> std::io::Result<Book> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(Book::parse(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Book::default()),
        Err(e) => Err(e),
    }
}

/// Writes `book` to `file` whole (temp file, then rename), readable by its owner only.
pub(crate) fn write(file: &Path, book: &Book) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".sessions.{}.tmp", std::process::id()));
    super::write_private(&temp, &book.render())
        .and_then(|()| std::fs::rename(&temp, file))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "tag-of-the-token";

    #[test]
    fn the_file_round_trips_and_drops_what_it_cannot_read() {
        let key = "a".repeat(64);
        let text = format!(
            "{HEADER} {TAG}\n{key} 1700000000 203.0.113.9\nshort 1 -\n{} x -\n",
            "b".repeat(64)
        );
        let book = Book::parse(&text);
        assert_eq!(book.tag, TAG);
        assert_eq!(book.sessions.len(), 1);
        assert_eq!(Book::parse(&book.render()), book);
        assert_eq!(Book::parse("junk\n"), Book::default());
        assert_eq!(Book::parse(""), Book::default());
    }

    /// Finding 5 (issue 23): a session was a fixed MAC of the token, never expiring.
    #[test]
    fn finding_5_sessions_are_issued_checked_for_age_and_revocable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sessions");
        let store = Sessions::open(Some(file.clone()));
        let now = 1_700_000_000;
        let a = store.issue(TAG, "203.0.113.9".parse().ok(), now).unwrap();
        let b = store.issue(TAG, None, now).unwrap();
        assert_ne!(a, b, "each sign-in gets its own id");
        assert!(store.valid(TAG, &a, now + SESSION_MAX_AGE - 1));
        assert!(
            !store.valid(TAG, &a, now + SESSION_MAX_AGE),
            "30 days at most"
        );
        assert!(
            !store.valid("another-token", &a, now),
            "a new token ends them"
        );
        assert!(!store.valid(TAG, "forged", now));
        store.end(&a);
        assert!(!store.valid(TAG, &a, now));
        assert!(store.valid(TAG, &b, now));
        // Another process (`portproxy sessions --revoke`) edits the file; a new store (a
        // restart) reads it.
        let mut book = read(&file).unwrap();
        assert!(
            !book.render().contains(&b),
            "the file holds hashes, not ids"
        );
        assert_eq!(book.revoke(&key_of(&b)[..8]), 1);
        write(&file, &book).unwrap();
        let restarted = Sessions::open(Some(file.clone()));
        assert!(!restarted.valid(TAG, &b, now));
        let c = restarted.issue(TAG, None, now).unwrap();
        assert!(Sessions::open(Some(file.clone())).valid(TAG, &c, now));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn expired_sessions_are_forgotten_when_another_is_issued() {
        let store = Sessions::open(None);
        let old = store.issue(TAG, None, 0).unwrap();
        store.issue(TAG, None, SESSION_MAX_AGE).unwrap();
        let state = store.lock(Instant::now(), false);
        assert_eq!(state.book.sessions.len(), 1);
        assert!(!state.book.sessions.contains_key(&key_of(&old)));
    }
}

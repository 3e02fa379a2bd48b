//! The limit on sign-in attempts and bearer-token guesses. A try is taken before any
//! credential is looked at and given back when it was right, so a client that is limited
//! learns nothing, not even a right guess. Pure: the clock is passed in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Who is trying: the client's address, and whether it is this machine (exempt from the
/// ceiling for everyone, so a spray from the internet never locks the owner out locally).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Trier {
    pub(crate) ip: Option<IpAddr>,
    pub(crate) local: bool,
}

/// Per client a burst of `BURST`, then one per `REFILL`; IPv6 clients by their /64 (one
/// machine usually holds a whole /64); and a ceiling for every remote client together, so a
/// spray from many addresses gets no more tries.
pub(crate) struct Limiter {
    state: Mutex<LimiterState>,
}

/// Where tries count: one IPv4 address, or one IPv6 /64 (a host has many addresses in its
/// prefix, so its own /64 is one client).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Network {
    V4(u32),
    V6Prefix(u64),
    Unknown,
}

impl Network {
    fn of(ip: Option<IpAddr>) -> Network {
        match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(v4)) => Network::V4(v4.into()),
            Some(IpAddr::V6(v6)) => Network::V6Prefix((u128::from(v6) >> 64) as u64),
            None => Network::Unknown,
        }
    }
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(now: Instant, burst: f64) -> Bucket {
        Bucket {
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant, burst: f64, refill: Duration) {
        let passed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + passed / refill.as_secs_f64()).min(burst);
        self.at = now;
    }

    /// How long until there is a token, after refilling for the time passed.
    fn wait(&mut self, now: Instant, burst: f64, refill: Duration) -> Option<Duration> {
        self.refill(now, burst, refill);
        (self.tokens < 1.0).then(|| refill.mul_f64(1.0 - self.tokens))
    }

    fn give_back(&mut self, burst: f64) {
        self.tokens = (self.tokens + 1.0).min(burst);
    }
}

struct LimiterState {
    clients: HashMap<Network, Bucket>,
    everyone: Option<Bucket>,
}

const BURST: f64 = 10.0;
const REFILL: Duration = Duration::from_secs(6);
const GLOBAL_BURST: f64 = 100.0;
const GLOBAL_REFILL: Duration = Duration::from_secs(1);
/// The most clients remembered; the least recently seen is forgotten first.
const MAX_CLIENTS: usize = 4096;

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            state: Mutex::new(LimiterState {
                clients: HashMap::new(),
                everyone: None,
            }),
        }
    }
}

impl Limiter {
    /// Takes one try for `who` at `now`, or says how long to wait (and takes nothing).
    pub(crate) fn attempt(&self, who: Trier, now: Instant) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let network = Network::of(who.ip);
        if !state.clients.contains_key(&network) && state.clients.len() >= MAX_CLIENTS {
            state.forget_one(now);
        }
        let client = state
            .clients
            .entry(network)
            .or_insert_with(|| Bucket::full(now, BURST));
        if let Some(wait) = client.wait(now, BURST, REFILL) {
            return Err(wait);
        }
        if !who.local {
            let everyone = state
                .everyone
                .get_or_insert_with(|| Bucket::full(now, GLOBAL_BURST));
            if let Some(wait) = everyone.wait(now, GLOBAL_BURST, GLOBAL_REFILL) {
                return Err(wait);
            }
            everyone.tokens -= 1.0;
        }
        if let Some(client) = state.clients.get_mut(&network) {
            client.tokens -= 1.0;
        }
        Ok(())
    }

    /// Gives back the try `attempt` took: the credential was right.
    pub(crate) fn refund(&self, who: Trier) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = state.clients.get_mut(&Network::of(who.ip)) {
            client.give_back(BURST);
        }
        if !who.local {
            if let Some(everyone) = &mut state.everyone {
                everyone.give_back(GLOBAL_BURST);
            }
        }
    }

    /// How many clients it remembers (bounded by `MAX_CLIENTS`).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clients
            .len()
    }
}

impl LimiterState {
    /// Makes room for a new client: those whose bucket is full again, else the oldest.
    fn forget_one(&mut self, now: Instant) {
        let full_again = REFILL.mul_f64(BURST);
        self.clients
            .retain(|_, b| now.saturating_duration_since(b.at) < full_again);
        if self.clients.len() >= MAX_CLIENTS {
            if let Some(oldest) = self
                .clients
                .iter()
                .min_by_key(|(_, b)| b.at)
                .map(|(k, _)| *k)
            {
                self.clients.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(s: &str) -> Trier {
        Trier {
            ip: Some(s.parse().unwrap()),
            local: false,
        }
    }

    #[test]
    fn login_attempts_are_limited_per_address() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(limiter.attempt(remote("203.0.113.1"), t0).is_ok());
        }
        let wait = limiter.attempt(remote("203.0.113.1"), t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= REFILL);
        assert!(
            limiter.attempt(remote("203.0.113.2"), t0).is_ok(),
            "another address is not affected"
        );
        assert!(
            limiter.attempt(remote("203.0.113.1"), t0 + REFILL).is_ok(),
            "one attempt back per refill"
        );
    }

    #[test]
    fn a_right_credential_costs_nothing() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..100 {
            assert!(limiter.attempt(remote("203.0.113.1"), t0).is_ok());
            limiter.refund(remote("203.0.113.1"));
        }
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        for i in 0..10u16 {
            assert!(limiter
                .attempt(remote(&format!("2001:db8:1:2::{i:x}")), t0)
                .is_ok());
        }
        assert!(limiter.attempt(remote("2001:db8:1:2:ffff::1"), t0).is_err());
        assert!(limiter.attempt(remote("2001:db8:1:3::1"), t0).is_ok());
    }

    /// Finding 4 (issue 23): a spray drained the ceiling for everyone, this machine included.
    #[test]
    fn a_spray_is_bounded_in_memory_and_in_tries_but_spares_this_machine() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        let mut allowed = 0;
        for i in 0..20_000u32 {
            let who = Trier {
                ip: Some(IpAddr::V4((0xC633_6400 + i).into())),
                local: false,
            };
            allowed += usize::from(limiter.attempt(who, t0).is_ok());
        }
        assert!(limiter.remembered() <= MAX_CLIENTS);
        assert_eq!(allowed, GLOBAL_BURST as usize, "the ceiling for everyone");
        let this_machine = Trier {
            ip: Some("127.0.0.1".parse().unwrap()),
            local: true,
        };
        assert!(limiter.attempt(this_machine, t0).is_ok());
    }

    #[test]
    fn a_refused_try_takes_nothing() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..10 {
            limiter.attempt(remote("203.0.113.1"), t0).unwrap();
        }
        for _ in 0..1000 {
            assert!(limiter.attempt(remote("203.0.113.1"), t0).is_err());
        }
        assert!(limiter.attempt(remote("203.0.113.1"), t0 + REFILL).is_ok());
    }
}

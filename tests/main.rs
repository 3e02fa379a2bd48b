//! Black-box tests: the real `portproxy` binary against real backends on loopback.

mod harness;

mod admin;
mod auth;
// Remote clients come from network namespaces (unshare), Caddy is checked through /proc.
#[cfg(target_os = "linux")]
mod boundary;
// Caddy's supervision is checked through /proc and signals.
#[cfg(target_os = "linux")]
mod caddy;
mod control;
mod dashboard;
// The macOS DNS responder, run here on a free loopback UDP port.
mod dns;
mod everyday;
mod hardening;
// Project names of real dev servers, found through /proc.
#[cfg(target_os = "linux")]
mod hosts;
#[cfg(target_os = "linux")]
mod install;
mod layers;
mod lifecycle;
mod output;
// Real dev servers in real project directories, found through /proc.
#[cfg(target_os = "linux")]
mod names;
mod pages;
mod public_mode;
// Names resolve through a hosts file bind-mounted in a private namespace (unshare).
#[cfg(target_os = "linux")]
mod resolve;
mod routing;
mod share;
mod streams;
// A pseudo-terminal (openpty) and the system trust stores.
#[cfg(target_os = "linux")]
mod trust;
#[cfg(target_os = "linux")]
mod update;
mod upstream;
// The Windows build under wine (scripts/platform runs these, --ignored).
#[cfg(target_os = "linux")]
mod windows;

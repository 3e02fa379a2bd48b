//! What the black-box tests stand on: the real binary, real backends, a raw HTTP client.

pub mod backend;
#[cfg(target_os = "linux")]
pub mod browser;
#[cfg(target_os = "linux")]
pub mod github;
pub mod http;
pub mod proxy;
#[cfg(target_os = "linux")]
pub mod release;
#[cfg(target_os = "linux")]
pub mod terminal;

pub use backend::{closed_port, Backend, WsBackend};
pub use proxy::{Proxy, Running};

//! Black-box tests: the real `portproxy` binary against real backends on loopback.

mod harness;

mod admin;
mod caddy;
mod lifecycle;
mod pages;
mod routing;
mod streams;
mod upstream;

//! The floor for the benchmark (bench/run.sh, target `floor`): the smallest Pingora proxy —
//! one fixed upstream, no hooks, Pingora's default multi-threaded server — built from the
//! same Pingora and allocator as portproxy, so `portproxy / floor` is what our own code costs.
//!
//!     cargo build --release --example floor
//!     target/release/examples/floor 127.0.0.1:8000 127.0.0.1:9000 2

use async_trait::async_trait;
use pingora::prelude::*;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Floor(std::net::SocketAddr);

#[async_trait]
impl ProxyHttp for Floor {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.0, false, String::new())))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, listen, upstream, threads] = &args[..] else {
        eprintln!("usage: floor LISTEN UPSTREAM THREADS");
        std::process::exit(2);
    };
    let mut server = Server::new(None).expect("a Pingora server");
    server.bootstrap();
    let upstream = upstream.parse().expect("UPSTREAM is IP:PORT");
    let mut proxy = http_proxy_service(&server.configuration, Floor(upstream));
    proxy.add_tcp(listen);
    proxy.threads = threads.parse().ok();
    server.add_service(proxy);
    server.run_forever();
}

//! The floor for the benchmark (bench/run.sh, targets `floor` and `floor-st`): the smallest
//! Pingora proxy — one fixed upstream, no hooks — built from the same Pingora and allocator
//! as portproxy, so `portproxy / floor` is what our own code costs. Two layouts:
//! `default` is Pingora's multi-threaded service; `per-thread` is portproxy's (one
//! single-threaded service per thread on one SO_REUSEPORT address, see src/server/mod.rs);
//! `per-thread-nosteal` is that with `work_stealing: false`, so each service runs on a tokio
//! current-thread runtime instead of a one-worker multi-thread one.
//!
//!     cargo build --release --example floor
//!     target/release/examples/floor 127.0.0.1:8000 127.0.0.1:9000 2 per-thread

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
    let (listen, upstream, threads, layout) = match &args[..] {
        [_, l, u, t] => (l, u, t, "default"),
        [_, l, u, t, layout] => (l, u, t, layout.as_str()),
        _ => usage(),
    };
    let upstream: std::net::SocketAddr = upstream.parse().expect("UPSTREAM is IP:PORT");
    let threads: usize = threads.parse().expect("THREADS is a number");
    let conf = pingora::server::configuration::ServerConf {
        work_stealing: layout != "per-thread-nosteal",
        ..Default::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    match layout {
        "default" => {
            let mut proxy = http_proxy_service(&server.configuration, Floor(upstream));
            proxy.add_tcp(listen);
            proxy.threads = Some(threads);
            server.add_service(proxy);
        }
        #[cfg(unix)]
        "per-thread" | "per-thread-nosteal" => {
            for _ in 0..threads {
                let mut proxy = http_proxy_service(&server.configuration, Floor(upstream));
                let mut options = pingora::listeners::TcpSocketOptions::default();
                options.so_reuseport = Some(true);
                proxy.add_tcp_with_settings(listen, options);
                proxy.threads = Some(1);
                server.add_service(proxy);
            }
        }
        _ => usage(),
    }
    server.run_forever();
}

fn usage() -> ! {
    eprintln!("usage: floor LISTEN UPSTREAM THREADS [default|per-thread|per-thread-nosteal]");
    std::process::exit(2);
}

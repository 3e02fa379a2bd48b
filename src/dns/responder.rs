//! The DNS responder on loopback UDP: each datagram is answered by `dns::answer` (a pure
//! function), on one thread of its own. Platform-neutral; `serve`/`run` start it on macOS,
//! where `/etc/resolver/localhost` sends it the `*.localhost` queries (tests run it on Linux).

use std::net::{SocketAddr, UdpSocket};

/// Answers on `addr` for as long as the process runs; when it can't (another portproxy
/// answers there), says so once.
pub fn start(addr: SocketAddr) {
    if let Err(e) = Responder::bind(addr).and_then(Responder::spawn) {
        log::warn!(
            "names: no DNS answers for *.localhost on {addr} ({e}): programs other than browsers resolve only the hosts file's names"
        );
    }
}

/// A bound responder, not answering yet.
pub struct Responder {
    socket: UdpSocket,
}

impl Responder {
    /// Binds `addr` (UDP); port 0 picks a free one (see `local_addr`).
    pub fn bind(addr: SocketAddr) -> std::io::Result<Responder> {
        Ok(Responder {
            socket: UdpSocket::bind(addr)?,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Answers queries on a thread of its own for as long as the process runs.
    pub fn spawn(self) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name("dns".into())
            .spawn(move || self.run())
            .map(drop)
    }

    fn run(self) {
        // The largest UDP message a client may send (EDNS); a larger datagram is cut and then
        // fails to parse: FORMERR.
        let mut buf = [0u8; 4096];
        loop {
            let (len, peer) = match self.socket.recv_from(&mut buf) {
                Ok(got) => got,
                // ICMP port unreachable from an earlier reply (Windows reports it here) and
                // interrupted calls are not the socket's end.
                Err(e) => {
                    log::debug!("dns: {e}");
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                }
            };
            if let Some(reply) = super::answer(&buf[..len]) {
                if let Err(e) = self.socket.send_to(&reply, peer) {
                    log::debug!("dns: answering {peer}: {e}");
                }
            }
        }
    }
}

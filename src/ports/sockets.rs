//! The listening TCP sockets: Linux asks sock_diag (`/proc/self/net/tcp{,6}` if it refuses);
//! macOS and Windows ask `netstat2`. The parsers are pure and tested everywhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Listener;

#[cfg(target_os = "linux")]
pub(super) fn listeners() -> Vec<Listener> {
    diag_listeners().unwrap_or_else(|e| {
        log::debug!("sock_diag: {e}; reading /proc/self/net/tcp instead");
        proc_listeners()
    })
}

/// Each read of `/proc/net/tcp` walks the kernel's every socket bucket (about 2 ms a table
/// on a small machine); sock_diag asked for LISTEN only walks the listening table.
#[cfg(target_os = "linux")]
fn diag_listeners() -> std::io::Result<Vec<Listener>> {
    use std::io::Error;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: plain system calls on a descriptor this function owns, with buffers that
    // outlive each call and lengths that match them.
    unsafe {
        let raw = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::NETLINK_SOCK_DIAG,
        );
        if raw < 0 {
            return Err(Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(raw);
        // A kernel that never answers must not hold the dashboard.
        let wait = libc::timeval {
            tv_sec: 1,
            tv_usec: 0,
        };
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&wait as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
        let mut kernel: libc::sockaddr_nl = std::mem::zeroed();
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let mut found = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        for family in [libc::AF_INET, libc::AF_INET6] {
            let request = diag_request(family as u8);
            let sent = libc::sendto(
                fd.as_raw_fd(),
                request.as_ptr().cast(),
                request.len(),
                0,
                (&kernel as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            );
            if sent < 0 {
                return Err(Error::last_os_error());
            }
            loop {
                let got = libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0);
                if got < 0 {
                    return Err(Error::last_os_error());
                }
                match parse_diag(&buf[..got as usize], &mut found) {
                    Diag::More => {}
                    Diag::Done => break,
                    Diag::Failed => return Err(Error::other("the request was refused")),
                }
            }
        }
        Ok(found)
    }
}

/// A netlink sock_diag dump request for `family`'s TCP sockets in LISTEN: a `nlmsghdr`, then
/// an `inet_diag_req_v2` (linux/inet_diag.h).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn diag_request(family: u8) -> [u8; 72] {
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const REQUEST_DUMP: u16 = 0x1 | 0x300;
    const TCP_LISTEN: u32 = 10;
    let mut request = [0u8; 72];
    request[0..4].copy_from_slice(&72u32.to_ne_bytes());
    request[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    request[6..8].copy_from_slice(&REQUEST_DUMP.to_ne_bytes());
    request[16] = family;
    request[17] = 6; // IPPROTO_TCP
    request[20..24].copy_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    request
}

/// Where a sock_diag answer stands after one datagram.
#[derive(Debug, PartialEq, Eq)]
enum Diag {
    More,
    Done,
    Failed,
}

/// The listeners in one datagram of a sock_diag dump (`nlmsghdr` + `inet_diag_msg` each).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_diag(datagram: &[u8], found: &mut Vec<Listener>) -> Diag {
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    let mut at = 0;
    while let Some(head) = datagram.get(at..at + 16) {
        let len = u32::from_ne_bytes([head[0], head[1], head[2], head[3]]) as usize;
        match u16::from_ne_bytes([head[4], head[5]]) {
            _ if len < 16 => return Diag::Failed,
            NLMSG_DONE => return Diag::Done,
            NLMSG_ERROR => return Diag::Failed,
            _ => found.extend(datagram.get(at + 16..at + len).and_then(diag_listener)),
        }
        at = at.saturating_add((len + 3) & !3);
    }
    Diag::More
}

/// One `inet_diag_msg`: family, then the socket id (port and address in network order),
/// then timers, queues, uid and the inode.
fn diag_listener(msg: &[u8]) -> Option<Listener> {
    let msg = msg.get(..72)?;
    let addr = match msg[0] {
        2 => IpAddr::V4(Ipv4Addr::new(msg[8], msg[9], msg[10], msg[11])),
        10 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&msg[8..24]).ok()?)),
        _ => return None,
    };
    Some(Listener {
        addr,
        port: u16::from_be_bytes([msg[4], msg[5]]),
        inode: u32::from_ne_bytes([msg[68], msg[69], msg[70], msg[71]]).into(),
        pids: Vec::new(),
    })
}

#[cfg(target_os = "linux")]
fn proc_listeners() -> Vec<Listener> {
    ["/proc/self/net/tcp", "/proc/self/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|text| parse_proc_net_tcp(&text))
        .collect()
}

#[cfg(not(target_os = "linux"))]
pub(super) fn listeners() -> Vec<Listener> {
    use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState};
    let families = AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6;
    match netstat2::get_sockets_info(families, ProtocolFlags::TCP) {
        Ok(sockets) => sockets
            .into_iter()
            .filter_map(|s| match s.protocol_socket_info {
                ProtocolSocketInfo::Tcp(tcp) if tcp.state == TcpState::Listen => Some(Listener {
                    addr: tcp.local_addr,
                    port: tcp.local_port,
                    inode: 0,
                    pids: s.associated_pids,
                }),
                _ => None,
            })
            .collect(),
        Err(e) => {
            log::warn!("could not list listening ports: {e}");
            Vec::new()
        }
    }
}

/// Listening sockets in a `/proc/net/tcp{,6}` table. Addresses are hex words in host byte
/// order (little-endian here), ports big-endian hex; state `0A` is LISTEN.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(super) fn parse_proc_net_tcp(text: &str) -> Vec<Listener> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            let inode = fields.nth(5)?.parse().ok()?;
            if state != "0A" {
                return None;
            }
            let (addr, port) = local.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            let addr = match addr.len() {
                8 => IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    u32::from_str_radix(addr, 16).ok()?,
                ))),
                32 => {
                    let mut octets = [0u8; 16];
                    for (i, chunk) in octets.chunks_mut(4).enumerate() {
                        let word = u32::from_str_radix(&addr[i * 8..i * 8 + 8], 16).ok()?;
                        chunk.copy_from_slice(&u32::from_be(word).to_be_bytes());
                    }
                    IpAddr::V6(Ipv6Addr::from(octets))
                }
                _ => return None,
            };
            Some(Listener {
                addr,
                port,
                inode,
                pids: Vec::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_tables() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:5EF2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0100007F:5EF2 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
   3: 0A00000A:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0";
        let rows = |text| -> Vec<(IpAddr, u16, u64)> {
            parse_proc_net_tcp(text)
                .into_iter()
                .map(|l| (l.addr, l.port, l.inode))
                .collect()
        };
        assert_eq!(
            rows(v4),
            vec![
                ("127.0.0.1".parse().unwrap(), 24306, 1),
                ("0.0.0.0".parse().unwrap(), 8080, 2),
                ("10.0.0.10".parse().unwrap(), 22, 4),
            ]
        );
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1435 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1 0 100 0 0 10 0
   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6 1 0 100 0 0 10 0
   2: garbage";
        assert_eq!(
            rows(v6),
            vec![
                ("::1".parse().unwrap(), 5173, 5),
                ("::".parse().unwrap(), 80, 6)
            ]
        );
    }

    /// A datagram as the kernel writes it: one message per listener, then DONE.
    fn datagram(messages: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (kind, body) in messages {
            out.extend_from_slice(&(16 + body.len() as u32).to_ne_bytes());
            out.extend_from_slice(&kind.to_ne_bytes());
            out.extend_from_slice(&[0; 10]);
            out.extend_from_slice(body);
            out.resize(out.len().next_multiple_of(4), 0);
        }
        out
    }

    fn diag_msg(family: u8, addr: &[u8], port: u16, inode: u32) -> Vec<u8> {
        let mut msg = vec![0u8; 72];
        msg[0] = family;
        msg[1] = 10;
        msg[4..6].copy_from_slice(&port.to_be_bytes());
        msg[8..8 + addr.len()].copy_from_slice(addr);
        msg[68..72].copy_from_slice(&inode.to_ne_bytes());
        msg
    }

    #[test]
    fn reads_sock_diag_answers() {
        let mut found = Vec::new();
        let v4 = diag_msg(2, &[127, 0, 0, 1], 5173, 77);
        let v6 = diag_msg(10, &Ipv6Addr::LOCALHOST.octets(), 8000, 78);
        let odd = diag_msg(1, &[], 1, 1);
        let first = datagram(&[(20, v4), (20, odd), (20, v6[..40].to_vec())]);
        assert_eq!(parse_diag(&first, &mut found), Diag::More);
        assert_eq!(
            parse_diag(&datagram(&[(20, v6), (3, vec![0; 4])]), &mut found),
            Diag::Done
        );
        let got: Vec<(IpAddr, u16, u64)> =
            found.iter().map(|l| (l.addr, l.port, l.inode)).collect();
        assert_eq!(
            got,
            vec![
                ("127.0.0.1".parse().unwrap(), 5173, 77),
                ("::1".parse().unwrap(), 8000, 78)
            ]
        );
        assert_eq!(
            parse_diag(&datagram(&[(2, vec![0; 20])]), &mut found),
            Diag::Failed
        );
        assert_eq!(
            parse_diag(&[0; 16], &mut found),
            Diag::Failed,
            "a zero length"
        );
        assert_eq!(parse_diag(&[1, 2, 3], &mut found), Diag::More);
        let request = diag_request(10);
        assert_eq!(request.len(), 16 + 56, "nlmsghdr + inet_diag_req_v2");
        assert_eq!((request[16], request[17]), (10, 6));
    }

    proptest::proptest! {
        #[test]
        fn any_datagram_is_read_without_panicking(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let mut found = Vec::new();
            let _ = parse_diag(&bytes, &mut found);
            proptest::prop_assert!(found.len() <= bytes.len() / 88 + 1);
        }
    }

    /// sock_diag and `/proc/net/tcp` agree on a real listener (inode included, which the
    /// holders are found by).
    #[cfg(target_os = "linux")]
    #[test]
    fn sock_diag_sees_what_proc_sees() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let mine = |all: Vec<Listener>| all.into_iter().find(|l| l.port == port);
        let diag = mine(diag_listeners().expect("sock_diag answers here"));
        assert!(diag.is_some(), "sock_diag misses port {port}");
        assert_eq!(diag, mine(proc_listeners()));
    }
}

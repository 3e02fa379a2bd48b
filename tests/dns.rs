//! The DNS responder portproxy serves on macOS, run for real here: bound to a free loopback
//! UDP port (platform-neutral code, started on Linux by the test), asked over UDP with queries
//! built by hickory-proto. The resolver file that points macOS at it cannot be tried here (no
//! macOS): docs/platforms.md.

use std::net::UdpSocket;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use portproxy::dns::responder::Responder;

/// Asks `server` one question over UDP; the answer as parsed.
fn ask(server: std::net::SocketAddr, id: u16, name: &str, kind: RecordType) -> Message {
    let mut query = Message::new(id, MessageType::Query, OpCode::Query);
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.send_to(&query.to_vec().unwrap(), server).unwrap();
    let mut buf = [0u8; 1500];
    let (len, from) = client.recv_from(&mut buf).expect("an answer within 5 s");
    assert_eq!(from, server);
    Message::from_vec(&buf[..len]).unwrap()
}

#[test]
fn the_responder_answers_localhost_names_over_udp_and_refuses_others() {
    let responder = Responder::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let server = responder.local_addr().unwrap();
    responder.spawn().unwrap();

    let a = ask(server, 1, "5173.localhost.", RecordType::A);
    assert_eq!(
        (a.metadata.id, a.metadata.response_code),
        (1, ResponseCode::NoError)
    );
    assert!(a.metadata.authoritative);
    let addrs: Vec<String> = a.answers.iter().map(|r| r.data.to_string()).collect();
    assert_eq!(addrs, ["127.0.0.1"]);

    let aaaa = ask(
        server,
        2,
        "Feature-Login.Shop-Web.localhost.",
        RecordType::AAAA,
    );
    assert_eq!(aaaa.metadata.response_code, ResponseCode::NoError);
    assert!(matches!(&aaaa.answers[0].data, RData::AAAA(ip) if ip.0.is_loopback()));
    assert_eq!(
        aaaa.answers[0].name.to_ascii(),
        "Feature-Login.Shop-Web.localhost."
    );

    let mx = ask(server, 3, "5173.localhost.", RecordType::MX);
    assert_eq!(
        (mx.metadata.response_code, mx.answers.len()),
        (ResponseCode::NoError, 0)
    );

    // Never a forwarder: another name is refused, with nothing in it.
    let other = ask(server, 4, "example.com.", RecordType::A);
    assert_eq!(
        (other.metadata.id, other.metadata.response_code),
        (4, ResponseCode::Refused)
    );
    assert!(other.answers.is_empty() && !other.metadata.recursion_available);

    // Garbage gets no answer and does not stop the responder.
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.send_to(b"hi", server).unwrap();
    let again = ask(server, 5, "8000.localhost.", RecordType::A);
    assert_eq!(again.metadata.id, 5);
    assert_eq!(again.answers.len(), 1);
}

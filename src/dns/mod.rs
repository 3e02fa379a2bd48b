//! The answers of portproxy's DNS responder (macOS, as puma-dev does): every name under
//! `localhost` is this machine (`A 127.0.0.1`, `AAAA ::1`), anything else is REFUSED — the
//! responder is authoritative for one zone and never forwards, so it cannot be used to reach
//! or probe another server. macOS asks it for `*.localhost` through `/etc/resolver/localhost`
//! (`resolver_file`), which `sudo portproxy hosts --resolver` writes. Pure: bytes in, bytes
//! out; messages are parsed and built by `hickory-proto`, never by hand.
//!
//! Every local domain (`route::is_local`: `localhost` and names under it) lies in the
//! `localhost` zone, so one zone and one resolver file cover all of them.

pub mod responder;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use hickory_proto::op::{Header, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinDecodable;

/// The zone the responder answers: `localhost` and every name under it.
pub const ZONE: &str = "localhost";

/// Where the responder listens on macOS; the resolver file names this port. Outside the
/// ephemeral ranges (macOS 49152+, Linux 32768+), next to portproxy's 24306/24307; it ends in
/// 53 to say DNS.
pub const LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 24353);

/// Loopback answers may be kept a minute: they never change.
const TTL: u32 = 60;

/// The first line of every resolver file portproxy writes: `remove` takes out only files
/// that start with it (never one of the user's own).
pub const RESOLVER_MARK: &str = "# Written by `sudo portproxy hosts --resolver`";

/// The directory of macOS's per-domain resolver files (resolver(5)).
pub const RESOLVER_DIR: &str = "/etc/resolver";

/// The answer to the DNS message `query`, or None when there is nothing to answer (fewer
/// bytes than a header, or a message that is itself a response: never answer an answer).
/// Every answer carries the query's id.
///
/// For `5173.localhost A`: NOERROR, authoritative, `5173.localhost. 60 IN A 127.0.0.1`;
/// for `example.com A`: REFUSED with no records.
pub fn answer(query: &[u8]) -> Option<Vec<u8>> {
    let header = Header::from_bytes(query).ok()?;
    let asked = header.metadata;
    if asked.message_type != MessageType::Query {
        return None;
    }
    let mut reply = Message::response(asked.id, asked.op_code);
    reply.metadata.recursion_desired = asked.recursion_desired;
    reply.metadata.response_code = match Message::from_vec(query) {
        // Only standard queries, one question each (RFC 9619: QDCOUNT is 1 for QUERY).
        Ok(_) if asked.op_code != OpCode::Query => ResponseCode::NotImp,
        Ok(message) if message.queries.len() == 1 => {
            let question = message.queries[0].clone();
            let code = respond(&question, &mut reply);
            reply.add_query(question);
            code
        }
        Ok(_) | Err(_) => ResponseCode::FormErr,
    };
    match reply.to_vec() {
        Ok(bytes) => Some(bytes),
        // A name that encodes in a query encodes in the answer; should it not, say so bare.
        Err(_) => Message::error_msg(asked.id, asked.op_code, ResponseCode::ServFail)
            .to_vec()
            .ok(),
    }
}

/// Adds the records for `question` to `reply` and returns its response code.
fn respond(question: &Query, reply: &mut Message) -> ResponseCode {
    let name = question.name();
    if question.query_class() != DNSClass::IN || !in_zone(name) {
        return ResponseCode::Refused;
    }
    reply.metadata.authoritative = true;
    let rdata = match question.query_type() {
        RecordType::A => RData::A(A(Ipv4Addr::LOCALHOST)),
        RecordType::AAAA => RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)),
        // The name exists, with no record of that type.
        _ => return ResponseCode::NoError,
    };
    reply.add_answer(Record::from_rdata(name.clone(), TTL, rdata));
    ResponseCode::NoError
}

/// `localhost` or a name under it, in any case, with or without the final dot.
fn in_zone(name: &Name) -> bool {
    let mut zone = Name::from_ascii(ZONE).expect("a valid name");
    zone.set_fqdn(true);
    let mut name = name.to_lowercase();
    name.set_fqdn(true);
    zone.zone_of(&name)
}

/// The resolver file for the zone (`/etc/resolver/localhost`): macOS's resolver sends every
/// query for a name under it to the responder at `listen`.
///
/// For 127.0.0.1:24353: `# Written by …\nnameserver 127.0.0.1\nport 24353\n`.
pub fn resolver_file(listen: SocketAddr) -> String {
    format!(
        "{RESOLVER_MARK}; `portproxy hosts --remove` takes it out.\n\
         # portproxy answers *.{ZONE} with this machine's addresses here.\n\
         nameserver {}\nport {}\n",
        listen.ip(),
        listen.port()
    )
}

/// `doctor`'s fix on macOS where programs don't resolve `*.localhost`, given the resolver
/// file's text (None: there is none): install it, or start the portproxy it points at.
pub fn macos_fix(resolver: Option<&str>) -> String {
    let hosts = "or `sudo portproxy hosts --sync` (names listening now)";
    match resolver {
        Some(text) if text.starts_with(RESOLVER_MARK) => format!(
            "{RESOLVER_DIR}/{ZONE} sends *.{ZONE} to portproxy, which is not answering: start it (`portproxy`, or `portproxy service install`), {hosts}"
        ),
        Some(_) => format!(
            "{RESOLVER_DIR}/{ZONE} is not portproxy's: move it away, then `sudo portproxy hosts --resolver` (every name, answered by the running portproxy), {hosts}"
        ),
        None => format!(
            "`sudo portproxy hosts --resolver` (every name, answered by the running portproxy), {hosts}"
        ),
    }
}

/// Writes `DIR/localhost` (the resolver file for `listen`) unless it already says that;
/// whether it wrote. A file of the user's own (without `RESOLVER_MARK`) is left alone and
/// named in the error.
pub fn install_resolver(dir: &Path, listen: SocketAddr) -> std::io::Result<bool> {
    let path = dir.join(ZONE);
    let text = resolver_file(listen);
    match std::fs::read_to_string(&path) {
        Ok(old) if old == text => return Ok(false),
        Ok(old) if !old.starts_with(RESOLVER_MARK) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} is not portproxy's (it has no `{RESOLVER_MARK}` line)",
                    path.display()
                ),
            ))
        }
        _ => {}
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(&path, text)?;
    Ok(true)
}

/// Removes `DIR/localhost` if portproxy wrote it; whether there was one to remove.
pub fn remove_resolver(dir: &Path) -> std::io::Result<bool> {
    let path = dir.join(ZONE);
    match std::fs::read_to_string(&path) {
        Ok(text) if text.starts_with(RESOLVER_MARK) => std::fs::remove_file(&path).map(|()| true),
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Edns;
    use proptest::prelude::*;

    /// A query as a stub resolver sends it: id, RD set, one question.
    fn query(id: u16, name: &str, kind: RecordType) -> Vec<u8> {
        let mut message = Message::new(id, MessageType::Query, OpCode::Query);
        message.metadata.recursion_desired = true;
        message.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
        message.to_vec().unwrap()
    }

    fn parse(bytes: &[u8]) -> Message {
        Message::from_vec(bytes).unwrap()
    }

    /// (code, answers as text) of the answer to `bytes`.
    fn answered(bytes: &[u8]) -> (ResponseCode, Vec<String>) {
        let reply = parse(&answer(bytes).expect("an answer"));
        let records = reply.answers.iter().map(|r| r.to_string()).collect();
        (reply.metadata.response_code, records)
    }

    #[test]
    fn answers_the_localhost_zone_and_refuses_the_rest() {
        use RecordType::*;
        let rows: &[(&str, RecordType, ResponseCode, &[&str])] = &[
            (
                "5173.localhost",
                A,
                ResponseCode::NoError,
                &["5173.localhost. 60 IN A 127.0.0.1"],
            ),
            (
                "5173.localhost.",
                AAAA,
                ResponseCode::NoError,
                &["5173.localhost. 60 IN AAAA ::1"],
            ),
            (
                "shop-web.localhost",
                A,
                ResponseCode::NoError,
                &["shop-web.localhost. 60 IN A 127.0.0.1"],
            ),
            (
                "feature-x.shop-web.localhost",
                AAAA,
                ResponseCode::NoError,
                &["feature-x.shop-web.localhost. 60 IN AAAA ::1"],
            ),
            (
                "localhost",
                A,
                ResponseCode::NoError,
                &["localhost. 60 IN A 127.0.0.1"],
            ),
            // Case is kept as asked (0x20 randomisation checks it) and matched without it.
            (
                "Shop-Web.LocalHost",
                A,
                ResponseCode::NoError,
                &["Shop-Web.LocalHost. 60 IN A 127.0.0.1"],
            ),
            ("5173.localhost", MX, ResponseCode::NoError, &[]),
            ("5173.localhost", TXT, ResponseCode::NoError, &[]),
            ("5173.localhost", ANY, ResponseCode::NoError, &[]),
            ("example.com", A, ResponseCode::Refused, &[]),
            ("localhost.example.com", A, ResponseCode::Refused, &[]),
            ("notlocalhost", AAAA, ResponseCode::Refused, &[]),
            ("com", NS, ResponseCode::Refused, &[]),
            (".", NS, ResponseCode::Refused, &[]),
        ];
        for (name, kind, code, records) in rows {
            let bytes = query(4242, name, *kind);
            let reply = parse(&answer(&bytes).unwrap());
            assert_eq!(reply.metadata.id, 4242, "{name}");
            assert_eq!(reply.metadata.message_type, MessageType::Response);
            assert!(reply.metadata.recursion_desired, "RD is copied");
            assert!(!reply.metadata.recursion_available, "never recursion");
            assert_eq!(
                reply.metadata.authoritative,
                *code == ResponseCode::NoError,
                "{name}"
            );
            assert_eq!(reply.queries.len(), 1, "the question is echoed: {name}");
            assert_eq!(
                reply.queries[0].name().to_ascii(),
                format!("{}.", name.trim_end_matches('.')),
                "{name}"
            );
            assert_eq!(
                answered(&bytes),
                (*code, records.iter().map(|r| r.to_string()).collect()),
                "{name} {kind}"
            );
        }
    }

    #[test]
    fn malformed_and_odd_messages() {
        let good = query(7, "5173.localhost", RecordType::A);
        // Fewer bytes than a header: nothing to answer (no id to echo).
        assert_eq!(answer(&[]), None);
        assert_eq!(answer(&good[..11]), None);
        // A header that promises a question it doesn't carry.
        let (code, records) = answered(&good[..12]);
        assert_eq!((code, records.len()), (ResponseCode::FormErr, 0));
        // A question cut in the middle of its name.
        assert_eq!(answered(&good[..good.len() - 6]).0, ResponseCode::FormErr);
        // A response is never answered (no loops between two responders).
        let mut response = parse(&good);
        response.metadata.message_type = MessageType::Response;
        assert_eq!(answer(&response.to_vec().unwrap()), None);
        // Two questions: FORMERR (RFC 9619), whatever they ask.
        let mut two = parse(&good);
        two.add_query(Query::query(
            Name::from_ascii("8000.localhost").unwrap(),
            RecordType::A,
        ));
        assert_eq!(
            answered(&two.to_vec().unwrap()),
            (ResponseCode::FormErr, vec![])
        );
        // No question.
        let mut none = parse(&good);
        none.queries.clear();
        assert_eq!(answered(&none.to_vec().unwrap()).0, ResponseCode::FormErr);
        // Other op codes (NOTIFY, UPDATE): not implemented.
        let mut notify = parse(&good);
        notify.metadata.op_code = OpCode::Notify;
        let reply = parse(&answer(&notify.to_vec().unwrap()).unwrap());
        assert_eq!(
            (reply.metadata.id, reply.metadata.response_code),
            (7, ResponseCode::NotImp)
        );
        // Another class than IN (CHAOS version.bind): refused.
        let mut chaos = parse(&good);
        chaos.queries[0].set_query_class(DNSClass::CH);
        assert_eq!(answered(&chaos.to_vec().unwrap()).0, ResponseCode::Refused);
        // EDNS in the query is fine (macOS sends it).
        let mut edns = parse(&good);
        edns.set_edns(Edns::new());
        assert_eq!(
            answered(&edns.to_vec().unwrap()).1,
            vec!["5173.localhost. 60 IN A 127.0.0.1".to_string()]
        );
    }

    #[test]
    fn the_resolver_file_names_the_responder() {
        assert_eq!(
            resolver_file(LISTEN),
            "# Written by `sudo portproxy hosts --resolver`; `portproxy hosts --remove` takes it out.\n\
             # portproxy answers *.localhost with this machine's addresses here.\n\
             nameserver 127.0.0.1\nport 24353\n"
        );
    }

    #[test]
    fn the_macos_fix_follows_the_resolver_file() {
        let ours = resolver_file(LISTEN);
        let rows = [
            (None, "`sudo portproxy hosts --resolver` (every name"),
            (Some(ours.as_str()), "which is not answering: start it"),
            (
                Some("nameserver 10.0.0.1\n"),
                "/etc/resolver/localhost is not portproxy's: move it away",
            ),
        ];
        for (file, expected) in rows {
            let fix = macos_fix(file);
            assert!(fix.starts_with(expected) || fix.contains(expected), "{fix}");
            assert!(
                fix.ends_with("or `sudo portproxy hosts --sync` (names listening now)"),
                "{fix}"
            );
        }
    }

    #[test]
    fn resolver_files_are_installed_once_and_only_ours_removed() {
        let dir = tempfile::tempdir().unwrap();
        let resolver = dir.path().join("resolver");
        assert!(install_resolver(&resolver, LISTEN).unwrap());
        assert!(!install_resolver(&resolver, LISTEN).unwrap(), "no rewrite");
        let file = resolver.join("localhost");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            resolver_file(LISTEN)
        );
        assert!(remove_resolver(&resolver).unwrap());
        assert!(!file.exists());
        assert!(!remove_resolver(&resolver).unwrap());
        std::fs::write(&file, "nameserver 10.0.0.1\n").unwrap();
        let refused = install_resolver(&resolver, LISTEN).unwrap_err();
        assert!(
            refused.to_string().contains("is not portproxy's"),
            "{refused}"
        );
        assert!(!remove_resolver(&resolver).unwrap());
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "nameserver 10.0.0.1\n"
        );
    }

    proptest! {
        /// Whatever arrives, the responder doesn't panic, and every answer is a response with
        /// the query's id.
        #[test]
        fn any_bytes_get_no_answer_or_one_with_their_id(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Some(reply) = answer(&bytes) {
                let reply = parse(&reply);
                prop_assert_eq!(reply.metadata.id, u16::from_be_bytes([bytes[0], bytes[1]]));
                prop_assert_eq!(reply.metadata.message_type, MessageType::Response);
            }
        }

        /// Queries that parse, with any name and type: REFUSED outside the zone, never an
        /// address but loopback inside it.
        #[test]
        fn well_formed_queries_get_loopback_or_refused(
            id in any::<u16>(),
            labels in proptest::collection::vec("[a-zA-Z0-9]([a-zA-Z0-9-]{0,18}[a-zA-Z0-9])?", 0..5),
            tail in prop_oneof![Just("localhost"), Just("LOCALHOST"), Just("com"), Just("localhost.net")],
            kind in prop_oneof![Just(RecordType::A), Just(RecordType::AAAA), Just(RecordType::MX), Just(RecordType::CNAME)],
        ) {
            let mut name = labels.join(".");
            if !name.is_empty() { name.push('.'); }
            name.push_str(tail);
            let reply = parse(&answer(&query(id, &name, kind)).unwrap());
            prop_assert_eq!(reply.metadata.id, id);
            let inside = tail.eq_ignore_ascii_case("localhost");
            let code = if inside { ResponseCode::NoError } else { ResponseCode::Refused };
            prop_assert_eq!(reply.metadata.response_code, code);
            for record in &reply.answers {
                let loopback = match &record.data {
                    RData::A(a) => a.0.is_loopback(),
                    RData::AAAA(aaaa) => aaaa.0.is_loopback(),
                    _ => false,
                };
                prop_assert!(loopback, "{}", record);
            }
        }
    }
}

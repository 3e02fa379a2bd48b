//! `portproxy share PORT|NAME` (`--list`, `--revoke ID|all`) and `portproxy unshare
//! PORT|NAME`: asked of the running instance over the control channel, which owns the shares.
//! A name is shared as the port it has when asked: the link is a capability for that port.

use crate::cli::{PortOrName, ShareArgs};
use crate::commands::links::{not_understood, running, served};
use crate::control::Instance;
use crate::error::Error;
use crate::share::duration::human;
use crate::share::{self, Listed, Request};

/// `5173`, or `shop-web (port 5173)`: what the user gave, and the port it is.
fn shown(target: &PortOrName, port: u16) -> String {
    match target {
        PortOrName::Port(_) => format!("port {port}"),
        PortOrName::Name(name) => format!("{name} (port {port})"),
    }
}

/// The port `target` is now: a port as given, a name as the running instance has it.
fn port_of(instance: &Instance, target: &PortOrName) -> Result<u16, Error> {
    match target {
        PortOrName::Port(port) => Ok(*port),
        PortOrName::Name(_) => Ok(served(instance, target)?.port),
    }
}

pub(crate) fn share(args: ShareArgs) -> Result<(), Error> {
    let instance = running()?;
    if args.list {
        return list(&instance);
    }
    if let Some(which) = args.revoke {
        return revoke(&instance, &which);
    }
    let Some(target) = args.port else {
        return Err(Error::Usage {
            message: "which port? e.g. `portproxy share 5173`".into(),
            help: "`portproxy share --list` shows the live shares".into(),
        });
    };
    let port = port_of(&instance, &target)?;
    let what = shown(&target, port);
    let request = Request {
        port,
        for_secs: args.duration.as_secs(),
        lan: args.lan,
        via: args.via,
        public: args.public,
    };
    let body = serde_json::to_string(&request).map_err(|e| Error::Usage {
        message: e.to_string(),
        help: String::new(),
    })?;
    if args.public && args.via.is_none() && !args.lan {
        instance.request("POST", "/control/public", Some(&body))?;
        eprintln!(
            "{what} is public for {}: anyone reaches it on your public domains without signing in",
            human(request.for_secs)
        );
        eprintln!("make it private again: portproxy unshare {port}");
        return Ok(());
    }
    if args.via.is_some() {
        eprintln!("starting the tunnel (this takes a few seconds)…");
    }
    let listed: Listed =
        serde_json::from_str(&instance.request("POST", "/control/shares", Some(&body))?)
            .map_err(|e| not_understood(&e))?;
    say_link(&listed, &what, request.for_secs);
    Ok(())
}

/// `share --list`.
fn list(instance: &Instance) -> Result<(), Error> {
    let body = instance.request("GET", "/control/shares", None)?;
    let (shares, public) = read_list(&body)?;
    print!("{}", table(&shares, &public));
    Ok(())
}

/// `share --revoke ID|all`.
fn revoke(instance: &Instance, which: &str) -> Result<(), Error> {
    let query = match which {
        "all" => String::new(),
        id => format!("?id={}", crate::form::encode(id)),
    };
    let body = instance.request("DELETE", &format!("/control/shares{query}"), None)?;
    let ended = read_ended(&body)?;
    if ended.is_empty() {
        eprintln!("no live shares");
    }
    for listed in ended {
        eprintln!("revoked share {} (port {})", listed.id, listed.port);
    }
    Ok(())
}

/// The new share: who it is for on stderr with its QR code and how to revoke it, the link on
/// stdout.
fn say_link(listed: &Listed, what: &str, for_secs: u64) {
    let link = listed.links.first().cloned().unwrap_or_default();
    eprintln!("sharing {what} for {} with {}", human(for_secs), listed.who);
    if listed.via.is_none() && listed.reach == share::Reach::Lan {
        eprintln!(
            "this is plain HTTP on your LAN: anyone on the network who sees the link can open it"
        );
    }
    eprint!("{}", share::qr::terminal(&link));
    for other in listed.links.iter().skip(1) {
        eprintln!("also: {other}");
    }
    eprintln!("revoke: portproxy share --revoke {}", listed.id);
    println!("{link}");
}

pub(crate) fn unshare(target: PortOrName) -> Result<(), Error> {
    let instance = running()?;
    let port = port_of(&instance, &target)?;
    let body = instance.request("DELETE", &format!("/control/shares?port={port}"), None)?;
    let ended = read_ended(&body)?;
    eprintln!(
        "{} is private: {} share link(s) ended",
        shown(&target, port),
        ended.len()
    );
    Ok(())
}

/// The ports public for a while, with the seconds each has left.
type PublicPorts = Vec<(u16, u64)>;

fn read_list(body: &str) -> Result<(Vec<Listed>, PublicPorts), Error> {
    #[derive(serde::Deserialize)]
    struct Answer {
        shares: Vec<Listed>,
        public: std::collections::BTreeMap<u16, u64>,
    }
    let answer: Answer = serde_json::from_str(body).map_err(|e| not_understood(&e))?;
    Ok((answer.shares, answer.public.into_iter().collect()))
}

fn read_ended(body: &str) -> Result<Vec<Listed>, Error> {
    #[derive(serde::Deserialize)]
    struct Answer {
        ended: Vec<Listed>,
    }
    let answer: Answer = serde_json::from_str(body).map_err(|e| not_understood(&e))?;
    Ok(answer.ended)
}

/// `share --list`: one row per share (ended ones say so until they are forgotten), then the
/// ports public for a while.
fn table(shares: &[Listed], public: &[(u16, u64)]) -> String {
    if shares.is_empty() && public.is_empty() {
        return "no shares\n".into();
    }
    let mut out = format!(
        "{:<9} {:<6} {:<50} {:<9} {:<5} LINK\n",
        "ID", "PORT", "WHO", "LEFT", "USES"
    );
    for s in shares {
        let left = match s.ended {
            Some(share::Ended::Expired) => "expired".into(),
            Some(share::Ended::Revoked) => "revoked".into(),
            None => human(s.left),
        };
        out.push_str(&format!(
            "{:<9} {:<6} {:<50} {:<9} {:<5} {}\n",
            s.id,
            s.port,
            s.who,
            left,
            s.uses,
            s.links.first().map_or("", String::as_str)
        ));
    }
    for (port, left) in public {
        out.push_str(&format!(
            "{:<9} {:<6} {:<50} {:<9} {:<5} -\n",
            "public",
            port,
            "anyone, on the public domains",
            human(*left),
            "-"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_each_share_and_public_port() {
        let listed = Listed {
            id: "0badc0de".into(),
            port: 5173,
            links: vec!["http://192.168.1.20:41234/?portproxy-share=x".into()],
            who: share::who(share::Reach::Lan, None, false),
            reach: share::Reach::Lan,
            via: None,
            left: 3540,
            ended: None,
            uses: 2,
            listening: vec!["192.168.1.20:41234".parse().unwrap()],
        };
        let text = table(&[listed], &[(8000, 600)]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ID        PORT"));
        assert!(
            lines[1]
                .starts_with("0badc0de  5173   anyone with the link on this network (plain HTTP)"),
            "{text}"
        );
        assert!(
            lines[1].contains("59m 0s")
                && lines[1].ends_with("http://192.168.1.20:41234/?portproxy-share=x")
        );
        assert!(lines[2].starts_with("public    8000   anyone, on the public domains"));
        assert_eq!(table(&[], &[]), "no shares\n");
    }
}

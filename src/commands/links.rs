//! `portproxy ls`, `url PORT`, `open PORT` and `token`: the things a daily user
//! asks of a running setup, answered from the same settings `run` uses.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use log::warn;

use crate::auth;
use crate::auth::sessions::{self, Book};
use crate::caddy::Paths;
use crate::cli::{LsArgs, PortArgs, RunArgs, SessionsArgs, TokenArgs};
use crate::commands::describe;
use crate::config::{process_env, Config};
use crate::error::Error;
use crate::port_links::PortLink;
use crate::ports;
use crate::start;

/// The URL of `port` under the first domain, as `run` serves it: HTTPS through Caddy (on the
/// port it would use, fallback included) when there is a Caddy, else the proxy's own HTTP.
pub fn port_url(config: &Config, port: u16) -> String {
    let domain = &config.settings.domains[0];
    match config.front {
        Some(front) if front.https_port == 443 => format!("https://{port}.{domain}/"),
        Some(front) => format!("https://{port}.{domain}:{}/", front.https_port),
        None => format!("http://{port}.{domain}:{}/", config.settings.listen.port()),
    }
}

/// The settings `run` would use, with Caddy in front when it would be.
fn setup(run: &RunArgs) -> Result<Config, Error> {
    let settings = run.settings(&process_env)?;
    if run.no_caddy {
        return Ok(Config::new(settings, None, None));
    }
    Ok(describe(settings, &Paths::from_env(&process_env)?)?.config)
}

/// `portproxy ls`: the dashboard's table in the terminal (`--json`: as `/api/ports` has it).
pub fn ls(args: LsArgs) -> Result<(), Error> {
    let config = setup(&args.run)?;
    let titles = running_titles(&config);
    let (listening, holders) = ports::listening_and_holders();
    let mut rows = PortLink::rows(&config, listening, holders, titles, |port| {
        port_url(&config, port)
    });
    // Titles come from whatever answers on a port, names from any package.json: no escape
    // sequence of theirs reaches the terminal.
    for row in &mut rows {
        for text in [&mut row.label, &mut row.title].into_iter().flatten() {
            *text = printable(text);
        }
        if let Some(process) = &mut row.process {
            process.name = printable(&process.name);
            process.command = printable(&process.command);
            if let Some(project) = &mut process.project {
                *project = printable(project);
            }
        }
    }
    if args.json {
        println!("{}", serde_json::json!({ "ports": rows }));
        return Ok(());
    }
    println!(
        "{:<6} {:<24} {:<16} {:<32} TITLE",
        "PORT", "PROJECT", "PROCESS", "URL"
    );
    for row in &rows {
        let project = row
            .label
            .as_deref()
            .or_else(|| row.process.as_ref()?.project.as_deref())
            .unwrap_or("");
        let process = match &row.process {
            Some(holder) => holder.name.as_str(),
            None => "(another user's)",
        };
        println!(
            "{:<6} {:<24} {:<16} {:<32} {}",
            row.port,
            project,
            process,
            row.url,
            row.title.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

/// `text` without control characters (escape sequences: screen clears, OSC 52 clipboard
/// writes, C1 controls) and without bidirectional overrides that make a name read as another.
pub fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

/// The page titles a running portproxy has learnt (they live only in its memory), from its
/// `/api/ports` on the listen address; none when it is not running or does not answer within
/// a second.
fn running_titles(config: &Config) -> HashMap<u16, String> {
    let mut addr = config.settings.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    // The local dashboard answers this machine without a sign-in.
    let domains = &config.settings.domains;
    let domain = domains
        .iter()
        .find(|d| *d == "localhost")
        .unwrap_or(&domains[0]);
    let ask = || -> std::io::Result<Vec<u8>> {
        let wait = Some(Duration::from_secs(1));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        stream.set_read_timeout(wait)?;
        stream.set_write_timeout(wait)?;
        write!(
            stream,
            "GET /api/ports HTTP/1.1\r\nHost: {domain}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = Vec::new();
        stream.take(4 << 20).read_to_end(&mut response)?;
        Ok(response)
    };
    ask().ok().map(|r| titles_in(&r)).unwrap_or_default()
}

/// The titles in an HTTP response carrying `/api/ports`' JSON; none unless it is a 200.
fn titles_in(response: &[u8]) -> HashMap<u16, String> {
    let text = String::from_utf8_lossy(response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return HashMap::new();
    };
    if !head.starts_with("HTTP/1.1 200 ") {
        return HashMap::new();
    }
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        return HashMap::new();
    };
    json["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = u16::try_from(p["port"].as_u64()?).ok()?;
            Some((port, p["title"].as_str()?.to_string()))
        })
        .collect()
}

fn url_of(args: &PortArgs) -> Result<String, Error> {
    Ok(port_url(&setup(&args.run)?, args.port))
}

/// `portproxy url PORT`: the URL alone on stdout, for scripts.
pub fn url(args: PortArgs) -> Result<(), Error> {
    println!("{}", url_of(&args)?);
    Ok(())
}

/// `portproxy open PORT`: the URL in the browser, or printed where there is none.
pub fn open(args: PortArgs) -> Result<(), Error> {
    let url = url_of(&args)?;
    match browser(&url) {
        Ok(()) => eprintln!("opened {url}"),
        Err(why) => {
            warn!("no browser to open it ({why}); the URL:");
            println!("{url}");
        }
    }
    Ok(())
}

fn browser(url: &str) -> Result<(), String> {
    let (program, args): (&str, Vec<&str>) = if cfg!(windows) {
        ("cmd", vec!["/C", "start", "", url])
    } else if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else {
        if process_env("DISPLAY").is_none() && process_env("WAYLAND_DISPLAY").is_none() {
            return Err("no DISPLAY or WAYLAND_DISPLAY".into());
        }
        ("xdg-open", vec![url])
    };
    match std::process::Command::new(program).args(&args).status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("{program} {status}")),
        Err(e) => Err(format!("{program}: {e}")),
    }
}

/// `portproxy token [--rotate]`: the access token for public domains. Once `run` starts at
/// login, the token it generated would otherwise live only in a journal.
pub fn token(args: TokenArgs) -> Result<(), Error> {
    let settings = args.run.settings(&process_env)?;
    if let Some(token) = &settings.auth_token {
        if args.rotate {
            return Err(Error::Usage {
                message: "the token is set in the settings (auth_token, --auth-token or PORTPROXY_AUTH_TOKEN)".into(),
                help: "change it there; --rotate replaces only the generated token file".into(),
            });
        }
        println!("{token}");
        return Ok(());
    }
    let path = start::token_file(&process_env)?;
    let file_error = |e| Error::token_file(&path, e);
    let stored = if args.rotate {
        auth::rotate_token(&path).map_err(file_error)?
    } else {
        auth::stored_token(&path).map_err(file_error)?
    };
    println!("{}", stored.token);
    if args.rotate {
        let file = Paths::from_env(&process_env)?.sessions();
        sessions::write(&file, &Book::default()).map_err(|error| Error::File {
            path: file.clone(),
            error,
        })?;
        eprintln!(
            "a new token is in {}; every session has ended, and a running portproxy takes the new token when it reloads (SIGHUP) or restarts",
            path.display()
        );
    }
    Ok(())
}

/// `portproxy sessions [--revoke KEY|all]`: who is signed in to the public domains, by the
/// key of each session (a hash: the file never holds a usable cookie).
pub fn sessions(args: SessionsArgs) -> Result<(), Error> {
    let file = Paths::from_env(&process_env)?.sessions();
    let file_error = |error| Error::File {
        path: file.clone(),
        error,
    };
    let mut book = sessions::read(&file).map_err(file_error)?;
    let now = sessions::unix_now();
    let Some(key) = args.revoke else {
        println!("{:<16} {:<20} FROM", "KEY", "SIGNED IN (UTC)");
        for session in book.sessions.values().filter(|s| !s.expired(now)) {
            println!(
                "{:<16} {:<20} {}",
                &session.key[..16],
                utc(session.issued),
                session.from
            );
        }
        return Ok(());
    };
    let prefix = if key == "all" { "" } else { key.as_str() };
    if prefix.len() < 8 && key != "all" {
        return Err(Error::Usage {
            message: format!("`{key}` is too short to name one session"),
            help: "give at least 8 characters of a KEY that `portproxy sessions` lists, or `all`"
                .into(),
        });
    }
    let ended = book.revoke(&prefix.to_ascii_lowercase());
    if ended == 0 {
        return Err(Error::Usage {
            message: format!("no session has a key starting with `{key}`"),
            help: "`portproxy sessions` lists them".into(),
        });
    }
    sessions::write(&file, &book).map_err(file_error)?;
    eprintln!("ended {ended} session(s)");
    Ok(())
}

/// `2026-12-03 17:45:32` for seconds since the Unix epoch.
fn utc(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finding 6 (issue 23): titles and project names reached the terminal raw.
    #[test]
    fn finding_6_nothing_printed_controls_the_terminal() {
        let rows = [
            ("Vite + React", "Vite + React"),
            ("caf\u{e9} \u{1f680}", "caf\u{e9} \u{1f680}"),
            ("\u{1b}]52;c;ZXZpbA==\u{7}app", "]52;c;ZXZpbA==app"),
            ("\u{1b}[2J\u{1b}[Hclean", "[2J[Hclean"),
            ("a\u{9b}31mred", "a31mred"),
            ("tab\there\r\nnext", "tabherenext"),
            ("admin\u{202e}txt.exe", "admintxt.exe"),
            ("\u{2066}x\u{2069}\u{200f}", "x"),
        ];
        for (from, to) in rows {
            assert_eq!(printable(from), to, "{from:?}");
        }
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_796_319_932), "2026-12-03 17:45:32");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
    }

    #[test]
    fn titles_come_only_from_a_dashboard_answer() {
        let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"domain\":\"localhost\",\"ports\":[{\"port\":5173,\"title\":\"Vite\"},{\"port\":8000},{\"port\":70000,\"title\":\"x\"}]}\n";
        assert_eq!(
            titles_in(ok.as_bytes()),
            HashMap::from([(5173, "Vite".to_string())])
        );
        for other in [
            "HTTP/1.1 403 Forbidden\r\n\r\n{\"ports\":[{\"port\":1,\"title\":\"x\"}]}",
            "HTTP/1.1 200 OK\r\n\r\nnot json",
            "HTTP/1.1 200 OK",
            "",
        ] {
            assert!(titles_in(other.as_bytes()).is_empty(), "{other}");
        }
    }
}

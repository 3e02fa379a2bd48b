//! `portproxy ls`, `url PORT`, `open PORT`, `token` and `sessions`: the things a daily user
//! asks of a running setup. `ls`, `url` and `open` ask the running portproxy over the control
//! channel, so they print what it serves, not what a start with today's settings would.

use serde::{Deserialize, Serialize};

use crate::auth;
use crate::auth::sessions::{self, Book};
use crate::caddy::Paths;
use crate::cli::{LsArgs, PortArgs, PortOrName, SessionsArgs, TokenArgs};
use crate::control::{self, ControlError, Instance};
use crate::error::Error;
use crate::paths;
use crate::paths::process_env;
use crate::ports::Holder;
use crate::start;

/// The running instance of this user (`portproxy is not running` when there is none).
pub(crate) fn running() -> Result<Instance, Error> {
    Ok(control::find(&paths::data_dir(&process_env)?)?)
}

/// `portproxy ls`: the dashboard's table in the terminal (`--json`: as `/api/ports` has it),
/// as the running portproxy serves it.
pub(crate) fn ls(args: LsArgs) -> Result<(), Error> {
    let answer = running()?.request("GET", "/control/ports", None)?;
    let listed: Listed = serde_json::from_str(&answer).map_err(|e| not_understood(&e))?;
    let mut rows = listed.ports;
    for row in &mut rows {
        row.make_printable();
    }
    if args.json {
        println!("{}", serde_json::json!({ "ports": rows }));
        return Ok(());
    }
    println!(
        "{:<24} {:<6} {:<24} {:<16} {:<32} TITLE",
        "NAME", "PORT", "PROJECT", "PROCESS", "URL"
    );
    for row in &rows {
        row.print();
    }
    Ok(())
}

/// `/control/ports` as `ls` reads it.
#[derive(Deserialize)]
struct Listed {
    ports: Vec<Row>,
}

/// A row of `/control/ports`: the fields `ls` prints, the rest kept for `--json`.
#[derive(Deserialize, Serialize)]
struct Row {
    port: u16,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name_url: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    clash: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    process: Option<Holder>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

impl Row {
    /// Titles come from whatever answers on a port, names from any package.json: no escape
    /// sequence of theirs reaches the terminal.
    fn make_printable(&mut self) {
        let texts = [
            &mut self.name,
            &mut self.name_url,
            &mut self.label,
            &mut self.title,
        ];
        for text in texts.into_iter().flatten() {
            *text = printable(text);
        }
        if let Some(process) = &mut self.process {
            process.name = printable(&process.name);
            process.command = printable(&process.command);
            if let Some(project) = &mut process.project {
                *project = printable(project);
            }
        }
        self.url = printable(&self.url);
    }

    /// One line of `ls`'s table.
    fn print(&self) {
        let project = self
            .label
            .as_deref()
            .or_else(|| self.process.as_ref()?.project.as_deref())
            .unwrap_or("");
        let process = match &self.process {
            Some(holder) => holder.name.as_str(),
            None => "(another user's)",
        };
        let name = match (&self.name, self.clash) {
            (Some(name), true) => format!("{name} (clash)"),
            (Some(name), false) => name.clone(),
            (None, _) => String::new(),
        };
        println!(
            "{:<24} {:<6} {:<24} {:<16} {:<32} {}",
            name,
            self.port,
            project,
            process,
            self.name_url
                .as_ref()
                .filter(|_| !self.clash)
                .unwrap_or(&self.url),
            self.title.as_deref().unwrap_or("")
        );
    }
}

pub(crate) fn not_understood(error: &serde_json::Error) -> Error {
    Error::Control(ControlError::Refused {
        status: 200,
        message: format!(
            "an answer portproxy {} can't read: {error}",
            env!("CARGO_PKG_VERSION")
        ),
    })
}

/// `text` without control characters (escape sequences: screen clears, OSC 52 clipboard
/// writes, C1 controls) and without bidirectional overrides that make a name read as another.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

/// Where a port or a name is served now, as the running portproxy says.
#[derive(Deserialize)]
pub(crate) struct Served {
    pub(crate) url: String,
    pub(crate) port: u16,
}

/// A port's or a name's URL and port as `instance` serves it.
pub(crate) fn served(instance: &Instance, target: &PortOrName) -> Result<Served, Error> {
    // A name is `[a-z0-9.-]` (`cli::ports::port_or_name`): nothing to escape in the query.
    let query = match target {
        PortOrName::Port(port) => format!("port={port}"),
        PortOrName::Name(name) => format!("name={name}"),
    };
    let answer = instance.request("GET", &format!("/control/url?{query}"), None)?;
    let served: Served = serde_json::from_str(&answer).map_err(|e| not_understood(&e))?;
    Ok(Served {
        url: printable(&served.url),
        ..served
    })
}

fn url_of(args: &PortArgs) -> Result<String, Error> {
    Ok(served(&running()?, &args.port)?.url)
}

/// `portproxy url PORT`: the URL alone on stdout, for scripts.
pub(crate) fn url(args: PortArgs) -> Result<(), Error> {
    println!("{}", url_of(&args)?);
    Ok(())
}

/// `portproxy open PORT`: the URL in the browser, or printed where there is none.
pub(crate) fn open(args: PortArgs) -> Result<(), Error> {
    let url = url_of(&args)?;
    match browser(&url) {
        Ok(()) => eprintln!("opened {url}"),
        Err(why) => {
            eprintln!("no browser to open it ({why}); the URL:");
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
pub(crate) fn token(args: TokenArgs) -> Result<(), Error> {
    let settings = args.config.settings(&process_env)?;
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
pub(crate) fn sessions(args: SessionsArgs) -> Result<(), Error> {
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
    fn ls_json_passes_the_running_instances_rows_on_whole() {
        let answer = r#"{"ports":[{"port":5173,"url":"https://5173.localhost/","label":"web","public":true,"process":{"pid":7,"name":"node","command":"vite","project":"shop"},"title":"Vite","visibility":"public","name":"shop-web"},{"port":8000,"url":"http://8000.localhost:24306/","visibility":"private"}]}"#;
        let listed: Listed = serde_json::from_str(answer).unwrap();
        let again = serde_json::json!({ "ports": listed.ports });
        let original: serde_json::Value = serde_json::from_str(answer).unwrap();
        assert_eq!(
            again, original,
            "fields ls does not print are kept for --json"
        );
        assert!(serde_json::from_str::<Listed>(r#"{"ports":[{"port":70000}]}"#).is_err());
    }
}

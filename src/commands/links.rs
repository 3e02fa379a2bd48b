//! `portproxy ls`, `url PORT`, `open PORT` and `token`: the things a daily user
//! asks of a running setup, answered from the same settings `run` uses.

use log::warn;

use crate::auth;
use crate::caddy::Paths;
use crate::cli::{LsArgs, PortArgs, RunArgs, TokenArgs};
use crate::commands::describe;
use crate::config::{process_env, Config};
use crate::error::Error;
use crate::ports;

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
    Ok(describe(settings, &Paths::from_env(&process_env))?.config)
}

/// `portproxy ls`: the dashboard's table in the terminal (`--json`: as `/api/ports` has it).
pub fn ls(args: LsArgs) -> Result<(), Error> {
    let config = setup(&args.run)?;
    let mut holders = ports::holders();
    let rows: Vec<serde_json::Value> = ports::listening()
        .into_iter()
        .filter(|port| !config.policy.own_ports.contains(port))
        .map(|port| {
            serde_json::json!({
                "port": port,
                "url": port_url(&config, port),
                "label": config.settings.labels.get(&port),
                "public": config.settings.public_ports.contains(&port),
                "process": holders.remove(&port),
            })
        })
        .collect();
    if args.json {
        println!("{}", serde_json::json!({ "ports": rows }));
        return Ok(());
    }
    println!("{:<6} {:<24} {:<16} URL", "PORT", "PROJECT", "PROCESS");
    for row in &rows {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
        let project = row["label"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| text(&row["process"]["project"]));
        let process = match row["process"]["name"].as_str() {
            Some(name) => name.to_string(),
            None => "(another user's)".into(),
        };
        println!(
            "{:<6} {:<24} {:<16} {}",
            row["port"],
            project,
            process,
            text(&row["url"])
        );
    }
    Ok(())
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
    let path = auth::token_file(&process_env);
    let file_error = |e| Error::token_file(&path, e);
    let stored = if args.rotate {
        auth::rotate_token(&path).map_err(file_error)?
    } else {
        auth::stored_token(&path).map_err(file_error)?
    };
    println!("{}", stored.token);
    if args.rotate {
        eprintln!(
            "a new token is in {}; every session ends once a running portproxy reloads (SIGHUP) or restarts",
            path.display()
        );
    }
    Ok(())
}

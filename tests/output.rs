//! Quiet, precise output (issue 20, §5): a start banner and nothing else by default, one line
//! on Ctrl-C, access lines and internals only when asked for, plain lines for the user, each
//! command's `--help` with its own options, and the answers that used to be wrong.
//!
//! The harness runs portproxy at `RUST_LOG=info`; the tests here take it away
//! (`unset("RUST_LOG")`) to see what a user sees.

use std::time::Duration;

use crate::harness::{Backend, Proxy};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[cfg(unix)]
fn banner_head(origin: &str) -> String {
    format!(
        "portproxy {} — serving {origin}//PORT.localhost{port}/ and {origin}//NAME.localhost{port}/",
        env!("CARGO_PKG_VERSION"),
        origin = origin.split_once("//").unwrap().0,
        port = origin.rsplit_once(':').map_or(String::new(), |(_, p)| format!(":{p}")),
    )
}

/// What `serve` says by default: the banner, and after a request and Ctrl-C, one line more.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_says_the_banner_then_one_line_on_ctrl_c() {
    let app = Backend::echo().await;
    let mut proxy = Proxy::new().unset("RUST_LOG").start().await;
    let port = proxy.addr.port();
    assert_eq!(proxy.get(&proxy.host(app.port()), "/").await.status, 200);
    assert!(
        proxy.log_contains("  stop       Ctrl-C").await,
        "{}",
        proxy.log()
    );
    proxy.signal("INT");
    let status = proxy.wait_exit(Duration::from_secs(12)).await.unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(
        proxy.log(),
        format!(
            "{}\n\
             \x20 dashboard  http://localhost:{port}/\n\
             \x20 HTTPS      none — `serve` is the proxy alone (`portproxy run` puts Caddy in front)\n\
             \x20 stop       Ctrl-C\n\
             stopped\n",
            banner_head(&format!("http://x:{port}"))
        )
    );
}

/// Access lines (and refusals) are opt-in: `--access-log` (or `access_log = true`), or -v,
/// which also shows Pingora's internals as log records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_lines_only_when_asked_for() {
    let app = Backend::echo().await;
    let access = format!("GET {}.localhost", app.port());
    for (args, env, lines, internals) in [
        (&[][..], None, false, false),
        (&["--access-log"][..], None, true, false),
        (&[][..], Some("true"), true, false),
        (&["-v"][..], None, true, true),
    ] {
        let mut proxy = Proxy::new().unset("RUST_LOG");
        for arg in args {
            proxy = proxy.arg(*arg);
        }
        if let Some(on) = env {
            proxy = proxy.env("PORTPROXY_ACCESS_LOG", on);
        }
        let proxy = proxy.start().await;
        let host = proxy.host(app.port());
        assert_eq!(proxy.get(&host, "/").await.status, 200);
        // A refusal: port 22 is on the deny list.
        assert_eq!(proxy.get(&proxy.host(22), "/").await.status, 403);
        assert!(proxy.log_contains("Ctrl-C").await);
        if lines {
            assert!(
                proxy.log_contains(&access).await,
                "{args:?}: {}",
                proxy.log()
            );
            assert!(
                proxy.log_contains("refused GET 22.localhost").await,
                "{args:?}: {}",
                proxy.log()
            );
        } else {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let log = proxy.log();
            assert!(!log.contains(&access), "{args:?}: {log}");
            assert!(!log.contains("refused"), "{args:?}: {log}");
        }
        let log = proxy.log();
        // Pingora's own start-up records.
        assert_eq!(
            log.contains("Bootstrap starting"),
            internals,
            "{args:?}: {log}"
        );
        assert_eq!(log.contains(" INFO "), internals, "{args:?}: {log}");
    }
}

/// `run` with Caddy (2.6.2 and a current one): the banner has the HTTPS URLs, the dashboard
/// and the trust state; Caddy's own records, its OCSP warning for a local certificate and
/// its goodbye are left out; Ctrl-C is one line. With -v, Caddy's records are back.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_says_https_and_trust_and_keeps_caddy_quiet() {
    use crate::harness::http::Conn;
    for caddy in crate::caddy::caddies() {
        for verbose in [false, true] {
            let app = Backend::echo().await;
            let (http, https) = crate::harness::proxy::free_pair();
            let https = https.port();
            let mut proxy = Proxy::run(http.port(), https)
                .arg("--caddy")
                .arg(&caddy)
                .arg("--no-trust")
                .unset("RUST_LOG");
            if verbose {
                proxy = proxy.arg("-v");
            }
            let mut proxy = proxy.start().await;
            proxy.wait_for_caddy(https).await;
            assert!(proxy.log_contains("Ctrl-C").await);
            // A certificate issued on demand, and stapled: no OCSP server in the local CA.
            let name = format!("{}.localhost", app.port());
            let tls = crate::harness::http::tls(
                format!("127.0.0.1:{https}").parse().unwrap(),
                &name,
                &proxy.caddy_root(),
            )
            .await;
            let resp = Conn::over(tls)
                .get(&format!("{name}:{https}"), "/", &[])
                .await;
            assert_eq!(resp.status, 200);
            tokio::time::sleep(Duration::from_millis(500)).await;
            proxy.signal("INT");
            let status = proxy.wait_exit(Duration::from_secs(15)).await.unwrap();
            assert!(status.success(), "{status}");
            let log = proxy.log();
            assert!(!log.contains("byeee"), "{caddy}: {log}");
            assert!(!log.contains("OCSP"), "{caddy}: {log}");
            if verbose {
                assert!(log.contains("caddy: "), "{caddy}: {log}");
                assert!(log.contains("Bootstrap starting"), "{caddy}: {log}");
                continue;
            }
            assert_eq!(
                log,
                format!(
                    "{}\n\
                     \x20 dashboard  https://localhost:{https}/\n\
                     \x20 HTTPS      not trusted yet — run `portproxy trust`\n\
                     \x20 stop       Ctrl-C\n\
                     stopped\n",
                    banner_head(&format!("https://x:{https}"))
                ),
                "{caddy}"
            );
        }
    }
}

/// Without Caddy, the banner says why there is no HTTPS and how to get it.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_without_caddy_says_why_there_is_no_https() {
    let empty = tempfile::tempdir().unwrap();
    let proxy = Proxy::command(&["run"])
        .env("PATH", empty.path().display().to_string())
        .unset("RUST_LOG")
        .start()
        .await;
    assert!(proxy.log_contains("Ctrl-C").await);
    let log = proxy.log();
    assert!(
        log.contains(
            "\n  HTTPS      none — Caddy is not on PATH, so there is no HTTPS; install Caddy ("
        ),
        "{log}"
    );
    assert!(log.starts_with("portproxy "), "{log}");
}

/// A message for the user is a plain line, not a log record, even with RUST_LOG set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_messages_are_plain_lines() {
    let proxy = Proxy::new().start().await;
    let out = proxy.command_with(
        &["open", "5173"],
        &[
            ("DISPLAY", ""),
            ("WAYLAND_DISPLAY", ""),
            ("RUST_LOG", "info"),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let said = stderr(&out);
    // (xdg-open says what it tried first.)
    assert!(
        said.lines()
            .any(|l| l.starts_with("no browser to open it (")),
        "{said}"
    );
    assert!(!said.contains("WARN"), "{said}");
}

/// A bad port under a domain other than `localhost` is explained with that domain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_host_examples_use_the_domain_asked_for() {
    let proxy = Proxy::new()
        .domain("dev.test")
        .arg("--no-auth")
        .start()
        .await;
    let resp = proxy.get("05173.dev.test", "/").await;
    assert_eq!(resp.status, 400);
    let text = resp.text();
    assert!(
        text.contains("Use PORT.dev.test (e.g. 5173.dev.test) or TARGET--PORT.dev.test (e.g. localhost--8000.dev.test)."),
        "{text}"
    );
    assert!(!text.contains(".localhost"), "{text}");
}

/// Each command's `--help` has its own options: the settings only where the command reads
/// them as flags, `--yes`/`--no-trust`/`-v` only where they do something.
#[test]
fn help_lists_only_the_commands_own_options() {
    let settings = ["--listen", "--domain", "--https-port", "--no-caddy"];
    for (command, own, not) in [
        ("token", &["--rotate", "--config"][..], &settings[..]),
        (
            "hosts",
            &["--sync", "--remove", "--config"][..],
            &settings[..],
        ),
        (
            "doctor",
            &["--json", "--config", "--listen", "--https-port"][..],
            &["--no-trust", "--yes", "--verbose"][..],
        ),
        (
            "caddyfile",
            &["--config", "--listen", "--https-port"][..],
            &["--no-trust", "--yes", "--verbose"][..],
        ),
        (
            "run",
            &[
                "--config",
                "--https-port",
                "--no-trust",
                "--yes",
                "--verbose",
                "--access-log",
            ][..],
            &[][..],
        ),
        (
            "serve",
            &["--config", "--listen", "--verbose", "--access-log"][..],
            &["--no-trust", "--yes", "--https-port"][..],
        ),
    ] {
        let out = Proxy::command(&[command, "--help"]).output();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{help}");
        for option in own {
            assert!(help.contains(option), "{command} lacks {option}: {help}");
        }
        for other in not {
            assert!(!help.contains(other), "{command} has {other}: {help}");
        }
    }
}

/// Where no systemd user session runs (a container, CI), `service install` says so and
/// fails, writing nothing, and `status` does not call it installed.
#[cfg(target_os = "linux")]
#[test]
fn service_install_refuses_without_systemd() {
    let no_session = std::process::Command::new("systemctl")
        .args(["--user", "show-environment"])
        .output()
        .map_or(true, |out| !out.status.success());
    if !no_session {
        eprintln!("skipped: this machine has a systemd user session");
        return;
    }
    let config = tempfile::tempdir().unwrap();
    let service = |action: &str| {
        Proxy::command(&["service", action])
            .env("XDG_CONFIG_HOME", config.path().display().to_string())
            .output()
    };
    let out = service("install");
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.starts_with(
            "error: no systemd user session here, so nothing would start portproxy at login ("
        ),
        "{said}"
    );
    assert!(
        said.contains("\nhelp: run `portproxy service install` in a login session with systemd"),
        "{said}"
    );
    assert!(!config.path().join("systemd").exists());
    let status = stderr(&service("status"));
    assert!(status.starts_with("not installed ("), "{status}");
}

/// Every check of `doctor --json` has an id of its own (Caddy's ports are checked on
/// 127.0.0.1 and [::1]: they were both `port.https-port`).
#[test]
fn doctor_json_ids_are_unique() {
    let out = Proxy::command(&["doctor", "--json"]).output();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().expect("every check has an id"))
        .collect();
    let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert!(ids.contains(&"port.https-port.ipv6"), "{ids:?}");
}

/// The exit statuses `--help` and docs/commands.md list.
#[test]
fn exit_statuses_are_as_documented() {
    let rows: [(&[&str], i32); 6] = [
        (&["completions", "bash"], 0),
        // The test's own data directory has no trusted local CA: a problem.
        (&["doctor", "--no-caddy"], 1),
        (&["serve", "--listen", "nope"], 2),
        (&["no-such-command"], 2),
        (&["url", "5173"], 4),
        (&["ls"], 4),
    ];
    for (args, code) in rows {
        let out = Proxy::command(args).output();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
    }
    let help = Proxy::command(&["--help"]).output();
    let help = String::from_utf8_lossy(&help.stdout);
    for status in [
        "0 success",
        "1 `doctor` found problems",
        "2 usage",
        "3 `self-update --check`",
        "4 ",
        "101 a bug",
    ] {
        assert!(help.contains(status), "{status}: {help}");
    }
}

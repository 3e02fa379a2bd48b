//! The small commands a daily user runs: `url`, `open`, `ls`, `token`.

use crate::harness::Proxy;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `url` prints what the running portproxy serves, whatever today's settings would say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_prints_the_address_the_running_portproxy_serves() {
    let proxy = Proxy::new().start().await;
    let out = proxy.command(&["url", "5173"]);
    assert!(out.status.success(), "{out:?}");
    let url = format!("http://5173.localhost:{}/", proxy.addr.port());
    assert_eq!(stdout(&out), format!("{url}\n"));
    // Settings of a start that did not happen change nothing.
    let moved = proxy.command_with(&["url", "5173"], &[("PORTPROXY_LISTEN", "127.0.0.1:1")]);
    assert_eq!(stdout(&moved), format!("{url}\n"), "{moved:?}");
    let bad = proxy.command(&["url", "70000"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("`70000` is not a port"));
}

/// With nothing running, `ls`, `url` and `open` say so and exit 4, printing no URL.
#[test]
fn with_nothing_running_the_cli_says_so_and_exits_4() {
    for args in [
        &["url", "5173"][..],
        &["open", "5173"],
        &["ls"],
        &["ls", "--json"],
    ] {
        let out = Proxy::command(args).output();
        assert_eq!(out.status.code(), Some(4), "{args:?}: {out:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
        let said = stderr(&out);
        assert!(
            said.contains("portproxy is not running"),
            "{args:?}: {said}"
        );
        assert!(
            said.contains("start it with `portproxy`"),
            "{args:?}: {said}"
        );
    }
}

/// Issue 23, finding 6: `ls` believes only this user's portproxy. A crash leaves
/// `instance.json` behind; whatever then answers on its admin address (here a listener that
/// mimics `/control/ports` with an escape sequence in a title) learns no secret and is not
/// believed.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_6_ls_believes_only_this_users_portproxy() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let proxy = Proxy::new().start().await;
    let secret = proxy.instance()["secret"].as_str().unwrap().to_string();
    let impostor = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = impostor.local_addr().unwrap();
    let heard = tokio::spawn(async move {
        let mut heard = Vec::new();
        for _ in 0..2 {
            let (mut conn, _) = impostor.accept().await.unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut chunk).await.unwrap();
                assert!(n > 0, "the request ended early");
                request.extend_from_slice(&chunk[..n]);
            }
            heard.push(String::from_utf8_lossy(&request).into_owned());
            let body = r#"{"ports":[{"port":1,"url":"http://evil/","title":"\u001b]52;c;ZXZpbA==\u0007","visibility":"private"}]}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nx-portproxy-proof: {}\r\ncontent-length: {}\r\n\r\n{body}",
                "0".repeat(64),
                body.len()
            );
            conn.write_all(reply.as_bytes()).await.unwrap();
        }
        heard
    });
    // The file as a crashed instance leaves it, its pid taken by a live process (this one).
    let file = proxy.data_dir().join("instance.json");
    let mut stale = proxy.instance();
    stale["pid"] = std::process::id().into();
    stale["admin"] = admin.to_string().into();
    std::fs::write(&file, stale.to_string()).unwrap();
    for args in [&["ls", "--json"][..], &["url", "5173"]] {
        // Blocks this worker; the impostor answers on the other.
        let out = proxy.command(args);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {out:?}");
        assert_eq!(stdout(&out), "", "nothing the impostor said is printed");
        assert!(
            stderr(&out).contains("is not your portproxy"),
            "{}",
            stderr(&out)
        );
    }
    let heard = heard.await.unwrap();
    assert_eq!(heard.len(), 2);
    for request in heard {
        assert!(!request.contains(&secret), "the secret was sent: {request}");
        assert!(
            request.contains("Authorization: Portproxy nonce="),
            "{request}"
        );
    }
}

/// `ls` prints the dashboard's table from the running portproxy; `--json` the same as data,
/// with the labels it was started with.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_lists_the_ports_and_who_holds_them() {
    let app = crate::harness::Backend::echo().await;
    let port = app.port().to_string();
    let label = format!("{port}=docs");
    let proxy = Proxy::new().arg("--label").arg(&label).start().await;
    let out = proxy.command(&["ls", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = json["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == app.port())
        .cloned()
        .expect("the backend's port");
    let url = format!("http://{port}.localhost:{}/", proxy.addr.port());
    assert_eq!(entry["url"], url);
    assert_eq!(entry["label"], "docs");
    // The label names the port too.
    let by_name = format!("http://docs.localhost:{}/", proxy.addr.port());
    assert_eq!(entry["name"], "docs");
    assert_eq!(entry["name_url"], by_name);
    assert_eq!(entry["visibility"], "private");
    assert_eq!(entry["process"]["pid"], std::process::id());
    // The URL answers: it is the app.
    let answered = proxy.get(&proxy.host(app.port()), "/").await;
    assert_eq!(answered.status, 200);
    let table = stdout(&proxy.command(&["ls"]));
    assert!(table.starts_with("NAME "), "names first: {table}");
    // The port is a column of its own; the name column before it may be empty.
    let line = table
        .lines()
        .find(|l| l.split_whitespace().any(|word| word == port))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        line.starts_with("docs ") && line.contains(&by_name),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_without_a_browser_prints_the_url() {
    let proxy = Proxy::new().start().await;
    let out = proxy.command_with(
        &["open", "5173"],
        &[("DISPLAY", ""), ("WAYLAND_DISPLAY", "")],
    );
    assert!(out.status.success(), "{out:?}");
    let url = format!("http://5173.localhost:{}/\n", proxy.addr.port());
    assert_eq!(stdout(&out), url);
    assert!(stderr(&out).contains("no browser"));
}

#[test]
fn token_shows_and_rotates_the_stored_token() {
    let config = tempfile::tempdir().unwrap();
    let home = config.path().display().to_string();
    let token_with = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["token"];
        all.extend_from_slice(args);
        let mut command = Proxy::command(&all).env("XDG_CONFIG_HOME", home.clone());
        for (key, value) in env {
            command = command.env(key, *value);
        }
        command.output()
    };
    let token = |args: &[&str]| token_with(args, &[]);
    let first = stdout(&token(&[]));
    assert_eq!(first.trim().len(), 64, "{first}");
    assert_eq!(stdout(&token(&[])), first, "the same token again");
    let stored = std::fs::read_to_string(config.path().join("portproxy/token")).unwrap();
    assert_eq!(stored, first);
    let rotated = token(&["--rotate"]);
    assert!(rotated.status.success(), "{rotated:?}");
    assert_ne!(stdout(&rotated), first);
    let stored = std::fs::read_to_string(config.path().join("portproxy/token")).unwrap();
    assert_eq!(stored, stdout(&rotated));
    // A token from the settings is shown, not rotated.
    let from_settings = [("PORTPROXY_AUTH_TOKEN", "settings-token-0123456789")];
    let set = token_with(&[], &from_settings);
    assert_eq!(stdout(&set), "settings-token-0123456789\n");
    let refused = token_with(&["--rotate"], &from_settings);
    assert_eq!(refused.status.code(), Some(2));
}

/// `service install` writes a systemd user unit that systemd accepts, `status` finds it and
/// `uninstall` removes it — with a stand-in `systemctl` for the user session CI lacks
/// (`output::service_install_refuses_without_systemd` is the same without it).
#[cfg(target_os = "linux")]
#[test]
fn service_install_and_uninstall_round_trip() {
    let config = tempfile::tempdir().unwrap();
    let home = config.path().display().to_string();
    let path = crate::harness::path_with(&crate::harness::fake_systemd_session(config.path()));
    let service = |action: &str| {
        Proxy::command(&["service", action])
            .env("XDG_CONFIG_HOME", home.clone())
            .env("PATH", path.clone())
            .output()
    };
    let installed = service("install");
    let said = String::from_utf8_lossy(&installed.stderr).into_owned();
    assert!(installed.status.success(), "{said}");
    let unit = config.path().join("systemd/user/portproxy.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(
        text.contains(&format!(
            "ExecStart=\"{}\" run",
            env!("CARGO_BIN_EXE_portproxy")
        )),
        "{text}"
    );
    assert!(said.contains("journalctl --user -u portproxy"), "{said}");
    let verify = std::process::Command::new("systemd-analyze")
        .args(["verify"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze (systemd)");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(!text.contains("OWNER"), "{text}");
    let status = service("status");
    assert_eq!(
        String::from_utf8_lossy(&status.stderr),
        format!(
            "installed: {} (enabled, active)\nlogs: the journal: journalctl --user -u portproxy -f\n",
            unit.display()
        )
    );
    assert!(service("uninstall").status.success());
    assert!(!unit.exists());
    assert!(String::from_utf8_lossy(&service("status").stderr).contains("not installed"));
}

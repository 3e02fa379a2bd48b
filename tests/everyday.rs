//! The small commands a daily user runs: `url`, `open`, `token`.

use crate::harness::Proxy;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn url_prints_the_address_run_serves() {
    let out =
        Proxy::command(&["url", "5173", "--no-caddy", "--listen", "127.0.0.1:24999"]).output();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "http://5173.localhost:24999/\n");
    // With Caddy (Debian's, on PATH, where the Caddy tests run), the HTTPS URL on the port
    // Caddy would use.
    if !cfg!(target_os = "linux") {
        return;
    }
    let out = Proxy::command(&[
        "url",
        "5173",
        "--https-port",
        "8443",
        "--domain",
        "dev.example.com",
    ])
    .output();
    assert_eq!(
        stdout(&out),
        "https://5173.dev.example.com:8443/\n",
        "{out:?}"
    );
    let out = Proxy::command(&["url", "5173", "--https-port", "443"]).output();
    assert_eq!(stdout(&out), "https://5173.localhost/\n", "{out:?}");
    let bad = Proxy::command(&["url", "70000"]).output();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`70000` is not a port"));
}

/// `ls` prints the dashboard's table; `--json` the same as data.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_lists_the_ports_and_who_holds_them() {
    let app = crate::harness::Backend::echo().await;
    let port = app.port().to_string();
    let out =
        Proxy::command(&["ls", "--json", "--no-caddy", "--listen", "127.0.0.1:24999"]).output();
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = json["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == app.port())
        .cloned()
        .expect("the backend's port");
    assert_eq!(entry["url"], format!("http://{port}.localhost:24999/"));
    assert_eq!(entry["process"]["pid"], std::process::id());
    let table = stdout(&Proxy::command(&["ls", "--no-caddy"]).output());
    let line = table
        .lines()
        .find(|l| l.starts_with(&format!("{port} ")))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(line.contains("portproxy"), "the project: {line}");
}

#[test]
fn open_without_a_browser_prints_the_url() {
    let out = Proxy::command(&["open", "5173", "--no-caddy", "--listen", "127.0.0.1:24999"])
        .env("DISPLAY", "")
        .env("WAYLAND_DISPLAY", "")
        .output();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "http://5173.localhost:24999/\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no browser"));
}

#[test]
fn token_shows_and_rotates_the_stored_token() {
    let config = tempfile::tempdir().unwrap();
    let home = config.path().display().to_string();
    let token = |args: &[&str]| {
        let mut all = vec!["token"];
        all.extend_from_slice(args);
        Proxy::command(&all)
            .env("XDG_CONFIG_HOME", home.clone())
            .output()
    };
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
    let set = token(&["--auth-token", "settings-token-0123456789"]);
    assert_eq!(stdout(&set), "settings-token-0123456789\n");
    let refused = token(&["--rotate", "--auth-token", "settings-token-0123456789"]);
    assert_eq!(refused.status.code(), Some(2));
}

/// `service install` writes a systemd user unit that systemd accepts, `status` finds it and
/// `uninstall` removes it — here without a running systemd, as on CI.
#[cfg(target_os = "linux")]
#[test]
fn service_install_and_uninstall_round_trip() {
    let config = tempfile::tempdir().unwrap();
    let home = config.path().display().to_string();
    let service = |action: &str| {
        Proxy::command(&["service", action])
            .env("XDG_CONFIG_HOME", home.clone())
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
    let status = service("status");
    assert!(String::from_utf8_lossy(&status.stderr).contains("installed:"));
    assert!(service("uninstall").status.success());
    assert!(!unit.exists());
    assert!(String::from_utf8_lossy(&service("status").stderr).contains("not installed"));
}

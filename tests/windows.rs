//! The Windows build (`x86_64-pc-windows-gnu`) under wine, against Linux-side backends on
//! loopback: what a Windows user meets first. `scripts/platform` builds it, puts the
//! `bcryptprimitives.dll` stand-in beside it (tests/wine/) and runs these with `--ignored`,
//! naming the .exe in PORTPROXY_TEST_WINDOWS_EXE.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::harness::{closed_port, Backend, Proxy, WsBackend};
use crate::streams::{echo_round_trip, sse_arrives_event_by_event, ws_connect};

fn exe() -> PathBuf {
    std::env::var_os("PORTPROXY_TEST_WINDOWS_EXE")
        .expect(
            "PORTPROXY_TEST_WINDOWS_EXE names the portproxy.exe to run (scripts/platform sets it)",
        )
        .into()
}

/// `wine portproxy.exe ARGS`, to completion.
fn wine(args: &[&str]) -> Output {
    Command::new("wine")
        .arg(exe())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("wine on PATH (scripts/platform installs it)")
}

fn said(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
#[ignore = "the Windows build under wine: scripts/platform runs it"]
fn version() {
    let out = wine(&["--version"]);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().next(),
        Some(format!("portproxy {}", env!("CARGO_PKG_VERSION")).as_str()),
        "{}",
        said(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the Windows build under wine: scripts/platform runs it"]
async fn serve_proxies_http_websocket_and_sse_by_port_localhost() {
    let app = Backend::echo().await;
    let hmr = WsBackend::start().await;
    let proxy = Proxy::new().under_wine(&exe()).start().await;

    let resp = proxy.get(&proxy.host(app.port()), "/hello").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["path"], "/hello");
    let headers = resp.json()["headers"].to_string();
    assert!(
        headers.contains(&format!("\"localhost:{}\"", app.port())),
        "{headers}"
    );

    let mut ws = ws_connect(&proxy, hmr.port()).await;
    for i in 0..5 {
        echo_round_trip(&mut ws, &format!("update {i}")).await;
    }

    sse_arrives_event_by_event(&proxy, app.port()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the Windows build under wine: scripts/platform runs it"]
async fn a_closed_port_gets_the_502_page() {
    let proxy = Proxy::new().under_wine(&exe()).start().await;
    let port = closed_port();
    let page = proxy
        .get_with(&proxy.host(port), "/", &[("Accept", "text/html")])
        .await;
    assert_eq!(page.status, 502);
    assert!(
        page.text()
            .contains(&format!("Nothing is listening on localhost:{port} yet")),
        "{}",
        page.text()
    );
}

/// `doctor` runs its checks to the end and says what it found (wine has no Caddy, so it
/// reports problems: the exit status is not the point here, a complete report is).
#[test]
#[ignore = "the Windows build under wine: scripts/platform runs it"]
fn doctor_reports_every_check() {
    let out = wine(&["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json is not JSON ({e}): {}", said(&out)));
    let checks = report["checks"].as_array().expect("checks");
    assert!(!checks.is_empty(), "{}", said(&out));
    for check in checks {
        assert!(
            ["ok", "warn", "fail"].contains(&check["status"].as_str().unwrap_or("")),
            "{check}"
        );
    }
}

/// `ls --json` asks the running portproxy (found through `%LOCALAPPDATA%\portproxy\instance.json`,
/// over the control channel), which sees a Linux-side listener through wine's socket table.
/// Wine 8 names no owning process for any socket (a Linux one or a wine one), so rows have no
/// `process` here; the Windows CI job sees sysinfo's names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the Windows build under wine: scripts/platform runs it"]
async fn ls_lists_the_listening_ports() {
    let app = Backend::echo().await;
    let _proxy = Proxy::new().under_wine(&exe()).start().await;
    let out = tokio::task::spawn_blocking(|| wine(&["ls", "--json"]))
        .await
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = listed["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["port"] == app.port())
        .unwrap_or_else(|| panic!("port {} not listed: {}", app.port(), said(&out)));
    println!("wine's view of a Linux process's port: {row}");
}

/// Ctrl-C (wine turns SIGINT into CTRL_C_EVENT for a console program) stops `serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the Windows build under wine: scripts/platform runs it"]
async fn ctrl_c_stops_serve() {
    let mut proxy = Proxy::new().under_wine(&exe()).start().await;
    proxy.signal("INT");
    let status = proxy.wait_exit(Duration::from_secs(15)).await;
    assert!(
        status.is_some(),
        "still running 15 s after Ctrl-C:\n{}",
        proxy.log()
    );
}

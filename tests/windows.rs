//! The Windows build (`x86_64-pc-windows-gnu`) under wine, against Linux-side backends on
//! loopback: what a Windows user meets first. `scripts/platform` builds it, puts the
//! `bcryptprimitives.dll` stand-in beside it and in the prefix's system32 (tests/wine/) and
//! runs these with `--ignored`, naming the .exe in PORTPROXY_TEST_WINDOWS_EXE (and the next
//! release's, for self-update, in PORTPROXY_TEST_NEXT_WINDOWS_EXE).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::github::{FakeGitHub, Published};
use crate::harness::release::assert_said;
use crate::harness::{closed_port, Backend, Proxy, WsBackend};
use crate::streams::{echo_round_trip, sse_arrives_event_by_event, ws_connect};

fn exe() -> PathBuf {
    std::env::var_os("PORTPROXY_TEST_WINDOWS_EXE")
        .expect(
            "PORTPROXY_TEST_WINDOWS_EXE names the portproxy.exe to run (scripts/platform sets it)",
        )
        .into()
}

/// The next release's .exe (this tree with its minor version bumped, built for Windows).
fn next_exe() -> PathBuf {
    std::env::var_os("PORTPROXY_TEST_NEXT_WINDOWS_EXE")
        .expect("PORTPROXY_TEST_NEXT_WINDOWS_EXE names the next release's portproxy.exe (scripts/platform builds it with `scripts/build-next-release --target x86_64-pc-windows-gnu`)")
        .into()
}

/// `wine portproxy.exe ARGS`, to completion.
fn wine(args: &[&str]) -> Output {
    wine_at(&exe(), args, &[])
}

/// `wine EXE ARGS` with `env` added, to completion.
fn wine_at(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new("wine")
        .arg(exe)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("wine on PATH (scripts/platform installs it)")
}

/// What `wine EXE --version` says: (the version, the target triple it was built for).
fn version_and_target(exe: &Path) -> (String, String) {
    let out = wine_at(exe, &["--version"], &[]);
    assert!(out.status.success(), "{}", said(&out));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines = text.lines();
    let version = lines.next().and_then(|l| l.strip_prefix("portproxy "));
    let target = lines
        .next()
        .and_then(|l| l.strip_prefix("target "))
        .and_then(|l| l.split(',').next());
    match (version, target) {
        (Some(v), Some(t)) => (v.to_string(), t.to_string()),
        _ => panic!("unexpected --version: {text}"),
    }
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

/// `ls` asks the running portproxy over the control channel (through
/// `%LOCALAPPDATA%\portproxy\instance.json`); with none running it says so and exits 4.
/// Not proven under wine: `ls` against a `serve` the test harness started there (it finds the
/// file, but not the process by its pid: docs/platforms.md); the Windows CI job runs it.
#[test]
#[ignore = "the Windows build under wine: scripts/platform runs it"]
fn ls_says_when_nothing_runs() {
    let data = std::env::var("WINEPREFIX").expect("WINEPREFIX (scripts/platform sets it)");
    let file = format!("{data}/drive_c/users/root/AppData/Local/portproxy/instance.json");
    let _ = std::fs::remove_file(&file);
    let out = wine(&["ls", "--json"]);
    assert_eq!(out.status.code(), Some(4), "{}", said(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("portproxy is not running"),
        "{}",
        said(&out)
    );
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

/// The files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The current and the next release, published as dist publishes the Windows build (a flat
/// `.zip` holding `portproxy.exe`, its `.sha256`, `sha256.sum`) for the triple this build
/// was made for: self-update asks for its own target's asset, so the gnu build asks for
/// `portproxy-x86_64-pc-windows-gnu.zip` (the release ships `-msvc`: docs/platforms.md).
fn windows_releases() -> (FakeGitHub, String, String) {
    let (current, target) = version_and_target(&exe());
    assert_eq!(current, env!("CARGO_PKG_VERSION"));
    assert_eq!(target, "x86_64-pc-windows-gnu");
    let (next, next_target) = version_and_target(&next_exe());
    assert_eq!(next_target, target);
    let github = FakeGitHub::serve_for(
        &target,
        &[
            Published {
                version: current,
                binary: exe(),
            },
            Published {
                version: next.clone(),
                binary: next_exe(),
            },
        ],
    );
    (github, next, format!("portproxy-{target}.zip"))
}

/// A copy of this build as an installed `portproxy.exe`, alone in its own directory.
fn installed() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let exe_path = dir.path().join("portproxy.exe");
    std::fs::copy(exe(), &exe_path).unwrap();
    (dir, exe_path)
}

/// The old .exe files self_replace moved into the prefix's %TEMP%
/// (`.portproxy.<random>.__relocated__.exe`).
fn relocated_in_temp() -> Vec<PathBuf> {
    let prefix = std::env::var("WINEPREFIX").expect("WINEPREFIX (scripts/platform sets it)");
    let mut found = Vec::new();
    for user in std::fs::read_dir(Path::new(&prefix).join("drive_c/users")).unwrap() {
        let temp = user.unwrap().path().join("Temp");
        for file in std::fs::read_dir(temp).into_iter().flatten() {
            let path = file.unwrap().path();
            if path.to_string_lossy().ends_with(".__relocated__.exe") {
                found.push(path);
            }
        }
    }
    found
}

/// Issue 22 §1: `self-update --yes` of the installed .exe from the loopback mirror while that
/// same .exe is running `serve`. Windows will not overwrite a running .exe, so self_replace
/// renames it aside (into %TEMP%) and puts the new one at its name; the release is staged in
/// `.portproxy-update-PID\` beside it, checked against `sha256.sum` and GitHub's digest, and
/// run (`--version`) before the swap. The old file is deleted when its last process ends
/// (self_replace's helper, after self-update exits); `serve` still runs it, so it stays in
/// %TEMP%, as it would on Windows (a running image cannot be deleted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the Windows build under wine: scripts/platform runs it"]
async fn self_update_swaps_the_running_exe_for_the_next_release() {
    let (github, next, asset) = windows_releases();
    let current = env!("CARGO_PKG_VERSION");
    let (dir, installed) = installed();
    let before = std::fs::read(&installed).unwrap();
    let app = Backend::echo().await;
    let proxy = Proxy::new().under_wine(&installed).start().await;
    assert_eq!(proxy.get(&proxy.host(app.port()), "/").await.status, 200);
    let moved_before = relocated_in_temp();

    let started = Instant::now();
    let out = wine_at(
        &installed,
        &["self-update", "--yes"],
        &[("PORTPROXY_UPDATE_API_BASE", &github.url)],
    );
    let took = started.elapsed();
    assert_said(&out, 0, &format!("updated portproxy {current} -> {next}"));
    assert_eq!(version_and_target(&installed).0, next);
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(next_exe()).unwrap()
    );
    assert_eq!(
        github.downloads(),
        [
            format!("/dl/v{next}/sha256.sum"),
            format!("/dl/v{next}/{asset}")
        ]
    );
    // Nothing staged is left beside the .exe; the old one, which serve still runs, is in
    // %TEMP% under self_replace's name.
    assert_eq!(files_in(dir.path()), ["portproxy.exe"]);
    let moved: Vec<_> = relocated_in_temp()
        .into_iter()
        .filter(|p| !moved_before.contains(p))
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(std::fs::read(&moved[0]).unwrap(), before);
    // The running serve keeps serving from its moved file.
    assert_eq!(proxy.get(&proxy.host(app.port()), "/").await.status, 200);
    eprintln!(
        "self-update under wine: {current} -> {next} in {:.1} s, {asset} {} bytes; the running .exe moved to {}",
        took.as_secs_f64(),
        github.size(&format!("/dl/v{next}/{asset}")),
        moved[0].display()
    );
    drop(proxy);
    let _ = std::fs::remove_file(&moved[0]);
}

/// A mirror whose zip does not match `sha256.sum` changes nothing and says why.
#[test]
#[ignore = "the Windows build under wine: scripts/platform runs it"]
fn a_tampered_windows_zip_leaves_the_exe_untouched() {
    let (github, next, asset) = windows_releases();
    github.tamper(&format!("/dl/v{next}/{asset}"), |b| {
        let last = b.len() - 1;
        b[last] ^= 0xff;
    });
    let (dir, installed) = installed();
    let before = std::fs::read(&installed).unwrap();
    let out = wine_at(
        &installed,
        &["self-update", "--yes"],
        &[("PORTPROXY_UPDATE_API_BASE", &github.url)],
    );
    assert_said(
        &out,
        2,
        "error: the download failed verification: expected sha256 ",
    );
    assert_said(&out, 2, "help: nothing was replaced");
    assert_eq!(std::fs::read(&installed).unwrap(), before);
    assert_eq!(files_in(dir.path()), ["portproxy.exe"]);
    assert_eq!(version_and_target(&installed).0, env!("CARGO_PKG_VERSION"));
}

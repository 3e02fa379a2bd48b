//! Starting, refusing to start, logging and stopping.

use crate::harness::proxy::free_addr;
use crate::harness::{Backend, Proxy};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_settings_stop_before_anything_binds() {
    let listen = free_addr();
    let rows: Vec<(Proxy, &str)> = vec![
        (
            Proxy::new().arg("--listen").arg("nonsense"),
            "error: invalid value `nonsense` for `--listen`\nhelp: expected IP:PORT with a port from 1 to 65535, e.g. 127.0.0.1:24306\n",
        ),
        (
            Proxy::new().arg("--listen").arg(listen.to_string()).arg("--deny-port").arg("99999"),
            "error: invalid value `99999` for `--deny-port`\nhelp: expected a port (22), a range (2375-2376) or `none`\n",
        ),
        (
            Proxy::new().arg("--listen").arg(listen.to_string()).env("PORTPROXY_ADMIN", "10.0.0.1:80"),
            "error: invalid value `10.0.0.1:80` for `admin` (from PORTPROXY_ADMIN)\nhelp: expected IP:PORT on loopback with a port from 1 to 65535, e.g. 127.0.0.1:24307\n",
        ),
        (
            Proxy::new().arg("--listen").arg(listen.to_string()).domain("bad_domain"),
            "error: invalid value `bad_domain` for `--domain`\nhelp: expected a host name such as localhost or dev.example.com\n",
        ),
    ];
    for (cmd, want) in rows {
        let out = cmd.output();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(stderr(&out), want);
        // Nothing was bound.
        std::net::TcpListener::bind(listen).expect("the port was left free");
    }
}

#[test]
fn a_bad_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1\"\nallow_hosts = [\"10.0.0.0/99\"]\n",
    )
    .unwrap();
    let out = Proxy::new()
        .arg("--config")
        .arg(file.display().to_string())
        .output();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).lines().next().unwrap(),
        format!(
            "error: invalid value `10.0.0.0/99` for `allow_hosts` (from {})",
            file.display()
        )
    );
    std::fs::write(&file, "listen = [1,\n").unwrap();
    let out = Proxy::new()
        .arg("--config")
        .arg(file.display().to_string())
        .output();
    assert!(
        stderr(&out).starts_with(&format!(
            "error: config file {} is not valid",
            file.display()
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_taken_port_is_one_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let out = Proxy::new()
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--admin")
        .arg(free_addr().to_string())
        .output();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!("error: cannot listen on {addr} (`listen`)")),
        "{err}"
    );
    // The holder is this test binary: the help names it.
    assert!(
        err.contains("help: stop tests-") && err.contains(", or choose another with --listen"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn version_and_help() {
    let out = Proxy::command(&["--version"]).output();
    let version = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<_> = version.lines().collect();
    assert_eq!(lines[0], format!("portproxy {}", env!("CARGO_PKG_VERSION")));
    assert!(
        lines[1].starts_with(&format!("target {}-", std::env::consts::ARCH))
            && lines[1].contains(", commit "),
        "{version}"
    );
    let out = Proxy::command(&["serve", "--help"]).output();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--admin",
        "--domain",
        "--allow-host",
        "--deny-port",
        "--preserve-host",
        "--config",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_access_line_per_request_and_one_per_refusal() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    proxy.get(&proxy.host(app.port()), "/page?q=1").await;
    let line = format!(
        "GET {}/page?q=1 -> localhost:{} 200 ",
        proxy.host(app.port()),
        app.port()
    );
    assert!(
        proxy.log_contains(&line).await,
        "no access line {line:?}:\n{}",
        proxy.log()
    );
    proxy.get(&proxy.host(22), "/").await;
    assert!(
        proxy.log_contains("refused GET 22.localhost").await,
        "{}",
        proxy.log()
    );
    assert!(proxy.log().contains("port 22 is on the deny list"));
}

/// Stopping on SIGTERM and SIGINT (Windows has no signals to send).
#[cfg(unix)]
mod signals {
    use std::time::{Duration, Instant};

    use crate::harness::http::{request, Conn};
    use crate::harness::{Backend, Proxy};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sigterm_lets_in_flight_requests_finish() {
        let app = Backend::echo().await;
        let mut proxy = Proxy::new().start().await;
        let mut conn = Conn::open(proxy.addr).await;
        conn.send(request("GET", &proxy.host(app.port()), "/slow", &[]).as_bytes())
            .await;
        // In flight once the proxy has dialled the app: the app's accept is the signal.
        let deadline = Instant::now() + Duration::from_secs(5);
        while app.connections() == 0 {
            assert!(
                Instant::now() < deadline,
                "the request never reached the app"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let start = Instant::now();
        proxy.signal("TERM");
        let resp = conn.read_response().await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), "slow done\n");
        let status = proxy
            .wait_exit(Duration::from_secs(12))
            .await
            .expect("exited within the grace period");
        assert!(status.success(), "{status}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "took {:?} to stop with nothing in flight",
            start.elapsed()
        );
        assert!(
            tokio::net::TcpStream::connect(proxy.addr).await.is_err(),
            "still accepting"
        );
        // The one line a stop with a request in flight prints (and no `stopped` after it).
        let log = proxy.log();
        assert!(
            log.contains("\nstopping: waiting up to 10s for 1 request\n"),
            "{log}"
        );
        assert!(!log.contains("\nstopped\n"), "{log}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sigint_with_nothing_in_flight_exits_at_once() {
        let mut proxy = Proxy::new().start().await;
        let start = Instant::now();
        proxy.signal("INT");
        let status = proxy
            .wait_exit(Duration::from_secs(12))
            .await
            .expect("exited");
        assert!(status.success(), "{status}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "took {:?}",
            start.elapsed()
        );
    }
}

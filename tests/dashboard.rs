//! The dashboard: what it learns about each port, as a browser and a script see it.

use std::time::Duration;

use crate::harness::backend::PAGE_TITLE;
use crate::harness::{Backend, Proxy, Running};

const BROWSER: (&str, &str) = ("Accept", "text/html");

/// `/api/ports`' entry for `port`, if it is listed.
async fn entry(proxy: &Running, port: u16) -> Option<serde_json::Value> {
    let host = format!("localhost:{}", proxy.addr.port());
    let ports = proxy.get(&host, "/api/ports").await.json();
    ports["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == port)
        .cloned()
}

/// A page title comes from HTML the proxy passed on, gzipped too; JSON and HTML fragments do
/// not change it, and it is forgotten once the port stops listening.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titles_are_learnt_from_proxied_html() {
    let app = Backend::echo().await;
    let port = app.port();
    let proxy = Proxy::new().start().await;
    let listed = entry(&proxy, port).await.expect("the backend is listed");
    assert_eq!(listed.get("title"), None, "never probed: {listed}");

    let page = proxy.get(&proxy.host(port), "/page").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("<h1>app</h1>"),
        "the body passes whole"
    );
    assert_eq!(entry(&proxy, port).await.unwrap()["title"], PAGE_TITLE);
    let dashboard = proxy
        .get_with(&format!("localhost:{}", proxy.addr.port()), "/", &[BROWSER])
        .await
        .text();
    assert!(
        dashboard.contains("<td>Harness &amp; App</td>"),
        "{dashboard}"
    );

    // Neither JSON nor an HTML fragment (htmx, Turbo) is a page: the title stays.
    for path in ["/json", "/fragment"] {
        assert_eq!(proxy.get(&proxy.host(port), path).await.status, 200);
        assert_eq!(
            entry(&proxy, port).await.unwrap()["title"],
            PAGE_TITLE,
            "{path}"
        );
    }

    let zipped = proxy.get(&proxy.host(port), "/page.gz").await;
    assert_eq!(
        zipped.header("content-encoding"),
        Some("gzip"),
        "passed as sent"
    );
    assert_eq!(entry(&proxy, port).await.unwrap()["title"], "Zipped & App");

    // `portproxy ls` asks the running proxy.
    let out = proxy.command(&["ls", "--json"]);
    let ls: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ls --json");
    let row = ls["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == port)
        .cloned()
        .unwrap();
    assert_eq!(row["title"], "Zipped & App", "{ls}");

    drop(app);
    for _ in 0..100 {
        if entry(&proxy, port).await.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        entry(&proxy, port).await,
        None,
        "the stopped backend is gone"
    );
    let again = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let listed = entry(&proxy, port).await.expect("listening again");
    assert_eq!(
        listed.get("title"),
        None,
        "the old title is forgotten: {listed}"
    );
    drop(again);
}

/// Headless Chromium (Debian's `chromium`, or `PORTPROXY_TEST_CHROMIUM`): `args` then `url`,
/// with a profile of its own; stdout is what it printed (`--dump-dom`).
#[cfg(target_os = "linux")]
fn chromium(profile: &std::path::Path, args: &[&str], url: &str) -> String {
    use std::process::{Command, Stdio};
    use std::time::Instant;
    let browser =
        std::env::var("PORTPROXY_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&browser).exists(),
        "no Chromium at {browser}: install Debian's (`apt-get install chromium`) or set \
         PORTPROXY_TEST_CHROMIUM; the dashboard's screenshot test needs a real browser"
    );
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ])
        .args([
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1100,800",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{browser}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("{browser} {args:?} {url} did not finish in 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{browser} {args:?} {url}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PNG of the window's size with more in it than an empty page (about 3.6 KB here).
#[cfg(target_os = "linux")]
fn assert_screenshot(path: &std::path::Path) {
    let png = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &png[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    let dimension = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!(
        (dimension(16), dimension(20)),
        (1100, 800),
        "the window's size"
    );
    assert!(
        png.len() > 12_000,
        "{} looks empty: {} bytes",
        path.display(),
        png.len()
    );
}

/// The dashboard and the 502 page as a real browser renders them: a real dev server (Python's
/// http.server, in its own process, in a project whose `package.json` names it) opened
/// through the proxy by its name, then the dashboard linking it by name first and showing
/// its port, process and page title, and a closed port's self-retrying page. The screenshots
/// stay in `target/tmp/` (`dashboard.png`, `502.png`) to be looked at.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_dashboard_and_the_502_page() {
    use crate::harness::closed_port;
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(
        site.join("index.html"),
        "<!doctype html><title>Shop &amp; Admin</title><h1 id=app>the shop</h1>",
    )
    .unwrap();
    let port = crate::harness::proxy::free_addr().port();
    // Named after its port: no other test run on this machine holds the same name now.
    let name = format!("shop-web-{port}");
    std::fs::write(
        site.join("package.json"),
        format!("{{\"name\": \"@acme/{name}\", \"private\": true}}"),
    )
    .unwrap();
    let _server = Killed(
        std::process::Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .current_dir(&site)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3"),
    );
    let proxy = Proxy::new().start().await;
    for _ in 0..250 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let profile = dir.path().join("profile");
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let app = format!("http://{name}.localhost:{}/", proxy.addr.port());
    let dom = chromium(&profile, &["--dump-dom"], &app);
    assert!(dom.contains("<h1 id=\"app\">the shop</h1>"), "{dom}");
    let number = format!("http://{}/", proxy.host(port));

    let dashboard = format!("http://localhost:{}/", proxy.addr.port());
    let dom = chromium(&profile, &["--dump-dom"], &dashboard);
    let row = dom
        .lines()
        .find(|l| l.contains(&format!("<td>{port}</td>")))
        .unwrap_or_else(|| panic!("port {port} is not on the dashboard: {dom}"));
    assert!(row.starts_with(&format!("<tr><td>{name}</td>")), "{row}");
    for shown in ["python3", "Shop &amp; Admin", "http.server"] {
        assert!(row.contains(shown), "{shown} is not in {row}");
    }
    let by_name = row
        .find(&format!("href=\"{app}\""))
        .expect("a link by name");
    let by_number = row
        .find(&format!("href=\"{number}\""))
        .expect("and by number");
    assert!(by_name < by_number, "the name first: {row}");
    let shot = shots.join("dashboard.png");
    chromium(
        &profile,
        &[&format!("--screenshot={}", shot.display())],
        &dashboard,
    );
    assert_screenshot(&shot);

    let closed = closed_port();
    let missing = format!("http://{}/", proxy.host(closed));
    let dom = chromium(&profile, &["--dump-dom"], &missing);
    assert!(
        dom.contains(&format!("Nothing is listening on localhost:{closed} yet")),
        "{dom}"
    );
    assert!(
        dom.contains(&format!("<td>{port}</td>")),
        "lists what listens: {dom}"
    );
    let shot = shots.join("502.png");
    chromium(
        &profile,
        &[&format!("--screenshot={}", shot.display())],
        &missing,
    );
    assert_screenshot(&shot);
}

/// A child process killed when the test ends, passed or not.
#[cfg(target_os = "linux")]
struct Killed(std::process::Child);

#[cfg(target_os = "linux")]
impl Drop for Killed {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

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
fn assert_screenshot(path: &std::path::Path, size: (u32, u32)) {
    let png = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &png[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    let dimension = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((dimension(16), dimension(20)), size, "the window's size");
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
    let (_server, port) = python_site(
        dir.path(),
        "<!doctype html><title>Shop &amp; Admin</title><h1 id=app>the shop</h1>",
    )
    .await;
    // Named after its port: no other test run on this machine holds the same name now. Written
    // before portproxy starts, so its first look at the ports finds the project's name.
    let name = format!("shop-web-{port}");
    std::fs::write(
        dir.path().join("site/package.json"),
        format!("{{\"name\": \"@acme/{name}\", \"private\": true}}"),
    )
    .unwrap();
    let proxy = Proxy::new().start().await;
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
    assert_screenshot(&shot, (1100, 800));

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
    assert_screenshot(&shot, (1100, 800));
}

/// The dashboard as its user acts from it, in Chromium driven over DevTools: the Share button
/// reached by keyboard, a link made with an expiry, shown with its QR code, the row turning
/// "shared" without a reload, the link opening the app, Revoke, and the link then 410; at
/// 1280 and 390 px (no column cut off on the phone). Screenshots stay in target/tmp.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shares_a_port_from_the_dashboard_and_revokes_it() {
    use crate::harness::browser::Browser;
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = python_site(
        dir.path(),
        "<!doctype html><title>Shop &amp; Admin</title><h1 id=app>the shop</h1>",
    )
    .await;
    let proxy = Proxy::new().start().await;
    let dashboard = format!("http://localhost:{}/", proxy.addr.port());
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let mut browser = Browser::start(1280, 800).await;
    browser.goto(&dashboard).await;
    let button = format!("share-{port}");
    let row = format!("document.getElementById('{button}').closest('tr')");
    browser
        .wait_for(
            &format!("!!document.getElementById('{button}')"),
            "the Share button",
        )
        .await;
    assert_eq!(
        browser
            .eval(&format!("{row}.querySelector('.who').textContent"))
            .await,
        "private"
    );

    // Keyboard only: Tab to the row's Share button, Enter opens the dialog.
    let mut presses = 0;
    while browser.eval("document.activeElement.id").await != button.as_str() {
        browser.press("Tab").await;
        presses += 1;
        assert!(presses < 60, "Tab never reached #{button}");
    }
    browser.press("Enter").await;
    browser
        .wait_for("document.getElementById('share').open", "the Share dialog")
        .await;
    // A mark that a reload would wipe: the rows must change in place.
    browser.eval("window.stayed = true").await;
    browser
        .eval(
            "const f = document.getElementById('share-form'); \
             f.elements.reach.value = 'loopback'; f.elements['for'].value = '900'; \
             document.getElementById('share-create').click()",
        )
        .await;
    let link = browser
        .wait_for(
            "document.querySelector('#share-list input.link')?.value",
            "the new link",
        )
        .await;
    let link = link.as_str().unwrap().to_string();
    assert!(
        link.starts_with("http://127.0.0.1:") && link.contains("/?portproxy-share="),
        "{link}"
    );
    let item = browser
        .eval("document.querySelector('#share-list .link-item').innerText")
        .await;
    assert!(
        item.as_str()
            .unwrap()
            .contains("this machine, with the link")
            && item.as_str().unwrap().contains("14m left"),
        "{item}"
    );
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#share-list .qr svg path').length > 0")
            .await,
        true,
        "a QR code is drawn"
    );
    browser
        .wait_for(
            &format!("{row}.querySelector('.who').textContent === 'shared'"),
            "the row to say shared",
        )
        .await;
    assert_eq!(browser.eval("window.stayed").await, true, "no reload");
    let wide = shots.join("dashboard-share-1280.png");
    browser.screenshot(&wide).await;
    assert_screenshot(&wide, (1280, 800));

    // The link opens the app (the secret traded for a cookie, then gone from the address bar).
    let listed = proxy
        .get(&format!("localhost:{}", proxy.addr.port()), "/api/ports")
        .await;
    let entry = listed.json()["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == port)
        .cloned()
        .unwrap();
    assert_eq!(entry["visibility"], "shared");
    browser.goto(&link).await;
    browser
        .wait_for(
            "document.getElementById('app')?.textContent === 'the shop'",
            "the app",
        )
        .await;
    assert!(!browser
        .eval("location.href")
        .await
        .as_str()
        .unwrap()
        .contains("portproxy-share"));
    let origin = link.split("/?").next().unwrap().to_string();

    // Back on the dashboard, Revoke ends it: the row is private again, the link 410.
    browser.goto(&dashboard).await;
    browser
        .eval(&format!("document.getElementById('{button}').click()"))
        .await;
    browser
        .wait_for(
            "document.querySelector('#share-list button.revoke')",
            "the live link",
        )
        .await;
    browser
        .eval("document.querySelector('#share-list button.revoke').click()")
        .await;
    browser
        .wait_for(
            "document.querySelector('#share-list') && !document.querySelector('#share-list .link-item')",
            "the link to go",
        )
        .await;
    browser
        .wait_for(
            &format!("{row}.querySelector('.who').textContent === 'private'"),
            "the row to say private",
        )
        .await;
    browser.press("Escape").await;
    browser
        .wait_for(
            "!document.getElementById('share').open",
            "the dialog to close",
        )
        .await;
    assert_eq!(
        browser.eval("document.activeElement.id").await,
        button.as_str(),
        "focus returns to the Share button"
    );
    browser.goto(&format!("{origin}/")).await;
    let gone = browser.eval("document.body.innerText").await;
    assert!(
        gone.as_str().unwrap().contains("This link was revoked"),
        "{gone}"
    );
    let addr: std::net::SocketAddr = origin.trim_start_matches("http://").parse().unwrap();
    let path = link.trim_start_matches(&origin).to_string();
    let after = crate::harness::http::get(addr, &addr.to_string(), &path, &[]).await;
    assert_eq!(after.status, 410, "{}", after.text());

    // A phone's width: every column stacked inside the screen, the buttons in reach.
    browser.size(390, 844).await;
    browser.goto(&dashboard).await;
    browser
        .wait_for(
            &format!("!!document.getElementById('{button}')"),
            "the Share button",
        )
        .await;
    let fits = browser
        .eval(
            "document.documentElement.scrollWidth <= 390 && \
             [...document.querySelectorAll('#ports td, #ports button')] \
               .every(e => e.getBoundingClientRect().right <= 390)",
        )
        .await;
    assert_eq!(fits, true, "something is cut off at 390 px");
    let narrow = shots.join("dashboard-390.png");
    browser.screenshot(&narrow).await;
    assert_screenshot(&narrow, (390, 844));
}

/// A real dev server: Python's http.server, in its own process, serving `index` from a
/// folder under `dir`; listening when this returns.
#[cfg(target_os = "linux")]
async fn python_site(dir: &std::path::Path, index: &str) -> (Killed, u16) {
    let site = dir.join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("index.html"), index).unwrap();
    let port = crate::harness::proxy::free_addr().port();
    let server = Killed(
        std::process::Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .current_dir(&site)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3"),
    );
    for _ in 0..250 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (server, port)
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

/// A request to the dashboard's `/api/shares` with these headers and JSON body.
async fn shares_api(
    proxy: &Running,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> crate::harness::http::Response {
    let length = body.map(|b| b.len().to_string());
    let mut extra = headers.to_vec();
    if let Some(length) = &length {
        extra.push(("Content-Type", "application/json"));
        extra.push(("Content-Length", length));
    }
    let mut raw = crate::harness::http::request(method, host, path, &extra);
    raw.push_str(body.unwrap_or(""));
    let mut conn = crate::harness::http::Conn::open(proxy.addr).await;
    conn.send(raw.as_bytes()).await;
    tokio::time::timeout(Duration::from_secs(30), conn.read_response())
        .await
        .expect("an answer within 30 s")
}

/// The token the dashboard page carries for its share actions, if it carries one.
fn page_token(page: &str) -> Option<String> {
    let at = page.find("data-token=\"")? + "data-token=\"".len();
    Some(page[at..].split('"').next()?.to_string())
}

/// Only the dashboard's own page on this machine lists, makes and ends shares: another
/// port's page (a sibling origin), a request without `Origin` or without the page's token,
/// and a signed-in session from elsewhere get 403 and open nothing; bad input gets one clear
/// error; a good request makes a share that the same registry as `portproxy share` knows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_dashboard_page_on_this_machine_makes_shares() {
    let app = Backend::echo().await;
    let port = app.port();
    let proxy = Proxy::new().start().await;
    let host = format!("localhost:{}", proxy.addr.port());
    let own = format!("http://{host}");
    let page = proxy.get_with(&host, "/", &[BROWSER]).await.text();
    let token = page_token(&page).expect("this machine's page carries a token");
    assert!(page.contains(&format!("id=\"share-{port}\"")), "{page}");
    let body = format!(r#"{{"port":{port},"for_secs":600,"lan":false,"via":null}}"#);
    let good = [
        ("Origin", own.as_str()),
        ("Sec-Fetch-Site", "same-origin"),
        ("X-Portproxy-Dashboard", token.as_str()),
    ];
    let sibling = format!("http://{}", proxy.host(port));
    type Headers<'a> = Vec<(&'a str, &'a str)>;
    let refused: [(&str, Headers, &str); 5] = [
        ("no token", good[..2].to_vec(), "no_token"),
        (
            "a wrong token",
            vec![good[0], ("X-Portproxy-Dashboard", "0000")],
            "no_token",
        ),
        ("no Origin", good[1..].to_vec(), "cross_origin"),
        (
            "another port's page",
            vec![("Origin", sibling.as_str()), good[2]],
            "cross_origin",
        ),
        (
            "a same-site page",
            vec![good[0], ("Sec-Fetch-Site", "same-site"), good[2]],
            "cross_origin",
        ),
    ];
    for (why, headers, error) in &refused {
        let resp = shares_api(&proxy, &host, "POST", "/api/shares", headers, Some(&body)).await;
        assert_eq!(resp.status, 403, "{why}: {}", resp.text());
        assert_eq!(resp.json()["error"], *error, "{why}");
    }
    let list = shares_api(&proxy, &host, "GET", "/api/shares", &good, None).await;
    assert_eq!(
        list.json()["shares"],
        serde_json::json!([]),
        "nothing opened"
    );
    let sneaky = shares_api(&proxy, &host, "GET", "/api/shares", &refused[3].1, None).await;
    assert_eq!(
        sneaky.status, 403,
        "another page can't read the links either"
    );

    let bad: [(&str, &str, String, u16, &str); 7] = [
        (
            "GET",
            "/api/shares?port=x",
            String::new(),
            400,
            "takes a port",
        ),
        (
            "POST",
            "/api/shares",
            "nonsense".into(),
            400,
            "bad request body",
        ),
        (
            "POST",
            "/api/shares",
            body.replace("600", "0"),
            400,
            "a share lasts from 1 second to 30d",
        ),
        (
            "POST",
            "/api/shares",
            body.replace(&port.to_string(), "22"),
            403,
            "this port can't be shared: port 22 is on the deny list",
        ),
        (
            "DELETE",
            "/api/shares?id=nope",
            String::new(),
            404,
            "no share nope",
        ),
        ("DELETE", "/api/shares", String::new(), 400, "which share?"),
        (
            "PUT",
            "/api/shares",
            String::new(),
            405,
            "use GET, POST or DELETE",
        ),
    ];
    for (method, path, body, status, message) in &bad {
        let body = (!body.is_empty()).then_some(body.as_str());
        let resp = shares_api(&proxy, &host, method, path, &good, body).await;
        assert_eq!(
            resp.status,
            *status,
            "{method} {path} {body:?}: {}",
            resp.text()
        );
        let said = resp.json()["message"].as_str().unwrap().to_string();
        assert!(said.contains(message), "{method} {path}: {said}");
    }

    let made = shares_api(&proxy, &host, "POST", "/api/shares", &good, Some(&body)).await;
    assert_eq!(made.status, 201, "{}", made.text());
    let share = made.json()["share"].clone();
    let link = share["links"][0].as_str().unwrap().to_string();
    assert!(share["qr"].as_str().unwrap().starts_with("<svg"), "{share}");
    let listed = shares_api(
        &proxy,
        &host,
        "GET",
        &format!("/api/shares?port={port}"),
        &good,
        None,
    )
    .await
    .json();
    assert_eq!(listed["shares"][0]["id"], share["id"]);
    assert_eq!(entry(&proxy, port).await.unwrap()["visibility"], "shared");
    let cli = proxy.command(&["share", "--list"]);
    assert!(
        String::from_utf8_lossy(&cli.stdout).contains(share["id"].as_str().unwrap()),
        "`share --list` knows it: {cli:?}"
    );
    let id = share["id"].as_str().unwrap();
    let revoked = shares_api(
        &proxy,
        &host,
        "DELETE",
        &format!("/api/shares?id={id}"),
        &good,
        None,
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    assert_eq!(revoked.json()["ended"][0]["id"], id);
    let (origin, path) = link.trim_start_matches("http://").split_once('/').unwrap();
    let addr: std::net::SocketAddr = origin.parse().unwrap();
    let gone = crate::harness::http::get(addr, origin, &format!("/{path}"), &[]).await;
    assert_eq!(gone.status, 410, "{}", gone.text());
    assert_eq!(entry(&proxy, port).await.unwrap()["visibility"], "private");
}

/// Visibility at runtime from the dashboard (issue 21 §2): with a public domain, the share
/// dialog offers "public"; one request makes this machine's port public for a while (a
/// visitor from elsewhere then opens it on the public domain without signing in, and the
/// row shows the public URL), and "Make private" ends it. Without a public domain the dialog
/// doesn't offer it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_makes_a_port_public_for_a_while_and_private_again() {
    let app = Backend::echo().await;
    let port = app.port();
    let proxy = crate::auth::public(&[]).await;
    let host = format!("localhost:{}", proxy.addr.port());
    let own = format!("http://{host}");
    let page = proxy.get_with(&host, "/", &[BROWSER]).await.text();
    assert!(
        page.contains(
            "<option value=\"public\">Anyone, on dev.example.com without signing in</option>"
        ),
        "{page}"
    );
    let token = page_token(&page).expect("a token");
    let good = [
        ("Origin", own.as_str()),
        ("Sec-Fetch-Site", "same-origin"),
        ("X-Portproxy-Dashboard", token.as_str()),
    ];
    let public_host = format!("{port}.dev.example.com");
    let stranger = [("X-Forwarded-For", "203.0.113.9")];
    let before = proxy.get_with(&public_host, "/", &stranger).await;
    assert_eq!(before.status, 401, "private first: {}", before.text());

    let body = format!(r#"{{"port":{port},"for_secs":600,"lan":false,"via":null,"public":true}}"#);
    let made = shares_api(&proxy, &host, "POST", "/api/shares", &good, Some(&body)).await;
    assert_eq!(made.status, 200, "{}", made.text());
    assert_eq!(made.json()["public_for"], 600);
    let row = entry(&proxy, port).await.unwrap();
    assert_eq!(row["visibility"], "public", "{row}");
    let public_url = format!("http://{public_host}:{}/", proxy.addr.port());
    assert_eq!(row["public_url"], public_url.as_str(), "{row}");
    let page = proxy.get_with(&host, "/", &[BROWSER]).await.text();
    assert!(
        page.contains(&format!("<a href=\"{public_url}\"")),
        "{page}"
    );
    let open = proxy.get_with(&public_host, "/", &stranger).await;
    assert_eq!(open.status, 200, "public now: {}", open.text());
    let listed = shares_api(
        &proxy,
        &host,
        "GET",
        &format!("/api/shares?port={port}"),
        &good,
        None,
    )
    .await
    .json();
    let left = listed["public_for"].as_u64().expect("public_for");
    assert!((590..=600).contains(&left), "{listed}");

    let private = shares_api(
        &proxy,
        &host,
        "DELETE",
        &format!("/api/shares?port={port}"),
        &good,
        None,
    )
    .await;
    assert_eq!(private.status, 200, "{}", private.text());
    assert_eq!(entry(&proxy, port).await.unwrap()["visibility"], "private");
    let after = proxy.get_with(&public_host, "/", &stranger).await;
    assert_eq!(after.status, 401, "private again: {}", after.text());

    let denied = body.replace(&format!("\"port\":{port}"), "\"port\":22");
    let refused = shares_api(&proxy, &host, "POST", "/api/shares", &good, Some(&denied)).await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(refused.json()["error"], "not_public");

    let local_only = Proxy::new().start().await;
    let page = local_only
        .get_with(
            &format!("localhost:{}", local_only.addr.port()),
            "/",
            &[BROWSER],
        )
        .await
        .text();
    assert!(page.contains("id=\"share-form\""), "{page}");
    assert!(
        !page.contains("value=\"public\""),
        "no public domain, no offer: {page}"
    );
}

/// The same in Chromium, two clicks each way: Share… → "Anyone, on dev.example.com" →
/// Create makes the port public (the row says so and links the public URL), Make private
/// ends it.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_makes_a_port_public_from_the_dashboard() {
    use crate::harness::browser::Browser;
    let app = Backend::echo().await;
    let port = app.port();
    let proxy = crate::auth::public(&[]).await;
    let dashboard = format!("http://localhost:{}/", proxy.addr.port());
    let mut browser = Browser::start(1280, 800).await;
    browser.goto(&dashboard).await;
    let button = format!("share-{port}");
    let who = format!("document.getElementById('{button}')?.closest('tr').querySelector('.who')");
    browser
        .wait_for(
            &format!("{who}?.textContent === 'private'"),
            "a private row",
        )
        .await;
    browser
        .eval(&format!("document.getElementById('{button}').click()"))
        .await;
    browser
        .wait_for("document.getElementById('share').open", "the Share dialog")
        .await;
    browser
        .eval(
            "const f = document.getElementById('share-form'); \
             f.elements.reach.value = 'public'; f.elements['for'].value = '3600'; \
             document.getElementById('share-create').click()",
        )
        .await;
    browser
        .wait_for(
            "document.querySelector('#share-list button.private-again')",
            "the public state in the dialog",
        )
        .await;
    let public_url = format!("http://{port}.dev.example.com:{}/", proxy.addr.port());
    browser
        .wait_for(
            &format!("{who}.textContent === 'public {public_url}'"),
            "the row to say public, with the public URL",
        )
        .await;
    let stranger = [("X-Forwarded-For", "203.0.113.9")];
    let host = format!("{port}.dev.example.com");
    assert_eq!(proxy.get_with(&host, "/", &stranger).await.status, 200);

    browser
        .eval("document.querySelector('#share-list button.private-again').click()")
        .await;
    browser
        .wait_for(&format!("{who}.textContent === 'private'"), "private again")
        .await;
    assert_eq!(proxy.get_with(&host, "/", &stranger).await.status, 401);
}

/// A signed-in session from elsewhere sees the dashboard and each port's visibility, but no
/// Share button, no token, and `/api/shares` answers it 403: a share would outlive its session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_session_sees_visibility_but_makes_no_shares() {
    use crate::auth::{public, TOKEN};
    let app = Backend::echo().await;
    let port = app.port();
    let proxy = public(&[]).await;
    let bearer = format!("Bearer {TOKEN}");
    let remote = [
        ("X-Forwarded-For", "203.0.113.9"),
        ("Authorization", bearer.as_str()),
    ];
    let page = proxy
        .get_with("dev.example.com", "/", &[remote[0], remote[1], BROWSER])
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let page = page.text();
    assert!(page.contains(&format!("<td>{port}</td>")), "{page}");
    assert!(page.contains("<span class=\"private\">private</span>"));
    assert!(page.contains("Copy URL"));
    assert_eq!(page_token(&page), None, "{page}");
    assert!(!page.contains("id=\"share-"), "no Share buttons");
    let body = format!(r#"{{"port":{port},"for_secs":600,"lan":false,"via":null}}"#);
    let headers = [
        remote[0],
        remote[1],
        ("Origin", "http://dev.example.com"),
        ("X-Portproxy-Dashboard", "guess"),
    ];
    let resp = shares_api(
        &proxy,
        "dev.example.com",
        "POST",
        "/api/shares",
        &headers,
        Some(&body),
    )
    .await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    assert_eq!(resp.json()["error"], "not_this_machine");
    assert!(resp.json()["message"]
        .as_str()
        .unwrap()
        .contains("portproxy share PORT"));

    // The same page on this machine (signed in) may act.
    let local = proxy
        .get_with("dev.example.com", "/", &[remote[1], BROWSER])
        .await
        .text();
    assert!(page_token(&local).is_some(), "{local}");
}

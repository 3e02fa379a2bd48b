//! Names, not numbers (issue 19): real dev servers (Python's http.server) in real project
//! directories, reached by the name of their project.
//!
//! Each test's project names carry a per-test suffix: the machine's ports are shared with
//! every other test run, and two projects of one name would (rightly) clash.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::auth::TOKEN;
use crate::harness::proxy::free_addr;
use crate::harness::{Proxy, Running};

/// A dev server: answers every GET with JSON of what it saw (its directory, the path, the
/// Host, Cookie and Authorization headers), and `/go` with a redirect to its own `http://localhost:PORT/`.
const SERVER: &str = r#"
import http.server, json, os, sys
port = int(sys.argv[1])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/go":
            self.send_response(302)
            self.send_header("Location", "http://localhost:%d/landed" % port)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        seen = {"cwd": os.getcwd(), "path": self.path}
        for header in ("host", "cookie", "authorization"):
            seen[header] = self.headers.get(header)
        body = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"#;

/// A running dev server; killed on drop.
pub(crate) struct DevServer {
    child: Child,
    pub(crate) port: u16,
}

impl DevServer {
    /// Starts the server in `dir` on a free port and waits until it accepts.
    pub(crate) async fn start(dir: &Path) -> DevServer {
        let port = free_addr().port();
        let child = Command::new("python3")
            .arg("-c")
            .arg(SERVER)
            .arg(port.to_string())
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3");
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "the dev server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        DevServer { child, port }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A unique suffix for this test's project names.
pub(crate) fn unique() -> String {
    format!("{}{}", std::process::id(), free_addr().port())
}

/// A project directory whose `package.json` says `name`.
pub(crate) fn project(root: &Path, dir: &str, name: &str) -> PathBuf {
    let path = root.join(dir);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(
        path.join("package.json"),
        format!("{{\"name\": \"{name}\", \"private\": true}}"),
    )
    .unwrap();
    path
}

fn host(proxy: &Running, name: &str) -> String {
    format!("{name}.localhost:{}", proxy.addr.port())
}

/// GETs until the answer has `status` (a name is found within a second of its server).
async fn wait_for(proxy: &Running, host: &str, status: u16) -> crate::harness::http::Response {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let resp = proxy.get(host, "/").await;
        if resp.status == status || Instant::now() > deadline {
            return resp;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// The issue's "done when": a dev server started in a project directory is served at its
/// name with nothing configured, follows the server to a new port, says "not running" while
/// it is down (and reloads), and the name is remembered across a restart of portproxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_is_served_by_its_name_across_restarts_and_port_changes() {
    let root = tempfile::tempdir().unwrap();
    let name = format!("shop-web-{}", unique());
    let dir = project(root.path(), "shop-web", &format!("@acme/{name}"));
    let data = root.path().join("data");
    let proxy = Proxy::new()
        .env("XDG_DATA_HOME", data.display().to_string())
        .start()
        .await;
    let named = host(&proxy, &name);

    let first = DevServer::start(&dir).await;
    let resp = proxy.get(&named, "/x?y=1").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = resp.json();
    assert_eq!(seen["cwd"], dir.display().to_string());
    // Served exactly like the number: the app sees its own local identity.
    assert_eq!(seen["host"], format!("localhost:{}", first.port));
    assert_eq!(seen["path"], "/x?y=1");
    // Its redirects point back at the name.
    let go = proxy.get(&named, "/go").await;
    assert_eq!(go.status, 302);
    assert_eq!(
        go.header("location"),
        Some(format!("http://{named}/landed").as_str())
    );
    // The dashboard and /api/ports show the name.
    let api = proxy
        .get(&format!("localhost:{}", proxy.addr.port()), "/api/ports")
        .await
        .json();
    let row = api["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == first.port)
        .cloned()
        .unwrap_or_else(|| panic!("{api}"));
    assert_eq!(row["name"], name.as_str());
    assert_eq!(row["name_url"], format!("http://{named}/"));
    // `portproxy url NAME` asks the running portproxy (it announces itself in the data dir).
    let data_home = [("XDG_DATA_HOME", data.to_str().unwrap())];
    let url = proxy.command_with(&["url", &name], &data_home);
    assert_eq!(
        String::from_utf8_lossy(&url.stdout),
        format!("http://{named}/\n"),
        "{url:?}"
    );
    let unknown = proxy.command_with(&["url", "never-seen-here"], &data_home);
    assert!(!unknown.status.success(), "{unknown:?}");
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("no listening port is called `never-seen-here`"),
        "{unknown:?}"
    );

    // Stopped: the "not running" page, naming the port it had, reloading itself.
    let old_port = first.port;
    drop(first);
    let down = wait_for(&proxy, &named, 502).await;
    assert_eq!(down.status, 502, "{}", down.text());
    let page = proxy
        .get_with(&named, "/", &[("Accept", "text/html")])
        .await;
    let html = page.text();
    assert!(html.contains(&format!("{name} is not running")), "{html}");
    assert!(html.contains(&format!("port {old_port}")), "{html}");
    assert!(html.contains(&dir.display().to_string()), "{html}");
    assert!(html.contains("setInterval"), "it reloads itself: {html}");

    // Back on another port: the same URL serves it, at once.
    let second = DevServer::start(&dir).await;
    assert_ne!(second.port, old_port);
    let resp = proxy.get(&named, "/").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["host"], format!("localhost:{}", second.port));

    // A new portproxy on the same data dir remembers the name while nothing runs.
    let port = second.port;
    drop(second);
    drop(proxy);
    let proxy = Proxy::new()
        .env("XDG_DATA_HOME", data.display().to_string())
        .start()
        .await;
    let text = proxy.get(&host(&proxy, &name), "/").await;
    assert_eq!(text.status, 502, "{}", text.text());
    assert!(
        text.text().contains(&format!("it was on port {port}")),
        "{}",
        text.text()
    );
    // A name never seen says so (and reloads too).
    let unknown = proxy.get(&host(&proxy, "never-seen-here"), "/").await;
    assert_eq!(unknown.status, 502);
    assert!(
        unknown
            .text()
            .contains("No listening port is called never-seen-here"),
        "{}",
        unknown.text()
    );
    // Numbers are as they were.
    assert_eq!(proxy.get(&proxy.host(port), "/").await.status, 502);
}

/// A git checkout of `@acme/shop-web-…` in `ROOT/shop-web`, and a linked worktree of it on
/// `feature/login` in `ROOT/shop-login`: the project's name and both directories.
pub(crate) fn shop_with_a_worktree(root: &Path) -> (String, PathBuf, PathBuf) {
    let name = format!("shop-web-{}", unique());
    let main = project(root, "shop-web", &format!("@acme/{name}"));
    git(&main, &["init", "-q", "-b", "main"]);
    git(&main, &["add", "package.json"]);
    git(&main, &["commit", "-q", "-m", "start"]);
    git(
        &main,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "feature/login",
            "../shop-login",
        ],
    );
    (name, main, root.join("shop-login"))
}

/// A linked git worktree on `feature/login` is `feature-login.NAME`, beside the main
/// checkout's `NAME`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_worktree_is_named_by_its_branch() {
    let root = tempfile::tempdir().unwrap();
    let (name, main, linked) = shop_with_a_worktree(root.path());
    let proxy = Proxy::new().start().await;
    let on_main = DevServer::start(&main).await;
    let on_branch = DevServer::start(&linked).await;

    let resp = proxy.get(&host(&proxy, &name), "/").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["host"], format!("localhost:{}", on_main.port));
    let branch = format!("feature-login.{name}");
    let resp = proxy.get(&host(&proxy, &branch), "/").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["host"], format!("localhost:{}", on_branch.port));
    assert_eq!(resp.json()["cwd"], linked.display().to_string());
}

/// Two projects of one name: a page listing both (directory, port, link by number), never
/// a silent pick; the dashboard marks the clash. A label gives a port its own name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clash_lists_both_and_a_label_names_a_port() {
    let root = tempfile::tempdir().unwrap();
    let name = format!("api-{}", unique());
    let one = project(root.path(), "one/api", &name);
    let two = project(root.path(), "two/api", &name);
    let docs_dir = project(root.path(), "docs", &format!("docs-site-{}", unique()));
    let (a, b) = (DevServer::start(&one).await, DevServer::start(&two).await);
    let docs = DevServer::start(&docs_dir).await;
    let label = format!("docs-{}", unique());
    let proxy = Proxy::new()
        .arg("--label")
        .arg(format!("{}={label}", docs.port))
        .start()
        .await;

    let clash = proxy
        .get_with(&host(&proxy, &name), "/", &[("Accept", "text/html")])
        .await;
    assert_eq!(clash.status, 300, "{}", clash.text());
    let html = clash.text();
    for (server, dir) in [(&a, &one), (&b, &two)] {
        assert!(html.contains(&dir.display().to_string()), "{html}");
        let url = format!("http://{}.localhost:{}/", server.port, proxy.addr.port());
        assert!(html.contains(&format!("<a href=\"{url}\">")), "{html}");
    }
    let json = proxy
        .get_with(&host(&proxy, &name), "/", &[("Accept", "application/json")])
        .await
        .json();
    assert_eq!(json["error"], "name_clash");
    assert_eq!(json["claims"].as_array().map(Vec::len), Some(2), "{json}");
    let api = proxy
        .get(&format!("localhost:{}", proxy.addr.port()), "/api/ports")
        .await
        .json();
    let rows = api["ports"].as_array().unwrap();
    for port in [a.port, b.port] {
        let row = rows.iter().find(|p| p["port"] == port).unwrap();
        assert_eq!(row["name"], name.as_str());
        assert_eq!(row["clash"], true);
    }

    // The label wins over the project's own name.
    let resp = proxy.get(&host(&proxy, &label), "/").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["host"], format!("localhost:{}", docs.port));
}

/// A Jupyter kernel's stand-in: listens on `argv[1]`, hangs up on every connection (as a
/// ZMQ socket does to an HTTP request), and ends with the server that started it.
const KERNEL: &str = r#"
import os, socket, sys
parent = os.getppid()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
s.settimeout(0.2)
while os.getppid() == parent:
    try:
        s.accept()[0].close()
    except socket.timeout:
        pass
"#;

/// Found by the compatibility suite (JupyterLab by name: 502): a server that starts a child
/// listening on a lower port that speaks no HTTP (a Jupyter kernel's ZMQ sockets) keeps the
/// project's name; the child's port is reachable by its number only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_keeps_its_name_when_a_child_it_started_listens_lower() {
    let root = tempfile::tempdir().unwrap();
    let name = format!("notes-{}", unique());
    let dir = project(root.path(), "notes", &name);
    let mut pair = [free_addr().port(), free_addr().port()];
    pair.sort();
    let [kernel, server] = pair;
    let starter = format!(
        "import os, subprocess, sys\n\
         subprocess.Popen([sys.executable, '-c', os.environ['KERNEL'], '{kernel}'])\n\
         sys.argv = ['server', '{server}']\n{SERVER}"
    );
    let mut lab = Command::new("python3")
        .arg("-c")
        .arg(starter)
        .env("KERNEL", KERNEL)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("python3");
    let deadline = Instant::now() + Duration::from_secs(10);
    for port in [kernel, server] {
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "port {port} did not listen");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let proxy = Proxy::new().start().await;

    let resp = wait_for(&proxy, &host(&proxy, &name), 200).await;
    let _ = lab.kill();
    let _ = lab.wait();
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["host"], format!("localhost:{server}"));
}

/// On a public domain a name needs sign-in exactly like its number (the same 401, the same
/// login redirect back to the name, the same session, no credential reaching the app), a
/// public port's name is public like its number, and `/caddy/ask` approves a name only while
/// it exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_on_a_public_domain_needs_sign_in_like_its_number() {
    use crate::auth::{login, session_from, BROWSER};
    let root = tempfile::tempdir().unwrap();
    let name = format!("shop-web-{}", unique());
    let dir = project(root.path(), "shop-web", &name);
    let server = DevServer::start(&dir).await;
    let proxy = crate::auth::public(&[]).await;
    let remote = ("X-Forwarded-For", "203.0.113.9");
    let bearer = format!("Bearer {TOKEN}");
    let named = format!("{name}.dev.example.com");
    let number = format!("{}.dev.example.com", server.port);
    for host in [&named, &number] {
        let anonymous = proxy.get_with(host, "/", &[remote]).await;
        assert_eq!(anonymous.status, 401, "{host}: {}", anonymous.text());
        assert_eq!(
            anonymous.header("www-authenticate"),
            Some("Bearer realm=\"portproxy\"")
        );
        let browser = proxy.get_with(host, "/app?x=1", &[remote, BROWSER]).await;
        assert_eq!(browser.status, 302, "{host}: {}", browser.text());
        let next = format!("http%3A%2F%2F{host}%2Fapp%3Fx%3D1");
        assert_eq!(
            browser.header("location"),
            Some(format!("http://dev.example.com/login?next={next}").as_str()),
            "{host}"
        );

        let signed_in = proxy
            .get_with(host, "/", &[remote, ("Authorization", &bearer)])
            .await;
        assert_eq!(signed_in.status, 200, "{host}: {}", signed_in.text());
        let seen = signed_in.json();
        assert_eq!(seen["host"], format!("localhost:{}", server.port));
        assert_eq!(seen["authorization"], serde_json::Value::Null, "{host}");

        // The login form sends the browser back to the name; its session opens it.
        let target = format!("http://{host}/app");
        let ok = login(&proxy, TOKEN, &target, &[remote]).await;
        assert_eq!(ok.status, 303, "{host}: {}", ok.text());
        assert_eq!(ok.header("location"), Some(target.as_str()));
        let cookie = format!("theme=dark; {}", session_from(&ok));
        let resp = proxy
            .get_with(host, "/app", &[remote, ("Cookie", &cookie)])
            .await;
        assert_eq!(resp.status, 200, "{host}: {}", resp.text());
        assert_eq!(resp.json()["cookie"], "theme=dark", "{host}");
    }
    // A local name stays local, whatever it is called.
    let local = proxy
        .get_with(&format!("{name}.localhost"), "/", &[remote])
        .await;
    assert_eq!(local.status, 403, "{}", local.text());

    let ask = |host: String| {
        let proxy = &proxy;
        async move {
            proxy
                .admin_get(&format!("/caddy/ask?domain={host}"))
                .await
                .status
        }
    };
    assert_eq!(ask(named.clone()).await, 200);
    assert_eq!(ask(format!("nothing-{name}.dev.example.com")).await, 403);

    // A public port's name is public, as its number is: no sign-in.
    let open = crate::auth::public(&["--public-port", &server.port.to_string()]).await;
    for host in [&named, &number] {
        let resp = open.get_with(host, "/", &[remote]).await;
        assert_eq!(resp.status, 200, "{host}: {}", resp.text());
        assert_eq!(resp.json()["host"], format!("localhost:{}", server.port));
    }
    assert_eq!(
        open.get_with("dev.example.com", "/api/ports", &[remote])
            .await
            .status,
        401,
        "the dashboard stays behind sign-in"
    );

    drop(server);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ask(named).await, 403, "a stopped name gets no certificate");
}

/// `names = false` turns learning off; labels still name ports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learning_can_be_turned_off() {
    let root = tempfile::tempdir().unwrap();
    let name = format!("quiet-{}", unique());
    let server = DevServer::start(&project(root.path(), "quiet", &name)).await;
    let label = format!("labelled-{}", unique());
    let proxy = Proxy::new()
        .arg("--names")
        .arg("false")
        .arg("--label")
        .arg(format!("{}={label}", server.port))
        .start()
        .await;
    let resp = proxy.get(&host(&proxy, &name), "/").await;
    assert_eq!(resp.status, 502, "{}", resp.text());
    assert_eq!(proxy.get(&host(&proxy, &label), "/").await.status, 200);
}

/// `portproxy run`: `https://NAME.localhost/` through Caddy on both Caddies, with a
/// certificate of its own, redirects back to the name's HTTPS URL; and a worktree's
/// `feature-login.NAME.localhost`, two labels under `localhost`, gets its certificate on
/// demand too (a `*.localhost` site alone matches one label: the handshake failed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_through_run_with_caddy_over_https() {
    let root = tempfile::tempdir().unwrap();
    let (name, main, linked) = shop_with_a_worktree(root.path());
    let on_main = DevServer::start(&main).await;
    let on_branch = DevServer::start(&linked).await;
    for caddy in crate::caddy::caddies() {
        let (proxy, _, https) = crate::caddy::run_with_caddy(&["--caddy", &caddy]).await;
        for (name, server, dir) in [
            (name.clone(), &on_main, &main),
            (format!("feature-login.{name}"), &on_branch, &linked),
        ] {
            let host = format!("{name}.localhost");
            let authority = format!("{host}:{https}");
            let mut conn = crate::caddy::https_conn(&proxy, https, &host).await;
            let resp = conn.get(&authority, "/x", &[]).await;
            assert_eq!(resp.status, 200, "{caddy} {host}: {}", resp.text());
            let seen = resp.json();
            assert_eq!(seen["cwd"], dir.display().to_string(), "{caddy} {host}");
            assert_eq!(seen["host"], format!("localhost:{}", server.port));
            let go = conn.get(&authority, "/go", &[]).await;
            assert_eq!(go.status, 302, "{caddy} {host}");
            assert_eq!(
                go.header("location"),
                Some(format!("https://{authority}/landed").as_str()),
                "{caddy} {host}"
            );
        }
        // A name nobody holds: a certificate too (local names need no ask), then the page
        // that waits for it.
        let host = format!("nobody-{name}.localhost");
        let resp = crate::caddy::https_conn(&proxy, https, &host)
            .await
            .get(&format!("{host}:{https}"), "/", &[])
            .await;
        assert_eq!(resp.status, 502, "{caddy}: {}", resp.text());
        assert!(
            resp.text()
                .contains(&format!("No listening port is called nobody-{name}")),
            "{}",
            resp.text()
        );
    }
}

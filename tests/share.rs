//! `portproxy share`: a link that opens one port, and nothing else, until it expires or is
//! revoked (issue 21). Tunnel tools are stand-ins on PATH (they can't reach their services
//! from here); the LAN is two network namespaces joined by a veth pair.

use std::net::SocketAddr;
use std::process::Output;
use std::time::Duration;

use crate::harness::http::{self, Response};
use crate::harness::{Backend, Proxy, Running};

/// A share link taken apart.
struct Link {
    full: String,
    addr: SocketAddr,
    secret: String,
}

impl Link {
    fn parse(text: &str) -> Link {
        let full = text.trim().to_string();
        let rest = full.strip_prefix("http://").expect("an http:// link");
        let (authority, query) = rest.split_once("/?portproxy-share=").expect("a secret");
        Link {
            addr: authority.parse().expect("IP:PORT"),
            secret: query.to_string(),
            full,
        }
    }

    async fn get(&self, path: &str, extra: &[(&str, &str)]) -> Response {
        http::get(self.addr, &self.addr.to_string(), path, extra).await
    }

    /// Opens the link as a browser would and returns the cookie it was given.
    async fn open(&self) -> String {
        let resp = self
            .get(&format!("/?portproxy-share={}", self.secret), &[])
            .await;
        assert_eq!(resp.status, 303, "{}", resp.text());
        let cookie = resp.header("set-cookie").expect("a cookie").to_string();
        cookie.split(';').next().unwrap().to_string()
    }
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn share(proxy: &Running, args: &[&str]) -> Output {
    let mut all = vec!["share"];
    all.extend_from_slice(args);
    proxy.command(&all)
}

fn shared(proxy: &Running, args: &[&str]) -> Link {
    let out = share(proxy, args);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stderr),
        proxy.log()
    );
    Link::parse(&text(&out.stdout))
}

/// What the echo backend received: its `Host` and the whole header list.
fn seen(resp: &Response) -> (String, String) {
    assert_eq!(resp.status, 200, "{}", resp.text());
    let json = resp.json();
    let headers = json["headers"].as_array().unwrap().clone();
    let host = headers
        .iter()
        .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case("host"))
        .map(|h| h[1].as_str().unwrap().to_string())
        .unwrap_or_default();
    (host, json["headers"].to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_link_opens_its_port_and_nothing_else() {
    let app = Backend::echo().await;
    let other = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let out = share(&proxy, &[&app.port().to_string(), "--for", "1h"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "sharing port {} for 1h 0m with this machine, with the link",
            app.port()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains('▀') || stderr.contains('▄'),
        "a QR code:\n{stderr}"
    );
    let link = Link::parse(&text(&out.stdout));
    assert!(
        link.addr.ip().is_loopback(),
        "no --lan, no tunnel: loopback only"
    );
    assert_eq!(link.secret.len(), 64, "256 bits");

    let bare = link.get("/", &[("Accept", "text/html")]).await;
    assert_eq!(bare.status, 401);
    assert!(
        bare.text().contains("needs its share link"),
        "{}",
        bare.text()
    );
    let guessed = link
        .get(&format!("/?portproxy-share={}", "0".repeat(64)), &[])
        .await;
    assert_eq!(guessed.status, 401);

    let first = link
        .get(&format!("/app?x=1&portproxy-share={}", link.secret), &[])
        .await;
    assert_eq!(first.status, 303);
    assert_eq!(
        first.header("location"),
        Some("/app?x=1"),
        "the secret leaves the address bar"
    );
    let set_cookie = first.header("set-cookie").unwrap();
    assert!(!set_cookie.contains(&link.secret), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    let through = link
        .get("/app", &[("Cookie", &format!("theme=dark; {cookie}"))])
        .await;
    let (host, headers) = seen(&through);
    assert_eq!(
        host,
        format!("localhost:{}", app.port()),
        "the app's own identity"
    );
    assert!(
        headers.contains("theme=dark") && !headers.contains("portproxy-share"),
        "{headers}"
    );
    let origin = format!("http://{}", link.addr);
    let post = link
        .get("/", &[("Cookie", &cookie), ("Origin", &origin)])
        .await;
    assert!(
        seen(&post)
            .1
            .contains(&format!("http://localhost:{}", app.port())),
        "Origin rewritten"
    );

    // Whatever the request names, it reaches the shared port.
    let other_host = format!("{}.localhost:{}", other.port(), proxy.addr.port());
    let other_named = format!("127-0-0-1--{}.localhost", other.port());
    let dashboard = format!("localhost:{}", proxy.addr.port());
    for host in [
        other_host.as_str(),
        other_named.as_str(),
        dashboard.as_str(),
    ] {
        let resp = http::get(
            link.addr,
            host,
            "/api/ports",
            &[("Cookie", &cookie), ("X-Forwarded-For", "127.0.0.1")],
        )
        .await;
        assert_eq!(
            seen(&resp).0,
            format!("localhost:{}", app.port()),
            "Host {host}"
        );
    }
    // Absolute-form: Pingora refuses a Host unlike the target's authority (400); one that
    // agrees still names nothing here.
    let other_authority = format!("127.0.0.1:{}", other.port());
    let absolute = format!("http://{other_authority}/");
    let resp = http::get(
        link.addr,
        &other_authority,
        &absolute,
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(
        seen(&resp).0,
        format!("localhost:{}", app.port()),
        "absolute-form"
    );
    assert_eq!(resp.json()["path"], "/", "the app gets the path only");
    let resp = http::get(
        link.addr,
        &link.addr.to_string(),
        &absolute,
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert_eq!(other.connections(), 0, "the other port was never reached");

    let list = share(&proxy, &["--list"]);
    let listed = text(&list.stdout);
    assert!(
        list.status.success() && listed.contains(&app.port().to_string()),
        "{listed}"
    );
    let id = listed
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let revoked = share(&proxy, &["--revoke", &id]);
    assert_eq!(
        text(&revoked.stderr),
        format!("revoked share {id} (port {})\n", app.port())
    );
    let gone = link
        .get("/", &[("Cookie", &cookie), ("Accept", "text/html")])
        .await;
    assert_eq!(gone.status, 410);
    assert!(
        gone.text().contains("This link was revoked"),
        "{}",
        gone.text()
    );
    assert_eq!(
        link.get(&format!("/?portproxy-share={}", link.secret), &[])
            .await
            .status,
        410
    );

    assert!(
        proxy
            .log_contains(&format!("share {id} opened: port {}", app.port()))
            .await
    );
    assert!(
        proxy
            .log_contains(&format!(
                "share {id} (port {}): first use from 127.0.0.1",
                app.port()
            ))
            .await
    );
    assert!(
        proxy
            .log_contains(&format!("share {id} (port {}) revoked", app.port()))
            .await
    );
    assert!(
        !proxy.log().contains(&link.secret),
        "the secret is never logged:\n{}",
        proxy.log()
    );
    assert!(
        proxy.log().contains("portproxy-share=REDACTED"),
        "{}",
        proxy.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_ends_at_its_expiry() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let link = shared(&proxy, &[&app.port().to_string(), "--for", "2s"]);
    let cookie = link.open().await;
    assert_eq!(link.get("/", &[("Cookie", &cookie)]).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let gone = link.get("/", &[("Cookie", &cookie)]).await;
    assert_eq!(
        (gone.status, gone.text().trim()),
        (
            410,
            "410 This share link has expired. Ask whoever sent it for a new one."
        )
    );
    assert!(proxy.log_contains("expired").await);
    let list = text(&share(&proxy, &["--list"]).stdout);
    assert!(list.contains("expired"), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unshare_ends_every_link_of_the_port() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let port = app.port().to_string();
    let links = [
        shared(&proxy, &[&port]),
        shared(&proxy, &[&port, "--for", "2h"]),
    ];
    let out = proxy.command(&["unshare", &port]);
    assert_eq!(
        text(&out.stderr),
        format!("port {port} is private: 2 share link(s) ended\n")
    );
    for link in &links {
        assert_eq!(
            link.get(&format!("/?portproxy-share={}", link.secret), &[])
                .await
                .status,
            410
        );
    }
}

/// A name is shared as the port it has now, and `unshare NAME` ends its links; a name no
/// port has is refused with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_is_shared_and_unshared_like_its_port() {
    let app = Backend::echo().await;
    let name = format!("demo-{}", app.port());
    let proxy = Proxy::new()
        .arg("--label")
        .arg(format!("{}={name}", app.port()))
        .start()
        .await;
    let out = share(&proxy, &[&name, "--for", "2h"]);
    let said = text(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.starts_with(&format!(
            "sharing {name} (port {}) for 2h 0m with ",
            app.port()
        )),
        "{said}"
    );
    let link = Link::parse(&text(&out.stdout));
    let cookie = link.open().await;
    let (host, _) = seen(&link.get("/", &[("Cookie", &cookie)]).await);
    assert_eq!(host, format!("localhost:{}", app.port()));

    let out = proxy.command(&["unshare", &name]);
    assert_eq!(
        text(&out.stderr),
        format!(
            "{name} (port {}) is private: 1 share link(s) ended\n",
            app.port()
        )
    );
    assert_eq!(link.get("/", &[("Cookie", &cookie)]).await.status, 410);

    let unknown = share(&proxy, &["no-such-name"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("no listening port is called `no-such-name`"),
        "{}",
        text(&unknown.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_needs_a_running_portproxy_and_a_shareable_port() {
    let proxy = Proxy::new().start().await;
    let denied = share(&proxy, &["22"]);
    assert_eq!(denied.status.code(), Some(2));
    assert!(
        text(&denied.stderr)
            .starts_with("error: portproxy refused (403): this port can't be shared: "),
        "{}",
        text(&denied.stderr)
    );
    let own = share(&proxy, &[&proxy.admin.port().to_string()]);
    assert_eq!(own.status.code(), Some(2), "{}", text(&own.stderr));
    let bad = share(&proxy, &["5173", "--for", "forever"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("`forever` is not a duration"),
        "{}",
        text(&bad.stderr)
    );

    let stopped = Proxy::command(&["share", "5173"]).output();
    assert_eq!(stopped.status.code(), Some(4), "not running");
    let stderr = text(&stopped.stderr);
    assert!(
        stderr.starts_with("error: portproxy is not running\nhelp: start it with `portproxy`"),
        "{stderr}"
    );
}

/// A relay on loopback that adds no `X-Forwarded-For` (as a quick tunnel may): to the main
/// listener it would look like this machine; to a share it is just a visitor of one port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_without_forwarded_for_still_reaches_only_the_target() {
    let app = Backend::echo().await;
    let other = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let link = shared(&proxy, &[&app.port().to_string()]);
    let relay = relay_to(link.addr).await;
    let through = Link {
        full: link.full.clone(),
        addr: relay,
        secret: link.secret.clone(),
    };
    assert_eq!(through.get("/", &[]).await.status, 401, "no link, no entry");
    let dashboard = format!("localhost:{}", proxy.addr.port());
    let resp = http::get(relay, &dashboard, "/api/ports", &[]).await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    let cookie = through.open().await;
    for host in [dashboard, format!("{}.localhost", other.port())] {
        let resp = http::get(relay, &host, "/api/ports", &[("Cookie", &cookie)]).await;
        assert_eq!(seen(&resp).0, format!("localhost:{}", app.port()));
    }
    assert_eq!(other.connections(), 0);
}

/// Copies bytes both ways between a new loopback port and `to`, adding nothing.
async fn relay_to(to: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    addr
}

/// The stand-in for a tunnel tool: records its arguments, relays a loopback port of its own
/// to the share port (adding nothing), prints a URL the way the real tool does, and runs
/// until it is stopped. `$STANDIN_DIR` says where to write what it did.
#[cfg(target_os = "linux")]
const STANDIN: &str = r#"#!/usr/bin/env python3
import os, socket, sys, threading, time
name = os.path.basename(sys.argv[0])
out = os.environ["STANDIN_DIR"]
args = sys.argv[1:]
open(os.path.join(out, name + ".args"), "w").write(" ".join(args))
if name == "cloudflared":
    target = int(args[2].rsplit(":", 1)[1])
elif name == "tailscale":
    # `--bg`: the real tool hands the relay to tailscaled, says where, and exits.
    if args[-1] == "off":
        open(os.path.join(out, "tailscale.off"), "w").write(" ".join(args))
    else:
        print("Available on the internet:\n\nhttps://box.stand-in.ts.net/\n|-- proxy http://127.0.0.1:" + args[2], flush=True)
    sys.exit(0)
else:
    target = int(args[1])
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(16)
open(os.path.join(out, name + ".port"), "w").write(str(server.getsockname()[1]))
open(os.path.join(out, name + ".pid"), "w").write(str(os.getpid()))
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def relay():
    while True:
        client, _ = server.accept()
        upstream = socket.create_connection(("127.0.0.1", target))
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
threading.Thread(target=relay, daemon=True).start()
if name == "cloudflared":
    print("2026-12-03T17:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...", file=sys.stderr, flush=True)
    print("2026-12-03T17:00:01Z INF |  https://stand-in-relay.trycloudflare.com                    |", file=sys.stderr, flush=True)
    while True:
        time.sleep(1)
else:
    while True:
        time.sleep(1)
"#;

#[cfg(target_os = "linux")]
fn stand_ins(names: &[&str]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        let path = dir.path().join(name);
        std::fs::write(&path, STANDIN).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

#[cfg(target_os = "linux")]
fn path_with(dir: &std::path::Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[cfg(target_os = "linux")]
fn alive(pid: &str) -> bool {
    std::path::Path::new(&format!("/proc/{}", pid.trim())).exists()
        && !std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
            .unwrap_or_default()
            .contains(") Z ")
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn via_cloudflared_runs_the_quick_tunnel_and_stops_it_with_the_share() {
    let app = Backend::echo().await;
    let other = Backend::echo().await;
    let tools = stand_ins(&["cloudflared"]);
    let proxy = Proxy::new()
        .env("PATH", path_with(tools.path()))
        .env("STANDIN_DIR", tools.path().display().to_string())
        .start()
        .await;
    let out = share(&proxy, &[&app.port().to_string(), "--via", "cloudflared"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stderr),
        proxy.log()
    );
    assert!(
        stdout.starts_with("https://stand-in-relay.trycloudflare.com/?portproxy-share="),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("anyone with the link (cloudflared)"));
    let read = |file: &str| std::fs::read_to_string(tools.path().join(file)).unwrap();
    let share_port: u16 = {
        let args = read("cloudflared.args");
        let url = args
            .strip_prefix("tunnel --url http://127.0.0.1:")
            .unwrap_or_else(|| panic!("{args}"));
        url.parse().unwrap()
    };
    assert_ne!(
        share_port,
        app.port(),
        "the tool gets the share's listener, never the app"
    );
    let relay: SocketAddr = format!("127.0.0.1:{}", read("cloudflared.port"))
        .parse()
        .unwrap();
    let secret = stdout.trim().rsplit('=').next().unwrap().to_string();
    let link = Link {
        full: stdout.trim().to_string(),
        addr: relay,
        secret,
    };
    // The browser is on the tunnel's https origin: the app sees its own identity anyway.
    let cookie = link.open().await;
    let resp = http::get(
        relay,
        "stand-in-relay.trycloudflare.com",
        "/",
        &[
            ("Cookie", &cookie),
            ("Origin", "https://stand-in-relay.trycloudflare.com"),
        ],
    )
    .await;
    let (host, headers) = seen(&resp);
    assert_eq!(host, format!("localhost:{}", app.port()));
    assert!(
        headers.contains(&format!("\"http://localhost:{}\"", app.port())),
        "Origin rewritten: {headers}"
    );
    let dashboard = format!("localhost:{}", proxy.addr.port());
    assert_eq!(
        seen(&http::get(relay, &dashboard, "/api/ports", &[("Cookie", &cookie)]).await).0,
        format!("localhost:{}", app.port())
    );
    assert_eq!(other.connections(), 0);

    let pid = read("cloudflared.pid");
    assert!(alive(&pid));
    let revoked = share(&proxy, &["--revoke", "all"]);
    assert!(revoked.status.success());
    for _ in 0..50 {
        if !alive(&pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!alive(&pid), "the tunnel stops with the share");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn via_tailscale_serve_or_funnel_and_turned_off_at_the_end() {
    let app = Backend::echo().await;
    let tools = stand_ins(&["tailscale"]);
    let proxy = Proxy::new()
        .env("PATH", path_with(tools.path()))
        .env("STANDIN_DIR", tools.path().display().to_string())
        .start()
        .await;
    let read = |file: &str| std::fs::read_to_string(tools.path().join(file)).unwrap_or_default();
    let serve = share(&proxy, &[&app.port().to_string(), "--via", "tailscale"]);
    assert!(
        text(&serve.stdout).starts_with("https://box.stand-in.ts.net/?portproxy-share="),
        "{}",
        text(&serve.stderr)
    );
    assert!(
        read("tailscale.args").starts_with("serve --bg "),
        "{}",
        read("tailscale.args")
    );
    assert!(text(&serve.stderr).contains("your tailnet (tailscale serve)"));
    let out = share(
        &proxy,
        &[&app.port().to_string(), "--via", "tailscale", "--public"],
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("https://box.stand-in.ts.net/?portproxy-share="),
        "{stdout}"
    );
    assert!(
        read("tailscale.args").starts_with("funnel --bg "),
        "{}",
        read("tailscale.args")
    );
    share(&proxy, &["--revoke", "all"]);
    assert_eq!(read("tailscale.off"), "funnel --https=443 off");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_tunnel_tool_says_how_to_install_it() {
    let empty = tempfile::tempdir().unwrap();
    let proxy = Proxy::new()
        .env("PATH", path_with(empty.path()))
        .start()
        .await;
    let out = share(&proxy, &["5173", "--via", "cloudflared"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("`cloudflared` is not installed (not found on PATH); install it from https://developers.cloudflare.com/"), "{stderr}");
    let list = text(&share(&proxy, &["--list"]).stdout);
    assert_eq!(
        list, "no shares\n",
        "a share whose tunnel failed is not kept"
    );
}

/// Issue 21 §4: the phone (a second network namespace, joined by a veth pair) opens the link,
/// reaches the shared app and nothing else on the box, and gets 410 after expiry and revoke.
#[cfg(target_os = "linux")]
#[test]
fn lan_phone_reaches_only_the_shared_port() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/remote/lan.sh");
    let out = std::process::Command::new("unshare")
        .args(["--net", "sh", script, env!("CARGO_BIN_EXE_portproxy")])
        .output()
        .expect("unshare (util-linux) runs the LAN scenario");
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && !stdout.contains("not ready") && !stdout.contains("no link"),
        "the scenario needs `unshare --net`, `ip netns` (root), python3 and curl:\n{stdout}\n{}",
        text(&out.stderr)
    );
    let rows = [
        ("without-the-link", "401 -"),
        ("the-link-redirects", "303 -"),
        ("the-link-opens-the-app", "200 SHARED"),
        ("again-with-the-cookie", "200 SHARED"),
        ("host-names-another-port", "200 SHARED"),
        ("host-names-host--port", "200 SHARED"),
        ("host-names-the-dashboard", "404 -"),
        ("absolute-form-another-port", "200 SHARED"),
        ("absolute-form-unlike-host", "400 -"),
        ("absolute-form-dashboard", "404 -"),
        ("forwarded-for-loopback", "200 SHARED"),
        ("main-listener-on-the-lan", "000 -"),
        ("admin-on-the-lan", "000 -"),
        ("other-port-on-the-lan", "000 -"),
        ("short-link-opens", "200 SHARED"),
        ("short-link-after-expiry", "410 -"),
        ("after-revoke", "410 -"),
        ("the-link-after-revoke", "410 -"),
        ("log-opened", "yes -"),
        ("log-first-use", "yes -"),
        ("log-revoked", "yes -"),
        ("log-expired", "yes -"),
    ];
    for (name, want) in rows {
        let got = stdout
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')));
        assert_eq!(got, Some(want), "{name}:\n{stdout}");
    }
    assert!(!stdout.contains("secret-in-log"), "{stdout}");
}

//! The host grammar and the policy, seen from a client.

use crate::harness::http::Conn;
use crate::harness::{Backend, Proxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_and_long_forms_reach_the_port() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let p = proxy.addr.port();
    for host in [
        format!("{}.localhost:{p}", app.port()),
        format!("localhost--{}.localhost:{p}", app.port()),
        format!("127-0-0-1--{}.localhost:{p}", app.port()),
        format!("127.0.0.1--{}.localhost:{p}", app.port()),
        format!("{}.LOCALHOST.:{p}", app.port()),
    ] {
        let resp = proxy.get(&host, "/hello?x=1").await;
        assert_eq!(resp.status, 200, "{host}: {}", resp.text());
        assert_eq!(resp.json()["path"], "/hello?x=1", "{host}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_only_and_ipv4_only_servers_both_work() {
    let v6 = Backend::echo_on("[::1]:0").await;
    let v4 = Backend::echo_on("127.0.0.1:0").await;
    let proxy = Proxy::new().start().await;
    for app in [&v6, &v4] {
        // Twice: the second request goes straight to the family that answered.
        for _ in 0..2 {
            let resp = proxy.get(&proxy.host(app.port()), "/").await;
            assert_eq!(resp.status, 200, "{}: {}", app.addr, resp.text());
        }
    }
    let headers = proxy.get(&proxy.host(v6.port()), "/").await.json()["headers"].clone();
    assert!(headers
        .to_string()
        .contains(&format!("\"localhost:{}\"", v6.port())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_domains_longest_match_wins() {
    let app = Backend::echo().await;
    let proxy = Proxy::new()
        .arg("--no-auth")
        .domain("example.com")
        .domain("dev.example.com")
        .start()
        .await;
    let resp = proxy
        .get(&format!("{}.dev.example.com", app.port()), "/")
        .await;
    assert_eq!(resp.status, 200);
    let resp = proxy
        .get(&format!("localhost--{}.example.com", app.port()), "/")
        .await;
    assert_eq!(resp.status, 200);
    // `localhost` is no longer configured.
    let resp = proxy.get(&format!("{}.localhost", app.port()), "/").await;
    assert_eq!(resp.status, 404);
    assert!(
        resp.text().contains("example.com, dev.example.com"),
        "{}",
        resp.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_hosts_get_400_or_404_and_the_proxy_keeps_serving() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let p = proxy.addr.port();
    let rows = [
        (format!("0.localhost:{p}"), 400, "`0` is not a port"),
        (format!("65536.localhost:{p}"), 400, "`65536` is not a port"),
        (format!("05173.localhost:{p}"), 400, "`05173` is not a port"),
        (format!("a..b.localhost:{p}"), 400, "empty"),
        (format!("foo.5173.localhost:{p}"), 400, "TARGET--PORT"),
        (format!("xn--bcher-kva--80.localhost:{p}"), 400, "xn--"),
        (format!("{}--1.localhost:{p}", "a".repeat(64)), 400, "63"),
        ("evil.example".to_string(), 404, "not under any domain"),
        (
            "127.0.0.1".to_string(),
            404,
            "Domains served here: localhost",
        ),
        (String::new(), 400, "empty"),
    ];
    // One keep-alive connection: an error page must not poison it for the others.
    let mut conn = Conn::open(proxy.addr).await;
    for (host, status, says) in rows {
        let resp = Conn::open(proxy.addr).await.get(&host, "/", &[]).await;
        assert_eq!(resp.status, status, "{host:?}: {}", resp.text());
        assert!(resp.text().contains(says), "{host:?}: {}", resp.text());
        let ok = conn.get(&proxy.host(app.port()), "/", &[]).await;
        assert_eq!(ok.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_targets_are_never_dialled() {
    let denied = Backend::echo().await;
    let open = Backend::echo().await;
    let port = open.port();
    let proxy = Proxy::new()
        .arg("--deny-port")
        .arg(denied.port().to_string())
        .start()
        .await;
    let p = proxy.addr.port();
    let rows = [
        (format!("{}.localhost:{p}", denied.port()), "deny_ports"),
        (
            format!("127-0-0-1--{}.localhost:{p}", denied.port()),
            "deny_ports",
        ),
        (
            format!("2852039166--{port}.localhost:{p}"),
            "numeric address",
        ),
        (
            format!("0x7f000001--{port}.localhost:{p}"),
            "numeric address",
        ),
        (
            format!("2130706433--{port}.localhost:{p}"),
            "numeric address",
        ),
        (format!("127.1--{port}.localhost:{p}"), "numeric address"),
        (format!("169-254-169-254--80.localhost:{p}"), "link-local"),
        (format!("0-0-0-0--{port}.localhost:{p}"), "0.0.0.0/8"),
        (format!("10-1-2-3--80.localhost:{p}"), "allow_hosts"),
        (format!("db.internal--5432.localhost:{p}"), "allow_hosts"),
        (format!("{p}.localhost:{p}"), "own listener"),
        (
            format!("{}.localhost:{p}", proxy.admin.port()),
            "own listener",
        ),
    ];
    for (host, says) in rows {
        let resp = proxy.get(&host, "/").await;
        assert_eq!(resp.status, 403, "{host}: {}", resp.text());
        assert!(resp.text().contains(says), "{host}: {}", resp.text());
    }
    assert_eq!(
        denied.connections() + open.connections(),
        0,
        "a refused request reached a backend"
    );
    assert_eq!(proxy.get(&proxy.host(open.port()), "/").await.status, 200);
    assert!(proxy.log_contains("refused GET").await, "{}", proxy.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_deny_ports_name_the_setting() {
    let proxy = Proxy::new().start().await;
    for port in [22, 2019, 2375, 9222, 9229] {
        let resp = proxy.get(&proxy.host(port), "/").await;
        assert_eq!(resp.status, 403);
        assert!(resp.text().contains("`deny_ports`"), "{}", resp.text());
    }
    // `none` clears the list: now port 22's turn comes to the dial (and nothing listens... or sshd does).
    let cleared = Proxy::new().arg("--deny-port").arg("none").start().await;
    let resp = cleared.get(&cleared.host(9229), "/").await;
    assert_ne!(resp.status, 403, "{}", resp.text());
}

/// An allowed name is looked up once, each address checked, the checked address dialled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_names_are_resolved_and_checked() {
    // A name from /etc/hosts that points at loopback (Debian always has one besides localhost).
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap();
    let (ip, name) = hosts
        .lines()
        .filter_map(|l| {
            let mut f = l.split('#').next()?.split_whitespace();
            let ip: std::net::IpAddr = f.next()?.parse().ok()?;
            let name = f.find(|n| *n != "localhost" && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))?;
            (ip.is_loopback() && ip.is_ipv4()).then(|| (ip, name.to_ascii_lowercase()))
        })
        .next()
        .expect("/etc/hosts names no loopback host besides localhost; add one (e.g. `127.0.1.1 myhost`)");
    let app = Backend::echo_on(&format!("{ip}:0")).await;
    let denied = Proxy::new().start().await;
    let host = format!("{name}--{}.localhost:{}", app.port(), denied.addr.port());
    let resp = denied.get(&host, "/").await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    assert!(resp.text().contains("not loopback and not in allow_hosts"));

    let proxy = Proxy::new()
        .arg("--allow-host")
        .arg(&name)
        .arg("--allow-host")
        .arg("nothing.invalid")
        .start()
        .await;
    let host = format!("{name}--{}.localhost:{}", app.port(), proxy.addr.port());
    let resp = proxy.get(&host, "/").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = resp.json()["headers"].to_string();
    assert!(
        seen.contains(&format!("\"{name}:{}\"", app.port())),
        "{seen}"
    );

    let resp = proxy
        .get(
            &format!("nothing.invalid--80.localhost:{}", proxy.addr.port()),
            "/",
        )
        .await;
    assert_eq!(resp.status, 502, "{}", resp.text());
    assert!(
        resp.text().contains("could not be resolved") || resp.text().contains("Looking up"),
        "{}",
        resp.text()
    );
    // The proxy's own port stays refused even through an allowed name.
    let resp = proxy
        .get(
            &format!(
                "{name}--{}.localhost:{}",
                proxy.addr.port(),
                proxy.addr.port()
            ),
            "/",
        )
        .await;
    assert_eq!(resp.status, 403, "{}", resp.text());
}

/// A relay that sends whatever reaches it back into the proxy: a real loop.
async fn relay_to(target: std::net::SocketAddr) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_guard_stops_a_real_loop() {
    let proxy = Proxy::new().arg("--preserve-host").start().await;
    let relay = relay_to(proxy.addr).await;
    // proxy → relay → proxy → relay → …: the Host is kept, so each pass routes to the relay again.
    let resp = proxy.get(&proxy.host(relay), "/").await;
    assert_eq!(resp.status, 508, "{}", resp.text());
    assert!(resp.text().contains("3 times"), "{}", resp.text());
    assert!(proxy.log_contains("loop").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_count_is_forwarded_and_capped() {
    let app = Backend::echo().await;
    let proxy = Proxy::new().start().await;
    let resp = proxy
        .get_with(&proxy.host(app.port()), "/", &[("x-portproxy-hops", "1")])
        .await;
    assert_eq!(resp.status, 200);
    let headers = resp.json()["headers"].to_string();
    assert!(
        headers.contains("[\"x-portproxy-hops\",\"2\"]"),
        "{headers}"
    );
    let resp = proxy
        .get_with(&proxy.host(app.port()), "/", &[("x-portproxy-hops", "3")])
        .await;
    assert_eq!(resp.status, 508);
    assert_eq!(app.connections(), 1);
}

//! Public mode, round 3 (issue 23): each test is named after the finding it guards, and
//! each failed on the code before its fix.

use crate::auth::{expect_cors, login, public, session_from, BROWSER, TOKEN};
use crate::harness::proxy::{free_addr, PUBLIC};
use crate::harness::{Backend, Proxy};

/// Finding 1 (high): `--public-port N` opened port N on every host `allow_hosts` allows and
/// on loopback aliases. A public port is this machine's port on `localhost`; another host is
/// public only as the exact `HOST:PORT` named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_1_a_public_port_is_this_machines_port_only() {
    // 127.0.1.1 stands in for another machine `allow_hosts` lets signed-in users reach.
    let other = Backend::echo_on("127.0.1.1:0").await;
    let port = other.port().to_string();
    let remote = ("X-Forwarded-For", "203.0.113.9");
    let bearer = format!("Bearer {TOKEN}");
    let proxy = public(&["--public-port", &port, "--allow-host", "127.0.1.0/24"]).await;
    let alias = format!("127-0-1-1--{port}.dev.example.com");

    let anonymous = proxy.get_with(&alias, "/", &[remote]).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    let signed_in = proxy
        .get_with(&alias, "/", &[remote, ("Authorization", &bearer)])
        .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text());
    // The number itself stays public on this machine (nothing listens there: 502, not 401).
    let local = proxy
        .get_with(&format!("{port}.dev.example.com"), "/", &[remote])
        .await;
    assert_eq!(local.status, 502, "{}", local.text());
    assert_eq!(
        other.connections(),
        1,
        "only the signed-in request reached it"
    );

    // Named exactly as HOST:PORT, that host's port is public, and only that one.
    let exact = format!("127.0.1.1:{port}");
    let proxy = public(&["--public-port", &exact, "--allow-host", "127.0.1.0/24"]).await;
    let anonymous = proxy.get_with(&alias, "/", &[remote]).await;
    assert_eq!(anonymous.status, 200, "{}", anonymous.text());
    let loopback = proxy
        .get_with(
            &format!("127-0-0-1--{port}.dev.example.com"),
            "/",
            &[remote],
        )
        .await;
    assert_eq!(loopback.status, 401, "{}", loopback.text());
}

/// Finding 1, CORS: a page on another host's port of the public number gets no credentialed
/// access to private apps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_1_cors_treats_another_hosts_port_as_private() {
    let app = Backend::echo().await;
    let proxy = public(&["--public-port", "9000", "--allow-host", "127.0.1.0/24"]).await;
    let rows = [
        ("https://9000.dev.example.com", false),
        ("https://127-0-1-1--9000.dev.example.com", true),
    ];
    let host = format!("{}.dev.example.com", app.port());
    expect_cors(&proxy, &host, Some("https"), &rows).await;
}

/// Finding 12: the generated token went to the log (the journal under `service install`);
/// it belongs on a person's terminal only (the log here is a file, not a terminal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_12_the_generated_token_never_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path().display().to_string();
    let proxy = Proxy::public().env("XDG_CONFIG_HOME", &xdg).start().await;
    assert!(
        proxy.log_contains("`portproxy token` prints it").await,
        "{}",
        proxy.log()
    );
    let token = std::fs::read_to_string(dir.path().join("portproxy/token")).unwrap();
    assert!(
        !proxy.log().contains(token.trim()),
        "the token is in the log:\n{}",
        proxy.log()
    );
}

/// Finding 12: client-sent `X-Real-IP`, `True-Client-IP` and `X-Client-IP` reached the app,
/// which may believe them; login and dashboard pages could be framed by any site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_12_client_ip_claims_are_stripped_and_our_pages_refuse_frames() {
    let app = Backend::echo().await;
    let proxy = public(&[]).await;
    let bearer = format!("Bearer {TOKEN}");
    let resp = proxy
        .get_with(
            &format!("{}.dev.example.com", app.port()),
            "/",
            &[
                ("Authorization", &bearer),
                ("X-Real-IP", "10.9.9.9"),
                ("True-Client-IP", "10.9.9.9"),
                ("X-Client-IP", "10.9.9.9"),
            ],
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = resp.json()["headers"].to_string();
    assert!(!seen.contains("10.9.9.9"), "{seen}");
    for (host, path) in [("dev.example.com", "/login"), ("localhost", "/")] {
        let page = proxy.get_with(host, path, &[BROWSER]).await;
        assert_eq!(page.status, 200, "{host}{path}");
        assert_eq!(
            page.header("content-security-policy"),
            Some("frame-ancestors 'none'"),
            "{host}{path}"
        );
        assert_eq!(page.header("x-frame-options"), Some("DENY"), "{host}{path}");
    }
}

/// Finding 2: `doctor` wrote the candidate Caddyfile through `portproxy-doctor-<pid>` in the
/// shared temp dir, following a planted symlink. Directories are planted for the pids the
/// next processes will get.
#[cfg(unix)]
#[test]
fn finding_2_doctor_writes_nothing_through_a_planted_temp_path() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let next = std::process::Command::new("true").spawn().unwrap().id();
    for pid in next..next + 400 {
        let planted = tmp.path().join(format!("portproxy-doctor-{pid}"));
        std::fs::create_dir(&planted).unwrap();
        std::os::unix::fs::symlink(&victim, planted.join("Caddyfile")).unwrap();
    }
    let out = Proxy::command(&[
        "doctor",
        "--listen",
        &crate::harness::proxy::free_addr().to_string(),
        "--admin",
        &crate::harness::proxy::free_addr().to_string(),
    ])
    .env("TMPDIR", tmp.path().display().to_string())
    .output();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("✓ caddyfile: this Caddy accepts it"),
        "{report}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
}

/// Finding 3: a local process posed as a remote address with `X-Forwarded-For` (and spent
/// its sign-in budget), or as an HTTPS client with `X-Forwarded-Proto`. Only a trusted front
/// speaks for its client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_3_a_local_process_cannot_pose_as_a_remote_client() {
    let app = Backend::echo().await;
    let proxy = Proxy::public()
        .domain("localhost")
        .arg("--auth-token")
        .arg(TOKEN)
        .start()
        .await;
    let posing = [
        ("X-Forwarded-For", "192.0.2.77"),
        ("X-Forwarded-Proto", "https"),
    ];
    // It is this machine, whatever it says: a local name answers it.
    let local = proxy
        .get_with(&format!("{}.localhost", app.port()), "/", &posing)
        .await;
    assert_eq!(local.status, 200, "{}", local.text());
    // Its guesses are this machine's own: the address it names keeps its whole budget.
    for _ in 0..10 {
        let guess = proxy
            .get_with(
                &format!("{}.dev.example.com", app.port()),
                "/",
                &[
                    posing[0],
                    ("Authorization", "Bearer wrong-token-0123456789"),
                ],
            )
            .await;
        assert_eq!(guess.status, 401);
    }
    let login = login(&proxy, TOKEN, "/", &[]).await;
    assert_eq!(
        login.status, 429,
        "this machine's budget is spent, not 192.0.2.77's"
    );
    // And it said https, but the cookie is for plain HTTP (no Secure).
    let page = proxy
        .get_with("dev.example.com", "/nowhere", &[posing[1], BROWSER])
        .await;
    assert_eq!(
        page.header("location"),
        Some("http://dev.example.com/login?next=http%3A%2F%2Fdev.example.com%2Fnowhere")
    );

    // A proxy the user trusts does speak for its clients.
    let trusting = public(&[]).await;
    let remote = trusting
        .get_with(&format!("{}.localhost", app.port()), "/", &posing)
        .await;
    assert_eq!(remote.status, 403, "{}", remote.text());
}

/// Finding 4: a right bearer token got 200 from a client the limit had stopped; a spray from
/// many addresses drained the ceiling for everyone and locked this machine out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_4_the_limit_is_taken_before_any_token_is_looked_at() {
    let app = Backend::echo().await;
    let proxy = public(&[]).await;
    let host = format!("{}.dev.example.com", app.port());
    let guesser = ("X-Forwarded-For", "203.0.113.50");
    for _ in 0..10 {
        let wrong = proxy
            .get_with(
                &host,
                "/",
                &[guesser, ("Authorization", "Bearer wrong-token-0123456789")],
            )
            .await;
        assert_eq!(wrong.status, 401);
    }
    let bearer = format!("Bearer {TOKEN}");
    let right = proxy
        .get_with(&host, "/", &[guesser, ("Authorization", &bearer)])
        .await;
    assert_eq!(
        right.status,
        429,
        "a limited client's right guess: {}",
        right.text()
    );
    assert_eq!(app.connections(), 0);

    // A right token costs nothing: a script with it is never limited.
    for _ in 0..30 {
        let api = proxy
            .get_with(
                &host,
                "/",
                &[
                    ("X-Forwarded-For", "203.0.113.51"),
                    ("Authorization", &bearer),
                ],
            )
            .await;
        assert_eq!(api.status, 200);
    }

    // A spray from many addresses drains the ceiling for everyone remote...
    for i in 0..250u32 {
        let ip = format!("198.18.{}.{}", i / 200, i % 200 + 1);
        login(
            &proxy,
            "wrong-token-0123456789",
            "/",
            &[("X-Forwarded-For", &ip)],
        )
        .await;
    }
    let stranger = login(&proxy, TOKEN, "/", &[("X-Forwarded-For", "198.51.100.99")]).await;
    assert_eq!(stranger.status, 429);
    // ...but not for this machine, nor for a session already signed in.
    let owner = login(&proxy, TOKEN, "/", &[]).await;
    assert_eq!(owner.status, 303, "{}", owner.text());
    let session = session_from(&owner);
    let signed_in = proxy
        .get_with(
            &host,
            "/",
            &[("X-Forwarded-For", "198.51.100.99"), ("Cookie", &session)],
        )
        .await;
    assert_eq!(signed_in.status, 200);
}

/// Finding 5: the session was a fixed MAC of the token (the same for every sign-in, never
/// expiring on the server), and `/logout` ended nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_5_sessions_are_the_servers_and_end_when_told() {
    let app = Backend::echo().await;
    let proxy = public(&[]).await;
    let host = format!("{}.dev.example.com", app.port());
    let get = |session: String| {
        let proxy = &proxy;
        let host = host.clone();
        async move {
            proxy
                .get_with(&host, "/", &[("Cookie", &session)])
                .await
                .status
        }
    };
    let first = session_from(&login(&proxy, TOKEN, "/", &[]).await);
    let second = session_from(&login(&proxy, TOKEN, "/", &[]).await);
    assert_ne!(first, second, "each sign-in is its own session");
    assert_eq!(get(first.clone()).await, 200);
    let out = proxy
        .get_with("dev.example.com", "/logout", &[("Cookie", &first)])
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(get(first.clone()).await, 401, "logged out");
    assert_eq!(get(second.clone()).await, 200, "the other session lives on");

    // `portproxy sessions` lists it and ends it; the running proxy refuses it at once.
    let data = proxy.data_dir();
    let sessions = |args: &[&str]| {
        let mut all = vec!["sessions"];
        all.extend_from_slice(args);
        Proxy::command(&all)
            .env(
                "XDG_DATA_HOME",
                data.parent().unwrap().display().to_string(),
            )
            .output()
    };
    let listed = sessions(&[]);
    let text = String::from_utf8_lossy(&listed.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].ends_with(" -") || lines[1].ends_with("127.0.0.1"),
        "{text}"
    );
    let key = lines[1].split(' ').next().unwrap();
    let revoked = sessions(&["--revoke", key]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let mut status = 200;
    for _ in 0..40 {
        status = get(second.clone()).await;
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 401, "revoked");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("sessions"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// Finding 5: sessions survive a restart (the cookie promises 30 days), and a rotated token
/// ends them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_5_sessions_survive_a_restart_and_end_with_the_token() {
    let app = Backend::echo().await;
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    let start = || {
        Proxy::public()
            .env("XDG_CONFIG_HOME", config.display().to_string())
            .env("XDG_DATA_HOME", data.display().to_string())
            .start()
    };
    let host = format!("{}.dev.example.com", app.port());
    let proxy = start().await;
    let token = std::fs::read_to_string(config.join("portproxy/token")).unwrap();
    let session = session_from(&login(&proxy, token.trim(), "/", &[]).await);
    drop(proxy);
    let proxy = start().await;
    let again = proxy.get_with(&host, "/", &[("Cookie", &session)]).await;
    assert_eq!(again.status, 200, "{}", again.text());
    let rotated = Proxy::command(&["token", "--rotate"])
        .env("XDG_CONFIG_HOME", config.display().to_string())
        .env("XDG_DATA_HOME", data.display().to_string())
        .output();
    assert!(rotated.status.success());
    let mut status = 200;
    for _ in 0..40 {
        status = proxy
            .get_with(&host, "/", &[("Cookie", &session)])
            .await
            .status;
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 401, "a rotated token ends every session");
}

/// Finding 7: `/caddy/ask` approved every port of an exact `allow_hosts` name and two names
/// per listening port: each approval is a certificate order and a CT log entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_7_caddy_ask_approves_one_listed_name_per_port() {
    let app = Backend::echo().await;
    let proxy = public(&["--allow-host", "mybox", "--public-port", "mybox:8080"]).await;
    let rows = [
        (format!("{}.dev.example.com", app.port()), 200),
        (format!("localhost--{}.dev.example.com", app.port()), 403),
        ("mybox--8080.dev.example.com".to_string(), 200),
        ("mybox--1.dev.example.com".to_string(), 403),
        ("mybox--65535.dev.example.com".to_string(), 403),
    ];
    for (name, status) in rows {
        let resp = proxy.admin_get(&format!("/caddy/ask?domain={name}")).await;
        assert_eq!(resp.status, status, "{name}: {}", resp.text());
    }
}

/// Finding 8: command lines (which may hold secrets) went to signed-in remote clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_8_command_lines_only_to_this_machine() {
    let app = Backend::echo().await;
    let proxy = public(&[]).await;
    let bearer = format!("Bearer {TOKEN}");
    let process_of = |json: serde_json::Value| {
        json["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["port"] == app.port())
            .expect("the app's port is listed")["process"]
            .clone()
    };
    let local = proxy.get_with("localhost", "/api/ports", &[]).await;
    assert!(process_of(local.json())["command"].is_string());
    let remote = proxy
        .get_with(
            "dev.example.com",
            "/api/ports",
            &[
                ("X-Forwarded-For", "203.0.113.9"),
                ("Authorization", &bearer),
            ],
        )
        .await;
    let process = process_of(remote.json());
    assert!(process["name"].is_string(), "{process}");
    assert!(process.get("command").is_none(), "{process}");
}

/// Finding 9: CORS trusted any origin that parsed under the domain, whatever its port or
/// target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_9_cors_only_for_the_fronts_own_port_and_served_targets() {
    let app = Backend::echo().await;
    let proxy = public(&[]).await;
    let rows = [
        ("http://8000.dev.example.com", true),
        ("http://dev.example.com", true),
        ("http://dev.example.com:1", false),
        ("http://8000.dev.example.com:8080", false),
        ("http://nothere--5.dev.example.com", false),
        ("http://22.dev.example.com", false),
    ];
    let host = format!("{}.dev.example.com", app.port());
    expect_cors(&proxy, &host, None, &rows).await;
}

/// Finding 10: DNS rebinding. The admin listener answered any Host (a rebound page read
/// `/metrics` and used `/caddy/ask` as an oracle), and the 404 listed the domains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_10_a_rebound_page_reads_nothing() {
    let proxy = public(&[]).await;
    let rebound =
        crate::harness::http::get(proxy.admin, "rebind.evil.example:24307", "/metrics", &[]).await;
    assert_eq!(rebound.status, 403, "{}", rebound.text());
    assert!(!rebound.text().contains("portproxy_"), "{}", rebound.text());
    let ask = crate::harness::http::get(
        proxy.admin,
        "rebind.evil.example",
        "/caddy/ask?domain=dev.example.com",
        &[],
    )
    .await;
    assert_eq!(ask.status, 403);
    assert_eq!(proxy.admin_get("/metrics").await.status, 200);

    let unknown = proxy.get("rebind.evil.example", "/").await;
    assert_eq!(unknown.status, 404);
    assert!(
        !unknown.text().contains("dev.example.com"),
        "{}",
        unknown.text()
    );
    let direct = proxy.get(&proxy.addr.to_string(), "/").await;
    assert_eq!(direct.status, 404);
    assert!(
        direct.text().contains("dev.example.com"),
        "{}",
        direct.text()
    );
}

/// Finding 3 (b): a relay without `X-Forwarded-For` in front of the TCP listener makes every
/// remote client this machine; nothing can tell, so `doctor` says it where it matters.
#[test]
fn finding_3_doctor_names_the_relay_risk_of_a_public_domain() {
    let doctor = |domain: &str| {
        let out = Proxy::command(&[
            "doctor",
            "--domain",
            domain,
            "--listen",
            &crate::harness::proxy::free_addr().to_string(),
            "--admin",
            &crate::harness::proxy::free_addr().to_string(),
        ])
        .output();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let public = doctor("dev.example.com");
    assert!(public.contains("! relays: a relay to "), "{public}");
    assert!(public.contains("trusted_proxies"), "{public}");
    assert!(!doctor("localhost").contains("relays"));
}

/// Finding 11: without `HOME` (a system unit without `User=`, some containers) the token went
/// to `./portproxy-token` and Caddy's state under the shared temp dir. Now one clear error,
/// before anything is written or listened on.
#[test]
fn finding_11_no_home_is_one_clear_error_not_the_temp_dir() {
    let no_home = |args: &[&str]| {
        Proxy::command(args)
            .unset("HOME")
            .unset("XDG_CONFIG_HOME")
            .unset("XDG_DATA_HOME")
            .in_own_dir()
            .output()
    };
    let listen = free_addr().to_string();
    let serve = no_home(&["serve", "--domain", PUBLIC, "--listen", &listen]);
    assert_eq!(serve.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&serve.stderr),
        "error: neither HOME nor XDG_CONFIG_HOME is set: portproxy has nowhere to keep its access token\n\
         help: set HOME (a system service: `User=`, or `Environment=HOME=/var/lib/portproxy`), or XDG_CONFIG_HOME\n"
    );
    let caddyfile = no_home(&["caddyfile"]);
    assert_eq!(caddyfile.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&caddyfile.stderr)
            .starts_with("error: neither HOME nor XDG_DATA_HOME is set: portproxy has nowhere to keep Caddy's certificates"),
        "{}",
        String::from_utf8_lossy(&caddyfile.stderr)
    );
    assert!(caddyfile.stdout.is_empty());
}

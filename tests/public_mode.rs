//! Public mode, round 3 (issue 23): each test is named after the finding it guards, and
//! each failed on the code before its fix.

use crate::auth::{public, TOKEN};
use crate::harness::Backend;

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
    let bearer = format!("Bearer {TOKEN}");
    for (origin, granted) in [
        ("https://9000.dev.example.com", false),
        ("https://127-0-1-1--9000.dev.example.com", true),
    ] {
        let resp = proxy
            .get_with(
                &format!("{}.dev.example.com", app.port()),
                "/",
                &[
                    ("Authorization", &bearer),
                    ("X-Forwarded-Proto", "https"),
                    ("Origin", origin),
                ],
            )
            .await;
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.header("access-control-allow-origin"),
            granted.then_some(origin),
            "{origin}"
        );
    }
}

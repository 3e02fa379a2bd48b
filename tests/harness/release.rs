//! Release files laid out as cargo-dist publishes them, made from real portproxy binaries,
//! and what the installers and self-update said about them.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs a command that must succeed.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The hex digest `tool` (`sha256sum`, `sha512sum`) prints for `file`.
pub fn digest(tool: &str, file: &Path) -> String {
    let out = run(Command::new(tool).arg(file));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// `<hex> *<name>`: a line of dist's `.sha256` sidecars and `sha256.sum`.
pub fn sums_line(file: &Path) -> String {
    let name = file.file_name().unwrap().to_string_lossy();
    format!("{} *{name}\n", digest("sha256sum", file))
}

/// Writes the release archive of `binary` built for `target` into `dir`, as `dist build`
/// packs it: the binary, the shipped Caddyfile, completions/ and man/. Unix targets get
/// `portproxy-<target>.tar.gz` holding `portproxy-<target>/portproxy`; Windows targets a flat
/// `portproxy-<target>.zip` holding `portproxy.exe` (Deflate; dist 0.34's tasks.rs: "we
/// currently rely on zips being flat").
pub fn archive(binary: &Path, target: &str, dir: &Path) -> PathBuf {
    let name = format!("portproxy-{target}");
    let windows = target.contains("windows");
    let stage = tempfile::tempdir().unwrap();
    let root = if windows {
        stage.path().to_path_buf()
    } else {
        stage.path().join(&name)
    };
    std::fs::create_dir_all(&root).unwrap();
    let exe = if windows {
        "portproxy.exe"
    } else {
        "portproxy"
    };
    std::fs::copy(binary, root.join(exe)).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(repo.join("Caddyfile"), root.join("Caddyfile")).unwrap();
    for dir in ["completions", "man"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        for file in std::fs::read_dir(repo.join(dir)).unwrap() {
            let file = file.unwrap();
            std::fs::copy(file.path(), root.join(dir).join(file.file_name())).unwrap();
        }
    }
    if windows {
        let archive = dir.join(format!("{name}.zip"));
        run(Command::new("python3")
            .arg("-c")
            .arg(ZIP_DIR)
            .arg(&root)
            .arg(&archive));
        return archive;
    }
    let archive = dir.join(format!("{name}.tar.gz"));
    run(Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(stage.path())
        .arg(&name));
    archive
}

/// `python3 -c ZIP_DIR SRC OUT`: SRC's files and folders, relative to SRC, Deflated into OUT
/// (what axoasset's `zip_dir` writes for dist; its fastest level, as a debug .exe is 250 MB).
const ZIP_DIR: &str = r#"
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    for top, dirs, files in os.walk(src):
        dirs.sort()
        for name in dirs + sorted(files):
            path = os.path.join(top, name)
            z.write(path, os.path.relpath(path, src))
"#;

/// A real portproxy one minor version ahead of this one: this tree built with its version
/// bumped (scripts/test builds it and sets PORTPROXY_TEST_NEXT_BINARY).
pub fn next_binary() -> PathBuf {
    let path = std::env::var_os("PORTPROXY_TEST_NEXT_BINARY").expect(
        "PORTPROXY_TEST_NEXT_BINARY is not set: run scripts/test, which builds the next-version binary",
    );
    PathBuf::from(path)
}

/// What `binary --version` says on its first line, without the `portproxy ` prefix.
pub fn version_of(binary: &Path) -> String {
    let out = run(Command::new(binary).arg("--version"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .strip_prefix("portproxy ")
        .expect("`--version` starts with `portproxy `")
        .to_string()
}

/// Everything a command printed, stdout then stderr.
pub fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The command ended with `code` and said `needle`.
pub fn assert_said(out: &Output, code: i32, needle: &str) {
    assert_eq!(out.status.code(), Some(code), "{}", said(out));
    assert!(
        said(out).contains(needle),
        "no {needle:?} in:\n{}",
        said(out)
    );
}

/// This machine's address on its network (the one a default route leaves from): plain http
/// to it is plain http on a network, as far as portproxy can tell.
pub fn network_address() -> IpAddr {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    // A UDP connect sends nothing; it only picks the route and so the source address.
    socket
        .connect("192.0.2.1:9")
        .or_else(|_| socket.connect("8.8.8.8:53"))
        .expect("a network interface besides loopback");
    let ip = socket.local_addr().unwrap().ip();
    assert!(!ip.is_loopback() && !ip.is_unspecified(), "{ip}");
    ip
}

/// A tmpfs mounted noexec, as hardened servers mount /tmp; unmounted when dropped.
pub struct Noexec {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Noexec {
    /// None when this user may not mount (the tests that need it then say they were skipped).
    pub fn mount() -> Option<Noexec> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("noexec");
        std::fs::create_dir(&path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "noexec,size=256m", "tmpfs"])
            .arg(&path)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("SKIPPED: cannot mount a noexec tmpfs here (needs root)");
            return None;
        }
        Some(Noexec { path, _dir: dir })
    }
}

impl Drop for Noexec {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).output();
    }
}

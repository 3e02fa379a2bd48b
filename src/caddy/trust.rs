//! Trust in Caddy's local CA: the stores portproxy adds it to (`portproxy trust`, or a yes to
//! the first run's question), takes it out of again (`trust --uninstall`, `clean`) and checks
//! (`doctor`). Caddy never does this itself (`skip_install_trust`): its sudo prompt would land
//! in the middle of `run`'s log, unasked.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
#[cfg(any(target_os = "linux", windows))]
use std::process::Stdio;

use crate::caddy::Paths;

/// Why the CA could not go into (or out of) a trust store, and the one thing to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustError {
    pub reason: String,
    pub help: String,
}

/// The CA's nickname in the browsers' NSS databases.
#[cfg(target_os = "linux")]
const NICKNAME: &str = "portproxy local CA";
/// Where the CA goes on Debian-like systems (`update-ca-certificates`).
#[cfg(target_os = "linux")]
const DEBIAN_ANCHOR: &str = "/usr/local/share/ca-certificates/portproxy-local-ca.crt";
/// … and on Fedora/RHEL-like systems (`update-ca-trust`).
#[cfg(target_os = "linux")]
const REDHAT_ANCHOR: &str = "/etc/pki/ca-trust/source/anchors/portproxy-local-ca.crt";
/// Debian's ca-certificates-java hook copies every CA `update-ca-certificates` adds into
/// Java's keystore, under this alias.
#[cfg(target_os = "linux")]
const JAVA_KEYSTORE: &str = "/etc/ssl/certs/java/cacerts";
#[cfg(target_os = "linux")]
const JAVA_ALIAS: &str = "debian:portproxy-local-ca.pem";

/// The first run's question, word for word.
pub const QUESTION: &str =
    "Trust portproxy's local CA so browsers accept https://*.localhost? [Y/n] ";
/// What a run prints instead of asking.
pub const HINT: &str = "browsers will warn about https://*.localhost until this machine trusts portproxy's local CA: run `portproxy trust` once";

/// An answer to the first run's question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
}

/// What a run does about trust once Caddy has made its CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Trusted already, or nothing is known to say.
    Nothing,
    /// Print `HINT`: the one command, never a question.
    Tell,
    /// Ask `QUESTION` on the terminal.
    Ask,
}

/// Asks only a person at a terminal, only once ever (the answer is remembered), and only while
/// the CA is not trusted; a service, a pipe, `--yes` and `--no-trust` get the command instead.
pub fn offer(
    trusted: Option<bool>,
    remembered: Option<Answer>,
    terminal: bool,
    may_ask: bool,
) -> Offer {
    if trusted == Some(true) {
        Offer::Nothing
    } else if remembered.is_none() && terminal && may_ask {
        Offer::Ask
    } else if trusted == Some(false) {
        Offer::Tell
    } else {
        Offer::Nothing
    }
}

/// A typed answer: Enter is yes; anything else unknown is asked again.
pub fn parse_answer(line: &str) -> Option<Answer> {
    match line.trim().to_ascii_lowercase().as_str() {
        "" | "y" | "yes" => Some(Answer::Yes),
        "n" | "no" => Some(Answer::No),
        _ => None,
    }
}

/// Where the answer is remembered: state in the data directory, which `clean` removes.
fn answer_file(paths: &Paths) -> PathBuf {
    paths.data.join("trust-answer")
}

pub fn remembered(paths: &Paths) -> Option<Answer> {
    match std::fs::read_to_string(answer_file(paths)).ok()?.trim() {
        "yes" => Some(Answer::Yes),
        "no" => Some(Answer::No),
        _ => None,
    }
}

fn remember(paths: &Paths, answer: Answer) {
    let text = match answer {
        Answer::Yes => "yes\n",
        Answer::No => "no\n",
    };
    if let Err(e) = std::fs::write(answer_file(paths), text) {
        eprintln!(
            "could not remember the answer in {}: {e}",
            answer_file(paths).display()
        );
    }
}

/// The first run's offer, once Caddy is up and its CA exists: asks (or tells) and, on a yes,
/// trusts the CA then and there, saying where it went.
pub fn offer_on_start(paths: &Paths, may_ask: bool) {
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    match offer(is_trusted(paths), remembered(paths), terminal, may_ask) {
        Offer::Nothing => {}
        // The start banner said it: `HTTPS      not trusted yet — run `portproxy trust``.
        Offer::Tell => {}
        Offer::Ask => match ask() {
            Some(Answer::Yes) => {
                remember(paths, Answer::Yes);
                if let Err(e) = trust(paths) {
                    eprintln!("error: {}\nhelp: {}", e.reason, e.help);
                }
            }
            Some(Answer::No) => {
                remember(paths, Answer::No);
                eprintln!("not trusted; `portproxy trust` does it whenever you want");
            }
            None => eprintln!("{HINT}"),
        },
    }
}

/// Reads answers until one is understood; None when the input ends.
fn ask() -> Option<Answer> {
    let mut stdin = std::io::stdin().lock();
    loop {
        eprint!("{QUESTION}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if stdin.read_line(&mut line).ok()? == 0 {
            eprintln!();
            return None;
        }
        if let Some(answer) = parse_answer(&line) {
            return Some(answer);
        }
    }
}

/// `portproxy trust`, and a yes to the question: adds the CA to every store, one line each.
pub fn trust(paths: &Paths) -> Result<(), TrustError> {
    let root = paths.root_cert();
    if !root.is_file() {
        return Err(TrustError {
            reason: format!("Caddy has not created its local CA yet ({} does not exist)", root.display()),
            help: "start `portproxy` once (Caddy makes the CA at its first start), then run `portproxy trust` again".into(),
        });
    }
    for store in install(&root)? {
        eprintln!("trusted in {store}");
    }
    eprintln!(
        "programs with their own list need it named (`portproxy env` prints these as exports):"
    );
    eprint!(
        "{}",
        exports(&root, system_bundle().as_deref(), cfg!(windows))
    );
    Ok(())
}

/// `portproxy trust --uninstall`: takes the CA out of every store portproxy put it in.
pub fn untrust(paths: &Paths) -> Result<(), TrustError> {
    let removed = uninstall(&paths.root_cert())?;
    if removed.is_empty() {
        eprintln!("portproxy's local CA is in no trust store portproxy knows of");
    }
    for store in removed {
        eprintln!("removed from {store}");
    }
    Ok(())
}

/// `portproxy env`'s lines: Node reads its own list plus `NODE_EXTRA_CA_CERTS`; Python's
/// `requests` (certifi) and OpenSSL-based tools read one bundle file, which must be the
/// system's whole bundle (it holds the CA once trusted), never the CA alone.
pub fn exports(root: &Path, bundle: Option<&Path>, powershell: bool) -> String {
    let line = |name: &str, value: &Path| {
        let value = value.display().to_string();
        if powershell {
            format!("$env:{name} = '{}'\n", value.replace('\'', "''"))
        } else {
            format!("export {name}='{}'\n", value.replace('\'', r"'\''"))
        }
    };
    let mut out = line("NODE_EXTRA_CA_CERTS", root);
    match bundle {
        Some(bundle) => {
            out += &line("SSL_CERT_FILE", bundle);
            out += &line("REQUESTS_CA_BUNDLE", bundle);
        }
        None => out += "# Python: requests and httpx use certifi, not this system's store; `pip install pip-system-certs` makes them use it\n",
    }
    out
}

/// The system's CA bundle file, where the OS keeps one (Linux).
pub fn system_bundle() -> Option<PathBuf> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// Whether the system trusts our CA: Some(bool) where we can tell.
pub fn is_trusted(paths: &Paths) -> Option<bool> {
    let root = paths.root_cert();
    if !root.is_file() {
        return Some(false);
    }
    #[cfg(target_os = "linux")]
    {
        Some(
            [DEBIAN_ANCHOR, REDHAT_ANCHOR]
                .iter()
                .any(|a| same_file(&root, Path::new(a))),
        )
    }
    #[cfg(target_os = "macos")]
    {
        Command::new("security")
            .args(["verify-cert", "-c"])
            .arg(&root)
            .output()
            .ok()
            .map(|o| o.status.success())
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        None
    }
}

/// Is this the root certificate a trust store already holds?
#[cfg(target_os = "linux")]
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::read(a), std::fs::read(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// The NSS databases of this user's browsers: Chrome and Chromium read `~/.pki/nssdb`,
/// Firefox its profile's, and neither reads the system store on Linux.
#[cfg(target_os = "linux")]
pub fn nss_databases(home: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![
        home.join(".pki/nssdb"),
        home.join("snap/chromium/current/.pki/nssdb"),
    ];
    for firefox in [".mozilla/firefox", "snap/firefox/common/.mozilla/firefox"] {
        if let Ok(profiles) = std::fs::read_dir(home.join(firefox)) {
            dirs.extend(profiles.flatten().map(|p| p.path()));
        }
    }
    dirs.retain(|d| d.join("cert9.db").is_file());
    dirs.sort();
    dirs
}

#[cfg(target_os = "linux")]
fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// Runs certutil on one NSS database; whether it succeeded.
#[cfg(target_os = "linux")]
fn certutil(db: &Path, args: &[&str], root: Option<&Path>) -> bool {
    let mut cmd = Command::new("certutil");
    cmd.args(args)
        .arg("-d")
        .arg(format!("sql:{}", db.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(root) = root {
        cmd.arg("-i").arg(root);
    }
    cmd.status().is_ok_and(|s| s.success())
}

/// Adds the CA to every browser database found, as this user (no sudo): otherwise the
/// system store alone would leave Chrome and Firefox warning.
#[cfg(target_os = "linux")]
fn browsers_add(root: &Path) -> Vec<String> {
    let Some(home) = home() else {
        return Vec::new();
    };
    let databases = nss_databases(&home);
    if databases.is_empty() {
        eprintln!("no Chrome or Firefox certificate database under {} yet: after a browser's first start, run `portproxy trust` again", home.display());
        return Vec::new();
    }
    if !has("certutil") {
        eprintln!("Chrome and Firefox keep their own certificate lists ({}); install certutil (Debian/Ubuntu: sudo apt install libnss3-tools; Fedora: nss-tools) and run `portproxy trust` again", databases.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "));
        return Vec::new();
    }
    let mut added = Vec::new();
    for db in databases {
        if certutil(&db, &["-A", "-t", "C,,", "-n", NICKNAME], Some(root)) {
            added.push(format!("the browser database {}", db.display()));
        } else {
            eprintln!("certutil could not add the CA to {}", db.display());
        }
    }
    added
}

#[cfg(target_os = "linux")]
fn browsers_remove() -> Vec<String> {
    let Some(home) = home().filter(|_| has("certutil")) else {
        return Vec::new();
    };
    nss_databases(&home)
        .into_iter()
        .filter(|db| certutil(db, &["-L", "-n", NICKNAME], None))
        .filter(|db| certutil(db, &["-D", "-n", NICKNAME], None))
        .map(|db| format!("the browser database {}", db.display()))
        .collect()
}

/// Whether Java's system keystore holds the CA (put there by Debian's hook).
#[cfg(target_os = "linux")]
fn java_has() -> bool {
    Path::new(JAVA_KEYSTORE).is_file()
        && has("keytool")
        && Command::new("keytool")
            .args([
                "-list",
                "-keystore",
                JAVA_KEYSTORE,
                "-storepass",
                "changeit",
            ])
            .args(["-alias", JAVA_ALIAS])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

#[cfg(target_os = "linux")]
fn install(root: &Path) -> Result<Vec<String>, TrustError> {
    let mut stores = browsers_add(root);
    let java_before = java_has();
    let text = root.display().to_string();
    let anchor = if has("update-ca-certificates") {
        privileged("install", &["-m", "0644", &text, DEBIAN_ANCHOR])?;
        privileged("update-ca-certificates", &[])?;
        DEBIAN_ANCHOR
    } else if has("update-ca-trust") {
        privileged("install", &["-m", "0644", &text, REDHAT_ANCHOR])?;
        privileged("update-ca-trust", &["extract"])?;
        REDHAT_ANCHOR
    } else {
        return Err(TrustError {
            reason: "neither update-ca-certificates nor update-ca-trust is installed".into(),
            help: format!("add {text} to your system's trust store by hand"),
        });
    };
    stores.insert(0, format!("the system store ({anchor})"));
    if !java_before && java_has() {
        stores.push(format!("Java's keystore ({JAVA_KEYSTORE}, as {JAVA_ALIAS}): Debian's ca-certificates-java adds every system CA there"));
    }
    Ok(stores)
}

/// Takes the CA out of the system store (its anchor, then a fresh rebuild, which also drops
/// the links and bundle lines made from it), Java's keystore and the browsers' databases.
#[cfg(target_os = "linux")]
pub fn uninstall(_root: &Path) -> Result<Vec<String>, TrustError> {
    let mut removed = Vec::new();
    let java = java_has();
    if Path::new(DEBIAN_ANCHOR).exists() {
        privileged("rm", &["-f", DEBIAN_ANCHOR])?;
        privileged("update-ca-certificates", &["--fresh"])?;
        removed.push(format!("the system store ({DEBIAN_ANCHOR})"));
    }
    if Path::new(REDHAT_ANCHOR).exists() {
        privileged("rm", &["-f", REDHAT_ANCHOR])?;
        privileged("update-ca-trust", &["extract"])?;
        removed.push(format!("the system store ({REDHAT_ANCHOR})"));
    }
    // The hook's fresh rebuild drops it where dpkg runs its triggers; elsewhere keytool does.
    if java_has() {
        privileged(
            "keytool",
            &[
                "-delete",
                "-keystore",
                JAVA_KEYSTORE,
                "-storepass",
                "changeit",
                "-alias",
                JAVA_ALIAS,
            ],
        )?;
    }
    if java {
        removed.push(format!("Java's keystore ({JAVA_KEYSTORE})"));
    }
    removed.extend(browsers_remove());
    Ok(removed)
}

#[cfg(target_os = "macos")]
const SYSTEM_KEYCHAIN: &str = "/Library/Keychains/System.keychain";

#[cfg(target_os = "macos")]
fn install(root: &Path) -> Result<Vec<String>, TrustError> {
    let root = root.display().to_string();
    privileged(
        "security",
        &[
            "add-trusted-cert",
            "-d",
            "-r",
            "trustRoot",
            "-k",
            SYSTEM_KEYCHAIN,
            &root,
        ],
    )?;
    Ok(vec![format!("the System keychain ({SYSTEM_KEYCHAIN})")])
}

#[cfg(target_os = "macos")]
pub fn uninstall(root: &Path) -> Result<Vec<String>, TrustError> {
    let Some(sha1) = fingerprint(root) else {
        return Ok(Vec::new());
    };
    let listed = Command::new("security")
        .args(["find-certificate", "-a", "-Z", SYSTEM_KEYCHAIN])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&sha1));
    if !listed {
        return Ok(Vec::new());
    }
    privileged(
        "security",
        &["remove-trusted-cert", "-d", &root.display().to_string()],
    )?;
    privileged(
        "security",
        &["delete-certificate", "-Z", &sha1, SYSTEM_KEYCHAIN],
    )?;
    Ok(vec![format!("the System keychain ({SYSTEM_KEYCHAIN})")])
}

#[cfg(windows)]
fn install(root: &Path) -> Result<Vec<String>, TrustError> {
    // The current user's Root store needs no administrator; Windows asks for confirmation.
    privileged(
        "certutil",
        &["-user", "-addstore", "Root", &root.display().to_string()],
    )?;
    Ok(vec!["your Root certificate store".into()])
}

#[cfg(windows)]
pub fn uninstall(root: &Path) -> Result<Vec<String>, TrustError> {
    let Some(sha1) = fingerprint(root) else {
        return Ok(Vec::new());
    };
    let listed = Command::new("certutil")
        .args(["-user", "-store", "Root", &sha1])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !listed {
        return Ok(Vec::new());
    }
    privileged("certutil", &["-user", "-delstore", "Root", &sha1])?;
    Ok(vec!["your Root certificate store".into()])
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn install(root: &Path) -> Result<Vec<String>, TrustError> {
    Err(TrustError {
        reason: "this OS has no known trust store tool".into(),
        help: format!("add {} to your trust store by hand", root.display()),
    })
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
pub fn uninstall(_root: &Path) -> Result<Vec<String>, TrustError> {
    Ok(Vec::new())
}

/// The SHA-1 fingerprint of a PEM certificate file, as `security` and `certutil` name
/// certificates (upper-case hex).
#[cfg(any(target_os = "macos", windows))]
fn fingerprint(root: &Path) -> Option<String> {
    pem_sha1(&std::fs::read_to_string(root).ok()?)
}

/// The SHA-1 of the first certificate in PEM text.
#[cfg(any(target_os = "macos", windows, test))]
fn pem_sha1(pem: &str) -> Option<String> {
    use base64::Engine;
    use sha1::Digest;
    let body: String = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)?
        .split("-----END CERTIFICATE-----")
        .next()?
        .split_whitespace()
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some(
        sha1::Sha1::digest(der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect(),
    )
}

/// Runs a command (through sudo when we are not root), letting it prompt on the terminal.
fn privileged(program: &str, args: &[&str]) -> Result<(), TrustError> {
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    #[cfg(not(unix))]
    let root = true;
    let mut cmd = if root {
        Command::new(program)
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg(program);
        sudo
    };
    cmd.args(args);
    let status = cmd.status().map_err(|e| TrustError {
        reason: format!("could not run {program}: {e}"),
        help: "install it, or add the CA by hand (see docs/https.md)".into(),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(TrustError {
            reason: format!("{program} failed ({status})"),
            help: "run it again with the rights to change the system trust store".into(),
        })
    }
}

#[cfg(target_os = "linux")]
fn has(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_once_only_a_person_and_only_while_untrusted() {
        use Answer::*;
        use Offer::*;
        // (trusted, remembered, terminal, may ask) -> offer
        let table = [
            (Some(false), None, true, true, Ask),
            (None, None, true, true, Ask),
            (Some(true), None, true, true, Nothing),
            (Some(false), Some(No), true, true, Tell),
            (Some(false), Some(Yes), true, true, Tell),
            (Some(true), Some(No), true, true, Nothing),
            (None, Some(No), true, true, Nothing),
            (Some(false), None, false, true, Tell),
            (Some(false), None, true, false, Tell),
            (None, None, false, true, Nothing),
        ];
        for (trusted, remembered, terminal, may_ask, want) in table {
            assert_eq!(
                offer(trusted, remembered, terminal, may_ask),
                want,
                "{trusted:?} {remembered:?} {terminal} {may_ask}"
            );
        }
    }

    #[test]
    fn answers() {
        for (line, want) in [
            ("\n", Some(Answer::Yes)),
            ("y\n", Some(Answer::Yes)),
            (" YES \r\n", Some(Answer::Yes)),
            ("n\n", Some(Answer::No)),
            ("No\n", Some(Answer::No)),
            ("maybe\n", None),
            ("yn\n", None),
        ] {
            assert_eq!(parse_answer(line), want, "{line:?}");
        }
    }

    #[test]
    fn exports_for_node_and_python() {
        let root =
            Path::new("/home/a b/.local/share/portproxy/caddy/pki/authorities/local/root.crt");
        let bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
        assert_eq!(
            exports(root, Some(bundle), false),
            "export NODE_EXTRA_CA_CERTS='/home/a b/.local/share/portproxy/caddy/pki/authorities/local/root.crt'\n\
             export SSL_CERT_FILE='/etc/ssl/certs/ca-certificates.crt'\n\
             export REQUESTS_CA_BUNDLE='/etc/ssl/certs/ca-certificates.crt'\n"
        );
        assert_eq!(
            exports(Path::new("/it's/root.crt"), None, false)
                .lines()
                .next(),
            Some(r"export NODE_EXTRA_CA_CERTS='/it'\''s/root.crt'")
        );
        let windows = exports(Path::new(r"C:\Users\o'k\root.crt"), None, true);
        assert!(windows.starts_with("$env:NODE_EXTRA_CA_CERTS = 'C:\\Users\\o''k\\root.crt'\n"));
        assert!(windows.contains("pip-system-certs"), "{windows}");
    }

    #[test]
    fn a_pem_certificates_sha1() {
        let pem = "a heading\n-----BEGIN CERTIFICATE-----\n\
MIIBkTCCATegAwIBAgIUHkmZMlvRRw0Wsyf8D1uR8Q6Vfd0wCgYIKoZIzj0EAwIw\n\
HjEcMBoGA1UEAwwTcG9ydHByb3h5IHRlc3Qgcm9vdDAeFw0yNjEyMDMxNzUxMDha\n\
Fw0zNjExMzAxNzUxMDhaMB4xHDAaBgNVBAMME3BvcnRwcm94eSB0ZXN0IHJvb3Qw\n\
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATJiLTMBC0+Jcqkme4IqdZLzQ1+BGsH\n\
5Lxma44kWqVBEYGZLLDTESZSMlgHFc4YtzT+q7O5PESI6/zYeotRvZAMo1MwUTAd\n\
BgNVHQ4EFgQUILFmHm2KwJN9CdxGI5epgd64M/IwHwYDVR0jBBgwFoAUILFmHm2K\n\
wJN9CdxGI5epgd64M/IwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBF\n\
AiAsBiEnaqIxFMuc8389mww7p1aPkrir+jghYePNczk7cgIhAMVayTZCn0KV4zYd\n\
nFZp+pq+y3wcJW8n2C0dFLv0c1mn\n\
-----END CERTIFICATE-----\n\
";
        // What `openssl x509 -noout -fingerprint -sha1` says of it.
        let sha1 = "12:50:62:2E:0E:AC:EE:86:D7:C4:09:3A:CE:05:E1:36:DE:04:23:AD".replace(':', "");
        assert_eq!(pem_sha1(pem), Some(sha1));
        assert_eq!(pem_sha1("no certificate"), None);
    }
}

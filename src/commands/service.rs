//! `portproxy service install | uninstall | status`: start `portproxy run` at login and
//! restart it on failure — a systemd user unit on Linux, a launchd agent on macOS, a
//! per-user Scheduled Task on Windows. The definitions are plain text from plain functions
//! (tested on every platform); installing one writes the file and asks the service manager.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use crate::cli::ServiceAction;
use crate::error::Error;
use crate::paths;

/// The label launchd and the name systemd know it by.
const LABEL: &str = "dev.portproxy";

/// The systemd user unit for `binary`.
pub(crate) fn systemd_unit(binary: &Path) -> String {
    format!(
        "[Unit]\n\
         Description=portproxy: every local port at its own URL\n\
         {}\
         After=network-online.target\n\
         \n\
         [Service]\n\
         ExecStart=\"{}\" run\n\
         Restart=on-failure\n\
         RestartSec=2\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        documentation(env!("CARGO_PKG_REPOSITORY")),
        binary.display()
    )
}

/// The unit's `Documentation=` line: the project's README, but none while Cargo.toml's
/// repository is still the placeholder (`https://github.com/OWNER/portproxy`), which would
/// send `systemctl status` readers nowhere. (`man:portproxy(1)` is no better:
/// `systemd-analyze verify` fails where the man page is not installed.)
fn documentation(repository: &str) -> String {
    match crate::update::owner_and_name(repository) {
        Some(("OWNER", _)) | None => String::new(),
        Some(_) => format!("Documentation={repository}#readme\n"),
    }
}

/// The launchd agent for `binary`, logging to `logs`.
pub(crate) fn launchd_plist(binary: &Path, logs: &Path) -> String {
    let log = logs.join("portproxy.log");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n<dict>\n\
         \t<key>Label</key>\n\t<string>{LABEL}</string>\n\
         \t<key>ProgramArguments</key>\n\t<array>\n\t\t<string>{}</string>\n\t\t<string>run</string>\n\t</array>\n\
         \t<key>RunAtLoad</key>\n\t<true/>\n\
         \t<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n\
         \t<key>StandardOutPath</key>\n\t<string>{}</string>\n\
         \t<key>StandardErrorPath</key>\n\t<string>{}</string>\n\
         </dict>\n</plist>\n",
        xml(&binary.display().to_string()),
        xml(&log.display().to_string()),
        xml(&log.display().to_string()),
    )
}

/// The `schtasks /Create` arguments for a per-user task at logon that restarts on failure
/// (through `cmd`, which appends the log in the data directory).
pub(crate) fn scheduled_task(binary: &Path, log: &Path) -> Vec<String> {
    let action = format!(
        "cmd /c \"\"{}\" run >> \"{}\" 2>&1\"",
        binary.display(),
        log.display()
    );
    [
        "/Create",
        "/F",
        "/SC",
        "ONLOGON",
        "/RL",
        "LIMITED",
        "/TN",
        "portproxy",
        "/TR",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([action])
    .collect()
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Where the definition lives for this user.
fn definition_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let keeps = "the login service";
    if cfg!(target_os = "macos") {
        let agents = paths::home(env, keeps).ok()?.join("Library/LaunchAgents");
        Some(agents.join(format!("{LABEL}.plist")))
    } else if cfg!(windows) {
        None
    } else {
        let config = paths::config_home(env, keeps).ok()?;
        Some(config.join("systemd/user/portproxy.service"))
    }
}

/// Where the service's log goes, said by `status`.
fn log_place(env: &dyn Fn(&str) -> Option<String>) -> String {
    if cfg!(target_os = "macos") {
        "~/Library/Logs/portproxy/portproxy.log".into()
    } else if cfg!(windows) {
        crate::caddy::Paths::from_env(env).map_or_else(
            |e| e.to_string(),
            |paths| paths.data.join("portproxy.log").display().to_string(),
        )
    } else {
        "the journal: journalctl --user -u portproxy -f".into()
    }
}

/// The binary a service should start: a Homebrew keg's
/// (`PREFIX/Cellar/portproxy/0.2.0/bin/portproxy`) is replaced by `brew upgrade`, so the
/// service runs `PREFIX/opt/portproxy/bin/portproxy`, which brew keeps pointing at the
/// current version. Any other path stays as it is.
pub(crate) fn lasting_binary(exe: &Path) -> PathBuf {
    let parts: Vec<Component> = exe.components().collect();
    match parts
        .iter()
        .rposition(|c| *c == Component::Normal("Cellar".as_ref()))
    {
        // Cellar, formula, version, then the path inside the keg.
        Some(cellar) if parts.len() > cellar + 3 => {
            let prefix: PathBuf = parts[..cellar].iter().collect();
            let in_keg: PathBuf = parts[cellar + 3..].iter().collect();
            prefix.join("opt").join(parts[cellar + 1]).join(in_keg)
        }
        _ => exe.to_path_buf(),
    }
}

pub(crate) fn service(action: ServiceAction) -> Result<(), Error> {
    let binary = std::env::current_exe()
        .map(|exe| lasting_binary(&exe))
        .map_err(|error| Error::File {
            path: "portproxy".into(),
            error,
        })?;
    match action {
        ServiceAction::Install => install(&binary, &paths::process_env),
        ServiceAction::Uninstall => uninstall(&paths::process_env),
        ServiceAction::Status => {
            match definition_path(&paths::process_env) {
                Some(path) if path.is_file() && cfg!(target_os = "linux") => {
                    match systemd_session() {
                        Ok(()) => {
                            let state = systemctl_says(&["is-enabled", "portproxy"]);
                            let active = systemctl_says(&["is-active", "portproxy"]);
                            eprintln!("installed: {} ({state}, {active})", path.display());
                        }
                        Err(why) => eprintln!(
                            "not running as a service: {} exists, but there is no systemd user session here to start it ({why})",
                            path.display()
                        ),
                    }
                }
                Some(path) if path.is_file() => eprintln!("installed: {}", path.display()),
                Some(path) => eprintln!("not installed ({} does not exist)", path.display()),
                None => {
                    let _ = manager("schtasks", &["/Query", "/TN", "portproxy"]);
                }
            }
            eprintln!("logs: {}", log_place(&paths::process_env));
            Ok(())
        }
    }
}

fn file_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |error| Error::File {
        path: path.to_path_buf(),
        error,
    }
}

fn install(binary: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<(), Error> {
    if cfg!(windows) {
        let log = crate::caddy::Paths::from_env(env)?
            .data
            .join("portproxy.log");
        let args = scheduled_task(binary, &log);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        manager("schtasks", &args);
        eprintln!(
            "portproxy starts at your next logon; logs: {}",
            log.display()
        );
        return Ok(());
    }
    let path = definition_path(env).ok_or_else(|| Error::Usage {
        message: "HOME is not set".into(),
        help: "set HOME (or XDG_CONFIG_HOME) and run `portproxy service install` again".into(),
    })?;
    // Without a user manager to start it, a unit file would only look installed.
    if !cfg!(target_os = "macos") {
        if let Err(why) = systemd_session() {
            return Err(Error::Service {
                reason: format!("no systemd user session here, so nothing would start portproxy at login ({why})"),
                help: "run `portproxy service install` in a login session with systemd (`systemctl --user` works there); elsewhere (a container, WSL without systemd) start `portproxy run` from your shell's profile or the container's entrypoint".into(),
            });
        }
    }
    let text = if cfg!(target_os = "macos") {
        let logs = PathBuf::from(env("HOME").unwrap_or_default()).join("Library/Logs/portproxy");
        std::fs::create_dir_all(&logs).map_err(file_error(&logs))?;
        launchd_plist(binary, &logs)
    } else {
        systemd_unit(binary)
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(file_error(dir))?;
    }
    std::fs::write(&path, text).map_err(file_error(&path))?;
    eprintln!("wrote {}", path.display());
    if cfg!(target_os = "macos") {
        manager("launchctl", &["load", "-w", &path.display().to_string()]);
    } else if !(manager("systemctl", &["--user", "daemon-reload"])
        && manager("systemctl", &["--user", "enable", "--now", "portproxy"]))
    {
        return Err(Error::Service {
            reason: format!("systemd did not take {}", path.display()),
            help: "see its reason above; `portproxy service uninstall` removes the unit".into(),
        });
    } else {
        eprintln!(
            "on a remote box, keep it running after you log out: loginctl enable-linger $USER"
        );
    }
    eprintln!("logs: {}", log_place(env));
    Ok(())
}

fn uninstall(env: &dyn Fn(&str) -> Option<String>) -> Result<(), Error> {
    match remove(env)? {
        Some(removed) => eprintln!("removed {removed}"),
        None => eprintln!("not installed"),
    }
    Ok(())
}

/// Stops and removes the login service; what was removed, None when there was none.
pub(crate) fn remove(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, Error> {
    if cfg!(windows) {
        let removed = manager("schtasks", &["/Delete", "/F", "/TN", "portproxy"]);
        return Ok(removed.then(|| "the Scheduled Task portproxy".into()));
    }
    let Some(path) = definition_path(env).filter(|p| p.is_file()) else {
        return Ok(None);
    };
    if cfg!(target_os = "macos") {
        manager("launchctl", &["unload", "-w", &path.display().to_string()]);
    } else {
        manager("systemctl", &["--user", "disable", "--now", "portproxy"]);
    }
    std::fs::remove_file(&path).map_err(file_error(&path))?;
    if !cfg!(target_os = "macos") {
        manager("systemctl", &["--user", "daemon-reload"]);
    }
    Ok(Some(path.display().to_string()))
}

/// Whether this user has a systemd user manager to talk to; the reason when not.
fn systemd_session() -> Result<(), String> {
    match Command::new("systemctl")
        .args(["--user", "show-environment"])
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "systemctl --user: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("systemctl: {e}")),
    }
}

/// What `systemctl --user ARGS` prints (`enabled`, `active`, …), or `unknown`.
fn systemctl_says(args: &[&str]) -> String {
    let mut all = vec!["--user"];
    all.extend_from_slice(args);
    Command::new("systemctl")
        .args(all)
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|said| !said.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Runs a service-manager command; false (with the reason said) when it can't.
fn manager(program: &str, args: &[&str]) -> bool {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            eprintln!(
                "{program} {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            false
        }
        Err(e) => {
            eprintln!("{program}: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homebrew_services_outlive_upgrades() {
        let rows = [
            (
                "/opt/homebrew/Cellar/portproxy/0.2.0/bin/portproxy",
                "/opt/homebrew/opt/portproxy/bin/portproxy",
            ),
            (
                "/home/linuxbrew/.linuxbrew/Cellar/portproxy/0.2.0_1/bin/portproxy",
                "/home/linuxbrew/.linuxbrew/opt/portproxy/bin/portproxy",
            ),
            (
                "/home/me/.local/bin/portproxy",
                "/home/me/.local/bin/portproxy",
            ),
            ("/opt/homebrew/bin/portproxy", "/opt/homebrew/bin/portproxy"),
            ("/srv/Cellar/portproxy", "/srv/Cellar/portproxy"),
        ];
        for (exe, runs) in rows {
            assert_eq!(lasting_binary(Path::new(exe)), Path::new(runs), "{exe}");
        }
    }

    #[test]
    fn definitions_start_run_and_restart_it() {
        let bin = Path::new("/home/me/.local/bin/portproxy");
        let unit = systemd_unit(bin);
        assert!(unit.contains("ExecStart=\"/home/me/.local/bin/portproxy\" run\n"));
        assert!(unit.contains("Restart=on-failure\n"));
        assert!(unit.contains("WantedBy=default.target\n"));
        // Not Cargo.toml's placeholder repository; the real one once it is set.
        assert!(!unit.contains("OWNER"), "{unit}");
        assert_eq!(documentation("https://github.com/OWNER/portproxy"), "");
        assert_eq!(
            documentation("https://github.com/acme/portproxy"),
            "Documentation=https://github.com/acme/portproxy#readme\n"
        );
        let plist = launchd_plist(bin, Path::new("/Users/me/Library/Logs/portproxy"));
        assert!(plist.contains("<string>dev.portproxy</string>"));
        assert!(plist.contains("<string>run</string>"));
        assert!(plist.contains("<key>SuccessfulExit</key>\n\t\t<false/>"));
        // A plist parser reads it (Python's plistlib, as launchd's format).
        let mut python = Command::new("python3")
            .args(["-c", "import plistlib,sys; d=plistlib.loads(sys.stdin.buffer.read()); assert d['ProgramArguments'][1]=='run' and d['RunAtLoad']"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("python3 parses the plist");
        std::io::Write::write_all(python.stdin.as_mut().unwrap(), plist.as_bytes()).unwrap();
        drop(python.stdin.take());
        assert!(python.wait().unwrap().success(), "{plist}");
        let task = scheduled_task(
            Path::new(r"C:\Users\me\portproxy.exe"),
            Path::new(r"C:\log"),
        );
        assert_eq!(&task[..3], ["/Create", "/F", "/SC"]);
        assert!(task
            .last()
            .unwrap()
            .contains(r#""C:\Users\me\portproxy.exe" run"#));
    }
}

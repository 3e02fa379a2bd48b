//! `portproxy clean [--all]`: undoes what portproxy did to this machine — its CA in the trust
//! stores, the login service, the hosts file's block (and with it the consent a running
//! portproxy keeps it by), macOS's resolver file, its state (Caddy's certificates and CA,
//! the Caddyfile, the remembered answers) — and lists what it removed. The settings and the access token stay
//! unless `--all`. The binary and an installer's Caddy are `install.sh --uninstall`'s.

use std::path::{Path, PathBuf};

use crate::caddy::{trust, Paths};
use crate::cli::CleanArgs;
use crate::commands::service;
use crate::config::default_file;
use crate::control;
use crate::error::Error;
use crate::paths::process_env;

pub(crate) fn clean(args: CleanArgs) -> Result<(), Error> {
    let paths = Paths::from_env(&process_env)?;
    if let Ok(instance) = control::find(&paths.data) {
        return Err(Error::Usage {
            message: format!("portproxy is running (pid {})", instance.pid),
            help: "stop it (Ctrl-C, or `portproxy service uninstall` for the login service), then run `portproxy clean` again".into(),
        });
    }
    let mut removed = trust::uninstall(&paths.root_cert())?
        .into_iter()
        .map(|store| format!("the local CA from {store}"))
        .collect::<Vec<_>>();
    removed.extend(service::remove(&process_env)?.map(|s| format!("the login service ({s})")));
    removed.extend(remove_hosts_block());
    removed.extend(remove_resolver_file());
    removed.extend(remove_state(&paths)?);
    let config = default_file(&process_env);
    let token = crate::start::token_file(&process_env)?;
    if args.all {
        removed.extend(remove_settings(config.clone(), &token)?);
    }
    let kept: Vec<String> = config
        .into_iter()
        .chain([token])
        .filter(|p| !args.all && p.exists())
        .map(|p| p.display().to_string())
        .collect();
    report(&removed, &kept);
    Ok(())
}

/// portproxy's block in the hosts file; said on stderr when it can't be taken out.
fn remove_hosts_block() -> Option<String> {
    match crate::hosts::remove() {
        Ok(crate::hosts::Change::Written) => Some(format!(
            "portproxy's block from the hosts file ({})",
            crate::hosts::path().display()
        )),
        Ok(crate::hosts::Change::Unchanged) => None,
        Err(e) => {
            eprintln!(
                "could not take portproxy's block out of {} ({e}): run `sudo portproxy hosts --remove`",
                crate::hosts::path().display()
            );
            None
        }
    }
}

/// macOS's resolver file; said on stderr when it can't be removed.
fn remove_resolver_file() -> Option<String> {
    match super::hosts::remove_resolver() {
        Ok(true) => Some(format!(
            "the resolver file ({}/{})",
            crate::dns::RESOLVER_DIR,
            crate::dns::ZONE
        )),
        Ok(false) => None,
        Err(e) => {
            eprintln!(
                "could not remove the resolver file ({e}): run `sudo portproxy hosts --remove`"
            );
            None
        }
    }
}

/// The login service's logs (macOS) and portproxy's state directory.
fn remove_state(paths: &Paths) -> Result<Vec<String>, Error> {
    let mut removed = Vec::new();
    if cfg!(target_os = "macos") {
        if let Some(home) = process_env("HOME") {
            removed.extend(remove(
                Path::new(&home).join("Library/Logs/portproxy"),
                "the login service's logs",
            )?);
        }
    }
    removed.extend(remove(
        paths.data.clone(),
        "portproxy's state: Caddy's certificates and local CA, the Caddyfile, the trust answer",
    )?);
    Ok(removed)
}

/// `--all`: the settings and the access token too.
fn remove_settings(config: Option<PathBuf>, token: &Path) -> Result<Vec<String>, Error> {
    let mut removed = Vec::new();
    if let Some(config) = config {
        removed.extend(remove(config, "the settings")?);
    }
    removed.extend(remove(token.to_path_buf(), "the access token")?);
    if let Some(dir) = token.parent() {
        // Only when nothing else is left there (an installer's receipt stays).
        let _ = std::fs::remove_dir(dir);
    }
    Ok(removed)
}

/// Removes `path` (`what`); the line saying so, if there was one.
fn remove(path: PathBuf, what: &str) -> Result<Option<String>, Error> {
    let existed = remove_path(&path).map_err(|error| Error::File {
        path: path.clone(),
        error,
    })?;
    Ok(existed.then(|| format!("{what} ({})", path.display())))
}

/// What was removed, and what was kept without `--all`.
fn report(removed: &[String], kept: &[String]) {
    if removed.is_empty() {
        eprintln!("nothing of portproxy's was left on this machine");
    }
    for line in removed {
        eprintln!("removed {line}");
    }
    if !kept.is_empty() {
        eprintln!(
            "kept the settings and the token ({}); `portproxy clean --all` removes them too",
            kept.join(", ")
        );
    }
}

/// Removes a file or a directory tree; whether there was one.
fn remove_path(path: &Path) -> std::io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path).map(|()| true),
        Ok(_) => std::fs::remove_file(path).map(|()| true),
    }
}

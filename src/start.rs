//! Start-up policy: which access token is in force for `run` and `serve` (the settings', the
//! stored one, or a new one stored 0600), where it is kept, and what to say about it once.

use std::path::PathBuf;

use crate::auth::{owner_only, stored_token, Auth};
use crate::config::Settings;
use crate::error::Error;
use crate::paths::{self, NoHome};

/// Where the generated token lives: beside the config file (`~/.config/portproxy/token`).
pub(crate) fn token_file(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, NoHome> {
    paths::config_dir(env, "its access token").map(|dir| dir.join("token"))
}

/// When to speak: at start, say once what authentication is in force; a reload is quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moment {
    Start,
    Reload,
}

/// The token a public domain needs: the one in the settings, else the one stored in the
/// config directory, else a new one, stored (0600) and printed once. None where every domain
/// is local, or with `no_auth` (a warning at start).
pub(crate) fn in_force(settings: &Settings, moment: Moment) -> Result<Option<Auth>, Error> {
    let at_start = moment == Moment::Start;
    let Some(public) = settings.public_domain() else {
        return Ok(None);
    };
    if settings.no_auth {
        if at_start {
            log::warn!("authentication is off (no_auth): anyone who reaches {public} reaches every allowed port on this machine");
        }
        return Ok(None);
    }
    if let Some(token) = &settings.auth_token {
        // The config file holds a secret: only its owner may read it.
        if let Some(file) = &settings.file {
            if at_start && owner_only(file).unwrap_or(false) {
                log::warn!(
                    "{} holds auth_token and others could read it: its permissions are now 0600",
                    file.display()
                );
            }
        }
        return Auth::new(token).map(Some).map_err(|e| Error::Token {
            path: settings.file.clone().unwrap_or_default(),
            reason: e.to_string(),
        });
    }
    let path = token_file(&paths::process_env)?;
    let stored = stored_token(&path).map_err(|e| Error::token_file(&path, e))?;
    if at_start && stored.tightened {
        log::warn!(
            "{} could be read by other users: its permissions are now 0600",
            path.display()
        );
    }
    if at_start && stored.created {
        log::info!("generated an access token for {public}, stored in {}; `portproxy token` prints it; sign in at https://{public}/login, or send `Authorization: Bearer TOKEN`", path.display());
        // The log may be a journal others can read (`service install`): the token itself goes
        // to a person's terminal only.
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprintln!("access token: {}", stored.token);
        }
    }
    Ok(Some(stored.auth))
}

//! Every directory portproxy keeps files in, found in one place from the environment (passed
//! in, so tests give a table): the config directory (the settings file, the token, the
//! installers' receipts) and the data directory (Caddy's files, the proxy's sockets).
//!
//! Neither falls back to the temp dir or the working directory: shared with every user, they
//! would hold a token or certificates where others can read or plant them. Without `HOME`
//! (or the `XDG_*` directory asked for) the answer is `NoHome`, one clear error.

use std::fmt;
use std::path::PathBuf;

/// The environment lookup: `process_env` in the binary, a table in tests.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process's environment, as an `Env`.
pub(crate) fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// Neither `HOME` nor the variable that names this directory is set (a system unit without
/// `User=`, some containers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoHome {
    /// What the directory is for, as the error says it.
    pub(crate) keeps: &'static str,
    /// The variable that would name it instead of `HOME`.
    pub(crate) variable: &'static str,
}

impl fmt::Display for NoHome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if cfg!(windows) {
            write!(
                f,
                "{} is not set: portproxy has nowhere to keep {}",
                self.variable, self.keeps
            )
        } else {
            write!(
                f,
                "neither HOME nor {} is set: portproxy has nowhere to keep {}",
                self.variable, self.keeps
            )
        }
    }
}

fn set(env: Env, key: &str) -> Option<PathBuf> {
    env(key).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The home directory of the user running portproxy, to show paths under it as `~` or
/// expand a `~` the user typed: `HOME`, else `USERPROFILE` (Windows).
pub(crate) fn user_home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
}

/// Where `program` (with `.exe` on Windows) is on `PATH`, as a shell would find it.
pub(crate) fn on_path(program: &str) -> Option<PathBuf> {
    let name = if cfg!(windows) {
        format!("{program}.exe")
    } else {
        program.to_string()
    };
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(&name))
        .find(|candidate| candidate.is_file())
}

/// The user's home directory (`HOME`).
pub(crate) fn home(env: Env, keeps: &'static str) -> Result<PathBuf, NoHome> {
    set(env, "HOME").ok_or(NoHome {
        keeps,
        variable: "HOME",
    })
}

/// Where the user's configuration lives: `$XDG_CONFIG_HOME`, else `~/.config`;
/// `%APPDATA%` on Windows. Also the base of systemd's user units.
pub(crate) fn config_home(env: Env, keeps: &'static str) -> Result<PathBuf, NoHome> {
    let variable = if cfg!(windows) {
        "APPDATA"
    } else {
        "XDG_CONFIG_HOME"
    };
    let base = if cfg!(windows) {
        set(env, variable)
    } else {
        set(env, variable).or_else(|| set(env, "HOME").map(|h| h.join(".config")))
    };
    base.ok_or(NoHome { keeps, variable })
}

/// portproxy's config directory: the settings file, the token, the installers' receipts.
pub(crate) fn config_dir(env: Env, keeps: &'static str) -> Result<PathBuf, NoHome> {
    config_home(env, keeps).map(|base| base.join("portproxy"))
}

/// portproxy's data directory: `$XDG_DATA_HOME/portproxy` (`~/.local/share/portproxy`),
/// `~/Library/Application Support/portproxy` on macOS, `%LOCALAPPDATA%\portproxy` on Windows.
pub(crate) fn data_dir(env: Env) -> Result<PathBuf, NoHome> {
    let keeps = "Caddy's certificates and its own files";
    let base = match set(env, "XDG_DATA_HOME") {
        Some(dir) => Ok(dir),
        None if cfg!(windows) => set(env, "LOCALAPPDATA").ok_or(NoHome {
            keeps,
            variable: "LOCALAPPDATA",
        }),
        None => {
            let home = set(env, "HOME").ok_or(NoHome {
                keeps,
                variable: "XDG_DATA_HOME",
            })?;
            Ok(if cfg!(target_os = "macos") {
                home.join("Library/Application Support")
            } else {
                home.join(".local/share")
            })
        }
    };
    base.map(|b| b.join("portproxy"))
}

// The directories under test are the Unix ones (Windows reads its known folders).
#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn env<'a>(table: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            table
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn directories_from_the_environment() {
        let home = env(&[("HOME", "/home/u")]);
        assert_eq!(
            config_dir(&home, "x"),
            Ok(PathBuf::from("/home/u/.config/portproxy"))
        );
        assert_eq!(
            data_dir(&home),
            Ok(PathBuf::from("/home/u/.local/share/portproxy"))
        );
        let xdg = env(&[
            ("XDG_CONFIG_HOME", "/c"),
            ("XDG_DATA_HOME", "/d"),
            ("HOME", "/home/u"),
        ]);
        assert_eq!(config_dir(&xdg, "x"), Ok(PathBuf::from("/c/portproxy")));
        assert_eq!(data_dir(&xdg), Ok(PathBuf::from("/d/portproxy")));
        // Set but empty is not set.
        let empty = env(&[("XDG_CONFIG_HOME", ""), ("HOME", "/home/u")]);
        assert_eq!(
            config_dir(&empty, "x"),
            Ok(PathBuf::from("/home/u/.config/portproxy"))
        );
    }

    #[test]
    fn no_home_is_an_error_never_the_temp_dir() {
        let none = env(&[]);
        let no_config = config_dir(&none, "its token").unwrap_err();
        assert_eq!(
            no_config.to_string(),
            "neither HOME nor XDG_CONFIG_HOME is set: portproxy has nowhere to keep its token"
        );
        let no_data = data_dir(&env(&[("HOME", "")])).unwrap_err();
        assert_eq!(no_data.variable, "XDG_DATA_HOME");
        // One of them is enough for its own directory.
        assert!(config_dir(&env(&[("XDG_CONFIG_HOME", "/c")]), "x").is_ok());
        assert!(data_dir(&env(&[("XDG_DATA_HOME", "/d")])).is_ok());
    }
}

//! Reading the settings: defaults, then the config file, then `PORTPROXY_*`, then the flags;
//! a bad value names its key, its value, where it came from and what is accepted.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::settings::{Key, Settings, Shape, Source};
use crate::paths;

#[derive(Debug)]
pub(crate) enum ConfigError {
    Invalid {
        key: Key,
        value: String,
        source: Source,
    },
    SamePort {
        listen: SocketAddr,
    },
    FileUnreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    FileSyntax {
        path: PathBuf,
        message: String,
    },
}

impl ConfigError {
    /// The line after `error:` that says how to fix it.
    pub(crate) fn help(&self) -> String {
        match self {
            ConfigError::Invalid { key, .. } => format!("expected {}", key.row().expects),
            ConfigError::SamePort { .. } => "give --listen and --admin different ports".into(),
            ConfigError::FileUnreadable { .. } => {
                "check the path given with --config or PORTPROXY_CONFIG".into()
            }
            ConfigError::FileSyntax { .. } => format!(
                "the file is TOML with the keys {}",
                Key::ALL
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid { key, value, source } => {
                write!(f, "invalid value `{value}` for ")?;
                match source {
                    Source::Flag => write!(f, "`--{}`", key.row().flag),
                    Source::Env => write!(f, "`{}` (from {})", key.name(), key.env()),
                    Source::File(path) => {
                        write!(f, "`{}` (from {})", key.name(), path.display())
                    }
                    Source::Default => write!(f, "`{}` (the default)", key.name()),
                }
            }
            ConfigError::SamePort { listen } => {
                write!(f, "`listen` and `admin` are both {listen}")
            }
            ConfigError::FileUnreadable { path, error } => {
                write!(f, "cannot read config file {}: {error}", path.display())
            }
            ConfigError::FileSyntax { path, message } => {
                write!(
                    f,
                    "config file {} is not valid: {}",
                    path.display(),
                    message.trim()
                )
            }
        }
    }
}

/// The flags a command line gave, by setting, as typed (validated by `load`).
pub(crate) type Given = Vec<(Key, Vec<String>)>;

/// The default config file: `$XDG_CONFIG_HOME/portproxy/config.toml` (`~/.config/...`),
/// `%APPDATA%\portproxy\config.toml` on Windows; none without a home.
pub(crate) fn default_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    paths::config_dir(env, "its settings")
        .ok()
        .map(|dir| dir.join("config.toml"))
}

/// Reads the settings: defaults, then the file (`config_file`, else PORTPROXY_CONFIG, else
/// the default file if it exists), then the environment, then the flags.
/// `env` is the environment lookup (`process_env` in the binary, a table in tests).
pub(crate) fn load(
    config_file: Option<&Path>,
    flags: &Given,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    let explicit = config_file.map(Path::to_path_buf).or_else(|| {
        env("PORTPROXY_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let path = match explicit {
        Some(path) => Some(path),
        None => default_file(env).filter(|p| p.is_file()),
    };
    if let Some(path) = path {
        let text = std::fs::read_to_string(&path).map_err(|error| ConfigError::FileUnreadable {
            path: path.clone(),
            error,
        })?;
        let source = Source::File(path.clone());
        for (key, values) in file_values(&text, &path)? {
            set(&mut settings, key, &values, &source)?;
        }
        settings.file = Some(path);
    }
    for &key in Key::ALL {
        let Some(value) = env(&key.env()) else {
            continue;
        };
        let values = match key.row().shape {
            Shape::List => value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            Shape::One | Shape::Switch => vec![value],
        };
        set(&mut settings, key, &values, &Source::Env)?;
    }
    for (key, values) in flags {
        set(&mut settings, *key, values, &Source::Flag)?;
    }

    let (listen, admin) = (settings.listen, settings.admin);
    if listen.port() == admin.port()
        && (listen.ip() == admin.ip()
            || listen.ip().is_unspecified()
            || admin.ip().is_unspecified())
    {
        return Err(ConfigError::SamePort { listen });
    }
    Ok(settings)
}

fn set(
    settings: &mut Settings,
    key: Key,
    values: &[String],
    source: &Source,
) -> Result<(), ConfigError> {
    settings
        .set(key, values, source)
        .map_err(|value| ConfigError::Invalid {
            key,
            value,
            source: source.clone(),
        })
}

/// The config file's values as text, per setting: a list may mix numbers and strings
/// (`deny_ports = [22, "9000-9100"]`); `[labels]` is a table of `5173 = "web"`.
fn file_values(text: &str, path: &Path) -> Result<Vec<(Key, Vec<String>)>, ConfigError> {
    use toml::Value;
    let syntax = |message: String| ConfigError::FileSyntax {
        path: path.to_path_buf(),
        message,
    };
    let table: toml::Table = toml::from_str(text).map_err(|e| syntax(e.to_string()))?;
    let scalar = |value: &Value| match value {
        Value::String(s) => Some(s.clone()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    };
    let mut values = Vec::new();
    for (name, value) in &table {
        // `names = false` turns learning off; a `[names]` table pins directories to names.
        let key = match (name.as_str(), value) {
            ("names", Value::Table(_)) => Key::NamePins,
            _ => Key::named(name).ok_or_else(|| syntax(format!("unknown key `{name}`")))?,
        };
        let texts = match (value, key) {
            (Value::Table(pairs), Key::Labels | Key::NamePins) => pairs
                .iter()
                .map(|(key, name)| scalar(name).map(|name| format!("{key}={name}")))
                .collect(),
            (Value::Array(items), _) if key.row().shape == Shape::List => {
                items.iter().map(scalar).collect()
            }
            (value, _) if key.row().shape != Shape::List => scalar(value).map(|v| vec![v]),
            _ => None,
        };
        let texts = texts.ok_or_else(|| ConfigError::Invalid {
            key,
            value: value.to_string(),
            source: Source::File(path.to_path_buf()),
        })?;
        values.push((key, texts));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::policy::rules::PortRange;
    use crate::policy::DEFAULT_DENY_PORTS;
    use std::collections::HashMap;

    fn flag(key: Key, value: &str) -> (Key, Vec<String>) {
        (key, vec![value.to_string()])
    }

    fn load_with(flags: Given, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load(None, &flags, &|k| env.get(k).cloned())
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn defaults() {
        let c = load_with(Vec::new(), &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:24306");
        assert_eq!(c.admin.to_string(), "127.0.0.1:24307");
        assert_eq!(c.domains, ["localhost"]);
        assert_eq!(c.deny_ports, DEFAULT_DENY_PORTS.to_vec());
        assert!(c.allow_hosts.is_empty());
        assert!(!c.preserve_host);
        assert!(Key::ALL.iter().all(|&k| c.origin(k) == &Source::Default));
        let config = Config::new(c, None, None);
        assert_eq!(config.policy.own_ports, [24306, 24307]);
    }

    #[test]
    fn names_switch_and_pins() {
        let f = file("names = false\n");
        let c = load_with(
            Vec::new(),
            &[("PORTPROXY_CONFIG", f.path().to_str().unwrap())],
        )
        .unwrap();
        assert!(!c.names);
        let f = file("[names]\n\"/src/shop\" = \"shop\"\n");
        let c = load_with(
            Vec::new(),
            &[("PORTPROXY_CONFIG", f.path().to_str().unwrap())],
        )
        .unwrap();
        assert!(c.names);
        assert_eq!(
            c.name_pins.into_iter().collect::<Vec<_>>(),
            [(PathBuf::from("/src/shop"), "shop".to_string())]
        );
        let refused = load_with(
            Vec::new(),
            &[("PORTPROXY_NAME_PINS", "/src/shop=Not A Name")],
        );
        assert!(
            matches!(
                refused,
                Err(ConfigError::Invalid {
                    key: Key::NamePins,
                    ..
                })
            ),
            "{refused:?}"
        );
    }

    #[test]
    fn layers_in_priority_order_with_their_origin() {
        let f = file("listen = \"127.0.0.1:1000\"\nadmin = \"127.0.0.1:1001\"\ndomains = [\"file.test\"]\nthreads = 3\n[labels]\n5173 = \"web\"\n");
        let path = f.path().to_str().unwrap();
        // File only.
        let c = load_with(Vec::new(), &[("PORTPROXY_CONFIG", path)]).unwrap();
        assert_eq!(c.listen.port(), 1000);
        assert_eq!(c.domains, ["file.test"]);
        assert_eq!(c.threads, 3);
        assert_eq!(c.labels.get(&5173).map(String::as_str), Some("web"));
        assert_eq!(c.origin(Key::Threads), &Source::File(f.path().into()));
        assert_eq!(c.origin(Key::HttpPort), &Source::Default);
        // Env beats file.
        let env = [
            ("PORTPROXY_CONFIG", path),
            ("PORTPROXY_LISTEN", "127.0.0.1:2000"),
            ("PORTPROXY_DOMAINS", "a.test, b.test"),
            ("PORTPROXY_LABELS", "8000=api"),
        ];
        let c = load_with(Vec::new(), &env).unwrap();
        assert_eq!(c.listen.port(), 2000);
        assert_eq!(c.admin.port(), 1001);
        assert_eq!(c.domains, ["a.test", "b.test"]);
        assert_eq!(c.origin(Key::Listen), &Source::Env);
        assert_eq!(
            c.labels.into_iter().collect::<Vec<_>>(),
            [(8000, "api".into())]
        );
        // Flags beat env.
        let flags = vec![
            flag(Key::Listen, "127.0.0.1:3000"),
            flag(Key::Domains, "Flag.Test."),
            flag(Key::HttpsPort, "8443"),
        ];
        let c = load_with(flags, &env).unwrap();
        assert_eq!(c.listen.port(), 3000);
        assert_eq!(c.domains, ["flag.test"]);
        assert_eq!(c.https_port, 8443);
        assert_eq!(c.origin(Key::HttpsPort), &Source::Flag);
        assert_eq!(Config::new(c, None, None).policy.own_ports, [1001, 3000]);
    }

    #[test]
    fn lists_and_switches() {
        let f = file("deny_ports = [22, \"9000-9100\"]\nallow_hosts = [\"*.corp.example\", \"10.0.0.0/8\"]\npreserve_host_ports = [3000]\nno_auth = true\n");
        let env = [("PORTPROXY_CONFIG", f.path().to_str().unwrap())];
        let c = load_with(Vec::new(), &env).unwrap();
        assert_eq!(c.deny_ports, [PortRange(22, 22), PortRange(9000, 9100)]);
        assert_eq!(c.allow_hosts.len(), 2);
        assert!(c.preserves_host(3000) && !c.preserves_host(3001));
        assert!(c.no_auth);
        let c = load_with(
            Vec::new(),
            &[
                ("PORTPROXY_DENY_PORTS", "none"),
                ("PORTPROXY_PRESERVE_HOST", "yes"),
            ],
        )
        .unwrap();
        assert!(c.deny_ports.is_empty());
        assert!(c.preserves_host(1));
    }

    #[test]
    fn a_reload_keeps_what_is_bound() {
        let running = load_with(vec![flag(Key::Listen, "127.0.0.1:3000")], &[]).unwrap();
        let mut new = load_with(
            vec![
                flag(Key::Listen, "127.0.0.1:4000"),
                flag(Key::Domains, "new.test"),
            ],
            &[],
        )
        .unwrap();
        assert!(new.keep_start_settings(&running));
        assert_eq!(
            (new.listen.port(), new.domains[0].as_str()),
            (3000, "new.test")
        );
        assert!(!new.clone().keep_start_settings(&new));
    }

    #[test]
    fn bad_values_name_key_value_and_source() {
        type Row = (Given, Vec<(&'static str, &'static str)>, &'static str);
        let rows: Vec<Row> = vec![
            (
                vec![flag(Key::Listen, "nonsense")],
                vec![],
                "invalid value `nonsense` for `--listen`",
            ),
            (
                vec![flag(Key::Listen, "127.0.0.1:0")],
                vec![],
                "invalid value `127.0.0.1:0` for `--listen`",
            ),
            (
                vec![flag(Key::Admin, "0.0.0.0:24307")],
                vec![],
                "invalid value `0.0.0.0:24307` for `--admin`",
            ),
            (
                vec![flag(Key::Domains, "bad_domain")],
                vec![],
                "invalid value `bad_domain` for `--domain`",
            ),
            (
                vec![flag(Key::DenyPorts, "70000")],
                vec![],
                "invalid value `70000` for `--deny-port`",
            ),
            (
                vec![flag(Key::AllowHosts, "10.0.0.0/40")],
                vec![],
                "invalid value `10.0.0.0/40` for `--allow-host`",
            ),
            (
                vec![flag(Key::Threads, "0")],
                vec![],
                "invalid value `0` for `--threads`",
            ),
            (
                vec![flag(Key::Labels, "5173=")],
                vec![],
                "invalid value `5173=` for `--label`",
            ),
            (
                vec![flag(Key::AuthToken, "short")],
                vec![],
                "invalid value `short` for `--auth-token`",
            ),
            (
                vec![flag(Key::Tls, "dns:Bad Name")],
                vec![],
                "invalid value `dns:Bad Name` for `--tls`",
            ),
            (
                Vec::new(),
                vec![("PORTPROXY_LISTEN", "127.0.0.1:99999")],
                "invalid value `127.0.0.1:99999` for `listen` (from PORTPROXY_LISTEN)",
            ),
            (
                Vec::new(),
                vec![("PORTPROXY_PRESERVE_HOST", "maybe")],
                "invalid value `maybe` for `preserve_host` (from PORTPROXY_PRESERVE_HOST)",
            ),
            (
                Vec::new(),
                vec![("PORTPROXY_DOMAINS", " , ")],
                "invalid value `` for `domains` (from PORTPROXY_DOMAINS)",
            ),
            (
                vec![flag(Key::Admin, "127.0.0.1:24306")],
                vec![],
                "`listen` and `admin` are both 127.0.0.1:24306",
            ),
        ];
        for (flags, env, want) in rows {
            let err = load_with(flags, &env).unwrap_err();
            assert_eq!(err.to_string(), want);
        }
        let err = load_with(vec![flag(Key::Listen, "nonsense")], &[]).unwrap_err();
        assert_eq!(
            err.help(),
            "expected IP:PORT with a port from 1 to 65535, e.g. 127.0.0.1:24306"
        );
    }

    #[test]
    fn bad_files() {
        let with_file = |text: &str| {
            let f = file(text);
            let err = load(Some(f.path()), &Vec::new(), &|_| None).unwrap_err();
            (err.to_string(), f.path().display().to_string())
        };
        let (err, path) = with_file("listen = \"x\"\n");
        assert_eq!(err, format!("invalid value `x` for `listen` (from {path})"));
        let (err, path) = with_file("listen = [\"127.0.0.1:1\"]\n");
        assert_eq!(
            err,
            format!("invalid value `[\"127.0.0.1:1\"]` for `listen` (from {path})")
        );
        let (err, _) = with_file("lisen = \"127.0.0.1:1\"\n");
        assert!(err.contains("unknown key `lisen`"), "{err}");
        let (err, _) = with_file("listen = \n");
        assert!(err.contains("is not valid"), "{err}");
        let err = load(Some(Path::new("/nonexistent/p.toml")), &Vec::new(), &|_| {
            None
        })
        .unwrap_err();
        assert!(matches!(err, ConfigError::FileUnreadable { .. }));
        // The default file is read only if it exists.
        assert!(load_with(Vec::new(), &[("XDG_CONFIG_HOME", "/nonexistent")]).is_ok());
    }
}

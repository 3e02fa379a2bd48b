//! The one error a command can end with: printed once as `error:` + `help:`, mapped to an
//! exit code.

use std::fmt;
use std::net::SocketAddr;

use crate::config::ConfigError;

#[derive(Debug)]
pub enum Error {
    Config(ConfigError),
    /// Something else holds a port we must listen on.
    PortInUse {
        key: &'static str,
        addr: SocketAddr,
        error: std::io::Error,
    },
}

impl Error {
    pub fn help(&self) -> Option<String> {
        match self {
            Error::Config(e) => Some(e.help()),
            Error::PortInUse { key, .. } => Some(format!(
                "stop the program using it (is another portproxy running?) or choose another with --{key}"
            )),
        }
    }

    pub fn exit_code(&self) -> u8 {
        2
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => e.fmt(f),
            Error::PortInUse { key, addr, error } => {
                write!(f, "cannot listen on {addr} (`{key}`): {error}")
            }
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

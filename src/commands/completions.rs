//! `portproxy completions SHELL` and the man page: generated from the clap definitions in
//! `cli`, so they say what `--help` says. The release archives carry copies (completions/,
//! man/), which a test keeps equal to what this prints.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::Error;

/// Prints the completion script for `shell` to stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<(), Error> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "portproxy", &mut script);
    write_out(&script)
}

/// Prints the man page (roff) to stdout. Its header names the version only: the build's
/// target and commit (the rest of `--version`) would change it with every commit.
pub(crate) fn man() -> Result<(), Error> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command().version(env!("CARGO_PKG_VERSION")))
        .render(&mut page)
        .map_err(stdout_error)?;
    write_out(&page)
}

/// `portproxy completions bash | head` is not an error.
fn write_out(bytes: &[u8]) -> Result<(), Error> {
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(stdout_error),
    }
}

fn stdout_error(error: std::io::Error) -> Error {
    Error::File {
        path: "stdout".into(),
        error,
    }
}

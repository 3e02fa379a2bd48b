//! `portproxy trust [--uninstall]` and `portproxy env`: the local CA in the trust stores, and
//! named for the programs that keep their own list (the stores: `caddy::trust`).

use crate::caddy::{trust, Paths};
use crate::cli::TrustArgs;
use crate::error::Error;
use crate::paths::process_env;

pub(crate) fn trust(args: TrustArgs) -> Result<(), Error> {
    let paths = Paths::from_env(&process_env)?;
    if args.uninstall {
        Ok(trust::untrust(&paths)?)
    } else {
        Ok(trust::trust(&paths)?)
    }
}

/// Shell exports on stdout, for `eval "$(portproxy env)"`.
pub(crate) fn env() -> Result<(), Error> {
    let paths = Paths::from_env(&process_env)?;
    print!(
        "{}",
        trust::exports(
            &paths.root_cert(),
            trust::system_bundle().as_deref(),
            cfg!(windows)
        )
    );
    Ok(())
}

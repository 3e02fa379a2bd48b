//! Children that die with portproxy (also tunnel tools, `share::tunnel`): Unix.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use super::Launch;

/// Own process group (a terminal's Ctrl-C reaches us, not Caddy; we stop it ourselves),
/// and on Linux a SIGTERM when we die, even by SIGKILL.
pub(crate) fn prepare(cmd: &mut Command) {
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

pub(crate) fn adopt(_child: &Child) {}

pub(crate) fn terminate(pid: u32, _launch: &Launch) {
    // SAFETY: kill(2) on the group we created; a stale pid at worst gets ESRCH.
    unsafe {
        libc::kill(-(pid as libc::pid_t), libc::SIGTERM);
    }
}

pub(crate) fn kill(pid: u32) {
    // SAFETY: as above.
    unsafe {
        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
    }
}

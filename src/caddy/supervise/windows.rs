//! Children that die with portproxy (also tunnel tools, `share::tunnel`): Windows.

use std::os::windows::io::AsRawHandle;
use std::process::{Child, Command};

use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
    SetInformationJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};

use super::Launch;

pub(crate) fn prepare(_cmd: &mut Command) {}

/// A Job Object that kills Caddy when the last handle to it closes, i.e. when we exit.
/// The handle is deliberately never closed.
pub(crate) fn adopt(child: &Child) {
    // SAFETY: plain Win32 calls on a handle we own; the info struct outlives the call.
    unsafe {
        let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
        if job.is_null() {
            return;
        }
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        SetInformationJobObject(
            job,
            JobObjectExtendedLimitInformation,
            &info as *const _ as *const core::ffi::c_void,
            std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        );
        AssignProcessToJobObject(job, child.as_raw_handle() as _);
    }
}

/// Windows has no SIGTERM: ask Caddy to stop through its admin API.
pub(crate) fn terminate(_pid: u32, launch: &Launch) {
    let _ = Command::new(&launch.caddy.path)
        .args(["stop", "--address", &launch.admin])
        .output();
}

pub(crate) fn kill(pid: u32) {
    let _ = Command::new("taskkill")
        .args(["/F", "/T", "/PID", &pid.to_string()])
        .output();
}

//! A program on a pseudo-terminal, as a person at a terminal runs it: what it printed, and
//! lines typed into it.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Terminal {
    child: Child,
    master: std::fs::File,
    seen: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Terminal {
    /// Starts `cmd` with the terminal as its stdin, stdout and stderr; `dir` lives as long.
    pub fn spawn(mut cmd: Command, dir: tempfile::TempDir) -> Terminal {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two descriptors, which are owned from here on.
        let (master, slave) = unsafe {
            let made = libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            );
            assert_eq!(made, 0, "openpty: {}", std::io::Error::last_os_error());
            (
                std::fs::File::from_raw_fd(master),
                OwnedFd::from_raw_fd(slave),
            )
        };
        cmd.stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        let child = cmd.spawn().expect("spawn on a terminal");
        // The parent's copies of the terminal's side close with `cmd`, so reads end at exit.
        drop(cmd);
        let seen = Arc::new(Mutex::new(String::new()));
        let mut reader = master.try_clone().unwrap();
        let into = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                into.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Terminal {
            child,
            master,
            seen,
            _dir: dir,
        }
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        self.seen.lock().unwrap().clone()
    }

    /// Waits up to `limit` for `needle` to be printed.
    pub async fn wait_for(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// Types `line` and Enter.
    pub fn type_line(&mut self, line: &str) {
        self.master
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    /// SIGTERM, then waits for the exit.
    pub async fn stop(&mut self) {
        // SAFETY: kill has no memory preconditions; the pid is our child's.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Runs the real `portproxy` binary on free ports; kills it on drop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::http::{self, Response};

/// A `portproxy` invocation being put together.
#[must_use]
pub struct Proxy {
    binary: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Variables taken out of its environment, the harness's own included.
    unset: Vec<String>,
    /// Runs in the test's temporary directory rather than the test binary's.
    own_dir: bool,
    /// Settings for a config file (with `listen` and `admin`) instead of flags.
    file: Option<String>,
    /// Run as this unprivileged user (`setpriv`), with a data directory it may write.
    user: Option<(String, String)>,
    /// How long it may take to answer `/healthz`.
    startup: Duration,
}

/// The public domain the tests serve (nothing resolves it: requests carry it as Host).
pub const PUBLIC: &str = "dev.example.com";

impl Default for Proxy {
    fn default() -> Self {
        Self::new()
    }
}

impl Proxy {
    /// `portproxy serve` on two free loopback ports.
    pub fn new() -> Proxy {
        Proxy::command(&["serve"])
    }

    /// `portproxy serve` with the public domain `PUBLIC` (sign-in on, a token generated in
    /// the test's own config directory unless the test gives one).
    pub fn public() -> Proxy {
        Proxy::new().domain(PUBLIC)
    }

    /// `portproxy run` with Caddy on these HTTP and HTTPS ports.
    #[cfg(target_os = "linux")]
    pub fn run(http: u16, https: u16) -> Proxy {
        Proxy::command(&[
            "run",
            "--http-port",
            &http.to_string(),
            "--https-port",
            &https.to_string(),
        ])
    }

    /// A command other than `serve` (the args replace the default).
    pub fn command(args: &[&str]) -> Proxy {
        Proxy {
            binary: env!("CARGO_BIN_EXE_portproxy").into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
            unset: Vec::new(),
            own_dir: false,
            file: None,
            user: None,
            startup: Duration::from_secs(15),
        }
    }

    /// Runs this copy of portproxy instead of the one cargo built (the Linux-only
    /// self-update tests replace it).
    #[cfg(target_os = "linux")]
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Proxy {
        self.binary = path.into();
        self
    }

    /// Runs a Windows build under wine instead (`wine EXE ARGS`, tests/windows.rs).
    #[cfg(target_os = "linux")]
    pub fn under_wine(mut self, exe: &std::path::Path) -> Proxy {
        self.args.insert(0, exe.display().to_string());
        self.binary = "wine".into();
        // Wine's own start-up is seconds more (13 s seen on a busy 2-core machine).
        self.startup = Duration::from_secs(60);
        self
    }

    /// One more base domain (`--domain`).
    pub fn domain(self, name: &str) -> Proxy {
        self.arg("--domain").arg(name)
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Proxy {
        self.args.push(arg.into());
        self
    }

    /// Puts `listen`, `admin` and these TOML lines in a config file (`Running::config_file`)
    /// rather than on the command line, so a test can change them and reload.
    #[cfg(target_os = "linux")]
    pub fn config(mut self, toml: &str) -> Proxy {
        self.file = Some(toml.to_string());
        self
    }

    /// Runs portproxy as `user:group` through `setpriv` (the tests run as root on CI).
    #[cfg(target_os = "linux")]
    pub fn run_as(mut self, user: &str, group: &str) -> Proxy {
        self.user = Some((user.into(), group.into()));
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Proxy {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Takes `key` out of its environment (also the `XDG_*` directories the harness sets).
    pub fn unset(mut self, key: &str) -> Proxy {
        self.unset.push(key.into());
        self
    }

    /// Runs it in the test's temporary directory, so nothing it writes to its working
    /// directory lands in the repository.
    pub fn in_own_dir(mut self) -> Proxy {
        self.own_dir = true;
        self
    }

    fn command_line(&self, dir: &tempfile::TempDir) -> Command {
        let mut cmd = match &self.user {
            Some((user, group)) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let open = std::fs::Permissions::from_mode(0o777);
                    std::fs::set_permissions(dir.path(), open).unwrap();
                }
                let mut cmd = Command::new("setpriv");
                cmd.arg(format!("--reuid={user}"))
                    .arg(format!("--regid={group}"))
                    .arg("--clear-groups")
                    .arg(&self.binary);
                cmd
            }
            None => Command::new(&self.binary),
        };
        cmd.args(&self.args);
        for (key, _) in std::env::vars() {
            if key.starts_with("PORTPROXY_") {
                cmd.env_remove(key);
            }
        }
        // Never read the developer's own config file or touch their data, nor their hosts
        // file: where they ran `hosts --sync`, every test's portproxy would keep it.
        cmd.env("XDG_CONFIG_HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("PORTPROXY_HOSTS_FILE", dir.path().join("hosts"))
            .env("RUST_LOG", "info");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for key in &self.unset {
            cmd.env_remove(key);
        }
        if self.own_dir {
            cmd.current_dir(dir.path());
        }
        cmd
    }

    /// Starts the proxy on a pseudo-terminal, as a person at a terminal does.
    #[cfg(target_os = "linux")]
    pub fn on_terminal(self) -> super::terminal::Terminal {
        let dir = tempfile::tempdir().unwrap();
        let (cmd, _, _) = self.listening(&dir);
        super::terminal::Terminal::spawn(cmd, dir)
    }

    /// The command line with the listen and admin addresses (on the command line, or in the
    /// config file of `Proxy::config`).
    fn listening(&self, dir: &tempfile::TempDir) -> (Command, SocketAddr, SocketAddr) {
        let (listen, admin) = free_pair();
        let mut cmd = self.command_line(dir);
        if let Some(toml) = &self.file {
            let path = dir.path().join("config.toml");
            std::fs::write(
                &path,
                format!("listen = \"{listen}\"\nadmin = \"{admin}\"\n{toml}"),
            )
            .unwrap();
            cmd.arg("--config").arg(path);
        } else {
            if !self.args.iter().any(|a| a == "--listen") {
                cmd.arg("--listen").arg(listen.to_string());
            }
            if !self.args.iter().any(|a| a == "--admin") {
                cmd.arg("--admin").arg(admin.to_string());
            }
        }
        (cmd, listen, admin)
    }

    /// Starts the proxy and waits until `/healthz` answers.
    pub async fn start(self) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stderr.log");
        let (mut cmd, listen, admin) = self.listening(&dir);
        cmd.stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        let child = spawn(&mut cmd);
        let mut running = Running {
            child,
            addr: listen,
            admin,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + self.startup;
        loop {
            if let Ok(Some(status)) = running.child.try_wait() {
                panic!(
                    "portproxy exited during startup ({status}):\n{}",
                    running.log()
                );
            }
            if let Ok(Ok(stream)) = tokio::time::timeout(
                Duration::from_millis(500),
                tokio::net::TcpStream::connect(admin),
            )
            .await
            {
                drop(stream);
                let health = http::get(admin, &admin.to_string(), "/healthz", &[]).await;
                if health.status == 200 && tokio::net::TcpStream::connect(listen).await.is_ok() {
                    return running;
                }
            }
            assert!(
                Instant::now() < deadline,
                "portproxy not ready in {:?}:\n{}",
                self.startup,
                running.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Runs to completion (for commands expected to fail fast).
    pub fn output(self) -> Output {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = self.command_line(&dir);
        let mut child = spawn(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().ok();
                panic!("portproxy {:?} did not exit in 10 s", self.args);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }
}

/// Starts `cmd`. A binary a test has just copied can be briefly busy (ETXTBSY): another
/// test's child forked while the copy's file was still open holds it until that child execs.
fn spawn(cmd: &mut Command) -> Child {
    const TEXT_FILE_BUSY: i32 = 26;
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(TEXT_FILE_BUSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other.expect("spawn portproxy"),
        }
    }
}

/// A free loopback address (bound, then released).
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Two different free loopback addresses: both held while the second is picked, so the
/// kernel can't hand out the first one again.
pub fn free_pair() -> (SocketAddr, SocketAddr) {
    let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let second = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (first.local_addr().unwrap(), second.local_addr().unwrap())
}

/// A running proxy.
pub struct Running {
    child: Child,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Running {
    /// Caddy's local CA root, once `run` has started Caddy.
    #[cfg(target_os = "linux")]
    pub fn caddy_root(&self) -> PathBuf {
        self._dir
            .path()
            .join("data/portproxy/caddy/pki/authorities/local/root.crt")
    }

    /// portproxy's data directory (Caddy's storage, the Caddyfile, the proxy's sockets,
    /// `instance.json`).
    pub fn data_dir(&self) -> PathBuf {
        self._dir.path().join("data/portproxy")
    }

    /// The control channel's `instance.json`, as this instance published it.
    pub fn instance(&self) -> serde_json::Value {
        let path = self.data_dir().join("instance.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Another portproxy command with this instance's environment (its data directory), run
    /// to completion.
    pub fn command(&self, args: &[&str]) -> Output {
        self.command_with(args, &[])
    }

    /// `command` with `env` on top of this instance's environment.
    pub fn command_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portproxy"));
        cmd.args(args)
            .env("XDG_CONFIG_HOME", self._dir.path())
            .env("XDG_DATA_HOME", self._dir.path().join("data"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars() {
            if key.starts_with("PORTPROXY_") {
                cmd.env_remove(key);
            }
        }
        // As the instance's: never the developer's hosts file.
        cmd.env("PORTPROXY_HOSTS_FILE", self._dir.path().join("hosts"));
        cmd.envs(env.iter().copied());
        let child = spawn(&mut cmd);
        child.wait_with_output().unwrap()
    }

    /// The config file written by `Proxy::config`.
    #[cfg(target_os = "linux")]
    pub fn config_file(&self) -> PathBuf {
        self._dir.path().join("config.toml")
    }

    /// The Caddyfile `run` gave Caddy.
    #[cfg(target_os = "linux")]
    pub fn caddyfile(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("data/portproxy/Caddyfile")).unwrap()
    }

    /// Waits until `run`'s start banner says Caddy serves HTTPS on `https`.
    #[cfg(target_os = "linux")]
    pub async fn wait_for_caddy(&self, https: u16) {
        assert!(
            self.log_contains(&format!("https://PORT.localhost:{https}/"))
                .await,
            "{}",
            self.log()
        );
    }

    /// The pid of the Caddy this proxy started.
    #[cfg(target_os = "linux")]
    pub fn caddy_pid(&self) -> Option<u32> {
        let out = Command::new("pgrep")
            .args(["-P", &self.pid().to_string(), "caddy"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// `5173.localhost:PROXYPORT`: the host naming `port` through this proxy.
    pub fn host(&self, port: u16) -> String {
        format!("{port}.localhost:{}", self.addr.port())
    }

    pub async fn get(&self, host: &str, path: &str) -> Response {
        http::get(self.addr, host, path, &[]).await
    }

    pub async fn get_with(&self, host: &str, path: &str, extra: &[(&str, &str)]) -> Response {
        http::get(self.addr, host, path, extra).await
    }

    pub async fn admin_get(&self, path: &str) -> Response {
        http::get(self.admin, &self.admin.to_string(), path, &[]).await
    }

    /// Everything the proxy wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle` (log lines are written after the response).
    pub async fn log_contains(&self, needle: &str) -> bool {
        for _ in 0..100 {
            if self.log().contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    #[cfg(unix)]
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Waits for the process to exit.
    #[cfg(unix)]
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// A `/proc/PID/status` field in KiB (VmRSS, VmHWM).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{field} not in /proc status"))
    }

    /// Waits (up to 2 s) for a metric to reach `value`: requests are counted in the logging
    /// phase, after the response has gone out. Returns the last value seen.
    pub async fn metric_reaches(&self, name: &str, value: i64) -> i64 {
        let mut seen = self.metric(name).await;
        for _ in 0..100 {
            if seen == value {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            seen = self.metric(name).await;
        }
        seen
    }

    /// The value of one metric line from `/metrics` (e.g. `portproxy_websocket_tunnels`).
    pub async fn metric(&self, name: &str) -> i64 {
        let text = self.admin_get("/metrics").await.text();
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("metric {name} missing:\n{text}"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

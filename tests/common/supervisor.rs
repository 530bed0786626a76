//! supervisord (from `.venv`, see `tests/requirements.txt`) running the repository's
//! `supervisord.conf`, with the emulator standing in for the Go API. Included by
//! `tests/procs/supervisord.rs` as `#[path = "../common/supervisor.rs"] mod supervisor;`.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::common::{
    binary::{BIN, free_port},
    leaks,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The tenant settings both programs read from the environment supervisord hands down.
pub const TENANT_ID: &str = "tenant-supervisord";
pub const TENANT_SECRET: &str = "tenant-secret-for-the-supervisord-test";
pub const JWT_SECRET: &str = "jwt-secret-for-the-supervisord-test-0123";
pub const TENANT_ENV: &[(&str, &str)] = &[
    ("TOOLBRIDGE_TENANT_ID", TENANT_ID),
    ("TENANT_HEADER_SECRET", TENANT_SECRET),
    ("JWT_HS256_SECRET", JWT_SECRET),
];

/// The directory holding `supervisord` and `supervisorctl`: `.venv/bin`, else on `PATH`.
/// Panics (rather than skipping) when neither has it.
fn supervisor_dir() -> PathBuf {
    let venv = Path::new(ROOT).join(".venv/bin");
    if venv.join("supervisord").exists() {
        return venv;
    }
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).find(|d| d.join("supervisord").exists()))
        .expect("supervisord not found: run .ci/run, or pip install -r tests/requirements.txt")
}

/// The status code of `GET path` on 127.0.0.1:port, or None if it did not answer.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

/// supervisord running the repository's supervisord.conf, with only the paths changed:
/// the binaries are the test build (the emulator plays the API), `/tmp` is a temp dir.
pub struct Supervisor {
    child: Child,
    output: Arc<Mutex<String>>,
    bin_dir: PathBuf,
    conf_path: PathBuf,
    pub gateway_port: u16,
    pub metrics_port: u16,
    _dir: tempfile::TempDir,
}

impl Supervisor {
    pub fn start(env: &[(&str, &str)]) -> Self {
        let bin_dir = supervisor_dir();
        let dir = tempfile::tempdir().unwrap();
        let (api_port, gateway_port, metrics_port) = (free_port(), free_port(), free_port());
        let mut conf = std::fs::read_to_string(Path::new(ROOT).join("supervisord.conf"))
            .expect("supervisord.conf");
        let tmp = format!("{}/", dir.path().display());
        let api = format!("{BIN} emulator --host 127.0.0.1 --port {api_port}");
        // `/tmp/` first: the binary's own path may lie below /tmp (a CI checkout there).
        for (from, to) in [
            ("/tmp/", tmp.as_str()),
            ("/usr/local/bin/toolbridge-api", api.as_str()),
            ("/usr/local/bin/toolbridge-mcp", BIN),
            // The test may run as root, with no `toolbridge` user to switch to.
            ("\nuser=toolbridge\n", "\n"),
        ] {
            assert!(
                conf.contains(from),
                "supervisord.conf no longer has {from:?}"
            );
            conf = conf.replace(from, to);
        }
        let conf_path = dir.path().join("supervisord.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut cmd = Command::new(bin_dir.join("supervisord"));
        cmd.arg("-c")
            .arg(&conf_path)
            .current_dir(dir.path()) // no stray ./.env
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TOOLBRIDGE_HOST", "127.0.0.1")
            .env("TOOLBRIDGE_PORT", gateway_port.to_string())
            .env("TOOLBRIDGE_METRICS_PORT", metrics_port.to_string())
            .env(
                "TOOLBRIDGE_GO_API_BASE_URL",
                format!("http://127.0.0.1:{api_port}"),
            );
        if leaks::dir().is_some() {
            // Watching for leaks: both programs log at debug, and all of it is kept.
            cmd.env("RUST_LOG", "debug");
        }
        leaks::watch();
        leaks::record(
            env.iter()
                .filter(|(k, _)| k.contains("SECRET") || k.contains("TOKEN"))
                .map(|(_, v)| *v),
        );
        cmd.envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("supervisord starts");
        let output = Arc::new(Mutex::new(String::new()));
        let pipes: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for mut pipe in pipes {
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    output
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Self {
            child,
            output,
            bin_dir,
            conf_path,
            gateway_port,
            metrics_port,
            _dir: dir,
        }
    }

    /// Everything supervisord and its programs wrote so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// `supervisorctl -c <this conf> args...`: its stdout, whatever its exit status
    /// (`status` exits non-zero while a program is not RUNNING).
    pub fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new(self.bin_dir.join("supervisorctl"))
            .arg("-c")
            .arg(&self.conf_path)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("supervisorctl runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The state and pid of a program from one `supervisorctl status` line, e.g.
    /// `mcp  RUNNING   pid 1234, uptime 0:00:05` gives `("RUNNING", Some(1234))`.
    pub fn state(&self, program: &str) -> (String, Option<u32>) {
        let line = self.ctl(&["status", program]);
        let mut words = line.split_whitespace();
        let state = match words.next() {
            Some(name) if name == program => words.next().unwrap_or("UNKNOWN"),
            _ => "UNKNOWN",
        };
        let pid = (state == "RUNNING")
            .then(|| {
                line.split_once(" pid ")?
                    .1
                    .split(',')
                    .next()?
                    .trim()
                    .parse()
                    .ok()
            })
            .flatten();
        (state.to_owned(), pid)
    }

    /// Waits (up to `limit`) until `program` is RUNNING with a pid other than `not`, and
    /// gives that pid.
    pub fn wait_running(&self, program: &str, not: Option<u32>, limit: Duration) -> u32 {
        let deadline = Instant::now() + limit;
        loop {
            let (state, pid) = self.state(program);
            match pid {
                Some(pid) if Some(pid) != not => return pid,
                _ => assert!(
                    Instant::now() < deadline,
                    "{program} is {state}, not RUNNING (again) after {limit:?}; \
                     supervisord said:\n{}",
                    self.output()
                ),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (up to `limit`) until `GET path` on the gateway's port answers 200.
    pub fn wait_http_ok(&self, path: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while http_status(self.gateway_port, path) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "the gateway's {path} never answered 200 within {limit:?}; \
                 supervisord said:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits up to `limit` for supervisord to exit, and gives its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(200)); // let the readers drain
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// Asks supervisord to stop (SIGTERM): it stops its programs, then exits.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }
}

/// Sends `SIG<name>` to `pid`, asserting that `kill` accepted it.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {pid} failed");
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        // Graceful first, so supervisord stops its children; SIGKILL only as a last resort.
        if self.child.try_wait().ok().flatten().is_none() {
            self.terminate();
            if self.wait_exit(Duration::from_secs(30)).is_none() {
                let _ = self.child.kill();
            }
        }
        // What supervisord and both programs wrote, for the leak scan.
        if let Some(path) = leaks::binary_log_path() {
            let _ = std::fs::write(path, self.output());
        }
    }
}

//! Runs the real `toolbridge-mcp` binary as a child process.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The path of the built binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_toolbridge-mcp");

/// A free loopback port (bound, then released for the child to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running gateway binary, killed on drop. Its stderr goes to a file (a pipe nobody
/// drains would block the child once full).
pub struct Gateway {
    pub child: Child,
    pub port: u16,
    log: std::path::PathBuf,
    /// Kept for the leak scan; otherwise removed on drop.
    keep_log: bool,
}

impl Gateway {
    /// Starts `toolbridge-mcp serve` against `api` with extra env, and waits for /healthz.
    pub fn start(api: &str, extra: &[(&str, &str)]) -> Self {
        Self::start_on(free_port(), api, extra)
    }

    /// [`Gateway::start`] on a port chosen beforehand (when the configuration names it).
    pub fn start_on(port: u16, api: &str, extra: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TOOLBRIDGE_TENANT_ID", super::TENANT)
            .env("TENANT_HEADER_SECRET", super::TENANT_SECRET)
            .env("TOOLBRIDGE_GO_API_BASE_URL", api)
            .env("TOOLBRIDGE_HOST", "127.0.0.1")
            .env("TOOLBRIDGE_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let (log, keep_log) = match super::leaks::binary_log_path() {
            // Watching for leaks: debug logs, kept in the leak folder for the scan.
            Some(path) => {
                cmd.env("RUST_LOG", "debug");
                (path, true)
            }
            None => (
                tempfile::NamedTempFile::new()
                    .unwrap()
                    .into_temp_path()
                    .keep()
                    .unwrap(),
                false,
            ),
        };
        cmd.stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        super::leaks::record(
            extra
                .iter()
                // Secrets and tokens, not every key that merely names one (TOKEN_EXCHANGE_URL).
                .filter(|(k, _)| k.ends_with("SECRET") || *k == "TOOLBRIDGE_TOKEN")
                .map(|(_, v)| *v),
        );
        let child = cmd.spawn().expect("binary starts");
        let gw = Self {
            child,
            port,
            log,
            keep_log,
        };
        gw.wait_ready();
        gw
    }

    /// Everything the binary logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("gateway binary did not start listening on {}", self.port);
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep_log {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// The Python interpreter with the test packages (the venv `.ci/run` makes), or python3.
pub fn python() -> String {
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
    if std::path::Path::new(venv).exists() {
        venv.to_owned()
    } else {
        "python3".to_owned()
    }
}

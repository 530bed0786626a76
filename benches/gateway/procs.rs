//! The processes of a run: the gateway (the real release binary, so its RSS and CPU can be
//! read from /proc), the API emulator (this bench binary re-executed with
//! `--emulator-child`, or in-process when no separate executable is at hand), and /proc.

use std::{
    io::{BufRead, BufReader, Read},
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use toolbridge_mcp::emulator::{Emulator, EmulatorConfig, EmulatorHandle};

pub const TENANT: &str = "bench-tenant";
pub const TENANT_SECRET: &str = "bench-tenant-secret-0123456789";
pub const JWT_SECRET: &str = "bench-jwt-secret-abcdefghijklmnop";

/// The emulator as the bench runs it: no rate limit, no request log.
pub fn emulator_config() -> EmulatorConfig {
    EmulatorConfig {
        jwt_hs256_secret: JWT_SECRET.into(),
        tenant_id: TENANT.into(),
        tenant_header_secret: Some(TENANT_SECRET.into()),
        rate_limit: None,
        record_requests: false,
        ..EmulatorConfig::default()
    }
}

/// The current generation, limits off like the seed one: the bench user's organization
/// service knows no one, so every user's tenant is the default one, `TENANT`.
pub fn current_emulator_config() -> EmulatorConfig {
    EmulatorConfig {
        jwt_hs256_secret: JWT_SECRET.into(),
        tenant_id: TENANT.into(),
        default_tenant_id: TENANT.into(),
        memberships: Some(Default::default()),
        rate_limit: None,
        auth_rate_limit: None,
        record_requests: false,
        ..EmulatorConfig::current()
    }
}

/// Where the emulator runs.
#[derive(Clone, Debug)]
pub enum EmuSpawn {
    /// Its own process: this executable with `--emulator-child`.
    Child(PathBuf),
    /// A task in the bench process (its CPU is then mixed with the client's).
    InProcess,
}

/// A running emulator.
pub enum Emu {
    Child { child: Child, base: String },
    InProcess(EmulatorHandle),
}

impl Emu {
    /// Starts an emulator that delays every session and entity request by `delay`.
    pub async fn start(how: &EmuSpawn, delay: Duration) -> Emu {
        Self::start_generation(how, delay, false).await
    }

    /// `current`: the current API generation instead of the seed one.
    pub async fn start_generation(how: &EmuSpawn, delay: Duration, current: bool) -> Emu {
        let cfg = if current {
            current_emulator_config()
        } else {
            emulator_config()
        };
        match how {
            EmuSpawn::InProcess => {
                let h = Emulator::spawn(cfg, "127.0.0.1:0".parse().unwrap())
                    .await
                    .expect("emulator starts");
                h.emulator.faults().set_delay(delay);
                Emu::InProcess(h)
            }
            EmuSpawn::Child(exe) => {
                let mut child = Command::new(exe)
                    .args(["--emulator-child", &delay.as_micros().to_string()])
                    .args(current.then_some("current"))
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .expect("emulator child starts");
                let mut line = String::new();
                BufReader::new(child.stdout.take().unwrap())
                    .read_line(&mut line)
                    .expect("emulator child prints its port");
                let port: u16 = line.trim().parse().expect("a port");
                Emu::Child {
                    child,
                    base: format!("http://127.0.0.1:{port}"),
                }
            }
        }
    }

    pub fn base_url(&self) -> String {
        match self {
            Emu::Child { base, .. } => base.clone(),
            Emu::InProcess(h) => h.base_url(),
        }
    }

    /// The emulator's pid when it has a process of its own.
    pub fn pid(&self) -> Option<u32> {
        match self {
            Emu::Child { child, .. } => Some(child.id()),
            Emu::InProcess(_) => None,
        }
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if let Emu::Child { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `--emulator-child <delay µs>`: serve an emulator, print its port, exit when stdin closes.
pub fn emulator_child_main(delay_us: u64, current: bool) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let cfg = if current {
            current_emulator_config()
        } else {
            emulator_config()
        };
        let h = Emulator::spawn(cfg, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("emulator binds");
        h.emulator
            .faults()
            .set_delay(Duration::from_micros(delay_us));
        println!("{}", h.addr.port());
        // The parent holds our stdin: its end (or death) ends us.
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        })
        .await
        .ok();
    });
}

/// The gateway binary, `serve`, with a clean environment.
pub struct GatewayProc {
    child: Child,
    pub port: u16,
}

impl GatewayProc {
    /// Starts `bin serve` against `api` and waits until it accepts connections.
    pub fn start(bin: &str, api: &str, session_mode: &str, stateless: bool) -> GatewayProc {
        Self::start_with(bin, api, session_mode, stateless, &[])
    }

    /// With more `TOOLBRIDGE_*` settings (tenant mode, backend auth, ...).
    pub fn start_with(
        bin: &str,
        api: &str,
        session_mode: &str,
        stateless: bool,
        extra: &[(&str, &str)],
    ) -> GatewayProc {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Logs stay at the default level (`info`: one line per call, as in production);
        // BENCH_GATEWAY_LOG=file keeps them.
        let log = match std::env::var_os("BENCH_GATEWAY_LOG") {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
            None => Stdio::null(),
        };
        let mut cmd = Command::new(bin);
        cmd.env_clear();
        cmd.arg("serve")
            .env("TOOLBRIDGE_TENANT_ID", TENANT)
            .env("TENANT_HEADER_SECRET", TENANT_SECRET)
            .env("TOOLBRIDGE_JWT_HS256_SECRET", JWT_SECRET)
            .env("TOOLBRIDGE_GO_API_BASE_URL", api)
            .env("TOOLBRIDGE_HOST", "127.0.0.1")
            .env("TOOLBRIDGE_PORT", port.to_string())
            .env("TOOLBRIDGE_SESSION_MODE", session_mode)
            .env("TOOLBRIDGE_STATELESS", stateless.to_string())
            .envs(extra.iter().copied());
        // BENCH_GATEWAY_ENV="K=V K2=V2": extra variables for experiments (LD_PRELOAD=...,
        // TOOLBRIDGE_SESSION_MODE=reuse); set last, so they win over the line's own.
        for kv in std::env::var("BENCH_GATEWAY_ENV")
            .unwrap_or_default()
            .split_whitespace()
        {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the gateway binary {bin}: {e}"));
        let gw = GatewayProc { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the gateway did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        gw
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }
}

impl Drop for GatewayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Clock ticks per second of /proc/<pid>/stat times.
pub fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// User + system CPU seconds of a process (`None`: the process is gone).
pub fn cpu_seconds(pid: u32, tck: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / tck)
}

/// A `VmRSS`/`VmHWM`-style line of /proc/<pid>/status, in KiB.
pub fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Resident set size of a process, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    status_kib(pid, "VmRSS").unwrap_or(0) as f64 / 1024.0
}

//! Peak gateway memory while many worst-case request bodies arrive at once (issue 12).
//! Prints numbers; asserts nothing. See BENCHMARKS.md, "Memory under hostile bodies".
//!
//! ```text
//! cargo bench --bench memory                  # 8 and 64 concurrent bodies, ~1 minute
//! cargo bench --bench memory -- --quick       # 8 only
//! cargo bench --bench memory -- --concurrency 150 --only note   # Fly's request hard limit
//! BENCH_GATEWAY_BIN=/path/to/old/toolbridge-mcp cargo bench --bench memory   # another build
//! ```
//!
//! Every line is a fresh gateway (the release binary, stateful, default limits), so its
//! `VmHWM` is that line's peak. Each of the `c` clients is its own user with its own MCP
//! session; all send their body at the same moment. Each line runs twice, each time under a
//! data-segment limit (`prlimit --data`): once with room (4 GiB, `BENCH_MEMORY_ROOM_MIB`;
//! a limit all the same, so a build that would take tens of GiB dies instead of taking the
//! machine), for the peak; and once with `BENCH_MEMORY_CAP_MIB` (default 512, the Fly VM's
//! memory), to see whether the process lives.

#[allow(dead_code)]
#[path = "gateway/procs.rs"]
mod procs;

use std::{
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use procs::{Emu, EmuSpawn, JWT_SECRET, TENANT, TENANT_SECRET, status_kib};
use toolbridge_mcp::emulator::mint_hs256;

/// The bodies of a run.
#[derive(Clone, Copy)]
enum Kind {
    /// The issue's body: a `ping` whose params hold a JSON array of two million zeros (4 MiB).
    Zeros4MiB,
    /// The same kind of array, filling 1 MiB (the new default body limit).
    Zeros1MiB,
    /// A valid `create_note` whose content fills 1 MiB: the largest request that is run.
    Note1MiB,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Zeros4MiB => "ping, 4 MiB of zeros",
            Kind::Zeros1MiB => "ping, 1 MiB of zeros",
            Kind::Note1MiB => "create_note, 1 MiB text",
        }
    }

    fn body(self) -> Bytes {
        const MIB: usize = 1024 * 1024;
        let (head, tail, fill, size): (&str, &str, &[u8], usize) = match self {
            Kind::Zeros4MiB => (
                r#"{"jsonrpc":"2.0","id":2,"method":"ping","params":{"pad":[0"#,
                "]}}",
                b",0",
                4 * MIB,
            ),
            Kind::Zeros1MiB => (
                r#"{"jsonrpc":"2.0","id":2,"method":"ping","params":{"pad":[0"#,
                "]}}",
                b",0",
                MIB,
            ),
            Kind::Note1MiB => (
                r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"big","content":""#,
                r#""}}}"#,
                b"ab",
                MIB,
            ),
        };
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(head.as_bytes());
        while out.len() + fill.len() + tail.len() <= size {
            out.extend_from_slice(fill);
        }
        out.extend_from_slice(tail.as_bytes());
        Bytes::from(out)
    }
}

struct Gateway {
    child: Child,
    port: u16,
}

impl Gateway {
    fn start(bin: &str, api: &str, cap_mib: u64) -> Gateway {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new("/usr/bin/prlimit");
        cmd.arg(format!("--data={}", cap_mib * 1024 * 1024))
            .arg("--")
            .arg(bin);
        cmd.env_clear()
            .arg("serve")
            .env("TOOLBRIDGE_TENANT_ID", TENANT)
            .env("TENANT_HEADER_SECRET", TENANT_SECRET)
            .env("TOOLBRIDGE_JWT_HS256_SECRET", JWT_SECRET)
            .env("TOOLBRIDGE_GO_API_BASE_URL", api)
            .env("TOOLBRIDGE_HOST", "127.0.0.1")
            .env("TOOLBRIDGE_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("the gateway starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the gateway did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Gateway { child, port }
    }

    /// The gateway's own pid (prlimit execs it, so it is the child's).
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One line: `c` users, each with a session, all posting `body` at once.
struct Outcome {
    idle_mib: f64,
    peak_mib: f64,
    statuses: String,
    alive: bool,
    secs: f64,
}

async fn run(bin: &str, api: &str, kind: Kind, c: usize, cap: u64) -> Outcome {
    let mut gw = Gateway::start(bin, api, cap);
    let url = format!("http://127.0.0.1:{}/mcp", gw.port);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let mut sessions = Vec::new();
    for i in 0..c {
        let auth = format!(
            "Bearer {}",
            mint_hs256(JWT_SECRET, &format!("mem-{i}"), Duration::from_secs(3600))
        );
        sessions.push((auth.clone(), open(&http, &url, &auth).await));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle_mib = status_kib(gw.pid(), "VmRSS").unwrap_or(0) as f64 / 1024.0;
    let body = kind.body();
    // VmHWM is the peak, but a process that dies takes it along: sample it meanwhile.
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let (peak, pid) = (peak.clone(), gw.pid());
        tokio::spawn(async move {
            while let Some(kib) = status_kib(pid, "VmHWM") {
                peak.fetch_max(kib, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let go = Arc::new(tokio::sync::Barrier::new(c));
    let started = Instant::now();
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|(auth, sid)| {
            let (http, url, body, go) = (http.clone(), url.clone(), body.clone(), go.clone());
            tokio::spawn(async move {
                go.wait().await;
                let mut req = http
                    .post(&url)
                    .header("authorization", auth)
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .header("mcp-protocol-version", "2025-06-18");
                if let Some(sid) = sid {
                    req = req.header("mcp-session-id", sid);
                }
                match req.body(body).send().await {
                    Ok(r) => {
                        let status = r.status().as_u16().to_string();
                        let _ = r.bytes().await;
                        status
                    }
                    Err(_) => "conn".to_owned(),
                }
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap()).or_default() += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let last = status_kib(gw.pid(), "VmHWM").unwrap_or(0);
    sampler.abort();
    let peak_mib = peak.load(std::sync::atomic::Ordering::Relaxed).max(last) as f64 / 1024.0;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let alive = gw.alive()
        && http
            .get(format!("http://127.0.0.1:{}/healthz", gw.port))
            .send()
            .await
            .is_ok();
    let statuses = statuses
        .into_iter()
        .map(|(s, n)| format!("{n}x{s}"))
        .collect::<Vec<_>>()
        .join(" ");
    Outcome {
        idle_mib,
        peak_mib,
        statuses,
        alive,
        secs,
    }
}

/// `initialize` + `notifications/initialized`; the session id (none if refused).
async fn open(http: &reqwest::Client, url: &str, auth: &str) -> Option<String> {
    let post = |body: &'static str, sid: Option<&str>| {
        let mut r = http
            .post(url)
            .header("authorization", auth)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body);
        if let Some(s) = sid {
            r = r
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", "2025-06-18");
        }
        r.send()
    };
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;
    let resp = post(init, None).await.ok()?;
    let sid = resp
        .headers()
        .get("mcp-session-id")?
        .to_str()
        .ok()?
        .to_owned();
    let _ = resp.bytes().await;
    let _ = post(
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        Some(&sid),
    )
    .await;
    Some(sid)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--emulator-child") {
        return procs::emulator_child_main(0, false);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let value = |flag: &str| {
        let i = args.iter().position(|a| a == flag)?;
        args.get(i + 1).cloned()
    };
    let bin = std::env::var("BENCH_GATEWAY_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_toolbridge-mcp").to_owned());
    let mib = |var: &str, default: u64| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (room, cap) = (
        mib("BENCH_MEMORY_ROOM_MIB", 4096),
        mib("BENCH_MEMORY_CAP_MIB", 512),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        toolbridge_mcp::upstream::install_crypto_provider();
        let emu = Emu::start(
            &EmuSpawn::Child(std::env::current_exe().unwrap()),
            Duration::ZERO,
        )
        .await;
        println!("gateway: {bin}");
        println!(
            "peak: the gateway's VmHWM with a {room} MiB data limit; last column: alive or not with {cap} MiB"
        );
        println!(
            "{:<26} {:>3} {:>9} {:>9} {:>7}  {:<24} {:<18}",
            "body",
            "c",
            "idle MiB",
            "peak MiB",
            "secs",
            "answers",
            format!("under {cap} MiB")
        );
        let concurrency: Vec<usize> = match value("--concurrency") {
            Some(list) => list.split(',').filter_map(|c| c.trim().parse().ok()).collect(),
            None if quick => vec![8],
            None => vec![8, 64],
        };
        let kinds = [Kind::Zeros4MiB, Kind::Zeros1MiB, Kind::Note1MiB];
        let only = value("--only");
        let wanted = |k: &Kind| only.as_ref().is_none_or(|o| k.name().contains(o.as_str()));
        for kind in kinds.into_iter().filter(wanted) {
            for &c in &concurrency {
                let free = run(&bin, &emu.base_url(), kind, c, room).await;
                let capped = run(&bin, &emu.base_url(), kind, c, cap).await;
                let verdict = if capped.alive { "alive" } else { "DIED" };
                println!(
                    "{:<26} {:>3} {:>9.1} {:>9.1} {:>7.2}  {:<24} {verdict} ({})",
                    kind.name(),
                    c,
                    free.idle_mib,
                    free.peak_mib,
                    free.secs,
                    if free.alive {
                        free.statuses
                    } else {
                        format!("{} DIED", free.statuses)
                    },
                    capped.statuses,
                );
            }
        }
    });
}

//! Side-by-side benchmark of the gateway: MCP tool calls through the real release binary
//! versus the same REST sequence (open a sync session, then the operation) straight
//! against the API emulator. See BENCHMARKS.md for the command and a recorded run.
//!
//! ```text
//! cargo bench --bench gateway              # full run, about 2 minutes
//! cargo bench --bench gateway -- --quick   # smoke run, a few seconds
//! ```
//!
//! Three processes: this one (the client), the gateway binary (`toolbridge-mcp serve`,
//! built by `cargo bench` with the bench profile, i.e. release settings) and the emulator
//! (this executable re-run with `--emulator-child`). Nothing here asserts on timing.

#[path = "gateway/client.rs"]
mod client;
#[path = "gateway/load.rs"]
mod load;
#[path = "gateway/procs.rs"]
mod procs;
#[path = "gateway/report.rs"]
mod report;
#[path = "gateway/today.rs"]
mod today;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use client::{Direct, McpSession, Op, bearer, http_client};
use http::HeaderValue;
use load::{Cpu, Measured, Pids, Worker};
pub use procs::EmuSpawn;
use procs::{Emu, GatewayProc, clk_tck, rss_mib, status_kib};
pub use report::Report;
use report::{Clients, Kind, Line, Memory};

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Seconds instead of minutes: a smoke test.
    pub quick: bool,
    /// The gateway binary.
    pub bin: String,
    /// Where the emulator runs.
    pub emu: EmuSpawn,
    /// `--only A,B`: only the lines whose name contains one of these (for profiling one line;
    /// the phases are named `sessions`, `stateless`, `2026-07-28 clients` and `+5ms`; the
    /// 2026-07-28 tool lines end in `2026-07-28`). A piece ending in `$` must end the name:
    /// `get_note c=16$` is that line without its 2026-07-28 twin.
    pub only: Option<String>,
    /// `--window SECS`: measure each line this long instead.
    pub window: Option<f64>,
}

impl Options {
    fn wants(&self, line: &str) -> bool {
        self.only.as_ref().is_none_or(|o| {
            o.split(',').any(|part| match part.strip_suffix('$') {
                Some(end) => line.ends_with(end),
                None => line.contains(part),
            })
        })
    }
}

struct Plan {
    warm: Duration,
    window: Duration,
    concurrency: &'static [usize],
    sessions: usize,
    calls_per_session: usize,
    delay_concurrency: usize,
}

impl Plan {
    fn of(quick: bool) -> Plan {
        if quick {
            Plan {
                warm: Duration::from_millis(100),
                window: Duration::from_millis(300),
                concurrency: &[1, 16],
                sessions: 100,
                calls_per_session: 2,
                delay_concurrency: 16,
            }
        } else {
            Plan {
                warm: Duration::from_millis(500),
                window: Duration::from_secs(3),
                concurrency: &[1, 16, 64],
                sessions: 2000,
                calls_per_session: 4,
                delay_concurrency: 16,
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--emulator-child") {
        let delay_us = args.get(i + 1).and_then(|d| d.parse().ok()).unwrap_or(0);
        let current = args.get(i + 2).is_some_and(|g| g == "current");
        return procs::emulator_child_main(delay_us, current);
    }
    let value = |flag: &str| {
        let i = args.iter().position(|a| a == flag)?;
        args.get(i + 1).cloned()
    };
    let opts = Options {
        quick: args.iter().any(|a| a == "--quick"),
        only: value("--only"),
        window: value("--window").and_then(|w| w.parse().ok()),
        // BENCH_GATEWAY_BIN: another build of the gateway (one with symbols, for perf).
        bin: std::env::var("BENCH_GATEWAY_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_toolbridge-mcp").to_owned()),
        emu: EmuSpawn::Child(std::env::current_exe().expect("own path")),
    };
    let report = run_blocking(opts);
    print!("{report}");
}

/// Runs the benchmark on a fresh runtime and returns its report.
pub fn run_blocking(opts: Options) -> Report {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run(opts))
}

fn user(i: usize) -> HeaderValue {
    bearer(&format!("bench-user-{i}"))
}

/// Creates `per_user` notes for each of `users` users; returns each user's first uid.
pub(crate) async fn seed(direct: &Arc<Direct>, users: usize, per_user: usize) -> Vec<String> {
    let tasks: Vec<_> = (0..users)
        .map(|i| {
            let (direct, http) = (direct.clone(), http_client());
            tokio::spawn(async move {
                let auth = user(i);
                let mut first = String::new();
                for _ in 0..per_user {
                    let uid = direct.seed(&http, &auth).await.expect("seed note");
                    if first.is_empty() {
                        first = uid;
                    }
                }
                first
            })
        })
        .collect();
    let mut uids = Vec::new();
    for t in tasks {
        uids.push(t.await.expect("seed"));
    }
    uids
}

pub(crate) async fn gateway_workers(url: &str, op: Op, c: usize, uids: &[String]) -> Vec<Worker> {
    let http = http_client();
    let mut workers = Vec::with_capacity(c);
    for (i, uid) in uids.iter().enumerate().take(c) {
        let session = McpSession::open(&http, url, user(i))
            .await
            .expect("MCP session opens");
        workers.push(Worker::Gateway {
            http: http.clone(),
            session,
            op,
            uid: uid.clone(),
        });
    }
    workers
}

/// `c` 2026-07-28 clients: no handshake, the version in every call.
fn modern_workers(url: &str, op: Op, c: usize, uids: &[String]) -> Vec<Worker> {
    let http = http_client();
    (0..c)
        .map(|i| Worker::Gateway {
            http: http.clone(),
            session: McpSession::modern(url, user(i)),
            op,
            uid: uids[i].clone(),
        })
        .collect()
}

pub(crate) fn direct_workers(
    direct: &Arc<Direct>,
    op: Op,
    c: usize,
    uids: &[String],
) -> Vec<Worker> {
    let http = http_client();
    (0..c)
        .map(|i| Worker::Direct {
            http: http.clone(),
            direct: direct.clone(),
            auth: user(i),
            op,
            uid: uids[i].clone(),
        })
        .collect()
}

/// The whole run: lines per operation and concurrency, the many-sessions phase, and
/// `reuse` versus `per_call` with a slow API.
pub async fn run(opts: Options) -> Report {
    let mut plan = Plan::of(opts.quick);
    if let Some(w) = opts.window {
        plan.window = Duration::from_secs_f64(w);
    }
    let tck = clk_tck();
    let mut report = Report::new(opts.quick);
    let emu = Emu::start(&opts.emu, Duration::ZERO).await;
    let direct = Arc::new(Direct::new(&emu.base_url()));
    let max_c = *plan.concurrency.iter().max().unwrap();
    let uids = seed(&direct, max_c, 10).await;

    let gw = GatewayProc::start(&opts.bin, &emu.base_url(), "per_call", false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    report.rss_idle_mib = rss_mib(gw.pid());
    let pids = Pids {
        gateway: Some(gw.pid()),
        emulator: emu.pid(),
        tck,
    };
    let direct_pids = Pids {
        gateway: None,
        ..pids
    };
    for op in [Op::Create, Op::Get, Op::List] {
        for &c in plan.concurrency {
            let name = format!("{} c={c}", op.tool());
            // The same call over 2026-07-28, right after the 2025-11-25 line it compares to.
            let modern = format!("{name} {}", client::MODERN);
            let modern = (op != Op::List && opts.wants(&modern)).then_some(modern);
            if !opts.wants(&name) && modern.is_none() {
                continue;
            }
            let legacy = if opts.wants(&name) {
                let workers = gateway_workers(&gw.url(), op, c, &uids).await;
                let g = load::run(workers, plan.warm, plan.window, pids).await;
                Some((g, rss_mib(gw.pid())))
            } else {
                None
            };
            let workers = direct_workers(&direct, op, c, &uids);
            let d = load::run(workers, plan.warm, plan.window, direct_pids).await;
            if let Some((g, rss)) = legacy {
                report.lines.push(Line {
                    name,
                    kind: Kind::Tool(op),
                    concurrency: c,
                    gateway: g,
                    direct: Some(d.clone()),
                    rss_mib: rss,
                });
            }
            if let Some(name) = modern {
                let workers = modern_workers(&gw.url(), op, c, &uids);
                let g = load::run(workers, plan.warm, plan.window, pids).await;
                report.lines.push(Line {
                    name,
                    kind: Kind::Modern(op),
                    concurrency: c,
                    gateway: g,
                    direct: Some(d),
                    rss_mib: rss_mib(gw.pid()),
                });
            }
        }
    }
    report.rss_idle_after_mib = rss_mib(gw.pid());
    if opts.wants("sessions") {
        many_sessions(&mut report, &gw, &plan, pids, Clients::Sessions).await;
    }
    drop(gw);
    // Each on a fresh gateway process, so no earlier phase's memory counts.
    for (clients, phase, stateless) in [
        (Clients::Stateless, "stateless", true),
        (Clients::Modern, "2026-07-28 clients", false),
    ] {
        if !opts.wants(phase) {
            continue;
        }
        let gw = GatewayProc::start(&opts.bin, &emu.base_url(), "per_call", stateless);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pids = Pids {
            gateway: Some(gw.pid()),
            ..pids
        };
        many_sessions(&mut report, &gw, &plan, pids, clients).await;
    }
    drop(emu);
    if opts.wants("+5ms") {
        slow_api(&mut report, &opts, &plan, tck).await;
    }
    if opts.wants("today") {
        today::run(&mut report, &opts, plan.warm, plan.window, tck).await;
    }
    report.load_after = procs_loadavg();
    report
}

/// `sessions` MCP clients, all open at once (2026-07-28 ones have nothing to open), then
/// all calling at once.
async fn many_sessions(
    report: &mut Report,
    gw: &GatewayProc,
    plan: &Plan,
    pids: Pids,
    clients: Clients,
) {
    let n = plan.sessions;
    let mut mem = Memory {
        clients,
        sessions: n,
        idle_mib: rss_mib(gw.pid()),
        ..Memory::default()
    };
    let http = http_client();
    let opening = Arc::new(tokio::sync::Semaphore::new(200));
    let opened = Arc::new(tokio::sync::Barrier::new(n + 1));
    let go = Arc::new(tokio::sync::Barrier::new(n + 1));
    let started = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (http, url, opening) = (http.clone(), gw.url(), opening.clone());
            let (opened, go, k) = (opened.clone(), go.clone(), plan.calls_per_session);
            tokio::spawn(async move {
                let permit = opening.acquire().await.unwrap();
                let session = match clients {
                    Clients::Modern => Ok(McpSession::modern(&url, user(i))),
                    _ => McpSession::open(&http, &url, user(i)).await,
                };
                drop(permit);
                opened.wait().await;
                go.wait().await;
                let mut session = match session {
                    Ok(s) => s,
                    Err(e) => return vec![Err(format!("initialize: {e}"))],
                };
                let mut out = Vec::with_capacity(k);
                for j in 0..k {
                    let op = if j % 2 == 0 { Op::List } else { Op::Create };
                    let t0 = Instant::now();
                    let r = session.call(&http, op, "").await;
                    out.push(r.map(|_| t0.elapsed().as_micros() as u32));
                }
                out
            })
        })
        .collect();
    opened.wait().await;
    mem.open_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await;
    mem.open_mib = rss_mib(gw.pid());
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (peak, pid) = (peak.clone(), gw.pid());
        tokio::spawn(async move {
            loop {
                peak.fetch_max(status_kib(pid, "VmRSS").unwrap_or(0), Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let before = pids.snapshot();
    let t0 = Instant::now();
    go.wait().await;
    let mut m = Measured::default();
    for task in tasks {
        for r in task.await.expect("session task") {
            match r {
                Ok(us) => m.lat_us.push(us),
                Err(e) => {
                    m.errors += 1;
                    m.first_error.get_or_insert(e);
                }
            }
        }
    }
    m.secs = t0.elapsed().as_secs_f64();
    m.cpu = Cpu::between(before, pids.snapshot());
    m.lat_us.sort_unstable();
    m.calls = m.lat_us.len() as u64;
    sampler.abort();
    mem.peak_mib = peak.load(Relaxed) as f64 / 1024.0;
    mem.after_mib = rss_mib(gw.pid());
    mem.hwm_mib = status_kib(gw.pid(), "VmHWM").unwrap_or(0) as f64 / 1024.0;
    let kind = match clients {
        Clients::Sessions => "sessions",
        Clients::Stateless => "stateless",
        Clients::Modern => "2026-07-28 clients",
    };
    report.lines.push(Line {
        name: format!("{n} {kind} x{}", plan.calls_per_session),
        kind: Kind::Sessions(clients),
        concurrency: n,
        gateway: m,
        direct: None,
        rss_mib: mem.peak_mib,
    });
    report.memory.push(mem);
}

/// `reuse` versus `per_call` when every API request takes 5 ms more.
async fn slow_api(report: &mut Report, opts: &Options, plan: &Plan, tck: f64) {
    let c = plan.delay_concurrency;
    let emu = Emu::start(&opts.emu, Duration::from_millis(5)).await;
    let direct = Arc::new(Direct::new(&emu.base_url()));
    let uids = seed(&direct, c, 1).await;
    let workers = direct_workers(&direct, Op::Get, c, &uids);
    let pids = Pids {
        gateway: None,
        emulator: emu.pid(),
        tck,
    };
    let d = load::run(workers, plan.warm, plan.window, pids).await;
    for mode in ["per_call", "reuse"] {
        let gw = GatewayProc::start(&opts.bin, &emu.base_url(), mode, false);
        let workers = gateway_workers(&gw.url(), Op::Get, c, &uids).await;
        let pids = Pids {
            gateway: Some(gw.pid()),
            ..pids
        };
        let g = load::run(workers, plan.warm, plan.window, pids).await;
        report.lines.push(Line {
            name: format!("get_note c={c} +5ms {mode}"),
            kind: Kind::SlowApi(mode),
            concurrency: c,
            gateway: g,
            direct: Some(d.clone()),
            rss_mib: rss_mib(gw.pid()),
        });
    }
}

pub(crate) fn procs_loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

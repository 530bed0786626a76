//! The load loop: `c` workers call as fast as they can for a warm-up and a measured window;
//! CPU of the gateway, the emulator and the bench itself is read at the window's edges.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use http::HeaderValue;

use super::{
    client::{Direct, McpSession, Op},
    procs::cpu_seconds,
};

/// What one worker calls.
pub enum Worker {
    /// Tool calls in its own MCP session on the gateway.
    Gateway {
        http: reqwest::Client,
        session: McpSession,
        op: Op,
        uid: String,
    },
    /// The same operation's REST sequence against the API.
    Direct {
        http: reqwest::Client,
        direct: Arc<Direct>,
        auth: HeaderValue,
        op: Op,
        uid: String,
    },
}

impl Worker {
    pub async fn once(&mut self) -> Result<(), String> {
        match self {
            Worker::Gateway {
                http,
                session,
                op,
                uid,
            } => session.call(http, *op, uid).await.map(drop),
            Worker::Direct {
                http,
                direct,
                auth,
                op,
                uid,
            } => direct.call(http, auth, *op, uid).await.map(drop),
        }
    }
}

/// Processes whose CPU a measurement reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pids {
    pub gateway: Option<u32>,
    pub emulator: Option<u32>,
    pub tck: f64,
}

/// CPU seconds spent in the measured window.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    pub gateway: Option<f64>,
    pub emulator: Option<f64>,
    pub client: Option<f64>,
}

/// CPU seconds so far of the gateway, the emulator and this process.
pub type Snapshot = [Option<f64>; 3];

impl Cpu {
    /// What each process spent between two snapshots.
    pub fn between(before: Snapshot, after: Snapshot) -> Cpu {
        let delta = |i: usize| Some(after[i]? - before[i]?);
        Cpu {
            gateway: delta(0),
            emulator: delta(1),
            client: delta(2),
        }
    }
}

impl Pids {
    pub fn snapshot(&self) -> Snapshot {
        let read = |p: Option<u32>| p.and_then(|p| cpu_seconds(p, self.tck));
        [
            read(self.gateway),
            read(self.emulator),
            read(Some(std::process::id())),
        ]
    }
}

/// The outcome of one measured line.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    pub calls: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Sorted latencies of the calls started in the window, in microseconds.
    pub lat_us: Vec<u32>,
    pub secs: f64,
    pub cpu: Cpu,
}

impl Measured {
    pub fn rate(&self) -> f64 {
        self.calls as f64 / self.secs.max(1e-9)
    }

    /// The `p`-th percentile latency in milliseconds.
    pub fn pct_ms(&self, p: f64) -> f64 {
        if self.lat_us.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * (self.lat_us.len() - 1) as f64).round() as usize;
        f64::from(self.lat_us[i]) / 1000.0
    }

    /// CPU seconds per 1,000 calls of one process.
    pub fn per_k(&self, cpu: Option<f64>) -> Option<f64> {
        cpu.filter(|_| self.calls > 0)
            .map(|c| c * 1000.0 / self.calls as f64)
    }
}

#[derive(Default)]
struct Tally {
    lat_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs `workers` concurrently: `warm` unmeasured, then `window` measured.
pub async fn run(workers: Vec<Worker>, warm: Duration, window: Duration, pids: Pids) -> Measured {
    let start = Instant::now();
    let (measure_from, end) = (start + warm, start + warm + window);
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|mut w| {
            tokio::spawn(async move {
                let mut t = Tally::default();
                loop {
                    let t0 = Instant::now();
                    if t0 >= end {
                        break;
                    }
                    let r = w.once().await;
                    if t0 < measure_from {
                        continue;
                    }
                    match r {
                        Ok(()) => {
                            let us = t0.elapsed().as_micros().min(u128::from(u32::MAX));
                            t.lat_us.push(us as u32);
                        }
                        Err(e) => {
                            t.errors += 1;
                            t.first_error.get_or_insert(e);
                        }
                    }
                }
                t
            })
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let before = pids.snapshot();
    let measured_at = Instant::now();
    tokio::time::sleep_until(end.into()).await;
    let after = pids.snapshot();
    let secs = measured_at.elapsed().as_secs_f64();
    let mut m = Measured {
        secs,
        ..Default::default()
    };
    for task in tasks {
        let t = task.await.expect("worker");
        m.errors += t.errors;
        if m.first_error.is_none() {
            m.first_error = t.first_error;
        }
        m.lat_us.extend(t.lat_us);
    }
    m.lat_us.sort_unstable();
    m.calls = m.lat_us.len() as u64;
    m.cpu = Cpu::between(before, after);
    m
}

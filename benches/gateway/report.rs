//! The printed result: one table (gateway and direct rows per line), the CPU split, the
//! memory figures, and every target of issue 6 marked met or missed.

use std::fmt::{self, Display, Formatter, Write as _};

use super::{client::Op, load::Measured};

/// What a line measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One tool at one concurrency, emulator without added latency.
    Tool(Op),
    /// The same tool over protocol revision 2026-07-28 (no session), on the default gateway.
    Modern(Op),
    /// Many clients at once, all calling.
    Sessions(Clients),
    /// `get_note` with the emulator adding 5 ms per request, in this session mode.
    SlowApi(&'static str),
    /// The current API generation, in this gateway configuration.
    Today(&'static str),
}

/// One line of the table.
#[derive(Clone, Debug)]
pub struct Line {
    pub name: String,
    pub kind: Kind,
    pub concurrency: usize,
    pub gateway: Measured,
    pub direct: Option<Measured>,
    /// Gateway RSS at the end of the line (the peak, for the sessions line).
    pub rss_mib: f64,
}

/// The clients of a many-clients run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clients {
    /// 2025-11-25 sessions on the default (stateful) gateway.
    #[default]
    Sessions,
    /// 2025-11-25 clients of a `TOOLBRIDGE_STATELESS` gateway.
    Stateless,
    /// 2026-07-28 clients (no session, nothing to open) on the default gateway.
    Modern,
}

/// Gateway memory around a many-sessions run.
#[derive(Clone, Debug, Default)]
pub struct Memory {
    pub clients: Clients,
    pub sessions: usize,
    pub idle_mib: f64,
    pub open_secs: f64,
    pub open_mib: f64,
    pub peak_mib: f64,
    pub after_mib: f64,
    pub hwm_mib: f64,
}

/// Everything a run measured.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub quick: bool,
    pub lines: Vec<Line>,
    pub rss_idle_mib: f64,
    pub rss_idle_after_mib: f64,
    /// The many-clients runs: stateful sessions, stateless, 2026-07-28.
    pub memory: Vec<Memory>,
    pub load_before: String,
    pub load_after: String,
    pub cores: usize,
}

impl Report {
    pub fn new(quick: bool) -> Report {
        Report {
            quick,
            load_before: super::procs_loadavg(),
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            ..Report::default()
        }
    }

    /// Failed calls over the whole run, gateway and direct.
    pub fn total_errors(&self) -> u64 {
        self.lines
            .iter()
            .map(|l| l.gateway.errors + l.direct.as_ref().map_or(0, |d| d.errors))
            .sum()
    }

    /// Calls made over the whole run, gateway and direct.
    pub fn total_calls(&self) -> u64 {
        self.lines
            .iter()
            .map(|l| l.gateway.calls + l.direct.as_ref().map_or(0, |d| d.calls))
            .sum()
    }

    /// The first error seen, if any.
    pub fn first_error(&self) -> Option<&str> {
        self.lines.iter().find_map(|l| {
            l.gateway
                .first_error
                .as_deref()
                .or(l.direct.as_ref().and_then(|d| d.first_error.as_deref()))
        })
    }

    fn targets(&self) -> Vec<(bool, String)> {
        let mut out = Vec::new();
        let low: Vec<_> = self
            .lines
            .iter()
            .filter(|l| matches!(l.kind, Kind::Tool(_)) && [1, 16].contains(&l.concurrency))
            .filter_map(|l| Some((l, l.direct.as_ref()?)))
            .collect();
        for (p, limit) in [(50.0, 0.3), (99.0, 2.0)] {
            let added: Vec<String> = low
                .iter()
                .map(|(l, d)| format!("{} {:+.3}", l.name, l.gateway.pct_ms(p) - d.pct_ms(p)))
                .collect();
            let worst = low
                .iter()
                .map(|(l, d)| l.gateway.pct_ms(p) - d.pct_ms(p))
                .fold(f64::NEG_INFINITY, f64::max);
            out.push((
                worst <= limit,
                format!(
                    "added p{p} <= {limit} ms at c=1,16: worst {worst:+.3} ms ({})",
                    added.join(", ")
                ),
            ));
        }
        let c64: Vec<_> = self
            .lines
            .iter()
            .filter(|l| matches!(l.kind, Kind::Tool(_)) && l.concurrency == 64)
            .collect();
        if !c64.is_empty() {
            let min = c64
                .iter()
                .map(|l| l.gateway.rate())
                .fold(f64::INFINITY, f64::min);
            let each: Vec<String> = c64
                .iter()
                .map(|l| format!("{} {:.0}/s", l.name, l.gateway.rate()))
                .collect();
            out.push((
                min >= 5000.0,
                format!(">= 5,000 calls/s at c=64: {}", each.join(", ")),
            ));
        }
        out.push((
            self.rss_idle_mib <= 10.0,
            format!("RSS idle <= 10 MiB: {:.1} MiB", self.rss_idle_mib),
        ));
        if let Some(m) = self.memory.iter().find(|m| m.clients == Clients::Sessions) {
            let other = |c: Clients, what: &str| {
                self.memory
                    .iter()
                    .find(|m| m.clients == c)
                    .map(|s| format!("; {what}, same load: peak {:.1} MiB", s.peak_mib))
                    .unwrap_or_default()
            };
            let stateless = other(Clients::Stateless, "stateless gateway")
                + &other(Clients::Modern, "2026-07-28 clients");
            out.push((
                m.peak_mib <= 64.0,
                format!(
                    "RSS with {} stateful sessions <= 64 MiB: peak {:.1} MiB, {:.1} MiB with all open and idle{stateless}",
                    m.sessions, m.peak_mib, m.open_mib
                ),
            ));
        }
        let slow = |mode| {
            self.lines
                .iter()
                .find(|l| l.kind == Kind::SlowApi(mode))
                .map(|l| l.gateway.rate())
        };
        if let (Some(per_call), Some(reuse)) = (slow("per_call"), slow("reuse")) {
            let ratio = reuse / per_call;
            out.push((
                ratio >= 1.8,
                format!(
                    "reuse >= 1.8x per_call at +5 ms: {ratio:.2}x ({reuse:.0}/s vs {per_call:.0}/s)"
                ),
            ));
        }
        out
    }
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.prec$}"))
}

fn row(out: &mut String, name: &str, path: &str, m: &Measured, rss: Option<f64>) {
    let _ = write!(
        out,
        "{name:<30} {path:<8} {:>8.0} {:>7.3} {:>7.3} {:>7.3} {:>6}",
        m.rate(),
        m.pct_ms(50.0),
        m.pct_ms(90.0),
        m.pct_ms(99.0),
        m.errors
    );
    if let Some(rss) = rss {
        let _ = write!(out, " {rss:>7.1} {:>9}", opt(m.per_k(m.cpu.gateway), 3));
    }
}

impl Display for Report {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut t = String::new();
        let mode = if self.quick { "quick (smoke)" } else { "full" };
        let _ = writeln!(
            t,
            "toolbridge-mcp gateway benchmark, {mode} run; {} cores; load average before {}, after {}\n",
            self.cores, self.load_before, self.load_after
        );
        let _ = writeln!(
            t,
            "{:<30} {:<8} {:>8} {:>7} {:>7} {:>7} {:>6} {:>7} {:>9} {:>9} {:>8} {:>8}",
            "line",
            "path",
            "calls/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "errors",
            "RSS MiB",
            "CPU s/1k",
            "gw/direct",
            "+p50 ms",
            "+p99 ms"
        );
        for l in &self.lines {
            row(&mut t, &l.name, "gateway", &l.gateway, Some(l.rss_mib));
            if let Some(d) = &l.direct {
                let _ = write!(
                    t,
                    " {:>8.2}x {:>+8.3} {:>+8.3}",
                    l.gateway.rate() / d.rate(),
                    l.gateway.pct_ms(50.0) - d.pct_ms(50.0),
                    l.gateway.pct_ms(99.0) - d.pct_ms(99.0)
                );
                t.push('\n');
                row(&mut t, "", "direct", d, None);
            }
            t.push('\n');
        }
        let _ = writeln!(
            t,
            "\nRSS and CPU columns are the gateway's; gw/direct is the calls/s ratio, +pNN the added latency.\n\
             CPU seconds per 1,000 calls, by process (gateway | emulator | client):"
        );
        for l in &self.lines {
            let g = &l.gateway;
            let _ = write!(
                t,
                "  {:<30} gateway path {:>6} | {:>6} | {:>6}",
                l.name,
                opt(g.per_k(g.cpu.gateway), 3),
                opt(g.per_k(g.cpu.emulator), 3),
                opt(g.per_k(g.cpu.client), 3)
            );
            if let Some(d) = &l.direct {
                let _ = write!(
                    t,
                    "   direct path {:>6} | {:>6}",
                    opt(d.per_k(d.cpu.emulator), 3),
                    opt(d.per_k(d.cpu.client), 3)
                );
            }
            t.push('\n');
        }
        let _ = writeln!(
            t,
            "\nGateway RSS: {:.1} MiB idle at start, {:.1} MiB after the lines above.",
            self.rss_idle_mib, self.rss_idle_after_mib
        );
        for m in &self.memory {
            let _ = writeln!(
                t,
                "{} {} gateway: {:.1} MiB idle; clients initialized in {:.2} s, {:.1} MiB with all \
                 open; peak {:.1} MiB while all call, {:.1} MiB after (VmHWM {:.1} MiB)",
                m.sessions,
                match m.clients {
                    Clients::Sessions => "sessions, stateful",
                    Clients::Stateless => "clients, stateless",
                    Clients::Modern => "2026-07-28 clients (nothing to initialize), default",
                },
                m.idle_mib,
                m.open_secs,
                m.open_mib,
                m.peak_mib,
                m.after_mib,
                m.hwm_mib
            );
        }
        let _ = writeln!(t, "\nTargets (per_call, emulator +0 ms unless said):");
        for (met, what) in self.targets() {
            let _ = writeln!(t, "  [{}] {what}", if met { " met " } else { "MISSED" });
        }
        if self.quick {
            let _ = writeln!(t, "  (quick run: too short for its numbers to mean much)");
        }
        let _ = writeln!(
            t,
            "\n{} calls, {} errors{}",
            self.total_calls(),
            self.total_errors(),
            self.first_error()
                .map(|e| format!("; first: {}", e.chars().take(300).collect::<String>()))
                .unwrap_or_default()
        );
        f.write_str(&t)
    }
}

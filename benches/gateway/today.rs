//! Today's API (the current generation) under the gateway's configurations, side by side
//! in one run: the old default (`per_call`, signed headers), today's default (`reuse`,
//! plain tenant header) and the multi-tenant set-up (`reuse`, `resolve`, `exchange`),
//! each against the same direct REST baseline. Limits are off in the emulator: this
//! measures the gateway's cost, not the API's rate limit.

use std::{sync::Arc, time::Duration};

use super::{
    Options,
    client::{Direct, Op},
    direct_workers, gateway_workers,
    load::{self, Pids},
    procs::{Emu, GatewayProc, rss_mib},
    report::{Kind, Line, Report},
    seed,
};

/// `TOOLBRIDGE_*` settings beyond the session mode.
type Settings = &'static [(&'static str, &'static str)];

/// (label, session mode, extra settings)
const CONFIGS: &[(&str, &str, Settings)] = &[
    (
        "per_call signed",
        "per_call",
        &[("TOOLBRIDGE_TENANT_MODE", "signed")],
    ),
    (
        "reuse plain",
        "reuse",
        &[("TOOLBRIDGE_TENANT_MODE", "plain")],
    ),
    (
        "reuse resolve+exchange",
        "reuse",
        &[
            ("TOOLBRIDGE_TENANT_MODE", "resolve"),
            ("TOOLBRIDGE_BACKEND_AUTH", "exchange"),
        ],
    ),
];

pub async fn run(report: &mut Report, opts: &Options, warm: Duration, window: Duration, tck: f64) {
    let c = 16;
    let emu = Emu::start_generation(&opts.emu, Duration::ZERO, true).await;
    let direct = Arc::new(Direct::new(&emu.base_url()));
    let uids = seed(&direct, c, 1).await;
    let pids = Pids {
        gateway: None,
        emulator: emu.pid(),
        tck,
    };
    for op in [Op::Create, Op::Get] {
        let d = load::run(direct_workers(&direct, op, c, &uids), warm, window, pids).await;
        for (label, mode, extra) in CONFIGS {
            let gw = GatewayProc::start_with(&opts.bin, &emu.base_url(), mode, false, extra);
            let workers = gateway_workers(&gw.url(), op, c, &uids).await;
            let pids = Pids {
                gateway: Some(gw.pid()),
                ..pids
            };
            let g = load::run(workers, warm, window, pids).await;
            report.lines.push(Line {
                name: format!("{} c={c} current {label}", op.tool()),
                kind: Kind::Today(label),
                concurrency: c,
                gateway: g,
                direct: Some(d.clone()),
                rss_mib: rss_mib(gw.pid()),
            });
        }
    }
}

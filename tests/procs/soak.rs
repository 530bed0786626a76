//! The soak with a fault schedule: 16 users create, update, patch, process, archive, delete,
//! get and list notes and tasks concurrently through two gateway binaries (one `reuse`, one
//! `per_call`) over one emulator, while a schedule injects every fault of
//! `docs/retries.md` and restarts the API every few seconds (sessions and connections
//! dropped, data kept). Two halves: the seed API and the current one, in an order the seed
//! picks (printed at start; `TOOLBRIDGE_SOAK_SEED` replays it).
//!
//! Checked against the emulator's own state: every call answered within its deadline;
//! every write reported done is stored exactly as reported (uid, version, payload), at once;
//! no item exists that no user knows of (no duplicate, no create reported failed that
//! happened); no write reported failed happened unless it said the outcome was unknown;
//! every unknown outcome named the uid, and `get_*` resolves it. Then the gateways'
//! resources (RSS, open fds, threads) after the load and the faults stop must be near where
//! they started. Counts are printed.
//!
//! About 60 s in all (`TOOLBRIDGE_SOAK_SECONDS`, default 46, is the load time of both
//! halves together); the 10-minute run in BENCHMARKS.md is
//! `TOOLBRIDGE_SOAK_SECONDS=600 TOOLBRIDGE_SOAK_SETTLE_SECONDS=60 cargo test --test procs soak
//! -- --nocapture`. `SOAK_DEBUG=1` prints every unclassified error and every failed attempt
//! to resolve an unknown outcome.

use crate::common;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use common::{binary::*, metrics::*, *};
use parking_lot::Mutex;
use rmcp::{
    ServiceExt,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::{Value, json};
use toolbridge_mcp::emulator::{Emulator, EmulatorConfig, Fault, Generation};

const USERS: usize = 16;
/// Every call must be answered within this (the gateway's budgets are far below it).
const CALL_DEADLINE: Duration = Duration::from_secs(40);
const SEGMENTS: [(&str, &str); 2] = [("notes", "note"), ("tasks", "task")];

/// What happened, counted.
#[derive(Default, Debug)]
struct Tally {
    calls: u64,
    ok: u64,
    unknown: u64,
    clear: BTreeMap<&'static str, u64>,
    /// Invariant violations, described.
    violations: Vec<String>,
    faults: BTreeMap<String, u64>,
    restarts: u64,
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_users_keep_every_acknowledged_write_through_faults_and_restarts() {
    let total = env_u64("TOOLBRIDGE_SOAK_SECONDS").unwrap_or(46);
    let seed = env_u64("TOOLBRIDGE_SOAK_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    });
    let order = if seed.is_multiple_of(2) {
        [Generation::Seed, Generation::Current]
    } else {
        [Generation::Current, Generation::Seed]
    };
    println!(
        "soak: seed {seed} (TOOLBRIDGE_SOAK_SEED={seed} replays it), {total} s of load, halves {order:?}"
    );
    for (i, generation) in order.into_iter().enumerate() {
        half(
            generation,
            Duration::from_secs((total / 2).max(5)),
            seed + i as u64,
        )
        .await;
    }
}

/// A gateway binary's resources, from /proc.
#[derive(Debug, Clone, Copy)]
struct Usage {
    rss_kib: u64,
    fds: u64,
    threads: u64,
}

fn usage(pid: u32) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Usage {
        rss_kib: field("VmRSS:"),
        fds: std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count() as u64,
        threads: field("Threads:"),
    }
}

async fn mcp_client(url: &str, sub: &str) -> Client {
    let cfg = StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token(sub));
    ().serve(StreamableHttpClientTransport::from_config(cfg))
        .await
        .expect("client connects")
}

/// The fault schedule: the kinds in turn, in a seeded order.
fn schedule(rng: &mut fastrand::Rng) -> Vec<Fault> {
    let mut faults = vec![
        Fault::ResetAfterRead { processed: true },
        Fault::ResetAfterRead { processed: false },
        Fault::CloseBeforeAnswer { processed: true },
        Fault::CloseBeforeAnswer { processed: false },
        Fault::Stall { processed: true },
        Fault::Stall { processed: false },
        Fault::TruncatedJson,
        Fault::NonJson200,
        Fault::Html502,
        Fault::SessionExpired,
        Fault::EpochMismatch,
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    ];
    for status in [502, 503, 504] {
        for retry_after_secs in [None, Some(1)] {
            faults.push(Fault::ProxyError {
                status,
                retry_after_secs,
            });
        }
    }
    rng.shuffle(&mut faults);
    faults
}

fn fault_kind(f: &Fault) -> String {
    match f {
        Fault::ProxyError {
            status,
            retry_after_secs,
        } => format!(
            "{status}{}",
            if retry_after_secs.is_some() {
                "+retry-after"
            } else {
                ""
            }
        ),
        other => {
            format!("{other:?}")
                .split([' ', '('])
                .next()
                .unwrap_or_default()
                .to_owned()
                + match other {
                    Fault::ResetAfterRead { processed: true }
                    | Fault::CloseBeforeAnswer { processed: true }
                    | Fault::Stall { processed: true } => "(processed)",
                    Fault::ResetAfterRead { .. }
                    | Fault::CloseBeforeAnswer { .. }
                    | Fault::Stall { .. } => "(not processed)",
                    _ => "",
                }
        }
    }
}

async fn half(generation: Generation, load: Duration, seed: u64) {
    let cfg = match generation {
        Generation::Seed => emulator_config(),
        Generation::Current => current_emulator_config(),
    };
    // The schedule injects its own 429s; the contract's limiters would only add more.
    let emu = api(EmulatorConfig {
        rate_limit: None,
        auth_rate_limit: None,
        ..cfg
    })
    .await;
    let gen_name = match generation {
        Generation::Seed => "seed",
        Generation::Current => "current",
    };
    let gateways: Vec<Gateway> = ["reuse", "per_call"]
        .into_iter()
        .map(|mode| {
            Gateway::start(
                &emu.base_url(),
                &[
                    ("TOOLBRIDGE_SESSION_MODE", mode),
                    ("TOOLBRIDGE_API_GENERATION", gen_name),
                    ("TOOLBRIDGE_REQUEST_TIMEOUT_SECONDS", "2"),
                    ("TOOLBRIDGE_CONNECT_TIMEOUT_SECONDS", "1"),
                    ("TOOLBRIDGE_RETRY_BUDGET_SECONDS", "6"),
                    ("TOOLBRIDGE_LOG_LEVEL", "warn"),
                ],
            )
        })
        .collect();
    let mut clients = Vec::new();
    for u in 0..USERS {
        let gw = &gateways[u % 2];
        let client = mcp_client(&gw.url(), &format!("soak-{gen_name}-{u}")).await;
        ok(&client, "list_notes", json!({})).await;
        clients.push((format!("soak-{gen_name}-{u}"), client));
    }
    let pids: Vec<u32> = gateways.iter().map(|g| g.child.id()).collect();
    let start_usage: Vec<Usage> = pids.iter().map(|p| usage(*p)).collect();
    let metrics_before: Vec<String> =
        futures::future::join_all(gateways.iter().map(|g| scrape(g.port))).await;

    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let emu = Arc::new(emu);
    let deadline = Instant::now() + load;
    let scheduler = {
        let (emu, tally, stop) = (emu.clone(), tally.clone(), stop.clone());
        tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(seed);
            let faults = schedule(&mut rng);
            let mut next_restart = Instant::now() + Duration::from_millis(rng.u64(2000..4000));
            let mut i = 0;
            // Faults stop with the load: the users' last checks meet a quiet API.
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                if Instant::now() >= next_restart {
                    let down = Duration::from_millis(rng.u64(20..400));
                    emu.restart(down).await.expect("the emulator restarts");
                    tally.lock().restarts += 1;
                    next_restart = Instant::now() + Duration::from_millis(rng.u64(2000..4000));
                    continue;
                }
                // A few queued at most: faults spread over the calls, never pile up.
                if emu.emulator.faults().queued() < 3 {
                    let fault = faults[i % faults.len()].clone();
                    i += 1;
                    *tally.lock().faults.entry(fault_kind(&fault)).or_default() += 1;
                    emu.emulator.faults().push(fault);
                }
                tokio::time::sleep(Duration::from_millis(rng.u64(60..160))).await;
            }
            emu.emulator.faults().clear();
        })
    };

    let started = Instant::now();
    let mut users = Vec::new();
    for (u, (sub, client)) in clients.into_iter().enumerate() {
        let (emu, tally) = (emu.emulator.clone(), tally.clone());
        users.push(tokio::spawn(async move {
            let mut user = User {
                sub,
                client,
                emu,
                tally,
                rng: fastrand::Rng::with_seed(seed * 100 + u as u64),
                known: HashMap::new(),
            };
            while Instant::now() < deadline {
                user.step().await;
            }
            user
        }));
    }
    let mut finished = Vec::new();
    for u in users {
        finished.push(u.await.expect("a user task"));
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    scheduler.await.unwrap();
    let end_usage: Vec<Usage> = pids.iter().map(|p| usage(*p)).collect();

    // What the API holds, against what the users know.
    for user in &finished {
        for (segment, _) in SEGMENTS {
            let stored = user.emu.items(&user.sub, segment);
            let uids: HashSet<String> = stored
                .iter()
                .map(|i| i["uid"].as_str().unwrap().to_owned())
                .collect();
            for item in &stored {
                let uid = item["uid"].as_str().unwrap();
                match user.known.get(uid) {
                    None => tally.lock().violations.push(format!(
                        "{} {segment} {uid}: stored, but no call reported it created (a duplicate, or a create reported failed that happened)",
                        user.sub
                    )),
                    Some(k) if k.version != item["version"].as_i64().unwrap_or(-1) => {
                        tally.lock().violations.push(format!(
                            "{} {segment} {uid}: at version {} but the last answer said {}",
                            user.sub, item["version"], k.version
                        ))
                    }
                    Some(_) => {}
                }
            }
            for (uid, k) in &user.known {
                if k.segment == segment && !uids.contains(uid) {
                    tally.lock().violations.push(format!(
                        "{} {segment} {uid}: reported created, missing",
                        user.sub
                    ));
                }
            }
        }
    }
    let calls = tally.lock().calls;
    for mut user in finished {
        user.client.cancel().await.ok();
        user.known.clear();
    }
    // Settle: the load and the faults are over (`TOOLBRIDGE_SOAK_SETTLE_SECONDS`, default 3;
    // the benchmark waits a minute).
    let settle = env_u64("TOOLBRIDGE_SOAK_SETTLE_SECONDS").unwrap_or(3);
    tokio::time::sleep(Duration::from_secs(settle)).await;
    let settled_usage: Vec<Usage> = pids.iter().map(|p| usage(*p)).collect();
    let metrics_after: Vec<String> =
        futures::future::join_all(gateways.iter().map(|g| scrape(g.port))).await;

    let t = tally.lock();
    println!(
        "soak half ({gen_name}): {} calls in {:.1} s ({:.0} calls/s), {} ok, {} unknown outcomes, clear errors {:?}",
        t.calls,
        elapsed.as_secs_f64(),
        t.calls as f64 / elapsed.as_secs_f64(),
        t.ok,
        t.unknown,
        t.clear
    );
    println!(
        "  faults injected {:?}; API restarts {}",
        t.faults, t.restarts
    );
    for (i, mode) in ["reuse", "per_call"].iter().enumerate() {
        let retries = retries_by_reason(&metrics_before[i], &metrics_after[i]);
        println!("  gateway {mode}: retries {retries:?}");
        println!(
            "  gateway {mode}: RSS {} / {} / {} KiB, open fds {} / {} / {}, threads {} / {} / {} (start / end of load / {settle} s later)",
            start_usage[i].rss_kib,
            end_usage[i].rss_kib,
            settled_usage[i].rss_kib,
            start_usage[i].fds,
            end_usage[i].fds,
            settled_usage[i].fds,
            start_usage[i].threads,
            end_usage[i].threads,
            settled_usage[i].threads
        );
    }
    assert!(
        t.violations.is_empty(),
        "{} violations:\n{}",
        t.violations.len(),
        t.violations.join("\n")
    );
    assert!(t.calls > 100, "the soak made only {} calls", t.calls);
    assert!(
        t.restarts >= 1 && t.faults.len() >= 12,
        "{:?} {}",
        t.faults,
        t.restarts
    );
    // Flat resources: nothing grows per call beyond a generous bound.
    for (i, mode) in ["reuse", "per_call"].iter().enumerate() {
        let (s, e) = (start_usage[i], settled_usage[i]);
        let rss_growth = e.rss_kib.saturating_sub(s.rss_kib);
        assert!(
            rss_growth <= 32 * 1024 + 8 * calls,
            "{mode}: RSS grew {rss_growth} KiB over {calls} calls"
        );
        assert!(
            e.fds <= s.fds + 32,
            "{mode}: open fds {} → {} after the load",
            s.fds,
            e.fds
        );
        assert!(
            e.threads <= s.threads + 8,
            "{mode}: threads {} → {}",
            s.threads,
            e.threads
        );
    }
    drop(t);
    drop(gateways);
}

/// `toolbridge_upstream_retries_total` by reason, as the difference of two scrapes.
fn retries_by_reason(before: &str, after: &str) -> BTreeMap<String, f64> {
    let read = |text: &str| -> BTreeMap<String, f64> {
        text.lines()
            .filter(|l| l.starts_with("toolbridge_upstream_retries_total{"))
            .filter_map(|l| {
                let reason = l.split("reason=\"").nth(1)?.split('"').next()?.to_owned();
                Some((reason, l.rsplit(' ').next()?.parse().ok()?))
            })
            .collect()
    };
    let (b, a) = (read(before), read(after));
    a.into_iter()
        .map(|(k, v)| {
            let d = v - b.get(&k).copied().unwrap_or(0.0);
            (k, d)
        })
        .collect()
}

/// What a user knows of one of its items: its last answered version.
struct Known {
    segment: &'static str,
    version: i64,
    deleted: bool,
}

struct User {
    sub: String,
    client: Client,
    emu: Emulator,
    tally: Arc<Mutex<Tally>>,
    rng: fastrand::Rng,
    known: HashMap<String, Known>,
}

/// How a call ended.
enum Outcome {
    Done(Value),
    Unknown(String),
    Clear(String),
}

fn clear_kind(msg: &str) -> &'static str {
    if msg.contains("unreachable") {
        "unreachable"
    } else if msg.contains("rate limiting") || msg.contains("Rate limited") {
        "rate_limited"
    } else if msg.contains("did not answer within") {
        "timeout"
    } else if msg.contains("non-JSON") {
        "not_json"
    } else if msg.contains("broke before") {
        "broken"
    } else if msg.contains("answered 404") {
        "not_found"
    } else if msg.contains("answered 410") {
        "gone"
    } else if msg.contains("answered 412") {
        "version_mismatch"
    } else if msg.contains("answered 428") {
        "session_expired_twice"
    } else if msg.contains("answered 409") {
        "epoch_moved_twice"
    } else if msg.contains("answered 5") {
        "api_5xx"
    } else if msg.contains("answered 4") {
        "api_4xx"
    } else if msg.contains("concurrent API requests") {
        "busy"
    } else {
        "other"
    }
}

impl User {
    fn violation(&self, what: String) {
        self.tally
            .lock()
            .violations
            .push(format!("{}: {what}", self.sub));
    }

    async fn call(&self, tool: &str, args: Value) -> Outcome {
        self.tally.lock().calls += 1;
        let r = match tokio::time::timeout(CALL_DEADLINE, call(&self.client, tool, args.clone()))
            .await
        {
            Ok(r) => r,
            Err(_) => {
                self.violation(format!("{tool} {args}: no answer within {CALL_DEADLINE:?}"));
                return Outcome::Clear("no answer".into());
            }
        };
        let body = text(&r);
        if r.is_error != Some(true) {
            self.tally.lock().ok += 1;
            return Outcome::Done(r.structured_content.unwrap_or(Value::Null));
        }
        if body.contains("outcome is unknown") {
            self.tally.lock().unknown += 1;
            Outcome::Unknown(body)
        } else {
            let kind = clear_kind(&body);
            if kind == "other" && std::env::var_os("SOAK_DEBUG").is_some() {
                eprintln!("other: {tool}: {body}");
            }
            *self.tally.lock().clear.entry(kind).or_default() += 1;
            Outcome::Clear(body)
        }
    }

    fn stored(&self, segment: &str, uid: &str) -> Option<Value> {
        self.emu.item(&self.sub, segment, uid)
    }

    /// A write reported done is stored exactly as reported.
    fn check_done(&mut self, segment: &'static str, tool: &str, reported: &Value) {
        let uid = reported["uid"].as_str().unwrap_or_default().to_owned();
        let Some(stored) = self.stored(segment, &uid) else {
            self.violation(format!("{tool}: reported done for {uid}, not stored"));
            return;
        };
        // Results leave out the payload keys the API writes itself (the compact result
        // shape, issue 23); every field the user owns must be stored exactly as reported.
        let same = stored["version"] == reported["version"]
            && (reported.get("payload").is_none()
                || own_fields(&stored["payload"]) == own_fields(&reported["payload"]))
            && stored.get("deletedAt") == reported.get("deletedAt");
        if !same {
            self.violation(format!("{tool}: reported {reported}, stored {stored}"));
        }
        self.known.insert(
            uid,
            Known {
                segment,
                version: stored["version"].as_i64().unwrap_or_default(),
                deleted: stored.get("deletedAt").is_some_and(Value::is_string),
            },
        );
    }

    /// An unknown outcome names the uid, and get_* resolves it.
    async fn resolve(
        &mut self,
        segment: &'static str,
        singular: &str,
        msg: &str,
        expect: Option<&str>,
    ) {
        let Some(uid) = msg
            .split(&format!("so the {singular} "))
            .nth(1)
            .and_then(|rest| rest.get(..36))
            .filter(|u| uuid::Uuid::parse_str(u).is_ok())
            .map(str::to_owned)
        else {
            self.violation(format!("unknown outcome names no uid: {msg}"));
            return;
        };
        if expect.is_some_and(|e| e != uid) {
            self.violation(format!(
                "unknown outcome names {uid}, the write was for {expect:?}"
            ));
        }
        if !msg.contains(&format!("get_{singular} {{\"uid\": \"{uid}\"")) {
            self.violation(format!("unknown outcome does not say how to check: {msg}"));
        }
        for _ in 0..20 {
            match self
                .call(
                    &format!("get_{singular}"),
                    json!({"uid": uid, "include_deleted": true}),
                )
                .await
            {
                Outcome::Done(item) => {
                    self.check_done(segment, "get (resolving an unknown outcome)", &item);
                    return;
                }
                Outcome::Clear(m) if m.contains("answered 404") => {
                    if self.stored(segment, &uid).is_some() {
                        self.violation(format!("get_{singular} said 404 for stored {uid}"));
                    }
                    self.known.remove(&uid);
                    return;
                }
                other => {
                    if std::env::var_os("SOAK_DEBUG").is_some() {
                        let m = match other {
                            Outcome::Unknown(m) | Outcome::Clear(m) => m,
                            Outcome::Done(_) => String::new(),
                        };
                        eprintln!("resolve: {m}");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
            }
        }
        self.violation(format!("get_{singular} never resolved {uid}"));
    }

    async fn step(&mut self) {
        let (segment, singular) = SEGMENTS[self.rng.usize(..2)];
        let live: Vec<String> = self
            .known
            .iter()
            .filter(|(_, k)| k.segment == segment && !k.deleted)
            .map(|(u, _)| u.clone())
            .collect();
        let roll = self.rng.u32(..100);
        if live.is_empty() || roll < 25 {
            return self.create(segment, singular).await;
        }
        let uid = live[self.rng.usize(..live.len())].clone();
        let (tool, args) = match roll {
            25..40 => {
                let mut args = json!({"uid": uid, "title": format!("u{}", self.rng.u32(..1000))});
                if segment == "notes" {
                    args["content"] = json!("c");
                }
                (format!("update_{singular}"), args)
            }
            40..55 => (
                format!("patch_{singular}"),
                json!({"uid": uid, "updates": {"k": self.rng.u32(..1000)}}),
            ),
            55..67 => {
                let action = match segment {
                    "notes" => ["pin", "unpin", "archive", "unarchive"][self.rng.usize(..4)],
                    _ => ["start", "complete", "reopen"][self.rng.usize(..3)],
                };
                (
                    format!("process_{singular}"),
                    json!({"uid": uid, "action": action}),
                )
            }
            67..75 => (format!("archive_{singular}"), json!({"uid": uid})),
            75..82 => (format!("delete_{singular}"), json!({"uid": uid})),
            82..91 => {
                self.call(&format!("get_{singular}"), json!({"uid": uid}))
                    .await;
                return;
            }
            _ => {
                self.call(&format!("list_{}", segment), json!({"limit": 20}))
                    .await;
                return;
            }
        };
        let before = self.stored(segment, &uid);
        match self.call(&tool, args).await {
            Outcome::Done(reported) => self.check_done(segment, &tool, &reported),
            Outcome::Unknown(msg) => self.resolve(segment, singular, &msg, Some(&uid)).await,
            Outcome::Clear(msg) => {
                let now = self.stored(segment, &uid);
                if now != before {
                    self.violation(format!(
                        "{tool} reported failed ({msg}) but the item changed: {before:?} → {now:?}"
                    ));
                }
            }
        }
    }

    async fn create(&mut self, segment: &'static str, singular: &str) {
        // Half the creates name their uid, half let the gateway pick one.
        let own = self.rng.bool().then(|| uuid::Uuid::new_v4().to_string());
        let mut args = json!({"title": format!("t{}", self.rng.u32(..1000))});
        if segment == "notes" {
            args["content"] = json!("c");
        }
        if let Some(u) = &own {
            args["uid"] = json!(u);
        }
        let tool = format!("create_{singular}");
        match self.call(&tool, args).await {
            Outcome::Done(reported) => {
                if own.as_deref().is_some_and(|u| reported["uid"] != json!(u)) {
                    self.violation(format!(
                        "{tool}: asked for {own:?}, got {}",
                        reported["uid"]
                    ));
                }
                if reported["version"] != json!(1) {
                    self.violation(format!(
                        "{tool}: a new item at version {}",
                        reported["version"]
                    ));
                }
                self.check_done(segment, &tool, &reported)
            }
            Outcome::Unknown(msg) => self.resolve(segment, singular, &msg, own.as_deref()).await,
            Outcome::Clear(msg) => {
                if let Some(u) = &own
                    && self.stored(segment, u).is_some()
                {
                    self.violation(format!("{tool} reported failed ({msg}) but {u} is stored"));
                }
                // A picked uid is checked at the end: no stored item may be unknown.
            }
        }
    }
}

/// A payload without the keys the API writes itself (the gateway's `RESERVED_KEYS`, which
/// compact results leave out): the fields a user owns.
fn own_fields(payload: &Value) -> Value {
    use toolbridge_mcp::mcp::RESERVED_KEYS;
    match payload {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !RESERVED_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

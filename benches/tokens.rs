//! The token report (issue 23): what the gateway puts into a model's context, before and
//! after. Not a test: it prints bytes and tokens (OpenAI's `o200k_base` BPE, embedded in
//! the `tiktoken-rs` crate: nothing is downloaded) of
//!
//! - `tools/list` on each API generation (the `tools` array as JSON),
//! - a `list_notes` page of 20 notes of 50–600 characters, a `get_note` of the median
//!   note and of the longest (600 characters), a `create_task` result (the text block, what the model reads),
//! - a walk over all 500 notes with the default page size (the text of every page).
//!
//! "Before" is the gateway binary of commit 631d4f4 (build it, then point
//! `TOKENS_BEFORE_BIN` at it: see BENCHMARKS.md); "after" is this build's binary with its
//! defaults, and with `TOOLBRIDGE_RESULT_SHAPE=full`. The data set is fixed: the same
//! notes, tasks with comments and a chat with messages on every run.
//!
//! ```text
//! cargo bench --bench tokens
//! ```

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult},
    service::RunningService,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::{Value, json};
use toolbridge_mcp::emulator::{Emulator, EmulatorConfig, EmulatorHandle, Generation, mint_hs256};

const JWT: &str = "tokens-bench-jwt-secret-0123456789abcdef";
const TENANT: &str = "tokens-bench-tenant";
const SUB: &str = "token-reporter";

type Client = RunningService<RoleClient, ()>;

/// A gateway binary serving on a free port, killed on drop.
struct Proc(Child, u16);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(bin: &str, api: &str, env: &[(&str, &str)]) -> Proc {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .env_clear()
        .env("TOOLBRIDGE_TENANT_ID", TENANT)
        .env("TOOLBRIDGE_GO_API_BASE_URL", api)
        .env("TOOLBRIDGE_HOST", "127.0.0.1")
        .env("TOOLBRIDGE_PORT", port.to_string())
        .env("TOOLBRIDGE_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap_or_else(|e| panic!("{bin}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{bin} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Proc(child, port)
}

async fn client(p: &Proc) -> Client {
    let token = mint_hs256(JWT, SUB, Duration::from_secs(3600));
    let cfg =
        StreamableHttpClientTransportConfig::with_uri(format!("http://127.0.0.1:{}/mcp", p.1))
            .auth_header(token);
    ().serve(StreamableHttpClientTransport::from_config(cfg))
        .await
        .unwrap()
}

async fn call(c: &Client, name: &str, args: Value) -> CallToolResult {
    let r = c
        .call_tool(
            CallToolRequestParams::new(name.to_owned())
                .with_arguments(args.as_object().cloned().unwrap_or_default()),
        )
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{name}: {:?}", r.content);
    r
}

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

/// A fixed pseudo-random sequence (no dependency on a seed file or the clock).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % below as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "meeting",
    "notes",
    "the",
    "quarterly",
    "plan",
    "and",
    "budget",
    "review",
    "with",
    "design",
    "team",
    "follow",
    "up",
    "on",
    "customer",
    "feedback",
    "about",
    "onboarding",
    "flow",
    "ship",
    "before",
    "Friday",
    "draft",
    "email",
    "to",
    "Ana",
    "re:",
    "contract",
    "renewal",
    "café",
];

fn prose(rng: &mut Lcg, chars: usize) -> String {
    let mut s = String::new();
    while s.chars().count() < chars {
        s.push_str(WORDS[rng.next(WORDS.len())]);
        s.push(if rng.next(9) == 0 { '\n' } else { ' ' });
    }
    s.chars().take(chars).collect()
}

/// The notes `get_note` reads: one of median length, and the longest (600 characters).
struct Picked {
    median: (usize, String),
    longest: String,
}

/// The data set: 500 notes of 50–600 characters (the 20 of the first page among them,
/// and one of exactly 600), 20 tasks with 3 comments each, a chat with 30 messages.
async fn populate(c: &Client) -> Picked {
    let mut rng = Lcg(23);
    let mut long_uid = String::new();
    let mut lengths = Vec::new();
    for i in 0..500 {
        let len = if i == 7 { 600 } else { 50 + rng.next(551) };
        let tags = json!([WORDS[rng.next(WORDS.len())]]);
        let r = call(
            c,
            "create_note",
            json!({"title": format!("Note {i}: {}", prose(&mut rng, 24)), "content": prose(&mut rng, len), "tags": tags}),
        )
        .await;
        let uid = r.structured_content.unwrap()["uid"]
            .as_str()
            .unwrap()
            .to_owned();
        if i == 7 {
            long_uid = uid.clone();
        }
        lengths.push((len, uid));
    }
    for i in 0..20 {
        let task = call(
            c,
            "create_task",
            json!({"title": format!("Task {i}"), "description": prose(&mut rng, 120), "priority": "high", "due_date": "2027-04-15"}),
        )
        .await;
        let uid = task.structured_content.unwrap()["uid"]
            .as_str()
            .unwrap()
            .to_owned();
        for _ in 0..3 {
            call(
                c,
                "create_comment",
                json!({"content": prose(&mut rng, 80), "parent_type": "task", "parent_uid": uid}),
            )
            .await;
        }
    }
    let chat = call(
        c,
        "create_chat",
        json!({"title": "Launch", "participants": ["ana", "ben"]}),
    )
    .await;
    let chat_uid = chat.structured_content.unwrap()["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..30 {
        call(
            c,
            "create_chat_message",
            json!({"chat_uid": chat_uid, "content": prose(&mut rng, 40 + i * 5), "sender": "ana"}),
        )
        .await;
    }
    lengths.sort();
    Picked {
        median: lengths[lengths.len() / 2].clone(),
        longest: long_uid,
    }
}

struct Counter(tiktoken_rs::CoreBPE);

impl Counter {
    fn tokens(&self, s: &str) -> usize {
        self.0.encode_with_special_tokens(s).len()
    }
}

/// One measured line: bytes and tokens.
#[derive(Clone, Copy, Default)]
struct Size {
    bytes: usize,
    tokens: usize,
}

impl Size {
    fn of(counter: &Counter, s: &str) -> Self {
        Size {
            bytes: s.len(),
            tokens: counter.tokens(s),
        }
    }
    fn add(self, o: Size) -> Size {
        Size {
            bytes: self.bytes + o.bytes,
            tokens: self.tokens + o.tokens,
        }
    }
}

/// What one gateway configuration puts into the context.
struct Measures {
    tools_seed: Option<Size>,
    tools_current: Size,
    page20: Size,
    get_note: Size,
    get_long_note: Size,
    create_task: Size,
    walk: Size,
    walk_pages: usize,
}

async fn tools_list(counter: &Counter, bin: &str, api: &str, env: &[(&str, &str)]) -> Size {
    let p = start(bin, api, env);
    let c = client(&p).await;
    let tools = c.list_all_tools().await.unwrap();
    let s = Size::of(counter, &serde_json::to_string(&tools).unwrap());
    let _ = c.cancel().await;
    s
}

async fn measure(
    counter: &Counter,
    bin: &str,
    seed_api: Option<&str>,
    api: &str,
    env: &[(&str, &str)],
    picked: &Picked,
) -> Measures {
    let tools_seed = match seed_api {
        Some(seed) => Some(tools_list(counter, bin, seed, env).await),
        None => None,
    };
    let p = start(bin, api, env);
    let c = client(&p).await;
    let tools = c.list_all_tools().await.unwrap();
    let tools_current = Size::of(counter, &serde_json::to_string(&tools).unwrap());
    let page20 = Size::of(
        counter,
        &text(&call(&c, "list_notes", json!({"limit": 20})).await),
    );
    let get_note = Size::of(
        counter,
        &text(&call(&c, "get_note", json!({"uid": picked.median.1})).await),
    );
    let get_long_note = Size::of(
        counter,
        &text(&call(&c, "get_note", json!({"uid": picked.longest})).await),
    );
    let create_task = Size::of(
        counter,
        &text(
            &call(
                &c,
                "create_task",
                json!({"title": "File taxes", "description": "Receipts are in the blue folder.", "priority": "high", "due_date": "2027-04-15"}),
            )
            .await,
        ),
    );
    let mut walk = Size::default();
    let mut walk_pages = 0;
    let mut cursor: Option<String> = None;
    let mut notes = 0;
    loop {
        let mut args = json!({});
        if let Some(cur) = &cursor {
            args["cursor"] = json!(cur);
        }
        let r = call(&c, "list_notes", args).await;
        walk = walk.add(Size::of(counter, &text(&r)));
        walk_pages += 1;
        let page = r.structured_content.unwrap();
        notes += page["items"].as_array().unwrap().len();
        if page["hasMore"] != json!(true) {
            break;
        }
        cursor = page["nextCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(notes, 500, "the walk saw every note");
    let _ = c.cancel().await;
    Measures {
        tools_seed,
        tools_current,
        page20,
        get_note,
        get_long_note,
        create_task,
        walk,
        walk_pages,
    }
}

fn emulator_config(generation: Generation) -> EmulatorConfig {
    let base = match generation {
        Generation::Seed => EmulatorConfig::default(),
        Generation::Current => EmulatorConfig::current(),
    };
    EmulatorConfig {
        jwt_hs256_secret: JWT.into(),
        tenant_id: TENANT.into(),
        default_tenant_id: TENANT.into(),
        tenant_header_secret: None,
        // The data set is made in a burst; the API's limits are not what is measured.
        rate_limit: None,
        auth_rate_limit: None,
        ..base
    }
}

async fn spawn(generation: Generation) -> EmulatorHandle {
    Emulator::spawn(emulator_config(generation), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn pct(after: usize, before: usize) -> String {
    format!("{:.0}%", 100.0 * after as f64 / before.max(1) as f64)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    toolbridge_mcp::upstream::install_crypto_provider();
    let after_bin = env!("CARGO_BIN_EXE_toolbridge-mcp");
    let before_bin = std::env::var("TOKENS_BEFORE_BIN").ok();
    let counter = Counter(tiktoken_rs::o200k_base().expect("the embedded o200k_base vocabulary"));
    let seed = spawn(Generation::Seed).await;
    let current = spawn(Generation::Current).await;
    let (seed_api, api) = (seed.base_url(), current.base_url());

    let maker = start(after_bin, &api, &[]);
    let picked = populate(&client(&maker).await).await;
    drop(maker);

    let mut runs: Vec<(&str, Measures)> = Vec::new();
    match &before_bin {
        Some(bin) => runs.push((
            "before (631d4f4)",
            measure(&counter, bin, Some(&seed_api), &api, &[], &picked).await,
        )),
        None => eprintln!(
            "TOKENS_BEFORE_BIN is not set: no \"before\" column (build commit 631d4f4 and point it at that binary)"
        ),
    }
    runs.push((
        "after, RESULT_SHAPE=full",
        measure(
            &counter,
            after_bin,
            Some(&seed_api),
            &api,
            &[("TOOLBRIDGE_RESULT_SHAPE", "full")],
            &picked,
        )
        .await,
    ));
    runs.push((
        "after (defaults)",
        measure(&counter, after_bin, Some(&seed_api), &api, &[], &picked).await,
    ));

    println!("tokens: OpenAI o200k_base (tiktoken-rs 0.12, vocabulary compiled in), bytes: UTF-8");
    println!();
    let mut header = "| what |".to_owned();
    let mut rule = "|---|".to_owned();
    for (name, _) in &runs {
        header.push_str(&format!(" {name}: bytes / tokens |"));
        rule.push_str("---|");
    }
    if runs.len() > 1 {
        header.push_str(" after / first |");
        rule.push_str("---|");
    }
    println!("{header}\n{rule}");
    type Pick = fn(&Measures) -> Option<Size>;
    let median = format!(
        "`get_note` (the median note, {} characters), text",
        picked.median.0
    );
    let lines: [(&str, Pick); 8] = [
        ("`tools/list`, seed API (41 + 2 tools)", |m| m.tools_seed),
        ("`tools/list`, current API (57 + 2 tools)", |m| {
            Some(m.tools_current)
        }),
        (
            "`list_notes` page of 20 (notes of 50–600 characters), text",
            |m| Some(m.page20),
        ),
        (&median, |m| Some(m.get_note)),
        ("`get_note` (the longest note, 600 characters), text", |m| {
            Some(m.get_long_note)
        }),
        ("`create_task` result, text", |m| Some(m.create_task)),
        (
            "walk of all 500 notes (default page size), text of every page",
            |m| Some(m.walk),
        ),
        ("pages in that walk", |m| {
            Some(Size {
                bytes: m.walk_pages,
                tokens: m.walk_pages,
            })
        }),
    ];
    for (what, pick) in lines {
        let mut line = format!("| {what} |");
        for (_, m) in &runs {
            match pick(m) {
                Some(s) if what.starts_with("pages") => line.push_str(&format!(" {} |", s.bytes)),
                Some(s) => line.push_str(&format!(" {} / {} |", s.bytes, s.tokens)),
                None => line.push_str(" – |"),
            }
        }
        if runs.len() > 1 && !what.starts_with("pages") {
            match (pick(&runs[0].1), pick(&runs[runs.len() - 1].1)) {
                (Some(b), Some(a)) => line.push_str(&format!(
                    " {} bytes, {} tokens |",
                    pct(a.bytes, b.bytes),
                    pct(a.tokens, b.tokens)
                )),
                _ => line.push_str(" – |"),
            }
        } else if runs.len() > 1 {
            line.push_str(" |");
        }
        println!("{line}");
    }
    seed.shutdown().await;
    current.shutdown().await;
}

//! The router in-process (`tower::ServiceExt::oneshot`), stateful and stateless, with
//! an emulator behind it; requests from arbitrary parts. Cases: `PROPTEST_CASES`
//! (default 2000). Each run prints the statuses it saw and how many tool calls got as far
//! as the handler (argument decoding included).

use std::{sync::OnceLock, time::Duration};

use axum::{Router, body::Body};
use proptest::prelude::*;
use serde_json::{Value, json};
use toolbridge_mcp::secret::Secret;
use tower::ServiceExt;

use crate::common::*;

struct World {
    rt: tokio::runtime::Runtime,
    routers: [Router; 2],
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut emu_cfg = emulator_config();
        emu_cfg.rate_limit = None;
        let emu = rt
            .block_on(toolbridge_mcp::emulator::Emulator::spawn(
                emu_cfg,
                "127.0.0.1:0".parse().unwrap(),
            ))
            .unwrap();
        let routers = [false, true].map(|stateless| {
            let mut cfg = gateway_config(&emu.base_url());
            cfg.jwt_hs256_secret = Secret::new(JWT_SECRET);
            cfg.stateless = stateless;
            cfg.max_body_bytes = 64 * 1024;
            let _guard = rt.enter();
            toolbridge_mcp::http::app(toolbridge_mcp::http::AppState::new(cfg).unwrap())
        });
        std::mem::forget(emu);
        World { rt, routers }
    })
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,60}",
        Just(format!("Bearer {}", token("prop"))),
        Just("Bearer a.b.c".to_owned()),
        Just("127.0.0.1".to_owned()),
        Just("application/json, text/event-stream".to_owned()),
        Just("http://localhost:1".to_owned()),
        "[0-9]{1,12}",
    ]
}

fn header_name() -> impl Strategy<Value = String> {
    let known = prop_oneof![
        Just("authorization"),
        Just("host"),
        Just("origin"),
        Just("content-type"),
        Just("accept"),
        Just("mcp-session-id"),
        Just("mcp-protocol-version"),
        Just("content-length"),
        Just("last-event-id"),
    ];
    prop_oneof![1 => known.prop_map(str::to_owned), 1 => "x-[a-z]{1,10}"]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::from)
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::hash_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let method = prop_oneof![
        1 => Just("initialize"), 1 => Just("tools/list"), 6 => Just("tools/call"), 1 => Just("ping"),
        1 => Just("notifications/initialized"), 1 => Just("resources/list"), 1 => Just("x/y"),
    ];
    let tool = prop_oneof![
        Just("list_notes"),
        Just("get_task"),
        Just("create_comment"),
        Just("update_chat_message"),
        Just("process_note"),
        Just("patch_chat"),
        Just("health_check"),
        Just("nope")
    ];
    // Arguments: mostly objects over the tools' own parameter names, values arbitrary.
    let key = prop_oneof![
        Just("uid"),
        Just("title"),
        Just("content"),
        Just("limit"),
        Just("cursor"),
        Just("updates"),
        Just("action"),
        Just("metadata"),
        Just("if_match"),
        Just("include_deleted"),
        Just("tags"),
        Just("additional_fields"),
        Just("parent_type"),
        Just("parent_uid"),
        Just("chat_uid"),
        Just("due_date"),
    ];
    let args = prop_oneof![
        3 => proptest::collection::btree_map(key, json_value(), 0..6)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        1 => json_value(),
    ];
    let id = prop_oneof![
        any::<i64>().prop_map(Value::from),
        "[a-z0-9]{1,8}".prop_map(Value::from)
    ];
    let rpc = (method, tool, args, id).prop_map(|(m, t, args, id)| {
        json!({"jsonrpc": "2.0", "id": id, "method": m, "params": {"name": t, "arguments": args, "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "p", "version": "0"}}}).to_string().into_bytes()
    });
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..512),
        4 => rpc,
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
    ]
}

/// One arbitrary request.
#[derive(Debug)]
struct Case {
    stateless: bool,
    method: &'static str,
    path: &'static str,
    headers: Vec<(String, String)>,
    with_defaults: bool,
    body: Vec<u8>,
}

fn case() -> impl Strategy<Value = Case> {
    // Weighted towards requests that get deep: POST /mcp with a good token, stateless
    // (so a tools/call needs no session and reaches the argument decoding).
    let method = prop_oneof![6 => Just("POST"), 1 => Just("GET"), 1 => Just("DELETE"), 1 => Just("PUT"), 1 => Just("OPTIONS")];
    let path = prop_oneof![
        8 => Just("/mcp"), 1 => Just("/mcp/"), 1 => Just("/mcp/x"), 1 => Just("/mcp?access_token=x"),
        1 => Just("/.well-known/oauth-protected-resource/mcp"), 1 => Just("/healthz"), 1 => Just("/nope"),
    ];
    let headers = proptest::collection::vec((header_name(), header_value()), 0..4);
    (
        proptest::bool::weighted(0.7),
        method,
        path,
        headers,
        proptest::bool::weighted(0.8),
        body(),
    )
        .prop_map(
            |(stateless, method, path, headers, with_defaults, body)| Case {
                stateless,
                method,
                path,
                headers,
                with_defaults,
                body,
            },
        )
}

/// Runs `case` through the router; its status.
fn run(w: &World, c: Case) -> u16 {
    let mut req = http::Request::builder().method(c.method).uri(c.path);
    if c.with_defaults {
        req = req
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {}", token("prop")))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
    }
    // A generated header replaces the default of the same name.
    let map = req.headers_mut().unwrap();
    for (k, v) in &c.headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::try_from(k.as_str()),
            http::HeaderValue::from_str(v),
        ) {
            map.insert(k, v);
        }
    }
    let req = req.body(Body::from(c.body)).unwrap();
    let router = w.routers[usize::from(c.stateless)].clone();
    let answer = w.rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), router.oneshot(req)).await
    });
    answer
        .expect("answered within 10 s")
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn arbitrary_requests_never_panic_or_5xx() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let w = world();
    let seen = std::sync::Mutex::new(std::collections::BTreeMap::<u16, u32>::new());
    let deep = std::sync::atomic::AtomicU32::new(0);
    let result = runner.run(&case(), |c| {
        let what = format!("{} {}", c.method, c.path);
        let tool_call = c.body.windows(10).any(|w| w == b"tools/call");
        let status = run(w, c);
        *seen.lock().unwrap().entry(status).or_default() += 1;
        if tool_call && status == 200 {
            deep.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        prop_assert!(status < 500, "{what} -> {status}");
        Ok(())
    });
    let seen = seen.into_inner().unwrap();
    eprintln!(
        "{} router cases (configured {cases}); statuses seen: {seen:?}; tool calls answered by the handler: {}",
        seen.values().sum::<u32>(),
        deep.into_inner()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

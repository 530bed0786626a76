//! OpenTelemetry traces end to end, against a real Jaeger v2 (`common::jaeger`): a tool call
//! from a 2026-07-28 client with `traceparent` in `_meta`, and one from a 2025-11-25 client
//! with the HTTP header, each become one trace under the client's trace id: a gateway span
//! whose parent is the client's span, the MCP span with its semantic-convention attributes,
//! one client span per API request, and the emulator received each of those requests with a
//! `traceparent` naming that client span. The JSON logs carry the same trace and span ids.
//! The other MCP messages (initialize, notifications/initialized, ping, tools/list,
//! resources/list and a refused resources/read) each get their MCP span too, named and
//! attributed by the same conventions.
//!
//! And a collector that is down, or accepts and never answers, costs the calls nothing: 1,000
//! calls each, none failed, the drops counted in `toolbridge_trace_spans_dropped_total`.

use crate::common;

use std::time::{Duration, Instant};

use common::{binary::*, jaeger::*, metrics::*, *};
use serde_json::{Value, json};

const MODERN: &str = "2026-07-28";

fn hex_id(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", fastrand::u8(..)))
        .collect()
}

/// A fresh client trace: `(trace id, span id, traceparent)`.
fn client_trace() -> (String, String, String) {
    let (t, s) = (hex_id(16), hex_id(8));
    let tp = format!("00-{t}-{s}-01");
    (t, s, tp)
}

fn post(url: &str, bearer: &str, version: &str, body: &Value) -> reqwest::RequestBuilder {
    let mut req = mcp_http::client()
        .post(url)
        .header("authorization", bearer)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", version)
        .json(body);
    if let Some(m) = body["method"].as_str() {
        req = req.header("mcp-method", m);
    }
    if let Some(n) = body["params"]["name"].as_str() {
        req = req.header("mcp-name", n);
    }
    req
}

/// Checks one exported trace against what the client sent and what the emulator received.
fn check_trace(
    name: &str,
    trace: &Value,
    (trace_id, client_span): (&str, &str),
    api: &[toolbridge_mcp::emulator::RecordedRequest],
) {
    let spans = spans(trace);
    assert!(
        !spans.is_empty(),
        "{name}: no trace {trace_id} in Jaeger: {trace}"
    );
    assert!(
        spans.iter().all(|s| s.trace_id == trace_id),
        "{name}: {trace}"
    );
    // A gateway span whose parent is the client's span.
    let under_client: Vec<_> = spans
        .iter()
        .filter(|s| s.parents.iter().any(|p| p == client_span))
        .collect();
    assert_eq!(
        under_client.len(),
        1,
        "{name}: spans under the client's: {trace}"
    );
    // The MCP span, by the MCP semantic conventions.
    let mcp: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "tools/call create_note")
        .collect();
    assert_eq!(mcp.len(), 1, "{name}: {trace}");
    let mcp = mcp[0];
    for (k, v) in [
        ("mcp.method.name", "tools/call"),
        ("gen_ai.tool.name", "create_note"),
        ("gen_ai.operation.name", "execute_tool"),
        ("span.kind", "server"),
        ("network.transport", "tcp"),
        ("toolbridge.outcome", "ok"),
    ] {
        assert_eq!(
            mcp.tag(k).as_deref(),
            Some(v),
            "{name}: {k}: {:?}",
            mcp.tags
        );
    }
    assert!(
        mcp.tag("jsonrpc.request.id").is_some(),
        "{name}: {:?}",
        mcp.tags
    );
    assert!(
        mcp.tag("mcp.protocol.version").is_some(),
        "{name}: {:?}",
        mcp.tags
    );
    assert!(mcp.tag("error.type").is_none(), "{name}: {:?}", mcp.tags);
    // One client span per API request, each the parent the emulator was told of.
    let client_spans: Vec<_> = spans
        .iter()
        .filter(|s| s.tag("span.kind").as_deref() == Some("client"))
        .collect();
    let received: Vec<_> = api
        .iter()
        .filter_map(|r| r.header("traceparent"))
        .filter(|tp| tp.split('-').nth(1) == Some(trace_id))
        .map(|tp| tp.split('-').nth(2).unwrap().to_owned())
        .collect();
    assert!(
        !received.is_empty(),
        "{name}: the API got no traceparent of this trace"
    );
    assert_eq!(client_spans.len(), received.len(), "{name}: {trace}");
    for parent in &received {
        let span = client_spans
            .iter()
            .find(|s| &s.span_id == parent)
            .unwrap_or_else(|| {
                panic!("{name}: the API's traceparent names {parent}, no client span: {trace}")
            });
        let template = span.tag("url.template").unwrap();
        assert!(template.starts_with("/v1/"), "{name}: {template}");
        assert!(!template.contains('?'), "{name}: {template}");
        assert!(
            !template
                .split('/')
                .any(|seg| uuid::Uuid::parse_str(seg).is_ok()),
            "{name}: an id in {template}"
        );
        assert_eq!(
            span.name,
            format!("{} {template}", span.tag("http.request.method").unwrap())
        );
        assert_eq!(span.tag("server.address").as_deref(), Some("127.0.0.1"));
        assert!(
            span.tag("http.response.status_code").is_some(),
            "{:?}",
            span.tags
        );
        // Under the MCP span (directly: the chain's own layers make no spans).
        assert_eq!(span.parents, vec![mcp.span_id.clone()], "{name}: {trace}");
    }
    // The create_note itself is among them, under its route template.
    assert!(
        client_spans.iter().any(|s| s.name == "POST /v1/notes"),
        "{name}: {:?}",
        client_spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    // Nothing of the call's secrets in what was exported.
    let text = trace.to_string();
    for secret in [TENANT_SECRET, JWT_SECRET, "Bearer ", "x-tb-signature"] {
        assert!(!text.contains(secret), "{name}: {secret} exported");
    }
    assert!(!text.contains("\"content\""), "{name}: arguments exported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_is_one_trace_from_the_client_through_the_gateway_to_the_api() {
    let jaeger = Jaeger::start();
    let emu = api(emulator_config()).await;
    let gw = Gateway::start(
        &emu.base_url(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &jaeger.otlp_endpoint()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("TOOLBRIDGE_LOG_FORMAT", "json"),
            ("TOOLBRIDGE_LOG_LEVEL", "info"),
        ],
    );
    let url = gw.url();
    let bearer = format!("Bearer {}", token("traced-user"));

    // 2026-07-28: trace context in `_meta` (and a malformed header beside it, ignored).
    let (t1, s1, tp1) = client_trace();
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
    "name": "create_note", "arguments": {"title": "traced", "content": "body text"},
    "_meta": {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "traced", "version": "0"},
        "traceparent": tp1, "tracestate": "client=1", "baggage": "k=v",
    }}});
    let a =
        mcp_http::read(post(&url, &bearer, MODERN, &call).header("traceparent", "nonsense")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.answer()["result"]["structuredContent"]["uid"].is_string(),
        "{}",
        a.body
    );

    // 2025-11-25: a session, then the call with the W3C header.
    // Every MCP message gets its MCP span, not only tools/call: each of these carries a
    // client trace of its own (checked at the end).
    let mut methods = Vec::new();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    let (t, s, tp) = client_trace();
    let r =
        mcp_http::read(post(&url, &bearer, "2025-11-25", &init).header("traceparent", &tp)).await;
    let sid = r.header("mcp-session-id").expect("session").to_owned();
    methods.push(("initialize", Some(1), t, s));
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (t, s, tp) = client_trace();
    let r = mcp_http::read(
        post(&url, &bearer, "2025-11-25", &done)
            .header("mcp-session-id", &sid)
            .header("traceparent", &tp),
    )
    .await;
    assert_eq!(r.status, 202);
    methods.push(("notifications/initialized", None, t, s));
    for (id, method, params) in [
        (2, "ping", json!({})),
        (3, "tools/list", json!({})),
        (4, "resources/list", json!({})),
        (
            5,
            "resources/read",
            json!({"uri": "ui://toolbridge/no-such-view"}),
        ),
    ] {
        let (t, s, tp) = client_trace();
        let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let r = mcp_http::read(
            post(&url, &bearer, "2025-11-25", &req)
                .header("mcp-session-id", &sid)
                .header("traceparent", &tp),
        )
        .await;
        assert_eq!(r.status, 200, "{method}: {}", r.body);
        methods.push((method, Some(id), t, s));
    }
    let (t2, s2, tp2) = client_trace();
    let call = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {
        "name": "create_note", "arguments": {"title": "traced 2", "content": "body text"}}});
    let a = mcp_http::read(
        post(&url, &bearer, "2025-11-25", &call)
            .header("mcp-session-id", &sid)
            .header("traceparent", &tp2)
            .header("tracestate", "client=2"),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.answer()["result"]["structuredContent"]["uid"].is_string(),
        "{}",
        a.body
    );

    let api = api_calls(&emu.emulator);
    // The spans each trace must hold: one client span per API request of that trace, plus
    // the MCP span (and the HTTP span when the header carried the context).
    let in_trace = |t: &str| {
        api.iter()
            .filter(|r| r.header("traceparent").is_some_and(|tp| tp.contains(t)))
            .count()
    };
    // _meta: the MCP span is the child of the client's span.
    let trace = jaeger.trace(&t1, in_trace(&t1) + 1, "traces-meta").await;
    check_trace("_meta", &trace, (&t1, &s1), &api);
    let mcp = spans(&trace)
        .into_iter()
        .find(|s| s.name.starts_with("tools/call"))
        .unwrap();
    assert_eq!(mcp.parents, vec![s1.clone()]);
    assert_eq!(mcp.tag("mcp.protocol.version").as_deref(), Some(MODERN));
    // The header: the HTTP server span is the child of the client's, the MCP span its child.
    let trace = jaeger.trace(&t2, in_trace(&t2) + 2, "traces-header").await;
    check_trace("header", &trace, (&t2, &s2), &api);
    let spans2 = spans(&trace);
    let http = spans2
        .iter()
        .find(|s| s.name == "POST /mcp")
        .expect("HTTP server span");
    assert_eq!(http.parents, vec![s2.clone()]);
    assert_eq!(http.tag("http.route").as_deref(), Some("/mcp"));
    assert_eq!(
        http.tag("http.response.status_code").as_deref(),
        Some("200")
    );
    let mcp = spans2
        .iter()
        .find(|s| s.name.starts_with("tools/call"))
        .unwrap();
    assert_eq!(mcp.parents, vec![http.span_id.clone()]);
    assert_eq!(
        mcp.tag("mcp.protocol.version").as_deref(),
        Some("2025-11-25")
    );
    // The session id only hashed.
    let hashed = mcp.tag("mcp.session.id").expect("session id attribute");
    assert_ne!(hashed, sid);
    assert!(
        !trace.to_string().contains(&sid),
        "the raw session id was exported"
    );

    // Logs: the call's lines carry the trace and span ids next to the correlation id.
    let logs = gw.logs();
    let finished: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "tool call finished")
        .collect();
    let meta_mcp = mcp_span_id(&jaeger, &t1, in_trace(&t1) + 1).await;
    for (t, span) in [(&t1, meta_mcp), (&t2, mcp.span_id.clone())] {
        let line = finished
            .iter()
            .find(|l| l["trace_id"] == json!(t))
            .unwrap_or_else(|| panic!("no log line with trace_id {t}: {logs}"));
        assert_eq!(line["span_id"], json!(span), "{line}");
        assert!(line["correlation_id"].is_string(), "{line}");
    }

    for (method, id, t, s) in &methods {
        check_method_span(&jaeger, (method, *id, t, s), &sid).await;
    }
}

/// The MCP span of a request or notification other than tools/call, sent with a
/// `traceparent` header of the client span `client`: named `{mcp.method.name}`, the child of
/// the HTTP server span (itself the child of the client's), with the MCP attributes.
async fn check_method_span(
    jaeger: &Jaeger,
    (method, id, trace_id, client): (&str, Option<i64>, &str, &str),
    sid: &str,
) {
    let trace = jaeger.trace(trace_id, 2, "traces-methods").await;
    let spans = spans(&trace);
    let http = spans
        .iter()
        .find(|s| s.name == "POST /mcp")
        .unwrap_or_else(|| panic!("{method}: no HTTP span: {trace}"));
    assert_eq!(http.parents, vec![client.to_owned()], "{method}: {trace}");
    let mcp = spans
        .iter()
        .find(|s| s.name == method)
        .unwrap_or_else(|| panic!("{method}: no MCP span named {method}: {trace}"));
    assert_eq!(mcp.parents, vec![http.span_id.clone()], "{method}: {trace}");
    for (k, v) in [
        ("mcp.method.name", method),
        ("mcp.protocol.version", "2025-11-25"),
        ("span.kind", "server"),
        ("network.transport", "tcp"),
    ] {
        assert_eq!(
            mcp.tag(k).as_deref(),
            Some(v),
            "{method}: {k}: {:?}",
            mcp.tags
        );
    }
    assert_eq!(
        mcp.tag("jsonrpc.request.id"),
        id.map(|id| id.to_string()),
        "{method}: {:?}",
        mcp.tags
    );
    // The session id only hashed (initialize has none yet: the answer assigns it).
    let session = mcp.tag("mcp.session.id");
    assert_eq!(
        session.is_some(),
        method != "initialize",
        "{method}: {:?}",
        mcp.tags
    );
    assert!(
        !trace.to_string().contains(sid),
        "{method}: the raw session id"
    );
    // A protocol error is the span's error, by its JSON-RPC code.
    let error = (method == "resources/read").then(|| "-32002".to_owned());
    assert_eq!(mcp.tag("error.type"), error, "{method}: {:?}", mcp.tags);
    assert_eq!(mcp.tag("rpc.response.status_code"), error, "{method}");
}

async fn mcp_span_id(jaeger: &Jaeger, trace_id: &str, spans_in_it: usize) -> String {
    let trace = jaeger.trace(trace_id, spans_in_it, "traces-meta").await;
    spans(&trace)
        .into_iter()
        .find(|s| s.name.starts_with("tools/call"))
        .unwrap()
        .span_id
}

/// `n` tool calls, `concurrency` at a time, from one rmcp client; the number that failed.
async fn calls(url: &str, n: usize, concurrency: usize) -> usize {
    use rmcp::{
        ServiceExt,
        model::CallToolRequestParams,
        transport::{
            StreamableHttpClientTransport,
            streamable_http_client::StreamableHttpClientTransportConfig,
        },
    };
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_owned())
            .auth_header(token("fault-user")),
    );
    let client = std::sync::Arc::new(().serve(transport).await.unwrap());
    let mut failed = 0;
    let mut done = 0;
    while done < n {
        let batch = concurrency.min(n - done);
        let results = futures::future::join_all((0..batch).map(|_| {
            let client = client.clone();
            async move {
                let args = json!({"limit": 1}).as_object().cloned();
                let mut params = CallToolRequestParams::new("list_notes");
                params.arguments = args;
                client.call_tool(params).await
            }
        }))
        .await;
        failed += results
            .iter()
            .filter(|r| !matches!(r, Ok(r) if r.is_error != Some(true)))
            .count();
        done += batch;
    }
    failed
}

/// The sum of `toolbridge_trace_spans_dropped_total` over its reasons.
fn dropped(text: &str) -> f64 {
    samples(text, "toolbridge_trace_spans_dropped_total", &[]).sum()
}

/// Scrapes until at least `at_least` spans are counted dropped (a minute at most).
async fn until_dropped(port: u16, at_least: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let n = dropped(&scrape(port).await);
        if n >= at_least || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_down_or_silent_costs_the_calls_nothing_and_drops_are_counted() {
    let mut cfg = emulator_config();
    cfg.rate_limit = None;
    cfg.auth_rate_limit = None;
    let emu = api(cfg).await;
    // Nothing listens on a port just released.
    let closed = free_port();
    // Accepts every connection, reads nothing, answers nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for conn in silent.incoming().flatten() {
            keep.lock().unwrap().push(conn);
        }
    });
    for (what, port) in [("closed port", closed), ("silent listener", silent_port)] {
        let started = Instant::now();
        let gw = Gateway::start(
            &emu.base_url(),
            &[
                (
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    &format!("http://127.0.0.1:{port}"),
                ),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
                ("OTEL_BSP_SCHEDULE_DELAY", "100"),
                ("TOOLBRIDGE_LOG_LEVEL", "info"),
            ],
        );
        let failed = calls(&gw.url(), 1000, 8).await;
        assert_eq!(failed, 0, "{what}: calls failed");
        // Every call made at least three spans (HTTP, MCP, its API request), and none could
        // be exported: all of them are counted dropped in the end.
        let n = until_dropped(gw.port, 3000.0).await;
        eprintln!("{what}: 1000 calls, {failed} failed, {n} spans counted dropped");
        assert!(n >= 3000.0, "{what}: {n} spans counted dropped");
        let logs = gw.logs();
        // At most one line a minute (and a first one at once).
        let lines = logs.matches("trace spans dropped").count() as u64;
        let allowed = 1 + started.elapsed().as_secs() / 60;
        assert!(
            (1..=allowed).contains(&lines),
            "{what}: {lines} drop lines: {logs}"
        );
    }
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_takes_meta_trace_context_and_flushes_at_exit() {
    use std::io::{BufRead, BufReader, Write};
    let jaeger = Jaeger::start();
    let emu = api(emulator_config()).await;
    let bearer = token("stdio-traced");
    let log = tempfile::NamedTempFile::new().unwrap();
    // A schedule far beyond the test: only the flush at exit can deliver the spans.
    let mut child = std::process::Command::new(BIN)
        .arg("stdio")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TOOLBRIDGE_TENANT_ID", TENANT)
        .env("TENANT_HEADER_SECRET", TENANT_SECRET)
        .env("TOOLBRIDGE_GO_API_BASE_URL", emu.base_url())
        .env("TOOLBRIDGE_TOKEN", &bearer)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", jaeger.otlp_endpoint())
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let (t, s, tp) = client_trace();
    let mut stdin = child.stdin.take().unwrap();
    for line in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "stdio", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "create_note", "arguments": {"title": "stdio", "content": "c"},
            "_meta": {"traceparent": tp}}}),
    ] {
        writeln!(stdin, "{line}").unwrap();
    }
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let answer = loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "stdio closed");
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["id"] == 2 {
            break v;
        }
    };
    assert!(
        answer["result"]["structuredContent"]["uid"].is_string(),
        "{answer}"
    );
    // End of input: the server stops and flushes its spans on the way out.
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let api = api_calls(&emu.emulator);
    let sent = api
        .iter()
        .filter(|r| r.header("traceparent").is_some_and(|h| h.contains(&t)))
        .count();
    let trace = jaeger.trace(&t, sent + 1, "traces-stdio").await;
    let spans = spans(&trace);
    let mcp = spans
        .iter()
        .find(|x| x.name == "tools/call create_note")
        .unwrap_or_else(|| panic!("{trace}"));
    assert_eq!(mcp.parents, vec![s]);
    assert_eq!(mcp.tag("network.transport").as_deref(), Some("pipe"));
    assert_eq!(spans.len(), sent + 1, "{trace}");
}

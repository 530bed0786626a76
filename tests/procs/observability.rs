//! The real binary with JSON logs and a metrics port: a scrape shows the tool call counted
//! with its outcome and a latency observation; JSON log lines parse, and the correlation id
//! they carry is the one the emulator received; SIGTERM ends it with exit code 0.

use crate::common;

use std::{collections::HashMap, process::Command};

use common::{binary::*, metrics::*, *};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ServiceExt, transport::StreamableHttpClientTransport};
use serde_json::{Value, json};

/// The value of the first sample line of `name` with all of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    samples(text, name, labels).next()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_json_logs_tell_the_same_story_as_the_api() {
    let emu = api(emulator_config()).await;
    let metrics_port = free_port();
    let mut gw = Gateway::start(
        &emu.base_url(),
        &[
            ("TOOLBRIDGE_LOG_FORMAT", "json"),
            ("TOOLBRIDGE_LOG_LEVEL", "info"),
            ("TOOLBRIDGE_METRICS_PORT", &metrics_port.to_string()),
        ],
    );
    let bearer = token("obs");
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(gw.url()).auth_header(bearer.clone()),
    );
    let client = ().serve(transport).await.unwrap();
    ok(
        &client,
        "create_note",
        json!({"title": "m", "content": "n"}),
    )
    .await;
    err(
        &client,
        "get_note",
        json!({"uid": "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a"}),
    )
    .await;
    err(&client, "get_note", json!({"uid": "bad"})).await;
    client.cancel().await.ok();

    for port in [gw.port, metrics_port] {
        let text = scrape(port).await;
        let ok_calls = sample(
            &text,
            "toolbridge_tool_calls_total",
            &["tool=\"create_note\"", "outcome=\"ok\""],
        );
        assert_eq!(ok_calls, Some(1.0), "{text}");
        let not_found = sample(
            &text,
            "toolbridge_tool_calls_total",
            &["tool=\"get_note\"", "outcome=\"status\""],
        );
        assert_eq!(not_found, Some(1.0), "{text}");
        let invalid = sample(
            &text,
            "toolbridge_tool_calls_total",
            &["tool=\"get_note\"", "outcome=\"invalid_arguments\""],
        );
        assert_eq!(invalid, Some(1.0), "{text}");
        let latency = sample(
            &text,
            "toolbridge_tool_call_duration_seconds_count",
            &["tool=\"create_note\""],
        );
        assert_eq!(latency, Some(1.0), "{text}");
        // reuse (the default): the user's calls share one sync session.
        assert!(
            sample(&text, "toolbridge_sessions_opened_total", &[]).unwrap_or(0.0) >= 1.0,
            "{text}"
        );
        assert!(text.contains("toolbridge_upstream_request_duration_seconds_bucket{route=\"POST /v1/notes\",status=\"201\""), "{text}");
        assert!(text.contains("toolbridge_build_info"), "{text}");
    }

    // SIGTERM: a graceful exit with code 0.
    let pid = gw.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut child = std::mem::replace(&mut gw.child, Command::new("true").spawn().unwrap());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let stderr = gw.logs();
    assert_eq!(status.code(), Some(0), "{stderr}");

    // Every log line is JSON; the tool-call lines carry the correlation ids the API saw.
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let finished: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == json!("tool call finished"))
        .collect();
    assert_eq!(finished.len(), 3, "{stderr}");
    let api_ids: HashMap<String, String> = emu
        .emulator
        .requests()
        .into_iter()
        .map(|r| (r.correlation_id.clone(), r.path.clone()))
        .collect();
    let create = finished
        .iter()
        .find(|l| l["tool"] == json!("create_note"))
        .unwrap();
    let cid = create["correlation_id"].as_str().unwrap();
    assert_eq!(
        api_ids.get(cid).map(String::as_str),
        Some("/v1/notes"),
        "{create}"
    );
    assert_eq!(create["upstream_status"], json!(201));
    assert_eq!(create["outcome"], json!("ok"));
    assert!(create["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(!stderr.contains(TENANT_SECRET));
    let signature = bearer.rsplit('.').next().unwrap();
    assert!(!stderr.contains(signature), "no token in logs");
}

/// Text logs (which print the span chain): every HTTP request has an `http_request` span
/// with its method, the matched route, status and latency; the tool call's span is its
/// child; and nothing the client sent beyond the method (a query string, an unknown path,
/// the token) is in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_http_request_has_a_span_that_holds_its_tool_call() {
    let emu = api(emulator_config()).await;
    let mut gw = Gateway::start(
        &emu.base_url(),
        &[
            ("TOOLBRIDGE_LOG_FORMAT", "text"),
            ("TOOLBRIDGE_LOG_LEVEL", "debug"),
        ],
    );
    let bearer = token("spans");
    let url = format!("{}?probe=query-string-secret", gw.url());
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header(bearer.clone()),
    );
    let client = ().serve(transport).await.unwrap();
    ok(
        &client,
        "create_note",
        json!({"title": "s", "content": "t"}),
    )
    .await;
    client.cancel().await.ok();
    let unknown = format!("http://127.0.0.1:{}/unknown-path-secret", gw.port);
    toolbridge_mcp::upstream::install_crypto_provider();
    let status = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(unknown)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 404);

    // After a graceful exit every line is written.
    let pid = gw.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut child = std::mem::replace(&mut gw.child, Command::new("true").spawn().unwrap());
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let logs = gw.logs();
    assert_eq!(exit.code(), Some(0), "{logs}");

    let call = logs
        .lines()
        .find(|l| l.contains("tool call finished"))
        .unwrap_or_else(|| panic!("no tool call line: {logs}"));
    let (http_at, call_at) = (call.find("http_request{"), call.find(":tool_call{"));
    assert!(
        http_at.is_some() && call_at.is_some() && http_at < call_at,
        "the tool call's span is a child of the request's: {call}"
    );
    assert!(
        call.contains("method=POST") && call.contains("route=/mcp"),
        "{call}"
    );
    let finished: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("http request finished"))
        .collect();
    assert!(
        finished.iter().any(|l| l.contains("route=/mcp")
            && l.contains("status=200")
            && l.contains("latency_ms=")),
        "{logs}"
    );
    assert!(
        finished
            .iter()
            .any(|l| l.contains("route=unmatched") && l.contains("status=404")),
        "{logs}"
    );
    for secret in ["query-string-secret", "unknown-path-secret", TENANT_SECRET] {
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
    let signature = bearer.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature), "no token in logs");
}

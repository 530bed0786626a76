//! Shutdowns that lose nothing, and calls that stop when their client goes away.

use crate::common;

use std::{
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use common::{binary::*, metrics::*, *};
use rmcp::{
    ServiceExt,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::json;

async fn in_flight(port: u16) -> f64 {
    let text = scrape(port).await;
    samples(&text, "toolbridge_tool_calls_in_flight", &[])
        .next()
        .unwrap_or(0.0)
}

/// SIGTERM during 50 slow calls: all 50 complete, new connections are refused, exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_fifty_in_flight_calls_finish() {
    toolbridge_mcp::upstream::install_crypto_provider();
    let emu_cfg = toolbridge_mcp::emulator::EmulatorConfig {
        rate_limit: None,
        ..emulator_config()
    };
    let emu = api(emu_cfg).await;
    let mut gw = Gateway::start(
        &emu.base_url(),
        &[("TOOLBRIDGE_SHUTDOWN_GRACE_SECONDS", "20")],
    );
    // Ten clients with five calls each: every call waits 1.5 s at the API.
    let mut clients = Vec::new();
    for i in 0..10 {
        let t = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(gw.url())
                .auth_header(token(&format!("user{i}"))),
        );
        clients.push(Arc::new(().serve(t).await.unwrap()));
    }
    emu.emulator.faults().set_delay(Duration::from_millis(1500));
    let mut calls = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        for j in 0..5 {
            let c = c.clone();
            calls.push(tokio::spawn(async move {
                call(
                    &c,
                    "create_note",
                    json!({"title": format!("{i}-{j}"), "content": "slow"}),
                )
                .await
            }));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while in_flight(gw.port).await < 50.0 {
        assert!(Instant::now() < deadline, "50 calls never got in flight");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        Command::new("kill")
            .args(["-TERM", &gw.child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    // New connections are refused while the 50 finish.
    let refused_deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", gw.port)).is_err() {
            break;
        }
        assert!(
            Instant::now() < refused_deadline,
            "the listener stayed open after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("listener closed; waiting for the calls");
    let results = futures::future::join_all(calls).await;
    eprintln!("calls returned");
    let mut failed = Vec::new();
    for r in results {
        let r = r.unwrap();
        if r.is_error == Some(true) {
            failed.push(text(&r));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of 50 failed: {:?}",
        failed.len(),
        failed.first()
    );
    let status = tokio::task::spawn_blocking(move || gw.child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let created = emu
        .emulator
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/notes" && r.status == 201)
        .count();
    assert_eq!(created, 50);
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: serde_json::Value,
) -> reqwest::Response {
    let mut req = client
        .post(url)
        .header("authorization", format!("Bearer {}", token("leaver")))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .json(&body);
    if let Some(s) = session {
        req = req
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", "2025-06-18");
    }
    req.send().await.unwrap()
}

/// A client that disconnects during a slow call: the upstream request is aborted (the
/// emulator sees its handler dropped) long before the emulator's delay would have ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_aborts_the_upstream_request() {
    let stack = Stack::start_with(
        toolbridge_mcp::emulator::EmulatorConfig {
            rate_limit: None,
            ..emulator_config()
        },
        |_| {},
    )
    .await;
    let http = reqwest::Client::new();
    let url = stack.mcp_url();
    let init = post(&http, &url, None, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "leaver", "version": "0"}}})).await;
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    drop(init.text().await);
    post(
        &http,
        &url,
        Some(&session),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;

    let delay = Duration::from_secs(20);
    stack
        .emulator()
        .faults()
        .push(toolbridge_mcp::emulator::Fault::Delay(delay));
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_notes", "arguments": {}}});
    let pending = tokio::spawn({
        let (http, url, session) = (http.clone(), url.clone(), session.clone());
        async move { post(&http, &url, Some(&session), call).await.text().await }
    });
    until_api_busy(stack.emulator()).await;
    // The client goes away: its connection is dropped mid-call.
    pending.abort();
    let gone_at = Instant::now();
    while stack.emulator().aborted_requests() == 0 {
        assert!(
            gone_at.elapsed() < delay / 2,
            "the upstream request was not aborted"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "upstream request aborted {:?} after the client left",
        gone_at.elapsed()
    );
    stack.stop().await;
}

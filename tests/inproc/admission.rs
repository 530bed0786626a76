//! `TOOLBRIDGE_MAX_CONCURRENT_REQUESTS`: past the limit, MCP POSTs wait at the edge (before
//! rmcp builds anything for them); one that gets no slot within the request timeout is a 503
//! with `Retry-After`, and the call it carried never reached the API.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// One raw `tools/call` to a stateless gateway: (HTTP status, `Retry-After`, body).
async fn raw_call(url: &str, id: u64, tool: &str, args: Value) -> (u16, Option<String>, Value) {
    let body = json!({
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": args}
    });
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(token("queued"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .json(&body)
        .send()
        .await
        .expect("the gateway answers");
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    (
        status,
        retry,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn stack(limit: usize, timeout: f64) -> Stack {
    toolbridge_mcp::upstream::install_crypto_provider();
    Stack::start_with(emulator_config(), |c| {
        c.stateless = true;
        c.max_concurrent_requests = limit;
        c.request_timeout = std::time::Duration::from_secs_f64(timeout);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_limit_wait_their_turn_and_all_succeed() {
    let stack = stack(2, 30.0).await;
    stack
        .emulator()
        .faults()
        .set_delay(Duration::from_millis(50));
    let url = stack.mcp_url();
    let calls = (0..10).map(|i| {
        let url = url.clone();
        async move {
            let args = json!({"title": format!("w{i}"), "content": "waited"});
            raw_call(&url, i, "create_note", args).await
        }
    });
    for (status, _, body) in futures::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
        assert_ne!(body["result"]["isError"], json!(true), "{body}");
        assert_eq!(
            body["result"]["structuredContent"]["payload"]["title"]
                .as_str()
                .map(|t| &t[..1]),
            Some("w"),
            "{body}"
        );
    }
    // Each call is a session request then a create, one at a time per admitted call.
    let peak = stack.emulator().peak_in_flight();
    assert!(
        (1..=2).contains(&peak),
        "the API saw {peak} requests at once"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_finds_no_slot_in_time_gets_503_and_is_not_run() {
    // One slot; the first call holds it for about 20 s (two API requests of 10 s each); the
    // second may wait 15 s. The request timeout (15 s) also bounds each API request, so
    // both margins are 5 s wide: a loaded machine neither times the first call out nor
    // frees the slot in time for the second (2.5 s margins still timed the first call out
    // once with three builds beside the suite; 1.5 s margins did in a clean-clone CI run).
    let stack = stack(1, 15.0).await;
    stack.emulator().faults().set_delay(Duration::from_secs(10));
    let url = stack.mcp_url();
    let first = {
        let url = url.clone();
        tokio::spawn(async move {
            raw_call(
                &url,
                1,
                "create_note",
                json!({"title": "first", "content": "x"}),
            )
            .await
        })
    };
    until_api_busy(stack.emulator()).await;
    let (status, retry, body) = raw_call(
        &url,
        2,
        "create_note",
        json!({"title": "second", "content": "y"}),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry.as_deref(), Some("1"));
    assert!(
        body.as_str()
            .unwrap_or_default()
            .contains("limit of concurrent requests"),
        "{body}"
    );
    let (status, _, body) = first.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["structuredContent"]["payload"]["title"], "first",
        "{body}"
    );
    let creates = stack
        .emulator()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/notes")
        .count();
    assert_eq!(creates, 1, "only the admitted call reached the API");
    stack.stop().await;
}

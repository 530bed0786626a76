//! `TOOLBRIDGE_UPSTREAM_MAX_IN_FLIGHT`: past the limit, tool calls wait for a slot instead of
//! each opening a connection to the API; a call that cannot get one within the request
//! timeout is an error that says nothing was sent.

use crate::common;

use std::{sync::Arc, time::Duration};

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_past_the_limit_queue_and_the_api_never_sees_more() {
    let stack = Stack::start_with(emulator_config(), |c| c.upstream_max_in_flight = 2).await;
    // Slow enough that all twelve calls are waiting at once.
    stack
        .emulator()
        .faults()
        .set_delay(Duration::from_millis(50));
    let client = Arc::new(stack.client("limited").await);
    let calls = (0..12).map(|i| {
        let client = client.clone();
        async move {
            ok(
                &client,
                "create_note",
                json!({"title": format!("q{i}"), "content": "queued"}),
            )
            .await
        }
    });
    let notes = futures::future::join_all(calls).await;
    assert_eq!(notes.len(), 12, "every queued call completed");
    let peak = stack.emulator().peak_in_flight();
    assert!(
        (1..=2).contains(&peak),
        "the API saw {peak} requests at once with a limit of 2"
    );
    Arc::try_unwrap(client).ok().unwrap().cancel().await.ok();
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_finds_no_slot_in_time_is_told_nothing_was_sent() {
    // One slot; each API request takes 2 s, so the first call holds the slot for about
    // 4 s (session + create) while the second may wait only 3 s (the request timeout,
    // which also bounds each API request): a second of margin either way.
    let stack = Stack::start_with(emulator_config(), |c| {
        c.upstream_max_in_flight = 1;
        c.request_timeout = std::time::Duration::from_secs(3);
    })
    .await;
    stack.emulator().faults().set_delay(Duration::from_secs(2));
    let client = Arc::new(stack.client("limited").await);
    let first = {
        let client = client.clone();
        tokio::spawn(async move {
            ok(
                &client,
                "create_note",
                json!({"title": "first", "content": "x"}),
            )
            .await
        })
    };
    // Let the first call take the slot.
    until_api_busy(stack.emulator()).await;
    stack.emulator().clear_requests();
    let text = err(&client, "get_note", json!({"uid": uuid::Uuid::new_v4()})).await;
    assert!(
        text.contains("limit of 1 concurrent API requests"),
        "{text}"
    );
    assert!(text.contains("Nothing was sent to the API"), "{text}");
    first.await.expect("the first call completes");
    let paths: Vec<String> = stack
        .emulator()
        .requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert!(
        !paths.iter().any(|p| p.starts_with("/v1/notes/")),
        "the refused get_note reached the API: {paths:?}"
    );
    Arc::try_unwrap(client).ok().unwrap().cancel().await.ok();
    stack.stop().await;
}

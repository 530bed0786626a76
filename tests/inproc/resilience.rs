//! Resilience with the emulator's fault injection, on real sockets: API restarts, epoch
//! bumps, single-flight sessions, broken answers, rate limits.

use crate::common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use toolbridge_mcp::{
    config::SessionMode,
    emulator::{Fault, RateLimit},
};

fn no_rate_limit() -> toolbridge_mcp::emulator::EmulatorConfig {
    toolbridge_mcp::emulator::EmulatorConfig {
        rate_limit: None,
        ..emulator_config()
    }
}

fn entity_requests(stack: &Stack) -> usize {
    stack
        .emulator()
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/") && !r.path.starts_with("/v1/sync"))
        .count()
}

/// An API restart forgets every session in the middle of a run: no call fails, in either
/// mode; in `reuse` mode exactly one new session is opened per caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_restart_mid_run_loses_no_call_in_either_mode() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const CALLERS: usize = 3;
    const CALLS: usize = 30;
    for mode in [SessionMode::PerCall, SessionMode::Reuse] {
        let stack = Stack::start_with(no_rate_limit(), |c| c.session_mode = mode).await;
        let done = Arc::new(AtomicUsize::new(0));
        // A latch, not a Notify: a caller that reaches the half-way point after the restart
        // must find it already signalled.
        let restarted = tokio_util::sync::CancellationToken::new();
        let mut tasks = Vec::new();
        for u in 0..CALLERS {
            let client = stack.client(&format!("caller{u}")).await;
            let (done, restarted) = (done.clone(), restarted.clone());
            tasks.push(tokio::spawn(async move {
                let mut failures = Vec::new();
                for i in 0..CALLS {
                    if i == CALLS / 2 {
                        // Half-way: wait until the API has "restarted".
                        restarted.cancelled().await;
                    }
                    let r = call(
                        &client,
                        "create_note",
                        json!({"title": format!("{i}"), "content": "x"}),
                    )
                    .await;
                    if r.is_error == Some(true) {
                        failures.push(text(&r));
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                }
                client.cancel().await.ok();
                failures
            }));
        }
        while done.load(Ordering::SeqCst) < CALLERS * CALLS / 2 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let before = stack.emulator().sessions_opened();
        stack.emulator().forget_sessions();
        restarted.cancel();
        let mut failures = Vec::new();
        for t in tasks {
            failures.extend(t.await.unwrap());
        }
        assert!(failures.is_empty(), "{mode:?}: {failures:?}");
        let opened = stack.emulator().sessions_opened() - before;
        match mode {
            SessionMode::Reuse => {
                assert_eq!(
                    before, CALLERS as u64,
                    "one session per caller before the restart"
                );
                assert_eq!(
                    opened, CALLERS as u64,
                    "exactly one extra session per affected caller"
                );
            }
            SessionMode::PerCall => assert_eq!(opened, (CALLERS * CALLS / 2) as u64),
        }
        stack.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_epoch_bump_costs_one_retry_and_a_persistent_409_gives_up_after_two() {
    for mode in [SessionMode::PerCall, SessionMode::Reuse] {
        let stack = Stack::start_with(no_rate_limit(), |c| c.session_mode = mode).await;
        let client = stack.client("wiped").await;
        ok(&client, "list_tasks", json!({})).await;
        let epoch = stack.emulator().bump_epoch("wiped");
        let before = entity_requests(&stack);
        ok(&client, "list_tasks", json!({})).await;
        // A reused session still carries the old epoch: one 409, one retry. A per-call
        // session is opened after the bump and already carries the new one.
        let want = if mode == SessionMode::Reuse { 2 } else { 1 };
        assert_eq!(entity_requests(&stack) - before, want, "{mode:?}");
        // (per_call: the last request of all closes the session.)
        let requests = stack.emulator().requests();
        let last = requests
            .iter()
            .rev()
            .find(|r| r.path == "/v1/tasks")
            .unwrap();
        assert_eq!(
            last.header("x-sync-epoch"),
            Some(epoch.to_string().as_str())
        );
        // A wipe between opening the session and using it: one 409, one retry, both modes.
        stack.emulator().faults().push(Fault::EpochMismatch);
        let before = entity_requests(&stack);
        ok(&client, "list_tasks", json!({})).await;
        assert_eq!(
            entity_requests(&stack) - before,
            2,
            "{mode:?}: one 409, one retry"
        );
        // The adopted epoch sticks: the next call needs no retry.
        let before = entity_requests(&stack);
        ok(&client, "list_tasks", json!({})).await;
        assert_eq!(entity_requests(&stack) - before, 1, "{mode:?}");

        stack
            .emulator()
            .faults()
            .set_persistent(Some(Fault::EpochMismatch));
        let before = entity_requests(&stack);
        let msg = err(&client, "list_tasks", json!({})).await;
        assert!(msg.contains("epoch"), "{msg}");
        assert_eq!(
            entity_requests(&stack) - before,
            2,
            "exactly two attempts, never a loop"
        );
        stack.emulator().faults().set_persistent(None);
        ok(&client, "list_tasks", json!({})).await;
        client.cancel().await.ok();
        stack.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_calls_share_one_session_in_reuse_mode() {
    for (mode, want) in [(SessionMode::Reuse, 1), (SessionMode::PerCall, 200)] {
        let stack = Stack::start_with(no_rate_limit(), |c| c.session_mode = mode).await;
        let client = Arc::new(stack.client("busy").await);
        let calls = (0..200).map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                call(&client, "create_task", json!({"title": format!("t{i}")})).await
            })
        });
        let results = futures::future::join_all(calls).await;
        let failed = results
            .iter()
            .filter(|r| r.as_ref().unwrap().is_error == Some(true))
            .count();
        assert_eq!(failed, 0, "{mode:?}");
        assert_eq!(stack.emulator().sessions_opened(), want, "{mode:?}");
        Arc::try_unwrap(client).ok().unwrap().cancel().await.ok();
        stack.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_answers_are_explained_and_the_next_call_works() {
    let stack = Stack::start_with(no_rate_limit(), |_| {}).await;
    let ready = reqwest::get(format!("http://{}/readyz", stack.gateway))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "ready when the API answers");
    let client = stack.client("faulty").await;
    let cases = [
        (
            Fault::Status {
                status: 503,
                json_error: "database is down".into(),
            },
            "database is down",
        ),
        (Fault::Html502, "HTML error page"),
        (Fault::NonJson200, "non-JSON body"),
        (Fault::TruncatedJson, "broke before the answer was complete"),
    ];
    for (fault, needle) in cases {
        // Persistent: a read is retried after a 5xx or a cut answer (docs/retries.md), so a
        // one-shot fault would be absorbed by the retry.
        stack
            .emulator()
            .faults()
            .set_persistent(Some(fault.clone()));
        let msg = err(&client, "list_notes", json!({})).await;
        stack.emulator().faults().set_persistent(None);
        assert!(msg.contains(needle), "{fault:?}: {msg}");
        assert!(
            !msg.contains("127.0.0.1") && !msg.contains("http://"),
            "no internal URL: {msg}"
        );
        assert!(msg.contains("correlation id"), "{msg}");
        ok(&client, "list_notes", json!({})).await;
    }
    client.cancel().await.ok();
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_is_an_error_and_the_gateway_keeps_serving() {
    let dead = format!("http://127.0.0.1:{}", common::binary::free_port());
    let stack = Stack::start_with(no_rate_limit(), |c| c.go_api_base_url = dead).await;
    let client = stack.client("lonely").await;
    for _ in 0..3 {
        let msg = err(&client, "list_chats", json!({})).await;
        assert!(msg.contains("unreachable"), "{msg}");
        assert!(!msg.contains("127.0.0.1"), "{msg}");
    }
    let h = ok(&client, "health_check", json!({})).await;
    assert_eq!(h["api"], json!("unreachable"));
    assert_eq!(h["gateway"], json!("up"));
    // The process is up, but not ready: the API does not answer.
    let base = format!("http://{}", stack.gateway);
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(!ready.text().await.unwrap().contains("127.0.0.1"));
    client.cancel().await.ok();
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_waited_out_within_the_budget_and_explained_past_it() {
    let stack = Stack::start_with(no_rate_limit(), |c| c.retry_budget_seconds = 5.0).await;
    let client = stack.client("hasty").await;
    stack.emulator().faults().push(Fault::RateLimited {
        retry_after_secs: 1,
    });
    let before = entity_requests(&stack);
    ok(&client, "list_notes", json!({})).await;
    assert_eq!(entity_requests(&stack) - before, 2, "one 429, one retry");

    stack.emulator().faults().push(Fault::RateLimited {
        retry_after_secs: 30,
    });
    let before = entity_requests(&stack);
    let msg = err(&client, "list_notes", json!({})).await;
    assert!(msg.contains("wait 30 seconds"), "{msg}");
    assert!(
        msg.contains("past the 5 s this call may spend waiting"),
        "{msg}"
    );
    assert_eq!(
        entity_requests(&stack) - before,
        1,
        "too long to wait: no retry"
    );
    client.cancel().await.ok();
    stack.stop().await;

    // The contract's own limiter (burst 3 here) answers 429 with Retry-After too.
    let limited = toolbridge_mcp::emulator::EmulatorConfig {
        rate_limit: Some(RateLimit {
            per_minute: 6,
            burst: 3,
        }),
        ..emulator_config()
    };
    let stack = Stack::start_with(limited, |c| c.retry_budget_seconds = 0.0).await;
    let client = stack.client("burst").await;
    for _ in 0..3 {
        ok(&client, "list_notes", json!({})).await;
    }
    let msg = err(&client, "list_notes", json!({})).await;
    assert!(
        msg.contains("rate limiting this user") && msg.contains("seconds"),
        "{msg}"
    );
    client.cancel().await.ok();
    stack.stop().await;
}

/// Readiness tells the truth: with a wrong tenant secret the API refuses every entity call,
/// so the gateway is not ready and says why (without the secret); with the right one it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_tenant_secret_makes_the_gateway_not_ready_and_health_check_says_why() {
    for (secret, probe_token) in [
        ("not-the-tenant-secret", true),
        ("not-the-tenant-secret", false),
        (TENANT_SECRET, true),
    ] {
        let stack = Stack::start_with(emulator_config(), |c| {
            c.tenant_header_secret = toolbridge_mcp::secret::Secret::new(secret);
            if probe_token {
                // The HS256 secret the gateway shares with the API mints the probe token.
                c.jwt_hs256_secret = toolbridge_mcp::secret::Secret::new(JWT_SECRET);
            }
        })
        .await;
        let client = stack.client("ready").await;
        let wrong = secret != TENANT_SECRET;
        if !probe_token {
            // No probe token: a refusal seen on a real call stands in for the probe.
            let msg = err(&client, "list_notes", json!({})).await;
            assert!(msg.contains("TOOLBRIDGE_TENANT_ID"), "{msg}");
            assert!(!msg.contains("sign in"), "{msg}");
        }
        let ready = reqwest::get(format!("http://{}/readyz", stack.gateway))
            .await
            .unwrap();
        let status = ready.status().as_u16();
        let body = ready.text().await.unwrap();
        assert_eq!(status, if wrong { 503 } else { 200 }, "{body}");
        let health = ok(&client, "health_check", json!({})).await;
        if wrong {
            assert!(body.contains("tenant"), "{body}");
            assert_eq!(health["status"], json!("degraded"), "{health}");
            assert_eq!(health["credentials"], json!("refused"), "{health}");
            assert!(
                health["detail"].as_str().unwrap().contains("tenant"),
                "{health}"
            );
        } else {
            assert_eq!(health["status"], json!("ok"), "{health}");
            assert_eq!(health["credentials"], json!("accepted"), "{health}");
        }
        assert_eq!(health["api_generation"], json!("seed"), "{health}");
        for text in [body.as_str(), &health.to_string()] {
            assert!(
                !text.contains(secret) && !text.contains(TENANT_SECRET),
                "{text}"
            );
            assert!(!text.contains("127.0.0.1"), "{text}");
        }
        client.cancel().await.ok();
        stack.stop().await;
    }
}

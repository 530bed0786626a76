//! Items 3, 4 and 5: MCP sessions under one user's abuse.

use std::time::Duration;

use serde_json::json;

use crate::abuse::{list_notes, stack};
use crate::common::{mcp_http::*, *};

/// Item 3. One token sends 6,000 `initialize`s against a gateway-wide cap of 200 sessions:
/// each of them succeeds by closing that user's own oldest idle session (32 per user), so
/// the cap is never reached and another user opens a session and works. The attacker's
/// first sessions are gone; their newest still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tokens_thousands_of_sessions_leave_room_for_others() {
    const OPENS: usize = 6_000;
    let stack = stack(|c| c.max_sessions = 200).await;
    let url = stack.mcp_url();
    let http = client();
    let mallory = bearer("mallory");
    let first = open_session(&http, &url, &mallory).await;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let workers = (0..8).map(|_| {
        let (http, url, auth, next) = (http.clone(), url.clone(), mallory.clone(), next.clone());
        tokio::spawn(async move {
            let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
            let mut last = None;
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < OPENS {
                let r = post(&http, &url, Some(&auth), None, INITIALIZE).await;
                *statuses.entry(r.status).or_default() += 1;
                last = r.header("mcp-session-id").map(str::to_owned).or(last);
            }
            (statuses, last)
        })
    });
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut last = None;
    for w in workers {
        let (s, l) = w.await.unwrap();
        for (k, n) in s {
            *statuses.entry(k).or_default() += n;
        }
        last = l.or(last);
    }
    eprintln!("{OPENS} initialize from one token: {statuses:?}");
    assert_eq!(statuses.get(&200), Some(&(OPENS - 1)), "{statuses:?}");
    let bob = bearer("bob");
    let bob_sid = open_session(&http, &url, &bob).await;
    let r = post(&http, &url, Some(&bob), Some(&bob_sid), list_notes(2)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The attacker's first session was closed to make room; their newest one works.
    let r = post(&http, &url, Some(&mallory), Some(&first), list_notes(2)).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let last = last.expect("a session id");
    let init = post(
        &http,
        &url,
        Some(&mallory),
        Some(&last),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    )
    .await;
    assert_eq!(init.status, 202, "{}", init.body);
    let r = post(&http, &url, Some(&mallory), Some(&last), list_notes(3)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    stack.stop().await;
}

/// Item 4. Twenty concurrent `ping`s sharing one id in one session all get an answer
/// (before, some were never answered and each kept a request slot): the first gets its
/// pong, any that arrives while an earlier one is in flight a JSON-RPC error at once. With
/// slow tool calls the overlap is certain: exactly one runs. The id is free again after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_sharing_an_id_all_get_an_answer() {
    let stack = stack(|c| c.max_concurrent_requests = 16).await;
    let url = stack.mcp_url();
    let http = client();
    let alice = bearer("alice");
    let sid = open_session(&http, &url, &alice).await;
    let burst = |body: String| {
        let sends = (0..20).map(|_| {
            let (http, url, auth, sid, body) = (
                http.clone(),
                url.clone(),
                alice.clone(),
                sid.clone(),
                body.clone(),
            );
            async move { post(&http, &url, Some(&auth), Some(&sid), body).await }
        });
        futures::future::join_all(sends)
    };
    let (mut ok, mut refused) = (0, 0);
    for r in burst(request(json!(7), "ping", json!({}))).await {
        let answer = r.answer();
        match r.status {
            200 => {
                assert_eq!(answer["id"], 7, "{}", r.body);
                ok += 1;
            }
            400 => {
                assert_eq!(answer["error"]["code"], -32600, "{}", r.body);
                refused += 1;
            }
            s => panic!("ping answered {s}: {}", r.body),
        }
    }
    assert_eq!(ok + refused, 20);
    assert!(ok >= 1);
    stack
        .emulator()
        .faults()
        .set_delay(Duration::from_millis(400));
    let replies = burst(list_notes(9)).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        19,
        "{statuses:?}"
    );
    let done = replies.iter().find(|r| r.status == 200).unwrap();
    assert_eq!(done.answer()["id"], 9);
    assert!(done.answer()["result"].is_object(), "{}", done.body);
    stack.emulator().faults().set_delay(Duration::ZERO);
    let again = post(&http, &url, Some(&alice), Some(&sid), list_notes(9)).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(again.answer()["result"].is_object(), "{}", again.body);
    stack.stop().await;
}

/// Item 4, the other half: an answer that does not come within the response deadline
/// ends its stream with a JSON-RPC error for its id, the call is cancelled, and the slot
/// is free for the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_has_a_deadline() {
    let stack = stack(|c| {
        c.response_timeout = std::time::Duration::from_secs(1);
        c.max_concurrent_requests = 1;
    })
    .await;
    let url = stack.mcp_url();
    let http = client();
    let alice = bearer("alice");
    let sid = open_session(&http, &url, &alice).await;
    stack.emulator().faults().set_delay(Duration::from_secs(4));
    let r = post(&http, &url, Some(&alice), Some(&sid), list_notes(4)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let answer = r.answer();
    assert_eq!(answer["id"], 4, "{}", r.body);
    assert_eq!(answer["error"]["code"], -32001, "{}", r.body);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("TOOLBRIDGE_RESPONSE_TIMEOUT_SECONDS")
    );
    stack.emulator().faults().set_delay(Duration::ZERO);
    // The one slot is free again, and the id too.
    let r = post(&http, &url, Some(&alice), Some(&sid), list_notes(4)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.answer()["result"].is_object(), "{}", r.body);
    stack.stop().await;
}

/// Item 5. Bob's valid token on Alice's session id gets 404 for a POST, a GET and a
/// DELETE, exactly as an unknown session; none of his calls reach the API, and Alice's
/// session keeps working until she deletes it herself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_answers_only_its_owner() {
    let stack = stack(|_| {}).await;
    let url = stack.mcp_url();
    let http = client();
    let (alice, bob) = (bearer("alice"), bearer("bob"));
    let sid = open_session(&http, &url, &alice).await;
    let unknown = post(
        &http,
        &url,
        Some(&bob),
        Some("not-a-session"),
        list_notes(1),
    )
    .await;
    let r = post(&http, &url, Some(&bob), Some(&sid), list_notes(1)).await;
    assert_eq!((r.status, r.body.as_str()), (404, unknown.body.as_str()));
    let get = read(
        http.get(&url)
            .header("authorization", &bob)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &sid)
            .header("mcp-protocol-version", "2025-06-18"),
    )
    .await;
    assert_eq!(get.status, 404, "{}", get.body);
    let delete = |auth: String| {
        read(
            http.delete(&url)
                .header("authorization", auth)
                .header("mcp-session-id", &sid)
                .header("mcp-protocol-version", "2025-06-18"),
        )
    };
    assert_eq!(delete(bob.clone()).await.status, 404);
    assert!(
        api_calls(stack.emulator()).is_empty(),
        "Bob's call reached the API"
    );
    let r = post(&http, &url, Some(&alice), Some(&sid), list_notes(2)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.answer()["result"].is_object(), "{}", r.body);
    // 204, not rmcp's 202: the Python SDK warns on anything but 200 or 204.
    assert_eq!(delete(alice.clone()).await.status, 204);
    let r = post(&http, &url, Some(&alice), Some(&sid), list_notes(3)).await;
    assert_eq!(r.status, 404, "{}", r.body);
    stack.stop().await;
}

/// `notifications/cancelled` on a session ends the call it names (the API request is
/// dropped, the call's answer says it was cancelled) and nothing else: the session and its
/// other requests go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_notification_ends_the_call_it_names() {
    let stack = stack(|_| {}).await;
    let url = stack.mcp_url();
    let http = client();
    let alice = bearer("alice");
    let sid = open_session(&http, &url, &alice).await;
    stack.emulator().faults().set_delay(Duration::from_secs(60));
    let slow = {
        let (http, url, alice, sid) = (http.clone(), url.clone(), alice.clone(), sid.clone());
        tokio::spawn(
            async move { post(&http, &url, Some(&alice), Some(&sid), list_notes(7)).await },
        )
    };
    until_api_busy(stack.emulator()).await;
    let cancel = json!({
        "jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 7, "reason": "the user changed their mind"}
    });
    let r = post(&http, &url, Some(&alice), Some(&sid), cancel.to_string()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    // Well before the API's 60 s: the cancellation, not the API, ended the call.
    let r = tokio::time::timeout(Duration::from_secs(30), slow)
        .await
        .expect("the cancelled call ends")
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let answer = r.answer();
    assert_eq!(answer["id"], 7, "{}", r.body);
    assert_eq!(answer["result"]["isError"], true, "{}", r.body);
    assert!(r.body.contains("cancel"), "{}", r.body);
    stack.emulator().faults().set_delay(Duration::ZERO);
    let r = post(&http, &url, Some(&alice), Some(&sid), list_notes(8)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.answer()["result"].is_object(), "{}", r.body);
    stack.stop().await;
}

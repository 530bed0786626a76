//! The per-user shares: a user past theirs waits for their own requests or gets 429 with
//! `Retry-After`, and nobody else notices.

use std::time::Duration;

use serde_json::json;

use crate::abuse::{list_notes, stack};
use crate::common::{mcp_http::*, *};

/// With two requests per user, Alice's third concurrent call waits for one of her own to
/// finish (nobody else's), and past the request timeout is refused with 429; Bob's call in
/// the meantime is served at once; Alice's next call, after hers finished, too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_progress_are_capped_per_user() {
    // Each call is two API requests of 2 s; a request may wait 3 s for a place (and an
    // API request may take as long): a second of margin either way.
    let stack = stack(|c| {
        c.max_requests_per_user = 2;
        c.request_timeout = std::time::Duration::from_secs(3);
    })
    .await;
    let url = stack.mcp_url();
    let http = client();
    let (alice, bob) = (bearer("alice"), bearer("bob"));
    let alice_sid = open_session(&http, &url, &alice).await;
    let bob_sid = open_session(&http, &url, &bob).await;
    stack.emulator().faults().set_delay(Duration::from_secs(2));
    let calls: Vec<_> = (10..13)
        .map(|id| {
            let (http, url, auth, sid) =
                (http.clone(), url.clone(), alice.clone(), alice_sid.clone());
            tokio::spawn(
                async move { post(&http, &url, Some(&auth), Some(&sid), list_notes(id)).await },
            )
        })
        .collect();
    until_api_busy(stack.emulator()).await;
    let r = post(&http, &url, Some(&bob), Some(&bob_sid), list_notes(1)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.answer()["result"].is_object(), "{}", r.body);
    let mut statuses = Vec::new();
    for c in calls {
        let r = c.await.unwrap();
        if r.status == 429 {
            assert_eq!(r.header("retry-after"), Some("1"));
            assert!(
                r.body.contains("TOOLBRIDGE_MAX_REQUESTS_PER_USER"),
                "{}",
                r.body
            );
        }
        statuses.push(r.status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 429]);
    stack.emulator().faults().set_delay(Duration::ZERO);
    let r = post(&http, &url, Some(&alice), Some(&alice_sid), list_notes(20)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    stack.stop().await;
}

/// With `TOOLBRIDGE_USER_REQUESTS_PER_SECOND=3`, a burst of twenty pings gets mostly 429
/// with a `Retry-After` the client can read; another user is not slowed at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_per_user_answers_429_with_retry_after() {
    let stack = stack(|c| c.user_requests_per_second = 3.0).await;
    let url = stack.mcp_url();
    let http = client();
    let alice = bearer("alice");
    let sid = open_session(&http, &url, &alice).await;
    let started = std::time::Instant::now();
    let pings = (0..20).map(|i| {
        let (http, url, auth, sid) = (http.clone(), url.clone(), alice.clone(), sid.clone());
        async move {
            post(
                &http,
                &url,
                Some(&auth),
                Some(&sid),
                request(json!(100 + i), "ping", json!({})),
            )
            .await
        }
    });
    let replies = futures::future::join_all(pings).await;
    let elapsed = started.elapsed().as_secs_f64();
    let limited: Vec<_> = replies.iter().filter(|r| r.status == 429).collect();
    // At most the bucket (3) plus what refilled meanwhile passed.
    let passed_at_most = 3 + (3.0 * elapsed).ceil() as usize;
    assert!(
        20 - limited.len() <= passed_at_most,
        "{} passed in {elapsed:.2} s",
        20 - limited.len()
    );
    for r in &limited {
        let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!(secs >= 1, "{secs}");
        assert!(
            r.body.contains("TOOLBRIDGE_USER_REQUESTS_PER_SECOND"),
            "{}",
            r.body
        );
    }
    let bob = bearer("bob");
    let bob_sid = open_session(&http, &url, &bob).await;
    let r = post(
        &http,
        &url,
        Some(&bob),
        Some(&bob_sid),
        request(json!(1), "ping", json!({})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    stack.stop().await;
}

//! What the API sees, from the emulator's request log: signatures, sessions, the forwarded
//! token, correlation ids, and that a client cannot smuggle tenant headers through.

use crate::common;

use std::collections::{HashMap, HashSet};

use common::*;
use serde_json::json;
use toolbridge_mcp::upstream::signing;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_signed_and_every_entity_request_has_its_own_session() {
    let stack = Stack::start_with(emulator_config(), |c| {
        c.session_mode = toolbridge_mcp::config::SessionMode::PerCall
    })
    .await;
    // The client tries to choose the tenant and the session itself.
    let mut smuggled = HashMap::new();
    for (k, v) in [
        ("x-tb-tenant-id", "evil-tenant"),
        ("x-tb-timestamp", "1700000000000"),
        ("x-tb-signature", "00"),
        ("x-sync-session", "11111111-1111-1111-1111-111111111111"),
        ("x-sync-epoch", "999"),
    ] {
        smuggled.insert(
            http::HeaderName::from_static(k),
            http::HeaderValue::from_static(v),
        );
    }
    let bearer = token("carol");
    let client = stack.client_with(Some(bearer.clone()), smuggled).await;
    let n = ok(
        &client,
        "create_note",
        json!({"title": "a", "content": "b"}),
    )
    .await;
    let uid = n["uid"].as_str().unwrap().to_owned();
    ok(&client, "get_note", json!({"uid": uid})).await;
    ok(&client, "list_notes", json!({})).await;
    ok(
        &client,
        "patch_note",
        json!({"uid": uid, "updates": {"x": 1}}),
    )
    .await;
    err(
        &client,
        "get_task",
        json!({"uid": "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a"}),
    )
    .await;

    let log = api_calls(stack.emulator());
    let sessions: Vec<_> = log
        .iter()
        .filter(|r| r.path == "/v1/sync/sessions")
        .collect();
    let entity: Vec<_> = log
        .iter()
        .filter(|r| r.path.starts_with("/v1/") && !r.path.starts_with("/v1/sync"))
        .collect();
    assert_eq!(entity.len(), 5, "{log:#?}");
    assert_eq!(
        sessions.len(),
        5,
        "per_call mode: one session per entity request"
    );

    for r in &log {
        assert!(
            r.tenant_valid,
            "{} {} carried an invalid signature",
            r.method, r.path
        );
        assert_eq!(r.header("x-tb-tenant-id"), Some(TENANT));
        let ts = r.header("x-tb-timestamp").unwrap();
        assert_ne!(
            ts, "1700000000000",
            "the client's timestamp reached the API"
        );
        // Check the signature ourselves too, with the golden-vector-tested function.
        assert!(signing::verify(
            TENANT_SECRET.as_bytes(),
            TENANT,
            ts,
            r.header("x-tb-signature").unwrap()
        ));
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {bearer}").as_str()),
            "token forwarded unchanged"
        );
        assert_eq!(r.user.as_deref(), Some("carol"));
    }
    let mut used = HashSet::new();
    for r in &entity {
        assert!(r.session_valid, "{} {}", r.method, r.path);
        let sid = r.session_id.clone().unwrap();
        assert_ne!(sid, "11111111-1111-1111-1111-111111111111");
        assert!(used.insert(sid), "a session was reused in per_call mode");
    }
    // One correlation id per tool call: opening the session, the entity request and closing
    // the session share it.
    let mut by_corr: HashMap<&str, usize> = HashMap::new();
    for r in &log {
        *by_corr.entry(r.correlation_id.as_str()).or_default() += 1;
    }
    assert_eq!(by_corr.len(), 5);
    assert!(by_corr.values().all(|n| *n == 3), "{by_corr:?}");
    client.cancel().await.ok();
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_tenant_secret_is_refused_by_the_api_and_explained() {
    let stack = Stack::start_with(emulator_config(), |c| {
        c.tenant_header_secret = toolbridge_mcp::secret::Secret::new("not-the-secret");
    })
    .await;
    let client = stack.client("dave").await;
    let msg = err(&client, "list_notes", json!({})).await;
    assert!(
        msg.contains("invalid tenant headers"),
        "the API's own message is kept: {msg}"
    );
    assert!(msg.contains("operator"), "{msg}");
    assert!(!msg.contains("not-the-secret"));
    assert!(api_calls(stack.emulator()).iter().all(|r| !r.tenant_valid));
    client.cancel().await.ok();
    stack.stop().await;
}

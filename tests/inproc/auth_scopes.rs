//! Scopes per tool, on real sockets: with `TOOLBRIDGE_ENFORCE_SCOPES`, a read-only tool needs
//! the read scope and every other tool the write scope; a token without it gets 403
//! `insufficient_scope` naming the scopes to ask for (the MCP step-up challenge), before
//! any request reaches the API (batches are refused at the edge). The 401 challenge and the metadata name
//! the scopes; `tools/list` can be filtered; and without the switch, tokens that carry no
//! scopes keep calling everything, as before.

use crate::auth_support;
use crate::common;

use auth_support::*;
use common::*;
use serde_json::{Value, json};
use toolbridge_mcp::{emulator::mint_hs256_with, secret::Secret};

const READ: &str = "toolbridge:read";
const WRITE: &str = "toolbridge:write";

/// An HS256 token for `sub` with these extra claims (`scope`, `scp`).
fn scoped(sub: &str, extra: Value) -> String {
    let mut claims = json!({"sub": sub, "exp": now() + 600});
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let t = mint_hs256_with(JWT_SECRET, claims);
    leaks::record([t.as_str()]);
    t
}

fn call(id: u64, tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": args}})
}

/// POSTs a JSON-RPC body to a stateless gateway with `token`.
async fn rpc(stack: &Stack, token: &str, body: &Value) -> Answer {
    let auth = format!("Bearer {token}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];
    request(
        &http(),
        "POST",
        &stack.mcp_url(),
        &headers,
        &body.to_string(),
    )
    .await
}

async fn enforcing(tweak: impl FnOnce(&mut toolbridge_mcp::config::Config)) -> Stack {
    Stack::start_with(emulator_config(), |c| {
        c.jwt_hs256_secret = Secret::new(JWT_SECRET);
        c.authorization_servers = vec!["https://as.example/".parse().unwrap()];
        c.enforce_scopes = true;
        c.stateless = true;
        tweak(c);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_scope_is_a_403_step_up_challenge_before_any_api_call() {
    let stack = enforcing(|_| {}).await;
    let metadata = format!(
        "http://{}/.well-known/oauth-protected-resource/mcp",
        stack.gateway
    );
    let reader = scoped("reader", json!({"scope": READ}));
    let listed = rpc(&stack, &reader, &call(1, "list_notes", json!({}))).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["result"]["isError"], false, "{}", listed.body);
    let seen = api_calls(stack.emulator()).len();
    assert!(seen > 0, "the allowed call reached the API");

    let create = call(2, "create_note", json!({"title": "t", "content": "c"}));
    let r = rpc(&stack, &reader, &create).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        format!(
            r#"Bearer error="insufficient_scope", scope="{READ} {WRITE}", resource_metadata="{metadata}", error_description="create_note needs the {WRITE} scope""#
        ),
        "the challenge repeats the granted scope and adds the missing one"
    );
    assert_eq!(r.json()["error"], "insufficient_scope");

    // Batches cannot carry a call past the check: the edge refuses them all.
    let batch = json!([call(3, "list_notes", json!({})), create.clone()]);
    assert_eq!(rpc(&stack, &reader, &batch).await.status, 400);
    // A token with no scope at all may not even read.
    let bare = scoped("bare", json!({}));
    let r = rpc(
        &stack,
        &bare,
        &call(4, "get_note", json!({"uid": uuid::Uuid::new_v4()})),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains(&format!(r#"scope="{READ}""#)),
        "{:?}",
        r.header("www-authenticate")
    );
    // What the scope check cannot read does not go on unchecked.
    let r = rpc(&stack, &reader, &json!("not a message")).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        api_calls(stack.emulator()).len(),
        seen,
        "no refused call reached the API"
    );

    // `scp` (an array, as Okta writes it) counts like `scope`.
    let writer = scoped("writer", json!({"scp": [READ, WRITE]}));
    let r = rpc(&stack, &writer, &create).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"]["isError"], false, "{}", r.body);
    assert!(
        stack
            .emulator()
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path == "/v1/notes" && r.status == 201)
    );

    // The 401 and the metadata name both scopes.
    let r = post_init(&http(), &stack.mcp_url(), &[]).await;
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        format!(r#"Bearer resource_metadata="{metadata}", scope="{READ} {WRITE}""#)
    );
    let doc = request(&http(), "GET", &metadata, &[], "").await.json();
    assert_eq!(doc["scopes_supported"], json!([READ, WRITE]));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_list_shows_only_callable_tools_when_asked() {
    let stack = enforcing(|c| {
        c.filter_tools_by_scope = true;
        c.stateless = false;
    })
    .await;
    let reader = stack
        .client_with(
            Some(scoped("reader", json!({"scope": READ}))),
            Default::default(),
        )
        .await;
    let tools = reader.list_all_tools().await.unwrap();
    assert_eq!(
        tools.len(),
        12,
        "5 list_, 5 get_, health_check and edit_note_ui (which writes nothing)"
    );
    assert!(
        tools
            .iter()
            .all(|t| t.annotations.as_ref().unwrap().read_only_hint == Some(true))
    );
    let _ = reader.cancel().await;
    let both = format!("{READ} {WRITE}");
    let full = stack
        .client_with(
            Some(scoped("full", json!({"scope": both}))),
            Default::default(),
        )
        .await;
    assert_eq!(
        full.list_all_tools().await.unwrap().len(),
        seed_tool_count()
    );
    let _ = full.cancel().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_switch_tokens_without_scopes_call_everything() {
    let stack = Stack::start_with(emulator_config(), |c| {
        c.jwt_hs256_secret = Secret::new(JWT_SECRET);
        c.stateless = true;
    })
    .await;
    let plain = token("legacy-user");
    let r = rpc(
        &stack,
        &plain,
        &call(1, "create_note", json!({"title": "t", "content": "c"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"]["isError"], false, "{}", r.body);
    let challenge = post_init(&http(), &stack.mcp_url(), &[]).await;
    assert!(
        !challenge
            .header("www-authenticate")
            .unwrap()
            .contains("scope="),
        "no scopes are asked for when none are enforced"
    );
    stack.stop().await;
}

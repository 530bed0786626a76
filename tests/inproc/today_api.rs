//! Today's API (contract §7) through the real gateway with its default configuration:
//! the API's real limits, the tenant modes, the token exchange and per-call sessions.
//! What the API received is read from the emulator's own log and counters.

use crate::common;

use std::collections::{BTreeMap, HashMap};

use common::*;
use serde_json::json;
use toolbridge_mcp::{
    config::{BackendAuth, SessionMode, TenantMode},
    emulator::{EmulatorConfig, Organization},
    secret::Secret,
};

fn entity_route(path: &str) -> bool {
    path.starts_with("/v1/") && !path.starts_with("/v1/sync") && !path.starts_with("/v1/auth")
}

/// 200 quick sequential calls and then a burst of 150 concurrent ones by one user, against
/// the entity limit (600/min, burst 120) and the auth-route limit (60/min, burst 20): none
/// fails, and the user's calls share about one session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_survives_the_real_limits_with_the_default_configuration() {
    let stack = Stack::start_with(current_emulator_config(), |_| {}).await;
    let client = std::sync::Arc::new(stack.client("busy").await);
    // The burst first, then the sequential calls: each part meets the limit (burst 120,
    // then 10 a second) without the other having drained it for it.
    let mut failed = 0;
    let mut tasks = Vec::new();
    for i in 0..150 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            call(&client, "create_task", json!({"title": format!("t{i}")})).await
        }));
    }
    for t in tasks {
        failed += usize::from(t.await.unwrap().is_error == Some(true));
    }
    let burst_sessions = stack.emulator().sessions_opened();
    for i in 0..200 {
        let r = call(
            &client,
            "create_note",
            json!({"title": format!("n{i}"), "content": "c"}),
        )
        .await;
        failed += usize::from(r.is_error == Some(true));
    }
    let sessions = stack.emulator().sessions_opened();
    let limited = stack
        .emulator()
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    println!(
        "350 calls (150 concurrent, then 200 sequential): {failed} failed, {sessions} sessions \
         opened ({burst_sessions} by the burst), {limited} answers were 429 and waited out"
    );
    assert_eq!(failed, 0);
    assert_eq!(sessions, 1, "one session for the user");
    assert!(
        limited > 0,
        "the limit was really met (else this proves nothing)"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_call_mode_closes_every_session_it_opens() {
    // The auth-route limit (60/min) would make 200 session requests take minutes: it is
    // lifted here; the entity limit stays.
    let emu = EmulatorConfig {
        auth_rate_limit: None,
        ..current_emulator_config()
    };
    let stack = Stack::start_with(emu, |c| c.session_mode = SessionMode::PerCall).await;
    let client = stack.client("tidy").await;
    for i in 0..100 {
        ok(
            &client,
            "create_note",
            json!({"title": format!("n{i}"), "content": "c"}),
        )
        .await;
    }
    let opened = stack.emulator().sessions_opened();
    let open = stack.emulator().open_sessions("tidy");
    println!("per_call: 100 calls opened {opened} sessions; {open} left open at the API");
    assert_eq!(opened, 100);
    assert_eq!(open, 0);
    client.cancel().await.ok();
    stack.stop().await;
}

fn org(id: &str, name: &str) -> Organization {
    Organization {
        id: id.into(),
        name: name.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_mode_gives_each_user_their_own_tenant_and_never_the_clients() {
    let memberships = HashMap::from([
        ("ana".to_owned(), vec![org("org_acme", "Acme")]),
        ("ben".to_owned(), vec![org("org_beta", "Beta")]),
        (
            "cy".to_owned(),
            vec![org("org_acme", "Acme"), org("org_beta", "Beta")],
        ),
    ]);
    let emu = EmulatorConfig {
        memberships: Some(memberships),
        ..current_emulator_config()
    };
    let stack = Stack::start_with(emu, |c| {
        c.tenant_mode = Some(TenantMode::Resolve);
        c.tenant_id = String::new();
        c.tenant_header_secret = Secret::default();
    })
    .await;
    // A client that tries to choose its tenant: the header must go nowhere.
    let forged = HashMap::from([(
        http::HeaderName::from_static("x-tb-tenant-id"),
        http::HeaderValue::from_static("org_beta"),
    )]);
    let ana = stack.client_with(Some(token("ana")), forged).await;
    let ben = stack.client("ben").await;
    for _ in 0..5 {
        ok(&ana, "create_note", json!({"title": "a", "content": "a"})).await;
        ok(&ben, "create_note", json!({"title": "b", "content": "b"})).await;
    }
    let ana_notes = ok(&ana, "list_notes", json!({})).await;
    assert_eq!(ana_notes["items"].as_array().unwrap().len(), 5);
    // What the API received: each user's entity requests carried their own organization.
    let mut seen: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for r in stack.emulator().requests() {
        if entity_route(&r.path) {
            seen.entry(r.user.clone().unwrap_or_default())
                .or_default()
                .insert(r.tenant.clone().unwrap_or_default());
        }
    }
    assert_eq!(seen["ana"], ["org_acme".to_owned()].into());
    assert_eq!(seen["ben"], ["org_beta".to_owned()].into());
    // One lookup per user, not one per call.
    assert_eq!(stack.emulator().tenant_lookups(), 2);

    let cy = stack.client("cy").await;
    let msg = err(&cy, "list_notes", json!({})).await;
    for needle in [
        "several organizations",
        "Acme (org_acme)",
        "Beta (org_beta)",
        "TOOLBRIDGE_TENANT_ID",
    ] {
        assert!(msg.contains(needle), "{needle}: {msg}");
    }
    assert!(
        !stack
            .emulator()
            .requests()
            .iter()
            .any(|r| r.user.as_deref() == Some("cy") && entity_route(&r.path)),
        "no entity request for an unresolved tenant"
    );
    for c in [ana, ben, cy] {
        c.cancel().await.ok();
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_mode_sends_only_backend_tokens_and_exchanges_once_per_user() {
    let stack = Stack::start_with(current_emulator_config(), |c| {
        c.backend_auth = BackendAuth::Exchange;
    })
    .await;
    let client = std::sync::Arc::new(stack.client("swap").await);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            ok(
                &client,
                "create_note",
                json!({"title": format!("n{i}"), "content": "c"}),
            )
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        stack.emulator().token_exchanges(),
        1,
        "100 concurrent calls, 1 exchange"
    );
    let caller = token("swap");
    let requests = stack.emulator().requests();
    // Only the exchange itself carries the caller's token; sessions too use the backend one.
    for r in &requests {
        let auth = r.header("authorization").unwrap_or_default();
        if r.path != "/auth/token-exchange" {
            assert!(
                !auth.contains(&caller),
                "the caller's token reached {} {}",
                r.method,
                r.path
            );
        }
    }
    let entity: Vec<_> = requests.iter().filter(|r| entity_route(&r.path)).collect();
    assert!(entity.len() >= 100);
    for r in &entity {
        assert_eq!(
            r.token_kind.as_deref(),
            Some("backend"),
            "{} {}",
            r.method,
            r.path
        );
        let auth = r.header("authorization").unwrap_or_default();
        assert!(
            !auth.contains(&caller),
            "the caller's token reached {}",
            r.path
        );
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_backend_token_is_exchanged_again_once() {
    // The API says `expires_in: 3600` but its tokens die after a second (a clock or a
    // revocation the gateway cannot know about): the next call meets a 401.
    let emu = EmulatorConfig {
        backend_token_ttl: std::time::Duration::from_secs(1),
        ..current_emulator_config()
    };
    let stack = Stack::start_with(emu, |c| c.backend_auth = BackendAuth::Exchange).await;
    let client = stack.client("late").await;
    ok(
        &client,
        "create_note",
        json!({"title": "1", "content": "c"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    ok(
        &client,
        "create_note",
        json!({"title": "2", "content": "c"}),
    )
    .await;
    assert_eq!(stack.emulator().token_exchanges(), 2);
    client.cancel().await.ok();
    stack.stop().await;
}

//! Contract sections 1–3: unauthenticated routes, tokens, tenant headers, sessions, epochs,
//! rate limit, correlation ids.

use reqwest::Method;
use serde_json::json;
use toolbridge_mcp::emulator::{EmulatorConfig, RateLimit, mint_hs256, mint_hs256_with};
use toolbridge_mcp::upstream::signing::now_millis;

use crate::support::*;

#[tokio::test]
async fn healthz_and_info_need_no_auth() {
    let h = start(EmulatorConfig::default()).await;
    let anon = Client::anonymous(&h);
    let r = anon.get("/healthz").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    let info = anon.get("/v1/sync/info").await.expect(200);
    assert_eq!(info["apiVersion"], "1.0");
    assert_eq!(info["limits"], json!({"default": 500, "max": 1000}));
    assert_eq!(info["rateLimit"]["requestsPerMinute"], 600);
    assert_eq!(info["rateLimit"]["burst"], 120);
    for e in ENTITIES {
        assert_eq!(info["entities"][e]["maxLimit"], 1000, "{e}");
    }
    assert!(info["hints"].is_object());
    // Everything else under /v1 needs a token.
    let r = anon.get("/v1/notes").await;
    assert_eq!((r.status, r.text().as_str()), (401, "unauthorized\n"));
}

#[tokio::test]
async fn bad_tokens_get_plain_text_401() {
    let h = start(EmulatorConfig::default()).await;
    let now = chrono::Utc::now().timestamp();
    let bad = [
        None,
        Some("not-a-jwt".to_owned()),
        Some(mint_hs256(
            "wrong-secret",
            "alice",
            std::time::Duration::from_secs(60),
        )),
        Some(mint_hs256_with(
            JWT_SECRET,
            json!({"sub": "alice", "exp": now - 10}),
        )),
        Some(mint_hs256_with(JWT_SECRET, json!({"sub": "alice"}))),
        Some(mint_hs256_with(JWT_SECRET, json!({"exp": now + 60}))),
        Some(mint_hs256_with(
            JWT_SECRET,
            json!({"sub": "", "exp": now + 60}),
        )),
    ];
    for token in bad {
        let mut c = Client::new(&h, "alice");
        c.token = token.clone();
        for path in ["/v1/sync/sessions", "/v1/notes"] {
            let r = c.call(Method::POST, path, Some(json!({}))).await;
            assert_eq!(r.status, 401, "{token:?} {path}");
            assert_eq!(r.text(), "unauthorized\n");
            assert!(r.header("content-type").unwrap().starts_with("text/plain"));
        }
    }
    // A non-Bearer scheme is no token either.
    let mut c = Client::new(&h, "alice");
    c.token = None;
    let r = send(
        c.request(Method::POST, "/v1/sync/sessions")
            .header("authorization", "Basic YTpi"),
    )
    .await;
    assert_eq!(r.status, 401);
    // The valid token passes.
    Client::new(&h, "alice").open().await;
}

#[tokio::test]
async fn each_tenant_header_failure_gets_the_same_401() {
    let h = start(EmulatorConfig::default()).await;
    let now = now_millis();
    let stale = (now - 301_000).to_string();
    let future = (now + 301_000).to_string();
    let fresh = now.to_string();
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("none", vec![]),
        (
            "wrong tenant",
            tenant_headers("other-tenant", &fresh, TENANT_SECRET),
        ),
        ("stale", tenant_headers(TENANT, &stale, TENANT_SECRET)),
        ("future", tenant_headers(TENANT, &future, TENANT_SECRET)),
        (
            "bad signature",
            tenant_headers(TENANT, &fresh, "wrong-secret"),
        ),
        (
            "seconds",
            tenant_headers(TENANT, &(now / 1000).to_string(), TENANT_SECRET),
        ),
        ("not decimal", tenant_headers(TENANT, "12e3", TENANT_SECRET)),
    ];
    let mut missing_one = Vec::new();
    for skip in 0..3 {
        let mut hs = tenant_headers(TENANT, &fresh, TENANT_SECRET);
        hs.remove(skip);
        missing_one.push((["no tenant id", "no timestamp", "no signature"][skip], hs));
    }
    let mut c = Client::new(&h, "alice");
    c.tenant = false;
    for (name, headers) in cases.into_iter().chain(missing_one) {
        let mut rb = c.request(Method::POST, "/v1/sync/sessions");
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        let r = send(rb).await;
        assert_eq!(r.status, 401, "{name}");
        assert_eq!(r.text(), "Unauthorized: invalid tenant headers\n", "{name}");
    }
    // Just inside the window is fine.
    let mut rb = c.request(Method::POST, "/v1/sync/sessions");
    for (k, v) in tenant_headers(TENANT, &(now - 290_000).to_string(), TENANT_SECRET) {
        rb = rb.header(k, v);
    }
    send(rb).await.expect(201);
    // The token is checked first: a bad token with bad tenant headers says "unauthorized".
    c.token = None;
    assert_eq!(
        c.post("/v1/sync/sessions", json!({})).await.text(),
        "unauthorized\n"
    );
}

#[tokio::test]
async fn no_tenant_secret_means_no_tenant_headers_and_dev_mode_reads_debug_sub() {
    let cfg = EmulatorConfig {
        tenant_header_secret: None,
        dev_mode: true,
        ..EmulatorConfig::default()
    };
    let h = start(cfg).await;
    let mut c = Client::anonymous(&h);
    let r = send(
        c.request(Method::POST, "/v1/sync/sessions")
            .header("x-debug-sub", "dev-user"),
    )
    .await;
    r.expect(201);
    c.token = Some(token("alice"));
    c.open().await;
    let log = h.emulator.requests();
    assert_eq!(log[0].user.as_deref(), Some("dev-user"));
    assert_eq!(log[1].user.as_deref(), Some("alice"));
    // With a Bearer token present, X-Debug-Sub is ignored; with a bad one, it does not rescue.
    c.token = Some("garbage".into());
    let r = send(
        c.request(Method::POST, "/v1/sync/sessions")
            .header("x-debug-sub", "dev-user"),
    )
    .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn sessions_create_get_delete_owner_only() {
    let h = start(EmulatorConfig::default()).await;
    let mut alice = Client::new(&h, "alice");
    let s = alice.open().await;
    let id = s["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(s["epoch"], 1);
    let user_id = s["userId"].as_str().unwrap();
    assert!(user_id.starts_with("u_") && user_id != "alice");
    for key in ["createdAt", "expiresAt"] {
        assert!(chrono::DateTime::parse_from_rfc3339(s[key].as_str().unwrap()).is_ok());
    }
    let path = format!("/v1/sync/sessions/{id}");
    assert_eq!(alice.get(&path).await.expect(200), s);
    let bob = Client::new(&h, "bob");
    assert_eq!(bob.get(&path).await.status, 403);
    assert_eq!(bob.call(Method::DELETE, &path, None).await.status, 403);
    let unknown = format!("/v1/sync/sessions/{}", uuid::Uuid::new_v4());
    assert_eq!(alice.get(&unknown).await.status, 404);
    assert_eq!(alice.call(Method::DELETE, &path, None).await.status, 204);
    assert_eq!(alice.get(&path).await.status, 404);
    // A deleted session no longer opens entity routes.
    alice.get("/v1/notes").await.expect(428);
    assert_eq!(h.emulator.sessions_opened(), 1);
}

#[tokio::test]
async fn session_and_epoch_gate_entity_routes() {
    let h = start(EmulatorConfig::default()).await;
    let mut alice = Client::new(&h, "alice");
    alice.get("/v1/notes").await.expect_error(
        428,
        "X-Sync-Session header required. Please call POST /v1/sync/sessions to begin a session.",
    );
    alice.session = Some(uuid::Uuid::new_v4().to_string());
    alice.epoch = Some("1".into());
    let r = alice.get("/v1/notes").await;
    assert_eq!(r.status, 428);
    alice.open().await;
    alice.get("/v1/notes").await.expect(200);

    // Bob with Alice's session: 403.
    let mut bob = Client::new(&h, "bob");
    bob.session = alice.session.clone();
    bob.epoch = Some("1".into());
    bob.get("/v1/notes")
        .await
        .expect_error(403, "Session does not belong to authenticated user.");

    // Missing, non-numeric or stale epoch: 409 with the current epoch.
    for epoch in [None, Some("abc"), Some("0")] {
        let mut c = alice.clone();
        c.epoch = epoch.map(str::to_owned);
        let r = c.get("/v1/notes").await;
        let body = r.expect_error(409, "epoch_mismatch");
        assert_eq!(body["epoch"], 1);
        assert_eq!(r.header("x-sync-epoch"), Some("1"));
    }
    assert_eq!(h.emulator.bump_epoch("alice"), 2);
    let r = alice.get("/v1/notes").await;
    assert_eq!(r.expect_error(409, "epoch_mismatch")["epoch"], 2);
    assert_eq!(r.header("x-sync-epoch"), Some("2"));
    alice.epoch = Some("2".into());
    alice.get("/v1/notes").await.expect(200);
    // A new session reports the new epoch; Bob is untouched.
    assert_eq!(Client::new(&h, "alice").open().await["epoch"], 2);
    assert_eq!(Client::new(&h, "bob").open().await["epoch"], 1);

    // An API restart: every session is unknown.
    h.emulator.forget_sessions();
    alice.get("/v1/notes").await.expect_error(
        428,
        "Invalid or expired sync session. Please call POST /v1/sync/sessions to begin a new session.",
    );
}

#[tokio::test]
async fn correlation_ids_are_echoed_or_made_up() {
    let h = start(EmulatorConfig::default()).await;
    let c = Client::new(&h, "alice");
    let r = send(
        c.request(Method::GET, "/v1/notes")
            .header("x-correlation-id", "corr-42"),
    )
    .await;
    assert_eq!(r.header("x-correlation-id"), Some("corr-42"));
    assert_eq!(r.expect(428)["correlation_id"], "corr-42");
    let r = c.get("/v1/notes").await;
    let made = r.header("x-correlation-id").unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok());
    assert_eq!(r.json()["correlation_id"], made.as_str());
    let r = c.get("/healthz").await;
    assert!(r.header("x-correlation-id").is_some());
}

#[tokio::test]
async fn rate_limit_answers_429_with_headers() {
    let cfg = EmulatorConfig {
        rate_limit: Some(RateLimit {
            per_minute: 60,
            burst: 3,
        }),
        ..EmulatorConfig::default()
    };
    let h = start(cfg).await;
    let alice = Client::with_session(&h, "alice").await;
    for left in (0..3).rev() {
        let r = alice.get("/v1/notes").await;
        r.expect(200);
        assert_eq!(r.header("x-ratelimit-limit"), Some("60"));
        assert_eq!(r.header("x-ratelimit-burst"), Some("3"));
        assert_eq!(
            r.header("x-ratelimit-remaining"),
            Some(left.to_string().as_str())
        );
    }
    let r = alice.get("/v1/notes").await;
    let body = r.expect(429);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("Rate limit exceeded")
    );
    assert_eq!(
        body["correlation_id"],
        r.header("x-correlation-id").unwrap()
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    let reset: i64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset >= now_millis() / 1000);
    for name in ["x-ratelimit-limit", "x-ratelimit-burst"] {
        assert!(r.header(name).is_some(), "{name}");
    }
    // Per user, and session creation is not limited.
    Client::with_session(&h, "bob")
        .await
        .get("/v1/notes")
        .await
        .expect(200);
    for _ in 0..5 {
        Client::new(&h, "alice").open().await;
    }
}

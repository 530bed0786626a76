//! Contract sections 1–3 and 5 (both generations where they agree; seed where they do
//! not): unauthenticated routes, tokens, signed tenant headers, sessions, epochs, the rate
//! limit and its place in the check order, correlation ids.

use reqwest::Method;
use serde_json::{Value, json};
use toolbridge_mcp::emulator::{EmulatorConfig, RateLimit, mint_hs256, mint_hs256_with};
use toolbridge_mcp::upstream::signing::now_millis;

use crate::emulator_contract::support::*;

#[tokio::test]
async fn healthz_info_and_unknown_paths() {
    for (cfg, entities) in [
        (EmulatorConfig::default(), ENTITIES.to_vec()),
        (
            EmulatorConfig::current(),
            [&ENTITIES[..], &NEW_ENTITIES[..]].concat(),
        ),
    ] {
        let h = start(cfg).await;
        let anon = Client::anonymous(&h);
        let r = anon.get("/healthz").await;
        assert_eq!((r.status, r.text().as_str()), (200, "ok"));
        let info = anon.get("/v1/sync/info").await.expect(200);
        let mut keys: Vec<&str> = info
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let exact = [
            "apiVersion",
            "entities",
            "hints",
            "locking",
            "minClientVersion",
            "rateLimit",
            "serverTime",
        ];
        assert_eq!(keys, exact, "exactly these keys: {info}");
        assert_eq!(info["apiVersion"], "1.1");
        instant(&info["serverTime"]);
        let rate = json!({"windowSeconds": 60, "maxRequests": 600, "burst": 120});
        assert_eq!(info["rateLimit"], rate);
        let hints = json!({"recommendedBatch": 500, "backoffMsOn429": 1500});
        assert_eq!(info["hints"], hints);
        let listed = info["entities"].as_object().unwrap();
        assert_eq!(listed.len(), entities.len(), "{info}");
        for e in &entities {
            let caps = json!({"maxLimit": 1000, "push": true, "pull": true});
            assert_eq!(info["entities"][e], caps, "{e}");
        }
        // Everything else under /v1 needs a token; unknown paths and trailing slashes are
        // Go's 404, a wrong method 405 before any check.
        anon.get("/v1/notes")
            .await
            .expect_plain(401, "unauthorized");
        anon.get("/v1/notes/")
            .await
            .expect_plain(404, "404 page not found");
        anon.get("/v1/nope")
            .await
            .expect_plain(404, "404 page not found");
        assert_eq!(
            anon.call(Method::PATCH, "/v1/notes", None).await.status,
            405
        );
        assert_eq!(anon.get("/v1/sync/wipe").await.status, 405);
    }
    // The seed API has neither the new entities nor the bootstrap routes.
    let h = start(EmulatorConfig::default()).await;
    let c = Client::with_session(&h, "alice").await;
    for path in ["/v1/task_lists", "/v1/auth/tenant"] {
        c.get(path).await.expect_plain(404, "404 page not found");
    }
    c.post("/auth/token-exchange", json!({}))
        .await
        .expect_plain(404, "404 page not found");
}

#[tokio::test]
async fn bad_tokens_get_plain_text_401_and_times_are_optional() {
    let h = start(EmulatorConfig::default()).await;
    let now = chrono::Utc::now().timestamp();
    let claims = |c: Value| Some(mint_hs256_with(JWT_SECRET, c));
    let bad = [
        None,
        Some("not-a-jwt".to_owned()),
        Some(mint_hs256(
            "wrong-secret",
            "alice",
            std::time::Duration::from_secs(60),
        )),
        claims(json!({"sub": "alice", "exp": now - 10})),
        claims(json!({"sub": "alice", "nbf": now + 60})),
        claims(json!({"exp": now + 60})),
        claims(json!({"sub": "", "exp": now + 60})),
        claims(json!({"sub": 42})),
    ];
    for token in bad {
        let mut c = Client::new(&h, "alice");
        c.token = token.clone();
        for path in ["/v1/sync/sessions", "/v1/notes", "/v1/sync/wipe"] {
            let r = c.call(Method::POST, path, Some(json!({}))).await;
            r.expect_plain(401, "unauthorized");
        }
    }
    // Another scheme, or `bearer` in lower case, is no token either.
    let mut c = Client::new(&h, "alice");
    c.token = None;
    for auth in [
        "Basic YTpi".to_owned(),
        format!("bearer {}", token("alice")),
    ] {
        let rb = c
            .request(Method::POST, "/v1/sync/sessions")
            .header("authorization", auth);
        send(rb).await.expect_plain(401, "unauthorized");
    }
    // `exp` and `nbf` are not required; `iat` is ignored.
    for ok in [
        json!({"sub": "alice"}),
        json!({"sub": "alice", "iat": now + 9999, "nbf": now}),
    ] {
        let mut c = Client::new(&h, "alice");
        c.token = claims(ok);
        c.open().await;
    }
}

#[tokio::test]
async fn each_tenant_header_failure_gets_the_same_401() {
    let h = start(EmulatorConfig::default()).await;
    let now = now_millis();
    let fresh = now.to_string();
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("none", vec![]),
        (
            "stale",
            tenant_headers(TENANT, &(now - 301_000).to_string(), TENANT_SECRET),
        ),
        (
            "future",
            tenant_headers(TENANT, &(now + 301_000).to_string(), TENANT_SECRET),
        ),
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
    let mut c = Client::with_session(&h, "alice").await;
    c.tenant = Tenant::None;
    let send_with = |method: Method, path: &str, headers: Vec<(&str, String)>| {
        let mut rb = c.request(method, path);
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        send(rb)
    };
    for (name, headers) in cases.into_iter().chain(missing_one) {
        // Every authenticated route: sessions, entities, wipe and state.
        for (method, path) in [
            (Method::POST, "/v1/sync/sessions"),
            (Method::GET, "/v1/notes"),
            (Method::GET, "/v1/sync/state"),
        ] {
            let r = send_with(method, path, headers.clone()).await;
            assert_eq!(r.status, 401, "{name} {path}");
            r.expect_plain(401, "Unauthorized: invalid tenant headers");
        }
    }
    // Just inside the window is fine, and so is any tenant id the secret signs.
    let inside = tenant_headers(TENANT, &(now - 290_000).to_string(), TENANT_SECRET);
    send_with(Method::POST, "/v1/sync/sessions", inside)
        .await
        .expect(201);
    let other = tenant_headers("another-tenant", &fresh, TENANT_SECRET);
    send_with(Method::GET, "/v1/notes", other).await.expect(200);
    // The token is checked first: a bad token with bad tenant headers says "unauthorized".
    c.token = None;
    c.post("/v1/sync/sessions", json!({}))
        .await
        .expect_plain(401, "unauthorized");
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
    let debug = |c: &Client, auth: Option<&str>| {
        let mut rb = c
            .request(Method::POST, "/v1/sync/sessions")
            .header("x-debug-sub", "dev-user");
        if let Some(a) = auth {
            rb = rb.header("authorization", a.to_owned());
        }
        send(rb)
    };
    debug(&c, None).await.expect(201);
    // Another scheme is no Bearer token: X-Debug-Sub still counts.
    debug(&c, Some("Basic YTpi")).await.expect(201);
    c.token = Some(token("alice"));
    c.open().await;
    let log = h.emulator.requests();
    assert_eq!(log[0].user.as_deref(), Some("dev-user"));
    assert_eq!(log[0].token_kind, None);
    assert_eq!(log[2].user.as_deref(), Some("alice"));
    assert_eq!(log[2].token_kind.as_deref(), Some("user"));
    // With a Bearer token present, X-Debug-Sub is ignored; a bad one is not rescued.
    c.token = Some("garbage".into());
    let r = send(
        c.request(Method::POST, "/v1/sync/sessions")
            .header("x-debug-sub", "dev-user"),
    )
    .await;
    r.expect_plain(401, "unauthorized");
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
    assert!(
        uuid::Uuid::parse_str(user_id).is_ok() && user_id != "alice",
        "{user_id}"
    );
    let (created, expires) = (instant(&s["createdAt"]), instant(&s["expiresAt"]));
    assert_eq!((expires - created).num_seconds(), 30 * 60);
    let path = format!("/v1/sync/sessions/{id}");
    assert_eq!(alice.get(&path).await.expect(200), s);
    let bob = Client::new(&h, "bob");
    bob.get(&path).await.expect_plain(403, "forbidden");
    bob.delete(&path).await.expect_plain(403, "forbidden");
    let unknown = format!("/v1/sync/sessions/{}", uuid::Uuid::new_v4());
    alice
        .get(&unknown)
        .await
        .expect_plain(404, "session not found or expired");
    assert_eq!(h.emulator.open_sessions("alice"), 1);
    assert_eq!(alice.delete(&path).await.expect(204), Value::Null);
    alice
        .get(&path)
        .await
        .expect_plain(404, "session not found or expired");
    assert_eq!(h.emulator.open_sessions("alice"), 0);
    // An ended session no longer opens entity routes.
    alice.get("/v1/notes").await.expect(428);
    assert_eq!(h.emulator.sessions_opened(), 1);
}

#[tokio::test]
async fn session_then_rate_limit_then_epoch() {
    let cfg = EmulatorConfig {
        rate_limit: Some(RateLimit {
            per_minute: 60,
            burst: 2,
        }),
        ..EmulatorConfig::default()
    };
    let h = start(cfg).await;
    let mut alice = Client::new(&h, "alice");
    alice.get("/v1/notes").await.expect_error(
        428,
        "X-Sync-Session header required. Please call POST /v1/sync/sessions to begin a session.",
    );
    alice.session = Some(uuid::Uuid::new_v4().to_string());
    alice.get("/v1/notes").await.expect_error(
        428,
        "Invalid or expired sync session. Please call POST /v1/sync/sessions to begin a new session.",
    );
    alice.open().await;
    // Bob with Alice's session: 403, before the limiter (no rate-limit headers).
    let mut bob = Client::new(&h, "bob");
    bob.session = alice.session.clone();
    let r = bob.get("/v1/notes").await;
    r.expect_error(403, "Session does not belong to authenticated user.");
    assert!(r.header("x-ratelimit-limit").is_none());
    // A stale epoch uses a token: the 409s carry the limiter's headers and drain the bucket.
    for (epoch, left) in [(Some("abc"), "1"), (None, "0")] {
        let mut c = alice.clone();
        c.epoch = epoch.map(str::to_owned);
        let r = send(
            c.request(Method::GET, "/v1/notes")
                .header("x-correlation-id", "c-9"),
        )
        .await;
        let body = r.expect(409);
        assert_eq!(
            body,
            json!({"error": "epoch_mismatch", "epoch": 1, "correlation_id": "c-9"})
        );
        assert_eq!(
            (r.header("x-sync-epoch"), r.header("x-correlation-id")),
            (Some("1"), Some("c-9"))
        );
        assert_eq!(r.header("x-ratelimit-remaining"), Some(left));
    }
    // ...so the next one, with a good epoch, is 429: the limiter runs before the epoch.
    alice.get("/v1/notes").await.expect(429);
}

#[tokio::test]
async fn epochs_and_the_409_correlation_id() {
    let h = start(EmulatorConfig::default()).await;
    let alice = Client::with_session(&h, "alice").await;
    alice.get("/v1/notes").await.expect(200);
    assert_eq!(h.emulator.bump_epoch("alice"), 2);
    // No X-Correlation-ID sent: the 409 says "" in the body and in the header.
    let r = alice.get("/v1/notes").await;
    assert_eq!(
        r.expect(409),
        json!({"error": "epoch_mismatch", "epoch": 2, "correlation_id": ""})
    );
    assert_eq!(
        (r.header("x-sync-epoch"), r.header("x-correlation-id")),
        (Some("2"), Some(""))
    );
    let mut ahead = alice.clone();
    ahead.epoch = Some("7".into());
    ahead.get("/v1/notes").await.expect(200);
    // A new session reports the new epoch; Bob is untouched.
    assert_eq!(Client::new(&h, "alice").open().await["epoch"], 2);
    assert_eq!(Client::new(&h, "bob").open().await["epoch"], 1);
    // An API restart: every session is unknown.
    h.emulator.forget_sessions();
    ahead.get("/v1/notes").await.expect(428);
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
    assert!(c.get("/healthz").await.header("x-correlation-id").is_some());
}

#[tokio::test]
async fn rate_limit_answers_429_with_headers_and_seed_sessions_are_not_limited() {
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
        let r = alice
            .get(&format!("/v1/notes/{}", uuid::Uuid::new_v4()))
            .await;
        // Errors past the limiter carry its headers too.
        r.expect_error(404, "note not found");
        assert_eq!(
            (r.header("x-ratelimit-limit"), r.header("x-ratelimit-burst")),
            (Some("60"), Some("3"))
        );
        assert_eq!(
            r.header("x-ratelimit-remaining"),
            Some(left.to_string().as_str())
        );
    }
    let r = alice.get("/v1/notes").await;
    r.expect_error(
        429,
        &format!(
            "Rate limit exceeded. Please retry after {} seconds.",
            r.header("retry-after").unwrap()
        ),
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    let reset: i64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset >= now_millis() / 1000);
    // Per user; session routes, wipe and state are not limited in the seed generation.
    Client::with_session(&h, "bob")
        .await
        .get("/v1/notes")
        .await
        .expect(200);
    for _ in 0..25 {
        let r = alice.call(Method::POST, "/v1/sync/sessions", None).await;
        assert!(r.header("x-ratelimit-limit").is_none());
        r.expect(201);
    }
    alice.get("/v1/sync/state").await.expect(200);
}

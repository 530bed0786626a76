//! Contract section 7.1, 7.2 and 7.5: the current generation's plain tenant header and
//! its allowance by membership, the tenant lookup, and the auth-route limit.

use reqwest::Method;
use serde_json::json;
use toolbridge_mcp::emulator::{
    DEFAULT_TENANT_ID, EmulatorConfig, Organization, RateLimit, mint_hs256_with,
};
use toolbridge_mcp::upstream::signing::now_millis;

use crate::emulator_contract::support::*;

fn org(id: &str, name: &str) -> Organization {
    Organization {
        id: id.into(),
        name: name.into(),
    }
}

fn as_tenant(c: &Client, tenant: &str) -> Client {
    Client {
        tenant: Tenant::Plain(tenant.into()),
        ..c.clone()
    }
}

#[tokio::test]
async fn the_plain_tenant_header_on_entity_wipe_and_state_routes_only() {
    let h = start(EmulatorConfig::current()).await;
    let mut c = Client::new(&h, "alice");
    // Sessions need no tenant header.
    c.tenant = Tenant::None;
    c.open().await;
    for path in ["/v1/notes", "/v1/sync/state"] {
        c.get(path)
            .await
            .expect_plain(401, "Unauthorized: missing tenant header");
        as_tenant(&c, "")
            .get(path)
            .await
            .expect_plain(401, "Unauthorized: missing tenant header");
        let refused = "Unauthorized: not authorized for requested tenant";
        as_tenant(&c, "org_x")
            .get(path)
            .await
            .expect_plain(403, refused);
        // Signed headers are read as a plain tenant id; timestamp and signature are ignored.
        let mut signed = c.clone();
        signed.tenant = Tenant::Signed;
        signed.get(path).await.expect_plain(403, refused);
        let rb = c
            .request(Method::GET, path)
            .header("x-tb-tenant-id", DEFAULT_TENANT_ID);
        send(
            rb.header("x-tb-signature", "nonsense")
                .header("x-tb-timestamp", "1"),
        )
        .await
        .expect(200);
    }
    // Checked after the token and before the session.
    let mut anon = as_tenant(&c, "org_x");
    anon.token = None;
    anon.get("/v1/notes")
        .await
        .expect_plain(401, "unauthorized");
    let mut sessionless = as_tenant(&c, "org_x");
    sessionless.session = None;
    sessionless.get("/v1/notes").await.expect(403);
    as_tenant(&sessionless, DEFAULT_TENANT_ID)
        .get("/v1/notes")
        .await
        .expect(428);
    let ok = as_tenant(&c, DEFAULT_TENANT_ID);
    ok.get("/v1/notes").await.expect(200);
    // The log records the header as received and the verdict.
    let log = h.emulator.requests();
    let last = log.last().unwrap();
    assert_eq!(
        (last.tenant.as_deref(), last.tenant_valid),
        (Some(DEFAULT_TENANT_ID), true)
    );
    assert_eq!(last.token_kind.as_deref(), Some("user"));
    let refused = log
        .iter()
        .find(|r| r.tenant.as_deref() == Some("org_x"))
        .unwrap();
    assert!(!refused.tenant_valid);
}

#[tokio::test]
async fn allowance_follows_memberships_and_successes_are_cached() {
    let h = start(EmulatorConfig::current()).await;
    let em = &h.emulator;
    em.set_memberships("bob", vec![org("org_1", "Acme")]);
    em.set_memberships("carol", vec![org("org_1", "Acme"), org("org_2", "Beta")]);
    let client = |sub: &str, tenant: &str| {
        let mut c = Client::new(&h, sub);
        c.tenant = Tenant::Plain(tenant.into());
        c
    };
    for (sub, tenant, status) in [
        ("alice", DEFAULT_TENANT_ID, 201),
        ("alice", "org_1", 403),
        ("bob", "org_1", 201),
        ("bob", "org_2", 403),
        // A member of any organization is refused the default.
        ("bob", DEFAULT_TENANT_ID, 403),
        ("carol", "org_2", 201),
    ] {
        let mut c = client(sub, tenant);
        c.tenant = Tenant::None;
        c.open().await;
        c.tenant = Tenant::Plain(tenant.into());
        let r = c.post("/v1/notes", json!({"t": tenant})).await;
        assert_eq!(r.status, status, "{sub} as {tenant}: {}", r.text());
    }
    // A granted allowance outlives a membership change (5 minutes on the API).
    em.set_memberships("bob", vec![]);
    let mut bob = client("bob", "org_1");
    bob.tenant = Tenant::None;
    bob.open().await;
    bob.tenant = Tenant::Plain("org_1".into());
    bob.get("/v1/notes").await.expect(200);
    // A failing membership service refuses, and the refusal is not cached.
    em.faults().set_membership_outage(true);
    let mut dave = client("dave", DEFAULT_TENANT_ID);
    dave.tenant = Tenant::None;
    dave.open().await;
    dave.tenant = Tenant::Plain(DEFAULT_TENANT_ID.into());
    dave.get("/v1/notes").await.expect(403);
    bob.get("/v1/notes").await.expect(200);
    em.faults().set_membership_outage(false);
    dave.get("/v1/notes").await.expect(200);
}

#[tokio::test]
async fn without_a_membership_service_only_the_default_tenant() {
    let cfg = EmulatorConfig {
        memberships: None,
        default_tenant_id: "b2c".into(),
        ..EmulatorConfig::current()
    };
    let h = start(cfg).await;
    let mut c = Client::new(&h, "alice");
    c.tenant = Tenant::None;
    c.open().await;
    as_tenant(&c, "b2c").get("/v1/notes").await.expect(200);
    as_tenant(&c, DEFAULT_TENANT_ID)
        .get("/v1/notes")
        .await
        .expect(403);
    let r = c.get("/v1/auth/tenant").await;
    r.expect_error(503, "WorkOS tenant resolution not configured");
    assert_eq!(h.emulator.tenant_lookups(), 0);
}

#[tokio::test]
async fn tenant_lookup_answers_the_three_shapes() {
    let cfg = EmulatorConfig {
        dev_mode: true,
        ..EmulatorConfig::current()
    };
    let h = start(cfg).await;
    let em = &h.emulator;
    em.set_memberships("bob", vec![org("org_1", "Acme")]);
    em.set_memberships("nameless", vec![org("org_9", "")]);
    em.set_memberships("carol", vec![org("org_1", "Acme"), org("org_2", "Beta")]);
    let lookup = |sub: &str| {
        let mut c = Client::new(&h, sub);
        c.tenant = Tenant::None;
        async move { c.get("/v1/auth/tenant").await }
    };
    let none = json!({"tenant_id": DEFAULT_TENANT_ID, "organization_name": "ThinkPen", "requires_selection": false});
    assert_eq!(lookup("alice").await.expect(200), none);
    let one =
        json!({"tenant_id": "org_1", "organization_name": "Acme", "requires_selection": false});
    assert_eq!(lookup("bob").await.expect(200), one);
    let unnamed = json!({"tenant_id": "org_9", "requires_selection": false});
    assert_eq!(lookup("nameless").await.expect(200), unnamed);
    let several = json!({"tenant_id": "", "requires_selection": true, "organizations": [
        {"id": "org_1", "name": "Acme"}, {"id": "org_2", "name": "Beta"}]});
    assert_eq!(lookup("carol").await.expect(200), several);
    assert_eq!(em.tenant_lookups(), 4);
    // Errors: a bad token is plain text; X-Debug-Sub alone (dev mode) is JSON.
    let mut c = Client::new(&h, "alice");
    c.token = Some("junk".into());
    c.get("/v1/auth/tenant")
        .await
        .expect_plain(401, "unauthorized");
    c.token = None;
    let r = send(
        c.request(Method::GET, "/v1/auth/tenant")
            .header("x-debug-sub", "alice"),
    )
    .await;
    r.expect_error(401, "Missing or invalid Authorization header");
    em.faults().set_membership_outage(true);
    lookup("bob")
        .await
        .expect_error(500, "Failed to resolve tenant");
    assert_eq!(em.tenant_lookups(), 4, "only successes count");
}

#[tokio::test]
async fn auth_routes_share_one_limited_bucket_per_user() {
    let cfg = EmulatorConfig {
        auth_rate_limit: Some(RateLimit {
            per_minute: 60,
            burst: 5,
        }),
        ..EmulatorConfig::current()
    };
    let h = start(cfg).await;
    let mut alice = Client::new(&h, "alice");
    alice.tenant = Tenant::None;
    let session = alice.open().await;
    let id = session["id"].as_str().unwrap();
    let exchange =
        json!({"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "audience": "api"});
    let mut left = 4;
    for (method, path, body) in [
        (Method::GET, format!("/v1/sync/sessions/{id}"), None),
        (Method::GET, "/v1/auth/tenant".to_owned(), None),
        (
            Method::POST,
            "/auth/token-exchange".to_owned(),
            Some(exchange),
        ),
        (Method::POST, "/v1/sync/sessions".to_owned(), None),
    ] {
        let r = alice.call(method, &path, body).await;
        assert!(r.status < 300, "{path}: {}", r.text());
        left -= 1;
        assert_eq!(r.header("x-ratelimit-limit"), Some("60"), "{path}");
        assert_eq!(r.header("x-ratelimit-burst"), Some("5"));
        assert_eq!(
            r.header("x-ratelimit-remaining"),
            Some(left.to_string().as_str())
        );
    }
    let r = alice.delete(&format!("/v1/sync/sessions/{id}")).await;
    r.expect(429);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("Rate limit exceeded. Please retry after")
    );
    // Entity routes have their own bucket; other users theirs.
    let mut entity = as_tenant(&alice, DEFAULT_TENANT_ID);
    entity.session = Some(id.to_owned());
    let r = entity.get("/v1/notes").await;
    assert_eq!(
        (r.status, r.header("x-ratelimit-limit")),
        (200, Some("600"))
    );
    Client::new(&h, "bob").open().await;
    // The info route reports only the entity limit.
    let info = Client::anonymous(&h).get("/v1/sync/info").await.expect(200);
    assert_eq!(info["rateLimit"]["maxRequests"], 600);
}

#[tokio::test]
async fn tokens_times_in_the_current_generation() {
    // §1 holds for current too: exp/nbf optional but enforced; another scheme is no token.
    let h = start(EmulatorConfig::current()).await;
    let now = now_millis() / 1000;
    let mut c = Client::new(&h, "alice");
    c.tenant = Tenant::None;
    c.token = Some(mint_hs256_with(JWT_SECRET, json!({"sub": "alice"})));
    c.open().await;
    c.token = Some(mint_hs256_with(
        JWT_SECRET,
        json!({"sub": "alice", "exp": now - 1}),
    ));
    c.call(Method::POST, "/v1/sync/sessions", None)
        .await
        .expect_plain(401, "unauthorized");
}

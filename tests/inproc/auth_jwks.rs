//! The JWKS cache against a local issuer that counts its fetches: the keys are found
//! through the `jwks_uri` of the issuer's metadata (never a guessed path; a document for
//! another issuer is not trusted; `TOOLBRIDGE_JWKS_URL` overrides it), a rotated key is
//! accepted once a refresh is allowed, a withdrawn key stops verifying, a flood of unknown
//! `kid`s costs at most one fetch per refresh interval, a failing or oversized or hanging
//! JWKS keeps the keys we had, and none of it reaches the API.
//!
//! Time is tokio's paused clock (`start_paused`): the gateway, the issuer and the API all
//! run on this test's runtime over real loopback sockets, and the refresh interval is
//! crossed with `tokio::time::advance` instead of being waited out. (A paused clock also
//! jumps to the next timer whenever every task is idle, which is what makes the hanging
//! JWKS time out at once.)

use crate::auth_support;
use crate::common;

use std::time::Duration;

use tokio::time::{Instant, advance};

use auth_support::*;
use common::*;
use serde_json::{Value, json};
use toolbridge_mcp::secret::Secret;

fn claims(iss: &str) -> Value {
    json!({"sub": "alice", "exp": now() + 600, "iss": iss})
}

/// A gateway that trusts `jwks`'s issuer (and the HS secret, for the control cases).
async fn gateway(jwks: &JwksServer, interval: u64) -> Stack {
    let iss = jwks.issuer();
    Stack::start_with(emulator_config(), move |c| {
        c.jwt_hs256_secret = Secret::new(JWT_SECRET);
        c.oidc_issuer = Some(iss.parse().unwrap());
        c.jwks_refresh_interval = std::time::Duration::from_secs(interval);
    })
    .await
}

async fn status(stack: &Stack, token: &str) -> u16 {
    post_init(
        &http(),
        &stack.mcp_url(),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
    .status
}

#[tokio::test(start_paused = true)]
async fn a_rotated_key_is_accepted_after_refresh_and_a_withdrawn_one_is_not() {
    let (a, b) = (RsaKey::load("a"), RsaKey::load("b"));
    let jwks = JwksServer::start(JwksMode::Serve(jwks_doc(&[("key-a", &a)]))).await;
    let stack = gateway(&jwks, 1).await;
    let iss = jwks.issuer();
    assert_eq!(jwks.fetches(), 0, "the JWKS is fetched lazily");
    assert_eq!(status(&stack, &a.rs256("key-a", &claims(&iss))).await, 200);
    assert_eq!(status(&stack, &a.rs256("key-a", &claims(&iss))).await, 200);
    assert_eq!(jwks.fetches(), 1, "known kids are served from the cache");

    // The issuer rotates: key b replaces key a.
    jwks.set(JwksMode::Serve(jwks_doc(&[("key-b", &b)])));
    advance(Duration::from_millis(1100)).await;
    assert_eq!(
        status(&stack, &b.rs256("key-b", &claims(&iss))).await,
        200,
        "rotated key accepted"
    );
    assert_eq!(jwks.fetches(), 2);
    // Key a was withdrawn with that refresh; the next refresh is not due yet either.
    assert_eq!(status(&stack, &a.rs256("key-a", &claims(&iss))).await, 401);
    assert_eq!(jwks.fetches(), 2, "no refresh within the interval");
    assert!(api_calls(stack.emulator()).is_empty());
    stack.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_flood_of_unknown_kids_costs_one_fetch_per_interval() {
    let (a, c) = (RsaKey::load("a"), RsaKey::load("c"));
    let jwks = JwksServer::start(JwksMode::Serve(jwks_doc(&[("key-a", &a)]))).await;
    let iss = jwks.issuer();

    // A long interval: 300 requests with 300 different unknown kids, 30 at a time.
    let stack = gateway(&jwks, 30).await;
    let http = http();
    let refused = flood(&stack, &http, &c, &iss, 300, 30).await;
    assert_eq!(refused, 300);
    assert_eq!(
        jwks.fetches(),
        1,
        "one fetch (the first, lazy one) for the whole flood"
    );
    assert_eq!(
        status(&stack, &a.rs256("key-a", &claims(&iss))).await,
        200,
        "known keys still work"
    );
    stack.stop().await;

    // A one-second interval, flooded through three intervals: one fetch in each.
    let jwks = JwksServer::start(JwksMode::Serve(jwks_doc(&[("key-a", &a)]))).await;
    let iss = jwks.issuer();
    let stack = gateway(&jwks, 1).await;
    let mut sent = 0;
    for interval in 1..=3 {
        sent += flood(&stack, &http, &c, &iss, 40, 20).await;
        assert_eq!(
            jwks.fetches(),
            interval,
            "one fetch per refresh interval ({sent} unknown-kid requests so far)"
        );
        advance(Duration::from_secs(1)).await;
    }
    eprintln!(
        "{sent} unknown-kid requests in 3 intervals: {} JWKS fetches",
        jwks.fetches()
    );
    assert!(api_calls(stack.emulator()).is_empty());
    stack.stop().await;
}

/// Sends `n` RS256 tokens with distinct unknown kids, `width` at a time; returns how many
/// were refused with 401.
async fn flood(
    stack: &Stack,
    http: &reqwest::Client,
    key: &RsaKey,
    iss: &str,
    n: usize,
    width: usize,
) -> usize {
    let url = stack.mcp_url();
    let tokens: Vec<String> = (0..n)
        .map(|i| key.rs256(&format!("kid-{}-{i}", uuid::Uuid::new_v4()), &claims(iss)))
        .collect();
    let mut refused = 0;
    for chunk in tokens.chunks(width) {
        let answers = futures::future::join_all(chunk.iter().map(|t| {
            let auth = format!("Bearer {t}");
            let (http, url) = (http.clone(), url.clone());
            async move {
                post_init(&http, &url, &[("authorization", &auth)])
                    .await
                    .status
            }
        }))
        .await;
        refused += answers.iter().filter(|s| **s == 401).count();
    }
    refused
}

#[tokio::test(start_paused = true)]
async fn a_failing_jwks_keeps_the_old_keys() {
    let (a, c) = (RsaKey::load("a"), RsaKey::load("c"));
    let jwks = JwksServer::start(JwksMode::Fail(503)).await;
    let iss = jwks.issuer();
    let stack = gateway(&jwks, 1).await;
    // Issuer down from the start: RS256 tokens cannot be verified; HS256 still works.
    assert_eq!(status(&stack, &a.rs256("key-a", &claims(&iss))).await, 401);
    assert_eq!(status(&stack, &token("alice")).await, 200);
    assert_eq!(jwks.fetches(), 1);

    // The issuer comes back; after the interval the key is fetched.
    jwks.set(JwksMode::Serve(jwks_doc(&[("key-a", &a)])));
    advance(Duration::from_millis(1100)).await;
    assert_eq!(status(&stack, &a.rs256("key-a", &claims(&iss))).await, 200);

    // It fails again, then an unknown kid forces a refresh: the refresh fails, key a stays.
    for bad in [
        JwksMode::Fail(500),
        JwksMode::Serve(json!({"keys": []})),
        JwksMode::Serve(json!({"keys": [{"kty": "RSA", "kid": "x", "n": "AQAB", "e": "AQAB"}]})),
        JwksMode::Serve(json!({"keys": [], "padding": "x".repeat(300 * 1024)})),
    ] {
        jwks.set(bad);
        let before = jwks.fetches();
        advance(Duration::from_millis(1100)).await;
        assert_eq!(status(&stack, &c.rs256("key-c", &claims(&iss))).await, 401);
        assert_eq!(
            jwks.fetches(),
            before + 1,
            "the unknown kid caused one refresh"
        );
        assert_eq!(
            status(&stack, &a.rs256("key-a", &claims(&iss))).await,
            200,
            "old key kept"
        );
    }
    stack.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_hanging_jwks_times_out() {
    let a = RsaKey::load("a");
    let jwks = JwksServer::start(JwksMode::Hang).await;
    let iss = jwks.issuer();
    let stack = gateway(&jwks, 30).await;
    let started = Instant::now();
    assert_eq!(status(&stack, &a.rs256("key-a", &claims(&iss))).await, 401);
    let took = started.elapsed();
    let timeout = toolbridge_mcp::auth::jwks::FETCH_TIMEOUT;
    let limit = timeout + Duration::from_secs(3);
    assert!(took < limit, "the fetch gave up after {took:?}");
    assert!(took >= timeout, "the fetch gave up early, after {took:?}");
    // Within the interval no second fetch is tried: the next request is answered at once.
    let started = Instant::now();
    assert_eq!(status(&stack, &a.rs256("key-a", &claims(&iss))).await, 401);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(jwks.fetches(), 1);
    stack.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_jwks_uri_comes_from_the_issuers_metadata_unless_overridden() {
    let a = RsaKey::load("a");
    let jwks = JwksServer::start(JwksMode::Serve(jwks_doc(&[("key-a", &a)]))).await;
    let iss = jwks.issuer();
    // A metadata document for another issuer must not choose our keys.
    jwks.set_metadata(Some(
        json!({"issuer": "http://evil.example/", "jwks_uri": jwks.jwks_url()}),
    ));
    let stack = gateway(&jwks, 1).await;
    assert_eq!(status(&stack, &a.rs256("key-a", &claims(&iss))).await, 401);
    assert_eq!(
        jwks.fetches(),
        0,
        "no keys fetched on a foreign document's word"
    );
    assert_eq!(jwks.discoveries(), 1);

    // The issuer fixes its document: after the refresh interval, its jwks_uri is used.
    jwks.set_metadata(Some(json!({"issuer": iss, "jwks_uri": jwks.jwks_url()})));
    advance(Duration::from_millis(1100)).await;
    assert_eq!(status(&stack, &a.rs256("key-a", &claims(&iss))).await, 200);
    assert_eq!((jwks.discoveries(), jwks.fetches()), (2, 1));
    // Cached: known keys need neither document again.
    assert_eq!(status(&stack, &a.rs256("key-a", &claims(&iss))).await, 200);
    assert_eq!((jwks.discoveries(), jwks.fetches()), (2, 1));
    stack.stop().await;

    // TOOLBRIDGE_JWKS_URL overrides discovery: the metadata is never read.
    jwks.set_metadata(None);
    let (url, iss2) = (jwks.jwks_url(), iss.clone());
    let stack = Stack::start_with(emulator_config(), move |c| {
        c.oidc_issuer = Some(iss2.parse().unwrap());
        c.jwks_url = Some(url.parse().unwrap());
    })
    .await;
    let before = jwks.discoveries();
    assert_eq!(status(&stack, &a.rs256("key-a", &claims(&iss))).await, 200);
    assert_eq!(jwks.discoveries(), before);
    assert!(api_calls(stack.emulator()).is_empty());
    stack.stop().await;
}

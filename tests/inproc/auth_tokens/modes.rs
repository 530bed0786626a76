//! The other modes: auth not required (anonymous listing works, a bad token still gets
//! 401), passthrough (only `sub` is read; the API verifies), and the RFC 9728 metadata.

use serde_json::{Value, json};
use toolbridge_mcp::{auth::AuthError as E, emulator::mint_hs256_with, secret::Secret};

use super::{SENT, claims, hs};
use crate::{auth_support::*, common::*};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_auth_admits_anonymous_listing_but_not_bad_tokens() {
    captured_logs();
    let stack = Stack::start_with(emulator_config(), |c| {
        c.jwt_hs256_secret = Secret::new(JWT_SECRET);
        c.auth_required = Some(false);
    })
    .await;
    let anon = stack.client_with(None, Default::default()).await;
    let tools = anon
        .list_all_tools()
        .await
        .expect("tools/list without a token");
    assert_eq!(
        tools.len(),
        toolbridge_mcp::mcp::catalog::tool_names(toolbridge_mcp::config::Generation::Seed).len()
    );
    let text = err(&anon, "list_notes", json!({})).await;
    assert!(text.to_lowercase().contains("token"), "{text}");
    let _ = anon.cancel().await;
    assert!(
        api_calls(stack.emulator()).is_empty(),
        "no token, no upstream request"
    );

    let bad = mint_hs256_with("wrong-secret", claims("x"));
    SENT.lock().unwrap().push(bad.clone());
    let r = post_init(
        &http(),
        &stack.mcp_url(),
        &[("authorization", &format!("Bearer {bad}"))],
    )
    .await;
    assert_eq!(r.status, 401, "a token that is present must be valid");
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
    assert!(api_calls(stack.emulator()).is_empty());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passthrough_reads_sub_and_leaves_verification_to_the_api() {
    captured_logs();
    let stack = Stack::start_with(emulator_config(), |c| {
        c.auth_mode = Some(toolbridge_mcp::config::AuthMode::Passthrough);
        c.auth_required = Some(true);
    })
    .await;
    let http = http();
    let no_sub = hs(&json!({"exp": now() + 60}));
    for (auth, want) in [
        (None, E::MissingToken),
        (Some("garbage".to_owned()), E::Malformed),
        (Some(no_sub), E::MissingClaim("sub")),
    ] {
        let h = auth.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = h.iter().map(|v| ("authorization", v.as_str())).collect();
        let r = post_init(&http, &stack.mcp_url(), &headers).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["error_description"], want.description());
    }
    assert!(api_calls(stack.emulator()).is_empty());
    // Unverified but well-formed: the gateway forwards it and the API refuses it.
    let forged = mint_hs256_with("forged-secret", json!({"sub": "alice", "exp": now() + 60}));
    SENT.lock().unwrap().push(forged.clone());
    let client = stack.client_with(Some(forged), Default::default()).await;
    let text = err(&client, "list_notes", json!({})).await;
    assert!(text.contains("401"), "{text}");
    let _ = client.cancel().await;
    assert!(api_calls(stack.emulator()).iter().all(|r| r.status == 401));
    let good = stack.client("alice").await;
    ok(&good, "list_notes", json!({})).await;
    let _ = good.cancel().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_resource_metadata_names_the_resource_and_issuer() {
    captured_logs();
    let issuer = "https://tenant.eu.auth0.com/";
    let derived = Stack::start_with(emulator_config(), |c| {
        c.jwt_hs256_secret = Secret::new(JWT_SECRET);
        c.oidc_issuer = Some(issuer.parse().unwrap());
        c.scopes_supported = vec!["openid".into(), "toolbridge:rw".into()];
    })
    .await;
    let http = http();
    let origin = format!("http://{}", derived.gateway);
    // RFC 9728 §3.3: each URL describes the resource it was built from.
    for (path, resource) in [
        ("/.well-known/oauth-protected-resource", origin.clone()),
        (
            "/.well-known/oauth-protected-resource/mcp",
            format!("{origin}/mcp"),
        ),
    ] {
        let r = http.get(format!("{origin}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{path}");
        let doc: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(doc["resource"], resource, "{path}");
        assert_eq!(doc["authorization_servers"], json!([issuer]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(doc["scopes_supported"], json!(["openid", "toolbridge:rw"]));
        assert!(doc["resource_name"].is_string());
    }
    let r = http
        .get(format!("{origin}/.well-known/oauth-protected-resource"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "a foreign Host does not get a document derived from it"
    );
    let r = post_init(&http, &derived.mcp_url(), &[]).await;
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains(r#"scope="openid toolbridge:rw""#)
    );
    derived.stop().await;

    let public = Stack::start_with(emulator_config(), |c| {
        c.jwt_hs256_secret = Secret::new(JWT_SECRET);
        c.public_url = Some("https://tenant.fly.dev/mcp".parse().unwrap());
        c.authorization_servers = vec!["https://as.example/".parse().unwrap()];
    })
    .await;
    for (path, resource) in [
        (
            "/.well-known/oauth-protected-resource/mcp",
            "https://tenant.fly.dev/mcp",
        ),
        (
            "/.well-known/oauth-protected-resource",
            "https://tenant.fly.dev",
        ),
    ] {
        let r = http
            .get(format!("http://{}{path}", public.gateway))
            .send()
            .await
            .unwrap();
        let doc: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(doc["resource"], resource);
        assert_eq!(doc["authorization_servers"], json!(["https://as.example/"]));
    }
    let r = post_init(&http, &public.mcp_url(), &[]).await;
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        r#"Bearer resource_metadata="https://tenant.fly.dev/.well-known/oauth-protected-resource/mcp""#
    );
    public.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_401_after_the_edge_accepted_the_token_is_a_deployment_mismatch() {
    captured_logs();
    // The gateway and the API hold different HS256 secrets: every token the edge accepts,
    // the API refuses. Signing in again cannot help; the result must say whose problem it is.
    let stack = Stack::start_with(
        toolbridge_mcp::emulator::EmulatorConfig {
            jwt_hs256_secret: "the-api-has-another-secret".into(),
            ..emulator_config()
        },
        |c| c.jwt_hs256_secret = Secret::new(JWT_SECRET),
    )
    .await;
    let client = stack.client("alice").await;
    let text = err(&client, "list_notes", json!({})).await;
    for said in [
        "401",
        "the gateway accepted it",
        "issuer, audience or signing keys",
        "TOOLBRIDGE_BACKEND_AUTH=exchange",
        "signing in again will not help",
    ] {
        assert!(text.contains(said), "{said:?} missing: {text}");
    }
    let _ = client.cancel().await;
    assert!(api_calls(stack.emulator()).iter().all(|r| r.status == 401));
    stack.stop().await;
}

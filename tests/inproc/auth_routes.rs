//! Routing before authentication: only `/mcp` asks for a token. Every path that does not
//! exist answers 404, and so do the authorization server's paths a client tries on the
//! gateway's origin (RFC 8414 / OIDC discovery, `/register`, `/authorize`, `/token`),
//! never 401, with a body that says where signing in happens. The RFC 9728 metadata is
//! only published when there is an authorization server to name; it answers a CORS
//! preflight. Without one, the 401 tells the client to send a token with `--header`.

use crate::auth_support;
use crate::common;

use auth_support::*;
use common::*;
use serde_json::Value;
use toolbridge_mcp::secret::Secret;

const UNKNOWN: &[&str] = &[
    "/nope",
    "/mcp/x",
    "/mcpx",
    "/.well-known/other",
    "/v1/notes",
];
const AS_PATHS: &[&str] = &[
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/register",
    "/authorize",
    "/token",
];

/// A gateway with an authorization server configured (`with_as`) or HS256 only.
async fn gateway(with_as: bool) -> Stack {
    Stack::start_with(emulator_config(), move |c| {
        c.jwt_hs256_secret = Secret::new(JWT_SECRET);
        if with_as {
            c.authorization_servers = vec!["https://as.example/".parse().unwrap()];
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_authorization_server_paths_are_404_without_a_token() {
    let http = http();
    for with_as in [true, false] {
        let stack = gateway(with_as).await;
        let base = format!("http://{}", stack.gateway);
        for (path, is_as) in UNKNOWN
            .iter()
            .map(|p| (p, false))
            .chain(AS_PATHS.iter().map(|p| (p, true)))
        {
            for method in ["GET", "POST"] {
                let body = r#"{"redirect_uris":["http://127.0.0.1:1/cb"]}"#;
                let headers = [("content-type", "application/json")];
                let r = request(&http, method, &format!("{base}{path}"), &headers, body).await;
                let ctx = format!("{method} {path} (authorization server: {with_as})");
                assert_eq!(r.status, 404, "{ctx}: {}", r.body);
                assert!(r.header("www-authenticate").is_none(), "{ctx}");
                let said = r.json()["error_description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                match (is_as, with_as) {
                    (false, _) => assert!(said.contains("/mcp"), "{ctx}: {said}"),
                    (true, true) => assert!(
                        said.contains("/.well-known/oauth-protected-resource/mcp"),
                        "{ctx}: {said}"
                    ),
                    (true, false) => assert!(
                        said.contains(r#"--header "Authorization: Bearer <token>""#),
                        "{ctx}: {said}"
                    ),
                }
            }
        }
        // `/mcp` itself, and its trailing-slash spelling, still ask for a token.
        for path in ["/mcp", "/mcp/"] {
            let r = post_init(&http, &format!("{base}{path}"), &[]).await;
            assert_eq!(r.status, 401, "{path}");
        }
        let good = format!("Bearer {}", token("alice"));
        let r = post_init(&http, &format!("{base}/mcp/"), &[("authorization", &good)]).await;
        assert_eq!(r.status, 200, "/mcp/ is served: {}", r.body);
        assert!(api_calls(stack.emulator()).is_empty());
        stack.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_authorization_server_no_metadata_and_the_401_says_how_to_send_a_token() {
    let stack = gateway(false).await;
    let http = http();
    let base = format!("http://{}", stack.gateway);
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let r = request(&http, "GET", &format!("{base}{path}"), &[], "").await;
        assert_eq!(
            r.status, 404,
            "{path}: no document naming no authorization server"
        );
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        let said = r.json()["error_description"].as_str().unwrap().to_owned();
        assert!(said.contains("no OAuth sign-in"), "{said}");
    }
    let r = post_init(&http, &stack.mcp_url(), &[]).await;
    assert_eq!(r.status, 401);
    let challenge = r.header("www-authenticate").unwrap();
    assert_eq!(challenge, r#"Bearer realm="toolbridge-mcp""#);
    let hint = r.json()["hint"].as_str().unwrap().to_owned();
    assert!(
        hint.contains(r#"--header "Authorization: Bearer <token>""#),
        "{hint}"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_answers_the_cors_preflight() {
    let stack = gateway(true).await;
    let http = http();
    let base = format!("http://{}", stack.gateway);
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let preflight = [
            ("origin", "http://localhost:6274"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "mcp-protocol-version"),
        ];
        let url = format!("{base}{path}");
        let r = request(&http, "OPTIONS", &url, &preflight, "").await;
        assert_eq!(r.status, 204, "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert!(
            r.header("access-control-allow-methods")
                .unwrap()
                .contains("GET")
        );
        assert_eq!(r.header("access-control-allow-headers"), Some("*"));
        let origin = [("origin", "http://localhost:6274")];
        let r = request(&http, "GET", &url, &origin, "").await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        let doc: Value = r.json();
        assert_eq!(doc["authorization_servers"][0], "https://as.example/");
    }
    stack.stop().await;
}

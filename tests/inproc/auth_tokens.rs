//! Bad tokens are refused at the edge: each one gets 401 with a `WWW-Authenticate`
//! challenge pointing at the protected-resource metadata, the refusal reason we expect,
//! and the API (the emulator) never sees a request. Then the modes: auth not required,
//! passthrough (`modes`). Everything on real sockets; the logs are searched for every token
//! sent. The table itself is in `cases`.

use crate::auth_support;
#[path = "auth_tokens/cases.rs"]
mod cases;
use crate::common;
#[path = "auth_tokens/modes.rs"]
mod modes;

use std::sync::Mutex;

use auth_support::*;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use cases::{Gw, cases};
use common::*;
use serde_json::{Value, json};
use toolbridge_mcp::{emulator::mint_hs256_with, secret::Secret};

const AUD: &str = "toolbridge";

/// Every token the tests sent, for the log search.
static SENT: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn claims(iss: &str) -> Value {
    json!({"sub": "alice", "exp": now() + 600, "iat": now(), "aud": AUD, "iss": iss})
}

/// `base` with `patch` applied; `null` in the patch removes the claim.
fn with(base: &Value, patch: Value) -> Value {
    let mut c = base.clone();
    for (k, v) in patch.as_object().unwrap() {
        match v {
            Value::Null => drop(c.as_object_mut().unwrap().remove(k)),
            v => c[k] = v.clone(),
        }
    }
    c
}

fn hs(claims: &Value) -> String {
    mint_hs256_with(JWT_SECRET, claims.clone())
}

fn b64(v: &str) -> String {
    B64.encode(v)
}

/// A token with this header and claims JSON and no signature.
fn unsigned(header: &str, claims: &Value) -> String {
    format!("{}.{}.", b64(header), b64(&claims.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_get_401_with_a_challenge_and_never_reach_the_api() {
    captured_logs();
    let (a, b) = (RsaKey::load("a"), RsaKey::load("b"));
    let jwks = JwksServer::start(JwksMode::Serve(jwks_doc(&[("key-a", &a), ("key-b", &b)]))).await;
    let iss = jwks.issuer();
    let full = Stack::start_with(emulator_config(), |c| {
        c.jwt_hs256_secret = Secret::new(JWT_SECRET);
        c.oidc_issuer = Some(iss.parse().unwrap());
        c.jwt_audience = Some(AUD.into());
    })
    .await;
    let hs_only = Stack::start_with(emulator_config(), |c| {
        c.jwt_hs256_secret = Secret::new(JWT_SECRET)
    })
    .await;
    let rs_only = Stack::start_with(emulator_config(), |c| {
        c.oidc_issuer = Some(iss.parse().unwrap());
        c.jwt_audience = Some(AUD.into());
    })
    .await;
    let http = http();
    let good_hs = hs(&claims(&iss));
    let mut n = 0;
    for case in cases(&iss) {
        let stack = match case.gw {
            Gw::Full => &full,
            Gw::HsOnly => &hs_only,
            Gw::RsOnly => &rs_only,
        };
        let query = case.query.replace("VALID", &good_hs);
        let headers: Vec<(&str, &str)> =
            case.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        SENT.lock()
            .unwrap()
            .extend(case.headers.iter().map(|(_, v)| v.clone()));
        let r = post_init(&http, &format!("{}{query}", stack.mcp_url()), &headers).await;
        let ctx = format!("case {:?} ({:?})", case.name, case.gw);
        assert_eq!(r.status, 401, "{ctx}: {}", r.body);
        let challenge = r
            .header("www-authenticate")
            .unwrap_or_else(|| panic!("{ctx}: no challenge"));
        // With an authorization server (the issuer) the challenge points at the metadata;
        // without one (HS256 only) there is no metadata to point at.
        let start = match case.gw {
            Gw::HsOnly => r#"Bearer realm="toolbridge-mcp""#.to_owned(),
            Gw::Full | Gw::RsOnly => format!(
                r#"Bearer resource_metadata="http://{}/.well-known/oauth-protected-resource/mcp""#,
                stack.gateway
            ),
        };
        assert!(challenge.starts_with(&start), "{ctx}: {challenge}");
        assert_eq!(
            challenge.contains(r#"error="invalid_token""#),
            case.want.token_given(),
            "{ctx}: {challenge}"
        );
        assert_eq!(
            r.json()["error_description"],
            case.want.description(),
            "{ctx}"
        );
        n += 1;
    }
    assert!(n >= 25, "only {n} cases");
    for (name, stack) in [
        ("full", &full),
        ("hs_only", &hs_only),
        ("rs_only", &rs_only),
    ] {
        assert!(
            api_calls(stack.emulator()).is_empty(),
            "{name}: the API saw a request"
        );
    }
    // The refusals are counted by reason.
    let metrics = http
        .get(format!("http://{}/metrics", full.gateway))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in [
        "expired",
        "bad_signature",
        "alg_not_allowed",
        "unknown_kid",
        "token_in_query",
        "missing_token",
    ] {
        let label = format!(r#"toolbridge_auth_failures_total{{reason="{reason}"}}"#);
        assert!(metrics.contains(&label), "{label} missing from /metrics");
    }
    // Positive controls: the same gateways accept good tokens, and a tool call reaches the API.
    let client = full
        .client_with(Some(good_hs.clone()), Default::default())
        .await;
    let listed = ok(&client, "list_notes", json!({})).await;
    assert!(listed.is_object());
    let _ = client.cancel().await;
    assert!(!api_calls(full.emulator()).is_empty());
    let rs_good = a.rs256("key-a", &claims(&iss));
    let r = post_init(
        &http,
        &rs_only.mcp_url(),
        &[("authorization", &format!("Bearer {rs_good}"))],
    )
    .await;
    assert_eq!(r.status, 200, "a good RS256 token passes: {}", r.body);
    SENT.lock().unwrap().extend([good_hs, rs_good]);
    eprintln!(
        "{n} bad-token cases refused with 401; JWKS fetched {} times",
        jwks.fetches()
    );
    let mut needles: Vec<String> = SENT
        .lock()
        .unwrap()
        .iter()
        .flat_map(|t| secret_pieces(t.trim_start_matches("Bearer ")))
        .collect();
    needles.extend([JWT_SECRET.to_owned(), TENANT_SECRET.to_owned()]);
    let size = assert_not_logged(&needles);
    // The capture works: our own debug line about the refusals is in it.
    let logs = String::from_utf8_lossy(&captured_logs().lock()).into_owned();
    assert!(
        logs.contains("refused at the edge: 401"),
        "log capture is not working"
    );
    eprintln!(
        "searched {size} bytes of TRACE logs for {} secret pieces: none found",
        needles.len()
    );
    for s in [full, hs_only, rs_only] {
        s.stop().await;
    }
}

//! Unit checks of the verifier without a network (HS256 and passthrough); the JWKS path and
//! the HTTP answers are covered by `tests/inproc/auth_tokens.rs` and `tests/inproc/auth_jwks.rs`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::*;
use crate::{emulator::mint_hs256_with, secret::Secret};

const SECRET: &str = "unit-test-secret";

fn config(tweak: impl FnOnce(&mut Config)) -> Config {
    let mut cfg = Config {
        jwt_hs256_secret: Secret::new(SECRET),
        ..Config::default()
    };
    tweak(&mut cfg);
    cfg
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn unsigned(header: Value, claims: Value) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", enc(&header), enc(&claims))
}

async fn check(cfg: &Config, token: &str) -> Result<Claimed, AuthError> {
    Verifier::new(cfg).unwrap().verify(token).await
}

#[tokio::test]
async fn hs256_happy_path_and_claim_failures() {
    let cfg = config(|c| c.jwt_audience = Some("toolbridge".into()));
    let good = json!({"sub": "alice", "exp": now() + 60, "aud": "toolbridge"});
    let t = mint_hs256_with(SECRET, good.clone());
    assert_eq!(check(&cfg, &t).await.unwrap().sub, "alice");

    let cases = [
        (json!({"exp": now() - 120}), AuthError::Expired),
        (json!({"nbf": now() + 120}), AuthError::NotYetValid),
        (json!({"aud": "other"}), AuthError::BadAudience),
        (json!({"aud": null}), AuthError::MissingClaim("aud")),
        (json!({"exp": null}), AuthError::MissingClaim("exp")),
        (json!({"exp": "9999999999"}), AuthError::InvalidClaim("exp")),
        (json!({"exp": -5}), AuthError::InvalidClaim("exp")),
        (json!({"sub": null}), AuthError::MissingClaim("sub")),
        (json!({"sub": 42}), AuthError::InvalidClaim("sub")),
    ];
    for (patch, want) in cases {
        let mut claims = good.clone();
        // `null` in the patch removes the claim.
        for (k, v) in patch.as_object().unwrap() {
            match v {
                Value::Null => drop(claims.as_object_mut().unwrap().remove(k)),
                v => claims[k] = v.clone(),
            }
        }
        let t = mint_hs256_with(SECRET, claims.clone());
        assert_eq!(check(&cfg, &t).await, Err(want), "{claims}");
    }
}

#[tokio::test]
async fn leeway_is_capped_at_sixty_seconds() {
    let cfg = config(|c| c.jwt_leeway = std::time::Duration::from_secs(3600));
    let t = mint_hs256_with(SECRET, json!({"sub": "a", "exp": now() - 90}));
    assert_eq!(check(&cfg, &t).await, Err(AuthError::Expired));
    let t = mint_hs256_with(SECRET, json!({"sub": "a", "exp": now() - 30}));
    assert!(check(&cfg, &t).await.is_ok());
}

#[tokio::test]
async fn algorithms_are_allow_listed_per_key() {
    let claims = json!({"sub": "a", "exp": now() + 60});
    let hs_only = config(|_| {});
    for alg in ["none", "None", "HS384", "HS512", "RS256", "ES256", "PS256"] {
        let t = unsigned(json!({"alg": alg, "kid": "k"}), claims.clone());
        assert_eq!(
            check(&hs_only, &t).await,
            Err(AuthError::AlgNotAllowed),
            "{alg}"
        );
    }
    // An issuer configured but no secret: HS256 has no key to be checked against.
    let rs_only = config(|c| {
        c.jwt_hs256_secret = Secret::default();
        c.oidc_issuer = Some("http://127.0.0.1:9/".parse().unwrap());
    });
    let t = mint_hs256_with(SECRET, claims);
    assert_eq!(check(&rs_only, &t).await, Err(AuthError::AlgNotAllowed));
}

#[tokio::test]
async fn passthrough_reads_sub_only() {
    let cfg = Config {
        auth_mode: Some(AuthMode::Passthrough),
        ..Config::default()
    };
    let t = mint_hs256_with("any-other-secret", json!({"sub": "bob"}));
    assert_eq!(check(&cfg, &t).await.unwrap().sub, "bob");
    let t = mint_hs256_with("x", json!({"name": "no sub"}));
    assert_eq!(check(&cfg, &t).await, Err(AuthError::MissingClaim("sub")));
    assert_eq!(check(&cfg, "a.b").await, Err(AuthError::Malformed));
}

#[test]
fn the_origin_is_an_audience_only_when_the_audience_names_the_mcp_resource() {
    let aud = |public: Option<&str>, aud: &str| {
        audiences(&config(|c| {
            c.public_url = public.map(|p| p.parse().unwrap());
            c.jwt_audience = Some(aud.into());
        }))
    };
    let mcp = "https://gw.example/mcp";
    assert_eq!(aud(Some(mcp), mcp), [mcp, "https://gw.example"]);
    assert_eq!(aud(None, mcp), [mcp, "https://gw.example"]);
    assert_eq!(
        aud(
            Some("https://gw.example:8443/mcp/"),
            "https://gw.example:8443/mcp"
        ),
        ["https://gw.example:8443/mcp", "https://gw.example:8443"]
    );
    // An audience that is not this gateway's resource gets no sibling.
    assert_eq!(
        aud(Some(mcp), "https://api.example"),
        ["https://api.example"]
    );
    assert_eq!(
        aud(None, "https://gw.example/other"),
        ["https://gw.example/other"]
    );
    assert_eq!(aud(None, "toolbridge"), ["toolbridge"]);
    assert!(audiences(&config(|_| {})).is_empty());
}

#[tokio::test]
async fn the_any_audience_opt_in_does_not_cover_hs256_tokens() {
    let cfg = config(|c| {
        c.jwt_audience = Some("https://gw.example/mcp".into());
        c.oidc_issuer = Some("https://issuer.example/".parse().unwrap());
        c.accept_any_audience_from_issuer = true;
    });
    let claims = json!({"sub": "a", "exp": now() + 60, "aud": "client_01X"});
    let t = mint_hs256_with(SECRET, claims);
    assert_eq!(check(&cfg, &t).await, Err(AuthError::BadAudience));
}

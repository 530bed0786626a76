//! Contract sections 7.3 and 7.4: token exchange, the backend tokens it issues, and which
//! tokens the current generation accepts (RS256 from an OIDC provider's JWKS included).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use reqwest::Method;
use serde_json::{Value, json};
use toolbridge_mcp::emulator::{DEFAULT_TENANT_ID, EmulatorConfig, mint_hs256_with};

use crate::emulator_contract::support::*;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The claims of a JWT, unverified.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

#[tokio::test]
async fn exchange_issues_backend_tokens_with_the_exact_claims() {
    let cfg = EmulatorConfig {
        dev_mode: true,
        ..EmulatorConfig::current()
    };
    let h = start(cfg).await;
    let mut c = Client::new(&h, "alice");
    c.tenant = Tenant::None;
    let body = json!({"grant_type": GRANT, "audience": "toolbridge", "subject_token": "ignored", "subject_token_type": "x"});
    let r = c.post("/auth/token-exchange", body).await;
    let answer = r.expect(200);
    let keys: Vec<&str> = answer
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 4, "no refresh token: {answer}");
    assert_eq!(
        answer["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(
        (&answer["token_type"], &answer["expires_in"]),
        (&json!("Bearer"), &json!(3600))
    );
    let token = answer["access_token"].as_str().unwrap();
    assert_eq!(header_of(token)["alg"], "HS256");
    let claims = claims_of(token);
    let now = chrono::Utc::now().timestamp();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["iss"], "toolbridge-api");
    assert_eq!(
        claims["aud"], "toolbridge",
        "a string, the requested audience"
    );
    assert_eq!(
        (&claims["token_type"], &claims["exchanged_from"]),
        (&json!("backend"), &json!("mcp_oauth"))
    );
    let (iat, nbf, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["nbf"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!((now - 5..=now + 5).contains(&iat) && nbf == iat && exp == iat + 3600);
    assert_eq!(claims.as_object().unwrap().len(), 8, "{claims}");
    assert_eq!(h.emulator.token_exchanges(), 1);

    // The backend token works on entity routes and is logged as such.
    let mut backend = Client::new(&h, "alice");
    backend.token = Some(token.to_owned());
    backend.tenant = Tenant::None;
    backend.open().await;
    backend.tenant = Tenant::Plain(DEFAULT_TENANT_ID.into());
    backend.get("/v1/notes").await.expect(200);
    let last = h.emulator.requests().pop().unwrap();
    assert_eq!(
        (last.user.as_deref(), last.token_kind.as_deref()),
        (Some("alice"), Some("backend"))
    );

    // Errors, in the API's order.
    for (raw, msg) in [
        ("", "Invalid request body"),
        ("grant_type=x&audience=y", "Invalid request body"),
        ("[1]", "Invalid request body"),
        (
            r#"{"grant_type": 1, "audience": "a"}"#,
            "Invalid request body",
        ),
        (
            r#"{"grant_type": "x", "audience": "a", "subject_token": 5}"#,
            "Invalid request body",
        ),
        (
            r#"{"audience": "a"}"#,
            "Invalid grant_type. Expected: urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        (
            "null",
            "Invalid grant_type. Expected: urn:ietf:params:oauth:grant-type:token-exchange",
        ),
    ] {
        c.raw(Method::POST, "/auth/token-exchange", raw)
            .await
            .expect_error(400, msg);
    }
    for audience in [json!(null), json!("")] {
        let r = c
            .post(
                "/auth/token-exchange",
                json!({"grant_type": GRANT, "audience": audience}),
            )
            .await;
        r.expect_error(400, "Missing audience");
    }
    let mut bad = c.clone();
    bad.token = Some("junk".into());
    bad.post("/auth/token-exchange", json!({}))
        .await
        .expect_plain(401, "unauthorized");
    // Dev mode lets X-Debug-Sub past the token check; the handler then wants a Bearer token.
    bad.token = None;
    let debug = |auth: Option<&str>| {
        let mut rb = bad
            .request(Method::POST, "/auth/token-exchange")
            .header("x-debug-sub", "alice");
        if let Some(a) = auth {
            rb = rb.header("authorization", a.to_owned());
        }
        send(rb.body(json!({"grant_type": GRANT, "audience": "a"}).to_string()))
    };
    debug(None)
        .await
        .expect_error(401, "Missing Authorization header");
    debug(Some("Basic YTpi"))
        .await
        .expect_error(401, "Invalid Authorization header format");
    assert_eq!(h.emulator.token_exchanges(), 1);
}

#[tokio::test]
async fn expired_backend_tokens_are_refused() {
    let h = start(EmulatorConfig::current()).await;
    let now = chrono::Utc::now().timestamp();
    let expired = json!({"sub": "alice", "iss": "toolbridge-api", "aud": "x", "token_type": "backend", "exp": now - 1});
    let mut c = Client::new(&h, "alice");
    c.token = Some(mint_hs256_with(JWT_SECRET, expired));
    c.call(Method::POST, "/v1/sync/sessions", None)
        .await
        .expect_plain(401, "unauthorized");
    let early = json!({"sub": "alice", "token_type": "backend", "nbf": now + 60});
    c.token = Some(mint_hs256_with(JWT_SECRET, early));
    c.call(Method::POST, "/v1/sync/sessions", None)
        .await
        .expect_plain(401, "unauthorized");
}

/// A fixture RSA key and a local JWKS endpoint serving its public half.
struct Idp {
    key: EncodingKey,
    url: String,
    fetches: Arc<AtomicUsize>,
}

impl Idp {
    async fn start(kid: &str) -> Self {
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/jwt_rs256_a.pem"
        ))
        .unwrap();
        let key = EncodingKey::from_rsa_pem(&pem).unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        let doc = json!({"keys": [jwk]});
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let app = axum::Router::new().route(
            "/jwks.json",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let doc = doc.clone();
                async move { axum::Json(doc) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { key, url, fetches }
    }

    fn sign(&self, kid: Option<&str>, claims: Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

#[tokio::test]
async fn rs256_tokens_by_kid_issuer_and_audiences() {
    let idp = Idp::start("k1").await;
    let cfg = EmulatorConfig {
        jwt_issuer: Some("https://idp.example/".into()),
        jwks_url: Some(idp.url.clone()),
        jwt_audiences: vec!["toolbridge".into(), "mcp".into()],
        ..EmulatorConfig::current()
    };
    let h = start(cfg).await;
    let exp = chrono::Utc::now().timestamp() + 600;
    let good = json!({"sub": "oidc-user", "iss": "https://idp.example/", "aud": ["other", "mcp"], "exp": exp});
    let status = |token: String| {
        let mut c = Client::new(&h, "x");
        c.token = Some(token);
        async move { c.call(Method::POST, "/v1/sync/sessions", None).await.status }
    };
    assert_eq!(status(idp.sign(Some("k1"), good.clone())).await, 201);
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(status(idp.sign(Some("k1"), good.clone())).await, 201);
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 1, "cached");
    // An unknown kid refetches (and still fails); no kid fails without a fetch.
    assert_eq!(status(idp.sign(Some("k2"), good.clone())).await, 401);
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);
    assert_eq!(status(idp.sign(None, good.clone())).await, 401);
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    for refused in [
        with("iss", json!("https://evil/")),
        with("aud", json!("someone-else")),
        with("exp", json!(exp - 1200)),
    ] {
        assert_eq!(
            status(idp.sign(Some("k1"), refused.clone())).await,
            401,
            "{refused}"
        );
    }
    // HS256 tokens are held to the same issuer and audience rules...
    let hs = |claims: Value| mint_hs256_with(JWT_SECRET, claims);
    assert_eq!(status(hs(json!({"sub": "u"}))).await, 401);
    assert_eq!(
        status(hs(
            json!({"sub": "u", "iss": "https://idp.example/", "aud": "toolbridge"})
        ))
        .await,
        201
    );
    // ...except backend tokens, which need only their signature and times.
    assert_eq!(
        status(hs(json!({"sub": "u", "iss": "toolbridge-api", "aud": "x"}))).await,
        201
    );
    // An exchange turns the OIDC token into a backend token for the same user.
    let mut c = Client::new(&h, "x");
    c.token = Some(idp.sign(Some("k1"), good));
    let r = c
        .post(
            "/auth/token-exchange",
            json!({"grant_type": GRANT, "audience": "api"}),
        )
        .await;
    let backend = r.expect(200)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&backend)["sub"], "oidc-user");
    assert_eq!(status(backend).await, 201);

    // An API without an HS256 secret cannot sign a backend token.
    let cfg = EmulatorConfig {
        jwt_hs256_secret: String::new(),
        jwks_url: Some(idp.url.clone()),
        ..EmulatorConfig::current()
    };
    let h = start(cfg).await;
    let mut c = Client::new(&h, "x");
    c.token = Some(idp.sign(Some("k1"), json!({"sub": "oidc-user", "exp": exp})));
    let r = c
        .post(
            "/auth/token-exchange",
            json!({"grant_type": GRANT, "audience": "api"}),
        )
        .await;
    r.expect_error(500, "Failed to issue token");
    c.token = Some(token("alice"));
    c.call(Method::POST, "/v1/sync/sessions", None)
        .await
        .expect_plain(401, "unauthorized");
}

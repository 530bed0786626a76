//! Helpers of the auth and edge tests: RS256 keys from `tests/fixtures`, a local issuer
//! (discovery document and JWKS) that counts its fetches, raw HTTP requests, and a log
//! capture to search for secrets.
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use parking_lot::Mutex;
use serde_json::{Value, json};

/// An `initialize` request body.
pub const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A fixture file's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// An RSA key of `tests/fixtures` (`a`, `b`, `c`).
pub struct RsaKey {
    pub enc: EncodingKey,
}

impl RsaKey {
    pub fn load(name: &str) -> Self {
        let pem = fixture(&format!("jwt_rs256_{name}.pem"));
        Self {
            enc: EncodingKey::from_rsa_pem(&pem).unwrap(),
        }
    }

    /// The public JWK with this `kid`.
    pub fn jwk(&self, kid: &str) -> Value {
        let mut jwk = Jwk::from_encoding_key(&self.enc, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        serde_json::to_value(jwk).unwrap()
    }

    /// A token signed with this key under `header`.
    pub fn sign(&self, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(&header, claims, &self.enc).unwrap()
    }

    /// An RS256 token with `kid`.
    pub fn rs256(&self, kid: &str, claims: &Value) -> String {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.to_owned());
        self.sign(h, claims)
    }
}

/// What the JWKS server answers.
#[derive(Clone)]
pub enum JwksMode {
    /// 200 with this document.
    Serve(Value),
    /// This status, empty body.
    Fail(u16),
    /// Never answers.
    Hang,
}

#[derive(Clone)]
struct JwksState {
    mode: Arc<Mutex<JwksMode>>,
    fetches: Arc<AtomicUsize>,
    /// The issuer metadata served; `None`: 404.
    metadata: Arc<Mutex<Option<Value>>>,
    discoveries: Arc<AtomicUsize>,
}

/// Where [`JwksServer`] serves its keys: not the `/.well-known/jwks.json` a gateway used to
/// guess, so only a gateway that reads `jwks_uri` from the issuer's metadata finds them.
pub const JWKS_PATH: &str = "/oauth/keys";

/// A local issuer: its OpenID Connect discovery document at
/// `/.well-known/openid-configuration` (naming [`JWKS_PATH`] as `jwks_uri`) and its JWKS;
/// counts every fetch of each.
pub struct JwksServer {
    pub addr: SocketAddr,
    state: JwksState,
}

impl JwksServer {
    pub async fn start(mode: JwksMode) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metadata = json!({
            "issuer": format!("http://{addr}/"),
            "jwks_uri": format!("http://{addr}{JWKS_PATH}"),
        });
        let state = JwksState {
            mode: Arc::new(Mutex::new(mode)),
            fetches: Arc::new(AtomicUsize::new(0)),
            metadata: Arc::new(Mutex::new(Some(metadata))),
            discoveries: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route(JWKS_PATH, get(jwks))
            .route("/.well-known/openid-configuration", get(discovery))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, state }
    }

    /// `http://addr/`: the issuer whose JWKS this is.
    pub fn issuer(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The JWKS URL itself (for `TOOLBRIDGE_JWKS_URL`).
    pub fn jwks_url(&self) -> String {
        format!("http://{}{JWKS_PATH}", self.addr)
    }

    pub fn set(&self, mode: JwksMode) {
        *self.state.mode.lock() = mode;
    }

    /// Replaces the discovery document (`None`: 404).
    pub fn set_metadata(&self, doc: Option<Value>) {
        *self.state.metadata.lock() = doc;
    }

    /// JWKS fetches so far.
    pub fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    /// Discovery-document fetches so far.
    pub fn discoveries(&self) -> usize {
        self.state.discoveries.load(Ordering::SeqCst)
    }
}

async fn discovery(State(st): State<JwksState>) -> axum::response::Response {
    st.discoveries.fetch_add(1, Ordering::SeqCst);
    let doc = st.metadata.lock().clone();
    match doc {
        Some(doc) => axum::Json(doc).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn jwks(State(st): State<JwksState>) -> axum::response::Response {
    st.fetches.fetch_add(1, Ordering::SeqCst);
    let mode = st.mode.lock().clone();
    match mode {
        JwksMode::Serve(doc) => axum::Json(doc).into_response(),
        JwksMode::Fail(code) => StatusCode::from_u16(code).unwrap().into_response(),
        JwksMode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
    }
}

/// A JWKS document of `(kid, key)` pairs.
pub fn jwks_doc(keys: &[(&str, &RsaKey)]) -> Value {
    json!({ "keys": keys.iter().map(|(kid, k)| k.jwk(kid)).collect::<Vec<_>>() })
}

/// A plain HTTP client (no proxy, ring TLS provider installed).
pub fn http() -> reqwest::Client {
    toolbridge_mcp::upstream::install_crypto_provider();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// POSTs an `initialize` to `url` with the given extra headers.
pub async fn post_init(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(INIT);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    // An accepted initialize may answer with an SSE stream that stays open: read a bit only.
    let body = match tokio::time::timeout(Duration::from_millis(500), resp.text()).await {
        Ok(Ok(b)) => b,
        _ => String::new(),
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// Sends `method url` with `headers` and `body`, and reads the whole answer (a JSON one:
/// use [`post_init`] for answers that may be an open SSE stream).
pub async fn request(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client.request(method, url).body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = tokio::time::timeout(Duration::from_secs(30), resp.text())
        .await
        .expect("answered in full")
        .unwrap_or_default();
    Answer {
        status,
        headers,
        body,
    }
}

/// Every log line of this test process, at TRACE level for every crate, from the first
/// call on (shared with the suite-wide leak watch). Tests search it for secrets.
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    crate::common::leaks::capture()
}

/// The pieces of `token` that must never be logged: the whole token and every
/// 16-character window of its signature.
pub fn secret_pieces(token: &str) -> Vec<String> {
    let mut out = vec![token.to_owned()];
    if let Some(sig) = token.rsplit('.').next() {
        let chars: Vec<char> = sig.chars().collect();
        out.extend(chars.windows(16).map(|w| w.iter().collect::<String>()));
    }
    out
}

/// Asserts that none of `needles` occurs in the captured logs; returns the log size.
pub fn assert_not_logged(needles: &[String]) -> usize {
    let logs = captured_logs();
    let logs = logs.lock();
    let text = String::from_utf8_lossy(&logs);
    for n in needles.iter().filter(|n| n.len() >= 8) {
        assert!(
            !text.contains(n.as_str()),
            "a secret piece was logged: {n:.12}…"
        );
    }
    logs.len()
}

//! Helpers of the emulator contract tests: a started emulator and a small signed client.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use toolbridge_mcp::emulator::{Emulator, EmulatorConfig, EmulatorHandle, mint_hs256};
use toolbridge_mcp::upstream::signing::{SIGNATURE, TENANT_ID, TIMESTAMP, now_millis, sign};

/// The default config's secrets.
pub const JWT_SECRET: &str = "dev-jwt-secret";
pub const TENANT: &str = "dev-tenant";
pub const TENANT_SECRET: &str = "dev-tenant-secret";

/// The path of every entity, in contract order.
pub const ENTITIES: [&str; 5] = ["notes", "tasks", "comments", "chats", "chat_messages"];

/// Starts an emulator on a free loopback port.
pub async fn start(cfg: EmulatorConfig) -> EmulatorHandle {
    Emulator::spawn(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("emulator starts")
}

/// A valid token for `sub`.
pub fn token(sub: &str) -> String {
    mint_hs256(JWT_SECRET, sub, Duration::from_secs(600))
}

/// The three tenant headers for `tenant` at `ts`, signed with `secret`.
pub fn tenant_headers(tenant: &str, ts: &str, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        (TENANT_ID, tenant.to_owned()),
        (TIMESTAMP, ts.to_owned()),
        (SIGNATURE, sign(secret.as_bytes(), tenant, ts)),
    ]
}

/// A buffered response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON (panics with the body text when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body on failure; returns the JSON body when there is one.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text());
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Asserts a JSON error: status, `error` text, and a correlation id in the body.
    #[track_caller]
    pub fn expect_error(&self, status: u16, error: &str) -> Value {
        let body = self.expect(status);
        assert_eq!(body["error"], error, "body: {body}");
        assert!(
            body["correlation_id"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        body
    }
}

/// Sends and buffers (panics on transport errors).
pub async fn send(rb: reqwest::RequestBuilder) -> Resp {
    let r = rb.send().await.expect("request sent");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.expect("body read").to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

/// A plain HTTP client (no proxy, no TLS needed).
pub fn http() -> reqwest::Client {
    // reqwest is built without a TLS provider of its own: install one so that building a
    // client never panics (plain http:// needs none).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A caller of the emulator: token, tenant headers, session and epoch, each optional.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
    pub tenant: bool,
    pub session: Option<String>,
    pub epoch: Option<String>,
}

impl Client {
    /// `sub` with a valid token and tenant headers, no session yet.
    pub fn new(h: &EmulatorHandle, sub: &str) -> Self {
        Self {
            http: http(),
            base: h.base_url(),
            token: Some(token(sub)),
            tenant: true,
            session: None,
            epoch: None,
        }
    }

    /// No credentials at all.
    pub fn anonymous(h: &EmulatorHandle) -> Self {
        Self {
            token: None,
            tenant: false,
            ..Self::new(h, "nobody")
        }
    }

    /// `sub` with an open session and its epoch.
    pub async fn with_session(h: &EmulatorHandle, sub: &str) -> Self {
        let mut c = Self::new(h, sub);
        c.open().await;
        c
    }

    /// Opens a session and keeps its id and epoch; returns the session JSON.
    pub async fn open(&mut self) -> Value {
        let r = self.call(Method::POST, "/v1/sync/sessions", None).await;
        let body = r.expect(201);
        assert_eq!(
            r.header("x-sync-epoch").unwrap(),
            body["epoch"].to_string(),
            "X-Sync-Epoch header equals the body's epoch"
        );
        self.session = Some(body["id"].as_str().unwrap().to_owned());
        self.epoch = Some(body["epoch"].to_string());
        body
    }

    /// A request with every credential this client has.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            rb = rb.header("authorization", format!("Bearer {t}"));
        }
        if self.tenant {
            for (k, v) in tenant_headers(TENANT, &now_millis().to_string(), TENANT_SECRET) {
                rb = rb.header(k, v);
            }
        }
        if let Some(s) = &self.session {
            rb = rb.header("x-sync-session", s);
        }
        if let Some(e) = &self.epoch {
            rb = rb.header("x-sync-epoch", e);
        }
        rb
    }

    /// Sends a request with an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut rb = self.request(method, path);
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&b).unwrap());
        }
        send(rb).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Creates an item and returns it (asserting `201`).
    pub async fn create(&self, entity: &str, body: Value) -> Value {
        self.post(&format!("/v1/{entity}"), body).await.expect(201)
    }
}

/// The uids of a list page, in order.
pub fn uids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["uid"].as_str().unwrap().to_owned())
        .collect()
}

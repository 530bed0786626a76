//! Helpers of the emulator contract tests: a started emulator and a small client that
//! sends whatever credentials a test gives it.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use toolbridge_mcp::emulator::{
    DEFAULT_TENANT_ID, Emulator, EmulatorConfig, EmulatorHandle, mint_hs256,
};
use toolbridge_mcp::upstream::signing::{SIGNATURE, TENANT_ID, TIMESTAMP, now_millis, sign};

/// The default config's secrets.
pub const JWT_SECRET: &str = "dev-jwt-secret";
pub const TENANT: &str = "dev-tenant";
pub const TENANT_SECRET: &str = "dev-tenant-secret";

/// The path of every seed entity, in contract order.
pub const ENTITIES: [&str; 5] = ["notes", "tasks", "comments", "chats", "chat_messages"];
/// The two entities the current generation adds (§7.6).
pub const NEW_ENTITIES: [&str; 2] = ["task_lists", "task_list_categories"];

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
                .is_some_and(|s| !s.is_empty()),
            "correlation id in {body}"
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        body
    }

    /// Asserts a `410`: `{"error", "deletedAt"}` and nothing else (no correlation id).
    #[track_caller]
    pub fn expect_gone(&self, error: &str) -> Value {
        let body = self.expect(410);
        assert_eq!(body["error"], error, "body: {body}");
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 2, "only error and deletedAt: {body}");
        assert!(body["deletedAt"].is_string(), "{body}");
        body
    }

    /// Asserts a Go `http.Error` answer: status, plain text, the message plus a newline.
    #[track_caller]
    pub fn expect_plain(&self, status: u16, message: &str) {
        assert_eq!((self.status, self.text()), (status, format!("{message}\n")));
        let ct = self.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("text/plain"), "{ct}");
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
    toolbridge_mcp::upstream::install_crypto_provider();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Which tenant headers a client sends.
#[derive(Clone, Debug)]
pub enum Tenant {
    None,
    /// seed: the three headers for [`TENANT`], signed afresh with [`TENANT_SECRET`].
    Signed,
    /// current: a plain `X-TB-Tenant-ID`.
    Plain(String),
}

/// A caller of the emulator: token, tenant headers, session and epoch, each optional.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
    pub tenant: Tenant,
    pub session: Option<String>,
    pub epoch: Option<String>,
}

impl Client {
    /// `sub` with a valid token and the tenant headers of the emulator's generation (seed:
    /// signed; current: the default tenant), no session yet.
    pub fn new(h: &EmulatorHandle, sub: &str) -> Self {
        let tenant = match h.emulator.generation() {
            toolbridge_mcp::emulator::Generation::Seed => Tenant::Signed,
            toolbridge_mcp::emulator::Generation::Current => {
                Tenant::Plain(DEFAULT_TENANT_ID.to_owned())
            }
        };
        Self {
            http: http(),
            base: h.base_url(),
            token: Some(token(sub)),
            tenant,
            session: None,
            epoch: None,
        }
    }

    /// No credentials at all.
    pub fn anonymous(h: &EmulatorHandle) -> Self {
        Self {
            token: None,
            tenant: Tenant::None,
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
        match &self.tenant {
            Tenant::None => {}
            Tenant::Signed => {
                for (k, v) in tenant_headers(TENANT, &now_millis().to_string(), TENANT_SECRET) {
                    rb = rb.header(k, v);
                }
            }
            Tenant::Plain(t) => rb = rb.header(TENANT_ID, t),
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

    /// Sends a request with this raw body.
    pub async fn raw(&self, method: Method, path: &str, body: &'static str) -> Resp {
        send(self.request(method, path).body(body)).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
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

/// A timestamp of the API, parsed (they drop trailing fractional zeros, so their text
/// does not sort).
#[track_caller]
pub fn instant(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    let text = v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"));
    assert!(text.ends_with('Z'), "UTC: {text}");
    let frac = text
        .split_once('.')
        .map_or("", |(_, f)| f.trim_end_matches('Z'));
    assert!(!frac.ends_with('0'), "trailing zeros dropped: {text}");
    chrono::DateTime::parse_from_rfc3339(text).unwrap()
}

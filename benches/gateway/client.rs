//! The two clients of a run: raw MCP JSON-RPC over keep-alive HTTP to the gateway, and the
//! direct REST sequence (open a sync session, then the operation) to the emulator.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use serde_json::Value;
use toolbridge_mcp::{
    emulator::mint_hs256,
    upstream::signing::{SIGNATURE, TENANT_ID, TIMESTAMP, now_millis, sign},
};

use super::procs::{JWT_SECRET, TENANT, TENANT_SECRET};

/// The three tool calls the bench drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Get,
    List,
}

impl Op {
    pub fn tool(self) -> &'static str {
        match self {
            Op::Create => "create_note",
            Op::Get => "get_note",
            Op::List => "list_notes",
        }
    }

    fn arguments(self, uid: &str) -> String {
        match self {
            Op::Create => NOTE.to_owned(),
            Op::Get => format!(r#"{{"uid":"{uid}"}}"#),
            Op::List => r#"{"limit":10}"#.to_owned(),
        }
    }
}

const NOTE: &str = r#"{"title":"bench note","content":"A short note written by the benchmark."}"#;

/// `Authorization: Bearer <token>` for user `sub`, valid for two hours.
pub fn bearer(sub: &str) -> HeaderValue {
    let token = mint_hs256(JWT_SECRET, sub, Duration::from_secs(7200));
    HeaderValue::from_str(&format!("Bearer {token}")).expect("token is ASCII")
}

/// A client with keep-alive connections and no proxy.
pub fn http_client() -> reqwest::Client {
    toolbridge_mcp::upstream::install_crypto_provider();
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(300))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// One MCP session (or, stateless, one caller) on the gateway; or one 2026-07-28 client,
/// which has no session at all.
pub struct McpSession {
    url: String,
    auth: HeaderValue,
    session: Option<HeaderValue>,
    next_id: u64,
    modern: bool,
}

const ACCEPT: &str = "application/json, text/event-stream";
/// The legacy revision of the session lines: the newest one with `initialize`.
const PROTOCOL: &str = "2025-11-25";
/// The sessionless revision: version and capabilities in every request's `_meta`.
pub const MODERN: &str = "2026-07-28";
const MODERN_META: &str = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"0"}}"#;

impl McpSession {
    /// `initialize` then `notifications/initialized`.
    pub async fn open(
        http: &reqwest::Client,
        url: &str,
        auth: HeaderValue,
    ) -> Result<Self, String> {
        let mut s = McpSession {
            url: url.to_owned(),
            auth,
            session: None,
            next_id: 1,
            modern: false,
        };
        let init = format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{PROTOCOL}","capabilities":{{}},"clientInfo":{{"name":"bench","version":"0"}}}}}}"#
        );
        let resp = s.post(http, init).await?;
        s.session = resp.headers().get("mcp-session-id").cloned();
        let body = read_ok(resp).await?;
        rpc_result(&body)?;
        let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let resp = s.post(http, note.to_owned()).await?;
        if !resp.status().is_success() {
            return Err(format!("initialized: HTTP {}", resp.status()));
        }
        Ok(s)
    }

    /// A 2026-07-28 client: nothing to open, every call stands alone.
    pub fn modern(url: &str, auth: HeaderValue) -> Self {
        McpSession {
            url: url.to_owned(),
            auth,
            session: None,
            next_id: 1,
            modern: true,
        }
    }

    async fn post(
        &self,
        http: &reqwest::Client,
        body: String,
    ) -> Result<reqwest::Response, String> {
        self.request(http, body)
            .send()
            .await
            .map_err(|e| format!("send: {e}"))
    }

    /// A `tools/call` POST; on 2026-07-28 with the method and the tool name mirrored into
    /// the `Mcp-Method`/`Mcp-Name` headers, as that revision requires.
    async fn post_call(
        &self,
        http: &reqwest::Client,
        body: String,
        tool: &str,
    ) -> Result<reqwest::Response, String> {
        let mut req = self.request(http, body);
        if self.modern {
            req = req
                .header("mcp-method", "tools/call")
                .header("mcp-name", tool);
        }
        req.send().await.map_err(|e| format!("send: {e}"))
    }

    fn request(&self, http: &reqwest::Client, body: String) -> reqwest::RequestBuilder {
        let version = if self.modern { MODERN } else { PROTOCOL };
        let mut req = http
            .post(&self.url)
            .header(header::AUTHORIZATION, self.auth.clone())
            .header(header::ACCEPT, ACCEPT)
            .header(header::CONTENT_TYPE, "application/json")
            .header("mcp-protocol-version", version)
            .body(body);
        if let Some(id) = &self.session {
            req = req.header("mcp-session-id", id.clone());
        }
        req
    }

    /// One `tools/call`; an `isError` result is an error. Returns the JSON-RPC response.
    pub async fn call(
        &mut self,
        http: &reqwest::Client,
        op: Op,
        uid: &str,
    ) -> Result<Bytes, String> {
        let id = self.next_id;
        self.next_id += 1;
        let meta = if self.modern {
            format!(r#","_meta":{MODERN_META}"#)
        } else {
            String::new()
        };
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{}","arguments":{}{meta}}}}}"#,
            op.tool(),
            op.arguments(uid)
        );
        let body = read_ok(self.post_call(http, body, op.tool()).await?).await?;
        // Cheap checks, so the client spends its CPU on sending, not on parsing.
        if memchr(&body, br#""isError":true"#) || !memchr(&body, br#""result""#) {
            return Err(format!("{}: {}", op.tool(), String::from_utf8_lossy(&body)));
        }
        Ok(body)
    }
}

async fn read_ok(resp: reqwest::Response) -> Result<Bytes, String> {
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok(body)
}

fn memchr(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The JSON-RPC `result` of a response that is plain JSON or an SSE stream.
pub fn rpc_result(body: &[u8]) -> Result<Value, String> {
    let text = String::from_utf8_lossy(body);
    let candidates: Vec<&str> = if text.trim_start().starts_with('{') {
        vec![text.as_ref()]
    } else {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .collect()
    };
    for c in candidates {
        if let Ok(mut v) = serde_json::from_str::<Value>(c) {
            if let Some(r) = v.get_mut("result") {
                return Ok(r.take());
            }
            if let Some(e) = v.get("error") {
                return Err(format!("JSON-RPC error {e}"));
            }
        }
    }
    Err(format!("no JSON-RPC result in {text}"))
}

/// The REST sequence of one `per_call` tool call, straight against the API.
pub struct Direct {
    base: String,
    tenant: HeaderValue,
}

impl Direct {
    pub fn new(base: &str) -> Self {
        Direct {
            base: base.to_owned(),
            tenant: HeaderValue::from_static(TENANT),
        }
    }

    fn signed(&self, auth: &HeaderValue) -> HeaderMap {
        let ts = now_millis().to_string();
        let sig = sign(TENANT_SECRET.as_bytes(), TENANT, &ts);
        let mut h = HeaderMap::with_capacity(8);
        h.insert(header::AUTHORIZATION, auth.clone());
        h.insert(TENANT_ID, self.tenant.clone());
        h.insert(TIMESTAMP, HeaderValue::from_str(&ts).unwrap());
        h.insert(SIGNATURE, HeaderValue::from_str(&sig).unwrap());
        h.insert(
            "x-correlation-id",
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap(),
        );
        h
    }

    /// `POST /v1/sync/sessions`, then the operation. Returns the operation's body.
    pub async fn call(
        &self,
        http: &reqwest::Client,
        auth: &HeaderValue,
        op: Op,
        uid: &str,
    ) -> Result<Bytes, String> {
        let resp = http
            .post(format!("{}/v1/sync/sessions", self.base))
            .headers(self.signed(auth))
            .send()
            .await
            .map_err(|e| format!("session: {e}"))?;
        let session: Value =
            serde_json::from_slice(&read_ok(resp).await?).map_err(|e| format!("session: {e}"))?;
        let mut h = self.signed(auth);
        let id = session["id"].as_str().ok_or("session without id")?;
        h.insert("x-sync-session", HeaderValue::from_str(id).unwrap());
        h.insert(
            "x-sync-epoch",
            HeaderValue::from(session["epoch"].as_i64().unwrap_or(0)),
        );
        let req = match op {
            Op::Create => http
                .post(format!("{}/v1/notes", self.base))
                .header(header::CONTENT_TYPE, "application/json")
                .body(NOTE),
            Op::Get => http.get(format!("{}/v1/notes/{uid}", self.base)),
            Op::List => http.get(format!("{}/v1/notes?limit=10", self.base)),
        };
        let resp = req
            .headers(h)
            .send()
            .await
            .map_err(|e| format!("{op:?}: {e}"))?;
        read_ok(resp).await
    }

    /// Creates a note for the caller and returns its uid.
    pub async fn seed(&self, http: &reqwest::Client, auth: &HeaderValue) -> Result<String, String> {
        let body = self.call(http, auth, Op::Create, "").await?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        v["uid"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no uid in {v}"))
    }
}

//! MCP over plain HTTP, spelled out request by request (what a hostile or careless client
//! sends), and raw bytes over TCP for what no HTTP client library would send.

use std::{net::SocketAddr, time::Duration};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// A client with no pool limits and a generous per-request timeout (a hang fails the
/// test instead of stalling it).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// `Bearer <a token for sub>`.
pub fn bearer(sub: &str) -> String {
    format!("Bearer {}", super::token(sub))
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The JSON-RPC messages of the body: the JSON body itself, or each SSE `data:` line.
    pub fn messages(&self) -> Vec<Value> {
        if let Ok(v) = serde_json::from_str::<Value>(&self.body) {
            return vec![v];
        }
        self.body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str(d.trim()).ok())
            .collect()
    }

    /// The one message that answers a request (has `result` or `error`).
    pub fn answer(&self) -> Value {
        self.messages()
            .into_iter()
            .find(|m| m.get("result").is_some() || m.get("error").is_some())
            .unwrap_or_else(|| panic!("no JSON-RPC answer in {} {:?}", self.status, self.body))
    }
}

/// POSTs `body` to `url` as an MCP client would (JSON, both media types accepted).
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    auth: Option<&str>,
    sid: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(s) = sid {
        req = req
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", "2025-06-18");
    }
    read(req).await
}

/// Sends any request and reads the whole answer.
pub async fn read(req: reqwest::RequestBuilder) -> Reply {
    let resp = req.send().await.expect("the gateway answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap_or_default();
    Reply {
        status,
        headers,
        body,
    }
}

/// `initialize` then `notifications/initialized`; the session id.
pub async fn open_session(http: &reqwest::Client, url: &str, auth: &str) -> String {
    let r = post(http, url, Some(auth), None, INITIALIZE).await;
    assert_eq!(r.status, 200, "initialize: {}", r.body);
    let sid = r.header("mcp-session-id").expect("a session id").to_owned();
    let n = post(http, url, Some(auth), Some(&sid), INITIALIZED).await;
    assert_eq!(n.status, 202, "initialized: {}", n.body);
    sid
}

/// A JSON-RPC request text.
pub fn request(id: Value, method: &str, params: Value) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

/// Writes `raw` to a fresh connection and returns everything read until the server closes
/// it or goes quiet for a second (at most 20 s in all).
pub async fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let quiet = tokio::time::Instant::now() + Duration::from_secs(1);
        match tokio::time::timeout_at(quiet.min(deadline), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of a raw HTTP answer (`HTTP/1.1 403 Forbidden` → 403).
pub fn status_of(raw: &str) -> u16 {
    raw.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {raw:?}"))
}

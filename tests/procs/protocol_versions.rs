//! MCP revisions on the wire, raw JSON-RPC over HTTP against a gateway on a real socket:
//! 2026-07-28 (no session, `_meta` per request, `server/discover`, caching hints) next to
//! the legacy revisions (2025-06-18, 2025-11-25), which keep working as before; and the
//! answers the conformance suite checks: `-32022` for every unsupported or malformed
//! `MCP-Protocol-Version`, `logging/setLevel`, `DELETE /mcp`, GET/DELETE without sessions.

use crate::common;

use common::{binary, *};
use serde_json::{Value, json};

const MODERN: &str = "2026-07-28";
/// `tools/list` and `server/discover` stay fresh this long (`protocol::LIST_TTL`).
const TTL_MS: u64 = 3_600_000;

/// One HTTP answer: status, headers, and the JSON-RPC message (from a JSON body or the
/// SSE event carrying the response), or the body as a string.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.expect("the gateway answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| {
        // An SSE stream: the event that carries an id or an error is the answer.
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|m| m.get("result").is_some() || m.get("error").is_some())
            .unwrap_or(Value::String(text))
    });
    Answer {
        status,
        headers,
        body,
    }
}

/// A POST with the headers a client of `version` sends (`None`: no version header).
fn post(url: &str, version: Option<&str>, body: &Value) -> reqwest::RequestBuilder {
    let mut req = reqwest::Client::new()
        .post(url)
        .bearer_auth(token("protocol-user"))
        .header("accept", "application/json, text/event-stream")
        .json(body);
    if let Some(v) = version {
        req = req.header("mcp-protocol-version", v);
    }
    if let Some(method) = body["method"].as_str() {
        req = req.header("mcp-method", method);
    }
    if let Some(name) = body["params"]["name"].as_str() {
        req = req.header("mcp-name", name);
    }
    req
}

/// A 2026-07-28 request body: the version and capabilities in `_meta`.
fn modern(id: u64, method: &str, version: &str, mut params: Value) -> Value {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
    });
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// Opens a legacy session at `version`: the session id.
async fn initialize(url: &str, version: &str) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    let a = send(post(url, None, &init)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["result"]["protocolVersion"], version);
    let session = a.headers["mcp-session-id"].to_str().unwrap().to_owned();
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let a = send(post(url, Some(version), &done).header("mcp-session-id", &session)).await;
    assert_eq!(a.status, 202);
    session
}

fn in_session(url: &str, version: &str, session: &str, body: &Value) -> reqwest::RequestBuilder {
    post(url, Some(version), body).header("mcp-session-id", session)
}

fn assert_unsupported(a: &Answer, requested: &str, id: Option<Value>) {
    assert_eq!(a.status, 400, "{requested:?}: {}", a.body);
    assert_eq!(a.headers["content-type"], "application/json");
    let e = &a.body["error"];
    assert_eq!(e["code"], -32022, "{requested:?}: {}", a.body);
    assert_eq!(e["data"]["requested"], requested);
    let supported: Vec<&str> = e["data"]["supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for v in ["2025-06-18", "2025-11-25", MODERN] {
        assert!(supported.contains(&v), "{supported:?}");
    }
    match id {
        Some(id) => assert_eq!(a.body["id"], id),
        None => assert!(a.body.get("id").is_none(), "{}", a.body),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unsupported_or_malformed_version_gets_minus_32022() {
    for stateless in [false, true] {
        let stack = Stack::start_with(emulator_config(), |c| c.stateless = stateless).await;
        let url = stack.mcp_url();
        let session = if stateless {
            None
        } else {
            Some(initialize(&url, "2025-11-25").await)
        };
        for v in ["v999.0.0", "2099-01-01", ""] {
            // A 2026-07-28 request naming it in `_meta` too, and one that does not.
            let discover = modern(11, "server/discover", v, json!({}));
            assert_unsupported(
                &send(post(&url, Some(v), &discover)).await,
                v,
                Some(json!(11)),
            );
            let list = modern(12, "tools/list", MODERN, json!({}));
            assert_unsupported(&send(post(&url, Some(v), &list)).await, v, Some(json!(12)));
            // A legacy request without `_meta`, inside a session when there are sessions.
            let legacy = json!({"jsonrpc": "2.0", "id": "l-13", "method": "tools/list"});
            let req = match &session {
                Some(s) => in_session(&url, v, s, &legacy),
                None => post(&url, Some(v), &legacy),
            };
            assert_unsupported(&send(req).await, v, Some(json!("l-13")));
            // No body to take an id from.
            let get = reqwest::Client::new()
                .get(&url)
                .bearer_auth(token("protocol-user"))
                .header("accept", "text/event-stream")
                .header("mcp-protocol-version", v);
            assert_unsupported(&send(get).await, v, None);
        }
        // The session is unharmed: a served version still works in it.
        if let Some(s) = &session {
            let list = json!({"jsonrpc": "2.0", "id": 14, "method": "tools/list"});
            let a = send(in_session(&url, "2025-11-25", s, &list)).await;
            assert_eq!(
                a.body["result"]["tools"].as_array().unwrap().len(),
                seed_tool_count()
            );
        }
        stack.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_version_goes_back_to_its_sender_and_into_no_log() {
    let emu = api(emulator_config()).await;
    let gw = binary::Gateway::start(&emu.base_url(), &[("RUST_LOG", "trace")]);
    // A credential pasted into the wrong header.
    let pasted = format!("Bearer {}", token("pasted-into-the-version-header"));
    let body = modern(21, "tools/list", MODERN, json!({}));
    let a = send(post(&gw.url(), Some(&pasted), &body)).await;
    assert_unsupported(&a, &pasted, Some(json!(21)));
    let init = json!({"jsonrpc": "2.0", "id": 22, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    assert_unsupported(
        &send(post(&gw.url(), Some(&pasted), &init)).await,
        &pasted,
        Some(json!(22)),
    );
    let logs = gw.logs();
    assert!(logs.contains("unsupported MCP-Protocol-Version"), "{logs}");
    let secret_part = pasted.rsplit('.').next().unwrap();
    assert!(!logs.contains(secret_part), "the header value was logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_set_level_is_accepted_where_it_exists_and_404_on_2026() {
    let stack = Stack::start().await;
    let url = stack.mcp_url();
    for version in ["2025-06-18", "2025-11-25"] {
        let session = initialize(&url, version).await;
        for level in ["debug", "info", "error", "emergency"] {
            let set = json!({"jsonrpc": "2.0", "id": 31, "method": "logging/setLevel", "params": {"level": level}});
            let a = send(in_session(&url, version, &session, &set)).await;
            assert_eq!(a.body["result"], json!({}), "{version} {level}: {}", a.body);
        }
        let bad = json!({"jsonrpc": "2.0", "id": 32, "method": "logging/setLevel", "params": {"level": "loud"}});
        let a = send(in_session(&url, version, &session, &bad)).await;
        assert_eq!(a.body["error"]["code"], -32602, "{}", a.body);
        assert!(
            a.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("warning")
        );
        // The session goes on serving calls afterwards.
        let call = json!({"jsonrpc": "2.0", "id": 33, "method": "tools/call", "params": {"name": "list_notes", "arguments": {}}});
        let a = send(in_session(&url, version, &session, &call)).await;
        assert_eq!(a.body["result"]["isError"], false, "{}", a.body);
    }
    // 2026-07-28 removed the method: 404 with -32601.
    let set = modern(34, "logging/setLevel", MODERN, json!({"level": "info"}));
    let a = send(post(&url, Some(MODERN), &set)).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["error"]["code"], -32601);
    assert_eq!(a.body["id"], 34);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_2026_the_tool_list_and_discover_are_cacheable_for_everyone() {
    let stack = Stack::start().await;
    let url = stack.mcp_url();
    let a = send(post(
        &url,
        Some(MODERN),
        &modern(41, "tools/list", MODERN, json!({})),
    ))
    .await;
    let r = &a.body["result"];
    assert_eq!(r["tools"].as_array().unwrap().len(), seed_tool_count());
    assert_eq!(r["ttlMs"], TTL_MS);
    assert_eq!(r["cacheScope"], "public");
    assert_eq!(r["resultType"], "complete");

    let a = send(post(
        &url,
        Some(MODERN),
        &modern(42, "server/discover", MODERN, json!({})),
    ))
    .await;
    let d = &a.body["result"];
    assert_eq!(d["ttlMs"], TTL_MS);
    assert_eq!(d["cacheScope"], "public");
    assert_eq!(
        d["capabilities"],
        json!({"tools": {}, "resources": {},
            "extensions": {"io.modelcontextprotocol/ui": {"mimeTypes": ["text/html;profile=mcp-app"]}}})
    );
    assert!(d["instructions"].as_str().unwrap().contains("ToolBridge"));
    assert_eq!(
        d["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "toolbridge-mcp"
    );
    for v in ["2025-06-18", "2025-11-25", MODERN] {
        assert!(
            d["supportedVersions"]
                .as_array()
                .unwrap()
                .contains(&json!(v))
        );
    }

    // A tool call on 2026-07-28: resultType, structured content, no session anywhere.
    let create = modern(
        43,
        "tools/call",
        MODERN,
        json!({"name": "create_note", "arguments": {"title": "t", "content": "c"}}),
    );
    let a = send(post(&url, Some(MODERN), &create)).await;
    assert_eq!(a.body["result"]["resultType"], "complete", "{}", a.body);
    assert!(a.body["result"]["structuredContent"]["uid"].is_string());
    assert!(!a.headers.contains_key("mcp-session-id"));
    // Mcp-Name must match the body (the spec's HeaderMismatch, -32020).
    let a = send(post(&url, Some(MODERN), &create).header("mcp-name", "delete_note")).await;
    assert_eq!(
        (a.status, a.body["error"]["code"].clone()),
        (400, json!(-32020))
    );

    // Legacy revisions see the list exactly as before: no hints, no resultType.
    for version in ["2025-06-18", "2025-11-25"] {
        let session = initialize(&url, version).await;
        let list = json!({"jsonrpc": "2.0", "id": 44, "method": "tools/list"});
        let r = send(in_session(&url, version, &session, &list)).await.body["result"].clone();
        assert_eq!(r["tools"].as_array().unwrap().len(), seed_tool_count());
        for absent in ["ttlMs", "cacheScope", "resultType"] {
            assert!(r.get(absent).is_none(), "{version}: {absent} in {r}");
        }
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_ends_a_session_with_204_and_get_delete_without_one_are_405() {
    let stack = Stack::start().await;
    let url = stack.mcp_url();
    let session = initialize(&url, "2025-11-25").await;
    let delete = reqwest::Client::new()
        .delete(&url)
        .bearer_auth(token("protocol-user"))
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", &session);
    let a = send(delete).await;
    assert_eq!(a.status, 204, "{}", a.body);
    let list = json!({"jsonrpc": "2.0", "id": 51, "method": "tools/list"});
    let a = send(in_session(&url, "2025-11-25", &session, &list)).await;
    assert_eq!(a.status, 404, "a closed session is gone");
    // A 2026-07-28 client has no session: GET and DELETE are not part of its transport.
    assert_405(&url, Some(MODERN)).await;
    stack.stop().await;

    // Sessionless operation (TOOLBRIDGE_STATELESS): the same for every revision.
    let stack = Stack::start_with(emulator_config(), |c| c.stateless = true).await;
    for version in [None, Some("2025-11-25"), Some(MODERN)] {
        assert_405(&stack.mcp_url(), version).await;
    }
    stack.stop().await;
}

async fn assert_405(url: &str, version: Option<&str>) {
    let http = reqwest::Client::new();
    for req in [
        http.get(url).header("accept", "text/event-stream"),
        http.delete(url).header("mcp-session-id", "any"),
    ] {
        let mut req = req.bearer_auth(token("protocol-user"));
        if let Some(v) = version {
            req = req.header("mcp-protocol-version", v);
        }
        let a = send(req).await;
        assert_eq!(a.status, 405, "{version:?}: {}", a.body);
        assert_eq!(a.headers["allow"], "POST");
    }
}

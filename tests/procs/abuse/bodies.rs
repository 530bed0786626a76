//! Items 1, 2 and 10: what a request body can make the gateway hold.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::abuse::stack;
use crate::common::{binary::Gateway, mcp_http::*, *};

/// Item 1. Sixteen connections of one user send full headers and one byte of a body, and
/// stay open; with sixteen request slots, another user still opens a session and calls a
/// tool (before the fix the slots were taken before the body was read, and the other user
/// waited out the request timeout for a 503). Each slow sender then gets 408.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_hold_no_request_slot() {
    let stack = stack(|c| {
        c.max_concurrent_requests = 16;
        c.request_timeout = std::time::Duration::from_secs(3);
        c.header_read_timeout = std::time::Duration::from_secs(4);
    })
    .await;
    let alice = bearer("alice");
    let mut slow = Vec::new();
    for _ in 0..16 {
        let mut s = tokio::net::TcpStream::connect(stack.gateway).await.unwrap();
        let head = format!(
            "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: {alice}\r\n\
             content-type: application/json\r\naccept: application/json, text/event-stream\r\n\
             content-length: 1000\r\n\r\n{{"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        slow.push(s);
    }
    // Let the gateway take them all in before the other user comes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let http = client();
    let bob = bearer("bob");
    let sid = open_session(&http, &stack.mcp_url(), &bob).await;
    let call = request(
        json!(2),
        "tools/call",
        json!({"name": "list_notes", "arguments": {}}),
    );
    let r = post(&http, &stack.mcp_url(), Some(&bob), Some(&sid), call).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ne!(r.answer()["result"]["isError"], json!(true), "{}", r.body);
    for mut s in slow {
        let mut buf = vec![0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf))
            .await
            .expect("the slow sender is answered")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    }
    stack.stop().await;
}

fn vm_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A `ping` whose params hold a JSON array of zeros, `size` bytes in all.
fn zeros(size: usize) -> String {
    let mut body = String::from(r#"{"jsonrpc":"2.0","id":2,"method":"ping","params":{"pad":[0"#);
    while body.len() + 5 < size {
        body.push_str(",0");
    }
    body.push_str("]}}");
    body
}

/// Item 2. The issue's body (a 4 MiB array of two million zeros) took the process from
/// 12 to ~400 MiB, eight of them to ~800 MiB. Now the 4 MiB body is over the 1 MiB default
/// (413, unread), and eight concurrent 1 MiB arrays of zeros are refused by the scan after
/// 10,000 values, before anything is parsed (the rest is read and dropped, so each client
/// gets its 400): the peak memory of the process barely moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worst_case_bodies_are_refused_before_they_are_parsed() {
    let emu = api(emulator_config()).await;
    let gw = Gateway::start(
        &emu.base_url(),
        &[("TOOLBRIDGE_JWT_HS256_SECRET", JWT_SECRET)],
    );
    let pid = gw.child.id();
    let http = client();
    let url = gw.url();
    let mut users = Vec::new();
    for i in 0..8 {
        let auth = bearer(&format!("zeros-{i}"));
        let sid = open_session(&http, &url, &auth).await;
        users.push((auth, sid));
    }
    let before = vm_kib(pid, "VmHWM");
    let (auth, sid) = &users[0];
    // Declared 4 MiB: refused before a byte of it is read.
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: {auth}\r\nmcp-session-id: {sid}\r\n\
         content-type: application/json\r\naccept: application/json, text/event-stream\r\n\
         content-length: {}\r\n\r\n{{\"pad\":[0,0,0",
        4 * 1024 * 1024
    );
    let addr = ([127, 0, 0, 1], gw.port).into();
    assert_eq!(status_of(&exchange(addr, head.as_bytes()).await), 413);
    let one_mib = zeros(1024 * 1024);
    let sends = users.iter().map(|(auth, sid)| {
        let (http, url, body) = (http.clone(), url.clone(), one_mib.clone());
        async move { post(&http, &url, Some(auth), Some(sid), body).await }
    });
    for r in futures::future::join_all(sends).await {
        assert_eq!(r.status, 400, "{}", r.body);
        let error = &r.answer()["error"];
        assert_eq!(error["code"], -32600, "{}", r.body);
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("more than 10000 JSON values"),
            "{error}"
        );
    }
    let grown = vm_kib(pid, "VmHWM").saturating_sub(before);
    eprintln!("peak VmHWM grew by {grown} KiB over the eight refused bodies");
    // Eight bodies held whole would be 8 MiB; parsed, hundreds.
    assert!(grown < 24 * 1024, "peak memory grew by {grown} KiB");
    // And the process still serves.
    let r = post(
        &http,
        &url,
        Some(auth),
        Some(sid),
        request(json!(3), "ping", json!({})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Item 10. What rmcp answered with 415 (JSON it could not read as JSON-RPC) is a 400
/// whose body is a JSON-RPC error, as the transport spec asks; a wrong media type is
/// still a 415.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400_with_a_jsonrpc_error() {
    let stack = stack(|_| {}).await;
    let http = client();
    let alice = bearer("alice");
    let url = stack.mcp_url();
    let sid = open_session(&http, &url, &alice).await;
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":5,"method":"ping","params":{{"a":{}1{}}}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let cases: Vec<(&str, String, i64, &str)> = vec![
        ("not JSON", "{\"jsonrpc\":".into(), -32700, "Parse error"),
        (
            "a batch",
            format!("[{}]", request(json!(1), "ping", json!({}))),
            -32600,
            "batches",
        ),
        ("too deep", deep, -32600, "nested deeper"),
        ("not an object", "\"ping\"".into(), -32600, "object"),
        (
            "no JSON-RPC",
            r#"{"hello":"world"}"#.into(),
            -32600,
            "Invalid Request",
        ),
        (
            "a number as method",
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#.into(),
            -32600,
            "Invalid Request",
        ),
        (
            "an object as id",
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#.into(),
            -32600,
            "Invalid Request",
        ),
    ];
    for (what, body, code, text) in cases {
        for session in [None, Some(sid.as_str())] {
            let r = post(&http, &url, Some(&alice), session, body.clone()).await;
            assert_eq!(r.status, 400, "{what}: {}", r.body);
            assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
            let msg: Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(msg["jsonrpc"], "2.0", "{what}: {msg}");
            assert_eq!(msg["error"]["code"], code, "{what}: {msg}");
            let m = msg["error"]["message"].as_str().unwrap();
            assert!(m.contains(text), "{what}: {m}");
        }
    }
    let wrong_type = read(
        http.post(&url)
            .header("authorization", &alice)
            .header("content-type", "text/plain")
            .header("accept", "application/json, text/event-stream")
            .body(INITIALIZE),
    )
    .await;
    assert_eq!(wrong_type.status, 415, "{}", wrong_type.body);
    assert!(api_calls(stack.emulator()).is_empty());
    stack.stop().await;
}

//! What an outsider can make the gateway hold, and who may talk to it at all: the
//! Host/Origin matrix (403 before any 401), a 100 MiB body (413, memory flat), a
//! slow-header client (dropped), the session cap (503), and a property test over the
//! router: arbitrary requests never panic and never get a 5xx.

use crate::auth_support;
use crate::common;

use std::time::{Duration, Instant};

use auth_support::*;
use common::{binary::Gateway, *};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use toolbridge_mcp::secret::Secret;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_origin_matrix() {
    let stack = Stack::start_with(emulator_config(), |c| {
        c.jwt_hs256_secret = Secret::new(JWT_SECRET);
        c.allowed_hosts = vec!["mcp.example.com".into()];
        c.allowed_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let port = stack.gateway.port();
    let local = format!("127.0.0.1:{port}");
    let good = format!("Bearer {}", token("alice"));
    // (Host, Origin, with a good token?, expected status)
    let matrix: Vec<(&str, Option<&str>, bool, u16)> = vec![
        (&local, None, true, 200),
        (&local, None, false, 401),
        ("localhost", Some("http://localhost:6274"), true, 200),
        ("[::1]:8001", Some("http://127.0.0.1:3000"), true, 200),
        (
            "mcp.example.com",
            Some("https://app.example.com"),
            true,
            200,
        ),
        ("MCP.EXAMPLE.COM:443", None, true, 200),
        (
            "mcp.example.com",
            Some("https://app.example.com"),
            false,
            401,
        ),
        ("evil.example", None, true, 403),
        ("evil.example", None, false, 403),
        ("localhost.evil.example", None, true, 403),
        ("127.0.0.2", None, true, 403),
        (&local, Some("https://evil.example"), true, 403),
        (&local, Some("https://evil.example"), false, 403),
        (
            &local,
            Some("https://app.example.com.evil.example"),
            true,
            403,
        ),
        (&local, Some("http://app.example.com"), true, 403),
        (&local, Some("null"), true, 403),
        (&local, Some("not an origin"), false, 403),
        ("mcp.example.com", Some("http://localhost:9999"), true, 200),
    ];
    let http = http();
    for (host, origin, with_token, want) in matrix {
        let mut headers = vec![("host", host)];
        if let Some(o) = origin {
            headers.push(("origin", o));
        }
        if with_token {
            headers.push(("authorization", good.as_str()));
        }
        let r = post_init(&http, &stack.mcp_url(), &headers).await;
        assert_eq!(
            r.status, want,
            "Host {host:?}, Origin {origin:?}, token {with_token}: {}",
            r.body
        );
    }
    assert!(api_calls(stack.emulator()).is_empty());
    stack.stop().await;
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Streams a 100 MiB POST to `/mcp` (declared with `Content-Length`, or chunked) while
/// reading the answer; returns the status line and how long it took to arrive.
async fn send_huge(port: u16, auth: &str, chunked: bool) -> (String, Duration) {
    const TOTAL: usize = 100 * 1024 * 1024;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let framing = if chunked {
        "transfer-encoding: chunked".to_owned()
    } else {
        format!("content-length: {TOTAL}")
    };
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nauthorization: {auth}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n{framing}\r\n\r\n"
    );
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let chunk = vec![b' '; 1024 * 1024];
        for _ in 0..TOTAL / chunk.len() {
            if chunked {
                wr.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
            }
            wr.write_all(&chunk).await?;
            if chunked {
                wr.write_all(b"\r\n").await?;
            }
        }
        std::io::Result::Ok(())
    });
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(20), rd.read(&mut buf))
        .await
        .expect("an answer within 20 s")
        .unwrap();
    let took = started.elapsed();
    writer.abort();
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    (text.lines().next().unwrap_or_default().to_owned(), took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_body_gets_413_quickly_and_memory_stays_flat() {
    let emu = api(emulator_config()).await;
    let gw = Gateway::start(
        &emu.base_url(),
        &[("TOOLBRIDGE_JWT_HS256_SECRET", JWT_SECRET)],
    );
    let pid = gw.child.id();
    let auth = format!("Bearer {}", token("alice"));
    // Warm up: a few ordinary requests, so the baseline includes the normal working set.
    let http = http();
    for _ in 0..5 {
        let r = post_init(&http, &gw.url(), &[("authorization", &auth)]).await;
        assert_eq!(r.status, 200);
    }
    let before = vm_rss_kib(pid);
    // Without a valid token nothing of the body is read at all: 401 at once.
    for chunked in [false, true] {
        let (status, _) = send_huge(gw.port, "Bearer not-a-token", chunked).await;
        assert!(status.contains(" 401 "), "{status}");
    }
    for chunked in [false, true].repeat(4) {
        let (status, took) = send_huge(gw.port, &auth, chunked).await;
        let rss = vm_rss_kib(pid);
        eprintln!(
            "100 MiB body ({}): {status:?} after {took:?}; gateway VmRSS {before} -> {rss} KiB",
            if chunked { "chunked" } else { "content-length" }
        );
        assert!(status.contains(" 413 "), "{status}");
        assert!(took < Duration::from_secs(5), "413 took {took:?}");
    }
    let grown = vm_rss_kib(pid).saturating_sub(before);
    // A declared length is refused before reading; a chunked body is read up to the 4 MiB
    // limit (by rmcp), and the allocator keeps some of that: measured plateaus are about
    // 10-14 MiB above the baseline, so anything near 100 MiB would fail this.
    assert!(grown < 16 * 1024, "VmRSS grew by {grown} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_header_client_is_dropped_within_the_timeout() {
    let stack = Stack::start_with(emulator_config(), |c| {
        c.header_read_timeout = std::time::Duration::from_secs(1)
    })
    .await;
    for (what, sent) in [
        ("half a request line", "POST /mcp HT"),
        ("nothing at all", ""),
        (
            "headers without the end",
            "GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n",
        ),
    ] {
        let mut s = tokio::net::TcpStream::connect(stack.gateway).await.unwrap();
        s.write_all(sent.as_bytes()).await.unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 1024];
        // The configured 1 s plus a generous margin.
        let read = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
        let took = started.elapsed();
        eprintln!("slow header ({what}): closed after {took:?}");
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => {}
            Ok(Ok(n)) => {
                // hyper may answer 408 before closing; then the socket must close next.
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                assert!(
                    text.starts_with("HTTP/1.1 408"),
                    "{what}: unexpected {text:?}"
                );
                assert!(matches!(s.read(&mut buf).await, Ok(0) | Err(_)));
            }
            Err(_) => panic!("{what}: still open after {took:?}"),
        }
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cap_answers_503() {
    let stack = Stack::start_with(emulator_config(), |c| {
        c.jwt_hs256_secret = Secret::new(JWT_SECRET);
        c.max_sessions = 2;
    })
    .await;
    let first = stack.client("alice").await;
    let second = stack.client("bob").await;
    let http = http();
    let auth = format!("Bearer {}", token("carol"));
    let r = post_init(&http, &stack.mcp_url(), &[("authorization", &auth)]).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("5"));
    // Open sessions keep working at the cap.
    assert_eq!(
        first.list_all_tools().await.unwrap().len(),
        toolbridge_mcp::mcp::catalog::tool_names(toolbridge_mcp::config::Generation::Seed).len()
    );
    ok(&second, "list_notes", json!({})).await;
    // An unauthenticated client is refused for its token, not told about the cap.
    assert_eq!(post_init(&http, &stack.mcp_url(), &[]).await.status, 401);
    let _ = first.cancel().await;
    let _ = second.cancel().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_a_client_waits_until_a_connection_closes() {
    let stack = Stack::start_with(emulator_config(), |c| c.max_connections = 2).await;
    let healthz = format!("http://{}/healthz", stack.gateway);
    // Two idle connections take both places (the header timeout is 10 s).
    let first = tokio::net::TcpStream::connect(stack.gateway).await.unwrap();
    let _second = tokio::net::TcpStream::connect(stack.gateway).await.unwrap();
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let refused = impatient.get(&healthz).send().await;
    assert!(
        refused.as_ref().is_err_and(reqwest::Error::is_timeout),
        "a third connection was served past a cap of 2: {refused:?}"
    );
    drop(first);
    let served = reqwest::get(&healthz)
        .await
        .expect("served once a place is free");
    assert_eq!(served.status(), 200);
    stack.stop().await;
}

#[path = "edge_bounds/fuzz.rs"]
mod fuzz;

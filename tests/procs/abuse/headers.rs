//! Items 6 and 7: headers that used to slip past the Host and Origin checks.

use toolbridge_mcp::secret::Secret;

use crate::common::{binary::free_port, mcp_http::*, *};

fn init_request(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut raw = String::from("POST /mcp HTTP/1.1\r\n");
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str(&format!(
        "content-type: application/json\r\naccept: application/json, text/event-stream\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{INITIALIZE}",
        INITIALIZE.len()
    ));
    raw.into_bytes()
}

/// Item 6. Two `Host` headers (in either order, even both allowed) are a 400 (RFC 9112
/// §3.2); two `Origin` headers a 403. Before, the first of each was checked and won.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_or_two_origins_are_refused() {
    let stack = Stack::start_with(emulator_config(), |c| {
        c.jwt_hs256_secret = Secret::new(JWT_SECRET);
    })
    .await;
    let auth = bearer("alice");
    let local = format!("127.0.0.1:{}", stack.gateway.port());
    let origin = "http://localhost:6274";
    let cases: Vec<(Vec<(&str, &str)>, u16)> = vec![
        (vec![("host", &local)], 200),
        (vec![("host", &local), ("origin", origin)], 200),
        (vec![("host", &local), ("host", "evil.example.com")], 400),
        (vec![("host", "evil.example.com"), ("host", &local)], 400),
        (vec![("host", &local), ("host", &local)], 400),
        (
            vec![
                ("host", &local),
                ("origin", origin),
                ("origin", "https://evil.example"),
            ],
            403,
        ),
        (
            vec![("host", &local), ("origin", origin), ("origin", origin)],
            403,
        ),
    ];
    for (mut headers, want) in cases {
        headers.push(("authorization", &auth));
        let answer = exchange(stack.gateway, &init_request(&headers)).await;
        assert_eq!(status_of(&answer), want, "{headers:?}: {answer}");
    }
    // /metrics too.
    let two = format!(
        "GET /metrics HTTP/1.1\r\nhost: {local}\r\nhost: evil.example.com\r\nconnection: close\r\n\r\n"
    );
    assert_eq!(
        status_of(&exchange(stack.gateway, two.as_bytes()).await),
        400
    );
    stack.stop().await;
}

/// Item 7. `/metrics` on the main port applies the `/mcp` Host and Origin rules (a foreign
/// page could read every counter through DNS rebinding); the separate metrics port, which
/// only the platform's scraper reaches, does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_the_main_port_check_the_host() {
    let metrics_port = free_port();
    let stack = Stack::start_with(emulator_config(), |c| c.metrics_port = Some(metrics_port)).await;
    let get = |addr: std::net::SocketAddr, host: &str, origin: Option<&str>| {
        let origin = origin
            .map(|o| format!("origin: {o}\r\n"))
            .unwrap_or_default();
        let raw =
            format!("GET /metrics HTTP/1.1\r\nhost: {host}\r\n{origin}connection: close\r\n\r\n");
        async move { exchange(addr, raw.as_bytes()).await }
    };
    let main = stack.gateway;
    let local = format!("127.0.0.1:{}", main.port());
    let answer = get(main, &local, None).await;
    assert_eq!(status_of(&answer), 200);
    assert!(answer.contains("toolbridge_build_info"));
    for (host, origin, want) in [
        ("evil.example.com", None, 403),
        ("localhost.evil.example.com", None, 403),
        (local.as_str(), Some("https://evil.example"), 403),
    ] {
        let answer = get(main, host, origin).await;
        assert_eq!(status_of(&answer), want, "{host} {origin:?}: {answer}");
        assert!(!answer.contains("toolbridge_"), "{answer}");
    }
    let scraper: std::net::SocketAddr = ([127, 0, 0, 1], metrics_port).into();
    // The metrics listener is bound a moment after the main one.
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(scraper).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let answer = get(scraper, "[fdaa::3]:9091", None).await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    stack.stop().await;
}

//! Flat resources, in-process: the gateway runs on a Tokio runtime of its own, so that
//! runtime's live-task count is the gateway's alone. Users make calls through faults and
//! API restarts; once the load and the faults stop (and the clients are gone), the
//! gateway's live tasks are back near where they were, and did not grow per call.
//! (RSS and open fds are measured per gateway process by the soak, `tests/procs/soak.rs`.)

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;
use toolbridge_mcp::emulator::{EmulatorConfig, Fault};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_live_tasks_return_to_where_they_were_after_faults_and_restarts() {
    let emu = api(EmulatorConfig {
        rate_limit: None,
        ..emulator_config()
    })
    .await;
    let mut config = gateway_config(&emu.base_url());
    config.request_timeout_seconds = 2.0;
    config.retry_budget_seconds = 6.0;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let gateway = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        toolbridge_mcp::run::serve_gateway(config, listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let tasks = runtime.handle().metrics();
    let url = format!("http://{gateway}/mcp");
    let client = |sub: String| {
        let url = url.clone();
        async move {
            use rmcp::{ServiceExt, transport::StreamableHttpClientTransport};
            let cfg = rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(url)
                .auth_header(token(&sub));
            ().serve(StreamableHttpClientTransport::from_config(cfg))
                .await
                .expect("client connects")
        }
    };
    // Warm up: a first call per user opens what stays open (the pool, the sessions cache).
    let warm = client("flat-warm".into()).await;
    ok(&warm, "list_notes", json!({})).await;
    warm.cancel().await.ok();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = tasks.num_alive_tasks();

    let faults = [
        Fault::ResetAfterRead { processed: true },
        Fault::CloseBeforeAnswer { processed: false },
        Fault::Stall { processed: false },
        Fault::ProxyError {
            status: 503,
            retry_after_secs: None,
        },
        Fault::TruncatedJson,
        Fault::SessionExpired,
    ];
    let mut calls = 0u64;
    for round in 0..3 {
        let users: Vec<_> = (0..8)
            .map(|u| {
                let client = client(format!("flat-{u}"));
                tokio::spawn(async move {
                    let client = client.await;
                    for i in 0..10 {
                        call(
                            &client,
                            "create_note",
                            json!({"title": format!("{i}"), "content": "c"}),
                        )
                        .await;
                        call(&client, "list_notes", json!({"limit": 5})).await;
                    }
                    client.cancel().await.ok();
                    20u64
                })
            })
            .collect();
        for f in &faults {
            emu.emulator.faults().push(f.clone());
        }
        emu.restart(Duration::from_millis(100 * (round + 1)))
            .await
            .unwrap();
        for u in users {
            calls += u.await.unwrap();
        }
    }
    emu.emulator.faults().clear();
    // Settle: the stalled request times out, closed sessions wind down.
    let mut after = tasks.num_alive_tasks();
    for _ in 0..100 {
        if after <= before + 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = tasks.num_alive_tasks();
    }
    println!(
        "gateway live tasks: {before} before, {after} after {calls} calls with faults and 3 API restarts"
    );
    assert!(
        after <= before + 8,
        "the gateway's live tasks grew from {before} to {after} over {calls} calls"
    );
    let _ = stop.send(());
    let _ = served.await;
    runtime.shutdown_background();
}

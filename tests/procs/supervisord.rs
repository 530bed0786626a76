//! `supervisord.conf` itself under a real supervisord (installed into `.venv` by `.ci/run`
//! from `tests/requirements.txt`), with the emulator (`toolbridge-mcp emulator`) as the API
//! program: both come up, tool calls go through, a killed gateway is restarted while the
//! API keeps running, SIGTERM stops the gateway before the API, and a gateway that cannot
//! start takes supervisord down with it.

use crate::common;
#[path = "../common/supervisor.rs"]
mod supervisor;

use std::time::{Duration, Instant};

use common::{Client, ok};
use rmcp::{
    ServiceExt,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::{Value, json};
use supervisor::{JWT_SECRET, Supervisor, TENANT_ENV, http_status, signal};
use toolbridge_mcp::emulator::mint_hs256;

/// Generous: supervisord and two programs on a busy CI machine.
const START: Duration = Duration::from_secs(60);

/// An rmcp client for the supervised gateway, with a token signed by the deployment's
/// JWT_HS256_SECRET (the one supervisord hands to both programs).
async fn connect(port: u16) -> Client {
    let token = mint_hs256(JWT_SECRET, "supervised-user", Duration::from_secs(3600));
    common::leaks::record([token.as_str()]);
    let config =
        StreamableHttpClientTransportConfig::with_uri(format!("http://127.0.0.1:{port}/mcp"))
            .auth_header(token);
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("an MCP client connects to the supervised gateway")
}

fn has_uid(listed: &Value, uid: &str) -> bool {
    listed["items"]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i["uid"] == json!(uid)))
}

#[test]
fn supervisord_restarts_a_killed_gateway_and_calls_work_again() {
    toolbridge_mcp::upstream::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sup = Supervisor::start(TENANT_ENV);
    let port = sup.gateway_port;

    // Both programs come up, and a tool call goes through the gateway to the emulator.
    let api_pid = sup.wait_running("api", None, START);
    let mcp_pid = sup.wait_running("mcp", None, START);
    sup.wait_http_ok("/readyz", START);
    let uid = rt.block_on(async {
        let client = connect(port).await;
        let created = ok(
            &client,
            "create_note",
            json!({"title": "before the kill", "content": "kept by the API"}),
        )
        .await;
        let uid = created["uid"].as_str().expect("create_note gives a uid");
        let got = ok(&client, "get_note", json!({"uid": uid})).await;
        assert_eq!(got["payload"]["title"], json!("before the kill"), "{got}");
        client.cancel().await.ok();
        uid.to_owned()
    });

    // Kill the gateway outright; supervisord must notice and start a new one.
    signal(mcp_pid, "KILL");
    let killed = Instant::now();
    let new_pid = sup.wait_running("mcp", Some(mcp_pid), START);
    sup.wait_http_ok("/healthz", START);
    println!(
        "gateway restarted by supervisord in {} ms (pid {mcp_pid} -> {new_pid}; \
         includes startsecs=2 before RUNNING)",
        killed.elapsed().as_millis()
    );
    let out = sup.output();
    assert!(
        out.contains("exited: mcp (terminated by SIGKILL"),
        "supervisord saw the gateway killed:\n{out}"
    );

    // Calls work again through the new gateway process, against the same API process
    // (the note created before the kill is still there).
    rt.block_on(async {
        let client = connect(port).await;
        let got = ok(&client, "get_note", json!({"uid": uid})).await;
        assert_eq!(got["uid"], json!(uid), "{got}");
        assert_eq!(got["payload"]["title"], json!("before the kill"), "{got}");
        let listed = ok(&client, "list_notes", json!({})).await;
        assert!(has_uid(&listed, &uid), "list_notes lacks {uid}: {listed}");
        client.cancel().await.ok();
    });
    assert_eq!(
        sup.state("api"),
        ("RUNNING".to_owned(), Some(api_pid)),
        "the API program was not restarted:\n{}",
        sup.output()
    );
}

#[test]
fn supervisord_runs_both_programs_and_stops_the_gateway_first() {
    let mut sup = Supervisor::start(TENANT_ENV);
    sup.wait_http_ok("/readyz", START);
    assert_eq!(
        http_status(sup.metrics_port, "/metrics"),
        Some(200),
        "the metrics port"
    );
    sup.terminate();
    let status = sup.wait_exit(Duration::from_secs(30));
    let out = sup.output();
    assert!(
        status.is_some_and(|s| s.success()),
        "supervisord did not exit cleanly:\n{out}"
    );
    let mcp = out.find("stopped: mcp (exit status 0)");
    let api = out.find("stopped: api");
    assert!(
        mcp.is_some() && api.is_some(),
        "both programs stop, the gateway with 0:\n{out}"
    );
    assert!(mcp < api, "the gateway stops before the API:\n{out}");
}

#[test]
fn supervisord_exits_when_the_gateway_cannot_start() {
    // No TOOLBRIDGE_TENANT_ID: the gateway exits at once, again and again, until FATAL.
    let mut sup = Supervisor::start(&TENANT_ENV[1..]);
    let status = sup.wait_exit(Duration::from_secs(60));
    let out = sup.output();
    assert!(
        status.is_some(),
        "supervisord kept running with a FATAL gateway:\n{out}"
    );
    assert!(
        out.contains("TOOLBRIDGE_TENANT_ID"),
        "the gateway names the missing variable:\n{out}"
    );
    assert!(out.contains("gave up: mcp entered FATAL state"), "{out}");
    assert!(out.contains("exit_on_fatal: a program went FATAL"), "{out}");
    assert!(
        out.contains("stopped: api"),
        "the API is stopped too:\n{out}"
    );
}

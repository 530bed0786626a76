//! `TOOLBRIDGE_TOOLS` on the real binary (issue 23): allow, deny and verb patterns over
//! streamable HTTP and over stdio; a call to a tool not offered is refused like an unknown
//! one and never reaches the API; a pattern that matches nothing stops the start, named;
//! `check` lists what is offered.

use crate::common;

use std::process::{Command, Stdio};

use common::{binary::*, *};
use rmcp::{
    ServiceExt,
    model::CallToolRequestParams,
    transport::{ConfigureCommandExt, TokioChildProcess},
};
use serde_json::json;

fn names(tools: &[rmcp::model::Tool]) -> Vec<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

/// A call to `tool` fails as an unknown tool does (a JSON-RPC error naming it), and the
/// API hears nothing of it.
async fn refused_like_unknown(
    client: &Client,
    emu: &toolbridge_mcp::emulator::Emulator,
    tool: &str,
) {
    emu.clear_requests();
    let uid = "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a";
    let args = json!({"uid": uid}).as_object().cloned().unwrap();
    let refused = client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args.clone()))
        .await
        .unwrap_err()
        .to_string();
    let unknown = client
        .call_tool(CallToolRequestParams::new("no_such_tool").with_arguments(args))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        refused.replace(tool, "TOOL"),
        unknown.replace("no_such_tool", "TOOL"),
        "refused differently from an unknown tool"
    );
    assert!(api_calls(emu).is_empty(), "{:?}", api_calls(emu));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chosen_tools_over_http() {
    let emu = api(emulator_config()).await;
    // Entities, a verb pattern, a denial and a tool name together.
    let gw = Gateway::start(
        &emu.base_url(),
        &[(
            "TOOLBRIDGE_TOOLS",
            "notes,tasks:get,*:list,-*:delete,-chat_messages,health_check",
        )],
    );
    let logs_at_start = gw.logs();
    let client = rmcp_client(&gw).await;
    let listed = names(&client.list_all_tools().await.unwrap());
    for want in [
        "health_check",
        "list_notes",
        "create_note",
        "get_task",
        "list_tasks",
        "list_chats",
        "edit_note_ui",
    ] {
        assert!(
            listed.contains(&want.to_owned()),
            "{want} missing: {listed:?}"
        );
    }
    for not in [
        "delete_note",
        "create_task",
        "get_chat",
        "list_chat_messages",
        "delete_task",
    ] {
        assert!(
            !listed.contains(&not.to_owned()),
            "{not} listed: {listed:?}"
        );
    }
    // Offered tools work.
    let created = ok(
        &client,
        "create_note",
        json!({"title": "t", "content": "c"}),
    )
    .await;
    assert!(created["uid"].is_string());
    refused_like_unknown(&client, &emu.emulator, "delete_note").await;
    refused_like_unknown(&client, &emu.emulator, "create_task").await;
    // The start-up log lists what is offered.
    let logs = gw.logs();
    assert!(
        logs.contains("offering the tools TOOLBRIDGE_TOOLS chose") && logs.contains("list_notes"),
        "{logs_at_start}"
    );
    client.cancel().await.unwrap();
}

async fn rmcp_client(gw: &Gateway) -> Client {
    use rmcp::transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    };
    let cfg = StreamableHttpClientTransportConfig::with_uri(gw.url()).auth_header(token("chooser"));
    ().serve(StreamableHttpClientTransport::from_config(cfg))
        .await
        .expect("client connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chosen_tools_over_stdio() {
    let emu = api(emulator_config()).await;
    let api = emu.base_url();
    let transport = TokioChildProcess::new(tokio::process::Command::new(BIN).configure(|cmd| {
        cmd.arg("stdio")
            .env_clear()
            .env("TOOLBRIDGE_TENANT_ID", TENANT)
            .env("TENANT_HEADER_SECRET", TENANT_SECRET)
            .env("TOOLBRIDGE_GO_API_BASE_URL", &api)
            .env("TOOLBRIDGE_TOKEN", token("stdio-chooser"))
            .env("TOOLBRIDGE_TOOLS", "*:list,*:get")
            .stderr(Stdio::null());
    }))
    .unwrap();
    let client = ().serve(transport).await.expect("stdio client connects");
    let listed = names(&client.list_all_tools().await.unwrap());
    assert_eq!(listed.len(), 10, "{listed:?}");
    assert!(
        listed
            .iter()
            .all(|n| n.starts_with("list_") || n.starts_with("get_")),
        "{listed:?}"
    );
    let page = ok(&client, "list_notes", json!({})).await;
    assert_eq!(page["hasMore"], json!(false));
    refused_like_unknown(&client, &emu.emulator, "create_note").await;
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_that_matches_nothing_stops_the_start_and_check_lists_the_tools() {
    let emu = api(emulator_config()).await;
    let api = emu.base_url();
    let out = tokio::task::spawn_blocking({
        let api = api.clone();
        move || {
            Command::new(BIN)
                .arg("serve")
                .env_clear()
                .env("TOOLBRIDGE_TENANT_ID", TENANT)
                .env("TOOLBRIDGE_GO_API_BASE_URL", &api)
                .env("TOOLBRIDGE_HOST", "127.0.0.1")
                .env("TOOLBRIDGE_PORT", free_port().to_string())
                .env("TOOLBRIDGE_TOOLS", "notes,*:remove")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TOOLBRIDGE_TOOLS") && stderr.contains("`*:remove` matches no tool"),
        "{stderr}"
    );

    let report = tokio::task::spawn_blocking(move || {
        let out = Command::new(BIN)
            .arg("check")
            .env_clear()
            .env("TOOLBRIDGE_TENANT_ID", TENANT)
            .env("TENANT_HEADER_SECRET", TENANT_SECRET)
            .env("TOOLBRIDGE_GO_API_BASE_URL", &api)
            .env("TOOLBRIDGE_TOKEN", token("ops"))
            .env("TOOLBRIDGE_TOOLS", "notes:get,health_check")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .await
    .unwrap();
    assert!(
        report.lines().any(|l| l.starts_with("[PASS] tools")
            && l.ends_with(
                "2 offered on seed (chosen by TOOLBRIDGE_TOOLS): health_check, get_note"
            )),
        "{report}"
    );
}

//! Interop with Node clients no one here wrote, against the real binary: the official
//! TypeScript SDK over streamable HTTP, the MCP Inspector CLI over streamable HTTP and over
//! `toolbridge-mcp stdio`, and `mcp-remote` bridging the SDK's stdio client to the HTTP
//! endpoint (the way Claude Desktop uses it).
//!
//! The clients are pinned in tests/interop/node/package.json (with its package-lock.json)
//! and installed by `npm ci` in that folder, which also brings Node 22 as the `node`
//! package; every script runs with that node, never with npx.

use crate::common;

use std::{path::PathBuf, time::Duration};

use common::{binary::*, *};
use serde_json::Value;

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Node 22, with every client these tests drive installed.
fn node() -> PathBuf {
    common::node::node(&[
        "@modelcontextprotocol/sdk/package.json",
        "@modelcontextprotocol/client/package.json",
        "@modelcontextprotocol/inspector/package.json",
        "mcp-remote/package.json",
    ])
}

fn run_node(script: &str, args: &[String], envs: &[(&str, String)]) -> Value {
    common::node::run(&node(), script, args, envs, SCRIPT_TIMEOUT)
}

/// How a script reaches the gateway.
#[derive(Clone, Copy)]
enum Route {
    /// `script MODE URL TOKEN` against a `toolbridge-mcp serve` child started with these
    /// extra settings.
    Http(&'static str, &'static [(&'static str, &'static str)]),
    /// `script stdio BINARY`, the gateway's settings and token in the environment.
    Stdio,
}

/// Runs a script against a fresh emulator (and gateway binary) as user `sub`, then checks
/// that the emulator saw the create and the delete, signed for the tenant and the user.
async fn drive(script: &'static str, route: Route, sub: &'static str) -> Value {
    node(); // fail early, naming the install command, when the clients are missing
    toolbridge_mcp::upstream::install_crypto_provider();
    let emu = toolbridge_mcp::emulator::Emulator::spawn(
        emulator_config(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let (gw, args, envs) = match route {
        Route::Http(mode, settings) => {
            let gw = Gateway::start(&emu.base_url(), settings);
            // mcp-remote gets the URL as the Claude Desktop set-up in docs/clients.md
            // writes it: http://localhost:PORT/mcp.
            let url = match mode {
                "mcp-remote" => gw.url().replace("127.0.0.1", "localhost"),
                _ => gw.url(),
            };
            let args = vec![mode.to_owned(), url, token(sub)];
            (Some(gw), args, vec![])
        }
        Route::Stdio => {
            let envs = vec![
                ("TOOLBRIDGE_TOKEN", token(sub)),
                ("TOOLBRIDGE_TENANT_ID", TENANT.to_owned()),
                ("TENANT_HEADER_SECRET", TENANT_SECRET.to_owned()),
                ("TOOLBRIDGE_GO_API_BASE_URL", emu.base_url()),
            ];
            (None, vec!["stdio".to_owned(), BIN.to_owned()], envs)
        }
    };
    let seen = tokio::task::spawn_blocking(move || run_node(script, &args, &envs))
        .await
        .unwrap();

    assert_eq!(seen["tools"], seed_tool_count(), "{seen}");
    let uid = seen["created"].as_str().expect("created uid");
    assert!(seen["deleted"].is_string(), "deletedAt: {seen}");
    let log = api_calls(&emu.emulator);
    let mine = |r: &&toolbridge_mcp::emulator::RecordedRequest| r.user.as_deref() == Some(sub);
    assert!(
        log.iter()
            .filter(mine)
            .any(|r| r.method == "POST" && r.path == "/v1/notes" && r.status == 201),
        "the emulator saw no create by {sub}: {log:#?}"
    );
    assert!(
        log.iter().filter(mine).any(|r| r.method == "DELETE"
            && r.path == format!("/v1/notes/{uid}")
            && r.status == 200),
        "the emulator saw no delete of {uid} by {sub}: {log:#?}"
    );
    assert!(
        log.iter().all(|r| r.tenant_valid),
        "every API call is signed for the tenant"
    );
    drop(gw);
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_over_streamable_http() {
    let seen = drive("sdk_client.mjs", Route::Http("http", &[]), "ts-sdk-user").await;
    assert_eq!(seen["server"], "toolbridge-mcp");
    assert_eq!(seen["session"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspector_cli_over_streamable_http() {
    let seen = drive(
        "inspector_cli.mjs",
        Route::Http("http", &[]),
        "inspector-user",
    )
    .await;
    assert!(seen["inspector"].is_string(), "{seen}");
    assert_eq!(seen["transport"], "http");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspector_cli_over_stdio() {
    let seen = drive("inspector_cli.mjs", Route::Stdio, "inspector-stdio-user").await;
    assert_eq!(seen["transport"], "stdio");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_remote_bridges_stdio_to_http() {
    let seen = drive(
        "sdk_client.mjs",
        Route::Http("mcp-remote", &[]),
        "mcp-remote-user",
    )
    .await;
    assert_eq!(seen["server"], "toolbridge-mcp");
    assert_eq!(seen["transport"], "stdio via mcp-remote");
    assert_eq!(seen["oauthFlow"], false);
}

/// The TypeScript SDK v2 client on protocol revision 2026-07-28: discover, tools/list (the
/// second listing served from its cache, as the list's `ttlMs` allows), create, delete; no
/// initialize and no session, whether or not the gateway keeps sessions for legacy clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_v2_client_on_2026_07_28() {
    for (settings, sub) in [
        (&[][..], "ts-v2-user"),
        (
            &[("TOOLBRIDGE_STATELESS", "true")][..],
            "ts-v2-stateless-user",
        ),
    ] {
        let seen = drive("sdk_v2_client.mjs", Route::Http("http", settings), sub).await;
        assert_eq!(seen["protocol"], "2026-07-28", "{seen}");
        assert_eq!(seen["server"], "toolbridge-mcp");
        assert_eq!(
            seen["toolsListRequests"], 1,
            "the cached list is reused: {seen}"
        );
        assert_eq!(
            seen["nonPost"],
            serde_json::json!([]),
            "no GET or DELETE: {seen}"
        );
        let methods = seen["methods"].as_array().unwrap();
        assert!(methods.iter().any(|m| m == "server/discover"), "{seen}");
    }
}

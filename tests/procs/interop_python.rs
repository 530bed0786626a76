//! Interop with a client no one here wrote: the official MCP Python SDK (`mcp` on PyPI,
//! installed into .venv by .ci/run) against the real binary: its 2025-11-25 session client
//! (which must close without a warning), its `Client` in the default auto mode, which speaks
//! 2026-07-28, and stdio.

use crate::common;

use std::process::Command;

use common::{binary::*, *};

/// Runs the script; the JSON line it printed, and what the SDK logged (warnings and up).
fn run_python(args: &[&str], envs: &[(&str, String)]) -> (serde_json::Value, String) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/python_sdk_client.py"
    );
    let mut cmd = Command::new(python());
    // The scripts check the listing against the catalog's count, not a number of their own.
    cmd.env("EXPECTED_TOOLS", common::seed_tool_count().to_string());
    cmd.arg(script).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .expect("python runs (run .ci/run to create .venv with the SDK)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python SDK client failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    let seen =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("one JSON line");
    (seen, stderr.into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_streamable_http() {
    let emu = api(emulator_config()).await;
    let gw = Gateway::start(&emu.base_url(), &[]);
    let url = gw.url();
    let (seen, logged) =
        tokio::task::spawn_blocking(move || run_python(&["http", &url, &token("py-user")], &[]))
            .await
            .unwrap();
    assert_eq!(seen["tools"], seed_tool_count());
    assert_eq!(seen["server"], "toolbridge-mcp");
    assert_eq!(seen["protocol"], "2025-11-25");
    // The SDK ends its session with DELETE and warns unless that answers 200 or 204.
    assert!(
        !logged.contains("Session termination failed") && !logged.contains("WARNING"),
        "the SDK logged: {logged}"
    );
    let uid = seen["created"].as_str().unwrap();
    let log = api_calls(&emu.emulator);
    assert!(
        log.iter()
            .any(|r| r.method == "POST" && r.path == "/v1/notes" && r.status == 201)
    );
    assert!(
        log.iter().any(|r| r.method == "DELETE"
            && r.path == format!("/v1/notes/{uid}")
            && r.status == 200)
    );
    assert!(log.iter().all(|r| r.tenant_valid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_stdio() {
    let emu = api(emulator_config()).await;
    let envs = vec![
        ("TOOLBRIDGE_TENANT_ID", TENANT.to_owned()),
        ("TENANT_HEADER_SECRET", TENANT_SECRET.to_owned()),
        ("TOOLBRIDGE_GO_API_BASE_URL", emu.base_url()),
        ("TOOLBRIDGE_TOKEN", token("stdio-user")),
        ("TOOLBRIDGE_LOG_LEVEL", "debug".to_owned()),
    ];
    let (seen, _) = tokio::task::spawn_blocking(move || run_python(&["stdio", BIN], &envs))
        .await
        .unwrap();
    assert_eq!(seen["tools"], seed_tool_count());
    let log = api_calls(&emu.emulator);
    assert!(
        log.iter()
            .any(|r| r.path == "/v1/notes" && r.user.as_deref() == Some("stdio-user"))
    );
}

/// `mcp.client.Client` in its default auto mode: it probes `server/discover`, speaks
/// 2026-07-28 (it falls back to initialize on anything else, so the version is asserted),
/// serves the second tools/list from its cache, and creates and deletes a note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_client_auto_mode_speaks_2026_07_28() {
    for stateless in ["false", "true"] {
        let emu = api(emulator_config()).await;
        let gw = Gateway::start(&emu.base_url(), &[("TOOLBRIDGE_STATELESS", stateless)]);
        let url = gw.url();
        let (seen, logged) = tokio::task::spawn_blocking(move || {
            run_python(&["modern", &url, &token("py-modern-user")], &[])
        })
        .await
        .unwrap();
        assert_eq!(seen["protocol"], "2026-07-28", "{seen}");
        assert_eq!(seen["tools"], common::seed_tool_count());
        assert_eq!(
            seen["toolsListRequests"], 1,
            "the cached list is reused: {seen}"
        );
        assert_eq!(seen["methods"][0], "server/discover");
        assert!(!logged.contains("WARNING"), "the SDK logged: {logged}");
        let uid = seen["created"].as_str().unwrap();
        let log = api_calls(&emu.emulator);
        let mine = |r: &&toolbridge_mcp::emulator::RecordedRequest| {
            r.user.as_deref() == Some("py-modern-user")
        };
        assert!(
            log.iter()
                .filter(mine)
                .any(|r| r.method == "POST" && r.path == "/v1/notes" && r.status == 201)
        );
        assert!(log.iter().filter(mine).any(|r| r.method == "DELETE"
            && r.path == format!("/v1/notes/{uid}")
            && r.status == 200));
        assert!(log.iter().all(|r| r.tenant_valid));
    }
}

//! Interop with a client no one here wrote: the official MCP Python SDK (`mcp` on PyPI,
//! installed into .venv by .ci/run) against the real binary.

mod common;

use std::process::Command;

use common::{binary::*, *};

fn run_python(args: &[&str], envs: &[(&str, String)]) -> serde_json::Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/python_sdk_client.py"
    );
    let mut cmd = Command::new(python());
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
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("one JSON line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_streamable_http() {
    let emu = api(emulator_config()).await;
    let gw = Gateway::start(&emu.base_url(), &[]);
    let url = gw.url();
    let seen =
        tokio::task::spawn_blocking(move || run_python(&["http", &url, &token("py-user")], &[]))
            .await
            .unwrap();
    assert_eq!(seen["tools"], seed_tool_count());
    assert_eq!(seen["server"], "toolbridge-mcp");
    let uid = seen["created"].as_str().unwrap();
    let log = emu.emulator.requests();
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
    let seen = tokio::task::spawn_blocking(move || run_python(&["stdio", BIN], &envs))
        .await
        .unwrap();
    assert_eq!(seen["tools"], seed_tool_count());
    let log = emu.emulator.requests();
    assert!(
        log.iter()
            .any(|r| r.path == "/v1/notes" && r.user.as_deref() == Some("stdio-user"))
    );
}

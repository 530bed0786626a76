//! The MCP Apps views in a real host: Debian's chromium (headless, driven by playwright-core)
//! runs a page with the extension's own host library (AppBridge + PostMessageTransport from
//! @modelcontextprotocol/ext-apps) around each view in a sandboxed iframe, and forwards the
//! view's tool calls to the real gateway binary (tests/interop/node/apps_host.mjs). This test
//! then reads the emulator's state: the click and the apply reached the API, and a conflict
//! wrote nothing.
//!
//! The screenshots of every view, light and dark, land in target/screenshots; with
//! TOOLBRIDGE_UPDATE_SCREENSHOTS=1 in docs/screenshots (the ones docs/clients.md shows).

use crate::common;

use std::{path::PathBuf, time::Duration};

use common::{binary::*, *};
use serde_json::Value;

const SUB: &str = "apps-user";

fn chromium() -> String {
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: install Debian's chromium (apt-get install chromium; .ci/run does) \
         or set CHROMIUM"
    );
    path
}

fn screenshot_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("TOOLBRIDGE_UPDATE_SCREENSHOTS").is_some() {
        root.join("docs/screenshots")
    } else {
        root.join("target/screenshots")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_in_a_real_host_act_through_the_gateway() {
    let node = common::node::node(&[
        "@modelcontextprotocol/client/package.json",
        "@modelcontextprotocol/ext-apps/package.json",
        "playwright-core/package.json",
        "esbuild/package.json",
    ]);
    let browser = chromium();
    let emu = api(current_emulator_config()).await;
    let gw = Gateway::start(&emu.base_url(), &[]);
    let shots = screenshot_dir();
    let args = vec![gw.url(), token(SUB), shots.to_string_lossy().into_owned()];
    let seen = tokio::task::spawn_blocking(move || {
        common::node::run(
            &node,
            "apps_host.mjs",
            &args,
            &[("CHROMIUM", browser)],
            Duration::from_secs(240),
        )
    })
    .await
    .unwrap();

    // The view's "Complete" click went view → host → gateway (tools/call) → API.
    assert!(
        seen["forwarded"]
            .as_array()
            .unwrap()
            .contains(&Value::from("process_task")),
        "{seen}"
    );
    let uid = seen["completed"].as_str().unwrap();
    let task = emu.emulator.item(SUB, "tasks", uid).unwrap();
    assert_eq!(task["payload"]["status"], "completed", "{task}");
    let log = api_calls(&emu.emulator);
    assert!(
        log.iter().any(|r| r.method == "POST"
            && r.path == format!("/v1/tasks/{uid}/process")
            && r.status == 200),
        "{log:#?}"
    );

    // The review: exactly the merged text, one version up, written once with If-Match.
    let reviewed = &seen["reviewed"];
    let uid = reviewed["uid"].as_str().unwrap();
    let note = emu.emulator.item(SUB, "notes", uid).unwrap();
    assert_eq!(note["payload"]["content"], reviewed["merged"], "{note}");
    assert_eq!(
        note["version"].as_i64(),
        reviewed["base_version"].as_i64().map(|v| v + 1)
    );
    let writes: Vec<_> = log
        .iter()
        .filter(|r| r.path == format!("/v1/notes/{uid}") && r.method == "PATCH")
        .collect();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].header("if-match"), Some("1"));

    // The conflict: the concurrent edit stands, the apply wrote nothing.
    let conflicted = &seen["conflicted"];
    let uid = conflicted["uid"].as_str().unwrap();
    let note = emu.emulator.item(SUB, "notes", uid).unwrap();
    assert_eq!(note["payload"]["content"], conflicted["content"]);
    assert_eq!(note["version"], conflicted["version"]);

    // Every view, light and dark.
    let shots: Vec<&str> = seen["screenshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for view in [
        "tasks",
        "task",
        "notes",
        "note",
        "note-edit",
        "note-edit-applied",
        "note-edit-conflict",
    ] {
        for theme in ["light", "dark"] {
            let file = format!("{view}-{theme}.png");
            let path = shots
                .iter()
                .find(|p| p.ends_with(&file))
                .unwrap_or_else(|| panic!("no {file}: {shots:?}"));
            let len = std::fs::metadata(path).unwrap().len();
            assert!(len > 5_000, "{path} is {len} bytes");
        }
    }
    drop(gw);
}

//! Items 8 and 9: what the gateway prints about configuration and user data.

use std::process::{Command, Stdio};

use serde_json::json;

use crate::common::{
    binary::{BIN, Gateway},
    mcp_http::*,
    *,
};

/// Item 8. An unterminated `tenant_header_secret = "...` line in the TOML file made the
/// binary print the line, secret and all. Now it names the key and the position only;
/// the same for a `.env` line that does not parse and a secret of the wrong type.
#[test]
fn configuration_errors_never_print_a_secret() {
    const VALUE: &str = "SECRET-tenant-value-9f8e7d6c5b4a";
    leaks::record([VALUE]);
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("gateway.toml");
    let files = [
        (
            "gateway.toml",
            format!("tenant_id = \"t\"\ntenant_header_secret = \"{VALUE}\nport = 8001\n"),
            vec!["line 2", "TOOLBRIDGE_TENANT_HEADER_SECRET"],
        ),
        (
            "gateway.toml",
            format!("tenant_id = \"t\"\njwt_hs256_secret = [\"{VALUE}\"]\n"),
            vec!["TOOLBRIDGE_JWT_HS256_SECRET", "expected a string"],
        ),
        (
            ".env",
            format!("TOOLBRIDGE_TENANT_ID=t\nTOOLBRIDGE_JWT_HS256_SECRET=\"{VALUE}\n"),
            vec!["TOOLBRIDGE_JWT_HS256_SECRET"],
        ),
    ];
    for (name, text, wanted) in files {
        let _ = std::fs::remove_file(dir.path().join(".env"));
        std::fs::write(dir.path().join(name), &text).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.current_dir(dir.path())
            .env_clear()
            .env("TOOLBRIDGE_TENANT_HEADER_SECRET", "from-the-environment")
            .arg("serve");
        if name.ends_with(".toml") {
            cmd.arg("--config").arg(&toml);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{name}: the gateway started with a broken configuration");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(
            !stderr.contains(VALUE) && !stderr.contains("9f8e7d6c"),
            "{stderr}"
        );
        for w in wanted {
            assert!(stderr.contains(w), "{w:?} missing from {stderr}");
        }
    }
}

/// Item 9. At `TOOLBRIDGE_LOG_LEVEL=debug` rmcp logged every tool argument and result
/// whole; its logger now stays at info unless the filter names it, so the gateway's own
/// debug lines come without the user's data. Naming it (`RUST_LOG=...,rmcp=debug`) is
/// the operator's explicit choice and still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_carry_no_argument_or_result() {
    let marker = format!("USER-DATA-{}", "x".repeat(4000));
    let emu = api(emulator_config()).await;
    let http = client();
    for (env, logged) in [
        (
            vec![("TOOLBRIDGE_LOG_LEVEL", "debug"), ("RUST_LOG", "")],
            false,
        ),
        (vec![("RUST_LOG", "debug")], false),
        (vec![("RUST_LOG", "debug,rmcp=debug")], true),
    ] {
        let mut extra = vec![("TOOLBRIDGE_JWT_HS256_SECRET", JWT_SECRET)];
        extra.extend(env.iter().copied());
        let gw = Gateway::start(&emu.base_url(), &extra);
        let auth = bearer("logged");
        let sid = open_session(&http, &gw.url(), &auth).await;
        let args = json!({"title": "t", "content": marker});
        let call = request(
            json!(2),
            "tools/call",
            json!({"name": "create_note", "arguments": args}),
        );
        let r = post(&http, &gw.url(), Some(&auth), Some(&sid), call).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body.contains("USER-DATA-"),
            "the note comes back: {}",
            r.body
        );
        let logs = gw.logs();
        assert!(logs.contains("DEBUG"), "{env:?}: no debug line at all");
        assert_eq!(logs.contains("USER-DATA-"), logged, "{env:?}");
    }
}

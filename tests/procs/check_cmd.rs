//! `toolbridge-mcp check` against the emulator: green with good settings; with a wrong
//! tenant secret, a wrong token or an unreachable API, the failing line names the cause.

use crate::common;

use std::process::Command;

use common::{binary::*, *};

/// Runs `check`; with `jwt_secret` the gateway is in `verify` mode.
fn check(api: &str, secret: &str, token: &str, jwt_secret: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new(BIN);
    cmd.env_clear();
    if let Some(s) = jwt_secret {
        cmd.env("JWT_HS256_SECRET", s);
    }
    let out = cmd
        .arg("check")
        .env("TOOLBRIDGE_TENANT_ID", TENANT)
        .env("TENANT_HEADER_SECRET", secret)
        .env("TOOLBRIDGE_GO_API_BASE_URL", api)
        .env("TOOLBRIDGE_TOKEN", token)
        .env("TOOLBRIDGE_CONNECT_TIMEOUT_SECONDS", "1")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn failing_line(report: &str) -> &str {
    report
        .lines()
        .find(|l| l.starts_with("[FAIL]"))
        .unwrap_or_else(|| panic!("no failing line:\n{report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_each_cause() {
    let emu = api(emulator_config()).await;
    let api = emu.base_url();
    let good = token("ops");

    let (ok, report) = tokio::task::spawn_blocking({
        let (api, good) = (api.clone(), good.clone());
        move || check(&api, TENANT_SECRET, &good, Some(JWT_SECRET))
    })
    .await
    .unwrap();
    assert!(ok, "{report}");
    assert_eq!(
        report.lines().filter(|l| l.starts_with("[PASS]")).count(),
        9,
        "{report}"
    );
    // The tools offered, all of them by default (issue 23).
    assert!(
        report.contains(&format!("{} offered on seed (all)", seed_tool_count())),
        "{report}"
    );
    assert!(
        !report.contains(TENANT_SECRET) && !report.contains(&good),
        "no secrets printed"
    );

    // (API, tenant secret, token, failing line, cause named, gateway JWT secret)
    type Case = (
        String,
        String,
        String,
        &'static str,
        &'static str,
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            api.clone(),
            "wrong-secret".into(),
            good.clone(),
            "tenant",
            "refused the tenant header",
            None,
        ),
        (
            api.clone(),
            TENANT_SECRET.into(),
            token_signed_by("not-the-jwt-secret"),
            "backend credential",
            "refused the token",
            None,
        ),
        (
            api.clone(),
            TENANT_SECRET.into(),
            token_signed_by("not-the-jwt-secret"),
            "token at the gateway",
            "would refuse it",
            Some(JWT_SECRET),
        ),
        (
            format!("http://127.0.0.1:{}", free_port()),
            TENANT_SECRET.into(),
            good.clone(),
            "API health",
            "unreachable",
            None,
        ),
    ];
    for (api, secret, tok, name, cause, jwt) in cases {
        let (ok, report) = tokio::task::spawn_blocking(move || check(&api, &secret, &tok, jwt))
            .await
            .unwrap();
        assert!(!ok, "{report}");
        let line = failing_line(&report);
        assert!(
            line.contains(name) && line.contains(cause),
            "{name}/{cause}: {line}"
        );
    }
    assert!(emu.emulator.sessions_opened() >= 1);
}

fn token_signed_by(secret: &str) -> String {
    toolbridge_mcp::emulator::mint_hs256(secret, "ops", std::time::Duration::from_secs(600))
}

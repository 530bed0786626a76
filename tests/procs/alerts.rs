//! The shipped alert rules and dashboard (`charts/toolbridge-mcp/files/`) against real
//! tools: `promtool check rules` and `promtool test rules` (a unit test per alert); every
//! metric a rule or a panel names is on a fresh gateway's `/metrics` before any call; and a
//! real Prometheus (Debian's `prometheus`) loading the rules file and scraping two gateways
//! sees the tenant-refusal alert firing for the one with a wrong tenant secret, and nothing
//! for the one with the right secret.

use crate::common;

use std::{
    collections::BTreeSet,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{binary::*, metrics::*, *};
use serde_json::{Value, json};

const FILES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/toolbridge-mcp/files");

fn rules_path() -> PathBuf {
    PathBuf::from(FILES).join("alerts.rules.yaml")
}

/// A Prometheus program: `$TOOLBRIDGE_<NAME>` or `/usr/bin/<name>` (Debian's `prometheus`
/// package, which `.ci/run` installs, brings both).
fn program(name: &str) -> PathBuf {
    let var = format!("TOOLBRIDGE_{}", name.to_uppercase());
    let path = std::env::var_os(&var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin").join(name));
    assert!(
        path.exists(),
        "{name} is missing at {}: `.ci/run` installs Debian's prometheus package \
         (apt-get install prometheus), or point {var} at one",
        path.display()
    );
    path
}

#[test]
fn promtool_checks_the_rules_and_runs_a_unit_test_per_alert() {
    let promtool = program("promtool");
    let check = Command::new(&promtool)
        .args(["check", "rules"])
        .arg(rules_path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{out}");
    let test = Command::new(&promtool)
        .args(["test", "rules", "alerts.test.yaml"])
        .current_dir(FILES)
        .output()
        .unwrap();
    let out =
        String::from_utf8_lossy(&test.stdout).into_owned() + &String::from_utf8_lossy(&test.stderr);
    assert!(test.status.success(), "{out}");
    // Every alert of the rules file has its test (fires for one instance, not the other).
    let tests = std::fs::read_to_string(PathBuf::from(FILES).join("alerts.test.yaml")).unwrap();
    for alert in alert_names() {
        assert!(
            tests.contains(&format!("alertname: {alert}\n        exp_alerts: []"))
                && tests.contains(&format!("alertname: {alert}\n        exp_alerts:\n")),
            "{alert} has no firing and silent case in alerts.test.yaml"
        );
    }
}

/// The `alert:` names of the rules file.
fn alert_names() -> Vec<String> {
    std::fs::read_to_string(rules_path())
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(str::to_owned)
        .collect()
}

/// Every PromQL expression of the rules file (`expr:`, one line or a `|` block) and of the
/// dashboard (`targets[].expr`).
fn expressions() -> Vec<String> {
    let rules = std::fs::read_to_string(rules_path()).unwrap();
    let mut exprs = Vec::new();
    let mut lines = rules.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        if rest.trim() == "|" {
            let mut block = String::new();
            while let Some(next) = lines.peek() {
                let next_indent = next.len() - next.trim_start().len();
                if !next.trim().is_empty() && next_indent <= indent {
                    break;
                }
                block.push_str(next.trim());
                block.push('\n');
                lines.next();
            }
            exprs.push(block);
        } else {
            exprs.push(rest.trim().to_owned());
        }
    }
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(PathBuf::from(FILES).join("grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut panels = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        panels += 1;
        for target in panel["targets"].as_array().unwrap() {
            exprs.push(target["expr"].as_str().unwrap().to_owned());
        }
    }
    assert!(panels >= 10, "{panels} panels");
    exprs
}

/// The metric names an expression selects (`toolbridge_…`), histogram suffixes kept.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(at) = expr[i..].find("toolbridge_") {
        let start = i + at;
        let before_ok =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = expr[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(expr.len(), |e| start + e);
        if before_ok {
            names.insert(expr[start..end].to_owned());
        }
        i = end;
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_a_rule_or_panel_uses_is_exported_from_start_up() {
    let emu = api(emulator_config()).await;
    let gw = Gateway::start(&emu.base_url(), &[]);
    // Before any call: the gateway's own start-up may have asked the API once, nothing more.
    let text = scrape(gw.port).await;
    let exported: BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let mut seen = BTreeSet::new();
    for expr in expressions() {
        let names = metric_names(&expr);
        assert!(!names.is_empty(), "no metric in {expr}");
        for name in names {
            assert!(
                exported.contains(name.as_str()),
                "{name} (used by `{expr}`) is not on a fresh gateway's /metrics:\n{text}"
            );
            seen.insert(name);
        }
    }
    // The rules' own metrics among them.
    for name in [
        "toolbridge_upstream_tenant_refused_total",
        "toolbridge_auth_failures_total",
        "toolbridge_upstream_retry_budget_exhausted_total",
        "toolbridge_readiness_checks_total",
        "toolbridge_tool_call_duration_seconds_bucket",
        "toolbridge_trace_spans_dropped_total",
        "toolbridge_upstream_request_duration_seconds_count",
    ] {
        assert!(seen.contains(name), "{name} not used by any rule or panel");
    }
}

/// A Prometheus on loopback, killed on drop.
struct Prometheus {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(targets: &[(&str, u16)]) -> Self {
        let bin = program("prometheus");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n",
            rules_path().display()
        );
        for (job, target) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
            ));
        }
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(bin)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        Self { child, port, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    async fn alerts(&self) -> Option<Vec<Value>> {
        let url = format!("http://127.0.0.1:{}/api/v1/alerts", self.port);
        let body: Value = reqwest::get(url).await.ok()?.json().await.ok()?;
        body["data"]["alerts"].as_array().cloned()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One tool call (its outcome does not matter: the refusals are what is counted).
async fn one_call(url: &str, bearer: &str) {
    let body = mcp_http::request(
        json!(1),
        "tools/call",
        json!({"name": "list_notes", "arguments": {"limit": 1}}),
    );
    let http = mcp_http::client();
    let sid = mcp_http::open_session(&http, url, bearer).await;
    let r = mcp_http::post(&http, url, Some(bearer), Some(&sid), body).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_fires_the_tenant_refusal_alert_for_a_wrong_secret_only() {
    let emu = api(emulator_config()).await;
    let wrong = Gateway::start(
        &emu.base_url(),
        &[(
            "TENANT_HEADER_SECRET",
            "not-the-api-tenant-secret-000000000",
        )],
    );
    let right = Gateway::start(&emu.base_url(), &[]);
    let prometheus = Prometheus::start(&[("wrong", wrong.port), ("right", right.port)]);
    let bearer = mcp_http::bearer("alerted-user");
    // The rule's `for:`, read from the file: the alert cannot fire before it.
    let rules = std::fs::read_to_string(rules_path()).unwrap();
    let block = &rules[rules
        .find("alert: ToolbridgeTenantCredentialsRefused")
        .unwrap()..];
    let for_line = block
        .lines()
        .find(|l| l.trim().starts_with("for:"))
        .unwrap();
    let hold: u64 = for_line
        .trim()
        .trim_start_matches("for:")
        .trim()
        .trim_end_matches('s')
        .parse()
        .expect("`for:` in seconds");
    let started = Instant::now();
    // Generous: the rule's hold plus three minutes for a loaded machine.
    let deadline = started + Duration::from_secs(hold + 180);
    let firing = loop {
        one_call(&wrong.url(), &bearer).await;
        one_call(&right.url(), &bearer).await;
        let alerts = prometheus.alerts().await.unwrap_or_default();
        let of = |job: &str, state: &str| {
            alerts.iter().any(|a| {
                a["labels"]["alertname"] == "ToolbridgeTenantCredentialsRefused"
                    && a["labels"]["job"] == job
                    && a["state"] == state
            })
        };
        assert!(
            !of("right", "pending") && !of("right", "firing"),
            "the right secret raised the alert: {alerts:?}"
        );
        if of("wrong", "firing") {
            break alerts;
        }
        assert!(
            Instant::now() < deadline,
            "not firing after {:?}: {alerts:?}\n{}",
            started.elapsed(),
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(started.elapsed() >= Duration::from_secs(hold));
    let alert = firing
        .iter()
        .find(|a| a["labels"]["job"] == "wrong")
        .unwrap();
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["labels"]["reason"], "signature", "{alert}");
    assert!(
        alert["annotations"]["description"]
            .as_str()
            .unwrap()
            .contains("TOOLBRIDGE_TENANT_HEADER_SECRET")
    );
    // The right gateway's counter is there (scraped, at zero): silence is not absence.
    let text = scrape(right.port).await;
    assert_eq!(
        samples(&text, "toolbridge_upstream_tenant_refused_total", &[]).sum::<f64>(),
        0.0
    );
}

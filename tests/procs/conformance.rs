//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
//! tests/interop/node/package.json: 0.1.16 stable and 0.2.0-alpha.12) runs every server
//! scenario against the real binary, stateful and stateless, over an API emulator:
//!
//! - stable `--suite all` (the 2025-06-18/2025-11-25 scenarios),
//! - alpha `--suite all` (every scenario, including drafts and extensions),
//! - alpha `--requirements 2026-07-28` (what that revision requires, each scenario at its
//!   own wire).
//!
//! tests/conformance/expected.toml names the scenarios and checks that need the suite's own
//! fixtures (the `test_*` tools, prompts, resources, tasks, elicitation) which a gateway
//! of 41 fixed ToolBridge tools cannot have, each with its reason. Every other check must
//! pass; a listed one that passes, or a listed entry no run exercises any more, fails the
//! test too, so the list never goes stale. A summary (per run: scenarios passed, excluded)
//! is printed, and written to target/conformance-summary.json.

use crate::common;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{binary, node::NODE_DIR, *};
use figment::{
    Figment,
    providers::{Format, Toml},
};
use serde::Deserialize;
use serde_json::{Value, json};

/// One suite invocation: its name, the npm alias it runs, and the arguments after `server`.
const RUNS: &[(&str, &str, &[&str])] = &[
    ("stable", "conformance", &["--suite", "all"]),
    ("alpha", "conformance-alpha", &["--suite", "all"]),
    (
        "alpha-2026-07-28",
        "conformance-alpha",
        &["--requirements", "2026-07-28"],
    ),
];
/// The gateway deployments every run is made against.
const MODES: &[(&str, &[(&str, &str)])] = &[
    ("stateful", &[]),
    ("stateless", &[("TOOLBRIDGE_STATELESS", "true")]),
];
/// A whole suite run takes a few seconds; this only catches a hang.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

/// An entry of tests/conformance/expected.toml.
#[derive(Debug, Deserialize)]
struct Expected {
    /// The scenario name, as `conformance list` prints it.
    scenario: String,
    /// The checks that may not pass; absent: every check of the scenario may fail (and at
    /// least one must, in every run that has the scenario).
    checks: Option<Vec<String>>,
    /// The deployments the entry applies to; absent: all.
    modes: Option<Vec<String>>,
    /// Why the check cannot pass against this gateway.
    reason: String,
}

#[derive(Debug, Deserialize)]
struct ExpectedFile {
    expect: Vec<Expected>,
}

impl Expected {
    fn applies(&self, mode: &str, scenario: &str) -> bool {
        self.scenario == scenario
            && self
                .modes
                .as_ref()
                .is_none_or(|m| m.iter().any(|x| x == mode))
    }

    /// The entry lets `check` fail.
    fn covers(&self, check: &str) -> bool {
        self.checks.is_none() || self.names(check)
    }

    /// The entry lists `check` by name.
    fn names(&self, check: &str) -> bool {
        self.checks
            .as_ref()
            .is_some_and(|c| c.iter().any(|x| x == check))
    }
}

/// A check's id and status (SUCCESS, FAILURE, WARNING, SKIPPED, INFO).
type Checks = Vec<(String, String)>;

fn failing(status: &str) -> bool {
    matches!(status, "FAILURE" | "WARNING")
}

/// Runs one suite against `url`: every scenario it ran, with its checks.
fn run_suite(alias: &str, args: &[&str], url: &str) -> BTreeMap<String, Checks> {
    let node = common::node::node(&[
        "conformance/dist/index.js",
        "conformance-alpha/dist/index.js",
    ]);
    let out_dir = tempfile::tempdir().unwrap();
    let stdout = tempfile::NamedTempFile::new().unwrap();
    let script = Path::new(NODE_DIR).join(format!("node_modules/{alias}/dist/index.js"));
    let mut child = Command::new(&node)
        .arg(&script)
        .args(["server", "--url", url])
        .args(args)
        .arg("--output-dir")
        .arg(out_dir.path())
        .current_dir(NODE_DIR)
        .stdin(Stdio::null())
        .stdout(stdout.reopen().unwrap())
        .stderr(stdout.reopen().unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", node.display()));
    let deadline = Instant::now() + RUN_TIMEOUT;
    // The suite exits non-zero whenever a check fails; the verdict is the checks.
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{alias} {args:?} still running after {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(stdout.path()).unwrap();
    // "=== Running scenario: NAME ===" is followed by "Results saved to DIR".
    let mut scenarios = BTreeMap::new();
    let mut current = None;
    for line in log.lines() {
        if let Some(name) = line
            .strip_prefix("=== Running scenario: ")
            .and_then(|l| l.strip_suffix(" ==="))
        {
            current = Some(name.to_owned());
        } else if let Some(dir) = line.strip_prefix("Results saved to ") {
            let name = current
                .take()
                .unwrap_or_else(|| panic!("{alias}: {line}\n{log}"));
            let file = Path::new(dir.trim()).join("checks.json");
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{alias}: {name}: {} ({e})\n{log}", file.display()));
            let checks: Vec<Value> = serde_json::from_str(&text).unwrap();
            let checks = checks
                .iter()
                .map(|c| {
                    (
                        c["id"].as_str().unwrap().to_owned(),
                        c["status"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            scenarios.insert(name, checks);
        }
    }
    assert!(
        scenarios.len() > 20,
        "{alias} {args:?} ran {} scenarios:\n{log}",
        scenarios.len()
    );
    scenarios
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_conformance_suite_passes_all_but_the_fixture_scenarios() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/expected.toml"
    );
    let expected: ExpectedFile = Figment::from(Toml::file_exact(path))
        .extract()
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    for e in &expected.expect {
        assert!(
            !e.reason.trim().is_empty(),
            "{}: an entry needs a reason",
            e.scenario
        );
    }

    let mut problems = Vec::new();
    let mut hit = vec![false; expected.expect.len()];
    let mut summary = Vec::new();
    for (mode, settings) in MODES {
        // The suite sends no token: the gateway takes requests without one (tool calls
        // without a token are refused before the API, which no scenario needs).
        let emu = api(emulator_config()).await;
        let gw = binary::Gateway::start(&emu.base_url(), settings);
        for (run, alias, args) in RUNS {
            let url = gw.url();
            let scenarios = tokio::task::spawn_blocking(move || run_suite(alias, args, &url))
                .await
                .unwrap();
            let (mut passed, mut excluded, mut inapplicable) =
                (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
            // Check results (one per probe) that passed, and that failed as listed.
            let (mut checks_passed, mut checks_excluded) = (0, 0);
            for (scenario, checks) in &scenarios {
                let entries: Vec<usize> = (0..expected.expect.len())
                    .filter(|&i| expected.expect[i].applies(mode, scenario))
                    .collect();
                // A check id may come several times (one per probe): its worst status counts.
                // (fails, passes): SKIPPED and INFO are neither.
                let mut worst: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
                for (check, status) in checks {
                    let w = worst.entry(check).or_default();
                    w.0 |= failing(status);
                    w.1 |= status == "SUCCESS";
                }
                checks_passed += checks.iter().filter(|(_, st)| st == "SUCCESS").count();
                let mut scenario_failed = false;
                for (check, (fails, passes)) in worst {
                    let listed = entries
                        .iter()
                        .copied()
                        .find(|&i| expected.expect[i].covers(check));
                    if fails {
                        match listed {
                            Some(i) => {
                                hit[i] = true;
                                scenario_failed = true;
                                checks_excluded += 1;
                            }
                            None => problems.push(format!(
                                "{mode}/{run}: {scenario}: {check} fails, and is not in expected.toml"
                            )),
                        }
                    } else if passes && entries.iter().any(|&i| expected.expect[i].names(check)) {
                        problems.push(format!(
                            "{mode}/{run}: {scenario}: {check} passes now: take it out of expected.toml"
                        ));
                    }
                }
                let wholesale = entries.iter().any(|&i| expected.expect[i].checks.is_none());
                if wholesale && !scenario_failed {
                    problems.push(format!(
                        "{mode}/{run}: {scenario} passes now: take it out of expected.toml"
                    ));
                }
                if scenario_failed {
                    excluded.insert(scenario.clone());
                } else if checks.iter().any(|(_, status)| status == "SUCCESS") {
                    passed.insert(scenario.clone());
                } else {
                    // Every check skipped: an extension the gateway does not offer.
                    inapplicable.insert(scenario.clone());
                }
            }
            println!(
                "{mode}/{run}: {} scenarios: {} passed, {} not applicable (all checks skipped), \
                 {} with fixture checks excluded; {checks_passed} check results passed, \
                 {checks_excluded} checks excluded",
                scenarios.len(),
                passed.len(),
                inapplicable.len(),
                excluded.len()
            );
            summary.push(json!({
                "mode": mode, "run": run, "alias": alias, "args": args,
                "passed": passed, "not_applicable": inapplicable, "excluded": excluded,
                "checks_passed": checks_passed, "checks_excluded": checks_excluded,
            }));
        }
        drop(gw);
    }
    for (i, e) in expected.expect.iter().enumerate() {
        if !hit[i] {
            problems.push(format!(
                "expected.toml: {} {:?} failed in no run: take it out",
                e.scenario,
                e.checks.as_deref().unwrap_or_default()
            ));
        }
    }
    let out = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/conformance-summary.json"
    );
    std::fs::write(out, serde_json::to_string_pretty(&summary).unwrap()).unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

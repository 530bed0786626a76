//! The Node clients of tests/interop/node (pinned in its package.json and package-lock.json,
//! installed by `npm ci` there, which also brings Node 22 as the `node` package).

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

/// The folder holding package.json and node_modules.
pub const NODE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/node");
const INSTALL: &str = "(cd tests/interop/node && npm ci)";

/// Node 22 from the `node` npm package, after checking that each of `needed` (paths under
/// node_modules) is installed; otherwise a failure that says how to install them.
pub fn node(needed: &[&str]) -> PathBuf {
    let modules = Path::new(NODE_DIR).join("node_modules");
    for path in std::iter::once("node/bin/node").chain(needed.iter().copied()) {
        let path = modules.join(path);
        assert!(
            path.exists(),
            "{} is missing: the Node clients are not installed. Run `{INSTALL}` \
             (.ci/run does) and test again.",
            path.display()
        );
    }
    modules.join("node/bin/node")
}

/// Runs `node tests/interop/node/<script> args...` with a throwaway HOME (the Inspector and
/// mcp-remote keep state there), and returns the one JSON line it prints.
pub fn run(
    node: &Path,
    script: &str,
    args: &[String],
    envs: &[(&str, String)],
    timeout: Duration,
) -> Value {
    let home = tempfile::tempdir().unwrap();
    let stdout = tempfile::NamedTempFile::new().unwrap();
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(node)
        .arg(Path::new(NODE_DIR).join(script))
        .args(args)
        .current_dir(NODE_DIR)
        .env("HOME", home.path())
        // The scripts check the listing against the catalog's count, not a number of their own.
        .env("EXPECTED_TOOLS", super::seed_tool_count().to_string())
        .env("MCP_REMOTE_CONFIG_DIR", home.path().join("mcp-auth"))
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(stdout.reopen().unwrap())
        .stderr(stderr.reopen().unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", node.display()));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{script} still running after {timeout:?}\nstderr: {}",
                std::fs::read_to_string(stderr.path()).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = std::fs::read_to_string(stdout.path()).unwrap();
    let err = std::fs::read_to_string(stderr.path()).unwrap();
    assert!(
        status.success(),
        "{script} {} failed ({status})\nstdout: {out}\nstderr: {err}",
        args.first().map(String::as_str).unwrap_or_default()
    );
    let last = out.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("{script}: not one JSON line ({e}): {out}"))
}

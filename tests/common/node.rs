//! The Node clients of tests/interop/node (pinned in its package.json and package-lock.json,
//! installed by `npm ci` there, which also brings Node 22 as the `node` package).

use std::path::{Path, PathBuf};

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

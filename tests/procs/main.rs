//! The integration suites that start processes: the gateway binary this build made
//! (`CARGO_BIN_EXE_toolbridge-mcp`), the Node and Python MCP clients, the official
//! conformance suite, supervisord, nginx, the benchmark's quick run. One test binary for
//! all of them; each suite is a module named as its file was, so
//! `cargo test --test procs interop_node` runs one suite.
//!
//! The suites that run the library in this process only are in `tests/inproc`.

#[path = "../auth_support/mod.rs"]
mod auth_support;
#[path = "../common/mod.rs"]
mod common;

mod abuse;
mod alerts;
mod apps;
mod bench_quick;
mod chart;
mod chart_dropin;
mod check_cmd;
mod conformance;
mod edge_bounds;
mod interop_node;
mod interop_python;
mod oauth_flow;
mod observability;
mod protocol_versions;
mod shutdown;
mod soak;
mod stateless_replicas;
mod supervisord;
mod tool_choice;
mod traces;

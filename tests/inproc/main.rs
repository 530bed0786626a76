//! The integration suites that run the library in this process: the emulator and the
//! gateway on real sockets (127.0.0.1:0), driven by rmcp's client and reqwest. One test
//! binary for all of them, so the harness (`tests/common`, `tests/auth_support`) and the
//! library are linked once; each suite is a module named as its file was, so
//! `cargo test --test inproc auth_jwks` runs one suite and
//! `cargo test --test inproc auth_jwks::a_hanging` one test.
//!
//! The suites that start processes (the gateway binary, Node, Python, supervisord, nginx)
//! are in `tests/procs`.

#[path = "../auth_support/mod.rs"]
mod auth_support;
#[path = "../common/mod.rs"]
mod common;

mod admission;
mod auth_jwks;
mod auth_routes;
mod auth_scopes;
mod auth_tokens;
mod deploy_files;
mod emulator_contract;
mod flat;
mod gateway_life;
mod resilience;
mod results_shape;
mod retries;
mod today_api;
mod upstream_limit;
mod upstream_wire;

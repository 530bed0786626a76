//! # toolbridge-mcp
//!
//! An MCP gateway in front of the ToolBridge REST API. LLM clients connect over streamable
//! HTTP (or stdio); every tool call becomes a signed, session-wrapped REST request to the API.
//!
//! ## Layout
//!
//! - [`config`]: defaults < TOML file < `.env` < `TOOLBRIDGE_*` environment, validated once.
//! - [`http`]: the axum side: router, edge layers, health, and the server loop.
//! - [`mcp`]: the tool catalog (entity × verb), argument decoding, handlers, the rmcp server.
//! - [`upstream`]: the pooled HTTP client, tenant signing, sync sessions, upstream errors.
//! - [`emulator`]: an in-process implementation of the API contract, for tests and `demo`.
//! - [`secret`]: the redacting type every secret lives in.
//!
//! Data flows one way: HTTP edge → MCP handler → upstream client → API. No layer reaches
//! back up; what a lower layer needs (the caller's token, the correlation id) travels down
//! as a value.

pub mod auth;
pub mod call;
pub mod config;
pub mod emulator;
pub mod http;
#[cfg(test)]
mod layout_tests;
pub mod mcp;
pub mod run;
pub mod secret;
pub mod telemetry;
pub mod upstream;

//! # toolbridge-mcp
//!
//! An MCP gateway in front of the ToolBridge REST API. LLM clients connect over streamable
//! HTTP (or stdio); every tool call becomes a signed, session-wrapped REST request to the API.
//!
//! ## Layout
//!
//! - [`config`]: defaults < TOML file < `.env` < `TOOLBRIDGE_*` environment, validated once.
//! - `call`: what one MCP request carries from the edge to the tool handler and the upstream
//!   chain (crate-private): above all the `Caller` the token check makes
//!   (`call/caller.rs`: its user key, scopes, `Authorization` value and credential key).
//! - [`http`]: the axum side: router, request span, edge layers, per-user shares, health,
//!   the server loop.
//! - [`auth`]: bearer tokens (HS256, RS256 from the issuer's JWKS), scopes.
//! - [`mcp`]: the catalog (the one home of an entity), typed arguments, handlers, the rmcp
//!   server, and the MCP Apps views (`ui://` resources) with the note edit review.
//! - [`upstream`]: the pooled API client and its chain: retry, slots, sync sessions, backend
//!   credential, tenant header; API generations; readiness.
//! - [`emulator`]: an in-process implementation of the API contract (both generations), for
//!   tests and `demo`.
//! - [`telemetry`]: logs, the metric names, and OpenTelemetry traces (`telemetry/otel.rs`:
//!   the `OTEL_*` set-up, the bounded export queue, W3C propagation, the client spans);
//!   [`secret`]: the redacting type of every secret.
//!
//! Data flows one way: HTTP edge → MCP handler → upstream client → API. No layer reaches
//! back up; what a lower layer needs travels down as a value: one `call::Caller`, made once
//! by the token check and borrowed by every stage after it, and the call's correlation id.
//!
//! The path of one tool call (`get_note` over streamable HTTP), socket to API, file by file:
//!
//! 1. `http/serve.rs`: the connection (header-read timeout, connection cap, graceful shutdown).
//! 2. `http/mod.rs`: the router; only `/mcp` has the edge (everything else is routed first: an
//!    unknown path is 404 without a token).
//! 3. `http/span.rs`: the request's trace span (method, matched route, status, latency), the
//!    parent of the `tool_call` span.
//! 4. `http/edge.rs` (`edge::mcp`): every check of `/mcp` as plain functions, in the order
//!    they run: Host/Origin (`edge/rebinding.rs`; rmcp's copy is off), the bearer token
//!    (`auth/mod.rs`'s `Verifier::caller` finds it among the tokens that passed a moment
//!    ago, `auth/token_cache.rs`, or else `auth/token.rs` reads and checks it, keys from
//!    `auth/jwks.rs`; either way the request gets a `call::Caller`, `call/caller.rs`: the user
//!    key, the scopes, the `Authorization` value for the API), the `MCP-Protocol-Version` header
//!    (`edge/version.rs`), a declared length over the limit, the caller's user's rate and
//!    share and the session's owner (`http/fair.rs`, `http/users.rs`, by `Caller::user`),
//!    then the body: read whole within the read deadline, scanned (`http/scan.rs`) and
//!    parsed once (`intake/message.rs`) into an `intake::Envelope` (`http/intake.rs`:
//!    method, id, tool name, `_meta` with its protocol version and trace context, length)
//!    that the later stages take as an argument: the duplicate id and the session
//!    reservation (`fair.rs`), the caller's scopes (`http/scope_check.rs`,
//!    `auth/scopes.rs`), a request slot (`http/admission.rs`), then the caller is moved into
//!    the request, and the disconnect watch (`http/disconnect.rs`, `call::ClientGone`) and
//!    the answer's deadline (`http/deadline.rs`) run around what answers it.
//! 5. An ordinary `tools/call` (2026-07-28, or in a legacy session) is answered at the edge:
//!    `http/direct.rs` parses its body (the bytes the edge read) straight into rmcp's call
//!    type once it has a slot, and hands it to the handler the way rmcp's service loop would
//!    (`http/mcp_sessions.rs`'s `Sessions::run`/`call`: a task of its own, the answer as
//!    rmcp frames it). Anything else (`initialize`, lists, notifications, any request the
//!    edge does not recognise as ordinary) goes to rmcp's `StreamableHttpService`, with this
//!    gateway's session manager (`http/mcp_sessions.rs`: an idle session holds only what
//!    `initialize` negotiated; each session request goes straight to the handler; a
//!    2026-07-28 request other than a tool call is served by rmcp's one-request service).
//!    Either way →
//!    `mcp/server.rs` (`Gateway::call_tool`):
//!    the caller borrowed from the request rmcp hands over (over stdio, the configured
//!    token's), the tool set of the API generation (`mcp/tools.rs`, built from `mcp/catalog.rs` +
//!    `catalog/rows.rs`; the operator's choice, `TOOLBRIDGE_TOOLS`, in `tools/choice.rs`), arguments decoded to typed `Args` (`mcp/fields.rs`,
//!    `fields/args.rs`).
//! 6. `mcp/handlers.rs`: the verb's REST request (`upstream::ApiRequest`), sent as an
//!    `upstream::Call` (the borrowed caller and the correlation id), its answer shaped
//!    for the model by `mcp/shape.rs` (compact items, list previews, the result bound: a
//!    page's text block is the one serialization it was measured by), as the tool result (the review's two
//!    tools: `mcp/edit.rs`, diff and merge in `mcp/review.rs`).
//! 7. `upstream/client.rs` (`Upstream::call`: the caller's `Authorization` value and its
//!    `call::CredentialKey` go on the request, with the marks of `upstream/marks.rs`), then
//!    its chain of layers: `retry.rs` (the retry rules: 429, 5xx, refused connections, lost
//!    answers; `docs/retries.md`), `slot.rs` (API requests in flight), `sync_sessions.rs`
//!    (sync session, `flight.rs` for the cache per credential key), `credential.rs`
//!    (passthrough or exchange), `tenant.rs` (signed, plain or resolved tenant header,
//!    `signing.rs`), then the client span and its `traceparent` (`telemetry/otel.rs`, traces
//!    on only), then reqwest to the API.
//! 8. `upstream/answer.rs` reads the answer; `mcp/results.rs` turns a failure into an
//!    `isError` result with advice; `telemetry/names.rs` names the metrics it records.
//!
//! Tests: unit tests beside the code (`cargo test --lib`); `tests/inproc/`, one binary for
//! the suites that run this library in-process; `tests/procs/`, one binary for those that
//! start processes (the gateway binary, Node, Python, supervisord, nginx); both share
//! `tests/common/` (see the README's "Layout").
//!
//! ## What the library exports, and why
//!
//! The crate is a library only so that the binary (`src/main.rs`), the integration tests
//! (`tests/`) and the benchmarks (`benches/`) can drive the same code. Its public surface
//! is exactly what those three use; everything else is `pub(crate)` or private, so the
//! compiler reports dead code (`cargo clippy --lib -- -W unreachable_pub` finds a `pub`
//! that nothing outside needs):
//!
//! - [`config`]: `Config` (all fields: tests build one with `..Config::default()`), its
//!   enums and `Issuer`, `Config::load`, `KEYS` and `OTHER_VARS` (the deployment-file
//!   checks).
//! - [`run`]: the subcommands `main.rs` dispatches (`serve_main`, `stdio_main`,
//!   `check_main`, `demo`, `emulator_main`, `token`), `serve_gateway` (tests serve the
//!   gateway in-process on their own listener) and `RunError`.
//! - [`http`]: `app` and `AppState::new` (the fuzz tests drive the router without a socket).
//! - [`emulator`]: `Emulator`, `EmulatorConfig` and what tests inspect or inject (recorded
//!   requests, faults, rate limits, organizations), the dev-token minters.
//! - [`auth`]: `AuthError` (tests match the refusal reasons) and `jwks::FETCH_TIMEOUT`;
//!   [`mcp`]: `catalog::tool_names` and `catalog::REVIEW_TOOLS` (tests count the listing); [`upstream`]: `install_crypto_provider` and `signing`
//!   (the bench signs tenant headers as the gateway does); [`secret`]: `Secret`;
//!   [`telemetry`]: `init`.
//!
//! `src/layout_tests.rs` checks the shape (no line cap: files are as long as reads well): no import circles between
//! files, and no lower layer (secret < config < telemetry < call < upstream < mcp < auth <
//! emulator < http < run) importing a higher one.

pub mod auth;
pub(crate) mod call;
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

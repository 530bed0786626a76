//! The axum side: the router ([`app`]), its edge layers, health endpoints, and the
//! server loop (`serve`) with header-read timeouts and graceful shutdown.

mod admission;
mod body;
mod challenge;
mod deadline;
mod direct;
mod disconnect;
mod edge;
mod fair;
mod health;
mod intake;
mod mcp_sessions;
pub(crate) mod scan;
mod scope_check;
mod serve;
mod span;
mod state;
mod users;
mod wellknown;

use axum::{Router, middleware::from_fn_with_state, routing::get};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

pub(crate) use serve::{ServeOptions, serve};
pub use state::{AppState, StartError};
pub(crate) use state::{MCP_PROTOCOL_VERSION, MCP_SESSION_ID};

fn mcp_config(state: &AppState) -> StreamableHttpServerConfig {
    let cfg = &state.config;
    // rmcp's own Host and Origin checks are off: `edge::mcp` applies the same lists, with
    // rmcp's matching rules (`edge/rebinding.rs`), before anything else, and rmcp serves
    // only the routes that edge wraps. Its body limit stays, set to ours, as a bound that
    // costs nothing: the edge has already read the body within that limit, so it never
    // refuses what the edge let through.
    StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .disable_allowed_origins()
        .with_max_request_body_bytes(cfg.max_body_bytes)
        .with_legacy_session_mode(!cfg.stateless)
        .with_json_response(cfg.stateless)
        .with_cancellation_token(state.mcp_cancel.child_token())
}

/// `/metrics` alone, for a separate metrics port (Fly's `[metrics]` block). No Host check
/// here: that port is for the platform's scraper, which names the machine by its address.
pub(crate) fn metrics_app() -> Router {
    Router::new().route("/metrics", get(health::metrics))
}

/// The whole HTTP surface: `/mcp`, `/healthz`, `/readyz`, `/metrics` (Host-checked like
/// `/mcp`), the RFC 9728 metadata, and a 404 for everything else.
///
/// Routing comes before authentication: the edge layers wrap the `/mcp` routes only
/// (`route_layer`), so an unknown path, or an authorization server's path a client tries on
/// the gateway, answers 404 and never asks for a token.
pub fn app(state: AppState) -> Router {
    let gateway = state.gateway.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(gateway.clone()),
        state.sessions.clone(),
        mcp_config(&state),
    );
    let wellknown = get(wellknown::protected_resource).options(wellknown::preflight);
    // Layers run outside in: the last added sees a request first.
    Router::new()
        // `/mcp/` too: clients configured with the trailing slash worked before.
        .route_service("/mcp", mcp.clone())
        .route_service("/mcp/", mcp)
        // Every check of `/mcp`, in the order it runs, is in this one layer (see `edge`).
        .route_layer(from_fn_with_state(state.clone(), edge::mcp))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(wellknown::ROOT_METADATA_PATH, wellknown.clone())
        .route(wellknown::METADATA_PATH, wellknown)
        // The same Host and Origin rules as /mcp: counters are not for a foreign page.
        .route(
            "/metrics",
            get(health::metrics).layer(from_fn_with_state(state.clone(), edge::same_site)),
        )
        .fallback(wellknown::not_found)
        // Outermost, on every route and the fallback (after routing, so the matched
        // pattern is known): the request's trace span.
        .layer(axum::middleware::from_fn(span::request))
        .with_state(state)
}

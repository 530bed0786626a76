//! The edge of `/mcp`, before any MCP processing: the session cap and the caller.
//! (Host/Origin checks and the body limit are enforced by rmcp's transport, configured in
//! [`super::mcp_config`].)

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};

use super::AppState;
use crate::{mcp::Caller, secret::Secret};

/// Header rmcp uses for the MCP session id.
const MCP_SESSION_ID: &str = "mcp-session-id";

/// Refuses new sessions past the cap and records the caller for the tool handlers.
pub(super) async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let opens_session = req.method() == http::Method::POST
        && !state.config.stateless
        && !req.headers().contains_key(MCP_SESSION_ID);
    if opens_session && state.session_count().await >= state.config.max_sessions {
        metrics::counter!("toolbridge_sessions_refused_total").increment(1);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "too many MCP sessions on this gateway; retry later",
        )
            .into_response();
    }
    if let Some(auth) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
    {
        let caller = Caller {
            authorization: Secret::new(auth),
        };
        req.extensions_mut().insert(caller);
    }
    next.run(req).await
}

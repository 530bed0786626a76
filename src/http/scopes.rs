//! The scope check of `/mcp`, after the edge has verified the token and read the body,
//! before the request waits for a slot (so before any upstream request): a `tools/call`
//! whose tool needs a scope the token lacks gets 403 `insufficient_scope` (see
//! `challenge`).
//!
//! The tool comes from the [`Envelope`] the intake read while scanning the body (one read,
//! no parse tree; batches are refused there), so the bytes rmcp gets are the ones checked.
//! A POST without an envelope is not JSON, and rmcp refuses it unread; with scopes
//! enforced it is refused here first, the same way, so no path around the check exists.
//!
//! With `TOOLBRIDGE_FILTER_TOOLS_BY_SCOPE`, it also puts a tool filter into the request, by
//! which the MCP server's `tools/list` leaves out the tools the token may not call.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{Method, StatusCode};

use super::{AppState, challenge, edge::rebinding, intake::Envelope};
use crate::auth::{Identity, scopes::Grant};

/// The middleware. Passes through untouched unless scopes are enforced, the request is a
/// POST, and it carries a verified identity (an anonymous caller, when tokens are
/// optional, reaches no API: its tool calls fail for want of a token).
pub(super) async fn check(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let policy = &state.scopes;
    if !policy.enforced() || req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(identity) = req.extensions().get::<Identity>().cloned() else {
        return next.run(req).await;
    };
    let Some(envelope) = req.extensions().get::<Envelope>() else {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type: Content-Type must be application/json",
        )
            .into_response();
    };
    if let Some(tool) = envelope.tool.as_deref()
        && let Some(needed) = policy.missing(&identity.scopes, tool)
    {
        let scope = policy.step_up(&identity.scopes, needed);
        // The edge already checked the Host; this only recovers it for the URL.
        return match rebinding::request_authority(req.uri(), req.headers()) {
            Ok(host) => challenge::insufficient_scope(&state, &host, tool, needed, &scope),
            Err(_) => (StatusCode::BAD_REQUEST, "missing or invalid Host header").into_response(),
        };
    }
    if policy.filters() {
        let grant = Grant::new(state.scopes.clone(), identity.scopes);
        req.extensions_mut().insert(grant.into_filter());
    }
    next.run(req).await
}

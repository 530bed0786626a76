//! The scope check of `/mcp` (a stage of `edge::mcp`), after the token was verified and the
//! body read,
//! before the request waits for a slot (so before any upstream request): a `tools/call`
//! whose tool needs a scope the token lacks gets 403 `insufficient_scope` (see
//! `challenge`).
//!
//! The tool comes from the [`Envelope`] the intake read while scanning the body (one read,
//! no parse tree; batches are refused there), so the bytes rmcp gets are the ones checked.
//! A POST without an envelope is not JSON, and rmcp refuses it unread; with scopes
//! enforced it is refused here first, the same way, so no path around the check exists.
//!
//! With `TOOLBRIDGE_FILTER_TOOLS_BY_SCOPE`, it also puts the tool filter (made once from the
//! policy) into the request, by which the MCP server's `tools/list` leaves out the tools the
//! request's caller may not call.

use axum::{
    extract::Request,
    response::{IntoResponse, Response},
};
use http::{Method, StatusCode};

use super::{AppState, challenge, edge::rebinding, intake::Envelope};
use crate::call::{Caller, ToolFilter};

/// The check. Passes (with no filter) unless scopes are enforced, the request is a POST,
/// and it has a caller (an anonymous request, when tokens are optional, reaches no API:
/// its tool calls fail for want of a token). `Ok(Some(filter))` is the tool filter for
/// rmcp's `tools/list`.
#[expect(
    clippy::result_large_err,
    reason = "the error is the refusal itself, built on a cold path"
)]
pub(super) fn check(
    state: &AppState,
    caller: Option<&Caller>,
    envelope: Option<&Envelope>,
    req: &Request,
) -> Result<Option<ToolFilter>, Response> {
    let policy = &state.scopes;
    if !policy.enforced() || req.method() != Method::POST {
        return Ok(None);
    }
    let Some(caller) = caller else {
        return Ok(None);
    };
    let Some(envelope) = envelope else {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type: Content-Type must be application/json",
        )
            .into_response());
    };
    if let Some(tool) = envelope.tool.as_deref()
        && let Some(needed) = policy.missing(caller.scopes(), tool)
    {
        let scope = policy.step_up(caller.scopes(), needed);
        // The edge already checked the Host; this only recovers it for the URL.
        return Err(
            match rebinding::request_authority(req.uri(), req.headers()) {
                Ok(host) => challenge::insufficient_scope(state, &host, tool, needed, &scope),
                Err(_) => {
                    (StatusCode::BAD_REQUEST, "missing or invalid Host header").into_response()
                }
            },
        );
    }
    if policy.filters() {
        return Ok(Some(state.tool_filter.clone()));
    }
    Ok(None)
}

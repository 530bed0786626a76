//! The `WWW-Authenticate` answers of `/mcp`: the 401 for a missing or bad token (RFC 6750
//! §3, pointing at the RFC 9728 metadata and naming the scopes to ask for) and the 403 for
//! a token without the scope a tool needs (RFC 6750 `insufficient_scope`, which MCP clients
//! answer by stepping up: signing in again for the named scopes).
//!
//! Every value put into a quoted parameter is a fixed text, a catalog tool name, a scope
//! token checked by `is_scope_token`, or a URL with quotes and backslashes removed.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header, uri::Authority};
use serde_json::json;

use super::{
    AppState,
    wellknown::{NO_SIGN_IN, Resource},
};
use crate::auth::{AuthError, scopes::is_scope_token};

/// The challenge's first parameters: where the metadata is, when there is any (without an
/// authorization server there is none, and a `realm` alone says "Bearer, bring your own").
fn start(state: &AppState, host: &Authority) -> String {
    if state.config.effective_authorization_servers().is_empty() {
        return r#"Bearer realm="toolbridge-mcp""#.to_owned();
    }
    let metadata = Resource::new(&state.config, host).metadata_url();
    format!(r#"Bearer resource_metadata="{}""#, quotable(&metadata))
}

fn scope_param(scopes: &[impl AsRef<str>]) -> String {
    let scopes: Vec<&str> = scopes
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| is_scope_token(s))
        .collect();
    if scopes.is_empty() {
        String::new()
    } else {
        format!(r#", scope="{}""#, scopes.join(" "))
    }
}

fn header_value(challenge: &str) -> HeaderValue {
    HeaderValue::from_str(challenge)
        .unwrap_or_else(|_| HeaderValue::from_static(r#"Bearer error="invalid_token""#))
}

/// A 401 with the RFC 6750 / RFC 9728 challenge. `error="invalid_token"` only when a
/// credential was offered; the description is one of [`AuthError`]'s fixed texts. Without
/// an authorization server, the body also says how to send a token by hand.
pub(super) fn unauthorized(state: &AppState, host: &Authority, e: &AuthError) -> Response {
    tracing::debug!(reason = e.reason(), "refused at the edge: 401");
    let mut challenge = start(state, host);
    challenge.push_str(&scope_param(state.scopes.advertised()));
    let code = if e.token_given() {
        challenge.push_str(&format!(
            r#", error="invalid_token", error_description="{}""#,
            e.description()
        ));
        "invalid_token"
    } else {
        "unauthorized"
    };
    let mut body = json!({ "error": code, "error_description": e.description() });
    if state.config.effective_authorization_servers().is_empty() {
        body["hint"] = json!(NO_SIGN_IN);
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, header_value(&challenge))],
        axum::Json(body),
    )
        .into_response()
}

/// A 403 `insufficient_scope`: `tool` needs `needed`; `scope` is what to ask for (the
/// token's advertised scopes plus the missing one, see `ScopePolicy::step_up`).
pub(super) fn insufficient_scope(
    state: &AppState,
    host: &Authority,
    tool: &str,
    needed: &str,
    scope: &[String],
) -> Response {
    metrics::counter!(crate::telemetry::names::EDGE_REFUSED, "reason" => "insufficient_scope")
        .increment(1);
    tracing::debug!(tool, needed, "refused at the edge: 403 insufficient_scope");
    let description = format!("{} needs the {} scope", quotable(tool), quotable(needed));
    let challenge = format!(
        r#"Bearer error="insufficient_scope"{}, {}, error_description="{description}""#,
        scope_param(scope),
        start(state, host).trim_start_matches("Bearer "),
    );
    let body = json!({
        "error": "insufficient_scope",
        "error_description": description,
        "scope": scope.join(" "),
    });
    (
        StatusCode::FORBIDDEN,
        [(header::WWW_AUTHENTICATE, header_value(&challenge))],
        axum::Json(body),
    )
        .into_response()
}

/// Drops the characters that would end or escape a quoted-string.
fn quotable(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

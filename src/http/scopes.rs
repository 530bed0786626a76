//! The scope check of `/mcp`, after the edge has verified the token and before any MCP
//! processing (so before any upstream request): a `tools/call` whose tool needs a scope the
//! token lacks gets 403 `insufficient_scope` (see `challenge`).
//!
//! It has to look into the body for the JSON-RPC `method` and `params.name`, so it reads
//! the body (bounded by `TOOLBRIDGE_MAX_BODY_BYTES`, like rmcp), peeks at those two fields
//! only, and hands the same bytes on unchanged. A batch is refused whole when any of its
//! calls needs a scope the token lacks. A body that is not JSON-RPC is refused here rather
//! than passed on: what this parser cannot read must not reach a parser that might read it
//! differently and run the call unchecked.
//!
//! With `TOOLBRIDGE_FILTER_TOOLS_BY_SCOPE`, it also puts a [`Grant`] into the request, by
//! which the MCP server's `tools/list` leaves out the tools the token may not call.

use std::borrow::Cow;

use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Deserialize;

use super::{AppState, challenge, edge::rebinding};
use crate::auth::{Identity, scopes::Grant};

/// One JSON-RPC message, as far as the scope check cares.
#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<Params<'a>>,
}

#[derive(Deserialize)]
struct Params<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

/// The tools a body calls (`tools/call`'s `params.name`), or `None` when it is not a
/// JSON-RPC message or batch.
fn called_tools(body: &[u8]) -> Option<Vec<String>> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    let messages: Vec<Message<'_>> = if *first == b'[' {
        serde_json::from_slice(body).ok()?
    } else {
        vec![serde_json::from_slice(body).ok()?]
    };
    Some(
        messages
            .into_iter()
            .filter(|m| m.method.as_deref() == Some("tools/call"))
            .map(|m| {
                // A call without a name is answered by rmcp with an error, without a tool
                // running; it needs no scope.
                m.params
                    .and_then(|p| p.name)
                    .map(Cow::into_owned)
                    .unwrap_or_default()
            })
            .collect(),
    )
}

/// The middleware. Passes through untouched unless scopes are enforced, the request is a
/// POST, and it carries a verified identity (an anonymous caller, when tokens are
/// optional, reaches no API: its tool calls fail for want of a token).
pub(super) async fn check(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let policy = &state.scopes;
    if !policy.enforced() || req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(identity) = req.extensions().get::<Identity>().cloned() else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    let bytes = match read(body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Some(tools) = called_tools(&bytes) else {
        metrics::counter!(crate::telemetry::names::EDGE_REFUSED, "reason" => "not_json_rpc")
            .increment(1);
        return (
            StatusCode::BAD_REQUEST,
            "the body is not a JSON-RPC message or batch",
        )
            .into_response();
    };
    for tool in &tools {
        if let Some(needed) = policy.missing(&identity.scopes, tool) {
            let scope = policy.step_up(&identity.scopes, needed);
            // The edge already checked the Host; this only recovers it for the URL.
            return match rebinding::request_authority(&parts.uri, &parts.headers) {
                Ok(host) => challenge::insufficient_scope(&state, &host, tool, needed, &scope),
                Err(_) => {
                    (StatusCode::BAD_REQUEST, "missing or invalid Host header").into_response()
                }
            };
        }
    }
    if policy.filters() {
        parts
            .extensions
            .insert(Grant::new(state.scopes.clone(), identity.scopes.clone()).into_filter());
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The whole body, or the answer for one that is too large or broken off.
async fn read(body: Body, limit: usize) -> Result<Bytes, Response> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {limit} bytes"),
        )
            .into_response()),
        Err(_) => Err((
            StatusCode::BAD_REQUEST,
            "the request body could not be read",
        )
            .into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_called_tools_in_messages_and_batches() {
        let call = |name: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}","arguments":{{}}}}}}"#
            )
        };
        assert_eq!(
            called_tools(call("create_note").as_bytes()),
            Some(vec!["create_note".into()])
        );
        let batch = format!(
            r#" [{}, {{"jsonrpc":"2.0","method":"notifications/initialized"}}, {}]"#,
            call("list_notes"),
            call("delete_task")
        );
        assert_eq!(
            called_tools(batch.as_bytes()),
            Some(vec!["list_notes".into(), "delete_task".into()])
        );
        // Escapes are decoded, as rmcp decodes them.
        assert_eq!(
            called_tools(br#"{"method":"tools/call","params":{"name":"create\u005fnote"}}"#),
            Some(vec!["create_note".into()])
        );
        assert_eq!(called_tools(br#"{"method":"tools/list"}"#), Some(vec![]));
        assert_eq!(
            called_tools(br#"{"jsonrpc":"2.0","id":3,"result":{}}"#),
            Some(vec![])
        );
        // What cannot be read is refused, not passed on.
        for bad in [
            &b""[..],
            b"not json",
            br#"{"method":"tools/call","params":{"name":"a","name":"b"}}"#,
            br#"{"method":5}"#,
            br#"{"method":"tools/call","params":{"name":7}}"#,
            b"[1, 2]",
        ] {
            assert_eq!(called_tools(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}

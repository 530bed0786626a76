//! Failures become `isError` tool results a model can act on: what happened (keeping the
//! API's own words) and what to do next. Never the API's URL, never a token.

use http::StatusCode;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

use super::{
    catalog::{Entity, Verb},
    handlers::ToolError,
};
use crate::upstream::UpstreamError;

/// An `isError` result with one text block.
pub fn error_result(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// The message for a failed entity tool call.
pub fn describe(err: &ToolError, target: Option<(&Entity, Verb)>, correlation_id: &str) -> String {
    let what = target.map_or("the call".to_owned(), |(e, v)| e.tool_name(v));
    let advice = match err {
        ToolError::Invalid(msg) => {
            return format!("Invalid arguments for {what}: {msg}. The API was not called.");
        }
        ToolError::Upstream(UpstreamError::NoToken) => {
            return "This tool needs the caller's identity: the MCP client must send an \
                    `Authorization: Bearer <token>` header (or set TOOLBRIDGE_TOKEN for stdio). \
                    The API was not called."
                .to_owned();
        }
        ToolError::Upstream(u) => advice(u, target),
    };
    format!("{what} failed: {err}. {advice} (correlation id {correlation_id})")
}

fn label(target: Option<(&Entity, Verb)>) -> (&str, String) {
    match target {
        Some((e, _)) => (e.label, e.singular.to_owned()),
        None => ("item", "item".to_owned()),
    }
}

fn advice(err: &UpstreamError, target: Option<(&Entity, Verb)>) -> String {
    let (label, singular) = label(target);
    let verb = target.map(|(_, v)| v);
    match err {
        UpstreamError::Unreachable => "The gateway keeps serving; try again shortly, and tell the operator if it persists.".into(),
        UpstreamError::Timeout(_) => "It may still have been applied: read the item before retrying a change.".into(),
        UpstreamError::Broken => "The answer was cut off; read the item to see whether the change was applied.".into(),
        UpstreamError::Busy { .. } => "Nothing was sent to the API; retry in a few seconds.".into(),
        UpstreamError::TooLarge { .. } => "Ask for less, e.g. a smaller limit.".into(),
        UpstreamError::NotJson { .. } => "This usually means a proxy or the API is failing; try again shortly.".into(),
        UpstreamError::NoToken | UpstreamError::Other(_) => "Try again; tell the operator if it persists.".into(),
        UpstreamError::Status { status, message, body, retry_after } => match *status {
            StatusCode::BAD_REQUEST => "Check the arguments against the tool's schema.".into(),
            StatusCode::UNAUTHORIZED if message.contains("tenant") => {
                "The gateway's tenant signature was refused: a deployment problem (tenant id, \
                 TENANT_HEADER_SECRET or the clock). Tell the operator; retrying will not help."
                    .into()
            }
            // The edge accepted this token, so signing in again would bring another one the
            // API refuses just the same: the two are configured differently.
            StatusCode::UNAUTHORIZED => "The API refused the caller's token although the gateway accepted it: the gateway \
                 and the API disagree about tokens (issuer, audience or signing keys), or the API needs its own token and \
                 TOOLBRIDGE_BACKEND_AUTH=exchange is not enabled. This is a deployment problem: tell the operator; signing \
                 in again will not help. (In passthrough mode the gateway checks no signature or expiry, so the token \
                 itself may also be bad.)"
                .into(),
            StatusCode::FORBIDDEN => "The token's user may not do this.".into(),
            StatusCode::NOT_FOUND => format!("Check the uid; list_{singular}s shows the {label}s that exist."),
            StatusCode::GONE => {
                let when = body.as_ref().and_then(|b| b.get("deletedAt")).and_then(Value::as_str);
                format!(
                    "The {label} was deleted{}; it cannot be changed. get_{singular} with include_deleted=true still reads it.",
                    when.map(|w| format!(" at {w}")).unwrap_or_default()
                )
            }
            StatusCode::PRECONDITION_FAILED => format!(
                "The {label} changed since the version you gave in if_match: call get_{singular} for its current \
                 version and content, then retry with that if_match."
            ),
            StatusCode::CONFLICT if message.contains("epoch") => {
                "The account's sync epoch changed again (it was reset) and the retry with the new epoch also \
                 failed. Try again in a moment."
                    .into()
            }
            StatusCode::CONFLICT => format!("A conflicting change happened: get_{singular} and retry."),
            StatusCode::PRECONDITION_REQUIRED => "The sync session expired twice in a row; try again.".into(),
            StatusCode::TOO_MANY_REQUESTS => match retry_after {
                Some(s) => format!("Rate limited: wait {s} seconds before retrying."),
                None => "Rate limited: wait a few seconds before retrying.".into(),
            },
            s if s.is_server_error() => match (target.map(|(e, _)| e.singular), verb) {
                (Some("comment"), Some(Verb::Create | Verb::Update | Verb::Patch | Verb::Archive | Verb::Process)) => {
                    "The API refuses a comment whose parent (parent_type + parent_uid) is missing or deleted: \
                     check that the parent note or task exists."
                        .into()
                }
                (Some("chat_message"), Some(Verb::Create | Verb::Update | Verb::Patch | Verb::Archive | Verb::Process)) => {
                    "The API refuses a chat message whose chat (chat_uid) is missing or deleted: check that the chat exists."
                        .into()
                }
                _ => "The API failed; try again shortly.".into(),
            },
            _ => "Try again; tell the operator if it persists.".into(),
        },
    }
}

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

/// What a refused tenant header means and whom it concerns (contract §2 and §7.1).
const TENANT_REFUSED: &str = "The API did not accept this deployment's tenant for this user: the \
    gateway's tenant is not configured, not allowed for this user (not a member of that \
    organization), or its signature is off. This is for the operator, not the user: check \
    TOOLBRIDGE_TENANT_ID, TOOLBRIDGE_TENANT_MODE (`resolve` picks each user's organization), \
    TOOLBRIDGE_TENANT_HEADER_SECRET and the clocks, or run `toolbridge-mcp check`. Retrying will not help.";

/// An `isError` result with one text block.
pub(crate) fn error_result(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// The message for a failed call of tool `what`; `target` is the entity and verb its
/// advice is about.
pub(crate) fn describe(
    err: &ToolError,
    what: &str,
    target: Option<(&Entity, Verb)>,
    correlation_id: &str,
) -> String {
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
        ToolError::Unsure { uid, err: u } => unknown_outcome(u, uid, target),
    };
    format!("{what} failed: {err}. {advice} (correlation id {correlation_id})")
}

/// A write whose answer was lost: it may or may not have happened. Names the item and how
/// to find out, and how to repeat it safely.
fn unknown_outcome(err: &UpstreamError, uid: &str, target: Option<(&Entity, Verb)>) -> String {
    let (label, singular, verb) = match target {
        Some((e, verb)) => (e.label, e.singular, verb),
        None => ("item", "item", Verb::Patch),
    };
    let why = match err {
        UpstreamError::Timeout => "no answer came in time",
        UpstreamError::Repeated { .. } => {
            "the first attempt's answer was a proxy error and the repeat was refused as if the first had applied"
        }
        UpstreamError::Status { .. } => {
            "the answer came from a proxy in front of the API, not from the API"
        }
        _ => "the connection broke before the answer was complete",
    };
    let done = match verb {
        Verb::Create => "created",
        Verb::Delete => "deleted",
        Verb::Archive => "archived",
        Verb::Process => "changed by the action",
        _ => "changed",
    };
    let check = format!("get_{singular} {{\"uid\": \"{uid}\", \"include_deleted\": true}}");
    let retry = match verb {
        Verb::Create => format!(
            "If it is not there, call create_{singular} again with \"uid\": \"{uid}\" and the same fields: \
             that writes this same {label}, never a second one."
        ),
        Verb::Delete => format!("If it is not deleted (no deletedAt), call delete_{singular} again."),
        _ => "If the change is not there, the same call is safe to repeat (read the version first when you \
              pass if_match)."
            .to_owned(),
    };
    format!(
        "The outcome is unknown: {why}, so the {label} {uid} may or may not have been {done}. \
         Check with {check} before trying again. {retry}"
    )
}

fn advice(err: &UpstreamError, target: Option<(&Entity, Verb)>) -> String {
    let (label, singular, list) = match target {
        Some((e, _)) => (e.label, e.singular, e.tool_name(Verb::List)),
        None => ("item", "item", "the list_ tool".to_owned()),
    };
    if err.is_tenant_refusal() {
        return TENANT_REFUSED.into();
    }
    match err {
        UpstreamError::Unreachable => "The gateway keeps serving; try again shortly, and tell the operator if it persists.".into(),
        UpstreamError::Timeout => "It may still have been applied: read the item before retrying a change.".into(),
        UpstreamError::Broken => "The answer was cut off; read the item to see whether the change was applied.".into(),
        UpstreamError::Busy { .. } => "Nothing was sent to the API; retry in a few seconds.".into(),
        UpstreamError::TooLarge { .. } => "Ask for less, e.g. a smaller limit.".into(),
        UpstreamError::Repeated { .. } => "Read the item to see whether the change was applied.".into(),
        UpstreamError::NotJson { .. } => "This usually means a proxy or the API is failing; try again shortly.".into(),
        UpstreamError::NoToken | UpstreamError::Other(_) => "Try again; tell the operator if it persists.".into(),
        UpstreamError::RetryBudget { retry_after, .. } => format!("Nothing was changed; wait {retry_after} seconds before retrying."),
        UpstreamError::TenantSelection { .. } => "This gateway serves one organization per user. The operator can pin one \
            (TOOLBRIDGE_TENANT_MODE=plain with TOOLBRIDGE_TENANT_ID set to the organization's id, one gateway per \
            organization), or the user can leave the organizations this assistant should not use. Retrying will not help."
            .into(),
        UpstreamError::NoTenant(_) => "Tell the operator: set TOOLBRIDGE_TENANT_ID as the fallback tenant, or configure \
            the API's organization service. Retrying will not help."
            .into(),
        UpstreamError::Exchange { .. } => "This is a configuration problem between the gateway and the token service \
            (exchange not enabled, client credentials, audience or issuer): tell the operator; signing in again will not help."
            .into(),
        UpstreamError::Status { status, message, body, retry_after } => match *status {
            StatusCode::BAD_REQUEST => "Check the arguments against the tool's schema.".into(),
            // The edge accepted this token, so signing in again would bring another one the
            // API refuses just the same: the two are configured differently.
            StatusCode::UNAUTHORIZED => "The API refused the caller's token although the gateway accepted it: the gateway \
                 and the API disagree about tokens (issuer, audience or signing keys), or the API needs its own token and \
                 TOOLBRIDGE_BACKEND_AUTH=exchange is not enabled. This is a deployment problem: tell the operator; signing \
                 in again will not help. (In passthrough mode the gateway checks no signature or expiry, so the token \
                 itself may also be bad.)"
                .into(),
            StatusCode::FORBIDDEN => "The token's user may not do this.".into(),
            StatusCode::NOT_FOUND => format!("Check the uid; {list} shows the ones that exist."),
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
            s if s.is_server_error() => match target {
                // Every write but DELETE re-checks the link fields (contract §4).
                Some((e, verb)) if !e.links.is_empty() && !matches!(verb, Verb::List | Verb::Get | Verb::Delete) => format!(
                    "The API refuses a {label} whose {} is missing or deleted: check that it exists.",
                    e.link_target
                ),
                _ => "The API failed; try again shortly.".into(),
            },
            _ => "Try again; tell the operator if it persists.".into(),
        },
    }
}

//! The per-user stages of `/mcp` (run by `edge::mcp`, between the token check and the
//! scope check), as plain functions:
//!
//! - [`share`]: the user's rate ([`Users::spend`], 429) and their share of requests in
//!   progress ([`Users::begin`]: a request past it waits for one of the same user's to
//!   finish, up to the request timeout, holding only its connection; then 429); a slow or
//!   oversized body then holds the user's share and its connection, never a slot;
//! - [`session`]: the session, if the request names one, must be the user's own (else
//!   404, exactly as if it did not exist);
//! - [`claim_id`]: a request id already in flight in the session is refused at once (400,
//!   JSON-RPC error), since rmcp would route both answers to one stream and leave the
//!   other open;
//! - [`reserve`]: an `initialize` gets a place for its session, closing the user's oldest
//!   idle one when they are at their limit.
//!
//! [`not_jsonrpc`] turns rmcp's 415 for JSON it cannot read as a JSON-RPC message into a
//! 400 with a JSON-RPC error (the media type was right; the content not).

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use rmcp::{model::RequestId, transport::streamable_http_server::session::SessionManager};

use super::{
    AppState, MCP_SESSION_ID,
    intake::{self, Envelope},
    users::{self, IdInFlight, InSession, Limited, NotFound, Reservation, Ticket},
};
use crate::call::UserKey;

/// The user's rate, then (for a POST) their share of requests in progress.
pub(super) async fn share(
    state: &AppState,
    user: UserKey,
    post: bool,
) -> Result<Option<Ticket>, Response> {
    let users = &state.users;
    users.spend(user).map_err(|l| limited(user, l))?;
    if !post {
        return Ok(None);
    }
    match users.begin(user, state.config.request_timeout).await {
        Ok(t) => Ok(Some(t)),
        Err(l) => Err(limited(user, l)),
    }
}

/// The session the request names (stateful gateways only), entered when it is the user's.
#[expect(
    clippy::result_large_err,
    reason = "the error is the refusal itself, built on a cold path"
)]
pub(super) fn session(
    state: &AppState,
    user: UserKey,
    headers: &HeaderMap,
) -> Result<(Option<String>, Option<InSession>), Response> {
    let sid = match headers.get(MCP_SESSION_ID) {
        Some(v) if !state.config.stateless => v.to_str().unwrap_or_default().to_owned(),
        _ => return Ok((None, None)),
    };
    match state.users.enter(user, &sid) {
        Ok(in_session) => Ok((Some(sid), in_session)),
        Err(NotFound) => {
            metrics::counter!(crate::telemetry::names::EDGE_REFUSED, "reason" => "foreign_session")
                .increment(1);
            tracing::debug!(user = %user, "refused: a session of another user");
            Err((StatusCode::NOT_FOUND, "Not Found: Session not found").into_response())
        }
    }
}

/// Marks the request's id as in flight in its session.
#[expect(
    clippy::result_large_err,
    reason = "the error is the refusal itself, built on a cold path"
)]
pub(super) fn claim_id(
    in_session: Option<&InSession>,
    envelope: Option<&Envelope>,
    user: UserKey,
) -> Result<Option<IdInFlight>, Response> {
    match (in_session, envelope.and_then(|e| e.id.as_ref())) {
        (Some(s), Some(id)) => match s.claim(id) {
            Ok(g) => Ok(Some(g)),
            Err(users::Duplicate) => Err(duplicate(user, id)),
        },
        _ => Ok(None),
    }
}

/// A place for the session an `initialize` without a session id opens.
pub(super) async fn reserve(
    state: &AppState,
    user: UserKey,
    sid: Option<&str>,
    envelope: Option<&Envelope>,
) -> Result<Option<Reservation>, Response> {
    let opens =
        sid.is_none() && !state.config.stateless && envelope.is_some_and(Envelope::is_initialize);
    if !opens {
        return Ok(None);
    }
    match state.users.reserve(user) {
        Ok((r, evicted)) => {
            if let Some(old) = evicted {
                metrics::counter!(crate::telemetry::names::SESSIONS_EVICTED).increment(1);
                tracing::debug!(user = %user, "closing the user's oldest idle session");
                let _ = state.sessions.close_session(&old).await;
            }
            Ok(Some(r))
        }
        Err(l) => Err(limited(user, l)),
    }
}

/// rmcp's own test: a `Content-Type` whose essence is `application/json`.
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split_once(';').map_or(v, |(e, _)| e);
            essence.trim().eq_ignore_ascii_case("application/json")
        })
}

fn limited(user: UserKey, l: Limited) -> Response {
    let (status, reason, msg) = match l {
        Limited::Rate(s) => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate",
            format!(
                "too many requests from this user (TOOLBRIDGE_USER_REQUESTS_PER_SECOND); retry in {s} s"
            ),
        ),
        Limited::InFlight(n) => (
            StatusCode::TOO_MANY_REQUESTS,
            "in_flight",
            format!(
                "this user already has {n} MCP requests in progress (TOOLBRIDGE_MAX_REQUESTS_PER_USER); retry when one finishes"
            ),
        ),
        Limited::Sessions(n) => (
            StatusCode::TOO_MANY_REQUESTS,
            "sessions",
            format!(
                "this user has {n} MCP sessions, all busy (TOOLBRIDGE_MAX_SESSIONS_PER_USER); close one with DELETE or retry later"
            ),
        ),
        Limited::Full => {
            metrics::counter!(crate::telemetry::names::SESSIONS_REFUSED).increment(1);
            let msg = "too many MCP sessions on this gateway; retry later".to_owned();
            let retry = [(header::RETRY_AFTER, "5")];
            return (StatusCode::SERVICE_UNAVAILABLE, retry, msg).into_response();
        }
    };
    metrics::counter!(crate::telemetry::names::USER_LIMITED, "reason" => reason).increment(1);
    tracing::debug!(user = %user, reason, "refused: the user is at a limit");
    let retry = retry_after(l).as_secs().to_string();
    (status, [(header::RETRY_AFTER, retry)], msg).into_response()
}

fn duplicate(user: UserKey, id: &RequestId) -> Response {
    metrics::counter!(crate::telemetry::names::EDGE_REFUSED, "reason" => "duplicate_id")
        .increment(1);
    tracing::debug!(user = %user, "refused: a request id already in flight in its session");
    intake::rpc_error(
        -32600,
        format!(
            "Invalid Request: id {id} is already used by a request in progress in this session"
        ),
    )
}

/// rmcp's 415 after reading a JSON body: JSON that is no JSON-RPC message it knows.
pub(super) async fn not_jsonrpc(resp: Response) -> Response {
    metrics::counter!(crate::telemetry::names::EDGE_REFUSED, "reason" => "jsonrpc_invalid")
        .increment(1);
    let text = axum::body::to_bytes(resp.into_body(), 4096)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let detail = text
        .strip_prefix("fail to deserialize request body ")
        .unwrap_or("not a JSON-RPC message")
        .chars()
        .take(300)
        .collect::<String>();
    intake::rpc_error(-32600, format!("Invalid Request: {detail}"))
}

/// How long a refused user should wait, for `Retry-After`.
fn retry_after(l: Limited) -> Duration {
    Duration::from_secs(match l {
        Limited::Rate(s) => s.max(1),
        Limited::InFlight(_) => 1,
        Limited::Sessions(_) | Limited::Full => 5,
    })
}

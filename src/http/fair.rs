//! The per-user layer of `/mcp`, between the edge checks (which put the caller's
//! [`Identity`] into the request) and the request slots (`admission`). In this order:
//!
//! 1. the user's rate ([`Users::spend`], 429) and their share of requests in progress
//!    ([`Users::begin`]: a request past it waits for one of the same user's to finish, up
//!    to the request timeout, holding only its connection; then 429);
//! 2. the session, if the request names one, must be the user's own (else 404, exactly as
//!    if it did not exist);
//! 3. a POST's body is read whole, within the read deadline, and scanned (`intake`): a
//!    slow or oversized body holds the user's share and its connection, never a slot;
//! 4. a request id already in flight in the session is refused at once (400, JSON-RPC
//!    error), since rmcp would route both answers to one stream and leave the other open;
//! 5. an `initialize` gets a place for its session, closing the user's oldest idle one
//!    when they are at their limit.
//!
//! What the request holds (its share, the session's busy mark, its id) is given back when
//! the answer has been sent or abandoned. rmcp's 415 for JSON it cannot read as a JSON-RPC
//! message becomes a 400 with a JSON-RPC error (the media type was right; the content not).

use std::time::Duration;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{HeaderMap, StatusCode, header};
use rmcp::{model::RequestId, transport::streamable_http_server::session::SessionManager};

use super::{
    AppState, MCP_SESSION_ID, body, intake, sessions,
    users::{self, Limited, NotFound, UserKey},
};
use crate::auth::Identity;

/// The middleware (see the module docs).
pub(super) async fn share(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let cfg = &state.config;
    let users = &state.users;
    let user = users.key(req.extensions().get::<Identity>());
    let post = req.method() == http::Method::POST;
    if let Err(l) = users.spend(user) {
        return limited(user, l);
    }
    let ticket = if post {
        match users.begin(user, cfg.request_timeout).await {
            Ok(t) => Some(t),
            Err(l) => return limited(user, l),
        }
    } else {
        None
    };
    let sid = match req.headers().get(MCP_SESSION_ID) {
        Some(v) if !cfg.stateless => Some(v.to_str().unwrap_or_default().to_owned()),
        _ => None,
    };
    let in_session = match sid.as_deref().map(|sid| users.enter(user, sid)) {
        None => None,
        Some(Ok(s)) => s,
        Some(Err(NotFound)) => {
            metrics::counter!(crate::telemetry::names::EDGE_REFUSED, "reason" => "foreign_session")
                .increment(1);
            tracing::debug!(user = %user, "refused: a session of another user");
            return (StatusCode::NOT_FOUND, "Not Found: Session not found").into_response();
        }
    };
    if !post || !is_json(req.headers()) {
        // GET streams and DELETEs have no body; rmcp refuses a POST of another media type
        // before reading a byte of it.
        return body::tie(next.run(req).await, (ticket, in_session), drop);
    }
    let (parts, raw) = req.into_parts();
    let within = cfg.header_read_timeout;
    let (chunks, envelope) = match intake::read(raw, cfg.max_body_bytes, within).await {
        Ok(read) => read,
        Err(refusal) => {
            let reason = refusal.reason();
            metrics::counter!(crate::telemetry::names::EDGE_REFUSED, "reason" => reason)
                .increment(1);
            tracing::debug!(user = %user, reason, "refused: request body");
            return refusal.into_response();
        }
    };
    let id_in_flight = match (&in_session, &envelope.id) {
        (Some(s), Some(id)) => match s.claim(id) {
            Ok(g) => Some(g),
            Err(users::Duplicate) => return duplicate(user, id),
        },
        _ => None,
    };
    let reservation = if sid.is_none() && !cfg.stateless && envelope.is_initialize() {
        match users.reserve(user) {
            Ok((r, evicted)) => {
                if let Some(old) = evicted {
                    metrics::counter!(crate::telemetry::names::SESSIONS_EVICTED).increment(1);
                    tracing::debug!(user = %user, "closing the user's oldest idle session");
                    let _ = state.sessions.close_session(&old).await;
                }
                Some(r)
            }
            Err(l) => return limited(user, l),
        }
    } else {
        None
    };
    let len = intake::BodyLen(chunks.len());
    let mut req = Request::from_parts(parts, chunks.into_body());
    req.extensions_mut().insert(envelope);
    req.extensions_mut().insert(len);
    let resp = match reservation {
        Some(r) => sessions::opening(r, next.run(req)).await,
        None => next.run(req).await,
    };
    let resp = if resp.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        not_jsonrpc(resp).await
    } else {
        resp
    };
    body::tie(resp, (ticket, in_session, id_in_flight), drop)
}

/// rmcp's own test: a `Content-Type` whose essence is `application/json`.
fn is_json(headers: &HeaderMap) -> bool {
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

/// rmcp's 415 after reading the body: JSON that is no JSON-RPC message it knows.
async fn not_jsonrpc(resp: Response) -> Response {
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

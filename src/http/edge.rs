//! The edge of `/mcp`: one middleware ([`mcp`]) that runs every check a request must pass
//! before rmcp sees it, as plain functions in the order they run:
//!
//! 1. Host and Origin allow-lists (`rebinding`: 400/403; more than one `Host` is a 400,
//!    more than one `Origin` a 403), so a DNS-rebinding page learns nothing more;
//! 2. the bearer token ([`authenticate`]: 401 with a `WWW-Authenticate` challenge pointing
//!    at the RFC 9728 metadata): never in the query string, checked by
//!    [`crate::auth::Verifier`], which makes the request's [`Caller`] (its user key, its
//!    scopes, the `Authorization` value for the API); every later stage borrows it;
//! 3. an `MCP-Protocol-Version` header the gateway does not serve: the JSON-RPC `-32022`
//!    error (`version`);
//! 4. a declared `Content-Length` over the body limit (413, without reading the body);
//! 5. the user's rate and share of requests in progress (`fair::share`, 429);
//! 6. the session, if the request names one, must be the user's own (`fair::session`, 404);
//! 7. the body, read whole within the read deadline and scanned, then parsed once into the
//!    `intake::Envelope` every later stage takes as an argument (`intake`: 413, 408, 400);
//!    the bytes wait beside the request for step 12;
//! 8. a request id already in flight in the session (`fair::claim_id`, 400);
//! 9. an `initialize` gets a place for its session (`fair::reserve`, 429/503);
//! 10. the scope the tool needs (`scope_check::check`, 403);
//! 11. a request slot and a share of the byte budget (`admission::admit`, 503);
//! 12. the disconnect watch and the answer's deadline around rmcp (`disconnect`,
//!     `deadline`), or around the handler itself for an ordinary tool call (`direct`: the
//!     body is parsed into rmcp's call type here, and rmcp's HTTP service would only
//!     repeat the checks above).
//!
//! What the request holds (its share, the session's busy mark, its id, its slot) is given
//! back when the answer has been sent or abandoned. On the way out a closed session's
//! `DELETE` answers `204`, and rmcp's 415 for JSON it cannot read as a JSON-RPC message
//! becomes a 400 with a JSON-RPC error. rmcp itself receives the [`Caller`] (and, with
//! `TOOLBRIDGE_FILTER_TOOLS_BY_SCOPE`, the tool filter) in the request's extensions, moved
//! there just before it runs; nothing travels between the stages as an extension.
//! Nothing here logs a header map or a token.

pub(super) mod rebinding;
mod version;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{Method, StatusCode};

use super::{
    AppState, admission, body, deadline, direct, disconnect, fair, intake, mcp_sessions,
    scope_check,
};
use crate::{
    auth::{
        AuthError,
        token::{self, Credential},
    },
    call::{Caller, UserKey},
};
use rebinding::Refusal;

/// The `/mcp` middleware: the stages of the module docs, in order.
pub(super) async fn mcp(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let cfg = &state.config;
    let body_timeout = cfg.header_read_timeout;
    // 1. Host and Origin.
    let host = match state.site.check(req.uri(), req.headers()) {
        Ok(host) => host,
        Err(refusal) => return refused(refusal),
    };
    // 2. The token: the caller every later stage borrows.
    let caller = match authenticate(&state, req.uri(), req.headers()).await {
        Ok(caller) => caller,
        Err(e) => return super::challenge::unauthorized(&state, &host, &e),
    };
    // 3. The protocol version header.
    let req = match version::check_version(req, cfg.max_body_bytes, body_timeout).await {
        Ok(req) => req,
        Err(refusal) => return refusal,
    };
    // 4. A declared length over the limit.
    if let Err(refusal) = intake::declared(req.headers(), cfg.max_body_bytes) {
        return body_refused(refusal, None);
    }
    // 5. The user's share.
    let user = caller.as_ref().map_or(UserKey::ANONYMOUS, Caller::user);
    let method = req.method().clone();
    let post = method == Method::POST;
    let ticket = match fair::share(&state, user, post).await {
        Ok(t) => t,
        Err(resp) => return resp,
    };
    // 6. The session's owner.
    let (sid, in_session) = match fair::session(&state, user, req.headers()) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    // 7. The body, read and parsed once. GET streams and DELETEs have none; rmcp refuses
    // a POST of another media type before reading a byte of it. The bytes stay beside the
    // request until step 12 decides who reads them.
    let (mut req, envelope, chunks) = if post && fair::is_json(req.headers()) {
        let (parts, raw) = req.into_parts();
        match intake::read(raw, cfg.max_body_bytes, body_timeout).await {
            Ok((chunks, envelope)) => (
                Request::from_parts(parts, axum::body::Body::empty()),
                Some(envelope),
                Some(chunks),
            ),
            Err(refusal) => return body_refused(refusal, Some(user)),
        }
    } else {
        (req, None, None)
    };
    // 8. A duplicate id in the session.
    let id_in_flight = match fair::claim_id(in_session.as_ref(), envelope.as_ref(), user) {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    // 9. A place for the session an `initialize` opens.
    let reservation = match fair::reserve(&state, user, sid.as_deref(), envelope.as_ref()).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    // 10. The scope.
    match scope_check::check(&state, caller.as_ref(), envelope.as_ref(), &req) {
        Ok(Some(filter)) => {
            req.extensions_mut().insert(filter);
        }
        Ok(None) => {}
        Err(resp) => return resp,
    }
    // 11. A slot. A POST that is not JSON is refused by rmcp before it reads the body: it
    // needs a slot but no share of the byte budget.
    let slot = if post {
        match admission::admit(&state.slots, envelope.as_ref().map_or(0, |e| e.len)).await {
            Ok(held) => Some(held),
            Err(resp) => return resp,
        }
    } else {
        None
    };
    // 12. Who answers: the edge itself for an ordinary tool call, parsed now into rmcp's
    // call type (not before: a request waiting for its share or a slot holds only its
    // bytes), else rmcp, given the bytes as they came; watched for a disconnect, within the
    // deadline.
    let sessions = &state.sessions;
    let direct = match (envelope.as_ref(), chunks) {
        (Some(envelope), Some(chunks)) => {
            let direct = direct::take(req.headers(), envelope, &chunks, sid.as_deref(), sessions);
            if direct.is_none() {
                *req.body_mut() = chunks.into_body();
            }
            direct
        }
        _ => None,
    };
    let read = envelope.is_some();
    let id = envelope.and_then(|e| e.id);
    let answers = &state.drain.answers;
    if let Some(r) = reservation {
        // rmcp hands it to the session it opens (`mcp_sessions`).
        req.extensions_mut().insert(mcp_sessions::Opening::new(r));
    }
    if let Some(caller) = caller {
        // Moved, not copied: rmcp moves the request's parts into the handler's context.
        req.extensions_mut().insert(caller);
    }
    let run = disconnect::watch(answers, req, |req| async move {
        match direct {
            // Boxed: inline, its state would size this whole future, which every request
            // waiting for its share or a slot holds (2,000 waiting requests: +6 MiB).
            Some(direct) => Box::pin(direct.serve(sessions, cfg.stateless, req)).await,
            None => next.run(req).await,
        }
    });
    let resp = if post {
        let within = cfg.response_timeout;
        deadline::limit(within, id, run).await
    } else {
        run.await
    };
    let resp = match resp.status() {
        StatusCode::ACCEPTED if method == Method::DELETE => version::session_closed(resp),
        StatusCode::UNSUPPORTED_MEDIA_TYPE if read => fair::not_jsonrpc(resp).await,
        _ => resp,
    };
    body::tie(resp, (ticket, in_session, id_in_flight, slot), drop)
}

/// Host and Origin alone, for `/metrics` on the main port.
pub(super) async fn same_site(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match state.site.check(req.uri(), req.headers()) {
        Ok(_) => next.run(req).await,
        Err(refusal) => refused(refusal),
    }
}

/// The caller of `req`, `None` when it sent no token and none is required.
// Takes the URI and headers, not the request: the body is not `Sync`, so a `&Request`
// held across the JWKS await would make the middleware future non-`Send`.
async fn authenticate(
    state: &AppState,
    uri: &http::Uri,
    headers: &http::HeaderMap,
) -> Result<Option<Caller>, AuthError> {
    let verifier = &state.verifier;
    let fail = |e: AuthError| {
        e.record();
        Err(e)
    };
    if token::token_in_query(uri.query()) {
        return fail(AuthError::TokenInQuery);
    }
    match token::credential(headers) {
        Err(e) => fail(e),
        Ok(Credential::Absent) if verifier.required() => fail(AuthError::MissingToken),
        Ok(Credential::Absent) => Ok(None),
        Ok(Credential::Bearer(t)) => verifier.caller(t).await.map(Some),
    }
}

/// A body the intake refused.
fn body_refused(refusal: intake::Refusal, user: Option<UserKey>) -> Response {
    let reason = refusal.reason();
    metrics::counter!(crate::telemetry::names::EDGE_REFUSED, "reason" => reason).increment(1);
    if let Some(user) = user {
        tracing::debug!(user = %user, reason, "refused: request body");
    }
    refusal.into_response()
}

fn refused(refusal: Refusal) -> Response {
    let (status, reason, msg) = match refusal {
        Refusal::BadHost => (
            StatusCode::BAD_REQUEST,
            "bad_host",
            "Bad Request: missing or invalid Host header",
        ),
        Refusal::ForeignHost => (
            StatusCode::FORBIDDEN,
            "host",
            "Forbidden: Host header is not allowed",
        ),
        Refusal::ForeignOrigin => (
            StatusCode::FORBIDDEN,
            "origin",
            "Forbidden: Origin header is not allowed",
        ),
    };
    metrics::counter!(crate::telemetry::names::EDGE_REFUSED, "reason" => reason).increment(1);
    tracing::debug!(reason, status = status.as_u16(), "refused at the edge");
    (status, msg).into_response()
}

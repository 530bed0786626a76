//! The edge of `/mcp`: everything a request must pass before any MCP processing and before
//! any upstream request, in this order:
//!
//! 1. Host and Origin allow-lists (400/403; more than one `Host` is a 400, more than one
//!    `Origin` a 403), so a DNS-rebinding page learns nothing more;
//! 2. the bearer token (401 with a `WWW-Authenticate` challenge pointing at the RFC 9728
//!    metadata): never in the query string, verified by [`crate::auth::Verifier`];
//! 3. a declared `Content-Length` over the body limit (413, without reading the body;
//!    `intake` enforces the same limit on bodies of unknown length while reading them).
//!
//! Between 2 and 3, an `MCP-Protocol-Version` the gateway does not serve is answered with
//! the JSON-RPC `-32022` error ([`protocol`]), and on the way out a closed session's `DELETE`
//! answers `204`.
//!
//! A request that passes carries [`Caller`] (the credential forwarded to the API) and
//! [`Identity`] (the `sub`) in its extensions, for the per-user checks in `fair`. Nothing
//! here logs a header map or a token.

mod protocol;
pub(super) mod rebinding;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};

use super::AppState;
use crate::{
    auth::{
        AuthError, Identity,
        token::{self, Credential},
    },
    call::Caller,
    secret::Secret,
};
use rebinding::Refusal;

/// The `/mcp` middleware: Host/Origin, token, body size, then the caller.
pub(super) async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let cfg = &state.config;
    let host = match rebinding::check(cfg, req.uri(), req.headers()) {
        Ok(host) => host,
        Err(refusal) => return refused(refusal),
    };
    match authenticate(&state, req.uri(), req.headers()).await {
        Ok(Some((caller, identity))) => {
            req.extensions_mut().insert(caller);
            req.extensions_mut().insert(identity);
        }
        Ok(None) => {}
        Err(e) => return super::challenge::unauthorized(&state, &host, &e),
    }
    let body_timeout = cfg.header_read_timeout;
    let req = match protocol::check_version(req, cfg.max_body_bytes, body_timeout).await {
        Ok(req) => req,
        Err(refusal) => return refusal,
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cfg.max_body_bytes as u64) {
        metrics::counter!(crate::telemetry::names::EDGE_REFUSED, "reason" => "body_too_large")
            .increment(1);
        let msg = format!("request body larger than {} bytes", cfg.max_body_bytes);
        return (StatusCode::PAYLOAD_TOO_LARGE, msg).into_response();
    }
    let delete = req.method() == http::Method::DELETE;
    let resp = next.run(req).await;
    if delete {
        protocol::session_closed(resp)
    } else {
        resp
    }
}

/// Host and Origin alone, for `/metrics` on the main port.
pub(super) async fn same_site(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match rebinding::check(&state.config, req.uri(), req.headers()) {
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
) -> Result<Option<(Caller, Identity)>, AuthError> {
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
        Ok(Credential::Bearer(t)) => {
            let identity = verifier.verify(t).await?;
            // Forwarded in canonical form: the API matches the scheme case-sensitively.
            let caller = Caller {
                authorization: Secret::new(format!("Bearer {t}")),
            };
            Ok(Some((caller, identity)))
        }
    }
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

//! The edge of `/mcp`: everything a request must pass before any MCP processing and before
//! any upstream request, in this order:
//!
//! 1. Host and Origin allow-lists (400/403), so a DNS-rebinding page learns nothing more;
//! 2. the bearer token (401 with a `WWW-Authenticate` challenge pointing at the RFC 9728
//!    metadata): never in the query string, verified by [`crate::auth::Verifier`];
//! 3. a declared `Content-Length` over the body limit (413, without reading the body;
//!    rmcp enforces the same limit on bodies of unknown length while reading them);
//! 4. the session cap (503).
//!
//! A request that passes carries [`Caller`] (the credential forwarded to the API) and
//! [`Identity`] (the `sub`) in its extensions. Nothing here logs a header map or a token.

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
    mcp::Caller,
    secret::Secret,
};
use rebinding::Refusal;

/// Header rmcp uses for the MCP session id.
const MCP_SESSION_ID: &str = "mcp-session-id";

/// The `/mcp` middleware: Host/Origin, token, body size, session cap, then the caller.
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
    if !protocol_version_well_formed(req.headers()) {
        // rmcp logs a mismatching version header verbatim; a malformed one (a token pasted
        // into the wrong header, say) is refused here, without echoing or logging it.
        metrics::counter!("toolbridge_edge_refused_total", "reason" => "bad_protocol_version")
            .increment(1);
        return (
            StatusCode::BAD_REQUEST,
            "malformed MCP-Protocol-Version header (expected a date such as 2025-06-18)",
        )
            .into_response();
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cfg.max_body_bytes as u64) {
        metrics::counter!("toolbridge_edge_refused_total", "reason" => "body_too_large")
            .increment(1);
        let msg = format!("request body larger than {} bytes", cfg.max_body_bytes);
        return (StatusCode::PAYLOAD_TOO_LARGE, msg).into_response();
    }
    let opens_session = req.method() == http::Method::POST
        && !cfg.stateless
        && !req.headers().contains_key(MCP_SESSION_ID);
    if opens_session && state.session_count().await >= cfg.max_sessions {
        metrics::counter!("toolbridge_sessions_refused_total").increment(1);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "too many MCP sessions on this gateway; retry later",
        )
            .into_response();
    }
    next.run(req).await
}

/// An absent `MCP-Protocol-Version`, or one shaped like a protocol revision (`YYYY-MM-DD`).
fn protocol_version_well_formed(headers: &http::HeaderMap) -> bool {
    headers.get_all("mcp-protocol-version").iter().all(|v| {
        let b = v.as_bytes();
        b.len() == 10
            && b.iter().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            })
    })
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
    metrics::counter!("toolbridge_edge_refused_total", "reason" => reason).increment(1);
    tracing::debug!(reason, status = status.as_u16(), "refused at the edge");
    (status, msg).into_response()
}

#[cfg(test)]
mod protocol_version_tests {
    use super::*;

    #[test]
    fn only_revision_dates_pass() {
        let check = |v: Option<&'static str>| {
            let mut h = http::HeaderMap::new();
            if let Some(v) = v {
                h.insert("mcp-protocol-version", http::HeaderValue::from_static(v));
            }
            protocol_version_well_formed(&h)
        };
        assert!(check(None));
        assert!(check(Some("2025-06-18")));
        assert!(check(Some("2026-07-28")));
        for bad in [
            "Bearer eyJ0eXAi",
            "2025-6-18",
            "2025/06/18",
            "",
            "2025-06-18x",
        ] {
            assert!(!check(Some(bad)), "{bad}");
        }
    }
}

//! One trace span per HTTP request, the parent of everything the request causes (the
//! `tool_call` span of `mcp/server.rs` among them): `method`, `route` (the router's matched
//! pattern, never the request's own path, query string or headers: nothing a client sends
//! beyond the method reaches it, so no token or id can leak through it), `status`, and
//! `latency_ms` until the response's last byte. A debug line carries the same fields at
//! the end, for log formats that do not print span fields.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use tracing::{Instrument, field::Empty};

use crate::call::RequestSpan;

/// The `route` of a request no route matched (the 404 fallback).
const UNMATCHED: &str = "unmatched";

/// Wraps the request in its span and hands the span down in [`RequestSpan`].
pub(crate) async fn request(mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!(
        "http_request",
        method = %req.method(),
        route = %route,
        status = Empty,
        latency_ms = Empty,
    );
    req.extensions_mut().insert(RequestSpan(span.clone()));
    let started = Instant::now();
    let resp = next.run(req).instrument(span.clone()).await;
    span.record("status", resp.status().as_u16());
    // A streamed answer (SSE) is still being written here: the latency is taken when the
    // body has been sent to its end.
    super::body::tie(resp, (span, started), |(span, started)| {
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        span.record("latency_ms", latency_ms);
        tracing::debug!(parent: &span, latency_ms, "http request finished");
    })
}

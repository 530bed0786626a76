//! One trace span per HTTP request, the parent of everything the request causes (the
//! `tool_call` span of `mcp/server.rs` among them): `method`, `route` (the router's matched
//! pattern, never the request's own path, query string or headers: nothing a client sends
//! beyond the method reaches it, so no token or id can leak through it), `status`, and
//! `latency_ms` until the response's last byte. A debug line carries the same fields at
//! the end, for log formats that do not print span fields.
//!
//! With traces on (`telemetry::otel`) it is also the HTTP server span of the HTTP semantic
//! conventions (`{method} {http.route}`, `http.request.method`, `http.route`,
//! `http.response.status_code`, `error.type` from 500 on), the child of the client's span
//! when the request carries a W3C `traceparent` (a malformed one starts a new trace). The
//! MCP span inside it may have another parent: `_meta` wins for the MCP request (see
//! `mcp/server.rs`).

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use tracing::{Instrument, field::Empty};

use crate::{call::RequestSpan, telemetry::otel};
use opentelemetry::KeyValue;

/// The `route` of a request no route matched (the 404 fallback).
const UNMATCHED: &str = "unmatched";

/// Wraps the request in its span and hands the span down in [`RequestSpan`].
pub(crate) async fn request(mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    // The OpenTelemetry name and kind are fields given now (recording them later would
    // pass through every layer again); `None` records nothing, with traces off.
    let traced = otel::enabled();
    let otel_name = traced.then(|| format!("{} {route}", req.method()));
    let span = tracing::info_span!(
        "http_request",
        method = %req.method(),
        route = %route,
        status = Empty,
        latency_ms = Empty,
        otel.name = otel_name.as_deref(),
        otel.kind = traced.then_some("server"),
    );
    if traced {
        server_span(&span, &req, &route);
    }
    req.extensions_mut().insert(RequestSpan(span.clone()));
    let started = Instant::now();
    let resp = next.run(req).instrument(span.clone()).await;
    span.record("status", resp.status().as_u16());
    if otel::enabled() {
        let status = resp.status().as_u16();
        otel::attributes(
            &span,
            [KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            )],
        );
        if status >= 500 {
            otel::error(&span, status.to_string(), "");
        }
    }
    // A streamed answer (SSE) is still being written here: the latency is taken when the
    // body has been sent to its end.
    super::body::tie(resp, (span, started), |(span, started)| {
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        span.record("latency_ms", latency_ms);
        tracing::debug!(parent: &span, latency_ms, "http request finished");
    })
}

/// The HTTP server span's attributes and remote parent (traces on only).
fn server_span(span: &tracing::Span, req: &Request, route: &str) {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(parent) = otel::remote_parent(header("traceparent"), header("tracestate")) {
        otel::set_parent(span, parent);
    }
    otel::attributes(
        span,
        [
            KeyValue::new("http.request.method", req.method().as_str().to_owned()),
            KeyValue::new("http.route", route.to_owned()),
            KeyValue::new("url.scheme", "http"),
        ],
    );
}

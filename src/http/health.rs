//! `/healthz` (the process is up) and `/readyz` (the API answers and accepts this
//! gateway's credentials), for supervisord, Docker and Fly checks.

use axum::{extract::State, response::IntoResponse};
use http::StatusCode;

use super::AppState;

pub(super) async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the API answers and accepts this gateway's credentials (the report is cached
/// a few seconds by the upstream client), 503 with the reason otherwise.
pub(super) async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let report = state.upstream.health().await;
    let outcome = if report.ready() { "ready" } else { "not_ready" };
    metrics::counter!(crate::telemetry::names::READINESS_CHECKS, "outcome" => outcome).increment(1);
    match report.reason() {
        None => (StatusCode::OK, "ready".to_owned()),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}")),
    }
}

pub(super) async fn metrics() -> impl IntoResponse {
    (
        [(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::telemetry::render_metrics(),
    )
}

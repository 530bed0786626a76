//! `/healthz` (the process is up) and `/readyz` (the API answered its health check
//! recently), for supervisord, Docker and Fly checks.

use std::time::{Duration, Instant};

use axum::{extract::State, response::IntoResponse};
use http::StatusCode;

use super::AppState;

/// How long a successful API check counts.
const FRESH: Duration = Duration::from_secs(5);

/// The last time the API's health check answered, to keep `/readyz` cheap under polling.
#[derive(Default)]
pub(super) struct Readiness {
    last_ok: parking_lot::Mutex<Option<Instant>>,
}

pub(super) async fn healthz() -> &'static str {
    "ok"
}

pub(super) async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let fresh = state
        .readiness
        .last_ok
        .lock()
        .is_some_and(|t| t.elapsed() < FRESH);
    if fresh {
        return (StatusCode::OK, "ready".to_owned());
    }
    match state.gateway.upstream().healthz().await {
        Ok(()) => {
            *state.readiness.last_ok.lock() = Some(Instant::now());
            (StatusCode::OK, "ready".to_owned())
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}")),
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

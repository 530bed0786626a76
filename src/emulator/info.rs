//! The unauthenticated routes of contract section 5.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::error::json;
use super::formats::{DEFAULT_LIMIT, MAX_LIMIT, rfc3339};
use super::kinds;
use super::shared::Shared;

/// What `/v1/sync/info` tells clients to wait after a `429` without `Retry-After`.
const BACKOFF_MS_ON_429: u64 = 1500;

/// `GET /v1/sync/info`: exactly `apiVersion`, `serverTime`, `entities`, `locking`,
/// `minClientVersion`, `rateLimit` (the entity-route limit; the contract's when the
/// emulator runs without one) and `hints`.
pub(crate) async fn info(State(st): State<Arc<Shared>>) -> Response {
    let entities: Map<String, Value> = kinds::of(st.cfg.generation)
        .map(|k| {
            let caps = json!({"maxLimit": MAX_LIMIT, "push": true, "pull": true});
            (k.segment.to_owned(), caps)
        })
        .collect();
    let limit = st.cfg.rate_limit.unwrap_or_default();
    let body = json!({
        "apiVersion": "1.1",
        "serverTime": rfc3339(chrono::Utc::now()),
        "entities": entities,
        "locking": {"supported": true, "mode": "session"},
        "minClientVersion": "0.1.0",
        "rateLimit": {
            "windowSeconds": 60,
            "maxRequests": limit.per_minute,
            "burst": limit.burst,
        },
        "hints": {"recommendedBatch": DEFAULT_LIMIT, "backoffMsOn429": BACKOFF_MS_ON_429},
    });
    json(StatusCode::OK, &body)
}

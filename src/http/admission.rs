//! Admission: at most `max_concurrent_requests` MCP POSTs are inside rmcp at once.
//!
//! rmcp builds a few channels and tasks for every request it handles (in stateless mode a
//! whole service per request), about 70 KiB each. Two thousand clients calling at once would
//! make that 140 MiB for work two cores cannot do in parallel anyway. A request past the
//! limit waits here, holding only its connection, and is answered 503 with `Retry-After` if
//! no slot frees within the request timeout. The slot is held until the response body has
//! been sent (or abandoned), because in stateful mode the tool runs while the SSE body streams.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The request slots, shared by every connection.
#[derive(Clone, Debug)]
pub(crate) struct Slots {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl Slots {
    pub(crate) fn new(limit: usize, wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limit)),
            wait,
        }
    }

    async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Some(p);
        }
        metrics::counter!(crate::telemetry::names::REQUESTS_QUEUED).increment(1);
        tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .ok()?
            .ok()
    }
}

/// Lets a POST into rmcp once it has a slot; GET streams and DELETEs pass freely (they hold
/// no tool call, and a long-lived GET stream must not hold a slot).
pub(crate) async fn admit(State(slots): State<Slots>, req: Request, next: Next) -> Response {
    if req.method() != http::Method::POST {
        return next.run(req).await;
    }
    let Some(slot) = slots.acquire().await else {
        metrics::counter!(crate::telemetry::names::REQUESTS_REFUSED, "reason" => "busy")
            .increment(1);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "the gateway is at its limit of concurrent requests; retry shortly",
        )
            .into_response();
    };
    super::body::tie(next.run(req).await, slot, drop)
}

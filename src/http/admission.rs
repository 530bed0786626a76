//! Admission: at most `max_concurrent_requests` MCP POSTs are inside rmcp at once.
//!
//! rmcp builds a few channels and tasks for every request it handles (in stateless mode a
//! whole service per request), about 70 KiB each. Two thousand clients calling at once would
//! make that 140 MiB for work two cores cannot do in parallel anyway. A request past the
//! limit waits here, holding only its connection, and is answered 503 with `Retry-After` if
//! no slot frees within the request timeout. The slot is held until the response body has
//! been sent (or abandoned), because in stateful mode the tool runs while the SSE body streams.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{StatusCode, header};
use http_body::{Body as HttpBody, Frame, SizeHint};
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
        metrics::counter!("toolbridge_requests_queued_total").increment(1);
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
        metrics::counter!("toolbridge_requests_refused_total", "reason" => "busy").increment(1);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "the gateway is at its limit of concurrent requests; retry shortly",
        )
            .into_response();
    };
    let (parts, body) = next.run(req).await.into_parts();
    Response::from_parts(
        parts,
        Body::new(Held {
            inner: body,
            _slot: slot,
        }),
    )
}

/// A response body that keeps its request's slot until it is finished or dropped.
struct Held {
    inner: Body,
    _slot: OwnedSemaphorePermit,
}

impl HttpBody for Held {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

//! Admission: at most `max_concurrent_requests` MCP POSTs are inside rmcp at once.
//!
//! rmcp builds a few channels and tasks for every request it handles (in stateless mode a
//! whole service per request), about 70 KiB each. Two thousand clients calling at once would
//! make that 140 MiB for work two cores cannot do in parallel anyway. A request past the
//! limit waits here, holding only its connection, and is answered 503 with `Retry-After` if
//! no slot frees within the request timeout. The slot is held until the response body has
//! been sent (or abandoned), because in stateful mode the tool runs while the SSE body streams.
//!
//! Large bodies also need a share of a byte budget, [`LARGE_BODIES_AT_ONCE`] times the body
//! limit: a request runs at a few times the size of its body (rmcp's copy, the parsed
//! message, the API request, the answer written twice), so 150 tool calls of 1 MiB each
//! took 450 MiB at once. A large body waits for its share first, holding no slot, so small
//! requests (up to [`SMALL_BODY`], which need no share) are never stuck behind large ones.

use std::{sync::Arc, time::Duration};

use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many bodies of the largest size may be run at once (the byte budget, in bodies).
pub(crate) const LARGE_BODIES_AT_ONCE: usize = 64;

/// Bodies up to this size run without a share of the byte budget.
pub(crate) const SMALL_BODY: usize = 64 * 1024;

/// The request slots and the byte budget, shared by every connection.
#[derive(Clone, Debug)]
pub(crate) struct Slots {
    slots: Arc<Semaphore>,
    /// The byte budget, in KiB.
    kib: Arc<Semaphore>,
    budget_kib: usize,
    wait: Duration,
}

/// What an admitted request holds until its answer is out.
pub(crate) type Held = (OwnedSemaphorePermit, Option<OwnedSemaphorePermit>);

impl Slots {
    pub(crate) fn new(limit: usize, max_body: usize, wait: Duration) -> Self {
        let budget_kib = (LARGE_BODIES_AT_ONCE * max_body)
            .div_ceil(1024)
            .min(Semaphore::MAX_PERMITS);
        Self {
            slots: Arc::new(Semaphore::new(limit)),
            kib: Arc::new(Semaphore::new(budget_kib)),
            budget_kib,
            wait,
        }
    }

    /// A share of the budget for a body of `len` bytes (none for a small one), then a slot.
    async fn acquire(&self, len: usize) -> Option<Held> {
        let deadline = tokio::time::Instant::now() + self.wait;
        let share = if len > SMALL_BODY {
            let kib = len.div_ceil(1024).min(self.budget_kib) as u32;
            Some(take(&self.kib, kib, deadline).await?)
        } else {
            None
        };
        Some((take(&self.slots, 1, deadline).await?, share))
    }
}

async fn take(
    sem: &Arc<Semaphore>,
    n: u32,
    deadline: tokio::time::Instant,
) -> Option<OwnedSemaphorePermit> {
    if let Ok(p) = sem.clone().try_acquire_many_owned(n) {
        return Some(p);
    }
    metrics::counter!(crate::telemetry::names::REQUESTS_QUEUED).increment(1);
    tokio::time::timeout_at(deadline, sem.clone().acquire_many_owned(n))
        .await
        .ok()?
        .ok()
}

/// A slot (and a share of the byte budget for a body of `len` bytes) for a POST, held
/// until its answer is out; 503 with `Retry-After` when none frees within the request
/// timeout. GET streams and DELETEs take none (they hold no tool call, and a long-lived
/// GET stream must not hold a slot).
pub(crate) async fn admit(slots: &Slots, len: usize) -> Result<Held, Response> {
    match slots.acquire(len).await {
        Some(held) => Ok(held),
        None => {
            metrics::counter!(crate::telemetry::names::REQUESTS_REFUSED, "reason" => "busy")
                .increment(1);
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                "the gateway is at its limit of concurrent requests; retry shortly",
            )
                .into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn large_bodies_share_a_byte_budget_and_small_ones_pass_them() {
        const BODY: usize = 100 * 1024;
        let slots = Slots::new(1000, BODY, Duration::from_millis(50));
        let mut held = Vec::new();
        for _ in 0..LARGE_BODIES_AT_ONCE {
            held.push(slots.acquire(BODY).await.expect("within the budget"));
        }
        assert!(slots.acquire(BODY).await.is_none(), "past the budget");
        // A body no larger than SMALL_BODY needs no share.
        let small = slots.acquire(SMALL_BODY).await.expect("a small body runs");
        assert!(small.1.is_none());
        // A body larger than the whole budget takes all of it, so it can still run.
        held.clear();
        assert!(
            slots
                .acquire(10 * LARGE_BODIES_AT_ONCE * BODY)
                .await
                .is_some()
        );
    }
}

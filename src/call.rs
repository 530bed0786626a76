//! What one MCP request carries from the HTTP edge down to the tool handler, in a module
//! both sides import (so `http` and `mcp` need nothing of each other): the credential the
//! edge checked, the signal that the client went away, and the count of calls in progress
//! that graceful shutdown waits for.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio_util::sync::CancellationToken;

use crate::secret::Secret;

/// The caller of one HTTP request, put into the request extensions by the edge.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The `Authorization` header value the edge checked, in canonical `Bearer` form.
    pub authorization: Secret,
}

/// Which tools this request's caller may call (only with `TOOLBRIDGE_FILTER_TOOLS_BY_SCOPE`):
/// the edge decides, the MCP side only asks.
#[derive(Clone)]
pub struct ToolFilter(pub Arc<dyn Fn(&str) -> bool + Send + Sync>);

/// Cancelled when the client of this HTTP request is gone (see `http::disconnect`).
#[derive(Clone, Debug)]
pub struct ClientGone(pub CancellationToken);

/// Tool calls in progress. Shutdown waits for it to reach zero (within the grace period).
#[derive(Clone, Default)]
pub struct InFlight {
    inner: Arc<(AtomicUsize, tokio::sync::Notify)>,
}

/// Decrements [`InFlight`] when dropped.
pub struct InFlightGuard(InFlight);

impl InFlight {
    /// Counts one call until the guard is dropped.
    pub fn enter(&self) -> InFlightGuard {
        self.inner.0.fetch_add(1, Ordering::SeqCst);
        // Moved by the same amount, never set: concurrent calls cannot race it stale.
        metrics::gauge!(crate::telemetry::names::TOOL_CALLS_IN_FLIGHT).increment(1.0);
        InFlightGuard(self.clone())
    }

    /// Calls in progress now.
    pub fn get(&self) -> usize {
        self.inner.0.load(Ordering::SeqCst)
    }

    /// Waits until no call is in progress, or `limit` passes. True when idle.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.inner.1.notified();
            if self.get() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.get() == 0;
            }
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let n = self.0.inner.0.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics::gauge!(crate::telemetry::names::TOOL_CALLS_IN_FLIGHT).decrement(1.0);
        if n == 0 {
            self.0.inner.1.notify_waiters();
        }
    }
}

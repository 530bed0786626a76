//! What one MCP request carries from the HTTP edge down to the tool handler, in a module
//! both sides import (so `http` and `mcp` need nothing of each other): the credential the
//! edge checked, the signal that the client went away, and the count of calls in progress
//! that graceful shutdown waits for.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use tokio_util::sync::CancellationToken;

use crate::secret::Secret;

/// The caller of one HTTP request, put into the request extensions by the edge.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    /// The `Authorization` header value the edge checked, in canonical `Bearer` form.
    pub(crate) authorization: Secret,
}

/// Which tools this request's caller may call (only with `TOOLBRIDGE_FILTER_TOOLS_BY_SCOPE`):
/// the edge decides, the MCP side only asks.
#[derive(Clone)]
pub(crate) struct ToolFilter(pub(crate) Arc<dyn Fn(&str) -> bool + Send + Sync>);

/// Cancelled when the client of this HTTP request is gone (see `http::disconnect`).
#[derive(Clone, Debug)]
pub(crate) struct ClientGone(pub(crate) CancellationToken);

/// The trace span of the HTTP request a call came in (see `http::span`): the MCP server
/// makes its `tool_call` span a child of it.
#[derive(Clone, Debug)]
pub(crate) struct RequestSpan(pub(crate) tracing::Span);

/// A count of work in progress that graceful shutdown waits for: the tool calls (counted by
/// the MCP server, with the `toolbridge_tool_calls_in_flight` gauge) or the MCP answers still
/// being sent (counted by the HTTP side, from a request's arrival to its response's end).
#[derive(Clone)]
pub(crate) struct InFlight {
    inner: Arc<Count>,
}

struct Count {
    n: AtomicUsize,
    idle: tokio::sync::Notify,
    /// The gauge moved with the count, if any.
    gauge: Option<&'static str>,
}

/// Decrements [`InFlight`] when dropped.
pub(crate) struct InFlightGuard(InFlight);

impl Default for InFlight {
    /// The tool-call count, with its gauge.
    fn default() -> Self {
        Self::with_gauge(Some(crate::telemetry::names::TOOL_CALLS_IN_FLIGHT))
    }
}

impl InFlight {
    /// A count that moves no gauge (the answers being sent).
    pub(crate) fn untracked() -> Self {
        Self::with_gauge(None)
    }

    fn with_gauge(gauge: Option<&'static str>) -> Self {
        Self {
            inner: Arc::new(Count {
                n: AtomicUsize::new(0),
                idle: tokio::sync::Notify::new(),
                gauge,
            }),
        }
    }

    /// Counts one call until the guard is dropped.
    pub(crate) fn enter(&self) -> InFlightGuard {
        self.inner.n.fetch_add(1, Ordering::SeqCst);
        // Moved by the same amount, never set: concurrent calls cannot race it stale.
        if let Some(gauge) = self.inner.gauge {
            metrics::gauge!(gauge).increment(1.0);
        }
        InFlightGuard(self.clone())
    }

    /// Calls in progress now.
    pub(crate) fn get(&self) -> usize {
        self.inner.n.load(Ordering::SeqCst)
    }

    /// Waits until nothing is in progress, or `deadline` passes. True when idle.
    pub(crate) async fn wait_idle_until(&self, deadline: tokio::time::Instant) -> bool {
        loop {
            // Registered before the check, so a drop to zero in between is not missed.
            let notified = self.inner.idle.notified();
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
        let n = self.0.inner.n.fetch_sub(1, Ordering::SeqCst) - 1;
        if let Some(gauge) = self.0.inner.gauge {
            metrics::gauge!(gauge).decrement(1.0);
        }
        if n == 0 {
            self.0.inner.idle.notify_waiters();
        }
    }
}

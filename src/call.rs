//! What one MCP request carries from the HTTP edge down to the tool handler and the
//! upstream chain, in a module all of them import (so `http`, `mcp` and `upstream` need
//! nothing of each other): the [`Caller`] the token check made (`call/caller.rs`), the
//! signal that the client went away, and the count of calls in progress that graceful
//! shutdown waits for.

mod caller;

pub(crate) use caller::{Caller, CredentialKey, Scopes, UserKey, UserKeyring};

use std::sync::Arc;

use tokio_util::{
    sync::CancellationToken,
    task::{TaskTracker, task_tracker::TaskTrackerToken},
};

/// Whether a caller may call a tool (only with `TOOLBRIDGE_FILTER_TOOLS_BY_SCOPE`): the
/// scope policy, built once; the edge puts it into the requests whose `tools/list` it
/// filters, and the MCP side only asks it about the request's [`Caller`].
#[derive(Clone)]
pub(crate) struct ToolFilter(pub(crate) Arc<Permits>);

/// The question a [`ToolFilter`] answers: may this caller call the tool of this name?
pub(crate) type Permits = dyn Fn(&Caller, &str) -> bool + Send + Sync;

/// Cancelled when the client of this HTTP request is gone (see `http::disconnect`).
#[derive(Clone, Debug)]
pub(crate) struct ClientGone(pub(crate) CancellationToken);

/// The protocol version a stateful session negotiated at `initialize`, in the context of
/// each later request of that session (whose handler's peer knows no client info: see
/// `http::mcp_sessions`). A request's own `_meta` version, when it has one, wins.
#[derive(Clone, Debug)]
pub(crate) struct NegotiatedVersion(pub(crate) rmcp::model::ProtocolVersion);

/// The trace span of the HTTP request a call came in (see `http::span`): the MCP server
/// makes its `tool_call` span a child of it.
#[derive(Clone, Debug)]
pub(crate) struct RequestSpan(pub(crate) tracing::Span);

/// A count of work in progress that graceful shutdown waits for: the tool calls (counted by
/// the MCP server, with the `toolbridge_tool_calls_in_flight` gauge) or the MCP answers still
/// being sent (counted by the HTTP side, from a request's arrival to its response's end).
/// The counting and the waiting are tokio-util's [`TaskTracker`] (a token per piece of
/// work, no task spawned); this adds only the gauge.
#[derive(Clone)]
pub(crate) struct InFlight {
    tracker: TaskTracker,
    /// The gauge moved with the count, if any.
    gauge: Option<&'static str>,
}

/// Counts one piece of work in [`InFlight`] until dropped.
pub(crate) struct InFlightGuard {
    _token: TaskTrackerToken,
    gauge: Option<&'static str>,
}

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
            tracker: TaskTracker::new(),
            gauge,
        }
    }

    /// Counts one call until the guard is dropped.
    pub(crate) fn enter(&self) -> InFlightGuard {
        // Moved by the same amount, never set: concurrent calls cannot race it stale.
        if let Some(gauge) = self.gauge {
            metrics::gauge!(gauge).increment(1.0);
        }
        InFlightGuard {
            _token: self.tracker.token(),
            gauge: self.gauge,
        }
    }

    /// Calls in progress now.
    pub(crate) fn get(&self) -> usize {
        self.tracker.len()
    }

    /// Shutdown: waits until nothing is in progress, or `deadline` passes. True when idle.
    /// Work may still enter meanwhile (an answer being sent is counted as it starts), and
    /// is waited for too.
    pub(crate) async fn wait_idle_until(&self, deadline: tokio::time::Instant) -> bool {
        // A tracker's `wait` ends once it is closed and empty; closing stops nothing else.
        self.tracker.close();
        tokio::time::timeout_at(deadline, self.tracker.wait())
            .await
            .is_ok()
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Some(gauge) = self.gauge {
            metrics::gauge!(gauge).decrement(1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::InFlight;

    /// Shutdown waits for the work counted, including work that enters while it waits,
    /// and gives up at its deadline while some is still in progress.
    #[tokio::test(start_paused = true)]
    async fn shutdown_waits_for_the_work_in_flight() {
        let calls = InFlight::untracked();
        let first = calls.enter();
        assert_eq!(calls.get(), 1);
        let soon = tokio::time::Instant::now() + Duration::from_secs(1);
        assert!(
            !calls.wait_idle_until(soon).await,
            "one call still in flight"
        );

        let late = calls.enter();
        drop(first);
        let waiter = {
            let calls = calls.clone();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            tokio::spawn(async move { calls.wait_idle_until(deadline).await })
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!waiter.is_finished(), "the late call is still counted");
        drop(late);
        assert!(waiter.await.unwrap());
        assert_eq!(calls.get(), 0);
    }
}

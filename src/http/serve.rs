//! The server loop. `axum::serve` has no header-read timeout, so connections are served by
//! hyper directly: a slow-header client is dropped, and shutdown is graceful.

use std::{future::Future, sync::Arc, time::Duration};

use axum::Router;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;

use crate::call::InFlight;

/// Timeouts of the server loop.
#[derive(Debug, Clone)]
pub(crate) struct ServeOptions {
    /// A client must send its request headers within this.
    pub(crate) header_read_timeout: Duration,
    /// In-flight calls get this long to finish after shutdown begins.
    pub(crate) shutdown_grace: Duration,
    /// Most connections served at once.
    pub(crate) max_connections: usize,
}

/// What shutdown waits for before it ends the MCP sessions.
#[derive(Clone, Default)]
pub(crate) struct Drain {
    /// Tool calls in progress (counted by the MCP server).
    pub(crate) calls: InFlight,
    /// `/mcp` answers not yet sent to their end (counted by `http::disconnect`).
    pub(crate) answers: InFlight,
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, lets
/// in-flight tool calls finish and their answers go out within the grace period, ends MCP
/// sessions, and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    opts: ServeOptions,
    drain: Drain,
    mcp_cancel: CancellationToken,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    // Each connection costs buffers and a task; past the cap the loop stops accepting, so
    // further clients wait in the kernel's listen backlog (itself bounded) instead.
    let connections = Arc::new(Semaphore::new(opts.max_connections));
    loop {
        let slot = tokio::select! {
            slot = connections.clone().acquire_owned() => slot.expect("never closed"),
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(router.clone());
                let conn = http.serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(slot);
                });
            }
            () = &mut shutdown => break,
        }
    }
    // Refuse new connections at once; the ones already open may finish their calls.
    drop(listener);
    let deadline = tokio::time::Instant::now() + opts.shutdown_grace;
    let pending = drain.calls.get();
    tracing::info!(pending, "shutting down: waiting for in-flight tool calls");
    if !drain.calls.wait_idle_until(deadline).await {
        tracing::warn!(
            pending = drain.calls.get(),
            "grace period over; cancelling remaining calls"
        );
    }
    // A call counts as done when its handler returns; rmcp then still has to hand the
    // result to the response stream. Cancelling the sessions before that would cut the
    // last answers, so wait (within the same grace) until every answer has been sent.
    if !drain.answers.wait_idle_until(deadline).await {
        tracing::debug!(
            unsent = drain.answers.get(),
            "grace period over with answers still being sent"
        );
    }
    mcp_cancel.cancel();
    if tokio::time::timeout(Duration::from_secs(2), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("some connections did not close in time");
    }
    Ok(())
}

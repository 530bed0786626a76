//! Entry points of the subcommands, kept out of `main.rs` so tests can call them.

mod check;
mod demo;
mod stdio;

pub use check::check_main;
pub use demo::{demo, emulator_main, read_memberships, token};
pub use stdio::stdio_main;

use std::{future::Future, net::SocketAddr, time::Duration};

use tokio::net::TcpListener;

use crate::{
    config::Config,
    http::{AppState, ServeOptions, app, serve},
};

/// Why the gateway could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The upstream client could not be built.
    #[error("{0}")]
    Upstream(#[from] crate::upstream::UpstreamError),
    /// The HTTP side (client, verifier) could not be built.
    #[error("{0}")]
    Start(#[from] crate::http::StartError),
    /// A socket could not be bound or served.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}

/// Serves the gateway on an already-bound listener until `shutdown` resolves.
pub async fn serve_gateway(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), RunError> {
    let opts = ServeOptions {
        header_read_timeout: Duration::from_secs_f64(config.header_read_timeout_seconds),
        shutdown_grace: Duration::from_secs_f64(config.shutdown_grace_seconds),
        max_connections: config.max_connections,
    };
    let metrics_addr = config.metrics_port.map(|p| SocketAddr::new(config.host, p));
    let state = AppState::new(config)?;
    // Tell the API generation at start (in the background: an API that is not up yet must
    // not hold the listener back); readiness checks tell it again later.
    let upstream = state.upstream.clone();
    tokio::spawn(async move {
        if let Err(e) = upstream.detect_generation().await {
            tracing::warn!(error = %e, "API generation not known yet; will ask again");
        }
    });
    let (drain, cancel) = (state.drain.clone(), state.mcp_cancel.clone());
    let metrics_task = match metrics_addr {
        Some(addr) => {
            let listener = bind(addr).await?;
            tracing::info!(%addr, "metrics listening on /metrics");
            let stop = cancel.clone();
            Some(tokio::spawn(async move {
                let _ = axum::serve(listener, crate::http::metrics_app())
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await;
            }))
        }
        None => None,
    };
    let served = serve(listener, app(state), opts, drain, cancel.clone(), shutdown).await;
    cancel.cancel();
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    served.map_err(|source| RunError::Io {
        context: "serving".into(),
        source,
    })
}

/// Binds `addr`, naming it in the error when that fails.
pub(crate) async fn bind(addr: SocketAddr) -> Result<TcpListener, RunError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Io {
            context: format!("cannot listen on {addr}"),
            source,
        })
}

/// `toolbridge-mcp serve`: the gateway on `TOOLBRIDGE_HOST:TOOLBRIDGE_PORT` until SIGTERM.
pub async fn serve_main(config: Config) -> Result<(), RunError> {
    let addr = SocketAddr::new(config.host, config.port);
    let listener = bind(addr).await?;
    tracing::info!(
        %addr,
        session_mode = ?config.session_mode,
        stateless = config.stateless,
        auth_mode = ?config.effective_auth_mode(),
        "toolbridge-mcp listening on /mcp"
    );
    let grace = Duration::from_secs_f64(config.shutdown_grace_seconds);
    let served = serve_gateway(config, listener, shutdown_signal()).await;
    // The spans of the last calls (and of the shutdown) go out, within the grace.
    crate::telemetry::otel::shutdown(grace).await;
    served?;
    tracing::info!("stopped");
    Ok(())
}

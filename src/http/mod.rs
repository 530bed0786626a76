//! The axum side: the router ([`app`]), its edge layers, health endpoints, and the
//! server loop ([`serve`]) with header-read timeouts and graceful shutdown.

mod admission;
mod body;
mod deadline;
mod disconnect;
mod edge;
mod fair;
mod health;
mod intake;
pub mod scan;
mod serve;
mod sessions;
mod users;
mod wellknown;

use std::{sync::Arc, time::Duration};

use axum::{Router, routing::get};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService,
    session::local::{LocalSessionManager, SessionConfig},
};
use tokio_util::sync::CancellationToken;

pub use disconnect::ClientGone;
pub use serve::{InFlight, InFlightGuard, ServeOptions, serve};

use crate::{config::Config, mcp::Gateway, upstream::Upstream};

/// Header rmcp uses for the MCP session id.
const MCP_SESSION_ID: &str = "mcp-session-id";

/// Loopback names every deployment accepts in `Host`.
const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1", "[::1]"];
/// Loopback origins every deployment accepts (any port).
const LOOPBACK_ORIGINS: &[&str] = &["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

/// Why the HTTP side could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The upstream client.
    #[error(transparent)]
    Upstream(#[from] crate::upstream::UpstreamError),
    /// The token verifier (a bad JWKS URL, say).
    #[error("token verification: {0}")]
    Auth(#[from] crate::auth::SetupError),
}

/// Everything the router needs, built once from the config.
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The MCP server (cheap clone per session).
    pub gateway: Gateway,
    /// Cancelled at shutdown: ends every MCP session.
    pub mcp_cancel: CancellationToken,
    /// Tool calls in progress, for graceful shutdown.
    pub in_flight: InFlight,
    /// Checks bearer tokens at the edge (built once: keys, JWKS cache).
    pub verifier: crate::auth::Verifier,
    sessions: Arc<sessions::Sessions>,
    users: Arc<users::Users>,
    slots: admission::Slots,
    readiness: Arc<health::Readiness>,
}

impl AppState {
    /// Builds the upstream client, the token verifier and the gateway from a config.
    pub fn new(config: Config) -> Result<Self, StartError> {
        // Install the recorder before the first metric is recorded.
        crate::telemetry::metrics_handle();
        let upstream = Upstream::new(&config)?;
        let verifier = crate::auth::Verifier::new(&config)?;
        let in_flight = InFlight::default();
        let gateway = Gateway::new(upstream, None).with_in_flight(in_flight.clone());
        let mut session_config = SessionConfig::default();
        session_config.keep_alive = Some(Duration::from_secs(config.session_idle_timeout_seconds));
        // rmcp keeps every answered request's SSE messages (the whole tool result) for a
        // late `Last-Event-ID` resume, 60 s by default: at thousands of calls a second that
        // is most of the process's memory. A call whose client leaves is cancelled here
        // (http::disconnect), so there is nothing worth resuming: drop them at once.
        session_config.completed_cache_ttl = Duration::ZERO;
        let mut sessions = LocalSessionManager::default();
        sessions.session_config = session_config;
        let users = users::Users::new(&config);
        let sessions = sessions::Sessions::new(sessions, users.clone());
        let slots = admission::Slots::new(
            config.max_concurrent_requests,
            config.max_body_bytes,
            Duration::from_secs_f64(config.request_timeout_seconds),
        );
        Ok(Self {
            config: Arc::new(config),
            gateway,
            mcp_cancel: CancellationToken::new(),
            in_flight,
            verifier,
            sessions: Arc::new(sessions),
            users,
            slots,
            readiness: Default::default(),
        })
    }

    /// Number of open MCP sessions.
    pub async fn session_count(&self) -> usize {
        self.users.session_count()
    }
}

fn mcp_config(state: &AppState) -> StreamableHttpServerConfig {
    let cfg = &state.config;
    let hosts = LOOPBACK_HOSTS
        .iter()
        .map(|h| (*h).to_owned())
        .chain(cfg.allowed_hosts.iter().cloned());
    let origins = LOOPBACK_ORIGINS
        .iter()
        .map(|o| (*o).to_owned())
        .chain(cfg.allowed_origins.iter().cloned());
    StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .enforce_origin_validation()
        .with_max_request_body_bytes(cfg.max_body_bytes)
        .with_legacy_session_mode(!cfg.stateless)
        .with_json_response(cfg.stateless)
        .with_cancellation_token(state.mcp_cancel.child_token())
}

/// `/metrics` alone, for a separate metrics port (Fly's `[metrics]` block). No Host check
/// here: that port is for the platform's scraper, which names the machine by its address.
pub fn metrics_app() -> Router {
    Router::new().route("/metrics", get(health::metrics))
}

/// The whole HTTP surface: `/mcp`, `/healthz`, `/readyz`, `/metrics` (Host-checked like
/// `/mcp`), and the RFC 9728 metadata.
pub fn app(state: AppState) -> Router {
    let gateway = state.gateway.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(gateway.clone()),
        state.sessions.clone(),
        mcp_config(&state),
    );
    let within = Duration::from_secs_f64(state.config.response_timeout_seconds);
    // Layers run outside in: the last added sees a request first.
    Router::new()
        .nest_service("/mcp", mcp)
        // Innermost: only requests that got this far get a watch, and a response the
        // deadline cuts is dropped unfinished, which cancels the call.
        .layer(axum::middleware::from_fn(disconnect::watch))
        .layer(axum::middleware::from_fn_with_state(
            within,
            deadline::limit,
        ))
        // A request takes a slot only once its body is in and the user's checks passed.
        .layer(axum::middleware::from_fn_with_state(
            state.slots.clone(),
            admission::admit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            fair::share,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            edge::guard,
        ))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(
            "/.well-known/oauth-protected-resource",
            get(wellknown::protected_resource),
        )
        .route(wellknown::METADATA_PATH, get(wellknown::protected_resource))
        // The same Host and Origin rules as /mcp: counters are not for a foreign page.
        .route(
            "/metrics",
            get(health::metrics).layer(axum::middleware::from_fn_with_state(
                state.clone(),
                edge::same_site,
            )),
        )
        .with_state(state)
}

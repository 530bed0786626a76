//! [`AppState`]: everything the router and its layers share, built once from the config.
//! Its own file, so that the layers (children of `http`) and the router (`http/mod.rs`)
//! import it without importing each other.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::serve::Drain;
use super::{admission, mcp_sessions, users};
use crate::{call::InFlight, config::Config, mcp::Gateway, upstream::Upstream};

/// Header rmcp uses for the MCP session id.
pub(crate) const MCP_SESSION_ID: &str = "mcp-session-id";
/// Header naming the protocol revision a request speaks.
pub(crate) const MCP_PROTOCOL_VERSION: &str = "mcp-protocol-version";

/// Why the HTTP side could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The upstream client.
    #[error(transparent)]
    Upstream(#[from] crate::upstream::UpstreamError),
    /// The token verifier (a bad JWKS URL, say).
    #[error("token verification: {0}")]
    Auth(#[from] crate::auth::SetupError),
    /// A setting only the MCP side can check (`TOOLBRIDGE_TOOLS`).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// Everything the router needs, built once from the config.
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration.
    pub(crate) config: Arc<Config>,
    /// The MCP server (cheap clone per session).
    pub(crate) gateway: Gateway,
    /// The API client (readiness asks it directly, not through the MCP server).
    pub(crate) upstream: Upstream,
    /// Cancelled at shutdown: ends every MCP session.
    pub(crate) mcp_cancel: CancellationToken,
    /// Tool calls in progress and answers being sent, for graceful shutdown.
    pub(crate) drain: Drain,
    /// Checks bearer tokens at the edge (built once: keys, JWKS cache).
    pub(crate) verifier: crate::auth::Verifier,
    /// Which scope each tool needs, and whether that is enforced.
    pub(super) scopes: Arc<crate::auth::scopes::ScopePolicy>,
    /// The scope policy as the MCP side asks it (`tools/list`), made once.
    pub(super) tool_filter: crate::call::ToolFilter,
    /// The Host and Origin allow-lists, parsed once.
    pub(super) site: Arc<super::edge::rebinding::SiteRules>,
    pub(super) sessions: Arc<mcp_sessions::Sessions>,
    pub(super) users: Arc<users::Users>,
    pub(super) slots: admission::Slots,
}

impl AppState {
    /// Builds the upstream client, the token verifier and the gateway from a config.
    pub fn new(config: Config) -> Result<Self, StartError> {
        // Install the recorder before the first metric is recorded.
        crate::telemetry::metrics_handle();
        let upstream = Upstream::new(&config)?;
        let verifier = crate::auth::Verifier::new(&config)?;
        let drain = Drain {
            calls: InFlight::default(),
            answers: InFlight::untracked(),
        };
        let gateway = Gateway::new(upstream.clone(), &config, None, drain.calls.clone())?;
        let users = users::Users::new(&config);
        let mcp_cancel = CancellationToken::new();
        let sessions = mcp_sessions::Sessions::new(
            users.clone(),
            gateway.clone(),
            mcp_cancel.child_token(),
            config.session_idle_timeout,
        );
        let slots = admission::Slots::new(
            config.max_concurrent_requests,
            config.max_body_bytes,
            config.request_timeout,
        );
        let scopes = Arc::new(crate::auth::scopes::ScopePolicy::new(
            &config,
            gateway.choice().clone(),
        ));
        Ok(Self {
            tool_filter: scopes.tool_filter(),
            scopes,
            site: Arc::new(super::edge::rebinding::SiteRules::new(&config)),
            config: Arc::new(config),
            gateway,
            upstream,
            mcp_cancel,
            drain,
            verifier,
            sessions: Arc::new(sessions),
            users,
            slots,
        })
    }
}

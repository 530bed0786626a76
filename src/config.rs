//! Configuration: defaults < optional TOML file (`--config`) < `.env` < `TOOLBRIDGE_*` environment.
//!
//! Names follow the Python sidecar this replaces (`TOOLBRIDGE_TENANT_ID`, ...), plus the two
//! unprefixed names the deployment's secrets already set (`TENANT_HEADER_SECRET`,
//! `JWT_HS256_SECRET`). The raw values are deserialized once, then `Config::validate`
//! checks them and names the variable of any bad one. Secrets live in [`Secret`], so
//! printing a `Config` never prints them.

use std::{net::IpAddr, time::Duration};

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

mod de;
mod error;
mod load;
mod modes;
mod validate;
pub(crate) use de::{list_like, string_like};
pub use error::ConfigError;
pub(crate) use modes::ApiGeneration;
pub use modes::{
    AuthMode, BackendAuth, Generation, LogFormat, ResultShape, SessionMode, TenantMode,
};
pub(crate) use validate::is_scope_token;

/// Every environment variable the binary reads, with the config key it sets.
/// `.env.example` documents each of them; a test keeps the two in step.
pub(crate) const ENV_PREFIX: &str = "TOOLBRIDGE_";

/// The keys whose values are secrets: no error message ever shows their value.
pub(crate) const SECRET_KEYS: &[&str] = &[
    "tenant_header_secret",
    "jwt_hs256_secret",
    "token_exchange_client_secret",
    "token",
];

/// Other names accepted for a key: the API's own secret names, and the API team's MCP
/// chart's names. The `TOOLBRIDGE_<KEY>` form wins when both are set.
pub const ALIASES: &[(&str, &str)] = &[
    ("TENANT_HEADER_SECRET", "tenant_header_secret"),
    ("JWT_HS256_SECRET", "jwt_hs256_secret"),
    (
        "TOKEN_EXCHANGE_CLIENT_SECRET",
        "token_exchange_client_secret",
    ),
    // The names of the API team's own MCP chart (`chart-mcp` in the API's repository), so
    // its values work unchanged (charts/toolbridge-mcp/README.md, "Drop-in"). Two are not
    // plain renames; `aliased_value` says how their value becomes ours.
    ("TOOLBRIDGE_PUBLIC_BASE_URL", "public_url"),
    ("TOOLBRIDGE_AUTHKIT_DOMAIN", "oidc_issuer"),
    ("TOOLBRIDGE_BACKEND_API_AUDIENCE", "token_exchange_resource"),
    (
        "TOOLBRIDGE_SHUTDOWN_TIMEOUT_SECONDS",
        "shutdown_grace_seconds",
    ),
];

/// An alias's value as the key it stands for wants it. `TOOLBRIDGE_PUBLIC_BASE_URL` is the
/// server's origin, where ours names the MCP endpoint (`<origin>/mcp`, the path the sidecar
/// served too); `TOOLBRIDGE_AUTHKIT_DOMAIN` is the AuthKit host, the issuer (and so the
/// authorization server) is `https://<domain>`.
pub(crate) fn aliased_value(alias: &str, value: &str) -> String {
    let value = value.trim();
    match alias {
        "TOOLBRIDGE_PUBLIC_BASE_URL" => format!("{}/mcp", value.trim_end_matches('/')),
        "TOOLBRIDGE_AUTHKIT_DOMAIN" if !value.contains("://") => {
            format!("https://{}", value.trim_end_matches('/'))
        }
        _ => value.to_owned(),
    }
}

/// Every config key (`TOOLBRIDGE_<KEY>` in the environment). `.env.example` documents each;
/// a test keeps the two in step, and another keeps this list equal to the struct's fields.
pub const KEYS: &[&str] = &[
    "tenant_id",
    "tenant_header_secret",
    "go_api_base_url",
    "host",
    "port",
    "log_level",
    "log_format",
    "max_timestamp_skew_seconds",
    "api_generation",
    "tenant_mode",
    "tenant_cache_seconds",
    "backend_auth",
    "token_exchange_url",
    "token_exchange_resource",
    "token_exchange_client_id",
    "token_exchange_client_secret",
    "session_mode",
    "connect_timeout_seconds",
    "request_timeout_seconds",
    "upstream_max_body_bytes",
    "upstream_max_in_flight",
    "retry_budget_seconds",
    "max_body_bytes",
    "max_sessions",
    "max_concurrent_requests",
    "max_connections",
    "header_read_timeout_seconds",
    "session_idle_timeout_seconds",
    "max_sessions_per_user",
    "max_requests_per_user",
    "user_requests_per_second",
    "response_timeout_seconds",
    "allowed_hosts",
    "allowed_origins",
    "public_url",
    "stateless",
    "shutdown_grace_seconds",
    "metrics_port",
    "auth_mode",
    "auth_required",
    "jwt_hs256_secret",
    "oidc_issuer",
    "jwks_url",
    "jwt_audience",
    "accept_any_audience_from_issuer",
    "jwt_leeway_seconds",
    "jwks_refresh_interval_seconds",
    "scopes_supported",
    "authorization_servers",
    "read_scope",
    "write_scope",
    "enforce_scopes",
    "filter_tools_by_scope",
    "tools",
    "result_shape",
    "max_result_bytes",
    "token",
];

/// The whole configuration of the gateway. Every field has a `TOOLBRIDGE_<FIELD>` variable.
// Serialize: `check` prints the effective configuration from it (secrets as set/unset).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    /// The tenant this deployment serves (the fallback in `resolve` mode). Sent on every
    /// API request; never taken from a client.
    #[serde(deserialize_with = "string_like")]
    pub tenant_id: String,
    /// Shared secret for the HMAC tenant headers (also read from `TENANT_HEADER_SECRET`).
    pub tenant_header_secret: Secret,
    /// Base URL of the ToolBridge API.
    #[serde(deserialize_with = "string_like")]
    pub go_api_base_url: String,
    /// Address to listen on.
    pub host: IpAddr,
    /// Port to listen on.
    pub port: u16,
    /// Log filter (`info`, `debug`, or a `tracing` directive list). `RUST_LOG` wins when set.
    #[serde(deserialize_with = "string_like")]
    pub log_level: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// The API's tenant-header clock window, in seconds; `check` warns when the API's
    /// clock is further off than this.
    pub max_timestamp_skew_seconds: u64,

    /// `auto` (default), `seed` or `current`.
    pub api_generation: ApiGeneration,
    /// `signed` (default when a tenant secret is set), `plain` (default otherwise) or `resolve`.
    pub tenant_mode: Option<TenantMode>,
    /// How long a resolved tenant is kept per caller, in seconds (`resolve` mode).
    pub tenant_cache_seconds: u64,
    /// `passthrough` (default) or `exchange`.
    pub backend_auth: BackendAuth,
    /// RFC 8693 token endpoint for `exchange`; unset: the API's `POST /auth/token-exchange`.
    #[serde(deserialize_with = "de::opt_string_like")]
    pub token_exchange_url: Option<String>,
    /// The `resource` (RFC 8693/8707) or `audience` asked for in an exchange; default the
    /// API base URL.
    #[serde(deserialize_with = "de::opt_string_like")]
    pub token_exchange_resource: Option<String>,
    /// Client id for HTTP Basic authentication at `token_exchange_url`.
    #[serde(deserialize_with = "de::opt_string_like")]
    pub token_exchange_client_id: Option<String>,
    /// Client secret for HTTP Basic authentication at `token_exchange_url` (also read from
    /// `TOKEN_EXCHANGE_CLIENT_SECRET`).
    pub token_exchange_client_secret: Secret,
    /// `reuse` (default) or `per_call`.
    pub session_mode: SessionMode,
    /// Seconds to wait for a TCP connection to the API.
    pub connect_timeout_seconds: f64,
    /// Seconds one API request may take in all.
    pub request_timeout_seconds: f64,
    /// Largest API response body the gateway reads, in bytes.
    pub upstream_max_body_bytes: usize,
    /// Most API requests in flight at once; further tool calls wait (up to the request
    /// timeout) for a slot. Bounds the connections, buffers and load the gateway puts on
    /// the API when many clients call at once.
    pub upstream_max_in_flight: usize,
    /// Seconds one API request may spend waiting out `429`s (`Retry-After` plus jitter)
    /// before the call gives up and says when to retry.
    pub retry_budget_seconds: f64,

    /// Largest request body accepted on `/mcp`, in bytes (then 413). 1 MiB: tool arguments
    /// are text, and every byte admitted can cost a few more once parsed.
    pub max_body_bytes: usize,
    /// Most concurrent MCP sessions (then 503).
    pub max_sessions: usize,
    /// Most MCP POSTs handled at once; more wait (up to the request timeout, then 503).
    pub max_concurrent_requests: usize,
    /// Most client connections open at once; more wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// Seconds a client has to send its request headers, and then again its whole body
    /// (then 408).
    pub header_read_timeout_seconds: f64,
    /// Seconds an idle MCP session is kept.
    pub session_idle_timeout_seconds: u64,
    /// Most MCP sessions one user (token `sub`) has open; a new one closes their oldest
    /// idle session, and is refused (429) only when all are busy.
    pub max_sessions_per_user: usize,
    /// Most MCP requests one user has in progress, body upload included (then 429).
    pub max_requests_per_user: usize,
    /// Requests a second one user may make (a bucket one second deep), 0 for no limit;
    /// past it, 429 with `Retry-After`.
    pub user_requests_per_second: f64,
    /// Seconds an MCP request's answer may take from getting its slot to its last byte;
    /// then the call is cancelled and answered with a JSON-RPC error.
    pub response_timeout_seconds: f64,
    /// Host names (or `host:port`) accepted in the `Host` header besides loopback names.
    #[serde(deserialize_with = "list_like")]
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted in an `Origin` header besides loopback origins.
    #[serde(deserialize_with = "list_like")]
    pub allowed_origins: Vec<String>,
    /// Canonical public URL of the MCP endpoint (the protected resource), e.g.
    /// `https://tenant.fly.dev/mcp`. Derived from the request when unset.
    #[serde(deserialize_with = "de::opt_string_like")]
    pub public_url: Option<String>,
    /// Serve without MCP sessions (JSON responses), so any replica can answer any request.
    pub stateless: bool,
    /// Seconds in-flight calls get to finish after SIGTERM.
    pub shutdown_grace_seconds: f64,
    /// Also serve `/metrics` on this port (e.g. 9091 for Fly's metrics block).
    pub metrics_port: Option<u16>,

    /// `verify` (default when a key is configured) or `passthrough`.
    pub auth_mode: Option<AuthMode>,
    /// Whether requests to `/mcp` need a valid token (default: true when a key is configured).
    pub auth_required: Option<bool>,
    /// HS256 secret for verifying tokens (also read from `JWT_HS256_SECRET`).
    pub jwt_hs256_secret: Secret,
    /// OIDC issuer (e.g. `https://tenant.eu.auth0.com/`); its JWKS verifies RS256 tokens.
    #[serde(deserialize_with = "de::opt_string_like")]
    pub oidc_issuer: Option<String>,
    /// JWKS URL override. Unset: the `jwks_uri` of the issuer's discovery document
    /// (RFC 8414 or OpenID Connect Discovery), read on first use and refreshed with the keys.
    #[serde(deserialize_with = "de::opt_string_like")]
    pub jwks_url: Option<String>,
    /// Required `aud` claim. When set, a token without `aud` fails. When it names the
    /// `/mcp` resource (`TOOLBRIDGE_PUBLIC_URL`, or a URL whose path is `/mcp`), a token for
    /// its origin is accepted too: the root metadata document names the origin (RFC 9728
    /// section 3.3), and a client that read that document asks for a token for it.
    #[serde(deserialize_with = "de::opt_string_like")]
    pub jwt_audience: Option<String>,
    /// Accept any `aud` in tokens from `TOOLBRIDGE_OIDC_ISSUER` (and only from it), for
    /// WorkOS AuthKit with dynamic client registration, whose tokens carry the client's id
    /// as `aud`. Signature, `iss` and `exp` are still checked. Off by default; logged at
    /// start and shown by `check` when on.
    pub accept_any_audience_from_issuer: bool,
    /// Clock leeway for `exp` and `nbf`, in seconds (at most 60).
    pub jwt_leeway_seconds: u64,
    /// An unknown `kid` refreshes the JWKS at most once per this many seconds.
    pub jwks_refresh_interval_seconds: u64,
    /// Scopes advertised in the protected-resource metadata and the 401 challenge, besides
    /// the read and write scopes when those are enforced (e.g. `openid offline_access`).
    #[serde(deserialize_with = "list_like")]
    pub scopes_supported: Vec<String>,
    /// The authorization servers named in the protected-resource metadata. Unset: the OIDC
    /// issuer. Neither set: no metadata is published (the gateway offers no sign-in).
    #[serde(deserialize_with = "list_like")]
    pub authorization_servers: Vec<String>,
    /// The scope read-only tools need when scopes are enforced.
    #[serde(deserialize_with = "string_like")]
    pub read_scope: String,
    /// The scope every other tool needs when scopes are enforced.
    #[serde(deserialize_with = "string_like")]
    pub write_scope: String,
    /// Refuse a tool call (403 `insufficient_scope`, before any API request) whose token
    /// lacks the tool's scope. Off by default, so tokens that carry no scopes keep working.
    pub enforce_scopes: bool,
    /// With `enforce_scopes`: `tools/list` shows only the tools the token may call.
    pub filter_tools_by_scope: bool,

    /// The tools offered: allow and deny patterns over entities, verbs and tool names
    /// (`notes,tasks`, `*:list,*:get`, `-*:delete`, `health_check`). Empty: all of them.
    /// Checked against the catalog at start (`mcp::tools::Choice`).
    #[serde(deserialize_with = "list_like")]
    pub tools: Vec<String>,
    /// `compact` (default: items without the API's sync bookkeeping, long text previewed
    /// in lists) or `full` (the API's items as they come).
    pub result_shape: ResultShape,
    /// Largest `list_*` result, in bytes of its JSON: a page that would be larger comes
    /// with fewer items and a cursor for the rest. 0: no bound.
    pub max_result_bytes: usize,

    /// Bearer token for `stdio` mode, where there is no HTTP request to carry one.
    pub token: Secret,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tenant_id: String::new(),
            tenant_header_secret: Secret::default(),
            go_api_base_url: "http://localhost:8080".into(),
            host: IpAddr::from([0, 0, 0, 0]),
            port: 8001,
            log_level: "info".into(),
            log_format: LogFormat::Text,
            max_timestamp_skew_seconds: 300,
            api_generation: ApiGeneration::Auto,
            tenant_mode: None,
            tenant_cache_seconds: 300,
            backend_auth: BackendAuth::Passthrough,
            token_exchange_url: None,
            token_exchange_resource: None,
            token_exchange_client_id: None,
            token_exchange_client_secret: Secret::default(),
            session_mode: SessionMode::Reuse,
            connect_timeout_seconds: 2.0,
            request_timeout_seconds: 30.0,
            upstream_max_body_bytes: 8 * 1024 * 1024,
            upstream_max_in_flight: 64,
            retry_budget_seconds: 30.0,
            max_body_bytes: 1024 * 1024,
            max_sessions: 5000,
            max_concurrent_requests: 256,
            max_connections: 10_000,
            header_read_timeout_seconds: 10.0,
            session_idle_timeout_seconds: 600,
            max_sessions_per_user: 32,
            max_requests_per_user: 32,
            user_requests_per_second: 0.0,
            response_timeout_seconds: 120.0,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            public_url: None,
            stateless: false,
            shutdown_grace_seconds: 8.0,
            metrics_port: None,
            auth_mode: None,
            auth_required: None,
            jwt_hs256_secret: Secret::default(),
            oidc_issuer: None,
            jwks_url: None,
            jwt_audience: None,
            accept_any_audience_from_issuer: false,
            jwt_leeway_seconds: 30,
            jwks_refresh_interval_seconds: 30,
            scopes_supported: Vec::new(),
            authorization_servers: Vec::new(),
            read_scope: "toolbridge:read".into(),
            write_scope: "toolbridge:write".into(),
            enforce_scopes: false,
            filter_tools_by_scope: false,
            tools: Vec::new(),
            result_shape: ResultShape::Compact,
            max_result_bytes: 64 * 1024,
            token: Secret::default(),
        }
    }
}

/// The environment variable that sets a config key.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

impl Config {
    /// True when the gateway has a key to verify tokens with.
    pub(crate) fn has_verification_key(&self) -> bool {
        !self.jwt_hs256_secret.is_empty() || self.oidc_issuer.is_some() || self.jwks_url.is_some()
    }

    /// The effective auth mode: `verify` whenever a key is configured, unless told otherwise.
    pub(crate) fn effective_auth_mode(&self) -> AuthMode {
        self.auth_mode.unwrap_or(if self.has_verification_key() {
            AuthMode::Verify
        } else {
            AuthMode::Passthrough
        })
    }

    /// Whether `/mcp` refuses requests without a valid token.
    pub(crate) fn effective_auth_required(&self) -> bool {
        self.auth_required
            .unwrap_or(self.effective_auth_mode() == AuthMode::Verify)
    }

    /// The authorization servers to publish: the explicit list, else the OIDC issuer.
    /// Empty: the gateway offers no OAuth sign-in, and publishes no metadata saying it does.
    pub(crate) fn effective_authorization_servers(&self) -> Vec<String> {
        if self.authorization_servers.is_empty() {
            self.oidc_issuer.iter().cloned().collect()
        } else {
            self.authorization_servers.clone()
        }
    }

    /// The effective tenant mode: `signed` when a tenant secret is set, else `plain`.
    pub(crate) fn effective_tenant_mode(&self) -> TenantMode {
        self.tenant_mode
            .unwrap_or(if self.tenant_header_secret.is_empty() {
                TenantMode::Plain
            } else {
                TenantMode::Signed
            })
    }

    /// The API base URL without a trailing slash.
    pub fn api_base(&self) -> &str {
        self.go_api_base_url.trim_end_matches('/')
    }

    /// Connect timeout as a duration.
    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.connect_timeout_seconds)
    }

    /// Whole-request timeout as a duration.
    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.request_timeout_seconds)
    }
}

#[cfg(test)]
mod tests;
